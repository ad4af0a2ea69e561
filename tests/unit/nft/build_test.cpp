// Build -> parse back with libnftnl -> compare (STYLE.md point 9). Every
// rule kind's bytecode is compared with what `nft --debug=netlink` 1.0.6
// prints for the same statement, so the kernel's listing of our rules reads
// exactly like nft's own; tables, chains, sets and elements are compared
// attribute by attribute. No root, no kernel.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>

#include <cstring>

#include "build.hpp"
#include "nft_cases.hpp"
#include "nftnl_ptr.hpp"

namespace steer::nft {
namespace {

std::vector<const nlmsghdr *> messages(const Batch &b)
{
	std::vector<const nlmsghdr *> out;
	auto *nlh = reinterpret_cast<const nlmsghdr *>(b.bytes.data());
	int len = static_cast<int>(b.bytes.size());
	while (mnl_nlmsg_ok(nlh, len)) {
		out.push_back(nlh);
		nlh = mnl_nlmsg_next(nlh, &len);
	}
	EXPECT_EQ(len, 0) << "trailing bytes after the last message";
	return out;
}

uint16_t msg_type(const nlmsghdr *nlh)
{
	return NFNL_MSG_TYPE(nlh->nlmsg_type);
}

int add_line(nftnl_expr *e, void *data)
{
	char buf[1024];
	nftnl_expr_snprintf(buf, sizeof(buf), e, NFTNL_OUTPUT_DEFAULT, 0);
	auto *lines = static_cast<std::vector<std::string> *>(data);
	lines->push_back("[ " + std::string(nftnl_expr_get_str(e, NFTNL_EXPR_NAME)) + " " + buf + "]");
	return 0;
}

// A NEWRULE message parsed back: its chain and bytecode, one line per
// expression as nft --debug=netlink prints them.
std::pair<std::string, std::vector<std::string>> parse_rule(const nlmsghdr *nlh)
{
	RulePtr r(nftnl_rule_alloc());
	EXPECT_EQ(nftnl_rule_nlmsg_parse(nlh, r.get()), 0);
	std::vector<std::string> lines;
	nftnl_expr_foreach(r.get(), add_line, &lines);
	EXPECT_STREQ(nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE), "ipsec_steer");
	return {nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN), lines};
}

// The bytecode of one rule built alone into chain `input` (or postrouting).
std::vector<std::string> bytecode(std::vector<Expr> exprs, bool nat = false)
{
	Ruleset rs;
	rs.sets = mesh_sets();
	rs.sets.push_back(prefix_set("peer_subnets_v4", 24));
	rs.sets.push_back(prefix_set("peer_subnets_v6", 64));
	rs.sets.push_back(prefix_set("subnets_v4", 20));
	rs.chains.push_back(nat ? Chain{"postrouting", ChainType::nat, Hook::postrouting, priority_srcnat}
				: Chain{"input", ChainType::filter, Hook::input, priority_filter});
	rs.rules.push_back({rs.chains[0].name, std::move(exprs)});
	auto b = build_replace(rs);
	EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().message());
	if (!b)
		return {};
	std::vector<std::string> out;
	for (auto *nlh : messages(*b))
		if (msg_type(nlh) == NFT_MSG_NEWRULE)
			out = parse_rule(nlh).second;
	return out;
}

config::Cidr cidr(const char *t)
{
	return *config::parse_cidr(t);
}

using namespace expr;
using Lines = std::vector<std::string>;

const Lines udp_dport_8472 = {"[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000011 ]",
	"[ payload load 2b @ transport header + 2 => reg 1 ]", "[ cmp eq reg 1 0x00001821 ]"};

Lines operator+(Lines a, const Lines &b)
{
	a.insert(a.end(), b.begin(), b.end());
	return a;
}

TEST(NftBytecode, PortsProtocolsAndVerdicts)
{
	EXPECT_EQ(bytecode({Port{IPPROTO_UDP, 500}, Verdict{}}),
		(Lines{"[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000011 ]",
			"[ payload load 2b @ transport header + 2 => reg 1 ]", "[ cmp eq reg 1 0x0000f401 ]",
			"[ immediate reg 0 accept ]"}));
	EXPECT_EQ(bytecode({Port{IPPROTO_TCP, 22, false}, Verdict{}}),
		(Lines{"[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]",
			"[ payload load 2b @ transport header + 0 => reg 1 ]", "[ cmp eq reg 1 0x00001600 ]",
			"[ immediate reg 0 accept ]"}));
	EXPECT_EQ(bytecode({L4proto{IPPROTO_ESP}, Verdict{}}),
		(Lines{"[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000032 ]", "[ immediate reg 0 accept ]"}));
	EXPECT_EQ(bytecode({Port{IPPROTO_UDP, 8472}, Counter{}, Verdict{Verdict::drop}}),
		(udp_dport_8472 + Lines{"[ counter pkts 0 bytes 0 ]", "[ immediate reg 0 drop ]"}));
}

