#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "fd.hpp"

namespace steer::mesh {

namespace {

// Owns a started child: the destructor kills and reaps one still running,
// so no error path leaves a zombie or a stray swanctl.
class Child {
public:
	explicit Child(pid_t pid) : pid_(pid) {}
	Child(const Child &) = delete;
	Child &operator=(const Child &) = delete;
	~Child()
	{
		if (pid_ > 0) {
			kill_group();
			waitpid(pid_, nullptr, 0);
		}
	}
	// The child leads its own process group (exec_child): what it started
	// (`ipsec` is a shell running whack or addconn) dies with it.
	void kill_group() const
	{
		if (kill(-pid_, SIGKILL) < 0)
			kill(pid_, SIGKILL);
	}
	// The exit code once it ended (128 + signal if killed).
	Result<int> wait()
	{
		int status = 0;
		while (waitpid(pid_, &status, 0) < 0)
			if (errno != EINTR)
				return sys_error(errno, "waitpid");
		pid_ = -1;
		return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	pid_t pid() const { return pid_; }

private:
	pid_t pid_;
};

// argv as execvp takes it, made before fork (no allocation in the child
// of a process that may have other threads).
std::vector<char *> exec_args(const std::vector<std::string> &argv)
{
	std::vector<char *> args;
	for (const auto &a : argv)
		args.push_back(const_cast<char *>(a.c_str()));
	args.push_back(nullptr);
	return args;
}

[[noreturn]] void exec_child(std::vector<char *> &args, int out)
{
	setpgid(0, 0);
	dup2(out, STDOUT_FILENO);
	dup2(out, STDERR_FILENO);
	int null = open("/dev/null", O_RDONLY);
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	execvp(args[0], args.data());
	_exit(127);
}

// Reads the pipe until EOF or the deadline.
bool drain(int fd, std::string &text, int timeout_ms)
{
	auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
	char buf[4096];
	for (;;) {
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
			deadline - std::chrono::steady_clock::now()).count();
		if (left <= 0)
			return false;
		pollfd p{fd, POLLIN, 0};
		int n = poll(&p, 1, static_cast<int>(left));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		ssize_t got = read(fd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return true;
		text.append(buf, static_cast<size_t>(got));
	}
}

} // namespace

Result<Output> run(const std::vector<std::string> &argv, int timeout_ms)
{
	if (argv.empty())
		return plain_error("run: empty command");
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return sys_error(errno, "pipe2", argv[0]);
	Fd rd(fds[0]), wr(fds[1]);
	auto args = exec_args(argv);
	pid_t pid = fork();
	if (pid < 0)
		return sys_error(errno, "fork", argv[0]);
	if (pid == 0)
		exec_child(args, wr.get());
	// Also set here: a timeout right after fork still finds the group.
	setpgid(pid, pid);
	Child child(pid);
	wr.reset();
	Output out;
	bool done = drain(rd.get(), out.text, timeout_ms);
	if (!done)
		child.kill_group();
	auto code = child.wait();
	if (!code)
		return code.error();
	out.exit_code = *code;
	if (!done)
		out.text += "\n(killed after " + std::to_string(timeout_ms) + " ms)";
	return out;
}

Status start_detached(const std::vector<std::string> &argv, unsigned max_seconds)
{
	if (argv.empty())
		return plain_error("start_detached: empty command");
	auto args = exec_args(argv);
	pid_t pid = fork();
	if (pid < 0)
		return sys_error(errno, "fork", argv[0]);
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		close_range(3, ~0U, 0);   // nothing of the agent's (etcd stream, netlink)
		signal(SIGALRM, SIG_DFL);
		alarm(max_seconds);   // survives exec
		execvp(args[0], args.data());
		_exit(127);
	}
	while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR)
		;
	return {};
}

std::string command_line(const std::vector<std::string> &argv)
{
	std::string s;
	for (const auto &a : argv)
		s += (s.empty() ? "" : " ") + a;
	return s;
}

} // namespace steer::mesh
