// `ipsec-steer mesh` driving libreswan with kernel ESP, in the VM tier: the
// scenario of mesh_vm_test.cpp (three hosts, VXLAN on udp/8472 between
// them, [firewall] proving VXLAN only flows inside ESP), but the conns come
// from the mesh agent of each host, made from flannel leases in a real etcd
// (Debian's etcd-server), as tests/netns/mesh does with strongSwan.
//
//   [cp] br0 198.51.100.254/24: the control plane, etcd on :2379
//        |  (its own link: the underlay capture sees only IKE and ESP)
//        +-----------------------+-----------------------+
//   mgmt 198.51.100.1     mgmt 198.51.100.2       mgmt 198.51.100.3
//  [h1] eth0 192.0.2.1    [h2] eth0 192.0.2.2     [h3] eth0 192.0.2.3
//       lo 10.5.1.1/32         lo 10.5.2.1/32          lo 10.5.3.1/32
//       vx0 10.99.0.1/24       10.99.0.2               10.99.0.3
//       (VXLAN 42, udp/8472 on eth0, a head-end entry per other host)
//       pluto + `ipsec-steer mesh` (both through `ipsec-steer exec`)
//       nft table inet ipsec_steer ([firewall]; mesh sets by the agent)
//        |                       |                       |
//        +-----------------------+-----------------------+
//   [ul] br0 192.0.2.100/24: the underlay (tcpdump on port h2; .100
//        injects cleartext VXLAN)
//
// Leases: /coreos.com/network/subnets/10.5.N.0-24 ->
//   {"PublicIP":"192.0.2.N","BackendType":"vxlan","BackendData":{"VtepMAC":...}}
// Each host's libreswan is the production layout in miniature:
// /etc/netns/<host>/ipsec.conf (bound over /etc/ipsec.conf by `ipsec-steer
// exec`) includes <lab>/hN/ipsec.d/*.conf, the agent's conf_dir, and
// ipsec.secrets its *.secrets; pluto's control socket is in <lab>/hN/run,
// which the agent (like the `ipsec` command) finds through IPSEC_RUNDIR.
// The lab's ipsec.conf adds two TCG allowances (see write_configs) in
// `conn %default`; the conns themselves are the agent's alone. The lower
// address of each pair initiates (mesh/render.hpp, initiates_pair).
// VM_KEEP_LAB=DIR copies the lab (configs, agent and pluto logs) there.
//
// Asserted: each agent writes a conn pair per other host and fills its
// peer sets; SAs come up between every pair (host and subnet conns, kernel
// ESP); VXLAN pings between all hosts succeed while the underlay carries no
// udp/8472, only IKE and ESP, and the `meta ipsec` / `rt ipsec` counters
// move; cleartext VXLAN injected on the underlay is dropped and counted;
// a pod-subnet ping crosses the subnet conn; lease 3 deleted -> on h1 and
// h2 its conns, files, SAs and set elements go, after one watch event.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <thread>

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
constexpr const char *prefix = "/coreos.com/network/subnets";
const std::string etcd_ip = "198.51.100.254";
const std::string injector = "192.0.2.100";

std::string underlay(int h) { return "192.0.2." + std::to_string(h); }
std::string mgmt(int h) { return "198.51.100." + std::to_string(h); }
std::string overlay(int h) { return "10.99.0." + std::to_string(h); }
std::string lease_net(int h) { return "10.5." + std::to_string(h) + ".0"; }
std::string conn(int h) { return "192-0-2-" + std::to_string(h); }
std::string role(int h) { return "h" + std::to_string(h); }
std::string lease_key(int h) { return std::string(prefix) + "/10.5." + std::to_string(h) + ".0-24"; }
std::string lease_value(int h)
{
	return "{\"PublicIP\":\"" + underlay(h) + "\",\"BackendType\":\"vxlan\","
		"\"BackendData\":{\"VtepMAC\":\"02:00:00:00:00:0" + std::to_string(h) + "\"}}";
}

std::string read_text(const std::string &path)
{
	std::ifstream in(path);
	std::ostringstream s;
	s << in.rdbuf();
	return s.str();
}

bool exists(const std::string &path) { return ::access(path.c_str(), F_OK) == 0; }

// Polls pred every `every` for up to `limit` (a command costs a good part
// of a second under TCG: poll files often, commands seldom).
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit, std::chrono::milliseconds every = 250ms)
{
	auto end = std::chrono::steady_clock::now() + limit;
	while (std::chrono::steady_clock::now() < end) {
		if (pred())
			return true;
		std::this_thread::sleep_for(every);
	}
	return pred();
}