TEST(NftBytecode, IpsecMatchesAreOneByteBooleans)
{
	EXPECT_EQ(bytecode({Port{IPPROTO_UDP, 8472}, Ipsec{false, true}, Verdict{}}),
		(udp_dport_8472 + Lines{"[ meta load secpath => reg 1 ]", "[ cmp eq reg 1 0x00000001 ]",
					 "[ immediate reg 0 accept ]"}));
	EXPECT_EQ(bytecode({Port{IPPROTO_TCP, 22}, Ipsec{true, true}, Verdict{}}),
		(Lines{"[ meta load l4proto => reg 1 ]", "[ cmp eq reg 1 0x00000006 ]",
			"[ payload load 2b @ transport header + 2 => reg 1 ]", "[ cmp eq reg 1 0x00001600 ]",
			"[ rt load ipsec => reg 1 ]", "[ cmp eq reg 1 0x00000001 ]", "[ immediate reg 0 accept ]"}));
	EXPECT_EQ(bytecode({Ipsec{true, false}, Verdict{}}),
		(Lines{"[ rt load ipsec => reg 1 ]", "[ cmp eq reg 1 0x00000000 ]", "[ immediate reg 0 accept ]"}));
	EXPECT_EQ(bytecode({Ipsec{false, false}, Verdict{}}),
		(Lines{"[ meta load secpath => reg 1 ]", "[ cmp eq reg 1 0x00000000 ]", "[ immediate reg 0 accept ]"}));
}

// The seed's docker rule, as our masquerade entry.
TEST(NftBytecode, MasqueradeWithItsExemption)
{
	EXPECT_EQ(bytecode({Address{Addr::saddr, cidr("172.16.1.0/24")}, Oifname{"docker0", true},
			       Ipsec{true, false}, Masquerade{}},
			  true),
		(Lines{"[ meta load nfproto => reg 1 ]", "[ cmp eq reg 1 0x00000002 ]",
			"[ payload load 3b @ network header + 12 => reg 1 ]", "[ cmp eq reg 1 0x000110ac ]",
			"[ meta load oifname => reg 1 ]",
			"[ cmp neq reg 1 0x6b636f64 0x00307265 0x00000000 0x00000000 ]",
			"[ rt load ipsec => reg 1 ]", "[ cmp eq reg 1 0x00000000 ]", "[ masq ]"}));
	EXPECT_EQ(bytecode({Address{Addr::daddr, cidr("fd00::1/128")}, Oifname{"eth0"}, Masquerade{}}, true),
		(Lines{"[ meta load nfproto => reg 1 ]", "[ cmp eq reg 1 0x0000000a ]",
			"[ payload load 16b @ network header + 24 => reg 1 ]",
			"[ cmp eq reg 1 0x000000fd 0x00000000 0x00000000 0x01000000 ]",
			"[ meta load oifname => reg 1 ]",
			"[ cmp eq reg 1 0x30687465 0x00000000 0x00000000 0x00000000 ]", "[ masq ]"}));
}

// Whole-byte prefixes load only their bytes; others load and mask.
TEST(NftBytecode, PrefixesAsNftEncodesThem)
{
	const Lines v4 = {"[ meta load nfproto => reg 1 ]", "[ cmp eq reg 1 0x00000002 ]"};
	const Lines v6 = {"[ meta load nfproto => reg 1 ]", "[ cmp eq reg 1 0x0000000a ]"};
	const Lines acc = {"[ immediate reg 0 accept ]"};
	EXPECT_EQ(bytecode({Address{Addr::saddr, cidr("172.16.0.0/20")}, Verdict{}}),
		(v4 + Lines{"[ payload load 4b @ network header + 12 => reg 1 ]",
			     "[ bitwise reg 1 = ( reg 1 & 0x00f0ffff ) ^ 0x00000000 ]",
			     "[ cmp eq reg 1 0x000010ac ]"} + acc));
	EXPECT_EQ(bytecode({Address{Addr::saddr, cidr("10.0.0.1/32")}, Verdict{}}),
		(v4 + Lines{"[ payload load 4b @ network header + 12 => reg 1 ]", "[ cmp eq reg 1 0x0100000a ]"} + acc));
	EXPECT_EQ(bytecode({Address{Addr::saddr, cidr("0.0.0.0/0")}, Verdict{}}),
		(v4 + Lines{"[ payload load 4b @ network header + 12 => reg 1 ]",
			     "[ bitwise reg 1 = ( reg 1 & 0x00000000 ) ^ 0x00000000 ]",
			     "[ cmp eq reg 1 0x00000000 ]"} + acc));
	EXPECT_EQ(bytecode({Address{Addr::saddr, cidr("fd00:1::/64")}, Verdict{}}),
		(v6 + Lines{"[ payload load 8b @ network header + 8 => reg 1 ]",
			     "[ cmp eq reg 1 0x010000fd 0x00000000 ]"} + acc));
	EXPECT_EQ(bytecode({Address{Addr::saddr, cidr("fd00:1::/60")}, Verdict{}}),
		(v6 + Lines{"[ payload load 16b @ network header + 8 => reg 1 ]",
			     "[ bitwise reg 1 = ( reg 1 & 0xffffffff 0xf0ffffff 0x00000000 0x00000000 ) ^ "
			     "0x00000000 0x00000000 0x00000000 0x00000000 ]",
			     "[ cmp eq reg 1 0x010000fd 0x00000000 0x00000000 0x00000000 ]"} + acc));
	EXPECT_EQ(bytecode({Address{Addr::saddr, cidr("fd00:1::/127")}, Verdict{}}),
		(v6 + Lines{"[ payload load 16b @ network header + 8 => reg 1 ]",
			     "[ bitwise reg 1 = ( reg 1 & 0xffffffff 0xffffffff 0xffffffff 0xfeffffff ) ^ "
			     "0x00000000 0x00000000 0x00000000 0x00000000 ]",
			     "[ cmp eq reg 1 0x010000fd 0x00000000 0x00000000 0x00000000 ]"} + acc));
	// Two address matches share one family check.
	EXPECT_EQ(bytecode({Address{Addr::saddr, cidr("10.0.0.1/32")}, Address{Addr::daddr, cidr("10.9.0.0/16")},
			  Verdict{}}),
		(v4 + Lines{"[ payload load 4b @ network header + 12 => reg 1 ]", "[ cmp eq reg 1 0x0100000a ]",
			     "[ payload load 2b @ network header + 16 => reg 1 ]", "[ cmp eq reg 1 0x0000090a ]"} + acc));
}

