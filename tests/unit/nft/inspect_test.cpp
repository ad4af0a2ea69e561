// The ruleset reader's pure half: libnftnl rule objects built here -- in
// the bytecode iptables-nft 1.8.9 and nft 1.0.6 write (as `nft
// --debug=netlink` shows it), and our own builder's -- are sent through a
// netlink message and parsed back, as a dump would deliver them, then
// decoded and audited. No root, no kernel.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_multiport.h>
#include <linux/netfilter/xt_policy.h>
#include <netinet/in.h>

#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "inspect.hpp"
#include "nft_cases.hpp"
#include "nftnl_ptr.hpp"
#include "rule_expr.hpp"

namespace steer::nft {
namespace {

using Bytes = std::vector<uint8_t>;

// A rule of (family, table, chain), built expression by expression.
class RuleBuilder {
public:
	RuleBuilder(uint32_t family, const char *table, const char *chain, uint64_t handle)
		: r_(nftnl_rule_alloc())
	{
		nftnl_rule_set_u32(r_.get(), NFTNL_RULE_FAMILY, family);
		nftnl_rule_set_str(r_.get(), NFTNL_RULE_TABLE, table);
		nftnl_rule_set_str(r_.get(), NFTNL_RULE_CHAIN, chain);
		nftnl_rule_set_u64(r_.get(), NFTNL_RULE_HANDLE, handle);
	}

	RuleBuilder &meta(uint32_t key) { return load("meta", NFTNL_EXPR_META_KEY, key, NFTNL_EXPR_META_DREG); }
	RuleBuilder &rt(uint32_t key) { return load("rt", NFTNL_EXPR_RT_KEY, key, NFTNL_EXPR_RT_DREG); }
	RuleBuilder &payload(uint32_t base, uint32_t offset, uint32_t len)
	{
		auto e = make("payload");
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
		return add(std::move(e));
	}
	RuleBuilder &cmp(uint32_t op, const Bytes &data)
	{
		auto e = make("cmp");
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set(e.get(), NFTNL_EXPR_CMP_DATA, data.data(), static_cast<uint32_t>(data.size()));
		return add(std::move(e));
	}
	RuleBuilder &range(const Bytes &from, const Bytes &to)
	{
		auto e = make("range");
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_RANGE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_RANGE_OP, NFT_RANGE_EQ);
		nftnl_expr_set(e.get(), NFTNL_EXPR_RANGE_FROM_DATA, from.data(), static_cast<uint32_t>(from.size()));
		nftnl_expr_set(e.get(), NFTNL_EXPR_RANGE_TO_DATA, to.data(), static_cast<uint32_t>(to.size()));
		return add(std::move(e));
	}
	RuleBuilder &lookup(const char *set)
	{
		auto e = make("lookup");
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_str(e.get(), NFTNL_EXPR_LOOKUP_SET, set);
		return add(std::move(e));
	}
	RuleBuilder &bitwise(const Bytes &mask)
	{
		auto e = make("bitwise");
		const Bytes zero(mask.size(), 0);
		const auto len = static_cast<uint32_t>(mask.size());
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_LEN, len);
		nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_MASK, mask.data(), len);
		nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_XOR, zero.data(), len);
		return add(std::move(e));
	}
	RuleBuilder &ct_state()
	{
		return load("ct", NFTNL_EXPR_CT_KEY, NFT_CT_STATE, NFTNL_EXPR_CT_DREG);
	}
	RuleBuilder &counter() { return add(make("counter")); }
	RuleBuilder &masq() { return add(make("masq")); }
	RuleBuilder &verdict(int32_t code, const char *chain = nullptr)
	{
		auto e = make("immediate");
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(code));
		if (chain)
			nftnl_expr_set_str(e.get(), NFTNL_EXPR_IMM_CHAIN, chain);
		return add(std::move(e));
	}
	RuleBuilder &accept() { return verdict(NF_ACCEPT); }
	// iptables-nft's xt extensions: libnftnl takes ownership of the info,
	// which must therefore come from malloc.
	RuleBuilder &match(const char *name, uint32_t rev, const void *info, size_t len)
	{
		return xt("match", NFTNL_EXPR_MT_NAME, NFTNL_EXPR_MT_REV, NFTNL_EXPR_MT_INFO, name, rev, info, len);
	}
	RuleBuilder &target(const char *name, uint32_t rev, const void *info, size_t len)
	{
		return xt("target", NFTNL_EXPR_TG_NAME, NFTNL_EXPR_TG_REV, NFTNL_EXPR_TG_INFO, name, rev, info, len);
	}
	// Our builder's bytecode for model expressions.
	RuleBuilder &model(std::vector<Expr> exprs)
	{
		add_rule_expressions(r_.get(), Ruleset{}, Rule{"c", std::move(exprs)});
		return *this;
	}

	// Through a NEWRULE message and back, as the kernel's dump hands it over.
	RuleInfo decode(const PortSets &sets = {}) const
	{
		std::vector<char> buf(64 * 1024);
		nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_NEWRULE,
			static_cast<uint16_t>(nftnl_rule_get_u32(r_.get(), NFTNL_RULE_FAMILY)), 0, 1);
		nftnl_rule_nlmsg_build_payload(nlh, r_.get());
		RulePtr back(nftnl_rule_alloc());
		EXPECT_EQ(nftnl_rule_nlmsg_parse(nlh, back.get()), 0);
		return decode_rule(back.get(), sets);
	}

