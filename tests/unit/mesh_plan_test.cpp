// The mesh's pure parts: plan diffing against what the daemon reports,
// the rendered swanctl.conf fragment (golden), element changes, and etcd's
// gateway JSON (range, watch stream, compaction).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "etcd.hpp"
#include "files.hpp"
#include "plan.hpp"
#include "state.hpp"

namespace {

using namespace steer;
using namespace steer::mesh;

const char *prefix = "/coreos.com/network/subnets";

std::string value(const char *ip) { return std::string("{\"PublicIP\":\"") + ip + "\",\"BackendType\":\"vxlan\"}"; }

std::map<std::string, Lease> leases(std::initializer_list<std::pair<const char *, const char *>> list)
{
	std::map<std::string, Lease> out;
	for (auto [subnet, ip] : list) {
		std::string key = std::string(prefix) + "/" + subnet;
		out.emplace(key, *parse_lease(prefix, key, value(ip)));
	}
	return out;
}

MeshView view(std::initializer_list<std::pair<const char *, const char *>> list, const char *self = "192.0.2.1")
{
	return wanted_view(*config::parse_ip(self), leases(list));
}

std::string read(const std::string &path)
{
	std::ifstream in(path);
	std::ostringstream s;
	s << in.rdbuf();
	return s.str();
}

// What the daemon and conf_dir hold after `v` was applied.
Current applied(const MeshView &v, const AuthMaterial &a)
{
	Current c;
	for (const auto &[name, p] : v.peers) {
		c.loaded[name] = expected_conn(Daemon::strongswan, v, p);
		for (const auto &f : render(Daemon::strongswan, v, p, a))
			c.our_files[f.name] = f.text;
	}
	return c;
}

TEST(MeshPlan, AddsChangesAndRemovesOnlyOurs)
{
	AuthMaterial psk{"s3cret", {}, {}, {}};
	MeshView before = view({{"10.5.1.0-24", "192.0.2.1"}, {"10.5.2.0-24", "192.0.2.2"}, {"10.5.3.0-24", "192.0.2.3"}});
	Current cur = applied(before, psk);
	cur.loaded["admin-vpn"] = {};    // the daemon's own connection: never touched
	EXPECT_TRUE(make_plan(Daemon::strongswan, before, cur, psk).empty());

	// .2 re-leased a second subnet, .3 left, .4 joined.
	MeshView after = view({{"10.5.1.0-24", "192.0.2.1"}, {"10.5.2.0-24", "192.0.2.2"},
		{"10.5.9.0-24", "192.0.2.2"}, {"10.5.4.0-24", "192.0.2.4"}});
	Plan p = make_plan(Daemon::strongswan, after, cur, psk);
	ASSERT_EQ(p.items.size(), 3u);
	EXPECT_EQ(p.items[0].action, Action::add);
	EXPECT_EQ(p.items[0].peer, "192-0-2-4");
	EXPECT_EQ(p.items[1].action, Action::change);
	EXPECT_EQ(p.items[1].why, "192-0-2-2-subnet remote_ts 10.5.2.0/24 -> 10.5.2.0/24,10.5.9.0/24");
	EXPECT_EQ(p.items[2].action, Action::remove);
	EXPECT_EQ(p.items[2].peer, "192-0-2-3");
	EXPECT_EQ(plan_text(p, after),
		"add     192-0-2-4 192.0.2.4 [10.5.4.0/24]: not loaded\n"
		"change  192-0-2-2 192.0.2.2 [10.5.2.0/24,10.5.9.0/24]: 192-0-2-2-subnet remote_ts 10.5.2.0/24 -> 10.5.2.0/24,10.5.9.0/24\n"
		"remove  192-0-2-3: no lease\n");
}

TEST(MeshPlan, AFileThatDiffersOnDiskIsRewritten)
{
	AuthMaterial psk{"s3cret", {}, {}, {}};
	MeshView v = view({{"10.5.1.0-24", "192.0.2.1"}, {"10.5.2.0-24", "192.0.2.2"}});
	Current cur = applied(v, psk);
	cur.our_files.begin()->second += "# edited by hand\n";
	Plan p = make_plan(Daemon::strongswan, v, cur, psk);
	ASSERT_EQ(p.items.size(), 1u);
	EXPECT_EQ(p.items[0].why, "ipsec-steer-mesh-192-0-2-2.conf differs");
}

TEST(MeshPlan, OneMoreLeaseTouchesOneConnectionAndThreeElements)
{
	std::map<std::string, Lease> ls = leases({{"10.5.1.0-24", "192.0.2.1"}});
	for (int i = 2; i < 200; i++) {
		std::string key = std::string(prefix) + "/10.6." + std::to_string(i) + ".0-24";
		ls.emplace(key, *parse_lease(prefix, key, value(("198.51.100." + std::to_string(i)).c_str())));
	}
	AuthMaterial psk{"s3cret", {}, {}, {}};
	MeshView before = wanted_view(*config::parse_ip("192.0.2.1"), ls);
	std::string key = std::string(prefix) + "/10.6.200.0-24";
	ls.emplace(key, *parse_lease(prefix, key, value("198.51.100.200")));
	MeshView after = wanted_view(*config::parse_ip("192.0.2.1"), ls);
	EXPECT_EQ(make_plan(Daemon::strongswan, after, applied(before, psk), psk).items.size(), 1u);
	ElementChanges c = element_changes(before, after);
	EXPECT_TRUE(c.remove.empty());
	ASSERT_EQ(c.add.size(), 3u);   // peers_v4, subnets_v4_24, peer_subnets_v4_24: one each
	EXPECT_EQ(c.add[0].set, "peer_subnets_v4");   // the group; the /24 picks its set
	EXPECT_EQ(to_text(c.add[0]), "peer_subnets_v4_24 198.51.100.200 . 10.6.200.0/24");
}

TEST(MeshRender, StrongswanFragmentGolden)
{
	MeshView v = view({{"10.5.1.0-24", "192.0.2.1"}, {"10.5.2.0-24", "192.0.2.2"}});
	auto files = render(Daemon::strongswan, v, v.peers.at("192-0-2-2"), {"s3cret", {}, {}, {}});
	ASSERT_EQ(files.size(), 1u);
	EXPECT_EQ(files[0].name, "ipsec-steer-mesh-192-0-2-2.conf");
	EXPECT_TRUE(files[0].secret);
	EXPECT_EQ(files[0].text, read(std::string(STEER_TEST_DATA) + "/mesh_swanctl_golden.conf"));
	// Without host-to-host children (kernel-libipsec) only the subnet child.
	v.host_to_host = false;
	auto lib = render(Daemon::strongswan, v, v.peers.at("192-0-2-2"), {"s3cret", {}, {}, {}});
	EXPECT_EQ(lib[0].text.find("192-0-2-2-host"), std::string::npos);
	EXPECT_NE(lib[0].text.find("192-0-2-2-subnet"), std::string::npos);
	EXPECT_EQ(expected_conn(Daemon::strongswan, v, v.peers.at("192-0-2-2")).children.size(), 1u);
}

TEST(MeshRender, LibreswanConnsAndSecrets)
{
	MeshView v = view({{"10.5.1.0-24", "192.0.2.1"}, {"10.5.2.0-24", "192.0.2.2"}});
	auto files = render(Daemon::libreswan, v, v.peers.at("192-0-2-2"), {"s3cret", {}, {}, {}});
	ASSERT_EQ(files.size(), 2u);
	EXPECT_NE(files[0].text.find("conn 192-0-2-2\n"), std::string::npos);
	// The strongSwan side's proposals in libreswan's spelling.
	EXPECT_NE(files[0].text.find("\tauthby=secret\n\tike=aes128-sha2_256-modp2048\n"
		"\tesp=aes128-sha2_256-modp2048\n\tauto=start\n"), std::string::npos) << files[0].text;
	EXPECT_NE(files[0].text.find("conn 192-0-2-2-subnet\n\talso=192-0-2-2\n\tleftsubnet=10.5.1.0/24\n"
		"\trightsubnet=10.5.2.0/24\n"), std::string::npos) << files[0].text;
	EXPECT_EQ(files[1].text, "192.0.2.1 192.0.2.2 : PSK \"s3cret\"\n");
	EXPECT_TRUE(files[1].secret);
	// The lower address of a pair brings its conns up, by value.
	auto ip = [](const char *a) { return *config::parse_ip(a); };
	EXPECT_TRUE(initiates_pair(ip("192.0.2.1"), ip("192.0.2.2")));
	EXPECT_FALSE(initiates_pair(ip("192.0.2.2"), ip("192.0.2.1")));
	EXPECT_TRUE(initiates_pair(ip("192.0.2.9"), ip("192.0.2.10")));
}

TEST(MeshEtcd, RangeAndWatchMessagesAsTheGatewaySendsThem)
{
	EXPECT_EQ(etcd::base64_encode("/coreos"), "L2NvcmVvcw==");
	EXPECT_EQ(*etcd::base64_decode("L2NvcmVvcw=="), "/coreos");
	EXPECT_EQ(etcd::prefix_end("/a/"), "/a0");
	auto r = etcd::parse_range_response(R"({"header":{"revision":"7"},"kvs":[{"key":"L2E=","value":"eA==","mod_revision":"5"}],"count":"1"})");
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(r->revision, 7);
	EXPECT_EQ(r->kvs[0].key, "/a");
	EXPECT_FALSE(etcd::parse_range_response(R"({"header":{"revision":"7"},"more":true})").ok());
	// Captured from etcd 3.4's gateway (one JSON document per line).
	auto del = etcd::parse_watch_message(R"({"result":{"header":{"revision":"3"},"events":[{"type":"DELETE","kv":{"key":"L2NvcmVvcy5jb20vbmV0d29yay9zdWJuZXRzLzEwLjUuMS4wLTI0","mod_revision":"3"}}]}})");
	ASSERT_TRUE(del.ok());
	ASSERT_EQ(del->events.size(), 1u);
	EXPECT_EQ(del->events[0].type, etcd::Event::del);
	EXPECT_EQ(del->events[0].kv.key, "/coreos.com/network/subnets/10.5.1.0-24");
	auto compacted = etcd::parse_watch_message(R"({"result":{"header":{"revision":"9"},"canceled":true,"compact_revision":"5"}})");
	ASSERT_TRUE(compacted.ok());
	EXPECT_EQ(compacted->compact_revision, 5);
	EXPECT_FALSE(etcd::parse_watch_message(R"({"error":{"message":"etcdserver: mvcc: required revision has been compacted"}})").ok());
	etcd::LineBuffer lb;
	lb.feed("{\"a\":1}\n{\"b\"");
	std::string line;
	EXPECT_TRUE(lb.next_line(line));
	EXPECT_EQ(line, "{\"a\":1}");
	EXPECT_FALSE(lb.next_line(line));   // half a message is never parsed
}

TEST(MeshState, AResumedWatchRepeatingEventsChangesNothing)
{
	etcd::RangeResponse r{10, {{std::string(prefix) + "/10.5.2.0-24", value("192.0.2.2"), 4}}};
	LeaseState s = state_from_range(prefix, r, nullptr);
	etcd::Event old{etcd::Event::del, {std::string(prefix) + "/10.5.2.0-24", "", 9}};
	EXPECT_FALSE(apply_events(prefix, s, {old}).changed);   // at or below the listed revision
	EXPECT_EQ(s.leases.size(), 1u);
	etcd::Event gone{etcd::Event::del, {std::string(prefix) + "/10.5.2.0-24", "", 11}};
	EXPECT_TRUE(apply_events(prefix, s, {gone}).changed);
	EXPECT_EQ(s.next_revision(), 12);
	EXPECT_FALSE(apply_events(prefix, s, {gone}).changed);   // the same event again
}

} // namespace