// Concatenations fill consecutive 32-bit registers: reg 9 after an IPv4
// field, reg 2 after an IPv6 one (nft's numbering).
TEST(NftBytecode, SetLookups)
{
	auto v4 = KeyType::ipv4_addr;
	auto v6 = KeyType::ipv6_addr;
	EXPECT_EQ(bytecode({InSet{{{v4, Addr::saddr}}, "peers_v4"}, Verdict{}}),
		(Lines{"[ meta load nfproto => reg 1 ]", "[ cmp eq reg 1 0x00000002 ]",
			"[ payload load 4b @ network header + 12 => reg 1 ]", "[ lookup reg 1 set peers_v4 ]",
			"[ immediate reg 0 accept ]"}));
	EXPECT_EQ(bytecode({InSet{{{v4, Addr::saddr}, {v4, Addr::daddr}}, "peer_subnets_v4"}, Verdict{}}),
		(Lines{"[ meta load nfproto => reg 1 ]", "[ cmp eq reg 1 0x00000002 ]",
			"[ payload load 4b @ network header + 12 => reg 1 ]",
			"[ payload load 4b @ network header + 16 => reg 9 ]", "[ lookup reg 1 set peer_subnets_v4 ]",
			"[ immediate reg 0 accept ]"}));
	EXPECT_EQ(bytecode({InSet{{{v6, Addr::saddr}, {v6, Addr::daddr}}, "peer_subnets_v6"}, Verdict{}}),
		(Lines{"[ meta load nfproto => reg 1 ]", "[ cmp eq reg 1 0x0000000a ]",
			"[ payload load 16b @ network header + 8 => reg 1 ]",
			"[ payload load 16b @ network header + 24 => reg 2 ]", "[ lookup reg 1 set peer_subnets_v6 ]",
			"[ immediate reg 0 accept ]"}));
}

// A set of network addresses is looked up with the packet's address masked
// in its register, as `nft --debug=netlink` 1.0.6 shows for
// `ip saddr . ip daddr & 255.255.255.0 @s`, `ip6 saddr . ip6 daddr &
// ffff:ffff:ffff:ffff:: @s` and `ip daddr & 255.255.240.0 @s`.
TEST(NftBytecode, MaskedLookups)
{
	auto v4 = KeyType::ipv4_addr;
	auto v6 = KeyType::ipv6_addr;
	EXPECT_EQ(bytecode({InSet{{{v4, Addr::saddr}, {v4, Addr::daddr, 24}}, "peer_subnets_v4_24"}, Verdict{}}),
		(Lines{"[ meta load nfproto => reg 1 ]", "[ cmp eq reg 1 0x00000002 ]",
			"[ payload load 4b @ network header + 12 => reg 1 ]",
			"[ payload load 4b @ network header + 16 => reg 9 ]",
			"[ bitwise reg 9 = ( reg 9 & 0x00ffffff ) ^ 0x00000000 ]",
			"[ lookup reg 1 set peer_subnets_v4_24 ]", "[ immediate reg 0 accept ]"}));
	EXPECT_EQ(bytecode({InSet{{{v6, Addr::saddr}, {v6, Addr::daddr, 64}}, "peer_subnets_v6_64"}, Verdict{}}),
		(Lines{"[ meta load nfproto => reg 1 ]", "[ cmp eq reg 1 0x0000000a ]",
			"[ payload load 16b @ network header + 8 => reg 1 ]",
			"[ payload load 16b @ network header + 24 => reg 2 ]",
			"[ bitwise reg 2 = ( reg 2 & 0xffffffff 0xffffffff 0x00000000 0x00000000 ) ^ "
			"0x00000000 0x00000000 0x00000000 0x00000000 ]",
			"[ lookup reg 1 set peer_subnets_v6_64 ]", "[ immediate reg 0 accept ]"}));
	EXPECT_EQ(bytecode({InSet{{{v4, Addr::daddr, 20}}, "subnets_v4_20"}, Counter{}, Verdict{}}),
		(Lines{"[ meta load nfproto => reg 1 ]", "[ cmp eq reg 1 0x00000002 ]",
			"[ payload load 4b @ network header + 16 => reg 1 ]",
			"[ bitwise reg 1 = ( reg 1 & 0x00f0ffff ) ^ 0x00000000 ]",
			"[ lookup reg 1 set subnets_v4_20 ]", "[ counter pkts 0 bytes 0 ]",
			"[ immediate reg 0 accept ]"}));
}