private:
	static ExprPtr make(const char *name) { return ExprPtr(nftnl_expr_alloc(name)); }
	RuleBuilder &add(ExprPtr e)
	{
		nftnl_rule_add_expr(r_.get(), e.release());
		return *this;
	}
	RuleBuilder &load(const char *name, uint16_t key_attr, uint32_t key, uint16_t dreg_attr)
	{
		auto e = make(name);
		nftnl_expr_set_u32(e.get(), key_attr, key);
		nftnl_expr_set_u32(e.get(), dreg_attr, NFT_REG_1);
		return add(std::move(e));
	}
	RuleBuilder &xt(const char *kind, uint16_t name_attr, uint16_t rev_attr, uint16_t info_attr,
		const char *name, uint32_t rev, const void *info, size_t len)
	{
		auto e = make(kind);
		nftnl_expr_set_str(e.get(), name_attr, name);
		nftnl_expr_set_u32(e.get(), rev_attr, rev);
		void *copy = std::calloc(1, len);
		std::memcpy(copy, info, len);
		nftnl_expr_set(e.get(), info_attr, copy, static_cast<uint32_t>(len));
		return add(std::move(e));
	}

	RulePtr r_;
};

Bytes port_bytes(uint16_t port)
{
	return {static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port)};
}

// `-m policy --dir DIR --pol POL` as iptables-nft stores it.
xt_policy_info policy(bool out, bool none)
{
	xt_policy_info p{};
	p.flags = static_cast<uint16_t>((out ? XT_POLICY_MATCH_OUT : XT_POLICY_MATCH_IN) |
		(none ? XT_POLICY_MATCH_NONE : 0));
	p.len = none ? 0 : 1;
	return p;
}

// The seed's docker rule as iptables-nft 1.8.9 writes it:
//   -A POSTROUTING -s 172.16.1.0/24 ! -o docker0 -j MASQUERADE
// optionally with the seed's fix `-m policy --dir out --pol none`.
RuleBuilder docker_rule(bool exempt, uint64_t handle = 2)
{
	RuleBuilder b(NFPROTO_IPV4, "nat", "POSTROUTING", handle);
	b.meta(NFT_META_OIFNAME).cmp(NFT_CMP_NEQ, {'d', 'o', 'c', 'k', 'e', 'r', '0', 0});
	b.payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 3).cmp(NFT_CMP_EQ, {172, 16, 1});
	if (exempt) {
		auto p = policy(true, true);
		b.match("policy", 0, &p, sizeof(p));
	}
	uint8_t masq_info[24] = {1};  // nf_nat_ipv4_multi_range_compat, rangesize 1
	b.counter().target("MASQUERADE", 0, masq_info, sizeof(masq_info));
	return b;
}

