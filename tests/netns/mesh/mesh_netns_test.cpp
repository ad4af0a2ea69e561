// `ipsec-steer mesh` end to end: a real etcd (Debian's etcd-server) holds
// flannel-style leases; three hosts run strongSwan (kernel-libipsec: ESP
// in user space over TUN, in UDP 4500) and a mesh agent each.
//
//                       [ms<pid>-u]  underlay router (ip_forward)
//                 etcd  127.0.0.1:2379 + 192.0.2.254:2379 (data dir in the lab dir)
//            h1 192.0.2.254 peer .1   h2 ... peer .2   h3 ... peer .3
//                 |                        |                   |
//  [ms<pid>-h1] eth0 192.0.2.1   [ms<pid>-h2] eth0 .2   [ms<pid>-h3] eth0 .3
//    lo 10.5.1.1/32                lo 10.5.2.1/32          lo 10.5.3.1/32
//    charon (vici: <lab>/h1/charon.vici, private /run)      ... same
//    ipsec-steer mesh -c <lab>/h1/mesh.toml                 ... same
//    nft table inet ipsec_steer with peers_v4/_v6 (as up)   ... same
//
// Steps: leases 1-3 -> conns, sets, pings between every pair; agent h1
// restarted -> plans nothing; lease 3 deleted -> gone on h1, h2; etcd
// restarted, lease 3 back, lease 4 put and deleted -> each agent logs each
// event once; h2 frozen across an etcd restart and a compaction -> lists
// again and catches up (lease 6 in, lease 5 never).
// Leases: /coreos.com/network/subnets/10.5.N.0-24 ->
//   {"PublicIP":"192.0.2.N","BackendType":"vxlan","BackendData":{"VtepMAC":...}}
// 10.5.0.0/16 is routed in clear to the underlay, which drops it: a ping
// between 10.5.i.1 and 10.5.j.1 crosses only inside the tunnel.
// etcd's client port is on the underlay's own address (the agents live in
// other namespaces); nothing listens in the root namespace.
// Every process is started here and killed by pid, every namespace
// removed, whatever happens (Lab's destructor).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

bool ci_mode()
{
	const char *ci = std::getenv("CI");
	return ci && std::string(ci) == "true";
}

struct Shell {
	int rc = 0;
	std::string out;
};

Shell sh(const std::string &cmd)
{
	Shell r;
	FILE *p = popen((cmd + " 2>&1").c_str(), "r");
	if (!p)
		return {-1, "popen failed"};
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		r.out.append(buf, n);
	int st = pclose(p);
	r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return r;
}

std::string read_file(const std::string &path)
{
	std::ifstream in(path);
	std::ostringstream s;
	s << in.rdbuf();
	return s.str();
}

void write_file(const std::string &path, const std::string &text)
{
	std::ofstream(path) << text;
}

// Polls pred every 200 ms for up to `limit`.
template <typename Pred>
bool eventually(Pred pred, std::chrono::seconds limit)
{
	auto end = std::chrono::steady_clock::now() + limit;
	while (std::chrono::steady_clock::now() < end) {
		if (pred())
			return true;
		std::this_thread::sleep_for(200ms);
	}
	return pred();
}

std::string missing_tools()
{
	std::string m;
	if (geteuid() != 0)
		m += " root";
	for (const char *f : {"/usr/bin/etcd", "/usr/bin/etcdctl", "/usr/lib/ipsec/charon", "/usr/sbin/swanctl",
		     "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so", "/dev/net/tun", "/usr/sbin/nft", "/usr/bin/ping",
		     IPSEC_STEER_BIN})
		if (access(f, F_OK) != 0)
			m += std::string(" ") + f;
	return m;
}

class Lab {
public:
	Lab()
	{
		char tmpl[] = "/tmp/mesh-lab-XXXXXX";
		dir = mkdtemp(tmpl) ? tmpl : "";
		tag = "ms" + std::to_string(getpid() % 100000);
	}
	Lab(const Lab &) = delete;
	Lab &operator=(const Lab &) = delete;
	~Lab()
	{
		for (auto it = pids.rbegin(); it != pids.rend(); ++it)
			stop(*it);
		for (const auto &ns : namespaces)
			sh("ip netns del " + ns);
		if (!dir.empty() && !std::getenv("MESH_KEEP_LAB"))
			sh("rm -rf " + dir);
	}