TEST(NftBytecode, LookupsNameTheirSetByNameAndBatchId)
{
	Ruleset rs;
	rs.sets = mesh_sets();
	rs.chains.push_back({"input"});
	rs.rules.push_back({"input", {InSet{{{KeyType::ipv6_addr, Addr::daddr}}, "subnets_v6"}}});
	auto b = build_replace(rs);
	ASSERT_TRUE(b.ok());
	std::map<std::string, uint32_t> set_ids;
	uint32_t lookup_id = 0;
	for (auto *nlh : messages(*b)) {
		if (msg_type(nlh) == NFT_MSG_NEWSET) {
			SetPtr s(nftnl_set_alloc());
			ASSERT_EQ(nftnl_set_nlmsg_parse(nlh, s.get()), 0);
			set_ids[nftnl_set_get_str(s.get(), NFTNL_SET_NAME)] = nftnl_set_get_u32(s.get(), NFTNL_SET_ID);
		}
		if (msg_type(nlh) == NFT_MSG_NEWRULE) {
			RulePtr r(nftnl_rule_alloc());
			ASSERT_EQ(nftnl_rule_nlmsg_parse(nlh, r.get()), 0);
			nftnl_expr_foreach(r.get(), [](nftnl_expr *e, void *data) {
				if (std::strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "lookup") == 0)
					*static_cast<uint32_t *>(data) = nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SET_ID);
				return 0;
			}, &lookup_id);
		}
	}
	EXPECT_EQ(set_ids.size(), 6u);
	EXPECT_EQ(lookup_id, set_ids.at("subnets_v6"));
	EXPECT_NE(lookup_id, 0u);
}

// --- framing, table, chains, sets ----------------------------------------

TEST(NftBatch, FramingSequenceNumbersAndAcks)
{
	auto cases = test::golden_cases();
	const Ruleset &rs = cases.at(1).ruleset;  // host_full
	auto b = build_replace(rs, 1000);
	ASSERT_TRUE(b.ok());
	auto msgs = messages(*b);
	ASSERT_GE(msgs.size(), 5u);
	EXPECT_EQ(msgs.front()->nlmsg_type, NFNL_MSG_BATCH_BEGIN);
	EXPECT_EQ(msgs.back()->nlmsg_type, NFNL_MSG_BATCH_END);
	auto *gen = static_cast<const nfgenmsg *>(mnl_nlmsg_get_payload(msgs.front()));
	EXPECT_EQ(ntohs(gen->res_id), NFNL_SUBSYS_NFTABLES);
	EXPECT_EQ(b->begin_seq, 1000u);
	EXPECT_EQ(b->end_seq, 1000u + msgs.size() - 1);
	EXPECT_EQ(b->acked_messages(), msgs.size() - 2);
	for (size_t i = 0; i < msgs.size(); i++) {
		EXPECT_EQ(msgs[i]->nlmsg_seq, 1000u + i);
		if (i == 0 || i + 1 == msgs.size())
			continue;
		EXPECT_EQ(msgs[i]->nlmsg_type >> 8, NFNL_SUBSYS_NFTABLES);
		EXPECT_TRUE(msgs[i]->nlmsg_flags & NLM_F_ACK) << i;
		EXPECT_TRUE(msgs[i]->nlmsg_flags & NLM_F_REQUEST) << i;
		auto *g = static_cast<const nfgenmsg *>(mnl_nlmsg_get_payload(msgs[i]));
		EXPECT_EQ(g->nfgen_family, NFPROTO_INET);
		EXPECT_EQ(b->what.count(msgs[i]->nlmsg_seq), 1u) << i;
	}
	// Every rule's text is on record against its sequence number.
	size_t rules = 0;
	for (auto *nlh : msgs)
		if (msg_type(nlh) == NFT_MSG_NEWRULE) {
			auto [chain, lines] = parse_rule(nlh);
			const Rule &r = rs.rules.at(rules++);
			EXPECT_EQ(chain, r.chain);
			EXPECT_EQ(b->what.at(nlh->nlmsg_seq), "add rule to chain " + r.chain + ": " + to_text(r));
		}
	EXPECT_EQ(rules, rs.rules.size());
}