// `udp dport 8472 accept` (nft and iptables-nft write the same bytecode),
// in `table` of `family`.
RuleBuilder vxlan_accept(uint32_t family, const char *table, const char *chain, uint64_t handle,
	bool meta_ipsec = false)
{
	RuleBuilder b(family, table, chain, handle);
	if (meta_ipsec)
		b.meta(NFT_META_SECPATH).cmp(NFT_CMP_EQ, {1});
	b.meta(NFT_META_L4PROTO).cmp(NFT_CMP_EQ, {IPPROTO_UDP});
	b.payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2).cmp(NFT_CMP_EQ, port_bytes(8472));
	b.accept();
	return b;
}

ChainInfo base(uint32_t family, const char *table, const char *name, const char *type, uint32_t hook)
{
	return {family, table, name, true, type, hook, type == std::string("nat") ? 100 : 0};
}

ChainInfo regular(uint32_t family, const char *table, const char *name)
{
	return {family, table, name, false, "", 0, 0};
}

const ChainInfo ip_postrouting = base(NFPROTO_IPV4, "nat", "POSTROUTING", "nat", NF_INET_POST_ROUTING);
const ChainInfo ip_input = base(NFPROTO_IPV4, "filter", "INPUT", "filter", NF_INET_LOCAL_IN);

std::vector<config::Service> vxlan()
{
	return {*config::parse_service("udp/8472")};
}

// --- decoding --------------------------------------------------------------

TEST(InspectDecode, TheSeedsDockerRuleAsIptablesNftWritesIt)
{
	RuleInfo r = docker_rule(false).decode();
	EXPECT_EQ(r.text, "oifname != \"docker0\" ip saddr 172.16.1.0/24 counter masquerade");
	EXPECT_EQ(r.where(), "table ip nat chain POSTROUTING handle 2");
	EXPECT_EQ(r.nat, Nat::masquerade);
	EXPECT_EQ(r.saddr, "172.16.1.0/24");
	EXPECT_EQ(r.oifname, "docker0");
	EXPECT_TRUE(r.oifname_negate);
	EXPECT_TRUE(r.xt);
	EXPECT_FALSE(r.exempts_ipsec_out());

	RuleInfo fixed = docker_rule(true).decode();
	EXPECT_EQ(fixed.text, "oifname != \"docker0\" ip saddr 172.16.1.0/24 xt match policy --dir out --pol none"
			      " counter masquerade");
	EXPECT_TRUE(fixed.exempts_ipsec_out());
	EXPECT_FALSE(fixed.requires_ipsec_in());
}

TEST(InspectDecode, PolicyMatchDirectionsAndPolicies)
{
	for (auto [out, none] : {std::pair{false, false}, {false, true}, {true, false}, {true, true}}) {
		auto p = policy(out, none);
		RuleInfo r = RuleBuilder(NFPROTO_IPV4, "filter", "INPUT", 3).match("policy", 0, &p, sizeof(p)).accept().decode();
		ASSERT_EQ(r.policies.size(), 1u);
		EXPECT_EQ(r.requires_ipsec_in(), !out && !none) << r.text;
		EXPECT_EQ(r.exempts_ipsec_out(), out && none) << r.text;
	}
}

TEST(InspectDecode, NativeIpsecExpressions)
{
	RuleInfo in = vxlan_accept(NFPROTO_INET, "t", "in", 4, true).decode();
	EXPECT_EQ(in.text, "meta ipsec exists udp dport 8472 accept");
	EXPECT_TRUE(in.requires_ipsec_in());
	EXPECT_EQ(in.meta_ipsec, Presence::exists);

	RuleInfo plain = vxlan_accept(NFPROTO_INET, "t", "in", 5).decode();
	EXPECT_EQ(plain.text, "udp dport 8472 accept");
	EXPECT_FALSE(plain.requires_ipsec_in());
	EXPECT_TRUE(plain.names_dport(IPPROTO_UDP, 8472));
	EXPECT_FALSE(plain.names_dport(IPPROTO_TCP, 8472));
	EXPECT_FALSE(plain.names_dport(IPPROTO_UDP, 4789));
	EXPECT_EQ(plain.verdict, Verdict::accept);

	RuleInfo out = RuleBuilder(NFPROTO_INET, "t", "post", 6).rt(NFT_RT_XFRM).cmp(NFT_CMP_EQ, {0}).masq().decode();
	EXPECT_EQ(out.text, "rt ipsec missing masquerade");
	EXPECT_TRUE(out.exempts_ipsec_out());
}

