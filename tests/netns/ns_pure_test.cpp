// The pure parts of ns/ (no root, no kernel): prefixes, sysctl keys, the
// libnl error map and the ctnetlink message parser.
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <netlink/errno.h>

#include "conntrack.hpp"
#include "nl_session.hpp"
#include "prefix.hpp"
#include "sysctl.hpp"

namespace steer::ns::test {
namespace {

TEST(NsPrefix, ParseAndFormat)
{
	struct Case {
		const char *in, *out;
		int family, len;
	} cases[] = {
		{"10.0.0.1/24", "10.0.0.1/24", AF_INET, 24},
		{"10.0.0.1", "10.0.0.1/32", AF_INET, 32},
		{"0.0.0.0/0", "0.0.0.0/0", AF_INET, 0},
		{"fd00::1/64", "fd00::1/64", AF_INET6, 64},
		{"::", "::/128", AF_INET6, 128},
	};
	for (const Case &c : cases) {
		auto p = parse_prefix(c.in);
		ASSERT_TRUE(p.ok()) << c.in;
		EXPECT_EQ(p->family, c.family) << c.in;
		EXPECT_EQ(p->len, c.len) << c.in;
		EXPECT_EQ(format_prefix(*p), c.out);
	}
	for (const char *bad : {"", "10.0.0.1/33", "10.0.0.1/", "10.0.0.1/2x", "fd00::/129",
				"10.0.0/8", "host", "10.0.0.1/-1"}) {
		auto p = parse_prefix(bad);
		ASSERT_FALSE(p.ok()) << bad;
		EXPECT_EQ(p.error().err, EINVAL) << bad;
	}
	EXPECT_EQ(format_address(*parse_prefix("192.0.2.7/24")), "192.0.2.7");
}

TEST(NsPrefix, NetworkOfClearsHostBits)
{
	EXPECT_EQ(network_of(*parse_prefix("10.1.2.3/24")), *parse_prefix("10.1.2.0/24"));
	EXPECT_EQ(network_of(*parse_prefix("10.1.2.3/13")), *parse_prefix("10.0.0.0/13"));
	EXPECT_EQ(network_of(*parse_prefix("10.1.2.3/0")), *parse_prefix("0.0.0.0/0"));
	EXPECT_EQ(network_of(*parse_prefix("fd00:1:2:3::9/64")), *parse_prefix("fd00:1:2:3::/64"));
	EXPECT_EQ(network_of(*parse_prefix("10.1.2.3")), *parse_prefix("10.1.2.3"));
}

TEST(NsSysctl, KeyToPath)
{
	EXPECT_EQ(*sysctl_path("net.ipv4.ip_forward"), "/proc/sys/net/ipv4/ip_forward");
	EXPECT_EQ(*sysctl_path("net/ipv4/ip_forward"), "/proc/sys/net/ipv4/ip_forward");
	EXPECT_EQ(*sysctl_path("net.ipv4.conf.eth0/100.rp_filter"),
		  "/proc/sys/net/ipv4/conf/eth0.100/rp_filter");
	EXPECT_EQ(*sysctl_path("net/ipv4/conf/eth0.100/rp_filter"),
		  "/proc/sys/net/ipv4/conf/eth0.100/rp_filter");
	for (const char *bad : {"", ".", "net..ipv4", "net/../x", "/net/ipv4", "net/ipv4/", "net.ipv4."})
		EXPECT_FALSE(sysctl_path(bad).ok()) << bad;
}

TEST(NsNetlink, NleToErrno)
{
	EXPECT_EQ(nle_to_errno(-NLE_EXIST), EEXIST);
	EXPECT_EQ(nle_to_errno(NLE_EXIST), EEXIST);
	EXPECT_EQ(nle_to_errno(-NLE_OBJ_NOTFOUND), ENOENT);
	EXPECT_EQ(nle_to_errno(-NLE_NODEV), ENODEV);
	EXPECT_EQ(nle_to_errno(-NLE_BUSY), EBUSY);
	EXPECT_EQ(nle_to_errno(-NLE_NOADDR), EADDRNOTAVAIL);
	EXPECT_EQ(nle_to_errno(-NLE_PERM), EPERM);
	EXPECT_EQ(nle_to_errno(-NLE_FAILURE), EIO);
	EXPECT_EQ(nle_to_errno(-1000), EIO);
	// Every code libnl makes from an errno maps back to that errno's class.
	for (int err : {EEXIST, ENOENT, ESRCH, EINVAL, EBUSY, ENODEV, EPERM, EOPNOTSUPP})
		EXPECT_NE(nle_to_errno(nl_syserr2nlerr(err)), EIO) << err;
}

// One ctnetlink dump message: orig tuple family/dst/proto/port, zone.
nlmsghdr *ct_message(char *buf, int family, const Prefix &dst, uint8_t proto, uint16_t port)
{
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	auto *nfg = static_cast<nfgenmsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
	nfg->nfgen_family = static_cast<uint8_t>(family);
	nlattr *tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST,
		     address_size(family), dst.bytes.data());
	mnl_attr_nest_end(nlh, ip);
	nlattr *pr = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, proto);
	if (port)
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(port));
	mnl_attr_nest_end(nlh, pr);
	mnl_attr_nest_end(nlh, tuple);
	mnl_attr_put_u16(nlh, CTA_ZONE, htons(7));
	return nlh;
}

