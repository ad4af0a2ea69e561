// `exec NAME -- CMD`: CMD in gateway NAME's network namespace, in a private
// mount namespace with its own empty /run, /etc/netns/NAME/* bound over
// /etc/*, and /sys showing the namespace's devices, so two IKE daemons
// never share a pid file, a socket or a config file.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cli.hpp"
#include "commands.hpp"
#include "fd.hpp"
#include "netns.hpp"

namespace steer {

namespace {

// Like `ip netns exec`: each entry of /etc/netns/NAME replaces its /etc twin.
void bind_etc(const std::string &name)
{
	std::error_code ec;
	for (const auto &e : std::filesystem::directory_iterator("/etc/netns/" + name, ec)) {
		std::string target = "/etc/" + e.path().filename().string();
		if (::mount(e.path().c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
			std::fprintf(stderr, "ipsec-steer: exec: bind %s over %s: %s\n", e.path().c_str(),
				     target.c_str(), std::strerror(errno));
	}
}

[[noreturn]] void die(const std::string &what)
{
	std::fprintf(stderr, "ipsec-steer: exec: %s: %s\n", what.c_str(), std::strerror(errno));
	std::exit(126);
}

// Enter the namespaces, make the mounts, exec. Never returns.
[[noreturn]] void exec_in_namespace(const CommandOptions &o, int netns_fd)
{
	if (::setns(netns_fd, CLONE_NEWNET) != 0)
		die("enter network namespace");
	if (::unshare(CLONE_NEWNS) != 0)
		die("new mount namespace");
	// Our mounts must not propagate back to the host.
	if (::mount("", "/", nullptr, MS_SLAVE | MS_REC, nullptr) != 0)
		die("make / a slave mount");
	if (::mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
		die("mount private /run");
	::umount2("/sys", MNT_DETACH);
	if (::mount(o.gateway.c_str(), "/sys", "sysfs", 0, nullptr) != 0)
		die("mount /sys of the namespace");
	bind_etc(o.gateway);
	std::vector<char *> argv;
	for (const auto &a : o.argv)
		argv.push_back(const_cast<char *>(a.c_str()));
	argv.push_back(nullptr);
	::execvp(argv[0], argv.data());
	die("run " + o.argv[0]);
}

} // namespace

// No fork: this process becomes CMD, so signals sent to it (a service
// manager's stop, a test's kill by pid) reach the IKE daemon itself.
int cmd_exec(const CommandOptions &o)
{
	Fd netns(::open(ns::netns_path(o.gateway).c_str(), O_RDONLY | O_CLOEXEC));
	if (!netns.valid()) {
		std::fprintf(stderr, "ipsec-steer: exec: no gateway namespace %s (run `ipsec-steer up`)\n",
			     o.gateway.c_str());
		return exit_failure;
	}
	std::fflush(nullptr);
	exec_in_namespace(o, netns.get());
}

} // namespace steer
