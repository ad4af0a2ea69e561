// flannel lease records: the good ones parse, every malformed one is
// rejected with its reason (and never acted on).
#include <gtest/gtest.h>

#include "lease.hpp"
#include "peers.hpp"
#include "state.hpp"

namespace steer::mesh {
namespace {

const std::string prefix = "/coreos.com/network/subnets";
const std::string good_value =
	R"({"PublicIP":"192.0.2.2","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:02"}})";

TEST(MeshLease, ParsesFlannelRecord)
{
	auto l = parse_lease(prefix, prefix + "/172.16.2.0-24", good_value);
	ASSERT_TRUE(l) << l.error().what;
	EXPECT_EQ(l->subnet.text, "172.16.2.0/24");
	EXPECT_EQ(l->public_ip.text, "192.0.2.2");
	EXPECT_EQ(l->backend_type, "vxlan");
	EXPECT_EQ(l->backend_data, R"({"VNI":1,"VtepMAC":"02:00:00:00:00:02"})");
}

TEST(MeshLease, ParsesIpv6RecordAndTrailingSlashPrefix)
{
	auto l = parse_lease(prefix + "/", prefix + "/2001:db8:10::-64",
		R"({"PublicIPv6":"2001:db8::2","BackendType":"vxlan"})");
	ASSERT_TRUE(l) << l.error().what;
	EXPECT_EQ(l->subnet.text, "2001:db8:10::/64");
	EXPECT_EQ(l->public_ip.text, "2001:db8::2");
	EXPECT_EQ(l->backend_data, "");
}

struct Bad {
	std::string key, value, reason;
};

TEST(MeshLease, RejectsMalformedRecordsWithReason)
{
	const std::string k = prefix + "/172.16.2.0-24";
	const std::vector<Bad> cases = {
		{"/other/172.16.2.0-24", good_value, "not under /coreos.com/network/subnets/"},
		{prefix + "/a/172.16.2.0-24", good_value, "nested key"},
		{prefix + "/172.16.2.0", good_value, "is not a subnet key like 172.16.1.0-24"},
		{prefix + "/172.16.2.0-", good_value, "is not a subnet key"},
		{prefix + "/172.16.2.0-2x", good_value, "has no prefix length"},
		{prefix + "/172.16.2.1-24", good_value, "host bits set"},
		{prefix + "/172.16.2.0-33", good_value, "subnet"},
		{prefix + "/999.16.2.0-24", good_value, "subnet"},
		{k, "", "value is not JSON"},
		{k, "{\"PublicIP\":", "value is not JSON"},
		{k, "[1,2]", "value is not a JSON object"},
		{k, R"({"BackendType":"vxlan"})", "no \"PublicIP\""},
		{k, R"({"PublicIP":null,"BackendType":"vxlan"})", "no \"PublicIP\""},
		{k, R"({"PublicIP":7,"BackendType":"vxlan"})", "\"PublicIP\" is not a string"},
		{k, R"({"PublicIP":"host-b","BackendType":"vxlan"})", "is not an IP address"},
		{k, R"({"PublicIP":"2001:db8::2","BackendType":"vxlan"})", "is not an IPv4 address"},
		{k, R"({"PublicIP":"192.0.2.2"})", "no \"BackendType\""},
		{k, R"({"PublicIP":"192.0.2.2","BackendType":""})", "no \"BackendType\""},
		{k, R"({"PublicIP":"192.0.2.2","BackendType":3})", "no \"BackendType\""},
		{prefix + "/2001:db8:10::-64", good_value, "no \"PublicIPv6\""},
	};
	for (const auto &c : cases) {
		auto l = parse_lease(prefix, c.key, c.value);
		ASSERT_FALSE(l) << c.key << " " << c.value;
		EXPECT_NE(l.error().what.find(c.reason), std::string::npos)
			<< c.key << " " << c.value << ": " << l.error().what;
		EXPECT_EQ(l.error().what.rfind("lease " + c.key + ": ", 0), 0u) << l.error().what;
	}
}

Lease lease(const std::string &subnet, const std::string &ip)
{
	auto l = parse_lease(prefix, prefix + "/" + subnet,
		R"({"PublicIP":")" + ip + R"(","BackendType":"vxlan"})");
	EXPECT_TRUE(l) << l.error().what;
	return *l;
}

TEST(MeshPeers, ConnectionNameMapsDotsAndColons)
{
	EXPECT_EQ(conn_name(*config::parse_ip("192.0.2.2")), "192-0-2-2");
	EXPECT_EQ(conn_name(*config::parse_ip("2001:db8::2")), "2001-db8--2");
}

TEST(MeshPeers, WantedViewIsEveryOtherLeaseGroupedByAddress)
{
	std::map<std::string, Lease> leases;
	for (const auto &l : {lease("172.16.1.0-24", "192.0.2.1"), lease("172.16.2.0-24", "192.0.2.2"),
		lease("172.16.3.0-24", "192.0.2.3"), lease("172.16.4.0-24", "192.0.2.2")})
		leases[l.key] = l;
	auto v = wanted_view(*config::parse_ip("192.0.2.1"), leases);
	ASSERT_EQ(v.local_subnets.size(), 1u);
	EXPECT_EQ(v.local_subnets[0].text, "172.16.1.0/24");
	ASSERT_EQ(v.peers.size(), 2u);
	const Peer &b = v.peers.at("192-0-2-2");
	EXPECT_EQ(b.address.text, "192.0.2.2");
	ASSERT_EQ(b.subnets.size(), 2u);
	EXPECT_EQ(b.subnets[0].text, "172.16.2.0/24");
	EXPECT_EQ(b.subnets[1].text, "172.16.4.0/24");
	EXPECT_EQ(v.peers.at("192-0-2-3").subnets.size(), 1u);
}

TEST(MeshPeers, OtherUnderlayFamilyIsSkipped)
{
	std::map<std::string, Lease> leases;
	auto l6 = parse_lease(prefix, prefix + "/2001:db8:10::-64",
		R"({"PublicIPv6":"2001:db8::2","BackendType":"vxlan"})");
	ASSERT_TRUE(l6);
	leases[l6->key] = *l6;
	EXPECT_TRUE(wanted_view(*config::parse_ip("192.0.2.1"), leases).peers.empty());
}

etcd::KeyValue kv(const std::string &subnet, const std::string &ip, int64_t rev)
{
	return {prefix + "/" + subnet, R"({"PublicIP":")" + ip + R"(","BackendType":"vxlan"})", rev};
}

TEST(MeshState, ListThenEventsKeepsOnlyValidLeasesAndSkipsRepeats)
{
	etcd::RangeResponse r{10, {kv("172.16.2.0-24", "192.0.2.2", 5), {prefix + "/junk", "{}", 6}}};
	Applied a;
	LeaseState s = state_from_range(prefix, r, &a);
	EXPECT_EQ(s.leases.size(), 1u);
	ASSERT_EQ(a.rejections.size(), 1u);
	EXPECT_EQ(s.rejected.count(prefix + "/junk"), 1u);
	EXPECT_EQ(s.next_revision(), 11);

	// A repeated event (revision <= 10) changes nothing.
	auto repeat = apply_events(prefix, s, {{etcd::Event::del, {prefix + "/172.16.2.0-24", "", 5}}});
	EXPECT_FALSE(repeat.changed);
	EXPECT_EQ(s.leases.size(), 1u);

	auto added = apply_events(prefix, s, {{etcd::Event::put, kv("172.16.3.0-24", "192.0.2.3", 11)}});
	EXPECT_TRUE(added.changed);
	EXPECT_EQ(s.revision, 11);
	// A TTL refresh writes the same value again: no change.
	auto refresh = apply_events(prefix, s, {{etcd::Event::put, kv("172.16.3.0-24", "192.0.2.3", 12)}});
	EXPECT_FALSE(refresh.changed);
	// A valid lease overwritten with garbage is dropped (never acted on).
	auto broken = apply_events(prefix, s, {{etcd::Event::put, {prefix + "/172.16.3.0-24", "x", 13}}});
	EXPECT_TRUE(broken.changed);
	EXPECT_EQ(s.leases.count(prefix + "/172.16.3.0-24"), 0u);
	auto gone = apply_events(prefix, s, {{etcd::Event::del, {prefix + "/172.16.2.0-24", "", 14}}});
	EXPECT_TRUE(gone.changed);
	EXPECT_TRUE(s.leases.empty());
	EXPECT_EQ(s.next_revision(), 15);
}

} // namespace
} // namespace steer::mesh
