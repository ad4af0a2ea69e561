// Shared by the nft namespace tests: shell commands, CI mode, and work run
// on a thread that entered a named namespace (never the caller's thread).
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

#include "fd.hpp"
#include "result.hpp"

namespace steer::nft::test_util {

inline bool ci_mode()
{
	const char *ci = std::getenv("CI");
	return ci && std::string(ci) == "true";
}

struct Cmd {
	int rc = -1;
	std::string out;
};

// Runs a shell command, stdout and stderr together.
inline Cmd sh(const std::string &cmd)
{
	Cmd r;
	FILE *p = ::popen((cmd + " 2>&1").c_str(), "r");
	if (!p)
		return r;
	char buf[4096];
	size_t n;
	while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0)
		r.out.append(buf, n);
	int st = ::pclose(p);
	r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return r;
}

// Runs fn on a new thread that entered namespace `ns` first.
inline Status in_ns(const std::string &ns, const std::function<Status()> &fn)
{
	Fd fd(::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd.valid())
		return sys_error(errno, "open namespace", ns);
	Status result = plain_error("thread did not run");
	std::thread t([&] {
		if (::setns(fd.get(), CLONE_NEWNET) != 0)
			result = sys_error(errno, "setns", ns);
		else
			result = fn();
	});
	t.join();
	return result;
}

} // namespace steer::nft::test_util