// NEWTABLE (create if absent) + DELTABLE + NEWTABLE(EXCL): the replace
// never depends on whether the table exists, and never touches another.
TEST(NftBatch, ReplaceDeletesAndRecreatesOnlyOurTable)
{
	auto cases = test::golden_cases();
	auto b = build_replace(cases.at(0).ruleset);
	ASSERT_TRUE(b.ok());
	auto msgs = messages(*b);
	ASSERT_GE(msgs.size(), 5u);
	const uint16_t types[] = {NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE, NFT_MSG_NEWTABLE};
	for (int i = 0; i < 3; i++) {
		const nlmsghdr *nlh = msgs[1 + i];
		ASSERT_EQ(msg_type(nlh), types[i]) << i;
		TablePtr t(nftnl_table_alloc());
		ASSERT_EQ(nftnl_table_nlmsg_parse(nlh, t.get()), 0);
		EXPECT_STREQ(nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME), "ipsec_steer");
		EXPECT_EQ(nftnl_table_get_u32(t.get(), NFTNL_TABLE_FAMILY), NFPROTO_INET);
		EXPECT_EQ(bool(nlh->nlmsg_flags & NLM_F_EXCL), i == 2) << i;
		EXPECT_EQ(bool(nlh->nlmsg_flags & NLM_F_CREATE), i != 1) << i;
		EXPECT_EQ(nftnl_table_is_set(t.get(), NFTNL_TABLE_USERDATA), i == 2) << i;
	}
	TablePtr t(nftnl_table_alloc());
	ASSERT_EQ(nftnl_table_nlmsg_parse(msgs[3], t.get()), 0);
	uint32_t len = 0;
	auto *ud = static_cast<const uint8_t *>(nftnl_table_get_data(t.get(), NFTNL_TABLE_USERDATA, &len));
	// udata TLV: type NFTNL_UDATA_TABLE_COMMENT, length, "ipsec-steer\0".
	ASSERT_EQ(len, 2u + 12u);
	EXPECT_EQ(ud[0], NFTNL_UDATA_TABLE_COMMENT);
	EXPECT_EQ(ud[1], 12);
	EXPECT_STREQ(reinterpret_cast<const char *>(ud + 2), "ipsec-steer");
}

TEST(NftBatch, ChainsAreBaseChainsWithPolicyAccept)
{
	auto cases = test::golden_cases();
	const Ruleset &rs = cases.at(1).ruleset;  // host_full: all four chains
	auto b = build_replace(rs);
	ASSERT_TRUE(b.ok());
	std::vector<std::string> got;
	for (auto *nlh : messages(*b)) {
		if (msg_type(nlh) != NFT_MSG_NEWCHAIN)
			continue;
		ChainPtr c(nftnl_chain_alloc());
		ASSERT_EQ(nftnl_chain_nlmsg_parse(nlh, c.get()), 0);
		EXPECT_EQ(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY), static_cast<uint32_t>(NF_ACCEPT));
		EXPECT_STREQ(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE), "ipsec_steer");
		got.push_back(std::string(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME)) + " " +
			nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TYPE) + " " +
			std::to_string(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM)) + " " +
			std::to_string(nftnl_chain_get_s32(c.get(), NFTNL_CHAIN_PRIO)));
	}
	EXPECT_EQ(got, (std::vector<std::string>{"input filter 1 0", "forward filter 2 0", "output filter 3 0",
			       "postrouting nat 4 100"}));
}

struct ParsedSet {
	std::string name;
	uint32_t flags, key_type, key_len, id;
	std::vector<uint8_t> fields;
	std::vector<uint8_t> udata;
};

std::vector<ParsedSet> parse_sets(const Batch &b)
{
	std::vector<ParsedSet> out;
	for (auto *nlh : messages(b)) {
		if (msg_type(nlh) != NFT_MSG_NEWSET)
			continue;
		SetPtr s(nftnl_set_alloc());
		EXPECT_EQ(nftnl_set_nlmsg_parse(nlh, s.get()), 0);
		ParsedSet p{nftnl_set_get_str(s.get(), NFTNL_SET_NAME), nftnl_set_get_u32(s.get(), NFTNL_SET_FLAGS),
			nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_TYPE), nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_LEN),
			nftnl_set_get_u32(s.get(), NFTNL_SET_ID), {}, {}};
		uint32_t len = 0;
		if (auto *f = static_cast<const uint8_t *>(nftnl_set_get_data(s.get(), NFTNL_SET_DESC_CONCAT, &len)))
			p.fields.assign(f, f + len);
		if (auto *u = static_cast<const uint8_t *>(nftnl_set_get_data(s.get(), NFTNL_SET_USERDATA, &len)))
			p.udata.assign(u, u + len);
		out.push_back(std::move(p));
	}
	return out;
}

