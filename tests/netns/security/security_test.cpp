// Security (issue 6 item 8): pins are root's alone, `exec`'s private
// mounts (/run tmpfs, /etc/netns binds, /sys) never reach the host's mount
// namespace, and no pre-shared key reaches any output of the tool.
//
//   peer ns (istsec<pid>-peer)    router ns (istsec<pid>-rtr)          gateway ns s<pid>
//   wan0 203.0.113.2/24 --------- pub 203.0.113.1/24 (P)
//                                 ist-s<pid> 169.254.x.1/30 ---------- eth0 MAC of pub, P/32
//
//   mount namespaces: the test's own (on this machine / is private), and
//   a holder's (`unshare --mount --propagation shared`, as on a systemd
//   host where / is shared) that `exec` is started in with nsenter.
//   /etc/netns/s<pid>/{hosts,ipsec.secrets}: written here, removed after.
//   pins: a private bpffs mounted at /tmp/istsec<pid>-rtr-bpffs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "crash_run.hpp"
#include "harness.hpp"
#include "lab.hpp"

namespace steer::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct Mount {
	std::string id, point, type;
	bool operator<(const Mount &o) const { return id < o.id; }
};

std::set<Mount> mounts_of(pid_t pid)
{
	std::set<Mount> out;
	std::ifstream in("/proc/" + std::to_string(pid) + "/mountinfo");
	for (std::string line; std::getline(in, line);) {
		std::istringstream f(line);
		Mount m;
		std::string parent, dev, root, field;
		f >> m.id >> parent >> dev >> root >> m.point;
		while (f >> field && field != "-") {
		}
		f >> m.type;
		out.insert(m);
	}
	return out;
}

// What `exec` mounts for its command; anything else (other tests' named
// namespaces under /run/netns come and go) is none of this test's business.
bool exec_kind_of_mount(const std::string &point)
{
	return point == "/run" || point == "/sys" || point.rfind("/etc", 0) == 0 ||
	       (point.rfind("/run/", 0) == 0 && point.rfind("/run/netns/", 0) != 0);
}

std::string describe(const std::set<Mount> &ms)
{
	std::string s;
	for (const auto &m : ms)
		s += "  " + m.id + " " + m.point + " " + m.type + "\n";
	return s;
}

// Mounts in `after` but not `before` (and the reverse) that exec makes.
std::string mount_changes(const std::set<Mount> &before, const std::set<Mount> &after)
{
	std::set<Mount> added, removed;
	for (const auto &m : after)
		if (!before.count(m) && exec_kind_of_mount(m.point))
			added.insert(m);
	for (const auto &m : before)
		if (!after.count(m) && exec_kind_of_mount(m.point))
			removed.insert(m);
	std::string s;
	if (!added.empty())
		s += "new mounts:\n" + describe(added);
	if (!removed.empty())
		s += "mounts gone:\n" + describe(removed);
	return s;
}

// A child process started with argv, output to log; killed by its pid.
class Child {
public:
	Child(const std::vector<std::string> &argv, const std::string &log)
	{
		pid_ = ::fork();
		if (pid_ != 0)
			return;
		int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		::dup2(fd, 1);
		::dup2(fd, 2);
		std::vector<char *> args;
		for (const auto &a : argv)
			args.push_back(const_cast<char *>(a.c_str()));
		args.push_back(nullptr);
		::execvp(args[0], args.data());
		::_exit(127);
	}
	Child(const Child &) = delete;
	Child &operator=(const Child &) = delete;
	~Child()
	{
		if (pid_ <= 0)
			return;
		::kill(pid_, SIGKILL);
		::waitpid(pid_, nullptr, 0);
	}
	pid_t pid() const { return pid_; }
	// Reaps it when it has ended, so the destructor never signals a pid
	// that may have been reused.
	bool running()
	{
		if (pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == pid_)
			pid_ = -1;
		return pid_ > 0;
	}

private:
	pid_t pid_ = -1;
};