// Our builder's bytecode reads back as the model's own text: every rule of
// every golden case (the seed's flannel example among them).
TEST(InspectDecode, OurOwnRulesReadBackAsTheirModelText)
{
	size_t rules = 0, masquerades = 0;
	for (const auto &c : test::golden_cases()) {
		SCOPED_TRACE(c.name);
		for (const auto &rule : c.ruleset.rules) {
			rules++;
			RulePtr r(nftnl_rule_alloc());
			nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
			nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, c.ruleset.table.c_str());
			nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, rule.chain.c_str());
			add_rule_expressions(r.get(), c.ruleset, rule);
			RuleInfo info = decode_rule(r.get());
			EXPECT_EQ(info.text, to_text(rule));
			if (info.nat == Nat::masquerade) {
				masquerades++;
				EXPECT_TRUE(info.exempts_ipsec_out()) << info.text;
			}
		}
	}
	EXPECT_GT(rules, 20u);
	EXPECT_GT(masquerades, 0u);
}

TEST(InspectDecode, PortsInRangesSetsAndMultiport)
{
	RuleInfo range = RuleBuilder(NFPROTO_IPV4, "filter", "INPUT", 7)
				 .meta(NFT_META_L4PROTO).cmp(NFT_CMP_EQ, {IPPROTO_UDP})
				 .payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2).range(port_bytes(8000), port_bytes(9000))
				 .accept().decode();
	EXPECT_EQ(range.text, "udp dport 8000-9000 accept");
	EXPECT_TRUE(range.names_dport(IPPROTO_UDP, 8472));

	const PortSets sets = {{"__set0", {{500, 500}, {8472, 8472}}}};
	RuleInfo set = RuleBuilder(NFPROTO_INET, "t", "in", 8)
			       .meta(NFT_META_L4PROTO).cmp(NFT_CMP_EQ, {IPPROTO_UDP})
			       .payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2).lookup("__set0").accept().decode(sets);
	EXPECT_EQ(set.text, "udp dport { 500, 8472 } accept");
	EXPECT_TRUE(set.names_dport(IPPROTO_UDP, 8472));
	EXPECT_FALSE(set.names_dport(IPPROTO_UDP, 4500));

	xt_multiport_v1 mp{};
	mp.flags = XT_MULTIPORT_DESTINATION;
	mp.count = 3;
	mp.ports[0] = 500;
	mp.ports[1] = 4500;
	mp.ports[2] = 8472;
	RuleInfo multi = RuleBuilder(NFPROTO_IPV4, "filter", "INPUT", 9)
				 .meta(NFT_META_L4PROTO).cmp(NFT_CMP_EQ, {IPPROTO_UDP})
				 .match("multiport", 1, &mp, sizeof(mp)).accept().decode();
	EXPECT_EQ(multi.text, "meta l4proto udp xt match multiport --dports 500,4500,8472 accept");
	EXPECT_TRUE(multi.names_dport(IPPROTO_UDP, 8472));

	RuleInfo neg = RuleBuilder(NFPROTO_IPV4, "filter", "INPUT", 10)
			       .meta(NFT_META_L4PROTO).cmp(NFT_CMP_EQ, {IPPROTO_TCP})
			       .payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2).cmp(NFT_CMP_NEQ, port_bytes(22))
			       .accept().decode();
	EXPECT_EQ(neg.text, "tcp dport != 22 accept");
	EXPECT_FALSE(neg.names_dport(IPPROTO_TCP, 8472));  // names no port positively
}

