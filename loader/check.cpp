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
#include "ifaddr.hpp"
#include "netns.hpp"
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

bool has_address(const std::vector<ns::InterfaceAddress> &addrs, const config::IpAddress &want)
{
	for (const auto &a : addrs)
		if (a.family == want.family &&
		    std::equal(a.bytes.begin(), a.bytes.begin() + (want.family == AF_INET ? 4 : 16),
			       want.bytes.begin()))
			return true;
	return false;
}

// Interface present and the public address on it, in the router namespace.
Status check_public_side(const config::Gateway &gw)
{
	auto addrs = ns::interface_addresses(gw.public_interface);
	if (!ns::interface_index(gw.public_interface))
		return plain_error("public_interface " + gw.public_interface + " does not exist",
				   "gateway " + gw.name);
	if (!addrs || !has_address(*addrs, gw.public_address))
		return plain_error("public_address " + gw.public_address.text + " is not an address of " +
				   gw.public_interface, "gateway " + gw.name);
	return {};
}

void check_gateways(const config::Config &cfg, std::vector<Problem> &out)
{
	for (const auto &gw : cfg.gateways) {
		if (!gw.router_netns.empty() && !ns::netns_exists(gw.router_netns)) {
			out.push_back({"router_netns " + gw.router_netns + " does not exist (gateway " + gw.name + ")",
				       "create it (ip netns add " + gw.router_netns + ") or fix router_netns"});
			continue;
		}
		Status st = ns::run_in_netns(gw.router_netns, [&] { return check_public_side(gw); });
		if (!st)
			out.push_back({st.error().message(),
				       "fix public_interface/public_address, or add the address to the interface"});
	}
}

} // namespace

int cmd_check(const CommandOptions &o)
{
	auto cfg = config::load(o.config_path);
	if (!cfg) {
		std::fprintf(stderr, "%s\n", cfg.error().what.c_str());
		return exit_usage;
	}
	std::vector<Problem> problems;
	check_privileges(problems);
	if (!cfg->gateways.empty())
		check_kernel(*cfg, problems);
	check_gateways(*cfg, problems);
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
