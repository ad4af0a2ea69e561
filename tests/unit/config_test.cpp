// Unit tests of the config parser (DESIGN.md §3): good inputs, their values
// and defaults, load(), and the building blocks (addresses, CIDRs,
// services). The bad inputs are in config_errors_test.cpp.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <string>
#include <sys/socket.h>

#include "loader/config.hpp"

namespace {

using namespace steer::config;

const std::string data_dir = STEER_TEST_DATA;

#define GW \
	"[[gateway]]\n" \
	"name = \"vpn-a\"\n" \
	"public_interface = \"eth0\"\n" \
	"public_address = \"198.51.100.1\"\n"

Config parse_ok(const std::string &text)
{
	auto r = parse(text, "c.toml");
	EXPECT_TRUE(r.ok()) << r.error().what;
	return r.ok() ? r.value() : Config{};
}

Cidr cidr(const char *text)
{
	auto r = parse_cidr(text);
	EXPECT_TRUE(r.ok()) << r.error().what;
	return r.ok() ? r.value() : Cidr{};
}

// ---- whole documents -------------------------------------------------------

TEST(Config, EmptyFileIsAnEmptyConfig)
{
	for (const char *text : {"", "\n\n", "# only a comment\n"}) {
		Config c = parse_ok(text);
		EXPECT_EQ(c.path, "c.toml");
		EXPECT_EQ(c.bpffs, "/sys/fs/bpf/ipsec-steer");
		EXPECT_TRUE(c.gateways.empty());
		EXPECT_FALSE(c.firewall.has_value());
		EXPECT_FALSE(c.mesh.has_value());
	}
}

TEST(Config, FullExample)
{
	auto r = load(data_dir + "/full.toml");
	ASSERT_TRUE(r.ok()) << r.error().what;
	const Config &c = r.value();
	EXPECT_EQ(c.path, data_dir + "/full.toml");
	EXPECT_EQ(c.bpffs, "/sys/fs/bpf/steer-test");
	ASSERT_EQ(c.gateways.size(), 2u);

	const Gateway &a = c.gateways[0];
	EXPECT_EQ(a.name, "vpn-a");
	EXPECT_EQ(a.public_interface, "eth0");
	EXPECT_EQ(a.public_address.family, AF_INET);
	EXPECT_EQ(a.public_address.text, "198.51.100.1");
	EXPECT_EQ(a.router_netns, "");
	ASSERT_TRUE(a.link.has_value());
	EXPECT_EQ(a.link->text, "169.254.1.0/30");
	EXPECT_EQ(a.steer_flags, default_steer_flags);
	EXPECT_EQ(a.ike_port, 500);
	EXPECT_EQ(a.natt_port, 4500);
	EXPECT_EQ(a.egress, Egress::bpf);
	ASSERT_EQ(a.routes.size(), 1u);
	EXPECT_EQ(a.routes[0].local.text, "10.1.0.0/24");
	EXPECT_EQ(a.routes[0].remote.text, "10.2.0.0/24");
	ASSERT_TRUE(a.firewall.has_value());
	ASSERT_EQ(a.firewall->ipsec_only.size(), 1u);
	EXPECT_EQ(a.firewall->ipsec_only[0].proto, IPPROTO_UDP);
	EXPECT_EQ(a.firewall->ipsec_only[0].port, 8472);
	EXPECT_EQ(a.pos, (SourcePos{5, 1}));
	EXPECT_EQ(a.interface_pos, (SourcePos{7, 20}));
	EXPECT_EQ(a.address_pos, (SourcePos{8, 18}));
	EXPECT_EQ(a.netns_pos, (SourcePos{9, 16}));
	EXPECT_EQ(a.link_pos, (SourcePos{10, 8}));
	EXPECT_EQ(a.routes[0].pos, (SourcePos{14, 12}));

	const Gateway &b = c.gateways[1];
	EXPECT_EQ(b.name, "vpn-b6");
	EXPECT_EQ(b.public_interface, "ens3");
	EXPECT_EQ(b.public_address.family, AF_INET6);
	EXPECT_EQ(b.public_address.text, "2001:db8::1");
	EXPECT_EQ(b.router_netns, "qrouter-1");
	ASSERT_TRUE(b.link.has_value());
	EXPECT_EQ(b.link->text, "fd00::10/127");
	EXPECT_EQ(b.steer_flags, STEER_F_AH | STEER_F_ESP | STEER_F_REDIRECT_PLAIN);
	EXPECT_EQ(b.ike_port, 1500);
	EXPECT_EQ(b.natt_port, 14500);
	EXPECT_EQ(b.egress, Egress::route);
	ASSERT_EQ(b.routes.size(), 2u);
	EXPECT_EQ(b.routes[0].local.text, "fd01::/64");
	EXPECT_EQ(b.routes[1].remote.text, "fd03::/64");
	ASSERT_TRUE(b.firewall.has_value());
	ASSERT_EQ(b.firewall->ipsec_only.size(), 2u);
	EXPECT_EQ(b.firewall->ipsec_only[1].proto, IPPROTO_TCP);
	EXPECT_EQ(b.firewall->ipsec_only[1].port, 179);
	EXPECT_EQ(b.firewall->ipsec_only[1].text, "tcp/179");

	ASSERT_TRUE(c.firewall.has_value());
	const HostFirewall &fw = *c.firewall;
	ASSERT_EQ(fw.ipsec_only.size(), 1u);
	EXPECT_EQ(fw.ipsec_only[0].text, "udp/8472");
	EXPECT_EQ(fw.allow, STEER_F_IKE | STEER_F_ESP | STEER_F_AH);
	ASSERT_EQ(fw.masquerade.size(), 2u);
	EXPECT_EQ(fw.masquerade[0].source.text, "172.16.1.0/24");
	EXPECT_EQ(fw.masquerade[0].not_out_interface, "docker0");
	EXPECT_EQ(fw.masquerade[0].out_interface, "");
	EXPECT_EQ(fw.masquerade[1].source.text, "172.17.0.0/16");
	EXPECT_EQ(fw.masquerade[1].not_out_interface, "");
	EXPECT_EQ(fw.masquerade[1].out_interface, "eth0");

	ASSERT_TRUE(c.mesh.has_value());
	const Mesh &m = *c.mesh;
	EXPECT_EQ(m.etcd, (std::vector<std::string>{"http://192.0.2.10:2379", "https://[2001:db8::10]:2379",
		"https://etcd-1.example:2379"}));
	EXPECT_EQ(m.prefix, "/coreos.com/network/subnets");
	EXPECT_EQ(m.public_address.text, "192.0.2.1");
	EXPECT_EQ(m.daemon, "strongswan");
	EXPECT_EQ(m.auth.psk_file, "/etc/ipsec-steer/mesh.psk");
	EXPECT_TRUE(m.auth.uses_psk());
	EXPECT_EQ(m.auth.cert, "");
	EXPECT_EQ(m.swanctl_uri, "unix:///var/run/charon.vici");
	EXPECT_EQ(m.conf_dir, "/etc/swanctl/conf.d");
}

TEST(Config, FullExampleParsesTheSameFromText)
{
	auto from_file = load(data_dir + "/full.toml");
	ASSERT_TRUE(from_file.ok());
	Config c = parse_ok(
		GW
		"routes = [ { local = \"10.1.0.0/24\", remote = \"10.2.0.0/24\" } ]\n");
	EXPECT_EQ(c.gateways[0].routes[0].local, from_file->gateways[0].routes[0].local);
	EXPECT_EQ(c.gateways[0].public_address, from_file->gateways[0].public_address);
}

TEST(Config, GatewayDefaults)
{
	Config c = parse_ok(GW);
	ASSERT_EQ(c.gateways.size(), 1u);
	const Gateway &g = c.gateways[0];
	EXPECT_EQ(g.router_netns, "");
	EXPECT_FALSE(g.link.has_value());
	EXPECT_EQ(g.steer_flags, STEER_F_ESP | STEER_F_IKE | STEER_F_NATT | STEER_F_ICMP | STEER_F_FRAGMENTS);
	EXPECT_EQ(g.steer_flags & STEER_F_REDIRECT_PLAIN, 0u);
	EXPECT_EQ(g.ike_port, 500);
	EXPECT_EQ(g.natt_port, 4500);
	EXPECT_EQ(g.egress, Egress::bpf);
	EXPECT_TRUE(g.routes.empty());
	EXPECT_FALSE(g.firewall.has_value());
	EXPECT_EQ(g.pos, (SourcePos{1, 1}));
	EXPECT_EQ(g.address_pos, (SourcePos{4, 18}));
	EXPECT_EQ(g.netns_pos, g.pos);
	EXPECT_EQ(g.link_pos, g.pos);
}

TEST(Config, RedirectModes)
{
	Config peer = parse_ok(GW "redirect = \"peer\"\n");
	EXPECT_EQ(peer.gateways[0].steer_flags, default_steer_flags);
	Config plain = parse_ok(GW "redirect = \"plain\"\nsteer = [\"esp\"]\n");
	EXPECT_EQ(plain.gateways[0].steer_flags, STEER_F_ESP | STEER_F_REDIRECT_PLAIN);
}

TEST(Config, SteerEveryClass)
{
	Config c = parse_ok(GW "steer = [\"fragments\", \"icmp\", \"nat-t\", \"ike\", \"ah\", \"esp\"]\n");
	EXPECT_EQ(c.gateways[0].steer_flags, default_steer_flags | STEER_F_AH);
	EXPECT_EQ(steer_names(c.gateways[0].steer_flags), "esp, ah, ike, nat-t, icmp, fragments");
}

TEST(Config, EmptyGatewayFirewallTable)
{
	Config c = parse_ok(GW "[gateway.firewall]\n");
	ASSERT_TRUE(c.gateways[0].firewall.has_value());
	EXPECT_TRUE(c.gateways[0].firewall->ipsec_only.empty());
	EXPECT_EQ(c.gateways[0].firewall->pos, (SourcePos{5, 1}));
}

TEST(Config, GatewaysMayShareAnInterface)
{
	Config c = parse_ok(
		GW
		"routes = [ { local = \"10.1.0.0/24\", remote = \"10.2.0.0/24\" } ]\n"
		"[[gateway]]\n"
		"name = \"vpn-b\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"198.51.100.2\"\n"
		"routes = [ { local = \"10.1.0.0/24\", remote = \"10.3.0.0/24\" } ]\n");
	ASSERT_EQ(c.gateways.size(), 2u);
	EXPECT_EQ(c.gateways[1].pos, (SourcePos{6, 1}));
}

// Overlaps only matter within one router namespace.
TEST(Config, OtherRouterNamespacesMayRepeatEverything)
{
	Config c = parse_ok(
		GW
		"link = \"169.254.1.0/30\"\n"
		"routes = [ { local = \"10.1.0.0/24\", remote = \"10.2.0.0/24\" } ]\n"
		"[[gateway]]\n"
		"name = \"vpn-b\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"198.51.100.1\"\n"
		"router_netns = \"qrouter-2\"\n"
		"link = \"169.254.1.0/30\"\n"
		"routes = [ { local = \"10.1.0.0/24\", remote = \"10.2.0.0/24\" } ]\n");
	ASSERT_EQ(c.gateways.size(), 2u);
	EXPECT_EQ(c.gateways[1].router_netns, "qrouter-2");
}

TEST(Config, RoutesWithOneDisjointSideDoNotOverlap)
{
	Config c = parse_ok(
		GW
		"routes = [\n"
		"  { local = \"10.1.0.0/16\", remote = \"10.2.0.0/24\" },\n"
		"  { local = \"10.1.0.0/24\", remote = \"10.2.1.0/24\" },\n"
		"  { local = \"10.9.0.0/16\", remote = \"10.2.0.0/16\" },\n"
		"]\n");
	ASSERT_EQ(c.gateways[0].routes.size(), 3u);
	EXPECT_EQ(c.gateways[0].routes[2].pos, (SourcePos{8, 3}));
}

TEST(Config, SameAddressOnAnotherInterface)
{
	Config c = parse_ok(
		GW
		"[[gateway]]\n"
		"name = \"vpn-b\"\n"
		"public_interface = \"eth1\"\n"
		"public_address = \"198.51.100.1\"\n");
	EXPECT_EQ(c.gateways.size(), 2u);
}

TEST(Config, IPv6Gateway)
{
	Config c = parse_ok(
		"[[gateway]]\n"
		"name = \"v6\"\n"
		"public_interface = \"eth0\"\n"
		"public_address = \"2001:DB8::0:1\"\n"
		"link = \"fd00::/127\"\n"
		"routes = [ { local = \"2001:db8:1::/48\", remote = \"2001:db8:2::/48\" } ]\n");
	const Gateway &g = c.gateways[0];
	EXPECT_EQ(g.public_address.family, AF_INET6);
	EXPECT_EQ(g.public_address.text, "2001:db8::1");
	EXPECT_EQ(g.public_address.bytes[0], 0x20);
	EXPECT_EQ(g.public_address.bytes[15], 0x01);
	EXPECT_EQ(g.link->prefix, 127);
	EXPECT_EQ(g.routes[0].remote.text, "2001:db8:2::/48");
}

TEST(Config, ElevenCharacterNameAndRouterNamespace)
{
	Config c = parse_ok(
		"[[gateway]]\n"
		"name = \"a1234567-9z\"\n"
		"public_interface = \"enp0s31f6.100\"\n"
		"public_address = \"203.0.113.7\"\n"
		"router_netns = \"qrouter-0c9e4b52-7f0b-4a53-9d56-1234567890ab\"\n");
	EXPECT_EQ(c.gateways[0].name, "a1234567-9z");
	EXPECT_EQ(c.gateways[0].public_interface, "enp0s31f6.100");
	EXPECT_EQ(c.gateways[0].router_netns, "qrouter-0c9e4b52-7f0b-4a53-9d56-1234567890ab");
}

TEST(Config, EmptyGatewayArray)
{
	Config c = parse_ok("gateway = []\n");
	EXPECT_TRUE(c.gateways.empty());
}

TEST(Config, HostFirewallDefaults)
{
	Config c = parse_ok("[firewall]\n");
	ASSERT_TRUE(c.firewall.has_value());
	EXPECT_TRUE(c.firewall->ipsec_only.empty());
	EXPECT_EQ(c.firewall->allow, STEER_F_IKE | STEER_F_NATT | STEER_F_ESP | STEER_F_AH);
	EXPECT_EQ(c.firewall->allow, default_allow_flags);
	EXPECT_TRUE(c.firewall->masquerade.empty());
	EXPECT_EQ(c.firewall->pos, (SourcePos{1, 1}));
}

TEST(Config, HostFirewallAllowNothing)
{
	Config c = parse_ok("[firewall]\nallow = []\nmasquerade = [ { source = \"0.0.0.0/0\" } ]\n");
	EXPECT_EQ(c.firewall->allow, 0u);
	ASSERT_EQ(c.firewall->masquerade.size(), 1u);
	EXPECT_EQ(c.firewall->masquerade[0].source.prefix, 0);
	EXPECT_EQ(c.firewall->masquerade[0].pos, (SourcePos{3, 16}));
}

TEST(Config, MeshDefaults)
{
	Config c = parse_ok(
		"[mesh]\n"
		"etcd = [\"http://192.0.2.10:2379\"]\n"
		"public_address = \"192.0.2.1\"\n"
		"auth = { psk_file = \"/etc/ipsec-steer/mesh.psk\" }\n");
	ASSERT_TRUE(c.mesh.has_value());
	EXPECT_EQ(c.mesh->prefix, "/coreos.com/network/subnets");
	EXPECT_EQ(c.mesh->daemon, "strongswan");
	EXPECT_EQ(c.mesh->swanctl_uri, "unix:///var/run/charon.vici");
	EXPECT_EQ(c.mesh->conf_dir, "/etc/swanctl/conf.d");
	EXPECT_EQ(c.mesh->pos, (SourcePos{1, 1}));
}

TEST(Config, MeshLibreswanWithCertificates)
{
	Config c = parse_ok(
		"[mesh]\n"
		"etcd = [\"https://etcd.example:2379\"]\n"
		"public_address = \"2001:db8::5\"\n"
		"daemon = \"libreswan\"\n"
		"[mesh.auth]\n"
		"cert = \"/etc/ipsec-steer/host.crt\"\n"
		"key = \"/etc/ipsec-steer/host.key\"\n"
		"ca = \"/etc/ipsec-steer/ca.crt\"\n");
	const Mesh &m = *c.mesh;
	EXPECT_EQ(m.daemon, "libreswan");
	EXPECT_EQ(m.conf_dir, "/etc/ipsec.d");
	EXPECT_FALSE(m.auth.uses_psk());
	EXPECT_EQ(m.auth.cert, "/etc/ipsec-steer/host.crt");
	EXPECT_EQ(m.auth.key, "/etc/ipsec-steer/host.key");
	EXPECT_EQ(m.auth.ca, "/etc/ipsec-steer/ca.crt");
	EXPECT_EQ(m.public_address.family, AF_INET6);
}

TEST(Config, MeshVICIOverTCPAndOwnConfDir)
{
	Config c = parse_ok(
		"[mesh]\n"
		"etcd = [\"http://localhost:2379\"]\n"
		"public_address = \"192.0.2.1\"\n"
		"prefix = \"/flannel/subnets\"\n"
		"swanctl_uri = \"tcp://127.0.0.1:4502\"\n"
		"conf_dir = \"/run/ipsec-steer/swanctl\"\n"
		"auth = { psk_file = \"/etc/psk\" }\n");
	EXPECT_EQ(c.mesh->swanctl_uri, "tcp://127.0.0.1:4502");
	EXPECT_EQ(c.mesh->conf_dir, "/run/ipsec-steer/swanctl");
	EXPECT_EQ(c.mesh->prefix, "/flannel/subnets");
}

// Non-ASCII text is fine where TOML allows it: comments, strings, quoted
// keys, a byte order mark (config.cpp screens the rest from toml++ 3.3).
TEST(Config, NonASCIIInCommentsAndStrings)
{
	Config c = parse_ok(
		"\xef\xbb\xbf# Zürich — gateway per §3, Привет\n"
		"bpffs = '''/sys/fs/bpf/zürich''' # ok\n"
		GW
		"[gateway.firewall] # «firewall»\n"
		"ipsec_only = [ # ¡\n"
		"  \"udp/8472\", # ¿\n"
		"]\n");
	EXPECT_EQ(c.bpffs, "/sys/fs/bpf/zürich");
	EXPECT_EQ(c.gateways[0].pos, (SourcePos{3, 1}));
	Config multi = parse_ok("bpffs = \"\"\"/sys/fs/\\\"é\"\"\"\n");
	EXPECT_EQ(multi.bpffs, "/sys/fs/\"é");
	Config quotes = parse_ok("bpffs = \"\"\"/é\"\"\"\"\n");
	EXPECT_EQ(quotes.bpffs, "/é\"");
	Config continued = parse_ok("bpffs = \"\"\"/a\\\n   b/é\"\"\"\n");
	EXPECT_EQ(continued.bpffs, "/ab/é");
	auto quoted_key = parse("\"é\" = 1\n", "c.toml");
	ASSERT_FALSE(quoted_key.ok());
	EXPECT_EQ(quoted_key.error().what, "c.toml:1:1: unknown key \"é\" in the top level; allowed keys: "
		"bpffs, gateway, firewall, mesh");
}

TEST(Config, NoExceptionEscapesOnGarbage)
{
	const std::string inputs[] = {std::string("\xff\xfe\x00\x01", 4), "[[[", "a = [1, 'x'\n",
		"gateway = 1e999\n", "[gateway]\n[[gateway]]\n"};
	for (const std::string &text : inputs) {
		auto r = parse(text, "g.toml");
		ASSERT_FALSE(r.ok()) << text;
		EXPECT_EQ(r.error().what.rfind("g.toml:", 0), 0u) << r.error().what;
	}
}

// ---- load() and error_at() -------------------------------------------------

TEST(ConfigLoad, MissingFile)
{
	auto r = load("/nonexistent/ipsec-steer.toml");
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error().what, "/nonexistent/ipsec-steer.toml: cannot read: No such file or directory");
}