	std::string ns(int host) const { return tag + (host == 0 ? "-u" : "-h" + std::to_string(host)); }
	std::string hdir(int host) const { return dir + "/h" + std::to_string(host); }
	std::string vici(int host) const { return "unix://" + hdir(host) + "/charon.vici"; }

	// fork + exec argv with stdout/stderr to log; the pid is ours to kill.
	pid_t spawn(const std::vector<std::string> &argv, const std::string &log)
	{
		pid_t pid = fork();
		if (pid == 0) {
			int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
			dup2(fd, 1);
			dup2(fd, 2);
			setpgid(0, 0);
			// Dies with the test even if the test is killed before its
			// destructor runs (kept across exec).
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			std::vector<char *> args;
			for (const auto &a : argv)
				args.push_back(const_cast<char *>(a.c_str()));
			args.push_back(nullptr);
			execvp(args[0], args.data());
			_exit(127);
		}
		if (pid > 0)
			pids.push_back(pid);
		return pid;
	}

	// SIGTERM, SIGKILL after 3 s; reaped either way. The wait status, or
	// -1 when it was not ours to reap.
	static int stop(pid_t pid)
	{
		int status = -1;
		if (pid <= 0 || kill(pid, SIGTERM) < 0)
			return -1;
		for (int i = 0; i < 30; i++) {
			if (waitpid(pid, &status, WNOHANG) == pid)
				return status;
			std::this_thread::sleep_for(100ms);
		}
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return status;
	}
	void forget(pid_t pid) { std::erase(pids, pid); }

	std::string dir, tag;
	std::vector<pid_t> pids;
	std::vector<std::string> namespaces;
};

constexpr const char *prefix = "/coreos.com/network/subnets";

std::string lease_key(int n) { return std::string(prefix) + "/10.5." + std::to_string(n) + ".0-24"; }
std::string lease_value(int n)
{
	return "{\"PublicIP\":\"192.0.2." + std::to_string(n) +
		"\",\"BackendType\":\"vxlan\",\"BackendData\":{\"VtepMAC\":\"aa:bb:cc:dd:ee:0" + std::to_string(n) + "\"}}";
}

class MeshNetns : public ::testing::Test {
protected:
	void SetUp() override
	{
		std::string m = missing_tools();
		if (!m.empty()) {
			if (ci_mode())
				FAIL() << "missing:" << m << ", and CI=true forbids skipping";
			GTEST_SKIP() << "missing:" << m << " (tools/install-deps.sh installs them)";
		}
		ASSERT_FALSE(lab.dir.empty());
	}

	Shell in(int host, const std::string &cmd) { return sh("ip netns exec " + lab.ns(host) + " " + cmd); }
	Shell etcdctl(const std::string &args)
	{
		return in(0, "etcdctl --endpoints http://127.0.0.1:2379 " + args);
	}
	Shell swanctl(int host, const std::string &args)
	{
		return sh("STRONGSWAN_CONF=" + lab.hdir(host) + "/strongswan.conf swanctl " + args + " --uri " +
			lab.vici(host));
	}

	void build_net();
	void start_etcd();
	void start_host(int host);
	std::string set_text(int host, const char *set) { return in(host, std::string("nft list set inet ipsec_steer ") + set).out; }
	bool ping(int from, int to)
	{
		return in(from, "ping -c1 -W1 -I 10.5." + std::to_string(from) + ".1 10.5." + std::to_string(to) + ".1").rc == 0;
	}
	std::vector<std::string> events(int host);
	void start_mesh();
	void connections_and_sets();
	void pings_cross();
	void restarted_agent_plans_nothing();
	void lease_leaves();
	void etcd_restarts();
	void compaction_relists();

