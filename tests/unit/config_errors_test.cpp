// Bad inputs of the config parser (DESIGN.md §3), table-driven: each gives
// one exact "FILE:LINE:COL: message" at the offending key or value. Good
// inputs are in config_test.cpp.
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "loader/config.hpp"

namespace {

using namespace steer::config;

// A minimal gateway, four lines: the keys a case adds start at line 5.
#define GW \
	"[[gateway]]\n" \
	"name = \"vpn-a\"\n" \
	"public_interface = \"eth0\"\n" \
	"public_address = \"198.51.100.1\"\n"

struct BadCase {
	const char *name;
	const char *toml;
	const char *message;  // the exact error().what for file "c.toml"
};

const BadCase bad_cases[] = {
	{"syntax_eof",
		"a = \n",
		"c.toml:1:5: Error while parsing key-value pair: expected value, saw '\\n'"},
	{"syntax_bad_escape",
		"x = \"\\q\"\n",
		"c.toml:1:7: Error while parsing string: unknown escape sequence '\\q'"},
	{"syntax_redefined_key",
		"a = 1\n"
		"a = 2\n",
		"c.toml:2:5: Error while parsing key-value pair: cannot redefine existing integer 'a'"},
	{"top_unknown_key",
		"bpffs = \"/x\"\n"
		"bogus = 1\n",
		"c.toml:2:1: unknown key \"bogus\" in the top level; allowed keys: bpffs, gateway, firewall, mesh"},
	{"top_unknown_key_first_in_document",
		"zzz = 1\n"
		"aaa = 2\n",
		"c.toml:1:1: unknown key \"zzz\" in the top level; allowed keys: bpffs, gateway, firewall, mesh"},
	{"bpffs_relative",
		"bpffs = \"relative\"\n",
		"c.toml:1:9: bpffs \"relative\" must be an absolute path without \"..\", like \"/sys/fs/bpf/ipsec-steer\""},
	{"bpffs_dotdot",
		"bpffs = \"/sys/fs/bpf/../x\"\n",
		"c.toml:1:9: bpffs \"/sys/fs/bpf/../x\" must be an absolute path without \"..\", like \"/sys/fs/bpf/ipsec-steer\""},
	{"bpffs_not_string",
		"bpffs = 5\n",
		"c.toml:1:9: bpffs must be a string, not an integer"},
	{"gateway_is_table",
		"[gateway]\n"
		"name = \"a\"\n",
		"c.toml:1:1: gateway must be an array of tables ([[gateway]]), not a table"},
	{"gateway_array_of_strings",
		"gateway = [\"a\"]\n",
		"c.toml:1:12: gateway must be an array of tables ([[gateway]]), not an array of strings"},
	{"firewall_is_array",
		"[[firewall]]\n"
		"allow = []\n",
		"c.toml:1:1: firewall must be a table ([firewall]), not an array"},
	{"mesh_not_table",
		"mesh = 1\n",
		"c.toml:1:8: mesh must be a table ([mesh]), not an integer"},
	{"gw_missing_name",
		"[[gateway]]\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"198.51.100.1\"\n",
		"c.toml:1:1: [[gateway]] is missing required key \"name\" (1..11 characters of a-z, 0-9 and '-')"},
	{"gw_missing_interface",
		"[[gateway]]\n"
		"name = \"vpn-a\"\n"
		"public_address = \"198.51.100.1\"\n",
		"c.toml:1:1: [[gateway]] is missing required key \"public_interface\" (the interface where ESP and IKE arrive)"},
	{"gw_missing_address",
		"[[gateway]]\n"
		"name = \"vpn-a\"\n"
		"public_interface = \"eth0\"\n",
		"c.toml:1:1: [[gateway]] is missing required key \"public_address\" (an IPv4 or IPv6 address of public_interface)"},
	{"gw_name_not_string",
		"[[gateway]]\n"
		"name = 5\n",
		"c.toml:2:8: gateway.name must be a string, not an integer"},
	{"gw_name_uppercase",
		"[[gateway]]\n"
		"name = \"Vpn\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"198.51.100.1\"\n",
		"c.toml:2:8: gateway.name \"Vpn\" contains 'V'; use only a-z, 0-9 and '-'"},
	{"gw_name_underscore",
		"[[gateway]]\n"
		"name = \"vpn_a\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"198.51.100.1\"\n",
		"c.toml:2:8: gateway.name \"vpn_a\" contains '_'; use only a-z, 0-9 and '-'"},
	{"gw_name_too_long",
		"[[gateway]]\n"
		"name = \"abcdefghijkl\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"198.51.100.1\"\n",
		"c.toml:2:8: gateway.name \"abcdefghijkl\" has 12 characters; use at most 11 (the veth ist-<name> must fit in 15 characters)"},
	{"gw_name_leading_dash",
		"[[gateway]]\n"
		"name = \"-ab\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"198.51.100.1\"\n",
		"c.toml:2:8: gateway.name \"-ab\" starts or ends with '-'; begin and end it with a-z or 0-9"},
	{"gw_name_trailing_dash",
		"[[gateway]]\n"
		"name = \"ab-\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"198.51.100.1\"\n",
		"c.toml:2:8: gateway.name \"ab-\" starts or ends with '-'; begin and end it with a-z or 0-9"},
	{"gw_name_empty",
		"[[gateway]]\n"
		"name = \"\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"198.51.100.1\"\n",
		"c.toml:2:8: gateway.name is empty; use 1..11 characters of a-z, 0-9 and '-'"},
	{"gw_unknown_key",
		GW
		"colour = \"red\"\n",
		"c.toml:5:1: unknown key \"colour\" in [[gateway]]; allowed keys: name, public_interface, public_address, router_netns, link, steer, ike_ports, egress, redirect, routes, firewall"},
	{"gw_unknown_subtable",
		GW
		"[gateway.firewal]\n"
		"ipsec_only = []\n",
		"c.toml:5:10: unknown key \"firewal\" in [[gateway]]; allowed keys: name, public_interface, public_address, router_netns, link, steer, ike_ports, egress, redirect, routes, firewall"},
	{"gw_interface_colon",
		"[[gateway]]\n"
		"name = \"vpn-a\"\n"
		"public_interface = \"eth0:1\"\n"
		"public_address = \"198.51.100.1\"\n",
		"c.toml:3:20: gateway.public_interface \"eth0:1\" is not a valid interface name: it contains ':'; use 1..15 characters without '/', ':' or whitespace"},
	{"gw_interface_too_long",
		"[[gateway]]\n"
		"name = \"vpn-a\"\n"
		"public_interface = \"averyveryverylongname\"\n"
		"public_address = \"198.51.100.1\"\n",
		"c.toml:3:20: gateway.public_interface \"averyveryverylongname\" is not a valid interface name: it is longer than 15 characters; use 1..15 characters without '/', ':' or whitespace"},
	{"gw_interface_slash",
		"[[gateway]]\n"
		"name = \"vpn-a\"\n"
		"public_interface = \"eth/0\"\n"
		"public_address = \"198.51.100.1\"\n",
		"c.toml:3:20: gateway.public_interface \"eth/0\" is not a valid interface name: it contains '/'; use 1..15 characters without '/', ':' or whitespace"},
	{"gw_interface_empty",
		"[[gateway]]\n"
		"name = \"vpn-a\"\n"
		"public_interface = \"\"\n"
		"public_address = \"198.51.100.1\"\n",
		"c.toml:3:20: gateway.public_interface \"\" is not a valid interface name: it is empty; use 1..15 characters without '/', ':' or whitespace"},
	{"gw_address_bad",
		"[[gateway]]\n"
		"name = \"vpn-a\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"198.51.100.300\"\n",
		"c.toml:4:18: gateway.public_address \"198.51.100.300\" is not an IP address; use an IPv4 address like 198.51.100.1 or an IPv6 address like 2001:db8::1"},
	{"gw_address_multicast",
		"[[gateway]]\n"
		"name = \"vpn-a\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"224.0.0.1\"\n",
		"c.toml:4:18: gateway.public_address \"224.0.0.1\" is not a unicast address; use the host's own address"},
	{"gw_address_unspecified_v6",
		"[[gateway]]\n"
		"name = \"vpn-a\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"::\"\n",
		"c.toml:4:18: gateway.public_address \"::\" is not a unicast address; use the host's own address"},
	{"gw_netns_slash",
		GW
		"router_netns = \"a/b\"\n",
		"c.toml:5:16: gateway.router_netns \"a/b\" is not a valid namespace name: it contains '/'; use \"\" for the root namespace or a name in /run/netns"},
	{"gw_netns_dotdot",
		GW
		"router_netns = \"..\"\n",
		"c.toml:5:16: gateway.router_netns \"..\" is not a valid namespace name: \".\" and \"..\" are reserved; use \"\" for the root namespace or a name in /run/netns"},
	{"gw_netns_host_reserved",
		GW
		"router_netns = \"host\"\n",
		"c.toml:5:16: gateway.router_netns \"host\" is not a valid namespace name: \"host\" is reserved for the root namespace's pin directory; use \"\" for the root namespace or a name in /run/netns"},
	{"gw_netns_is_a_gateway",
		GW
		"router_netns = \"vpn-b\"\n"
		"\n"
		"[[gateway]]\n"
		"name = \"vpn-b\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"198.51.100.2\"\n",
		"c.toml:5:16: gateway.router_netns \"vpn-b\" is the namespace of gateway \"vpn-b\" (line 7); use the router's namespace, not a gateway's"},
	{"gw_link_host_bits",
		GW
		"link = \"169.254.1.1/30\"\n",
		"c.toml:5:8: gateway.link \"169.254.1.1/30\" has host bits set; use 169.254.1.0/30"},
	{"gw_link_not_30",
		GW
		"link = \"169.254.1.0/29\"\n",
		"c.toml:5:8: gateway.link \"169.254.1.0/29\" must be an IPv4 /30 like 169.254.1.0/30"},
	{"gw_link_wrong_family",
		GW
		"link = \"fd00::/127\"\n",
		"c.toml:5:8: gateway.link \"fd00::/127\" is not of the family of public_address 198.51.100.1; use an IPv4 /30 like 169.254.1.0/30"},
	{"gw_link_v6_not_127",
		"[[gateway]]\n"
		"name = \"vpn-a\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"2001:db8::1\"\n"
		"link = \"fd00::/64\"\n",
		"c.toml:5:8: gateway.link \"fd00::/64\" must be an IPv6 /127 like fd00::/127"},
	{"gw_link_no_prefix",
		GW
		"link = \"169.254.1.0\"\n",
		"c.toml:5:8: gateway.link \"169.254.1.0\" is not a CIDR: the /PREFIX is missing; write it like 10.1.0.0/24 or 2001:db8::/64"},
	{"gw_link_prefix_range",
		GW
		"link = \"169.254.1.0/33\"\n",
		"c.toml:5:8: gateway.link \"169.254.1.0/33\" has an invalid prefix length \"33\"; use 0..32 for IPv4"},
	{"gw_link_bad_address",
		GW
		"link = \"169.254.1/30\"\n",
		"c.toml:5:8: gateway.link \"169.254.1/30\" is not a CIDR: \"169.254.1\" is not an IP address; write it like 10.1.0.0/24 or 2001:db8::/64"},
	{"gw_steer_unknown",
		GW
		"steer = [\"esp\", \"gre\"]\n",
		"c.toml:5:17: gateway.steer[1] \"gre\" is not a steer class; allowed: esp, ah, ike, nat-t, icmp, fragments"},
	{"gw_steer_duplicate",
		GW
		"steer = [\"esp\", \"ike\", \"esp\"]\n",
		"c.toml:5:24: gateway.steer[2] \"esp\" is listed twice; list each once"},
	{"gw_steer_empty",
		GW
		"steer = []\n",
		"c.toml:5:9: gateway.steer is empty; list at least one of esp, ah, ike, nat-t, icmp, fragments, or omit steer for the default"},
	{"gw_steer_not_array",
		GW
		"steer = \"esp\"\n",
		"c.toml:5:9: gateway.steer must be an array of strings, not a string"},
	{"gw_steer_item_not_string",
		GW
		"steer = [\"esp\", 50]\n",
		"c.toml:5:17: gateway.steer[1] must be a string, not an integer"},
	{"gw_ports_one",
		GW
		"ike_ports = [500]\n",
		"c.toml:5:13: gateway.ike_ports has 1 entry; list exactly two ports [IKE, NAT-T], like [500, 4500]"},
	{"gw_ports_three",
		GW
		"ike_ports = [500, 4500, 4501]\n",
		"c.toml:5:13: gateway.ike_ports has 3 entries; list exactly two ports [IKE, NAT-T], like [500, 4500]"},
	{"gw_ports_same",
		GW
		"ike_ports = [500, 500]\n",
		"c.toml:5:13: gateway.ike_ports uses 500 for both IKE and NAT-T; use two different ports, like [500, 4500]"},
	{"gw_ports_range",
		GW
		"ike_ports = [500, 70000]\n",
		"c.toml:5:19: gateway.ike_ports[1] 70000 is not a port; use 1..65535"},
	{"gw_ports_zero",
		GW
		"ike_ports = [0, 4500]\n",
		"c.toml:5:14: gateway.ike_ports[0] 0 is not a port; use 1..65535"},
	{"gw_ports_string",
		GW
		"ike_ports = [500, \"4500\"]\n",
		"c.toml:5:19: gateway.ike_ports[1] must be an integer, not a string"},
	{"gw_ports_not_array",
		GW
		"ike_ports = 500\n",
		"c.toml:5:13: gateway.ike_ports must be an array of two integers, not an integer"},
	{"gw_egress_bad",
		GW
		"egress = \"xdp\"\n",
		"c.toml:5:10: gateway.egress \"xdp\" is not valid; use \"bpf\" (steer_return) or \"route\" (accept_local + loose rp_filter)"},
	{"gw_redirect_bad",
		GW
		"redirect = \"neigh\"\n",
		"c.toml:5:12: gateway.redirect \"neigh\" is not valid; use \"peer\" (bpf_redirect_peer) or \"plain\" (bpf_redirect)"},
	{"gw_redirect_not_string",
		GW
		"redirect = true\n",
		"c.toml:5:12: gateway.redirect must be a string, not a boolean"},
	{"gw_route_host_bits",
		GW
		"routes = [ { local = \"10.1.0.0/24\", remote = \"10.2.0.1/24\" } ]\n",
		"c.toml:5:46: gateway.routes[0].remote \"10.2.0.1/24\" has host bits set; use 10.2.0.0/24"},
	{"gw_route_missing_remote",
		GW
		"routes = [ { local = \"10.1.0.0/24\" } ]\n",
		"c.toml:5:12: gateway.routes[0] is missing required key \"remote\" (the remote subnet, a CIDR)"},
	{"gw_route_mixed_family",
		GW
		"routes = [ { local = \"10.1.0.0/24\", remote = \"fd00::/64\" } ]\n",
		"c.toml:5:12: gateway.routes[0] mixes 10.1.0.0/24 and fd00::/64; local and remote must be the same address family"},
	{"gw_route_not_public_family",
		GW
		"routes = [ { local = \"fd00:1::/64\", remote = \"fd00:2::/64\" } ]\n",
		"c.toml:5:12: gateway.routes[0] fd00:1::/64 is not of the family of public_address 198.51.100.1; the gateway link and its routes follow public_address"},
	{"gw_route_unknown_key",
		GW
		"routes = [ { local = \"10.1.0.0/24\", remote = \"10.2.0.0/24\", via = \"x\" } ]\n",
		"c.toml:5:61: unknown key \"via\" in gateway.routes[0]; allowed keys: local, remote"},
	{"gw_route_not_table",
		GW
		"routes = [ \"10.1.0.0/24\" ]\n",
		"c.toml:5:12: gateway.routes[0] must be a table like { local = \"10.1.0.0/24\", remote = \"10.2.0.0/24\" }, not a string"},
	{"gw_routes_not_array",
		GW
		"routes = \"10.1.0.0/24\"\n",
		"c.toml:5:10: gateway.routes must be an array of tables, not a string"},
	{"gw_routes_overlap_same_gateway",
		GW
		"routes = [\n"
		"  { local = \"10.1.0.0/16\", remote = \"10.2.0.0/24\" },\n"
		"  { local = \"10.1.5.0/24\", remote = \"10.2.0.0/16\" },\n"
		"]\n",
		"c.toml:7:3: gateway \"vpn-a\" routes[1] (10.1.5.0/24 -> 10.2.0.0/16) overlaps gateway \"vpn-a\" routes[0] (10.1.0.0/16 -> 10.2.0.0/24) at line 6 in the root namespace; make the local or the remote subnets disjoint"},
	{"gw_routes_duplicate_same_gateway",
		GW
		"routes = [\n"
		"  { local = \"10.1.0.0/24\", remote = \"10.2.0.0/24\" },\n"
		"  { local = \"10.1.0.0/24\", remote = \"10.2.0.0/24\" },\n"
		"]\n",
		"c.toml:7:3: gateway \"vpn-a\" routes[1] (10.1.0.0/24 -> 10.2.0.0/24) overlaps gateway \"vpn-a\" routes[0] (10.1.0.0/24 -> 10.2.0.0/24) at line 6 in the root namespace; make the local or the remote subnets disjoint"},
	{"gw_routes_overlap_across_gateways",
		GW
		"routes = [ { local = \"10.1.0.0/16\", remote = \"10.2.0.0/16\" } ]\n"
		"\n"
		"[[gateway]]\n"
		"name = \"vpn-b\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"198.51.100.2\"\n"
		"routes = [ { local = \"10.1.0.0/24\", remote = \"10.2.3.0/24\" } ]\n",
		"c.toml:11:12: gateway \"vpn-b\" routes[0] (10.1.0.0/24 -> 10.2.3.0/24) overlaps gateway \"vpn-a\" routes[0] (10.1.0.0/16 -> 10.2.0.0/16) at line 5 in the root namespace; make the local or the remote subnets disjoint"},
	{"gw_routes_overlap_same_router_netns",
		GW
		"router_netns = \"r1\"\n"
		"routes = [ { local = \"0.0.0.0/0\", remote = \"10.2.0.0/16\" } ]\n"
		"\n"
		"[[gateway]]\n"
		"name = \"vpn-b\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"198.51.100.2\"\n"
		"router_netns = \"r1\"\n"
		"routes = [ { local = \"10.1.0.0/24\", remote = \"10.2.3.0/24\" } ]\n",
		"c.toml:13:12: gateway \"vpn-b\" routes[0] (10.1.0.0/24 -> 10.2.3.0/24) overlaps gateway \"vpn-a\" routes[0] (0.0.0.0/0 -> 10.2.0.0/16) at line 6 in router namespace \"r1\"; make the local or the remote subnets disjoint"},
	{"gw_duplicate_name",
		GW
		"\n"
		"[[gateway]]\n"
		"name = \"vpn-a\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"198.51.100.2\"\n",
		"c.toml:7:8: duplicate gateway name \"vpn-a\", first used at line 1; give each gateway a unique name"},
	{"gw_duplicate_address",
		GW
		"\n"
		"[[gateway]]\n"
		"name = \"vpn-b\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"198.51.100.1\"\n",
		"c.toml:9:18: gateway \"vpn-b\" uses public_address 198.51.100.1 on eth0 in the root namespace, as does gateway \"vpn-a\" (line 1); give each gateway its own address"},
	{"gw_duplicate_address_in_router_netns",
		GW
		"router_netns = \"r1\"\n"
		"\n"
		"[[gateway]]\n"
		"name = \"vpn-b\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"198.51.100.1\"\n"
		"router_netns = \"r1\"\n",
		"c.toml:10:18: gateway \"vpn-b\" uses public_address 198.51.100.1 on eth0 in router namespace \"r1\", as does gateway \"vpn-a\" (line 1); give each gateway its own address"},
	{"gw_duplicate_link",
		GW
		"link = \"169.254.1.0/30\"\n"
		"\n"
		"[[gateway]]\n"
		"name = \"vpn-b\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"198.51.100.2\"\n"
		"link = \"169.254.1.0/30\"\n",
		"c.toml:11:8: gateway \"vpn-b\" link 169.254.1.0/30 overlaps the link 169.254.1.0/30 of gateway \"vpn-a\" (line 1) in the root namespace; choose another subnet or omit link"},
	{"gw_firewall_bad_service",
		GW
		"\n"
		"[gateway.firewall]\n"
		"ipsec_only = [\"udp/8472\", \"sctp/1\"]\n",
		"c.toml:7:27: gateway.firewall.ipsec_only[1] \"sctp/1\" is not a service; write \"udp/PORT\" or \"tcp/PORT\" with PORT 1..65535"},
	{"gw_firewall_unknown_key",
		GW
		"\n"
		"[gateway.firewall]\n"
		"ipsec_only = [\"udp/8472\"]\n"
		"allow = [\"ike\"]\n",
		"c.toml:8:1: unknown key \"allow\" in [gateway.firewall]; allowed keys: ipsec_only"},
	{"gw_firewall_not_table",
		GW
		"firewall = \"on\"\n",
		"c.toml:5:12: gateway.firewall must be a table ([gateway.firewall]), not a string"},
	{"gw_firewall_service_no_port",
		GW
		"firewall = { ipsec_only = [\"udp/\"] }\n",
		"c.toml:5:28: gateway.firewall.ipsec_only[0] \"udp/\" is not a service; write \"udp/PORT\" or \"tcp/PORT\" with PORT 1..65535"},
	{"fw_allow_unknown",
		"[firewall]\n"
		"allow = [\"ike\", \"gre\"]\n",
		"c.toml:2:17: firewall.allow[1] \"gre\" is not a protocol to allow; allowed: ike, nat-t, esp, ah"},
	{"fw_allow_duplicate",
		"[firewall]\n"
		"allow = [\"ike\", \"ike\"]\n",
		"c.toml:2:17: firewall.allow[1] \"ike\" is listed twice; list each once"},
	{"fw_allow_icmp_is_steer_only",
		"[firewall]\n"
		"allow = [\"icmp\"]\n",
		"c.toml:2:10: firewall.allow[0] \"icmp\" is not a protocol to allow; allowed: ike, nat-t, esp, ah"},
	{"fw_service_port_zero",
		"[firewall]\n"
		"ipsec_only = [\"udp/0\"]\n",
		"c.toml:2:15: firewall.ipsec_only[0] \"udp/0\" is not a service; write \"udp/PORT\" or \"tcp/PORT\" with PORT 1..65535"},
	{"fw_service_duplicate",
		"[firewall]\n"
		"ipsec_only = [\"udp/8472\", \"udp/8472\"]\n",
		"c.toml:2:27: firewall.ipsec_only[1] \"udp/8472\" is listed twice; list each service once"},
	{"fw_service_uppercase",
		"[firewall]\n"
		"ipsec_only = [\"UDP/8472\"]\n",
		"c.toml:2:15: firewall.ipsec_only[0] \"UDP/8472\" is not a service; write \"udp/PORT\" or \"tcp/PORT\" with PORT 1..65535"},
	{"fw_unknown_key",
		"[firewall]\n"
		"ipsec_onyl = [\"udp/8472\"]\n",
		"c.toml:2:1: unknown key \"ipsec_onyl\" in [firewall]; allowed keys: ipsec_only, allow, masquerade"},
	{"fw_masq_interface_space",
		"[firewall]\n"
		"masquerade = [ { source = \"172.16.1.0/24\", not_out_interface = \"dock er0\" } ]\n",
		"c.toml:2:64: firewall.masquerade[0].not_out_interface \"dock er0\" is not a valid interface name: it contains whitespace or a control character; use 1..15 characters without '/', ':' or whitespace"},
	{"fw_masq_missing_source",
		"[firewall]\n"
		"masquerade = [ { not_out_interface = \"docker0\" } ]\n",
		"c.toml:2:16: firewall.masquerade[0] is missing required key \"source\" (the subnet to masquerade, a CIDR)"},
	{"fw_masq_host_bits",
		"[firewall]\n"
		"masquerade = [ { source = \"172.16.1.1/24\" } ]\n",
		"c.toml:2:27: firewall.masquerade[0].source \"172.16.1.1/24\" has host bits set; use 172.16.1.0/24"},
	{"fw_masq_same_in_and_not",
		"[firewall]\n"
		"masquerade = [ { source = \"172.16.1.0/24\", out_interface = \"eth0\", not_out_interface = \"eth0\" } ]\n",
		"c.toml:2:16: firewall.masquerade[0] has out_interface and not_out_interface both \"eth0\"; keep only one of them"},
	{"fw_masq_unknown_key",
		"[firewall]\n"
		"masquerade = [ { source = \"172.16.1.0/24\", to = \"1.2.3.4\" } ]\n",
		"c.toml:2:44: unknown key \"to\" in firewall.masquerade[0]; allowed keys: source, not_out_interface, out_interface"},
	{"fw_masq_not_array",
		"[firewall]\n"
		"masquerade = { source = \"172.16.1.0/24\" }\n",
		"c.toml:2:14: firewall.masquerade must be an array of tables, not a table"},
	{"mesh_missing_etcd",
		"[mesh]\n"
		"public_address = \"192.0.2.1\"\n"
		"auth = { psk_file = \"/etc/psk\" }\n",
		"c.toml:1:1: [mesh] is missing required key \"etcd\" (etcd v3 endpoints like [\"http://192.0.2.10:2379\"])"},
	{"mesh_etcd_empty",
		"[mesh]\n"
		"etcd = []\n"
		"public_address = \"192.0.2.1\"\n"
		"auth = { psk_file = \"/etc/psk\" }\n",
		"c.toml:2:8: mesh.etcd is empty; list at least one endpoint like \"http://192.0.2.10:2379\""},
	{"mesh_etcd_not_array",
		"[mesh]\n"
		"etcd = \"http://192.0.2.10:2379\"\n",
		"c.toml:2:8: mesh.etcd must be an array of strings, not a string"},
	{"mesh_etcd_no_scheme",
		"[mesh]\n"
		"etcd = [\"192.0.2.10:2379\"]\n",
		"c.toml:2:9: mesh.etcd[0] \"192.0.2.10:2379\" is not an etcd endpoint: the scheme must be http:// or https://; write http://HOST:PORT or https://HOST:PORT"},
	{"mesh_etcd_no_port",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10\"]\n",
		"c.toml:2:9: mesh.etcd[0] \"http://192.0.2.10\" is not an etcd endpoint: the port is missing; write http://HOST:PORT or https://HOST:PORT"},
	{"mesh_etcd_path",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379/v3\"]\n",
		"c.toml:2:9: mesh.etcd[0] \"http://192.0.2.10:2379/v3\" is not an etcd endpoint: it has a path; write http://HOST:PORT or https://HOST:PORT"},
	{"mesh_etcd_port_range",
		"[mesh]\n"
		"etcd = [\"http://[2001:db8::1]:2379\", \"https://etcd.example:99999\"]\n",
		"c.toml:2:38: mesh.etcd[1] \"https://etcd.example:99999\" is not an etcd endpoint: the port must be 1..65535; write http://HOST:PORT or https://HOST:PORT"},
	{"mesh_etcd_bad_host",
		"[mesh]\n"
		"etcd = [\"http://bad_host:2379\"]\n",
		"c.toml:2:9: mesh.etcd[0] \"http://bad_host:2379\" is not an etcd endpoint: the host is not a DNS name, an IPv4 address or a bracketed IPv6 address; write http://HOST:PORT or https://HOST:PORT"},
	{"mesh_etcd_unbracketed_v6",
		"[mesh]\n"
		"etcd = [\"http://2001:db8::1:2379\"]\n",
		"c.toml:2:9: mesh.etcd[0] \"http://2001:db8::1:2379\" is not an etcd endpoint: the host is not a DNS name, an IPv4 address or a bracketed IPv6 address; write http://HOST:PORT or https://HOST:PORT"},
	{"mesh_etcd_duplicate",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\", \"http://192.0.2.10:2379\"]\n",
		"c.toml:2:35: mesh.etcd[1] \"http://192.0.2.10:2379\" is listed twice; list each endpoint once"},
	{"mesh_missing_public_address",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\"]\n"
		"auth = { psk_file = \"/etc/psk\" }\n",
		"c.toml:1:1: [mesh] is missing required key \"public_address\" (this host's underlay address)"},
	{"mesh_public_address_bad",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\"]\n"
		"public_address = \"192.0.2\"\n",
		"c.toml:3:18: mesh.public_address \"192.0.2\" is not an IP address; use an IPv4 address like 198.51.100.1 or an IPv6 address like 2001:db8::1"},
	{"mesh_daemon_bad",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\"]\n"
		"public_address = \"192.0.2.1\"\n"
		"daemon = \"racoon\"\n"
		"auth = { psk_file = \"/etc/psk\" }\n",
		"c.toml:4:10: mesh.daemon \"racoon\" is not valid; use \"strongswan\" or \"libreswan\""},
	{"mesh_missing_auth",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\"]\n"
		"public_address = \"192.0.2.1\"\n",
		"c.toml:1:1: [mesh] is missing required key \"auth\" ({ psk_file = \"/path\" } or { cert = \"/path\", key = \"/path\", ca = \"/path\" })"},
	{"mesh_auth_both",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\"]\n"
		"public_address = \"192.0.2.1\"\n"
		"auth = { psk_file = \"/etc/psk\", cert = \"/etc/c.pem\" }\n",
		"c.toml:4:8: mesh.auth has both psk_file and certificate keys; use either { psk_file = \"/path\" } or { cert = \"/path\", key = \"/path\", ca = \"/path\" }"},
	{"mesh_auth_cert_missing_key",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\"]\n"
		"public_address = \"192.0.2.1\"\n"
		"auth = { cert = \"/etc/c.pem\", ca = \"/etc/ca.pem\" }\n",
		"c.toml:4:8: mesh.auth is missing \"key\"; certificate authentication needs cert, key and ca"},
	{"mesh_auth_relative_psk",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\"]\n"
		"public_address = \"192.0.2.1\"\n"
		"auth = { psk_file = \"mesh.psk\" }\n",
		"c.toml:4:21: mesh.auth.psk_file must be an absolute path without \"..\", like \"/etc/ipsec-steer/mesh.psk\" (value not shown: it may be the secret itself)"},
	{"mesh_auth_dotdot_cert",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\"]\n"
		"public_address = \"192.0.2.1\"\n"
		"auth = { cert = \"/etc/../c.pem\", key = \"/k\", ca = \"/ca\" }\n",
		"c.toml:4:17: mesh.auth.cert \"/etc/../c.pem\" must be an absolute path without \"..\", like \"/etc/ipsec-steer/host.crt\""},
	{"mesh_auth_empty",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\"]\n"
		"public_address = \"192.0.2.1\"\n"
		"auth = { }\n",
		"c.toml:4:8: mesh.auth is empty; use either { psk_file = \"/path\" } or { cert = \"/path\", key = \"/path\", ca = \"/path\" }"},
	{"mesh_auth_unknown_key",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\"]\n"
		"public_address = \"192.0.2.1\"\n"
		"auth = { password = \"x\" }\n",
		"c.toml:4:10: unknown key \"password\" in mesh.auth; allowed keys: psk_file, cert, key, ca"},
	{"mesh_auth_not_table",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\"]\n"
		"public_address = \"192.0.2.1\"\n"
		"auth = \"/etc/psk\"\n",
		"c.toml:4:8: mesh.auth must be a table like { psk_file = \"/path\" }, not a string"},
	{"mesh_swanctl_uri_libreswan",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\"]\n"
		"public_address = \"192.0.2.1\"\n"
		"daemon = \"libreswan\"\n"
		"swanctl_uri = \"unix:///x\"\n"
		"auth = { psk_file = \"/etc/psk\" }\n",
		"c.toml:5:15: mesh.swanctl_uri only applies to daemon = \"strongswan\"; remove it"},
	{"mesh_swanctl_uri_bad",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\"]\n"
		"public_address = \"192.0.2.1\"\n"
		"swanctl_uri = \"http://x\"\n"
		"auth = { psk_file = \"/etc/psk\" }\n",
		"c.toml:4:15: mesh.swanctl_uri \"http://x\" is not a VICI URI; use unix:///PATH (like \"unix:///var/run/charon.vici\") or tcp://HOST:PORT"},
	{"mesh_conf_dir_relative",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\"]\n"
		"public_address = \"192.0.2.1\"\n"
		"conf_dir = \"etc/x\"\n"
		"auth = { psk_file = \"/etc/psk\" }\n",
		"c.toml:4:12: mesh.conf_dir \"etc/x\" must be an absolute path without \"..\", like \"/etc/swanctl/conf.d\""},
	{"mesh_prefix_relative",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\"]\n"
		"public_address = \"192.0.2.1\"\n"
		"prefix = \"coreos.com\"\n"
		"auth = { psk_file = \"/etc/psk\" }\n",
		"c.toml:4:10: mesh.prefix \"coreos.com\" must start with '/', like \"/coreos.com/network/subnets\""},
	{"mesh_unknown_subtable",
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\"]\n"
		"public_address = \"192.0.2.1\"\n"
		"auth = { psk_file = \"/etc/psk\" }\n"
		"[mesh.extra]\n"
		"x = 1\n",
		"c.toml:5:7: unknown key \"extra\" in [mesh]; allowed keys: etcd, prefix, public_address, daemon, auth, swanctl_uri, conf_dir"},
	{"non_ascii_bare_key",
		"é = 1\n",
		"c.toml:1:1: a non-ASCII character outside a string or comment; TOML allows them only in quoted strings and comments"},
	{"non_ascii_after_value",
		"bpffs = \"/x\" §\n",
		"c.toml:1:14: a non-ASCII character outside a string or comment; TOML allows them only in quoted strings and comments"},
	{"non_ascii_in_table_header",
		"[gateway §]\n",
		"c.toml:1:10: a non-ASCII character outside a string or comment; TOML allows them only in quoted strings and comments"},
	{"non_ascii_mid_token_quote",
		"bpffs = +x\"§\"\n",
		"c.toml:1:12: a non-ASCII character outside a string or comment; TOML allows them only in quoted strings and comments"},
	{"non_ascii_after_line_ending_backslash",
		"bpffs = \"\"\"\\\n"
		"  §\"\"\"\n",
		"c.toml:2:3: a non-ASCII character right after a line-ending backslash in a \"\"\" string; remove the backslash (toml++ 3.3 mis-parses it)"},
};

void PrintTo(const BadCase &c, std::ostream *os)
{
	*os << c.name;
}

class BadConfig : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfig, ExactMessage)
{
	const BadCase &c = GetParam();
	auto r = parse(c.toml, "c.toml");
	ASSERT_FALSE(r.ok()) << c.toml;
	EXPECT_EQ(r.error().what, c.message);
	EXPECT_EQ(r.error().err, 0);
	EXPECT_EQ(r.error().message(), c.message);
}

INSTANTIATE_TEST_SUITE_P(Config, BadConfig, ::testing::ValuesIn(bad_cases),
	[](const ::testing::TestParamInfo<BadCase> &info) { return std::string(info.param.name); });

} // namespace