TEST(ConfigLoad, Directory)
{
	auto r = load(data_dir);
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error().what, data_dir + ": cannot read: Is a directory");
}

TEST(ConfigLoad, ErrorsNameTheFile)
{
	auto r = load(data_dir + "/bad.toml");
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error().what, data_dir + "/bad.toml:6:13: gateway.ike_ports has 3 entries; list exactly "
		"two ports [IKE, NAT-T], like [500, 4500]");
}

TEST(ConfigLoad, DefaultPath)
{
	EXPECT_STREQ(default_path, "/etc/ipsec-steer/ipsec-steer.toml");
}

TEST(ConfigErrorAt, FormatsPathLineColumn)
{
	Config c = parse_ok(GW);
	steer::Error e = error_at(c, c.gateways[0].address_pos,
		"198.51.100.1 is not an address of eth0; add it or fix public_address");
	EXPECT_EQ(e.what, "c.toml:4:18: 198.51.100.1 is not an address of eth0; add it or fix public_address");
	EXPECT_EQ(e.err, 0);
}

// ---- building blocks ------------------------------------------------------------

TEST(ConfigIp, ParsesAndCanonicalises)
{
	auto v4 = parse_ip("192.0.2.1");
	ASSERT_TRUE(v4.has_value());
	EXPECT_EQ(v4->family, AF_INET);
	EXPECT_EQ(v4->bytes[0], 192);
	EXPECT_EQ(v4->bytes[3], 1);
	EXPECT_EQ(v4->bytes[4], 0);
	auto v6 = parse_ip("2001:0DB8:0000::0001");
	ASSERT_TRUE(v6.has_value());
	EXPECT_EQ(v6->family, AF_INET6);
	EXPECT_EQ(v6->text, "2001:db8::1");
	EXPECT_EQ(*v6, *parse_ip("2001:db8::1"));
	for (const char *bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "fe80::1%eth0", "1.2.3.4/32", "x", " 1.2.3.4"})
		EXPECT_FALSE(parse_ip(bad).has_value()) << bad;
}