	Lab lab;
	pid_t etcd_pid = -1;
	std::map<int, pid_t> agents;
};

void MeshNetns::build_net()
{
	for (int h = 0; h <= 3; h++) {
		sh("ip netns del " + lab.ns(h));  // a crashed earlier run of this pid
		ASSERT_EQ(sh("ip netns add " + lab.ns(h)).rc, 0);
		lab.namespaces.push_back(lab.ns(h));
		ASSERT_EQ(sh("ip -n " + lab.ns(h) + " link set lo up").rc, 0);
	}
	ASSERT_EQ(in(0, "sysctl -qw net.ipv4.ip_forward=1").rc, 0);
	for (int h = 1; h <= 3; h++) {
		std::string n = std::to_string(h), u = "ip -n " + lab.ns(0) + " ", x = "ip -n " + lab.ns(h) + " ";
		for (std::string cmd : {
			     "ip link add eth0 netns " + lab.ns(h) + " type veth peer name h" + n + " netns " + lab.ns(0),
			     x + "link set eth0 up", u + "link set h" + n + " up",
			     x + "addr add 192.0.2." + n + " peer 192.0.2.254 dev eth0",
			     u + "addr add 192.0.2.254 peer 192.0.2." + n + " dev h" + n,
			     x + "route add 192.0.2.0/24 via 192.0.2.254", x + "route add 10.5.0.0/16 via 192.0.2.254",
			     x + "addr add 10.5." + n + ".1/32 dev lo"})
			ASSERT_EQ(sh(cmd).rc, 0) << cmd;
		write_file(lab.dir + "/sets.nft",
			"table inet ipsec_steer {\n comment \"ipsec-steer\"\n"
			" set peers_v4 { type ipv4_addr; }\n set peers_v6 { type ipv6_addr; }\n}\n");
		auto r = in(h, "nft -f " + lab.dir + "/sets.nft");
		ASSERT_EQ(r.rc, 0) << r.out;
	}
}

void MeshNetns::start_etcd()
{
	etcd_pid = lab.spawn({"ip", "netns", "exec", lab.ns(0), "etcd", "--name", "mesh", "--data-dir",
		lab.dir + "/etcd", "--listen-client-urls", "http://127.0.0.1:2379,http://192.0.2.254:2379",
		"--advertise-client-urls", "http://192.0.2.254:2379", "--listen-peer-urls", "http://127.0.0.1:2380",
		"--initial-advertise-peer-urls", "http://127.0.0.1:2380", "--initial-cluster",
		"mesh=http://127.0.0.1:2380"}, lab.dir + "/etcd.log");
	ASSERT_GT(etcd_pid, 0);
	ASSERT_TRUE(eventually([&] { return etcdctl("endpoint health").rc == 0; }, 20s))
		<< read_file(lab.dir + "/etcd.log");
}

void MeshNetns::start_host(int h)
{
	std::string d = lab.hdir(h), conf = read_file(std::string(IKE_TOOLS_DIR) + "/strongswan.conf.in");
	ASSERT_EQ(sh("mkdir -p " + d + "/conf.d").rc, 0);
	for (auto [from, to] : std::map<std::string, std::string>{{"@ESP_PLUGIN@", "kernel-libipsec"},
		     {"@IKE_PORT@", "500"}, {"@NATT_PORT@", "4500"}, {"@CONFDIR@", d}})
		for (size_t at; (at = conf.find(from)) != std::string::npos;)
			conf.replace(at, from.size(), to);
	write_file(d + "/strongswan.conf", conf);
	write_file(d + "/swanctl.conf", "# the host's own swanctl.conf: the mesh's files are included\n"
		"include " + d + "/conf.d/*.conf\n");
	write_file(d + "/mesh.toml", "[mesh]\netcd = [\"http://192.0.2.254:2379\"]\nprefix = \"" +
		std::string(prefix) + "\"\npublic_address = \"192.0.2." + std::to_string(h) +
		"\"\ndaemon = \"strongswan\"\nauth = { psk_file = \"" + lab.dir + "/mesh.psk\" }\n"
		"swanctl_uri = \"" + lab.vici(h) + "\"\nconf_dir = \"" + d + "/conf.d\"\n");
	// A private /run per charon (pid file, no clash between the three).
	lab.spawn({"ip", "netns", "exec", lab.ns(h), "sh", "-c",
		"mount -t tmpfs tmpfs /run && exec env STRONGSWAN_CONF=" + d + "/strongswan.conf /usr/lib/ipsec/charon"},
		d + "/charon.out");
	ASSERT_TRUE(eventually([&] { return access((d + "/charon.vici").c_str(), F_OK) == 0; }, 10s))
		<< read_file(d + "/charon.out");
	agents[h] = lab.spawn({"ip", "netns", "exec", lab.ns(h), "env", "STRONGSWAN_CONF=" + d + "/strongswan.conf",
		IPSEC_STEER_BIN, "-v", "mesh", "-c", d + "/mesh.toml"}, d + "/agent.log");
}

