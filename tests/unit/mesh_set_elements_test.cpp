// nft/set_elements: the incremental element batch, built and parsed back
// with libnftnl (the libnftnl tests' way): no root, no kernel.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libmnl/libmnl.h>

#include "nftnl_ptr.hpp"
#include "set_elements.hpp"

namespace {

using namespace steer;
using namespace steer::nft;

config::Cidr cidr(const char *t) { return *config::parse_cidr(t); }

struct Msg {
	uint16_t type = 0;
	std::string set;
	std::vector<std::string> elems;   // "key[-key_end][ end]"
	uint16_t flags = 0;               // nlmsg_flags
};

std::string hex(const void *p, uint32_t len)
{
	static const char d[] = "0123456789abcdef";
	std::string s;
	for (uint32_t i = 0; i < len; i++) {
		uint8_t b = static_cast<const uint8_t *>(p)[i];
		s += d[b >> 4];
		s += d[b & 15];
	}
	return s;
}

int collect(nftnl_set_elem *e, void *data)
{
	uint32_t len = 0;
	const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	std::string t = hex(key, len);
	if (auto *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &len))
		t += "-" + hex(k, len);
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
		(nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END))
		t += " end";
	static_cast<std::vector<std::string> *>(data)->push_back(t);
	return 0;
}

// Every message between BATCH_BEGIN and BATCH_END, parsed back.
std::vector<Msg> parse(const Batch &b)
{
	std::vector<Msg> out;
	const auto *nlh = reinterpret_cast<const nlmsghdr *>(b.bytes.data());
	int left = static_cast<int>(b.bytes.size());
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		uint16_t type = nlh->nlmsg_type & 0xff;
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN || nlh->nlmsg_type == NFNL_MSG_BATCH_END)
			continue;
		SetPtr s(nftnl_set_alloc());
		bool set_msg = type == NFT_MSG_NEWSET || type == NFT_MSG_DELSET;
		EXPECT_EQ(set_msg ? nftnl_set_nlmsg_parse(nlh, s.get()) : nftnl_set_elems_nlmsg_parse(nlh, s.get()), 0);
		EXPECT_STREQ(nftnl_set_get_str(s.get(), NFTNL_SET_TABLE), "ipsec_steer");
		Msg m{type, nftnl_set_get_str(s.get(), NFTNL_SET_NAME), {}, nlh->nlmsg_flags};
		if (type == NFT_MSG_NEWSET)   // "flags F key K": what an identical set must have
			m.elems.push_back("flags " + std::to_string(nftnl_set_get_u32(s.get(), NFTNL_SET_FLAGS)) +
				" key " + std::to_string(nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_TYPE)));
		else if (!set_msg)
			nftnl_set_elem_foreach(s.get(), collect, &m.elems);
		out.push_back(m);
	}
	return out;
}

TEST(MeshSetElements, RemovalsBeforeAdditionsEncodedAsNftSendsThem)
{
	std::vector<SetChange> changes{
		{"peers_v4", {KeyType::ipv4_addr}, false, {{{cidr("192.0.2.3/32")}}}, {{{cidr("192.0.2.4/32")}}}},
		{"peer_subnets_v4", {KeyType::ipv4_addr, KeyType::ipv4_addr}, false,
			{{{cidr("192.0.2.3/32"), cidr("10.5.3.0/24")}}},
			{{{cidr("192.0.2.4/32"), cidr("10.5.4.0/24")}}}},
	};
	auto b = build_set_update("ipsec_steer", changes);
	ASSERT_TRUE(b.ok()) << b.error().message();
	auto msgs = parse(*b);
	ASSERT_EQ(msgs.size(), 5u);
	EXPECT_EQ(msgs[0].type, NFT_MSG_DELSETELEM);
	EXPECT_EQ(msgs[0].set, "peers_v4");
	// A hash set's element is one key: the address.
	EXPECT_EQ(msgs[0].elems, (std::vector<std::string>{"c0000203"}));
	EXPECT_EQ(msgs[1].type, NFT_MSG_DELSETELEM);
	EXPECT_EQ(msgs[1].set, "peer_subnets_v4_24");
	EXPECT_EQ(msgs[1].elems, (std::vector<std::string>{"c00002030a050300"}));
	EXPECT_EQ(msgs[2].type, NFT_MSG_NEWSETELEM);
	EXPECT_EQ(msgs[2].elems, (std::vector<std::string>{"c0000204"}));
	// The set of the pair's length is made if absent (no NLM_F_EXCL), then
	// takes the pair: peer and network address, one key.
	EXPECT_EQ(msgs[3].type, NFT_MSG_NEWSET);
	EXPECT_EQ(msgs[3].set, "peer_subnets_v4_24");
	EXPECT_EQ(msgs[3].elems, (std::vector<std::string>{"flags 0 key " + std::to_string((7 << 6) | 7)}));
	EXPECT_TRUE(msgs[3].flags & NLM_F_CREATE);
	EXPECT_FALSE(msgs[3].flags & NLM_F_EXCL);
	EXPECT_EQ(msgs[4].type, NFT_MSG_NEWSETELEM);
	EXPECT_EQ(msgs[4].set, "peer_subnets_v4_24");
	EXPECT_EQ(msgs[4].elems, (std::vector<std::string>{"c00002040a050400"}));
	EXPECT_EQ(b->acked_messages(), 5u);
	EXPECT_NE(b->describe(b->begin_seq + 1).find("delete elements from set peers_v4"), std::string::npos);
	EXPECT_NE(b->describe(b->begin_seq + 4).find("add set peer_subnets_v4_24 (if absent)"), std::string::npos);
}