class MeshAgentVm : public ::testing::Test {
protected:
	void SetUp() override
	{
		STEER_REQUIRE_ROOT();
		std::string missing;
		if (std::system("modprobe -q esp4 2>/dev/null; test -d /sys/module/esp4") != 0)
			missing += " kernel ESP (esp4): run the VM tier, `ctest -L vm`";
		for (const char *f : {"/usr/libexec/ipsec/pluto", "/usr/sbin/ipsec", "/etc/ipsec.conf",
			     "/etc/ipsec.secrets", "/usr/bin/etcd", "/usr/bin/etcdctl", "/usr/bin/certutil"})
			if (!exists(f))
				missing += std::string(" ") + f;
		if (std::system("command -v tcpdump nft bridge >/dev/null 2>&1") != 0)
			missing += " tcpdump/nft/bridge";
		if (!missing.empty()) {
			if (ci_mode())
				FAIL() << "missing:" << missing << ", and CI=true forbids skipping";
			GTEST_SKIP() << "missing:" << missing;
		}
		phase("setup");
		dir = "/tmp/" + ns.name("lab");
		std::filesystem::create_directories(dir);
		ASSERT_NO_FATAL_FAILURE(build_topology());
	}

	// Elapsed guest time at each step (TCG is slow: where it goes).
	void phase(const char *what) const
	{
		std::printf("[%6.1f s] %s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
			what);
		std::fflush(stdout);
	}

	void TearDown() override
	{
		phase("teardown");
		// Agents first (they stay out of the daemons' way), then pluto,
		// which sends its deletes, then etcd.
		for (auto &[h, a] : agents)
			a->stop(SIGTERM, 3000);
		for (auto &[h, p] : plutos)
			p->stop(SIGTERM, 3000);
		if (etcd)
			etcd->stop(SIGTERM, 3000);
		for (int h = 1; h <= hosts && steer_up; h++) {
			auto r = ike::capture(in_host(h, steer + " down -c " + conf(h) + "/steer.toml"));
			EXPECT_TRUE(r) << r.error().message();
			auto tables = ike::capture(in_host(h, "nft list tables"));
			EXPECT_TRUE(tables && tables->find("ipsec_steer") == std::string::npos)
				<< "host " << h << " kept our table";
		}
		std::error_code ec;
		for (int h = 1; h <= hosts; h++)
			std::filesystem::remove_all(etc(h), ec);
		// VM_KEEP_LAB=DIR (vm-run.sh passes VM_* on): the lab's configs and
		// logs are copied there, out of the guest.
		if (const char *keep = std::getenv("VM_KEEP_LAB"); keep && !dir.empty())
			(void)lab::sh("cp -r " + dir + " " + keep + "/ 2>/dev/null; true");
		if (!dir.empty() && !std::getenv("MESH_KEEP_LAB"))
			std::filesystem::remove_all(dir, ec);
	}