TEST(InspectDecode, SnatCtStateAndJumps)
{
	// iptables -t nat -A POSTROUTING -s 10.1.0.0/16 -j SNAT --to-source 1.2.3.4
	uint8_t snat[24] = {};
	const uint32_t rangesize = 1, map_ips = 1;
	std::memcpy(snat, &rangesize, 4);
	std::memcpy(snat + 4, &map_ips, 4);
	const uint8_t to[4] = {1, 2, 3, 4};
	std::memcpy(snat + 8, to, 4);
	std::memcpy(snat + 12, to, 4);
	RuleInfo s = RuleBuilder(NFPROTO_IPV4, "nat", "POSTROUTING", 4)
			     .payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 2).cmp(NFT_CMP_EQ, {10, 1})
			     .counter().target("SNAT", 0, snat, sizeof(snat)).decode();
	EXPECT_EQ(s.text, "ip saddr 10.1.0.0/16 counter snat to 1.2.3.4");
	EXPECT_EQ(s.nat, Nat::snat);

	const uint32_t est_rel = 2 | 4, zero = 0;
	Bytes mask(4), none(4);
	std::memcpy(mask.data(), &est_rel, 4);
	std::memcpy(none.data(), &zero, 4);
	RuleInfo ct = RuleBuilder(NFPROTO_INET, "t", "in", 2).ct_state().bitwise(mask).cmp(NFT_CMP_NEQ, none)
			      .accept().decode();
	EXPECT_EQ(ct.text, "ct state established,related accept");

	RuleInfo j = RuleBuilder(NFPROTO_IPV4, "filter", "INPUT", 3).verdict(NFT_JUMP, "vxlan_allow").decode();
	EXPECT_EQ(j.text, "jump vxlan_allow");
	EXPECT_EQ(j.verdict, Verdict::jump);
	EXPECT_EQ(j.target, "vxlan_allow");
}

TEST(InspectDecode, PortSetsPlainAndInterval)
{
	auto elem = [](nftnl_set *s, uint16_t port, bool end, std::optional<uint16_t> last = {}) {
		ElemPtr e(nftnl_set_elem_alloc());
		Bytes k = port_bytes(port);
		nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY, k.data(), 2);
		if (end)
			nftnl_set_elem_set_u32(e.get(), NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
		if (last) {
			Bytes l = port_bytes(*last);
			nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY_END, l.data(), 2);
		}
		nftnl_set_elem_add(s, e.release());
	};
	SetPtr plain(nftnl_set_alloc());
	elem(plain.get(), 8472, false);
	elem(plain.get(), 500, false);
	EXPECT_EQ(decode_port_set(plain.get()), (std::vector<PortRange>{{500, 500}, {8472, 8472}}));

	// { 500, 4000-4500, 60000-65535 } as nft sends an interval set (the
	// kernel dumps it in reverse; the order must not matter).
	SetPtr interval(nftnl_set_alloc());
	nftnl_set_set_u32(interval.get(), NFTNL_SET_FLAGS, NFT_SET_INTERVAL);
	elem(interval.get(), 60000, false);
	elem(interval.get(), 4501, true);
	elem(interval.get(), 4000, false);
	elem(interval.get(), 501, true);
	elem(interval.get(), 500, false);
	elem(interval.get(), 0, true);
	EXPECT_EQ(decode_port_set(interval.get()),
		(std::vector<PortRange>{{500, 500}, {4000, 4500}, {60000, 65535}}));

	SetPtr ranged(nftnl_set_alloc());
	nftnl_set_set_u32(ranged.get(), NFTNL_SET_FLAGS, NFT_SET_INTERVAL);
	elem(ranged.get(), 8000, false, 9000);
	EXPECT_EQ(decode_port_set(ranged.get()), (std::vector<PortRange>{{8000, 9000}}));
}

TEST(InspectDecode, Chains)
{
	ChainPtr c(nftnl_chain_alloc());
	nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
	nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, "nat");
	nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, "POSTROUTING");
	nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, "nat");
	nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, NF_INET_POST_ROUTING);
	nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, 100);
	ChainInfo ci = decode_chain(c.get());
	EXPECT_TRUE(ci.base);
	EXPECT_EQ(ci.type, "nat");
	EXPECT_EQ(ci.hook, static_cast<uint32_t>(NF_INET_POST_ROUTING));
	EXPECT_EQ(ci.priority, 100);

	ChainPtr user(nftnl_chain_alloc());
	nftnl_chain_set_str(user.get(), NFTNL_CHAIN_NAME, "DOCKER");
	EXPECT_FALSE(decode_chain(user.get()).base);
}

// --- audits ------------------------------------------------------------------

