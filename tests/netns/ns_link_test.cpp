// Links: a veth pair across two namespaces, its settings read back, and
// the ensure/delete semantics of create_veth and delete_link.
#include <netinet/in.h>

#include <algorithm>

#include "ns_fixture.hpp"

namespace steer::ns::test {
namespace {

const std::array<uint8_t, 6> mac1{0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

TEST_F(NsTest, VethPeerInOtherNamespace)
{
	int va = 0;
	in(a, [&] {
		NS_ASSERT_OK(create_veth("va", "vb", b));
		NS_ASSERT_OK(create_veth("va", "vb", b));  // the same pair: success
		auto l = find_link("va");
		NS_ASSERT_OK(l);
		ASSERT_TRUE(*l);
		va = (*l)->ifindex;
		EXPECT_EQ((*l)->kind, "veth");
		EXPECT_GE((*l)->link_netnsid, 0);  // the peer is elsewhere
		EXPECT_GT((*l)->peer_ifindex, 0);
		EXPECT_FALSE((*l)->up);
		auto again = find_link(va);
		NS_ASSERT_OK(again);
		ASSERT_TRUE(*again);
		EXPECT_EQ((*again)->name, "va");
	});
	in(b, [&] {
		auto l = find_link("vb");
		NS_ASSERT_OK(l);
		ASSERT_TRUE(*l);
		EXPECT_EQ((*l)->kind, "veth");
		EXPECT_EQ((*l)->peer_ifindex, va);
	});
}

TEST_F(NsTest, MacAliasUpMtuRenameReadBack)
{
	in(a, [&] {
		NS_ASSERT_OK(create_veth("va", "vb", b));
		int idx = ifindex_of("va");
		ASSERT_GT(idx, 0);
		NS_ASSERT_OK(set_link_mac(idx, mac1));
		NS_ASSERT_OK(set_link_alias(idx, "ipsec-steer:vpn-a"));
		NS_ASSERT_OK(set_link_mtu(idx, 1400));
		NS_ASSERT_OK(set_link_up(idx, true));
		auto l = find_link(idx);
		NS_ASSERT_OK(l);
		ASSERT_TRUE(*l);
		EXPECT_EQ((*l)->mac, mac1);
		EXPECT_EQ((*l)->alias, "ipsec-steer:vpn-a");
		EXPECT_EQ((*l)->mtu, 1400u);
		EXPECT_TRUE((*l)->up);

		// Kernels before 6.2 refuse to rename an up link (EBUSY); newer ones
		// allow it. Either way the error names the fix.
		Status busy = rename_link(idx, "va-up");
		if (!busy.ok()) {
			EXPECT_EQ(busy.error().err, EBUSY);
			EXPECT_NE(busy.error().message().find("down"), std::string::npos);
		}
		NS_ASSERT_OK(set_link_up(idx, false));
		NS_ASSERT_OK(rename_link(idx, "va-new"));
		NS_ASSERT_OK(rename_link(idx, "va-new"));  // already named so
		auto renamed = find_link("va-new");
		NS_ASSERT_OK(renamed);
		ASSERT_TRUE(*renamed);
		EXPECT_EQ((*renamed)->ifindex, idx);
		EXPECT_EQ((*renamed)->alias, "ipsec-steer:vpn-a");  // survives the rename
		auto old = find_link("va");
		NS_ASSERT_OK(old);
		EXPECT_FALSE(*old);

		NS_ASSERT_OK(set_link_alias(idx, ""));
		auto cleared = find_link(idx);
		NS_ASSERT_OK(cleared);
		EXPECT_EQ((*cleared)->alias, "");
	});
}

TEST_F(NsTest, CreateVethConflictsAreErrors)
{
	in(a, [&] {
		NS_ASSERT_OK(create_veth("va", "vb", b));
		// Same name, different peer: not ours to reuse.
		Status st = create_veth("va", "other", b);
		ASSERT_FALSE(st.ok());
		EXPECT_EQ(st.error().err, EEXIST);
		// Peer wanted in this namespace, but it lives in b.
		st = create_veth("va", "vb", "");
		ASSERT_FALSE(st.ok());
		EXPECT_EQ(st.error().err, EEXIST);
		// The peer's name is taken in b by our own pair's peer.
		st = create_veth("vc", "vb", b);
		ASSERT_FALSE(st.ok());
		EXPECT_EQ(st.error().err, EEXIST);
		EXPECT_NE(st.error().message().find("create veth"), std::string::npos);
		// An absent peer namespace.
		st = create_veth("vd", "ve", test_netns_prefix() + "missing");
		ASSERT_FALSE(st.ok());
		EXPECT_EQ(st.error().err, ENOENT);
	});
}

TEST_F(NsTest, SameNamespaceVethListAndDelete)
{
	in(a, [&] {
		NS_ASSERT_OK(create_veth("x1", "x2", ""));
		NS_ASSERT_OK(create_veth("x1", "x2", ""));
		auto l = find_link("x1");
		NS_ASSERT_OK(l);
		ASSERT_TRUE(*l);
		EXPECT_EQ((*l)->link_netnsid, -1);
		EXPECT_EQ((*l)->peer_ifindex, ifindex_of("x2"));
		auto all = list_links();
		NS_ASSERT_OK(all);
		std::vector<std::string> names;
		for (const LinkInfo &i : *all)
			names.push_back(i.name);
		std::sort(names.begin(), names.end());
		EXPECT_EQ(names, (std::vector<std::string>{"lo", "x1", "x2"}));

		NS_ASSERT_OK(delete_link("x1"));
		NS_ASSERT_OK(delete_link("x1"));  // absent: success
		EXPECT_EQ(ifindex_of("x2"), 0) << "deleting a veth takes its peer";
	});
}

TEST_F(NsTest, DeleteVethRemovesPeerInOtherNamespace)
{
	in(a, [&] { NS_ASSERT_OK(create_veth("va", "vb", b)); });
	in(b, [&] { EXPECT_GT(ifindex_of("vb"), 0); });
	in(a, [&] { NS_ASSERT_OK(delete_link("va")); });
	in(b, [&] { EXPECT_EQ(ifindex_of("vb"), 0); });
}

TEST_F(NsTest, MissingLinkIsNulloptNotError)
{
	in(a, [&] {
		auto by_name = find_link("nosuchlink");
		NS_ASSERT_OK(by_name);
		EXPECT_FALSE(*by_name);
		auto by_index = find_link(9999);
		NS_ASSERT_OK(by_index);
		EXPECT_FALSE(*by_index);
		Status st = set_link_up(9999, true);
		ASSERT_FALSE(st.ok());
		EXPECT_EQ(st.error().err, ENODEV);
		EXPECT_NE(st.error().message().find("libnl:"), std::string::npos);
	});
}

} // namespace
} // namespace steer::ns::test