	std::string conf(int h) const { return dir + "/h" + std::to_string(h); }
	std::string conf_dir(int h) const { return conf(h) + "/ipsec.d"; }
	std::string etc(int h) const { return "/etc/netns/" + ns.name(role(h)); }
	std::string in_host(int h, const std::string &cmd) const
	{
		return "ip netns exec " + ns.name(role(h)) + " " + cmd;
	}
	// `ipsec ARGS` as the agent of host h runs it (`ip netns exec` binds
	// /etc/netns/<host> over /etc as `ipsec-steer exec` does).
	std::string ipsec(int h, const std::string &args) const
	{
		auto r = ike::capture(in_host(h, "env IPSEC_RUNDIR=" + conf(h) + "/run ipsec " + args + " 2>&1"));
		return r ? *r : r.error().message();
	}
	std::string etcdctl(const std::string &args) const
	{
		auto r = ike::capture("ip netns exec " + ns.name("cp") + " env ETCDCTL_API=3 etcdctl "
			"--endpoints http://127.0.0.1:2379 " + args + " 2>&1");
		return r ? *r : "FAILED: " + r.error().message();
	}
	std::string table(int h) const
	{
		auto r = ike::capture(in_host(h, "nft list table inet ipsec_steer"));
		return r ? *r : r.error().message();
	}
	vxlan::Mesh mesh() const
	{
		return {hosts, ns.name("ul"), [this](int h) { return ns.name(role(h)); }, underlay, overlay,
			[this](int h) { return table(h); }};
	}
	std::string peers_set(int h) const
	{
		auto r = ike::capture(in_host(h, "nft list set inet ipsec_steer peers_v4"));
		return r ? *r : r.error().message();
	}
	// The ESP SAs host h holds from `src` to `dst`.
	int sas(int h, const std::string &src, const std::string &dst) const
	{
		auto r = ike::capture("ip -n " + ns.name(role(h)) + " xfrm state list src " + src + " dst " + dst +
			" proto esp | grep -c '^src' || true");
		return r ? std::atoi(r->c_str()) : -1;
	}
	std::string agent_log(int h) const { return read_text(conf(h) + "/agent.log"); }
	std::string why(int h) const
	{
		std::string log = agent_log(h), pluto = read_text(conf(h) + "/pluto.log");
		return "agent h" + std::to_string(h) + ":\n" + log.substr(log.size() > 3000 ? log.size() - 3000 : 0) +
			"\npluto h" + std::to_string(h) + ":\n" +
			pluto.substr(pluto.size() > 3000 ? pluto.size() - 3000 : 0);
	}
	void shell(const std::string &cmd)
	{
		Status st = lab::sh(cmd);
		ASSERT_TRUE(st.ok()) << st.error().message();
	}
	void spawn(std::unique_ptr<ike::Child> &slot, const std::vector<std::string> &argv, const std::string &log)
	{
		auto c = ike::Child::spawn(argv, log);
		ASSERT_TRUE(c) << c.error().message();
		slot = std::move(*c);
	}

	void batch(const std::string &tool, const std::string &r, const std::vector<std::string> &lines);
	void build_topology();
	void build_host(int h);
	void write_configs(int h);
	void start_etcd_and_leases();
	void start_plutos();
	void start_agent(int h);
	void conns_and_sets();
	void sas_between_every_pair();
	void vxlan_only_inside_esp();
	void lease_leaves();

	lab::Namespaces ns{"ma"};
	std::string dir;
	const std::string steer = ike::quote(ike::default_ipsec_steer());
	std::unique_ptr<ike::Child> etcd;
	std::map<int, std::unique_ptr<ike::Child>> plutos, agents;
	bool steer_up = false;
	std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
};

// Under TCG every process costs a fraction of a second: the topology is
// made by one `ip -batch` (and one `bridge -batch`) per namespace.
void MeshAgentVm::batch(const std::string &tool, const std::string &r, const std::vector<std::string> &lines)
{
	std::string file = dir + "/" + r + "." + tool;
	std::ofstream out(file);
	for (const auto &l : lines)
		out << l << "\n";
	out.close();
	shell(tool + " -n " + ns.name(r) + " -batch " + file);
}

void MeshAgentVm::build_topology()
{
	for (const char *r : {"cp", "ul", "h1", "h2", "h3"})
		ASSERT_TRUE(ns.add(r).ok());
	for (auto [r, addr] : {std::pair{"cp", etcd_ip}, std::pair{"ul", injector}}) {
		std::vector<std::string> b = {"link add br0 type bridge", "link set br0 up",
			"addr add " + addr + "/24 dev br0"};
		// cp: each host's mgmt link; ul: its eth0.
		for (int h = 1; h <= hosts; h++) {
			b.push_back("link add " + role(h) + " type veth peer name " +
				(r == std::string("cp") ? "mgmt" : "eth0") + " netns " + ns.name(role(h)));
			b.push_back("link set " + role(h) + " master br0 up");
		}
		ASSERT_NO_FATAL_FAILURE(batch("ip", r, b));
	}
	for (int h = 1; h <= hosts; h++)
		ASSERT_NO_FATAL_FAILURE(build_host(h));
}