bool wait_for_file(const std::string &path, Child &c, std::chrono::milliseconds limit)
{
	auto until = std::chrono::steady_clock::now() + limit;
	while (std::chrono::steady_clock::now() < until) {
		if (fs::exists(path))
			return true;
		if (!c.running())
			return false;
		std::this_thread::sleep_for(10ms);
	}
	return false;
}

// Is pid's / a shared mount (a "shared:N" optional field)?
bool root_is_shared(pid_t pid)
{
	std::ifstream in("/proc/" + std::to_string(pid) + "/mountinfo");
	for (std::string line; std::getline(in, line);) {
		std::istringstream f(line);
		std::string id, parent, dev, root, point;
		f >> id >> parent >> dev >> root >> point;
		if (point == "/")
			return line.find(" shared:") != std::string::npos;
	}
	return false;
}

std::string slurp(const std::string &path)
{
	std::ifstream in(path);
	std::stringstream s;
	s << in.rdbuf();
	return s.str();
}

class Security : public ::testing::Test {
protected:
	void SetUp() override;
	void TearDown() override;
	ToolRun tool(const std::vector<std::string> &args, const ToolEnv &env = {})
	{
		return run_tool(STEER_BINARY, args, env);
	}
	void up_ok()
	{
		ToolRun r = tool({"up", "-c", config});
		ASSERT_TRUE(r.exited(0)) << r.describe();
	}
	// `exec`'s command: leaves a file in its /run, says it is ready, waits.
	std::vector<std::string> exec_argv() const
	{
		return {STEER_BINARY, "exec", gw, "--", "sh", "-c",
			"touch " + run_file + " && echo ready > " + ready_file + " && exec sleep 60"};
	}
	void expect_exec_isolated(const std::vector<std::string> &prefix, pid_t host_pid);

	lab::Namespaces ns{"istsec"};
	std::string router, gw, bpffs, config, etc_dir, secret, psk_file;
	std::string run_file, ready_file, log_file;
	bool made_etc_netns = false;
};

void Security::SetUp()
{
	STEER_REQUIRE_ROOT();
	ASSERT_TRUE(ns.add("peer").ok());
	ASSERT_TRUE(ns.add("rtr").ok());
	router = ns.name("rtr");
	const std::string pid = std::to_string(::getpid() % 10000000);
	gw = "s" + pid;
	for (auto [role, args] : std::vector<std::pair<std::string, std::string>>{
		     {"peer", "link add wan0 type veth peer name pub netns " + router},
		     {"peer", "addr add 203.0.113.2/24 dev wan0"},
		     {"peer", "link set wan0 up"},
		     {"rtr", "addr add 203.0.113.1/24 dev pub"},
		     {"rtr", "link set pub up"}})
		ASSERT_TRUE(ns.ip(role, args).ok()) << args;
	bpffs = "/tmp/" + router + "-bpffs";
	fs::create_directories(bpffs);
	ASSERT_EQ(::mount("bpf", bpffs.c_str(), "bpf", 0, nullptr), 0);
	// A PSK-like token no output may ever contain.
	secret = "0sIstSecPsk" + pid + "Zq8vWm3xKd";
	psk_file = "/tmp/" + router + ".psk";
	std::ofstream(psk_file) << secret << "\n";
	config = "/tmp/" + router + ".toml";
	std::ofstream(config) << "bpffs = \"" << bpffs << "/ipsec-steer\"\n[[gateway]]\nname = \"" << gw
			      << "\"\npublic_interface = \"pub\"\npublic_address = \"203.0.113.1\"\n"
			      << "router_netns = \"" << router << "\"\n"
			      << "[mesh]\netcd = [\"http://192.0.2.10:2379\"]\npublic_address = \"192.0.2.1\"\n"
			      << "auth = { psk_file = \"" << psk_file << "\" }\n";
	made_etc_netns = !fs::exists("/etc/netns");
	etc_dir = "/etc/netns/" + gw;
	fs::create_directories(etc_dir);
	std::ofstream(etc_dir + "/ipsec.secrets") << ": PSK \"" << secret << "\"\n";
	std::ofstream(etc_dir + "/hosts") << "192.0.2.99 istsec-hosts-marker\n";
	run_file = "/run/istsec" + pid + "-x";
	ready_file = "/tmp/" + router + ".ready";
	log_file = "/tmp/" + router + ".exec.log";
}