TEST(NsConntrack, ParseAndMatch)
{
	char buf[512];
	const Prefix dst = *parse_prefix("198.51.100.1");
	auto key = parse_conntrack(ct_message(buf, AF_INET, dst, IPPROTO_UDP, 4500));
	ASSERT_TRUE(key);
	EXPECT_EQ(key->family, AF_INET);
	EXPECT_EQ(key->dst, dst);
	EXPECT_EQ(key->l4proto, IPPROTO_UDP);
	EXPECT_EQ(key->dst_port, 4500);
	EXPECT_EQ(key->zone, htons(7));
	EXPECT_EQ(key->orig_tuple.size() % 4, 0u);
	EXPECT_TRUE(conntrack_matches(*key, AF_INET, dst, IPPROTO_UDP, 4500));
	EXPECT_TRUE(conntrack_matches(*key, AF_INET, dst, IPPROTO_UDP, std::nullopt));
	EXPECT_TRUE(conntrack_matches(*key, AF_INET, *parse_prefix("198.51.100.0/24"), IPPROTO_UDP, 4500));
	EXPECT_FALSE(conntrack_matches(*key, AF_INET, dst, IPPROTO_UDP, 500));
	EXPECT_FALSE(conntrack_matches(*key, AF_INET, dst, IPPROTO_ESP, std::nullopt));
	EXPECT_FALSE(conntrack_matches(*key, AF_INET, *parse_prefix("198.51.100.2"), IPPROTO_UDP, 4500));
	EXPECT_FALSE(conntrack_matches(*key, AF_INET6, dst, IPPROTO_UDP, 4500));

	const Prefix dst6 = *parse_prefix("2001:db8::1");
	key = parse_conntrack(ct_message(buf, AF_INET6, dst6, IPPROTO_ESP, 0));
	ASSERT_TRUE(key);
	EXPECT_EQ(key->dst, dst6);
	EXPECT_FALSE(key->dst_port);
	EXPECT_TRUE(conntrack_matches(*key, AF_INET6, dst6, IPPROTO_ESP, std::nullopt));
}

TEST(NsConntrack, MessageWithoutTupleIsIgnored)
{
	char buf[128];
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	auto *nfg = static_cast<nfgenmsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
	nfg->nfgen_family = AF_INET;
	EXPECT_FALSE(parse_conntrack(nlh));
}

} // namespace
} // namespace steer::ns::test