void MeshAgentVm::build_host(int h)
{
	const std::string n = std::to_string(h);
	// VXLAN as flannel's backend makes it: udp/8472, no learning, a head-end
	// replication entry per other host.
	std::vector<std::string> b = {"addr add " + underlay(h) + "/24 dev eth0", "link set eth0 up",
		"addr add " + mgmt(h) + "/24 dev mgmt", "link set mgmt up", "addr add 10.5." + n + ".1/32 dev lo",
		"link add vx0 type vxlan id 42 dstport 8472 local " + underlay(h) + " dev eth0 nolearning",
		"addr add " + overlay(h) + "/24 dev vx0", "link set vx0 up"};
	std::vector<std::string> fdb;
	for (int o = 1; o <= hosts; o++)
		if (o != h) {
			b.push_back("route add " + lease_net(o) + "/24 via " + underlay(o));
			fdb.push_back("fdb append 00:00:00:00:00:00 dev vx0 dst " + underlay(o));
		}
	ASSERT_NO_FATAL_FAILURE(batch("ip", role(h), b));
	ASSERT_NO_FATAL_FAILURE(batch("bridge", role(h), fdb));
	std::filesystem::create_directories(conf_dir(h));
	std::filesystem::create_directories(conf(h) + "/run");
	write_configs(h);
}

void MeshAgentVm::write_configs(int h)
{
	std::ofstream(dir + "/mesh.psk") << "ipsec-steer-mesh-agent-vm-psk\n";
	std::ofstream(conf(h) + "/steer.toml")
		<< "# Host " << h << " of the mesh agent lab: the firewall and the mesh agent.\n"
		<< "bpffs = \"" << conf(h) << "/bpffs/ipsec-steer\"\n\n"
		<< "[firewall]\n"
		<< "ipsec_only = [\"udp/8472\"]\n"
		<< "allow = [\"ike\", \"esp\"]\n\n"
		<< "[mesh]\n"
		<< "etcd = [\"http://" << etcd_ip << ":2379\"]\n"
		<< "prefix = \"" << prefix << "\"\n"
		<< "public_address = \"" << underlay(h) << "\"\n"
		<< "daemon = \"libreswan\"\n"
		<< "auth = { psk_file = \"" << dir << "/mesh.psk\" }\n"
		<< "conf_dir = \"" << conf_dir(h) << "\"\n";
	// The host's own /etc/ipsec.conf and ipsec.secrets, each including
	// the agent's files (`ipsec-steer exec` binds them over /etc's).
	// Two lab settings for TCG, where a DH takes half a second:
	// leftupdown=%disabled: libreswan's _updown.xfrm, a long shell script
	// run for every SA with pluto blocked meanwhile, takes ~10 s per SA
	// and has nothing to do here (routes exist, no sourceip);
	// retransmit-interval=2000 (ms, default 500): no duplicate storms.
	std::filesystem::create_directories(etc(h));
	std::ofstream(etc(h) + "/ipsec.conf") << "config setup\n\tlogfile=" << conf(h) << "/pluto.log\n"
					    << "\tlogtime=yes\n\tplutodebug=none\n\n"
					    << "conn %default\n\tleftupdown=%disabled\n\tretransmit-interval=2000\n\n"
					    << "include " << conf_dir(h) << "/*.conf\n";
	std::ofstream(etc(h) + "/ipsec.secrets") << "include " << conf_dir(h) << "/*.secrets\n";
}

void MeshAgentVm::start_etcd_and_leases()
{
	spawn(etcd, {"ip", "netns", "exec", ns.name("cp"), "etcd", "--name", "mesh", "--data-dir", dir + "/etcd",
		"--listen-client-urls", "http://127.0.0.1:2379,http://" + etcd_ip + ":2379",
		"--advertise-client-urls", "http://" + etcd_ip + ":2379", "--listen-peer-urls",
		"http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
		"--initial-cluster", "mesh=http://127.0.0.1:2380"}, dir + "/etcd.log");
	// Its log says when it serves (polling with etcdctl, a Go program,
	// would cost a second of the one vCPU per try).
	ASSERT_TRUE(eventually([&] {
		return read_text(dir + "/etcd.log").find("serving insecure client requests on " + etcd_ip) !=
			std::string::npos;
	}, 40s)) << read_text(dir + "/etcd.log");
	for (int h = 1; h <= hosts; h++) {
		std::string out;
		EXPECT_TRUE(eventually([&] {
			out = etcdctl("put " + lease_key(h) + " '" + lease_value(h) + "'");
			return out.find("OK") != std::string::npos;
		}, 10s, 1s)) << out << read_text(dir + "/etcd.log");
	}
}