TEST(ConfigCidr, ParsesAndChecksHostBits)
{
	Cidr c = cidr("10.1.0.0/16");
	EXPECT_EQ(c.prefix, 16);
	EXPECT_EQ(c.text, "10.1.0.0/16");
	EXPECT_EQ(cidr("0.0.0.0/0").prefix, 0);
	EXPECT_EQ(cidr("2001:DB8::/32").text, "2001:db8::/32");
	EXPECT_EQ(cidr("192.0.2.1/32").text, "192.0.2.1/32");
	EXPECT_EQ(cidr("::1/128").prefix, 128);
	auto bad = parse_cidr("10.1.2.3/16");
	ASSERT_FALSE(bad.ok());
	EXPECT_EQ(bad.error().what, "\"10.1.2.3/16\" has host bits set; use 10.1.0.0/16");
	auto bad6 = parse_cidr("2001:db8::1/126");
	ASSERT_FALSE(bad6.ok());
	EXPECT_EQ(bad6.error().what, "\"2001:db8::1/126\" has host bits set; use 2001:db8::/126");
	for (const char *text : {"10.0.0.0/", "10.0.0.0/024", "10.0.0.0/-1", "10.0.0.0/+8", "::/129", "/8"})
		EXPECT_FALSE(parse_cidr(text).ok()) << text;
}