// The agent's "event revision R put|delete KEY" lines, in order.
std::vector<std::string> MeshNetns::events(int h)
{
	std::vector<std::string> out;
	std::istringstream log(read_file(lab.hdir(h) + "/agent.log"));
	std::regex re("mesh: event revision ([0-9]+ (put|delete) \\S+)");
	std::smatch m;
	for (std::string line; std::getline(log, line);)
		if (std::regex_search(line, m, re))
			out.push_back(m[1]);
	return out;
}

// etcd, three leases, three hosts (charon + agent each).
void MeshNetns::start_mesh()
{
	ASSERT_NO_FATAL_FAILURE(build_net());
	ASSERT_NO_FATAL_FAILURE(start_etcd());
	write_file(lab.dir + "/mesh.psk", "mesh-netns-test-psk\n");
	for (int h = 1; h <= 3; h++)
		ASSERT_EQ(etcdctl("put " + lease_key(h) + " '" + lease_value(h) + "'").rc, 0);
	for (int h = 1; h <= 3; h++)
		ASSERT_NO_FATAL_FAILURE(start_host(h));
}

void MeshNetns::connections_and_sets()
{
	// Every host loads one connection per other host and fills its sets.
	for (int h = 1; h <= 3; h++)
		for (int p = 1; p <= 3; p++) {
			if (p == h)
				continue;
			std::string conn = "192-0-2-" + std::to_string(p), ip = "192.0.2." + std::to_string(p);
			EXPECT_TRUE(eventually([&] { return swanctl(h, "--list-conns").out.find(conn + ":") != std::string::npos; }, 20s))
				<< "h" << h << " lacks " << conn << "\n" << read_file(lab.hdir(h) + "/agent.log");
			EXPECT_TRUE(eventually([&] { return set_text(h, "peers_v4").find(ip) != std::string::npos; }, 10s))
				<< set_text(h, "peers_v4");
			EXPECT_NE(set_text(h, "peer_subnets_v4_24").find(ip + " . 10.5." + std::to_string(p) + ".0"), std::string::npos)
				<< set_text(h, "peer_subnets_v4_24");
		}
}

void MeshNetns::pings_cross()
{
	// Tunnels between every pair: each side starts its SAs on loading.
	for (int a = 1; a <= 3; a++)
		for (int b = 1; b <= 3; b++)
			if (a != b) {
				EXPECT_TRUE(eventually([&] { return ping(a, b); }, 20s))
					<< "no ping h" << a << " -> h" << b << "\n" << swanctl(a, "--list-sas").out
					<< in(a, "sh -c 'ip rule; ip route show table all | grep -v local; ip -s link show ipsec0; "
						 "nft list ruleset' 2>&1").out
					<< read_file(lab.hdir(a) + "/charon.log").substr(0, 4000);
			}
	EXPECT_NE(swanctl(1, "--list-sas").out.find("ESTABLISHED"), std::string::npos);
}