// pluto in each host's namespace (`ipsec-steer exec`: /etc/netns/<host>
// over /etc), in the foreground so its pid is ours to stop; one NSS
// database made and copied.
void MeshAgentVm::start_plutos()
{
	shell("mkdir -p " + dir + "/nss && certutil -N -d sql:" + dir + "/nss --empty-password");
	for (int h = 1; h <= hosts; h++) {
		shell("cp -r " + dir + "/nss " + conf(h) + "/nss");
		spawn(plutos[h], {ike::default_ipsec_steer(), "exec", ns.name(role(h)), "--",
			"/usr/libexec/ipsec/pluto", "--nofork", "--config", "/etc/ipsec.conf", "--rundir",
			conf(h) + "/run", "--nssdir", conf(h) + "/nss", "--secretsfile", "/etc/ipsec.secrets"},
			conf(h) + "/pluto.out");
	}
	for (int h = 1; h <= hosts; h++)
		ASSERT_TRUE(eventually([&] { return exists(conf(h) + "/run/pluto.ctl"); }, 30s))
			<< read_text(conf(h) + "/pluto.out") << read_text(conf(h) + "/pluto.log");
}

void MeshAgentVm::start_agent(int h)
{
	spawn(agents[h], {ike::default_ipsec_steer(), "exec", ns.name(role(h)), "--", "env",
		"IPSEC_RUNDIR=" + conf(h) + "/run", ike::default_ipsec_steer(), "-v", "mesh", "-c",
		conf(h) + "/steer.toml"}, conf(h) + "/agent.log");
}

// Every agent writes a conn pair per other host, pluto has them, and the
// peer sets hold the other hosts and their leases.
void MeshAgentVm::conns_and_sets()
{
	for (int h = 1; h <= hosts; h++)
		ASSERT_TRUE(eventually([&] { return agent_log(h).find("mesh: reconciled at") != std::string::npos; }, 60s))
			<< why(h);
	for (int h = 1; h <= hosts; h++) {
		std::string st = ipsec(h, "auto --status"), t = table(h), peers = peers_set(h);
		for (int p = 1; p <= hosts; p++) {
			if (p == h)
				continue;
			std::string file = conf_dir(h) + "/ipsec-steer-mesh-" + conn(p);
			EXPECT_TRUE(exists(file + ".conf") && exists(file + ".secrets")) << file;
			EXPECT_NE(st.find("\"" + conn(p) + "\":"), std::string::npos) << st;
			EXPECT_NE(st.find("\"" + conn(p) + "-subnet\":"), std::string::npos) << st;
			EXPECT_NE(peers.find(underlay(p)), std::string::npos) << peers;
			EXPECT_NE(t.find(underlay(p) + " . " + lease_net(p)), std::string::npos) << t;
		}
	}
	std::printf("h1's conf_dir: %s\n%s", conf_dir(1).c_str(),
		read_text(conf_dir(1) + "/ipsec-steer-mesh-" + conn(2) + ".conf").c_str());
}

// Each agent brings its conns up (both sides do: the one that loads last
// finds the other ready): an SA each way per conn, in the kernel.
void MeshAgentVm::sas_between_every_pair()
{
	auto established = [&](int h, const std::string &c) {
		std::regex re("\"" + c + "\" #[0-9]+: (initiator|responder) established Child SA");
		std::string log = read_text(conf(h) + "/pluto.log");
		return std::regex_search(log, re);
	};
	for (int h = 1; h <= hosts; h++)
		for (int p = 1; p <= hosts; p++) {
			if (p == h)
				continue;
			EXPECT_TRUE(eventually([&] { return established(h, conn(p)) &&
					established(h, conn(p) + "-subnet"); }, 90s))
				<< "h" << h << " <-> h" << p << "\n" << why(h);
		}
	ASSERT_FALSE(HasFailure());
	for (int h = 1; h <= hosts; h++) {
		std::string t;
		EXPECT_TRUE(eventually([&] {
			t = ipsec(h, "trafficstatus");
			for (int p = 1; p <= hosts; p++)
				if (p != h && (t.find("\"" + conn(p) + "\"") == std::string::npos ||
					t.find("\"" + conn(p) + "-subnet\"") == std::string::npos))
					return false;
			return true;
		}, 20s, 1s)) << "h" << h << ": " << t << why(h);
		for (int p = 1; p <= hosts; p++) {
			if (p == h)
				continue;
			// Host and subnet conn: an SA each, each way.
			EXPECT_GE(sas(h, underlay(h), underlay(p)), 2) << "h" << h << " -> h" << p;
			EXPECT_GE(sas(h, underlay(p), underlay(h)), 2) << "h" << p << " -> h" << h;
		}
	}
	std::printf("h1 trafficstatus:\n%s", ipsec(1, "trafficstatus").c_str());
}