// Key types as nft numbers them (ipv4_addr 7, ipv6_addr 8, concatenations
// shifted by 6 bits); hash sets with flags 0 and no size (the kernel's
// resizable hash); interval sets, concatenations among them flagged and
// described field by field (pipapo); the key byte order nft reads back
// from userdata.
TEST(NftBatch, SetsCarryNftsKeyTypesAndFlags)
{
	Ruleset rs;
	rs.sets = host_sets();
	rs.sets.push_back(prefix_set("subnets_v4", 24));
	rs.sets.push_back(prefix_set("subnets_v6", 64));
	rs.sets.push_back(prefix_set("peer_subnets_v4", 24));
	rs.sets.push_back(prefix_set("peer_subnets_v6", 64));
	for (Set s : mesh_sets()) {   // the interval sets of the former design
		s.name += "_interval";
		s.interval = true;
		rs.sets.push_back(s);
	}
	auto b = build_replace(rs);
	ASSERT_TRUE(b.ok());
	auto sets = parse_sets(*b);
	ASSERT_EQ(sets.size(), 12u);
	const std::vector<uint8_t> big_endian = {NFTNL_UDATA_SET_KEYBYTEORDER, 4, 2, 0, 0, 0};
	const std::vector<uint8_t> no_order = {NFTNL_UDATA_SET_KEYBYTEORDER, 4, 0, 0, 0, 0};
	struct Want {
		const char *name;
		uint32_t flags, type, len;
		std::vector<uint8_t> fields;
	} want[] = {
		{"peers_v4", 0, 7, 4, {}},
		{"peers_v6", 0, 8, 16, {}},
		{"subnets_v4_24", 0, 7, 4, {}},
		{"subnets_v6_64", 0, 8, 16, {}},
		{"peer_subnets_v4_24", 0, (7 << 6) | 7, 8, {}},
		{"peer_subnets_v6_64", 0, (8 << 6) | 8, 32, {}},
		{"peers_v4_interval", NFT_SET_INTERVAL, 7, 4, {}},
		{"peers_v6_interval", NFT_SET_INTERVAL, 8, 16, {}},
		{"subnets_v4_interval", NFT_SET_INTERVAL, 7, 4, {}},
		{"subnets_v6_interval", NFT_SET_INTERVAL, 8, 16, {}},
		{"peer_subnets_v4_interval", NFT_SET_INTERVAL | NFT_SET_CONCAT, (7 << 6) | 7, 8, {4, 4}},
		{"peer_subnets_v6_interval", NFT_SET_INTERVAL | NFT_SET_CONCAT, (8 << 6) | 8, 32, {16, 16}},
	};
	for (size_t i = 0; i < 12; i++) {
		EXPECT_EQ(sets[i].name, want[i].name);
		EXPECT_EQ(sets[i].flags, want[i].flags) << want[i].name;
		EXPECT_EQ(sets[i].key_type, want[i].type) << want[i].name;
		EXPECT_EQ(sets[i].key_len, want[i].len) << want[i].name;
		EXPECT_EQ(sets[i].id, i + 1) << want[i].name;
		EXPECT_EQ(sets[i].fields, want[i].fields) << want[i].name;
		bool concat = want[i].type > 8;
		EXPECT_EQ(sets[i].udata, concat ? no_order : big_endian) << want[i].name;
	}
}

// --- elements ------------------------------------------------------------

struct ParsedElem {
	std::string key, key_end;
	uint32_t flags = 0;
	bool open = false;
};

std::string hex(const void *p, uint32_t len)
{
	std::string s;
	char b[3];
	for (uint32_t i = 0; i < len; i++) {
		std::snprintf(b, sizeof(b), "%02x", static_cast<const uint8_t *>(p)[i]);
		s += b;
	}
	return s;
}

int collect_elem(nftnl_set_elem *e, void *data)
{
	ParsedElem p;
	uint32_t len = 0;
	if (auto *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len))
		p.key = hex(k, len);
	if (auto *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &len))
		p.key_end = hex(k, len);
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
		p.flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
	auto *u = static_cast<const uint8_t *>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len));
	p.open = u && len == 6 && u[0] == NFTNL_UDATA_SET_ELEM_FLAGS && u[2] == NFTNL_SET_ELEM_F_INTERVAL_OPEN;
	static_cast<std::vector<ParsedElem> *>(data)->push_back(p);
	return 0;
}

// Elements of set `name` over all its NEWSETELEM messages, in order.
std::vector<ParsedElem> parse_elements(const Batch &b, const std::string &name, size_t *msgs = nullptr)
{
	std::vector<ParsedElem> out;
	for (auto *nlh : messages(b)) {
		if (msg_type(nlh) != NFT_MSG_NEWSETELEM)
			continue;
		SetPtr s(nftnl_set_alloc());
		EXPECT_EQ(nftnl_set_elems_nlmsg_parse(nlh, s.get()), 0);
		if (nftnl_set_get_str(s.get(), NFTNL_SET_NAME) != name)
			continue;
		EXPECT_STREQ(nftnl_set_get_str(s.get(), NFTNL_SET_TABLE), "ipsec_steer");
		EXPECT_NE(nftnl_set_get_u32(s.get(), NFTNL_SET_ID), 0u);
		nftnl_set_elem_foreach(s.get(), collect_elem, &out);
		if (msgs)
			++*msgs;
	}
	return out;
}

// As nft sends an interval set: sorted; an end marker at 0 unless a range
// starts there; each range's start, then the address after it flagged as
// an interval end; a range up to the last address has no end and is
// flagged open in userdata.
// The interval sets of the former design (the bench still builds them).
std::vector<Set> interval_sets()
{
	auto sets = mesh_sets();
	for (auto &s : sets)
		s.interval = true;
	return sets;
}