void Security::TearDown()
{
	if (!config.empty())
		(void)tool({"down", "-c", config});
	if (!gw.empty())
		lab::delete_netns(gw);
	if (!bpffs.empty()) {
		remove_lock_file(bpffs + "/ipsec-steer");
		::umount2(bpffs.c_str(), MNT_DETACH);
		::rmdir(bpffs.c_str());
	}
	for (const auto &f : {config, psk_file, ready_file, log_file})
		if (!f.empty())
			fs::remove(f);
	if (!etc_dir.empty())
		fs::remove_all(etc_dir);
	if (made_etc_netns)
		::rmdir("/etc/netns"); // only when empty: other tests may use it now
}

mode_t mode_of(const fs::path &p)
{
	struct stat st {};
	return ::lstat(p.c_str(), &st) == 0 ? (st.st_mode & 07777) : 07777;
}

TEST_F(Security, PinDirectoriesAre0700AndPins0600WhateverTheUmask)
{
	const fs::path root = bpffs + "/ipsec-steer", dir = root / router;
	for (mode_t umask_value : {mode_t{0}, mode_t{077}}) {
		ToolRun r = tool({"up", "-c", config}, {.umask_value = umask_value});
		ASSERT_TRUE(r.exited(0)) << r.describe();
		EXPECT_EQ(mode_of(root), 0700u) << "umask " << umask_value;
		EXPECT_EQ(mode_of(dir), 0700u) << "umask " << umask_value;
		int pins = 0;
		for (const auto &e : fs::directory_iterator(dir)) {
			pins++;
			EXPECT_EQ(mode_of(e.path()), 0600u) << e.path() << ", umask " << umask_value;
			struct stat st {};
			ASSERT_EQ(::lstat(e.path().c_str(), &st), 0);
			EXPECT_EQ(st.st_uid, 0u) << e.path();
		}
		EXPECT_GE(pins, 8) << "maps and programs pinned";
		ASSERT_TRUE(tool({"down", "-c", config}).exited(0));
	}
	// A pin directory someone loosened is tightened by the next up.
	up_ok();
	ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
	up_ok();
	EXPECT_EQ(mode_of(dir), 0700u);
}

// Starts `exec` (with prefix, e.g. nsenter into another mount namespace),
// waits until its command runs, and compares host_pid's mounts before,
// during and after.
void Security::expect_exec_isolated(const std::vector<std::string> &prefix, pid_t host_pid)
{
	fs::remove(ready_file);
	auto before = mounts_of(host_pid);
	ASSERT_FALSE(before.empty());
	std::vector<std::string> argv = prefix;
	for (const auto &a : exec_argv())
		argv.push_back(a);
	{
		Child exec(argv, log_file);
		ASSERT_TRUE(wait_for_file(ready_file, exec, 10s)) << "exec never ran: " << slurp(log_file);
		const std::string proc = "/proc/" + std::to_string(exec.pid());
		// The mounts are really there, in the command's own namespace...
		auto inside = mounts_of(exec.pid());
		bool private_run = std::any_of(inside.begin(), inside.end(), [](const Mount &m) {
			return m.point == "/run" && m.type == "tmpfs";
		});
		EXPECT_TRUE(private_run) << describe(inside);
		EXPECT_TRUE(fs::exists(proc + "/root" + run_file));
		EXPECT_NE(slurp(proc + "/root/etc/hosts").find("istsec-hosts-marker"), std::string::npos);
		EXPECT_NE(fs::read_symlink(proc + "/ns/mnt"),
			  fs::read_symlink("/proc/" + std::to_string(host_pid) + "/ns/mnt"));
		// ...and not in the host's, while the command runs.
		const std::string host_root = "/proc/" + std::to_string(host_pid) + "/root";
		EXPECT_EQ(mount_changes(before, mounts_of(host_pid)), "") << "while exec runs";
		EXPECT_FALSE(fs::exists(host_root + run_file)) << run_file << " leaked to the host";
		EXPECT_EQ(slurp(host_root + "/etc/hosts").find("istsec-hosts-marker"), std::string::npos);
	}
	EXPECT_EQ(mount_changes(before, mounts_of(host_pid)), "") << "after exec ended";
}