TEST(InspectAudit, TheDockerRuleIsFoundWithItsFix)
{
	LiveRuleset rs{{ip_postrouting}, {docker_rule(false).decode()}};
	auto found = audit_nat(rs);
	ASSERT_EQ(found.size(), 1u);
	EXPECT_EQ(found[0].rule, "table ip nat chain POSTROUTING handle 2: oifname != \"docker0\" ip saddr "
				 "172.16.1.0/24 counter masquerade");
	EXPECT_NE(found[0].problem.find("masquerade"), std::string::npos);
	EXPECT_NE(found[0].fix.find("\"rt ipsec missing\" (nft)"), std::string::npos) << found[0].fix;
	EXPECT_NE(found[0].fix.find("\"-m policy --dir out --pol none\" (iptables)"), std::string::npos);
	EXPECT_NE(found[0].fix.find("[firewall] masquerade = [ { source = \"172.16.1.0/24\", "
				    "not_out_interface = \"docker0\" } ]"), std::string::npos) << found[0].fix;
}

TEST(InspectAudit, ExemptedNatIsQuiet)
{
	RuleInfo native = RuleBuilder(NFPROTO_INET, "t", "post", 3)
				  .model({expr::Address{Addr::saddr, *config::parse_cidr("10.0.0.0/8")},
					  expr::Ipsec{true, false}, expr::Masquerade{}}).decode();
	ChainInfo post = base(NFPROTO_INET, "t", "post", "nat", NF_INET_POST_ROUTING);
	LiveRuleset rs{{ip_postrouting, post}, {docker_rule(true).decode(), native}};
	EXPECT_TRUE(audit_nat(rs).empty());
}

TEST(InspectAudit, NatFollowsJumpsAndIgnoresUnhookedChains)
{
	auto p = policy(true, true);
	RuleInfo exempt_jump = RuleBuilder(NFPROTO_IPV4, "nat", "POSTROUTING", 1)
				       .match("policy", 0, &p, sizeof(p)).verdict(NFT_JUMP, "SAFE").decode();
	RuleInfo plain_jump = RuleBuilder(NFPROTO_IPV4, "nat", "POSTROUTING", 2).verdict(NFT_GOTO, "DOCKER").decode();
	RuleInfo in_safe = RuleBuilder(NFPROTO_IPV4, "nat", "SAFE", 3).masq().decode();
	RuleInfo in_docker = RuleBuilder(NFPROTO_IPV4, "nat", "DOCKER", 4).masq().decode();
	RuleInfo orphan = RuleBuilder(NFPROTO_IPV4, "nat", "ORPHAN", 5).masq().decode();
	LiveRuleset rs{{ip_postrouting, regular(NFPROTO_IPV4, "nat", "SAFE"), regular(NFPROTO_IPV4, "nat", "DOCKER"),
			       regular(NFPROTO_IPV4, "nat", "ORPHAN")},
		{exempt_jump, plain_jump, in_safe, in_docker, orphan}};
	auto found = audit_nat(rs);
	ASSERT_EQ(found.size(), 1u);
	EXPECT_EQ(found[0].rule, "table ip nat chain DOCKER handle 4: masquerade");
}

TEST(InspectAudit, UnprotectedAcceptOfAnIpsecOnlyServiceIsFound)
{
	LiveRuleset rs{{ip_input}, {vxlan_accept(NFPROTO_IPV4, "filter", "INPUT", 2).decode()}};
	auto found = audit_ipsec_only(rs, vxlan());
	ASSERT_EQ(found.size(), 1u);
	EXPECT_EQ(found[0].rule, "table ip filter chain INPUT handle 2: udp dport 8472 accept");
	EXPECT_NE(found[0].problem.find("udp/8472"), std::string::npos);
	EXPECT_NE(found[0].fix.find("\"meta ipsec exists\" (nft)"), std::string::npos);
	EXPECT_NE(found[0].fix.find("\"-m policy --pol ipsec --dir in\" (iptables)"), std::string::npos);
	EXPECT_TRUE(audit_ipsec_only(rs, {}).empty());
	EXPECT_TRUE(audit_ipsec_only(rs, {*config::parse_service("tcp/8472")}).empty());
}