TEST(NftElements, IntervalsAsNftSendsThem)
{
	Ruleset rs;
	rs.sets = interval_sets();
	Set &subnets = *rs.find_set("subnets_v4");
	Set &peers = *rs.find_set("peers_v4");
	ASSERT_TRUE(add_element(subnets, {cidr("255.255.255.0/24")}).ok());
	ASSERT_TRUE(add_element(subnets, {cidr("10.1.0.0/16")}).ok());
	ASSERT_TRUE(add_element(peers, {cidr("10.0.0.1/32")}).ok());
	ASSERT_TRUE(add_element(subnets, {cidr("10.0.0.1/32")}).ok());
	ASSERT_TRUE(add_element(peers, {cidr("0.0.0.0/32")}).ok());
	auto b = build_replace(rs);
	ASSERT_TRUE(b.ok());
	auto e = parse_elements(*b, "subnets_v4");
	const uint32_t end = NFT_SET_ELEM_INTERVAL_END;
	ASSERT_EQ(e.size(), 6u);
	EXPECT_EQ(e[0].key, "00000000");
	EXPECT_EQ(e[0].flags, end);
	EXPECT_EQ(e[1].key, "0a000001");
	EXPECT_EQ(e[2].key, "0a000002");
	EXPECT_EQ(e[2].flags, end);
	EXPECT_EQ(e[3].key, "0a010000");
	EXPECT_EQ(e[4].key, "0a020000");
	EXPECT_EQ(e[4].flags, end);
	EXPECT_EQ(e[5].key, "ffffff00");
	EXPECT_EQ(e[5].flags, 0u);
	EXPECT_TRUE(e[5].open);
	EXPECT_FALSE(e[1].open);
	// A range starting at 0 needs no leading end marker.
	auto p = parse_elements(*b, "peers_v4");
	ASSERT_EQ(p.size(), 4u);
	EXPECT_EQ(p[0].key, "00000000");
	EXPECT_EQ(p[0].flags, 0u);
	EXPECT_EQ(p[1].key, "00000001");
	EXPECT_EQ(p[1].flags, end);
}

// Concatenations (pipapo) take a key of first addresses and a key end of
// last addresses per element.
TEST(NftElements, ConcatenatedRanges)
{
	Ruleset rs;
	rs.sets = interval_sets();
	ASSERT_TRUE(add_element(*rs.find_set("peer_subnets_v4"), {cidr("192.0.2.1/32"), cidr("172.16.1.0/24")}).ok());
	ASSERT_TRUE(add_element(*rs.find_set("peer_subnets_v6"), {cidr("2001:db8::1/128"), cidr("fd00::/64")}).ok());
	auto b = build_replace(rs);
	ASSERT_TRUE(b.ok());
	auto v4 = parse_elements(*b, "peer_subnets_v4");
	ASSERT_EQ(v4.size(), 1u);
	EXPECT_EQ(v4[0].key, "c0000201ac100100");
	EXPECT_EQ(v4[0].key_end, "c0000201ac1001ff");
	EXPECT_EQ(v4[0].flags, 0u);
	auto v6 = parse_elements(*b, "peer_subnets_v6");
	ASSERT_EQ(v6.size(), 1u);
	EXPECT_EQ(v6[0].key, "20010db8000000000000000000000001fd000000000000000000000000000000");
	EXPECT_EQ(v6[0].key_end, "20010db8000000000000000000000001fd00000000000000ffffffffffffffff");
}

// A hash set takes one key per element: the fields' network addresses,
// no key end, no flags.
TEST(NftElements, HashKeysAreNetworkAddresses)
{
	Ruleset rs;
	rs.sets = host_sets();
	ASSERT_TRUE(add_peer_subnet(rs, *config::parse_ip("192.0.2.1"), cidr("172.16.1.0/24")).ok());
	ASSERT_TRUE(add_peer_subnet(rs, *config::parse_ip("2001:db8::1"), cidr("fd00::/64")).ok());
	ASSERT_TRUE(add_subnet(rs, cidr("172.16.0.0/20")).ok());
	ASSERT_TRUE(add_peer(rs, *config::parse_ip("192.0.2.1")).ok());
	auto b = build_replace(rs);
	ASSERT_TRUE(b.ok());
	auto v4 = parse_elements(*b, "peer_subnets_v4_24");
	ASSERT_EQ(v4.size(), 1u);
	EXPECT_EQ(v4[0].key, "c0000201ac100100");
	EXPECT_EQ(v4[0].key_end, "");
	EXPECT_EQ(v4[0].flags, 0u);
	auto v6 = parse_elements(*b, "peer_subnets_v6_64");
	ASSERT_EQ(v6.size(), 1u);
	EXPECT_EQ(v6[0].key, "20010db8000000000000000000000001fd000000000000000000000000000000");
	EXPECT_EQ(v6[0].key_end, "");
	auto s = parse_elements(*b, "subnets_v4_20");
	ASSERT_EQ(s.size(), 1u);
	EXPECT_EQ(s[0].key, "ac100000");
	auto p = parse_elements(*b, "peers_v4");
	ASSERT_EQ(p.size(), 1u);
	EXPECT_EQ(p[0].key, "c0000201");
	EXPECT_FALSE(p[0].open);
}

// The top-level attribute `type` of an nf_tables message.
const nlattr *find_attr(const nlmsghdr *nlh, uint16_t type)
{
	auto *a = static_cast<const nlattr *>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
	auto *tail = static_cast<const char *>(mnl_nlmsg_get_payload_tail(nlh));
	for (; mnl_attr_ok(a, static_cast<int>(tail - reinterpret_cast<const char *>(a))); a = mnl_attr_next(a))
		if (mnl_attr_get_type(a) == type)
			return a;
	return nullptr;
}