TEST_F(Security, ExecMountsNeverReachTheHost)
{
	up_ok();
	expect_exec_isolated({}, ::getpid());
}

// Where / is a shared mount (systemd hosts), a mount namespace made by
// unshare alone would propagate /run, /sys and /etc mounts back.
TEST_F(Security, ExecMountsNeverReachASharedHost)
{
	up_ok();
	Child holder({"unshare", "--mount", "--propagation", "shared", "sleep", "120"},
		     "/dev/null");
	// unshare has made its namespace and / shared once it became sleep.
	const std::string holder_proc = "/proc/" + std::to_string(holder.pid());
	for (int i = 0; i < 200 && slurp(holder_proc + "/comm") != "sleep\n" && holder.running(); i++)
		std::this_thread::sleep_for(10ms);
	ASSERT_EQ(slurp(holder_proc + "/comm"), "sleep\n");
	std::error_code ec;
	ASSERT_NE(fs::read_symlink(holder_proc + "/ns/mnt", ec), fs::read_symlink("/proc/self/ns/mnt", ec));
	ASSERT_TRUE(root_is_shared(holder.pid())) << slurp("/proc/" + std::to_string(holder.pid()) + "/mountinfo");
	expect_exec_isolated({"nsenter", "-t", std::to_string(holder.pid()), "-m", "--"}, holder.pid());
}

TEST_F(Security, NoPreSharedKeyInAnyOutput)
{
	// The secret also sits in the tool's environment, as a daemon's
	// service file might put it.
	ToolEnv env{.extra = {"IPSEC_PSK=" + secret, "STRONGSWAN_PSK=" + secret}};
	std::vector<std::vector<std::string>> runs = {
		{"-vv", "check", "-c", config},
		{"-vv", "up", "-c", config},
		{"-vv", "up", "-c", config},
		{"-vv", "status", "-c", config},
		{"-vv", "status", "--json", "-c", config},
		{"-vv", "stats", "--json", "-c", config},
		{"-vv", "mesh", "--once", "-c", config},
		{"-vv", "exec", gw, "--", "true"},
		{"-vv", "exec", gw, "--", "/nonexistent-command"},
		{"-vv", "down", "-c", config},
	};
	for (const auto &args : runs) {
		ToolRun r = tool(args, env);
		std::string cmd;
		for (const auto &a : args)
			cmd += a + " ";
		EXPECT_EQ(r.output.find(secret), std::string::npos) << cmd << "printed the PSK:\n" << r.output;
	}
	// A PSK pasted where its file's path belongs: a config error, which
	// names the key and the place but not the value.
	const std::string bad = config + ".bad.toml";
	std::ofstream(bad) << "[mesh]\netcd = [\"http://192.0.2.10:2379\"]\npublic_address = \"192.0.2.1\"\n"
			   << "auth = { psk_file = \"" << secret << "\" }\n";
	for (const char *verb : {"check", "up", "status"}) {
		ToolRun r = tool({"-vv", verb, "-c", bad}, env);
		EXPECT_TRUE(r.exited(2)) << r.describe();
		EXPECT_NE(r.output.find("mesh.auth.psk_file"), std::string::npos) << r.output;
		EXPECT_EQ(r.output.find(secret), std::string::npos) << verb << " printed the PSK:\n" << r.output;
	}
	fs::remove(bad);
}

// The search above can find the secret when it is there: exec's command
// reads the namespace's ipsec.secrets (its own output, not a log).
TEST_F(Security, TheSecretIsThereToBeFound)
{
	if (!fs::exists("/etc/ipsec.secrets"))
		GTEST_SKIP() << "no /etc/ipsec.secrets on this host to bind over";
	up_ok();
	ToolRun r = tool({"exec", gw, "--", "cat", "/etc/ipsec.secrets"});
	ASSERT_TRUE(r.exited(0)) << r.describe();
	EXPECT_NE(r.output.find(secret), std::string::npos) << r.output;
}

} // namespace
} // namespace steer::test