TEST(ConfigCidr, ContainsAndOverlaps)
{
	Cidr net = cidr("10.1.0.0/16");
	EXPECT_TRUE(net.contains(*parse_ip("10.1.255.255")));
	EXPECT_FALSE(net.contains(*parse_ip("10.2.0.0")));
	EXPECT_FALSE(net.contains(*parse_ip("::ffff:10.1.0.1")));
	EXPECT_TRUE(cidr("10.1.0.0/17").contains(*parse_ip("10.1.127.1")));
	EXPECT_FALSE(cidr("10.1.0.0/17").contains(*parse_ip("10.1.128.1")));
	EXPECT_TRUE(cidr("0.0.0.0/0").contains(*parse_ip("203.0.113.9")));
	EXPECT_TRUE(net.overlaps(cidr("10.1.4.0/24")));
	EXPECT_TRUE(cidr("10.1.4.0/24").overlaps(net));
	EXPECT_FALSE(net.overlaps(cidr("10.0.0.0/16")));
	EXPECT_FALSE(net.overlaps(cidr("::/0")));
	EXPECT_TRUE(cidr("fd00::/127").overlaps(cidr("fd00::1/128")));
	EXPECT_FALSE(cidr("fd00::/127").overlaps(cidr("fd00::2/127")));
}

