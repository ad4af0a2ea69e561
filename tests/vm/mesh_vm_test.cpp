// The host-mesh scenario (shared/seeds/flannel-vxlan-ipsec.md) with kernel
// ESP, in the VM tier: three hosts on one underlay, VXLAN on udp/8472
// between them, libreswan with the seed's two conns per host pair
// (host-to-host, and flannel subnet to flannel subnet), and ipsec-steer's
// [firewall] table (ipsec_only udp/8472, allow IKE/ESP, the seed's docker
// MASQUERADE with our IPsec exemption) in each host's namespace, applied
// by `ipsec-steer up` run there.
//
//                 [ul] br0: the underlay 192.0.2.0/24 (tcpdump on port h2)
//        |                   |                |                |
//  [h1] eth0 192.0.2.1   [h2] 192.0.2.2   [h3] 192.0.2.3   [inet] 192.0.2.100
//       vx0 10.99.0.1/24      10.99.0.2        10.99.0.3       (no IPsec: "the internet")
//       (VXLAN 42, udp/8472, a head-end entry per other host)
//       cni0 172.16.1.1/24    172.16.2.1/24    172.16.3.1/24
//        |                     |                |
//  [p1] 172.16.1.2        [p2] 172.16.2.2  [p3] 172.16.3.2  (pods)
//  pluto in each hN (ipsec-steer exec): conns hN-hM and hN-hM-subnet
//
// Asserted: every pair's SAs come up; VXLAN pings between all hosts
// succeed and the underlay carries no udp/8472, only IKE and ESP; VXLAN
// injected in cleartext on the underlay is dropped and counted by the
// receiver's table and never reaches its VXLAN device; pod-to-pod traffic
// crosses ESP with the pod's own source address (the MASQUERADE exempts
// IPsec) while pod-to-internet traffic is masqueraded; the `meta ipsec` and
// `rt ipsec` counters of the tables move; `down` removes each table.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "harness.hpp"
#include "ike_lab.hpp"
#include "lab.hpp"
#include "lan_traffic.hpp"
#include "netns.hpp"
#include "vxlan_checks.hpp"

namespace steer::test {
namespace {

using namespace std::chrono_literals;

constexpr int hosts = 3;
const std::string psk = "ipsec-steer-mesh-lab-psk";

std::string underlay(int h) { return "192.0.2." + std::to_string(h); }
std::string overlay(int h) { return "10.99.0." + std::to_string(h); }
std::string subnet(int h) { return "172.16." + std::to_string(h) + ".0/24"; }
std::string pod(int h) { return "172.16." + std::to_string(h) + ".2"; }
std::string host_role(int h) { return "h" + std::to_string(h); }
std::string conn(int from, int to) { return "h" + std::to_string(from) + "-h" + std::to_string(to); }
const std::string internet = "192.0.2.100";

class MeshVm : public ::testing::Test {
protected:
	void SetUp() override
	{
		STEER_REQUIRE_ROOT();
		std::string missing;
		if (std::system("modprobe -q esp4 2>/dev/null; test -d /sys/module/esp4") != 0)
			missing += " kernel ESP (esp4): run the VM tier, `ctest -L vm`";
		if (::access("/usr/libexec/ipsec/pluto", X_OK) != 0)
			missing += " libreswan (/usr/libexec/ipsec/pluto)";
		if (std::system("command -v tcpdump nft bridge >/dev/null 2>&1") != 0)
			missing += " tcpdump/nft/bridge";
		if (!missing.empty()) {
			if (ci_mode())
				FAIL() << "missing:" << missing << ", and CI=true forbids skipping";
			GTEST_SKIP() << "missing:" << missing;
		}
		dir = "/tmp/" + ns.name("lab");
		std::filesystem::create_directories(dir);
		ASSERT_NO_FATAL_FAILURE(build_underlay());
		for (int h = 1; h <= hosts; h++)
			ASSERT_NO_FATAL_FAILURE(build_host(h));
	}

	void TearDown() override
	{
		for (int h = 1; h <= hosts; h++) {
			if (!plutos_started)
				break;
			(void)ike::capture(quote_launcher() + " -k " + ns.name(host_role(h)) + " " + conf(h));
		}
		for (int h = 1; h <= hosts && steer_up; h++) {
			auto r = ike::capture(in_host(h, steer + " down -c " + conf(h) + "/steer.toml"));
			EXPECT_TRUE(r) << r.error().message();
			auto tables = ike::capture(in_host(h, "nft list tables"));
			EXPECT_TRUE(tables && tables->find("ipsec_steer") == std::string::npos)
				<< "host " << h << " kept our table";
		}
		std::error_code ec;
		std::filesystem::remove_all(dir, ec);
	}