void MeshNetns::restarted_agent_plans_nothing()
{
	// A restarted agent finds the daemon as it wants it: a dry run and the
	// start's reconcile both plan nothing (what swanctl lists is parsed).
	int status = Lab::stop(agents[1]);
	lab.forget(agents[1]);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "SIGTERM: status " << status;
	std::string d = lab.hdir(1);
	auto once = in(1, "env STRONGSWAN_CONF=" + d + "/strongswan.conf " IPSEC_STEER_BIN " mesh --once -c " + d + "/mesh.toml");
	EXPECT_EQ(once.rc, 0) << once.out;
	EXPECT_NE(once.out.find("3 leases, 2 peers, 0 changes"), std::string::npos) << once.out;
	agents[1] = lab.spawn({"ip", "netns", "exec", lab.ns(1), "env", "STRONGSWAN_CONF=" + d + "/strongswan.conf",
		IPSEC_STEER_BIN, "-v", "mesh", "-c", d + "/mesh.toml"}, d + "/agent.log");
	EXPECT_TRUE(eventually([&] { return read_file(d + "/agent.log").find("2 peers, 0 changes") != std::string::npos; }, 10s))
		<< read_file(d + "/agent.log");
	EXPECT_TRUE(ping(1, 2));
}

void MeshNetns::lease_leaves()
{
	// h3's lease goes: its connection, SAs, files and elements go on the others.
	ASSERT_EQ(etcdctl("del " + lease_key(3)).rc, 0);
	for (int h = 1; h <= 2; h++) {
		EXPECT_TRUE(eventually([&] { return swanctl(h, "--list-conns").out.find("192-0-2-3:") == std::string::npos; }, 10s));
		EXPECT_TRUE(eventually([&] { return swanctl(h, "--list-sas").out.find("192-0-2-3:") == std::string::npos; }, 10s))
			<< swanctl(h, "--list-sas").out;
		EXPECT_TRUE(eventually([&] { return set_text(h, "peers_v4").find("192.0.2.3") == std::string::npos; }, 10s));
		EXPECT_EQ(set_text(h, "subnets_v4_24").find("10.5.3.0"), std::string::npos);
		EXPECT_EQ(set_text(h, "peer_subnets_v4_24").find("192.0.2.3"), std::string::npos);
		EXPECT_NE(set_text(h, "peers_v4").find(h == 1 ? "192.0.2.2" : "192.0.2.1"), std::string::npos);
		std::string other = h == 1 ? "192-0-2-2" : "192-0-2-1";
		EXPECT_EQ(access((lab.hdir(h) + "/conf.d/ipsec-steer-mesh-" + other + ".conf").c_str(), F_OK), 0);
		EXPECT_NE(access((lab.hdir(h) + "/conf.d/ipsec-steer-mesh-192-0-2-3.conf").c_str(), F_OK), 0);
	}
	EXPECT_TRUE(ping(1, 2));
}

void MeshNetns::etcd_restarts()
{
	// etcd restarted under the agents: they resume from their revision.
	Lab::stop(etcd_pid);
	lab.forget(etcd_pid);
	std::this_thread::sleep_for(2s);
	for (auto [h, pid] : agents)
		ASSERT_EQ(kill(pid, 0), 0) << "agent h" << h << " died without etcd";
	ASSERT_NO_FATAL_FAILURE(start_etcd());
	ASSERT_EQ(etcdctl("put " + lease_key(3) + " '" + lease_value(3) + "'").rc, 0);
	ASSERT_EQ(etcdctl("put " + lease_key(4) + " '" + lease_value(4) + "'").rc, 0);
	ASSERT_EQ(etcdctl("del " + lease_key(4)).rc, 0);
	for (int h = 1; h <= 2; h++) {
		EXPECT_TRUE(eventually([&] {
			auto e = events(h);
			return !e.empty() && e.back().find("delete " + lease_key(4)) != std::string::npos;
		}, 20s)) << read_file(lab.hdir(h) + "/agent.log");
		EXPECT_TRUE(eventually([&] { return swanctl(h, "--list-conns").out.find("192-0-2-3:") != std::string::npos; }, 10s));
		// The event is logged before it is acted on: wait for the result.
		EXPECT_TRUE(eventually([&] { return swanctl(h, "--list-conns").out.find("192-0-2-4:") == std::string::npos; }, 10s));
		EXPECT_TRUE(eventually([&] { return set_text(h, "peers_v4").find("192.0.2.4") == std::string::npos; }, 10s));
		EXPECT_EQ(access((lab.hdir(h) + "/conf.d/ipsec-steer-mesh-192-0-2-4.conf").c_str(), F_OK), -1);
	}
	EXPECT_TRUE(eventually([&] { return ping(1, 3); }, 20s));
	// Every agent saw every event once: same list, no repeats.
	auto first = events(1);
	std::set<std::string> unique(first.begin(), first.end());
	EXPECT_EQ(unique.size(), first.size()) << ::testing::PrintToString(first);
	EXPECT_EQ(first.size(), 4u) << ::testing::PrintToString(first);  // del 3, put 3, put 4, del 4
	for (int h = 2; h <= 3; h++)
		EXPECT_EQ(events(h), first) << "h" << h;
}