TEST(ConfigService, Parses)
{
	auto udp = parse_service("udp/8472");
	ASSERT_TRUE(udp.has_value());
	EXPECT_EQ(udp->proto, IPPROTO_UDP);
	EXPECT_EQ(udp->port, 8472);
	EXPECT_EQ(udp->text, "udp/8472");
	auto tcp = parse_service("tcp/65535");
	ASSERT_TRUE(tcp.has_value());
	EXPECT_EQ(tcp->proto, IPPROTO_TCP);
	EXPECT_EQ(tcp->port, 65535);
	for (const char *bad : {"udp/0", "udp/65536", "udp/", "udp/08472", "UDP/1", "sctp/1", "udp 1", "8472"})
		EXPECT_FALSE(parse_service(bad).has_value()) << bad;
}

TEST(ConfigNames, EgressAndSteer)
{
	EXPECT_EQ(to_string(Egress::bpf), "bpf");
	EXPECT_EQ(to_string(Egress::route), "route");
	EXPECT_EQ(steer_names(default_steer_flags), "esp, ike, nat-t, icmp, fragments");
	EXPECT_EQ(steer_names(STEER_F_AH | STEER_F_REDIRECT_PLAIN), "ah");
	EXPECT_EQ(steer_names(0), "");
}

} // namespace
