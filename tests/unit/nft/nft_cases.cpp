#include "nft_cases.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <fstream>
#include <map>
#include <sstream>

namespace steer::nft::test {

namespace {

// The seed's flannel host (shared/seeds/flannel-vxlan-ipsec.md): VXLAN only
// through IPsec, IKE/ESP/AH allowed, docker's MASQUERADE with the exemption.
const char *flannel_seed = R"([firewall]
ipsec_only = ["udp/8472"]
allow = ["ike", "esp", "ah"]
masquerade = [ { source = "172.16.1.0/24", not_out_interface = "docker0" } ]
)";

// Every [firewall] option: default allow (all four), two services (udp and
// tcp), masquerade with not_out_interface, out_interface, both, and IPv6.
const char *host_full = R"([firewall]
ipsec_only = ["udp/8472", "tcp/179"]
masquerade = [
	{ source = "172.16.1.0/24", not_out_interface = "docker0" },
	{ source = "172.17.0.0/16", out_interface = "eth0" },
	{ source = "10.244.0.0/14", out_interface = "eth1", not_out_interface = "cni0" },
	{ source = "fd00:1::/60", not_out_interface = "docker0" },
]
)";

// Only ESP allowed, nothing held back, no NAT: no output or nat chain.
const char *host_minimal = R"([firewall]
allow = ["esp"]
)";

// A gateway with custom IKE ports and two ipsec_only services.
const char *gateway = R"([[gateway]]
name = "vpn-b"
public_interface = "eth0"
public_address = "198.51.100.1"
ike_ports = [1500, 14500]

[gateway.firewall]
ipsec_only = ["udp/8472", "tcp/179"]
)";

const std::map<std::string, const char *> configs = {
	{"host_flannel_seed", flannel_seed},
	{"host_full", host_full},
	{"host_minimal", host_minimal},
	{"gateway", gateway},
};

std::optional<config::Config> parse(const std::string &name)
{
	auto c = config::parse(std::string_view(configs.at(name)), std::string_view(name + ".toml"));
	if (!c) {
		ADD_FAILURE() << c.error().what;
		return std::nullopt;
	}
	return std::move(*c);
}

config::Cidr cidr(const char *text)
{
	auto c = config::parse_cidr(text);
	if (!c)
		ADD_FAILURE() << c.error().what;
	return c ? *c : config::Cidr{};
}

config::IpAddress ip(const char *text)
{
	auto a = config::parse_ip(text);
	if (!a)
		ADD_FAILURE() << text;
	return a.value_or(config::IpAddress{});
}

void expect_ok(const Status &st)
{
	EXPECT_TRUE(st.ok()) << st.error().message();
}

// Elements in every set (peers, subnets of several lengths, pairs; the
// sets of each length made as elements arrive), a lookup of each kind
// (exact, one masked field, masked concatenations) and a rule for every
// other expression the model has.
Ruleset kitchen_sink()
{
	config::HostFirewall fw;
	fw.ipsec_only.push_back(*config::parse_service("udp/8472"));
	Ruleset rs = plan_host_firewall(fw, 500, 4500);
	expect_ok(add_peer(rs, ip("192.0.2.7")));
	expect_ok(add_peer(rs, ip("192.0.2.9")));
	expect_ok(add_peer(rs, ip("2001:db8::7")));
	expect_ok(add_subnet(rs, cidr("10.0.0.0/25")));
	expect_ok(add_subnet(rs, cidr("10.0.0.128/25")));
	expect_ok(add_subnet(rs, cidr("172.16.0.0/20")));
	expect_ok(add_subnet(rs, cidr("255.255.255.0/24")));
	expect_ok(add_subnet(rs, cidr("fd00:2::/64")));
	expect_ok(add_peer_subnet(rs, ip("192.0.2.7"), cidr("172.16.2.0/24")));
	expect_ok(add_peer_subnet(rs, ip("192.0.2.9"), cidr("172.16.3.0/24")));
	expect_ok(add_peer_subnet(rs, ip("2001:db8::7"), cidr("fd00:2::/64")));
	using namespace expr;
	auto v4 = KeyType::ipv4_addr;
	auto v6 = KeyType::ipv6_addr;
	rs.rules.push_back({"input", {InSet{{{v4, Addr::saddr}}, set_names::peers_v4}, Counter{}, Verdict{}}});
	rs.rules.push_back({"input", {InSet{{{v6, Addr::saddr}}, set_names::peers_v6}, Verdict{}}});
	rs.rules.push_back({"forward",
		{InSet{{{v4, Addr::saddr}, {v4, Addr::daddr, 24}}, "peer_subnets_v4_24"}, Verdict{}}});
	rs.rules.push_back({"forward",
		{InSet{{{v6, Addr::daddr}, {v6, Addr::saddr, 64}}, "peer_subnets_v6_64"}, Verdict{}}});
	for (int len : {25, 20, 24})
		rs.rules.push_back({"forward", {InSet{{{v4, Addr::daddr, len}}, "subnets_v4_" + std::to_string(len)},
			Ipsec{false, false}, Counter{}, Verdict{Verdict::drop}}});
	rs.rules.push_back({"output", {Port{IPPROTO_UDP, 4500, false}, Address{Addr::daddr, cidr("0.0.0.0/0")},
		Oifname{"eth0"}, Verdict{}}});
	rs.rules.push_back({"output", {Address{Addr::saddr, cidr("10.0.0.1/32")},
		Address{Addr::daddr, cidr("10.9.0.0/16")}, L4proto{IPPROTO_UDP}, Verdict{}}});
	rs.rules.push_back({"output", {Address{Addr::daddr, cidr("fd00:1::/127")}, Verdict{}}});
	rs.rules.push_back({"output", {Address{Addr::saddr, cidr("2001:db8::1/128")},
		Address{Addr::daddr, cidr("fd00::/8")}, Ipsec{true, true}, Verdict{Verdict::drop}}});
	rs.chains.push_back(Chain{"postrouting", ChainType::nat, Hook::postrouting, priority_srcnat});
	rs.rules.push_back({"postrouting", {Address{Addr::saddr, cidr("fd00:1::/48")}, Oifname{"docker0", true},
		Ipsec{true, false}, Masquerade{}}});
	return rs;
}

} // namespace

std::vector<Case> golden_cases()
{
	std::vector<Case> out;
	if (auto c = parse("host_flannel_seed"))
		out.push_back({"host_flannel_seed", "the seed's flannel host", plan_host_firewall(*c->firewall, 500, 4500)});
	if (auto c = parse("host_full"))
		out.push_back({"host_full", "every [firewall] option, ports 1500/14500",
			plan_host_firewall(*c->firewall, 1500, 14500)});
	if (auto c = parse("host_minimal"))
		out.push_back({"host_minimal", "allow = [\"esp\"] only", plan_host_firewall(*c->firewall, 500, 4500)});
	if (auto c = parse("gateway")) {
		const auto &g = c->gateways.at(0);
		out.push_back({"gateway", "[gateway.firewall] with ike_ports = [1500, 14500]",
			plan_gateway_firewall(*g.firewall, g.ike_port, g.natt_port)});
	}
	out.push_back({"kitchen_sink", "every expression and lookup kind, sets with elements", kitchen_sink()});
	return out;
}

std::string case_config(const std::string &name)
{
	auto it = configs.find(name);
	return it == configs.end() ? "" : it->second;
}

std::string read_file(const std::string &path)
{
	std::ifstream in(path);
	std::stringstream s;
	s << in.rdbuf();
	return s.str();
}

} // namespace steer::nft::test