TEST(MeshSetElements, ElementsGoToTheSetOfTheirLength)
{
	auto b = build_set_update("ipsec_steer", {{"subnets_v4", {KeyType::ipv4_addr}, false, {},
		{{{cidr("10.5.1.0/24")}}, {{cidr("10.6.0.0/16")}}, {{cidr("10.5.2.0/24")}}}}});
	ASSERT_TRUE(b.ok());
	auto msgs = parse(*b);
	ASSERT_EQ(msgs.size(), 4u);
	EXPECT_EQ(msgs[0].type, NFT_MSG_NEWSET);
	EXPECT_EQ(msgs[0].set, "subnets_v4_24");
	EXPECT_EQ(msgs[1].set, "subnets_v4_24");
	EXPECT_EQ(msgs[1].elems, (std::vector<std::string>{"0a050100", "0a050200"}));
	EXPECT_EQ(msgs[2].type, NFT_MSG_NEWSET);
	EXPECT_EQ(msgs[2].set, "subnets_v4_16");
	EXPECT_EQ(msgs[3].elems, (std::vector<std::string>{"0a060000"}));
}

TEST(MeshSetElements, FlushIsAnElementlessDeleteOrTheGroupsSetsGoing)
{
	auto b = build_set_update("ipsec_steer", {
		{"peers_v6", {KeyType::ipv6_addr}, true, {}, {{{cidr("2001:db8::1/128")}}}},
		{"subnets_v4", {KeyType::ipv4_addr}, true, {}, {{{cidr("10.5.1.0/24")}}}},
	});
	ASSERT_TRUE(b.ok());
	auto msgs = parse(*b);
	// peers_v6: flush; subnets_v4: each of the 33 lengths made if absent
	// and deleted; then the additions.
	ASSERT_EQ(msgs.size(), 1u + 2 * 33 + 1 + 2);
	EXPECT_EQ(msgs[0].type, NFT_MSG_DELSETELEM);
	EXPECT_EQ(msgs[0].set, "peers_v6");
	EXPECT_TRUE(msgs[0].elems.empty());
	for (int len = 0; len <= 32; len++) {
		const Msg &create = msgs[1 + 2 * len], &del = msgs[2 + 2 * len];
		EXPECT_EQ(create.type, NFT_MSG_NEWSET);
		EXPECT_FALSE(create.flags & NLM_F_EXCL);
		EXPECT_EQ(del.type, NFT_MSG_DELSET);
		EXPECT_EQ(create.set, "subnets_v4_" + std::to_string(len));
		EXPECT_EQ(del.set, create.set);
	}
	EXPECT_EQ(msgs[67].set, "peers_v6");
	EXPECT_EQ(msgs[67].elems, (std::vector<std::string>{"20010db8000000000000000000000001"}));
	EXPECT_EQ(msgs[68].type, NFT_MSG_NEWSET);
	EXPECT_EQ(msgs[68].set, "subnets_v4_24");
	EXPECT_EQ(msgs[69].elems, (std::vector<std::string>{"0a050100"}));
}

TEST(MeshSetElements, BigUpdatesSplitUnderTheListLimitAndWrongFamiliesFail)
{
	SetChange c{"subnets_v4", {KeyType::ipv4_addr}, false, {}, {}};
	for (int i = 0; i < 6000; i++)
		c.add.push_back({{cidr(("10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24").c_str())}});
	auto b = build_set_update("ipsec_steer", {c});
	ASSERT_TRUE(b.ok());
	auto msgs = parse(*b);
	size_t elems = 0;
	for (const auto &m : msgs)
		if (m.type == NFT_MSG_NEWSETELEM)
			elems += m.elems.size();
	EXPECT_GT(msgs.size(), 2u);
	EXPECT_EQ(elems, 6000u);
	EXPECT_EQ(kernel_elements(c.key, c.add[0]), 1u);
	auto bad = build_set_update("ipsec_steer", {{"peers_v4", {KeyType::ipv4_addr}, false, {}, {{{cidr("2001:db8::1/128")}}}}});
	ASSERT_FALSE(bad.ok());
	EXPECT_NE(bad.error().what.find("does not fit"), std::string::npos);
}

} // namespace