TEST(InspectAudit, ProtectedOursOutboundAndPortlessAcceptsAreQuiet)
{
	auto pin = policy(false, false);
	RuleInfo xt_protected = RuleBuilder(NFPROTO_IPV4, "filter", "INPUT", 3)
			       .meta(NFT_META_L4PROTO).cmp(NFT_CMP_EQ, {IPPROTO_UDP})
			       .payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2).cmp(NFT_CMP_EQ, port_bytes(8472))
			       .match("policy", 0, &pin, sizeof(pin)).accept().decode();
	RuleInfo portless = RuleBuilder(NFPROTO_IPV4, "filter", "INPUT", 4)
				    .meta(NFT_META_L4PROTO).cmp(NFT_CMP_EQ, {IPPROTO_UDP}).accept().decode();
	const ChainInfo ours = base(NFPROTO_INET, table_name, "input", "filter", NF_INET_LOCAL_IN);
	const ChainInfo output = base(NFPROTO_IPV4, "filter", "OUTPUT", "filter", NF_INET_LOCAL_OUT);
	LiveRuleset rs{{ip_input, ours, output},
		{vxlan_accept(NFPROTO_IPV4, "filter", "INPUT", 2, true).decode(), xt_protected, portless,
			vxlan_accept(NFPROTO_INET, table_name, "input", 5).decode(),
			vxlan_accept(NFPROTO_IPV4, "filter", "OUTPUT", 6).decode()}};
	EXPECT_TRUE(audit_ipsec_only(rs, vxlan()).empty());
}

// The seed's own layout: INPUT jumps to vxlan_allow, which accepts VXLAN.
// The jump decides: with `-m policy --pol ipsec --dir in` on it, quiet.
TEST(InspectAudit, AcceptsBehindJumpsCarryThePathsMatches)
{
	auto pin = policy(false, false);
	RuleInfo jump = RuleBuilder(NFPROTO_IPV4, "filter", "INPUT", 1).verdict(NFT_JUMP, "vxlan_allow").decode();
	RuleInfo protected_jump = RuleBuilder(NFPROTO_IPV4, "filter", "INPUT", 2)
					  .match("policy", 0, &pin, sizeof(pin)).verdict(NFT_JUMP, "IPSEC_SECURED").decode();
	RuleInfo port_jump = RuleBuilder(NFPROTO_IPV4, "filter", "INPUT", 3)
				     .meta(NFT_META_L4PROTO).cmp(NFT_CMP_EQ, {IPPROTO_UDP})
				     .payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2).cmp(NFT_CMP_EQ, port_bytes(8472))
				     .verdict(NFT_JUMP, "overlay").decode();
	RuleInfo accept_all = RuleBuilder(NFPROTO_IPV4, "filter", "overlay", 4).accept().decode();
	LiveRuleset rs{{ip_input, regular(NFPROTO_IPV4, "filter", "vxlan_allow"),
			       regular(NFPROTO_IPV4, "filter", "IPSEC_SECURED"), regular(NFPROTO_IPV4, "filter", "overlay")},
		{jump, protected_jump, port_jump, vxlan_accept(NFPROTO_IPV4, "filter", "vxlan_allow", 5).decode(),
			vxlan_accept(NFPROTO_IPV4, "filter", "IPSEC_SECURED", 6).decode(), accept_all}};
	auto found = audit_ipsec_only(rs, vxlan());
	ASSERT_EQ(found.size(), 2u);
	EXPECT_EQ(found[0].rule, "table ip filter chain vxlan_allow handle 5: udp dport 8472 accept");
	EXPECT_EQ(found[1].rule, "table ip filter chain overlay handle 4: accept");
}

TEST(InspectAudit, Features)
{
	EXPECT_TRUE(audit_features({true, true}).empty());
	auto found = audit_features({false, false});
	ASSERT_EQ(found.size(), 2u);
	EXPECT_NE(found[0].problem.find("meta ipsec"), std::string::npos);
	EXPECT_NE(found[1].problem.find("rt ipsec"), std::string::npos);
	EXPECT_NE(found[0].fix.find("CONFIG_XFRM"), std::string::npos);
}

} // namespace
} // namespace steer::nft