void MeshAgentVm::vxlan_only_inside_esp()
{
	ASSERT_NO_FATAL_FAILURE(vxlan::expect_vxlan_only_inside_esp(mesh(), dir + "/underlay.pcap", 2));
	// The subnet conn: lease address to lease address.
	shell(in_host(1, "ping -q -c 1 -W 3 -I 10.5.1.1 10.5.2.1 >/dev/null"));
}

// h3's lease goes: on h1 and h2 its conns, files, SAs and set elements go,
// the one delete event acted on at once; h1 <-> h2 stays up.
void MeshAgentVm::lease_leaves()
{
	auto t0 = std::chrono::steady_clock::now();
	std::string out = etcdctl("del " + lease_key(3));
	ASSERT_NE(out.find('1'), std::string::npos) << out;
	for (int h = 1; h <= 2; h++) {
		// The agent logs the event, its plan item, then (after the daemon
		// let go and the files went) each element it deletes.
		std::string log;
		EXPECT_TRUE(eventually([&] {
			log = agent_log(h);
			return log.find("nft delete peers_v4 " + underlay(3)) != std::string::npos;
		}, 30s)) << why(h);
		std::regex event("event revision [0-9]+ delete " + lease_key(3));
		auto events = std::distance(std::sregex_iterator(log.begin(), log.end(), event), std::sregex_iterator());
		EXPECT_EQ(events, 1) << log;
		size_t at = log.find("delete " + lease_key(3));
		EXPECT_NE(log.find("mesh: remove " + conn(3), at), std::string::npos) << log;
		std::string file = conf_dir(h) + "/ipsec-steer-mesh-" + conn(3);
		EXPECT_FALSE(exists(file + ".conf") || exists(file + ".secrets")) << file;
		std::string st = ipsec(h, "auto --status");
		EXPECT_EQ(st.find("\"" + conn(3)), std::string::npos) << st;
		EXPECT_NE(st.find("\"" + conn(h == 1 ? 2 : 1) + "\":"), std::string::npos) << st;
		std::string peers;
		EXPECT_TRUE(eventually([&] { peers = peers_set(h); return peers.find(underlay(3)) == std::string::npos; },
			3s, 500ms)) << peers;
		EXPECT_NE(peers.find(underlay(h == 1 ? 2 : 1)), std::string::npos) << peers;
		std::string t = table(h);
		EXPECT_EQ(t.find(lease_net(3)), std::string::npos) << t;
		EXPECT_TRUE(eventually([&] { return sas(h, underlay(h), underlay(3)) == 0 &&
				sas(h, underlay(3), underlay(h)) == 0; }, 10s, 1s))
			<< "h" << h << " keeps SAs with h3";
	}
	std::printf("lease 3 gone from h1 and h2 in %.1f s\n",
		std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
	auto replies = ike::ping(ns.name("h1"), overlay(2), 1, 3000ms);
	ASSERT_TRUE(replies) << replies.error().message();
	EXPECT_EQ(*replies, 1) << "h1 -> h2 after h3 left";
}

TEST_F(MeshAgentVm, LeasesDriveLibreswanVxlanOnlyInsideEsp)
{
	phase("namespaces built");
	for (int h = 1; h <= hosts; h++)
		shell(in_host(h, steer + " up -c " + conf(h) + "/steer.toml"));
	steer_up = true;
	phase("firewalls up");
	ASSERT_NO_FATAL_FAILURE(start_etcd_and_leases());
	phase("etcd up, leases put");
	ASSERT_NO_FATAL_FAILURE(start_plutos());
	phase("plutos up");
	for (int h = 1; h <= hosts; h++)
		ASSERT_NO_FATAL_FAILURE(start_agent(h));
	ASSERT_NO_FATAL_FAILURE(conns_and_sets());
	phase("conns and sets");
	ASSERT_FALSE(HasFailure());
	ASSERT_NO_FATAL_FAILURE(sas_between_every_pair());
	phase("SAs");
	ASSERT_FALSE(HasFailure());
	ASSERT_NO_FATAL_FAILURE(vxlan_only_inside_esp());
	ASSERT_NO_FATAL_FAILURE(vxlan::expect_cleartext_vxlan_dropped(mesh(), ns.name("ul")));
	phase("pings");
	ASSERT_NO_FATAL_FAILURE(lease_leaves());
	phase("lease left");
}

} // namespace
} // namespace steer::test