void MeshNetns::compaction_relists()
{
	// h2's agent frozen while etcd restarts, changes and compacts past its
	// revision: thawed, its watch cannot resume; it lists again and catches up.
	ASSERT_EQ(kill(agents[2], SIGSTOP), 0);
	Lab::stop(etcd_pid);
	lab.forget(etcd_pid);
	ASSERT_NO_FATAL_FAILURE(start_etcd());
	ASSERT_EQ(etcdctl("put " + lease_key(5) + " '" + lease_value(5) + "'").rc, 0);
	ASSERT_EQ(etcdctl("del " + lease_key(5)).rc, 0);
	ASSERT_EQ(etcdctl("put " + lease_key(6) + " '" + lease_value(6) + "'").rc, 0);
	std::smatch rev;
	std::string status = etcdctl("get " + lease_key(6) + " -w json").out;
	ASSERT_TRUE(std::regex_search(status, rev, std::regex("\"revision\":([0-9]+)"))) << status;
	ASSERT_EQ(etcdctl("compact " + rev[1].str()).rc, 0);
	ASSERT_EQ(kill(agents[2], SIGCONT), 0);
	std::string log2 = lab.hdir(2) + "/agent.log";
	EXPECT_TRUE(eventually([&] { return read_file(log2).find("listing again") != std::string::npos; }, 20s))
		<< read_file(log2);
	EXPECT_TRUE(eventually([&] { return swanctl(2, "--list-conns").out.find("192-0-2-6:") != std::string::npos; }, 10s));
	EXPECT_TRUE(eventually([&] { return set_text(2, "peers_v4").find("192.0.2.6") != std::string::npos; }, 10s));
	EXPECT_EQ(swanctl(2, "--list-conns").out.find("192-0-2-5:"), std::string::npos);
	EXPECT_EQ(set_text(2, "peers_v4").find("192.0.2.5"), std::string::npos);
	EXPECT_TRUE(eventually([&] { return set_text(1, "peers_v4").find("192.0.2.6") != std::string::npos; }, 10s));
	EXPECT_TRUE(ping(2, 1));
}

TEST_F(MeshNetns, LeasesMakeTunnelsAndFollowEtcd)
{
	ASSERT_NO_FATAL_FAILURE(start_mesh());
	ASSERT_FALSE(HasFailure());
	ASSERT_NO_FATAL_FAILURE(connections_and_sets());
	ASSERT_FALSE(HasFailure());
	ASSERT_NO_FATAL_FAILURE(pings_cross());
	ASSERT_FALSE(HasFailure());
	ASSERT_NO_FATAL_FAILURE(restarted_agent_plans_nothing());
	ASSERT_FALSE(HasFailure());
	ASSERT_NO_FATAL_FAILURE(lease_leaves());
	ASSERT_FALSE(HasFailure());
	ASSERT_NO_FATAL_FAILURE(etcd_restarts());
	ASSERT_FALSE(HasFailure());
	ASSERT_NO_FATAL_FAILURE(compaction_relists());
	ASSERT_FALSE(HasFailure());
}

} // namespace
