// `check`: the config, then the environment the config needs. Every
// problem is printed with its fix; nothing is changed.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli.hpp"
#include "commands.hpp"
#include "config.hpp"
#include "environment.hpp"
#include "pins.hpp"

namespace steer {

namespace {

struct Problem {
	std::string what;
	std::string fix;
};

// Effective capability bits of this process, from /proc/self/status.
uint64_t effective_caps()
{
	std::ifstream in("/proc/self/status");
	std::string line;
	while (std::getline(in, line))
		if (line.rfind("CapEff:", 0) == 0)
			return std::stoull(line.substr(7), nullptr, 16);
	return 0;
}

void check_privileges(std::vector<Problem> &out)
{
	constexpr int cap_net_admin = 12, cap_sys_admin = 21, cap_bpf = 39;
	uint64_t caps = effective_caps();
	if (!(caps & (1ull << cap_net_admin)))
		out.push_back({"missing CAP_NET_ADMIN", "run as root or grant CAP_NET_ADMIN"});
	if (!(caps & ((1ull << cap_bpf) | (1ull << cap_sys_admin))))
		out.push_back({"missing CAP_BPF (or CAP_SYS_ADMIN)", "run as root or grant CAP_BPF"});
}

void check_kernel(const config::Config &cfg, std::vector<Problem> &out)
{
	if (::access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		out.push_back({"kernel BTF missing (/sys/kernel/btf/vmlinux)",
			       "use a kernel built with CONFIG_DEBUG_INFO_BTF=y"});
	if (Status st = check_bpffs(cfg.bpffs); !st)
		out.push_back({st.error().message(), "mount -t bpf bpf /sys/fs/bpf"});
}

} // namespace

int cmd_check(const CommandOptions &o)
{
	auto cfg = config::load(o.config_path);
	if (!cfg) {
		std::fprintf(stderr, "%s\n", cfg.error().what.c_str());
		return exit_usage;
	}
	if (Status st = validate_environment(*cfg); !st) {
		std::fprintf(stderr, "%s\n", st.error().message().c_str());
		return exit_usage;
	}
	std::vector<Problem> problems;
	check_privileges(problems);
	if (!cfg->gateways.empty())
		check_kernel(*cfg, problems);
	for (const auto &p : problems)
		std::fprintf(stderr, "problem: %s\n  fix: %s\n", p.what.c_str(), p.fix.c_str());
	if (!problems.empty())
		return exit_failure;
	std::printf("%s: ok (%zu gateways)\n", o.config_path.c_str(), cfg->gateways.size());
	return exit_ok;
}

int cmd_not_built(const char *command, const char *issue)
{
	std::fprintf(stderr, "ipsec-steer: `%s` is not built yet (tracked in issue %s)\n", command, issue);
	return exit_failure;
}

} // namespace steer
