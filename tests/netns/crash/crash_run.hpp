// Running the ipsec-steer binary as a child for the crash and security
// tests: optional IPSEC_STEER_CRASH_AT, output captured, the exit (or the
// signal that ended it) reported, killed by pid if it outlives a deadline.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "shell.hpp"

namespace steer::test {

struct ToolRun {
	int status = -1;    // as waitpid reports it
	std::string output; // stdout and stderr, interleaved
	bool exited(int code) const { return WIFEXITED(status) && WEXITSTATUS(status) == code; }
	bool killed_by(int sig) const { return WIFSIGNALED(status) && WTERMSIG(status) == sig; }
	std::string describe() const
	{
		std::string how = WIFEXITED(status)     ? "exit " + std::to_string(WEXITSTATUS(status))
				  : WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
							: "status " + std::to_string(status);
		return how + "\n" + output;
	}
};

struct ToolEnv {
	std::string crash_at;                 // IPSEC_STEER_CRASH_AT, "" = unset
	std::vector<std::string> extra;       // more NAME=VALUE entries
	mode_t umask_value = 022;
};

namespace detail {

[[noreturn]] inline void exec_child(const std::string &binary, const std::vector<std::string> &args,
				    const ToolEnv &env, int out_fd)
{
	::dup2(out_fd, 1);
	::dup2(out_fd, 2);
	::umask(env.umask_value);
	if (env.crash_at.empty())
		::unsetenv("IPSEC_STEER_CRASH_AT");
	else
		::setenv("IPSEC_STEER_CRASH_AT", env.crash_at.c_str(), 1);
	for (const auto &kv : env.extra)
		::putenv(const_cast<char *>(kv.c_str()));
	std::vector<char *> argv{const_cast<char *>(binary.c_str())};
	for (const auto &a : args)
		argv.push_back(const_cast<char *>(a.c_str()));
	argv.push_back(nullptr);
	::execv(binary.c_str(), argv.data());
	std::perror("execv");
	::_exit(127);
}

} // namespace detail

// Runs binary with args; a child still running after `limit` is SIGKILLed
// (by its pid) and reported as killed, which no test expects.
inline ToolRun run_tool(const std::string &binary, const std::vector<std::string> &args,
			const ToolEnv &env = {}, std::chrono::seconds limit = std::chrono::seconds(60))
{
	ToolRun r;
	int pipe_fds[2];
	if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
		return r;
	pid_t pid = ::fork();
	if (pid == 0)
		detail::exec_child(binary, args, env, pipe_fds[1]);
	::close(pipe_fds[1]);
	if (pid < 0) {
		::close(pipe_fds[0]);
		r.output = "fork failed";
		return r;
	}
	auto deadline = std::chrono::steady_clock::now() + limit;
	char buf[4096];
	for (;;) {
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
			deadline - std::chrono::steady_clock::now());
		pollfd p{pipe_fds[0], POLLIN, 0};
		if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) {
			::kill(pid, SIGKILL);
			r.output += "\n[test: killed after the time limit]";
			break;
		}
		ssize_t n = ::read(pipe_fds[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		r.output.append(buf, static_cast<size_t>(n));
	}
	::close(pipe_fds[0]);
	while (::waitpid(pid, &r.status, 0) < 0 && errno == EINTR) {
	}
	return r;
}

// The lock file `up` and `down` leave for a pin root (loader/lock.cpp).
inline void remove_lock_file(std::string bpffs_root)
{
	for (char &c : bpffs_root)
		if (c == '/')
			c = '_';
	::unlink(("/run/ipsec-steer/" + bpffs_root + ".lock").c_str());
}


} // namespace steer::test