	std::string conf(int h) const { return dir + "/h" + std::to_string(h); }
	std::string in_host(int h, const std::string &cmd) const
	{
		return "ip netns exec " + ns.name(host_role(h)) + " " + cmd;
	}
	std::string quote_launcher() const { return ike::quote(ike::tools_dir() + "/pluto-in-netns.sh"); }
	void ip(const std::string &role, const std::string &args)
	{
		Status st = ns.ip(role, args);
		ASSERT_TRUE(st.ok()) << st.error().message();
	}
	void shell(const std::string &cmd)
	{
		Status st = lab::sh(cmd);
		ASSERT_TRUE(st.ok()) << st.error().message();
	}

	void build_underlay();
	void build_host(int h);
	void write_steer_config(int h);
	void start_ipsec();
	void pods_masqueraded_only_outside_ipsec();
	std::string table(int h) const { return ike::capture(in_host(h, "nft list table inet ipsec_steer")).value(); }
	vxlan::Mesh mesh() const
	{
		return {hosts, ns.name("ul"), [this](int h) { return ns.name(host_role(h)); }, underlay, overlay,
			[this](int h) { return table(h); }};
	}

	lab::Namespaces ns{"vm"};
	std::string dir;
	const std::string steer = ike::quote(ike::default_ipsec_steer());
	bool plutos_started = false, steer_up = false;
};

void MeshVm::build_underlay()
{
	for (const char *role : {"ul", "inet"})
		ASSERT_TRUE(ns.add(role).ok());
	ip("ul", "link add br0 type bridge");
	ip("ul", "link set br0 up");
	ip("ul", "link add inet type veth peer name eth0 netns " + ns.name("inet"));
	ip("ul", "link set inet master br0 up");
	ip("inet", "addr add " + internet + "/24 dev eth0");
	ip("inet", "link set eth0 up");
}

void MeshVm::build_host(int h)
{
	const std::string r = host_role(h), p = "p" + std::to_string(h), n = std::to_string(h);
	ASSERT_TRUE(ns.add(r).ok());
	ASSERT_TRUE(ns.add(p).ok());
	ip("ul", "link add " + r + " type veth peer name eth0 netns " + ns.name(r));
	ip("ul", "link set " + r + " master br0 up");
	ip(r, "addr add " + underlay(h) + "/24 dev eth0");
	ip(r, "link set eth0 up");
	ip(r, "link set lo up");
	// VXLAN as flannel's backend makes it: udp/8472, no learning, a head-end
	// replication entry per other host.
	ip(r, "link add vx0 type vxlan id 42 dstport 8472 local " + underlay(h) + " dev eth0 nolearning");
	ip(r, "addr add " + overlay(h) + "/24 dev vx0");
	ip(r, "link set vx0 up");
	for (int o = 1; o <= hosts; o++)
		if (o != h)
			shell(in_host(h, "bridge fdb append 00:00:00:00:00:00 dev vx0 dst " + underlay(o)));
	// The pod network: cni0 and one pod; other hosts' pod subnets go to the
	// underlay (the subnet conns' policies turn them into ESP).
	ip(r, "link add cni0 type veth peer name eth0 netns " + ns.name(p));
	ip(r, "addr add 172.16." + n + ".1/24 dev cni0");
	ip(r, "link set cni0 up");
	ip(p, "addr add " + pod(h) + "/24 dev eth0");
	ip(p, "link set eth0 up");
	ip(p, "route add default via 172.16." + n + ".1");
	for (int o = 1; o <= hosts; o++)
		if (o != h)
			ip(r, "route add " + subnet(o) + " via " + underlay(o));
	shell(in_host(h, "sysctl -qw net.ipv4.ip_forward=1"));
	std::filesystem::create_directories(conf(h));
	write_steer_config(h);
}

void MeshVm::write_steer_config(int h)
{
	std::ofstream f(conf(h) + "/steer.toml");
	f << "# Host " << h << " of the mesh lab: the root-namespace firewall only.\n"
	  << "bpffs = \"" << conf(h) << "/bpffs/ipsec-steer\"\n\n"
	  << "[firewall]\n"
	  << "ipsec_only = [\"udp/8472\"]\n"
	  << "allow = [\"ike\", \"esp\"]\n"
	  << "masquerade = [ { source = \"" << subnet(h) << "\", not_out_interface = \"docker0\" } ]\n";
}

// The seed's conns for every pair, rendered by site.sh; pluto in each host
// (ipsec-steer exec); each pair initiated from its lower-numbered host.
void MeshVm::start_ipsec()
{
	const std::string site = ike::quote(ike::tools_dir() + "/site.sh");
	for (int h = 1; h <= hosts; h++)
		for (int o = 1; o <= hosts; o++) {
			if (o == h)
				continue;
			std::string common = site + " -D libreswan -e kernel -u no -d " + conf(h) + " -l " +
					     underlay(h) + " -r " + underlay(o) + " -k " + psk + " >/dev/null";
			shell(common + " -n " + conn(h, o) + " -L " + underlay(h) + "/32 -R " + underlay(o) + "/32");
			shell(common + " -n " + conn(h, o) + "-subnet -L " + subnet(h) + " -R " + subnet(o));
		}
	plutos_started = true;
	for (int h = 1; h <= hosts; h++)
		shell("IPSEC_STEER=" + steer + " " + quote_launcher() + " " + ns.name(host_role(h)) + " " +
		      conf(h) + " >/dev/null");
	for (int h = 1; h <= hosts; h++)
		for (int o = h + 1; o <= hosts; o++)
			for (const std::string &c : {conn(h, o), conn(h, o) + "-subnet"})
				shell("/usr/libexec/ipsec/whack --ctlsocket " + conf(h) + "/pluto.ctl --name " + c +
				      " --initiate >/dev/null");
}

// The seed's docker MASQUERADE as our rule with the IPsec exemption: a
// pod's traffic to the internet leaves with its host's address, to another
// host's pod (through the subnet conn's ESP) with its own.
void MeshVm::pods_masqueraded_only_outside_ipsec()
{
	std::set<std::string> sources;
	auto out = ike::udp_datagrams(ns.name("p1"), ns.name("inet"), internet, 9000, 5, 3000ms, &sources);
	ASSERT_TRUE(out) << out.error().message();
	EXPECT_EQ(*out, 5);
	EXPECT_EQ(sources, std::set<std::string>{underlay(1)}) << "pod to internet: masqueraded";
	sources.clear();
	auto across = ike::udp_datagrams(ns.name("p1"), ns.name("p2"), pod(2), 9001, 5, 3000ms, &sources);
	ASSERT_TRUE(across) << across.error().message();
	EXPECT_EQ(*across, 5);
	EXPECT_EQ(sources, std::set<std::string>{pod(1)}) << "pod to pod through IPsec: not NATed";
	auto sa = ike::capture("ip -n " + ns.name("h1") + " -s xfrm state list src " + underlay(1) + " dst " +
			       underlay(2));
	ASSERT_TRUE(sa) << sa.error().message();
	std::printf("h1 -> h2 SAs:\n%s", sa->c_str());
}

TEST_F(MeshVm, VxlanOnlyInsideEspPodsUnNatedAcrossTheMeshMasqueradedOutside)
{
	for (int h = 1; h <= hosts; h++)
		shell(in_host(h, steer + " up -c " + conf(h) + "/steer.toml"));
	steer_up = true;
	ASSERT_NO_FATAL_FAILURE(start_ipsec());
	for (int h = 1; h <= hosts; h++) {
		auto states = ike::capture("ip -n " + ns.name(host_role(h)) + " xfrm state | grep -c '^src'");
		ASSERT_TRUE(states) << states.error().message();
		// Two conns to each of two peers, an SA each way.
		EXPECT_EQ(std::stoi(*states), 8) << "SAs of host " << h;
	}

	ASSERT_NO_FATAL_FAILURE(vxlan::expect_vxlan_only_inside_esp(mesh(), dir + "/underlay.pcap", 3));
	ASSERT_NO_FATAL_FAILURE(vxlan::expect_cleartext_vxlan_dropped(mesh(), ns.name("inet")));
	ASSERT_NO_FATAL_FAILURE(pods_masqueraded_only_outside_ipsec());
}

} // namespace
} // namespace steer::test
