// The pure half of nft/: plans from configs, the element API, validation
// and the nft text. The golden files double as documentation of what each
// config generates; STEER_UPDATE_GOLDEN=1 rewrites their rule part (keeping
// each file's leading # comment) after a deliberate change.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstdlib>
#include <fstream>

#include "model.hpp"
#include "nft_cases.hpp"

namespace steer::nft {
namespace {

using namespace steer::nft::test;

const std::string golden_dir = STEER_NFT_GOLDEN;

// The leading comment block of a golden file, and the rest.
std::pair<std::string, std::string> split_golden(const std::string &text)
{
	size_t pos = 0;
	while (pos < text.size() && text[pos] == '#') {
		size_t nl = text.find('\n', pos);
		pos = nl == std::string::npos ? text.size() : nl + 1;
	}
	return {text.substr(0, pos), text.substr(pos)};
}

TEST(NftGolden, EveryCasePlansExactlyItsGoldenFile)
{
	const bool update = std::getenv("STEER_UPDATE_GOLDEN") != nullptr;
	auto cases = golden_cases();
	ASSERT_EQ(cases.size(), 5u);
	for (const auto &c : cases) {
		const std::string path = golden_dir + "/" + c.name + ".nft";
		auto [header, body] = split_golden(read_file(path));
		if (update) {
			std::ofstream(path) << header << to_text(c.ruleset);
			continue;
		}
		EXPECT_FALSE(header.empty()) << path << " lost its comment";
		EXPECT_EQ(to_text(c.ruleset), body) << c.name << ": " << c.about;
		EXPECT_TRUE(validate(c.ruleset).ok()) << c.name;
	}
}

config::HostFirewall host(std::vector<const char *> services, uint32_t allow)
{
	config::HostFirewall fw;
	for (auto s : services)
		fw.ipsec_only.push_back(*config::parse_service(s));
	fw.allow = allow;
	return fw;
}

std::vector<std::string> rules_of(const Ruleset &rs, const std::string &chain)
{
	std::vector<std::string> out;
	for (const auto &r : rs.rules)
		if (r.chain == chain)
			out.push_back(to_text(r));
	return out;
}

TEST(NftPlan, AllowFlagsPickTheirRulesAndPorts)
{
	auto rs = plan_host_firewall(host({}, STEER_F_NATT | STEER_F_AH), 600, 4600);
	EXPECT_EQ(rules_of(rs, "input"),
		(std::vector<std::string>{"udp dport 4600 accept", "meta l4proto ah accept"}));
	EXPECT_EQ(rules_of(rs, "forward"), rules_of(rs, "input"));
	rs = plan_host_firewall(host({}, STEER_F_IKE | STEER_F_ESP), 600, 4600);
	EXPECT_EQ(rules_of(rs, "input"),
		(std::vector<std::string>{"udp dport 600 accept", "meta l4proto esp accept"}));
}

TEST(NftPlan, OneIkePortForBothIsAcceptedOnce)
{
	auto rs = plan_host_firewall(host({}, config::default_allow_flags), 4500, 4500);
	EXPECT_EQ(rules_of(rs, "input"), (std::vector<std::string>{"udp dport 4500 accept",
					  "meta l4proto esp accept", "meta l4proto ah accept"}));
}

TEST(NftPlan, NothingAllowedLeavesEmptyPolicyAcceptChains)
{
	auto rs = plan_host_firewall(host({}, 0), 500, 4500);
	ASSERT_EQ(rs.chains.size(), 2u);
	EXPECT_TRUE(rs.rules.empty());
	for (const auto &c : rs.chains)
		EXPECT_EQ(c.type, ChainType::filter);
}

// The ipsec_only pair, in every direction: accepted when protected, then
// dropped (and counted); outbound by the route's xfrm bundle; forwarded by
// either.
TEST(NftPlan, IpsecOnlyGuardsInputForwardAndOutput)
{
	auto rs = plan_host_firewall(host({"udp/8472", "tcp/179"}, 0), 500, 4500);
	std::vector<std::string> in = {"udp dport 8472 meta ipsec exists counter accept", "udp dport 8472 counter drop",
		"tcp dport 179 meta ipsec exists counter accept", "tcp dport 179 counter drop"};
	EXPECT_EQ(rules_of(rs, "input"), in);
	// Forwarded: decrypted on the way in, or about to be encrypted.
	EXPECT_EQ(rules_of(rs, "forward"),
		(std::vector<std::string>{"udp dport 8472 meta ipsec exists counter accept",
			"udp dport 8472 rt ipsec exists counter accept", "udp dport 8472 counter drop",
			"tcp dport 179 meta ipsec exists counter accept", "tcp dport 179 rt ipsec exists counter accept",
			"tcp dport 179 counter drop"}));
	EXPECT_EQ(rules_of(rs, "output"),
		(std::vector<std::string>{"udp dport 8472 rt ipsec exists counter accept", "udp dport 8472 counter drop",
			"tcp dport 179 rt ipsec exists counter accept", "tcp dport 179 counter drop"}));
	const Chain *out = rs.find_chain("output");
	ASSERT_TRUE(out);
	EXPECT_EQ(out->hook, Hook::output);
	EXPECT_EQ(rs.find_chain("postrouting"), nullptr);
}

TEST(NftPlan, MasqueradeNeverCatchesIpsecBoundPackets)
{
	config::HostFirewall fw = host({}, 0);
	config::Masquerade m;
	m.source = *config::parse_cidr("172.16.1.0/24");
	m.not_out_interface = "docker0";
	fw.masquerade.push_back(m);
	m.source = *config::parse_cidr("2001:db8:1::/48");
	m.not_out_interface.clear();
	m.out_interface = "eth0";
	fw.masquerade.push_back(m);
	auto rs = plan_host_firewall(fw, 500, 4500);
	const Chain *nat = rs.find_chain("postrouting");
	ASSERT_TRUE(nat);
	EXPECT_EQ(nat->type, ChainType::nat);
	EXPECT_EQ(nat->priority, priority_srcnat);
	EXPECT_EQ(rules_of(rs, "postrouting"),
		(std::vector<std::string>{
			"ip saddr 172.16.1.0/24 oifname != \"docker0\" rt ipsec missing masquerade",
			"ip6 saddr 2001:db8:1::/48 oifname \"eth0\" rt ipsec missing masquerade"}));
}

TEST(NftPlan, HostHasTheEmptyPeerSetsAndGatewayHasNone)
{
	auto rs = plan_host_firewall(host({}, 0), 500, 4500);
	std::vector<std::string> names;
	for (const auto &s : rs.sets) {
		names.push_back(s.name);
		EXPECT_TRUE(s.elements.empty());
		EXPECT_FALSE(s.interval);
	}
	// The subnet and pair sets are per prefix length: made with elements.
	EXPECT_EQ(names, (std::vector<std::string>{"peers_v4", "peers_v6"}));
	EXPECT_EQ(rs.find_set("peers_v6")->key, (std::vector<KeyType>{KeyType::ipv6_addr}));
	config::GatewayFirewall gw;
	gw.ipsec_only.push_back(*config::parse_service("udp/8472"));
	auto g = plan_gateway_firewall(gw, 500, 4500, STEER_F_ESP);
	EXPECT_TRUE(g.sets.empty());
	EXPECT_EQ(g.table, "ipsec_steer");
	EXPECT_EQ(g.comment, "ipsec-steer");
	EXPECT_EQ(rules_of(g, "input"), (std::vector<std::string>{"meta l4proto esp accept",
					 "udp dport 8472 meta ipsec exists counter accept", "udp dport 8472 counter drop"}));
}

TEST(NftElements, PeersAndSubnetsGoToTheSetOfTheirFamilyAndLength)
{
	auto rs = plan_host_firewall(host({}, 0), 500, 4500);
	ASSERT_TRUE(add_peer(rs, *config::parse_ip("192.0.2.1")).ok());
	ASSERT_TRUE(add_peer(rs, *config::parse_ip("2001:db8::1")).ok());
	ASSERT_TRUE(add_subnet(rs, *config::parse_cidr("10.1.0.0/16")).ok());
	ASSERT_TRUE(add_subnet(rs, *config::parse_cidr("10.2.0.0/16")).ok());
	ASSERT_TRUE(add_subnet(rs, *config::parse_cidr("10.3.1.0/24")).ok());
	ASSERT_TRUE(add_peer_subnet(rs, *config::parse_ip("2001:db8::1"), *config::parse_cidr("fd00::/64")).ok());
	EXPECT_EQ(to_text(rs.find_set("peers_v4")->elements.at(0)), "192.0.2.1");
	EXPECT_EQ(to_text(rs.find_set("peers_v6")->elements.at(0)), "2001:db8::1");
	EXPECT_EQ(rs.find_set("subnets_v4_16")->elements.size(), 2u);
	EXPECT_EQ(to_text(rs.find_set("subnets_v4_24")->elements.at(0)), "10.3.1.0/24");
	EXPECT_EQ(rs.find_set("subnets_v4_24")->prefix, (std::vector<int>{24}));
	EXPECT_EQ(to_text(rs.find_set("peer_subnets_v6_64")->elements.at(0)), "2001:db8::1 . fd00::/64");
	EXPECT_EQ(rs.find_set("peer_subnets_v6_64")->prefix, (std::vector<int>{-1, 64}));
	EXPECT_EQ(rs.find_set("peer_subnets_v6_64")->field_prefix(0), 128);
	EXPECT_FALSE(rs.find_set("subnets_v6_64"));
	EXPECT_EQ(rs.sets.size(), 5u);
	EXPECT_EQ(element_set("peer_subnets_v4", {{host_prefix(*config::parse_ip("192.0.2.1")),
						*config::parse_cidr("10.5.0.0/20")}}),
		"peer_subnets_v4_20");
	EXPECT_EQ(element_set("peers_v4", {{host_prefix(*config::parse_ip("192.0.2.1"))}}), "peers_v4");
	EXPECT_TRUE(is_prefix_group("subnets_v6"));
	EXPECT_FALSE(is_prefix_group("peers_v6"));
	EXPECT_FALSE(is_prefix_group("subnets_v6_64"));
	EXPECT_EQ(host_prefix(*config::parse_ip("192.0.2.1")).prefix, 32);
	EXPECT_EQ(host_prefix(*config::parse_ip("::1")).text, "::1/128");
	// nft lists a hash set's keys: network addresses, no lengths.
	EXPECT_NE(to_text(rs).find("\tset subnets_v4_16 {\n\t\ttype ipv4_addr\n"
				   "\t\telements = { 10.1.0.0, 10.2.0.0 }\n\t}\n"),
		std::string::npos)
		<< to_text(rs);
}

TEST(NftElements, MismatchedElementsAreRefused)
{
	auto rs = plan_host_firewall(host({}, 0), 500, 4500);
	Status st = add_peer_subnet(rs, *config::parse_ip("192.0.2.1"), *config::parse_cidr("fd00::/64"));
	ASSERT_FALSE(st.ok());
	EXPECT_NE(st.error().what.find("differ in address family"), std::string::npos) << st.error().what;
	Set pairs = prefix_set("peer_subnets_v4", 24);
	EXPECT_EQ(pairs.name, "peer_subnets_v4_24");
	st = add_element(pairs, {*config::parse_cidr("10.0.0.0/8")});
	ASSERT_FALSE(st.ok());
	EXPECT_EQ(st.error().on, "set peer_subnets_v4_24");
	st = add_element(pairs, {*config::parse_cidr("10.0.0.1/32"), *config::parse_cidr("fd00::/8")});
	ASSERT_FALSE(st.ok());
	EXPECT_NE(st.error().what.find("field 2 is not an ipv4_addr"), std::string::npos) << st.error().what;
	// A hash set of /24 networks holds nothing else; a peer is exact.
	st = add_element(pairs, {*config::parse_cidr("10.0.0.1/32"), *config::parse_cidr("10.1.0.0/16")});
	ASSERT_FALSE(st.ok());
	EXPECT_NE(st.error().what.find("field 2 is not a /24"), std::string::npos) << st.error().what;
	st = add_element(pairs, {*config::parse_cidr("10.0.0.0/31"), *config::parse_cidr("10.1.0.0/24")});
	EXPECT_NE(st.error().what.find("field 1 is not a /32"), std::string::npos) << st.error().what;
	EXPECT_TRUE(add_element(pairs, {*config::parse_cidr("10.0.0.1/32"), *config::parse_cidr("10.1.0.0/24")}).ok());
	Ruleset gw = plan_gateway_firewall({}, 500, 4500);
	EXPECT_FALSE(add_peer(gw, *config::parse_ip("192.0.2.1")).ok());  // no mesh sets there
	EXPECT_FALSE(add_subnet(gw, *config::parse_cidr("10.1.0.0/24")).ok());
}

TEST(NftValidate, RefusesWhatTheBuilderCannotEncode)
{
	using namespace expr;
	auto base = [] { return plan_host_firewall(host({"udp/8472"}, 0), 500, 4500); };
	struct Bad {
		const char *why;
		std::function<void(Ruleset &)> change;
		const char *expect;
	};
	std::vector<Bad> bad = {
		{"unknown chain", [](Ruleset &rs) { rs.rules.push_back({"nope", {Verdict{}}}); }, "chain that does not exist"},
		{"empty rule", [](Ruleset &rs) { rs.rules.push_back({"input", {}}); }, "empty rule"},
		{"unknown set", [](Ruleset &rs) {
			 rs.rules.push_back({"input", {InSet{{{KeyType::ipv4_addr, Addr::saddr}}, "nope"}, Verdict{}}});
		 }, "no set named nope"},
		{"lookup type", [](Ruleset &rs) {
			 rs.rules.push_back({"input", {InSet{{{KeyType::ipv6_addr, Addr::saddr}}, "peers_v4"}, Verdict{}}});
		 }, "must match the set's key"},
		{"lookup arity", [](Ruleset &rs) {
			 rs.sets.push_back(prefix_set("peer_subnets_v4", 24));
			 rs.rules.push_back({"input", {InSet{{{KeyType::ipv4_addr, Addr::saddr}}, "peer_subnets_v4_24"}}});
		 }, "lookup has 1 fields"},
		{"lookup unmasked", [](Ruleset &rs) {
			 rs.sets.push_back(prefix_set("subnets_v4", 24));
			 rs.rules.push_back({"input", {InSet{{{KeyType::ipv4_addr, Addr::daddr}}, "subnets_v4_24"}}});
		 }, "must be masked as set subnets_v4_24 is (/24)"},
		{"lookup mask", [](Ruleset &rs) {
			 rs.sets.push_back(prefix_set("peer_subnets_v4", 24));
			 rs.rules.push_back({"input", {InSet{{{KeyType::ipv4_addr, Addr::saddr},
				 {KeyType::ipv4_addr, Addr::daddr, 16}}, "peer_subnets_v4_24"}}});
		 }, "lookup field 2 must be masked"},
		{"masked exact", [](Ruleset &rs) {
			 rs.rules.push_back({"input", {InSet{{{KeyType::ipv4_addr, Addr::saddr, 24}}, "peers_v4"}}});
		 }, "lookup field 1 must be masked as set peers_v4 is (/32)"},
		{"long ifname", [](Ruleset &rs) {
			 rs.rules.push_back({"input", {Oifname{"sixteen-chars-xx"}, Verdict{}}});
		 }, "interface name"},
		{"duplicate chain", [](Ruleset &rs) { rs.chains.push_back(rs.chains[0]); }, "chain names must be unique"},
		{"duplicate set", [](Ruleset &rs) { rs.sets.push_back(rs.sets[0]); }, "set names must be unique"},
		{"bad element", [](Ruleset &rs) { rs.sets[0].elements.push_back({{*config::parse_cidr("fd00::/8")}}); },
		 "is not an ipv4_addr"},
		{"icmp port", [](Ruleset &rs) { rs.rules.push_back({"input", {Port{IPPROTO_ICMP, 1}}}); }, "udp or tcp"},
		{"nat forward", [](Ruleset &rs) { rs.chains.push_back({"f", ChainType::nat, Hook::forward, 0}); },
		 "no forward hook"},
	};
	for (const auto &b : bad) {
		Ruleset rs = base();
		ASSERT_TRUE(validate(rs).ok());
		b.change(rs);
		Status st = validate(rs);
		ASSERT_FALSE(st.ok()) << b.why;
		EXPECT_NE(st.error().message().find(b.expect), std::string::npos) << b.why << ": " << st.error().message();
	}
}

TEST(NftText, EveryExpressionPrintsAsNftListsIt)
{
	using namespace expr;
	auto c = [](const char *t) { return *config::parse_cidr(t); };
	std::vector<std::pair<Expr, std::string>> cases = {
		{L4proto{IPPROTO_ESP}, "meta l4proto esp"},
		{L4proto{IPPROTO_AH}, "meta l4proto ah"},
		{L4proto{47}, "meta l4proto 47"},
		{Port{IPPROTO_UDP, 8472}, "udp dport 8472"},
		{Port{IPPROTO_TCP, 22, false}, "tcp sport 22"},
		{Ipsec{false, true}, "meta ipsec exists"},
		{Ipsec{false, false}, "meta ipsec missing"},
		{Ipsec{true, true}, "rt ipsec exists"},
		{Ipsec{true, false}, "rt ipsec missing"},
		{Address{Addr::saddr, c("10.0.0.1/32")}, "ip saddr 10.0.0.1"},
		{Address{Addr::daddr, c("10.0.0.0/8")}, "ip daddr 10.0.0.0/8"},
		{Address{Addr::saddr, c("2001:db8::/32")}, "ip6 saddr 2001:db8::/32"},
		{InSet{{{KeyType::ipv4_addr, Addr::saddr}, {KeyType::ipv4_addr, Addr::daddr}}, "p"},
		 "ip saddr . ip daddr @p"},
		{InSet{{{KeyType::ipv6_addr, Addr::daddr}}, "q"}, "ip6 daddr @q"},
		{InSet{{{KeyType::ipv4_addr, Addr::saddr}, {KeyType::ipv4_addr, Addr::daddr, 24}}, "p"},
		 "ip saddr . ip daddr & 255.255.255.0 @p"},
		{InSet{{{KeyType::ipv6_addr, Addr::saddr}, {KeyType::ipv6_addr, Addr::daddr, 64}}, "p"},
		 "ip6 saddr . ip6 daddr & ffff:ffff:ffff:ffff:: @p"},
		// nft 1.0.6 lists a lookup of one masked field with `==`.
		{InSet{{{KeyType::ipv4_addr, Addr::daddr, 20}}, "s"}, "ip daddr & 255.255.240.0 == @s"},
		{Oifname{"docker0", true}, "oifname != \"docker0\""},
		{Oifname{"eth0"}, "oifname \"eth0\""},
		{Counter{}, "counter"},
		{Verdict{Verdict::accept}, "accept"},
		{Verdict{Verdict::drop}, "drop"},
		{Masquerade{}, "masquerade"},
	};
	for (const auto &[e, text] : cases)
		EXPECT_EQ(to_text(e), text);
	EXPECT_EQ(std::variant_size_v<Expr>, 9u) << "a new expression kind needs a case here";
}

} // namespace
} // namespace steer::nft