namespace {

using namespace steer;
using namespace steer::mesh;

TEST(MeshFiles, AtomicWritesReadBackOnlyOurs)
{
	char tmpl[] = "/tmp/mesh-files-XXXXXX";
	ASSERT_NE(mkdtemp(tmpl), nullptr);
	std::string dir = tmpl;
	std::ofstream(dir + "/admin.conf") << "not ours\n";
	ASSERT_TRUE(write_atomic(dir, {"ipsec-steer-mesh-192-0-2-2.conf", "one\n", true}).ok());
	ASSERT_TRUE(write_atomic(dir, {"ipsec-steer-mesh-192-0-2-2.conf", "two\n", true}).ok());
	struct stat st {};
	ASSERT_EQ(stat((dir + "/ipsec-steer-mesh-192-0-2-2.conf").c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0600u);   // it holds the PSK
	auto files = read_our_files(dir);
	ASSERT_TRUE(files.ok());
	EXPECT_EQ(*files, (std::map<std::string, std::string>{{"ipsec-steer-mesh-192-0-2-2.conf", "two\n"}}));
	EXPECT_EQ(access((dir + "/.ipsec-steer-mesh-192-0-2-2.conf.tmp").c_str(), F_OK), -1);
	ASSERT_TRUE(remove_file(dir, "ipsec-steer-mesh-192-0-2-2.conf").ok());
	ASSERT_TRUE(remove_file(dir, "ipsec-steer-mesh-192-0-2-2.conf").ok());   // already gone: fine
	EXPECT_TRUE(read_our_files(dir)->empty());
	std::remove((dir + "/admin.conf").c_str());
	rmdir(dir.c_str());
}

} // namespace