std::vector<const nlattr *> nested(const nlattr *nest)
{
	std::vector<const nlattr *> out;
	auto *a = static_cast<const nlattr *>(mnl_attr_get_payload(nest));
	auto *tail = static_cast<const char *>(mnl_attr_get_payload(nest)) + mnl_attr_get_payload_len(nest);
	for (; mnl_attr_ok(a, static_cast<int>(tail - reinterpret_cast<const char *>(a))); a = mnl_attr_next(a))
		out.push_back(a);
	return out;
}

// The extended ACK names the failing element's attribute by its offset in
// the message; the batch maps every offset back to the model element.
TEST(NftElements, EveryElementAttributeOffsetIsOnRecord)
{
	Ruleset rs;
	rs.sets = mesh_sets();
	for (int i = 0; i < 3000; i++) {
		config::IpAddress a = *config::parse_ip("10.0.0.0");
		a.bytes[2] = static_cast<uint8_t>(i >> 7);
		a.bytes[3] = static_cast<uint8_t>((i & 0x7f) << 1);
		ASSERT_TRUE(add_peer(rs, a).ok());
	}
	auto b = build_replace(rs);
	ASSERT_TRUE(b.ok());
	size_t checked = 0;
	for (auto *nlh : messages(*b)) {
		if (msg_type(nlh) != NFT_MSG_NEWSETELEM)
			continue;
		const auto &origins = b->elements.at(nlh->nlmsg_seq);
		const nlattr *list = find_attr(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		ASSERT_TRUE(list);
		size_t i = 0;
		for (const nlattr *elem : nested(list)) {
			uint32_t offset = static_cast<uint32_t>(reinterpret_cast<const char *>(elem) -
				reinterpret_cast<const char *>(nlh));
			ASSERT_LT(i, origins.size());
			EXPECT_EQ(origins[i].offset, offset);
			i++;
		}
		EXPECT_EQ(i, origins.size());
		checked += i;
	}
	EXPECT_EQ(checked, 3000u);  // one key each
	// describe() resolves an offset to the element (the kernel may point
	// inside the element's attribute, too).
	uint32_t seq = b->elements.begin()->first;
	const auto &o = b->elements.begin()->second;
	EXPECT_EQ(b->describe(seq, o[5].offset + 4), b->what.at(seq) + ": element " + o[5].text);
	EXPECT_EQ(o[5].text, "10.0.0.10");
	EXPECT_EQ(b->describe(seq), b->what.at(seq));
	EXPECT_NE(b->describe(1u << 30).find("not in this batch"), std::string::npos);
}

// 100,000 peers: many NEWSETELEM messages (each element list under the
// 16-bit attribute length), all in the one batch.
TEST(NftElements, HundredThousandPeersSplitIntoMessagesOfOneBatch)
{
	Ruleset rs;
	rs.sets = mesh_sets();
	for (uint32_t i = 0; i < 100000; i++) {
		config::IpAddress a = *config::parse_ip("10.0.0.0");
		uint32_t v = htonl(0x0a000000u + 2 * i);
		std::memcpy(a.bytes.data(), &v, 4);
		ASSERT_TRUE(add_peer(rs, a).ok());
	}
	auto b = build_replace(rs);
	ASSERT_TRUE(b.ok());
	size_t msgs = 0;
	auto e = parse_elements(*b, "peers_v4", &msgs);
	EXPECT_EQ(e.size(), 100000u);
	EXPECT_GT(msgs, 20u);
	for (auto *nlh : messages(*b))
		EXPECT_LT(nlh->nlmsg_len, 64u * 1024u);
	EXPECT_EQ(messages(*b).back()->nlmsg_type, NFNL_MSG_BATCH_END);
}

// --- other batches -------------------------------------------------------

TEST(NftBatch, DeleteIsOneDeltable)
{
	Batch b = build_delete("ipsec_steer", 7);
	auto msgs = messages(b);
	ASSERT_EQ(msgs.size(), 3u);
	EXPECT_EQ(msg_type(msgs[1]), NFT_MSG_DELTABLE);
	EXPECT_TRUE(msgs[1]->nlmsg_flags & NLM_F_ACK);
	TablePtr t(nftnl_table_alloc());
	ASSERT_EQ(nftnl_table_nlmsg_parse(msgs[1], t.get()), 0);
	EXPECT_STREQ(nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME), "ipsec_steer");
	EXPECT_EQ(b.what.at(8), "delete table inet ipsec_steer");
	EXPECT_EQ(b.acked_messages(), 1u);
}

TEST(NftBatch, GenerationIsPatchedIntoBatchBegin)
{
	Batch b = build_delete("t");
	EXPECT_EQ(generation(b), 0u);  // 0: the kernel checks nothing
	const auto before = b.bytes;
	set_generation(b, 0xdeadbeef);
	EXPECT_EQ(generation(b), 0xdeadbeefu);
	EXPECT_EQ(b.bytes.size(), before.size());
	size_t diff = 0;
	for (size_t i = 0; i < before.size(); i++)
		diff += before[i] != b.bytes[i];
	EXPECT_EQ(diff, 4u);
}

TEST(NftBatch, InvalidRulesetBuildsNothing)
{
	Ruleset rs;
	rs.rules.push_back({"input", {Verdict{}}});
	auto b = build_replace(rs);
	ASSERT_FALSE(b.ok());
	EXPECT_NE(b.error().message().find("chain that does not exist"), std::string::npos);
}

} // namespace
} // namespace steer::nft
