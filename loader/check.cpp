// `check`: the config, then the environment the config needs, then the
// nftables rulesets of the namespaces the config manages (other tools'
// NAT and accept rules that defeat IPsec). Every problem is printed with
// its fix; nothing is changed.
#include <linux/capability.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <sstream>
#include <thread>

#include "cli.hpp"
#include "commands.hpp"
#include "config.hpp"
#include "preflight.hpp"
#include "inspect.hpp"
#include "netns.hpp"
#include "pins.hpp"
#include "plan.hpp"

namespace steer {

namespace {

using Problem = Finding;

// What `up` would refuse (preflight.hpp), and what it would mend: a
// bpffs it mounts, a redirect it falls back from. Kernel BTF is noted.
void check_machine(const config::Config &cfg, std::vector<Problem> &out)
{
	for (auto &f : missing_capabilities())
		out.push_back(f);
	if (cfg.gateways.empty())
		return;
	for (auto &f : map_capacity_findings(cfg))
		out.push_back(f);
	for (auto &f : bpffs_findings(cfg.bpffs))
		out.push_back(f);
	if (!on_bpffs(cfg.bpffs) && !bpffs_mount_point(cfg.bpffs).empty())
		std::fprintf(stderr, "note: no bpf filesystem at /sys/fs/bpf yet: `up` mounts one\n");
	if (!redirect_peer_available())
		std::fprintf(stderr, "note: the kernel has no bpf_redirect_peer: `up` steers with bpf_redirect\n");
	if (std::string n = kernel_btf_note(); !n.empty())
		std::fprintf(stderr, "note: %s\n", n.c_str());
}

// The probe runs in a namespace of its own, made for it on a thread and
// gone with the thread, so not even an aborted batch reaches a namespace
// we check; where unshare is refused it runs here (it commits nothing).
Result<nft::Features> probe_features_isolated()
{
	std::optional<Result<nft::Features>> got;
	std::thread t([&] {
		if (::unshare(CLONE_NEWNET) != 0)
			return;
		got.emplace(nft::probe_features());
	});
	t.join();
	return got ? *got : nft::probe_features();
}

void add_findings(const std::vector<nft::Finding> &found, const std::string &where, std::vector<Problem> &out)
{
	for (const auto &f : found)
		out.push_back({f.problem + where, f.fix, f.rule});
}

// Our own namespace ("") and each gateway namespace: every NAT rule that
// would catch IPsec-bound traffic, and accepts of the namespace's
// ipsec_only services (none: that audit is skipped).
void audit_netns(const std::string &netns, const std::vector<config::Service> &ipsec_only,
	std::vector<Problem> &out)
{
	const std::string where = netns.empty() ? "" : " (in namespace " + netns + ")";
	std::vector<nft::Finding> found;
	Status st = ns::run_in_netns(netns, [&]() -> Status {
		auto rs = nft::read_ruleset();
		if (!rs)
			return rs.error();
		found = nft::audit_nat(*rs);
		auto accepts = nft::audit_ipsec_only(*rs, ipsec_only);
		found.insert(found.end(), accepts.begin(), accepts.end());
		return {};
	});
	if (!st) {
		out.push_back({"cannot read the nftables ruleset" + where + ": " + st.error().message(),
			"load nf_tables (modprobe nf_tables) and run as root"});
		return;
	}
	add_findings(found, where, out);
}

void check_firewalls(const config::Config &cfg, std::vector<Problem> &out)
{
	auto features = probe_features_isolated();
	if (!features)
		out.push_back({"cannot probe nf_tables: " + features.error().message(),
			"load nf_tables (modprobe nf_tables) and run as root"});
	else
		add_findings(nft::audit_features(*features), "", out);
	audit_netns("", cfg.firewall ? cfg.firewall->ipsec_only : std::vector<config::Service>{}, out);
	for (const auto &p : plan_gateways(cfg)) {
		if (!ns::netns_exists(p.netns))
			continue;  // not up yet: nothing of anyone's there to check
		const auto &gw = *p.gateway;
		audit_netns(p.netns, gw.firewall ? gw.firewall->ipsec_only : std::vector<config::Service>{}, out);
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
	std::vector<Problem> problems = environment_findings(*cfg);
	check_machine(*cfg, problems);
	// Reading rulesets needs CAP_NET_ADMIN, already reported when missing.
	if (effective_capabilities() & (1ull << CAP_NET_ADMIN))
		check_firewalls(*cfg, problems);
	for (const auto &p : problems) {
		std::fprintf(stderr, "problem: %s\n", to_error({p.what, "", "", p.err}).what.c_str());
		if (!p.rule.empty())
			std::fprintf(stderr, "  rule: %s\n", p.rule.c_str());
		if (!p.fix.empty())
			std::fprintf(stderr, "  fix: %s\n", p.fix.c_str());
	}
	if (!problems.empty())
		return exit_failure;
	std::printf("%s: ok (%zu gateways)\n", o.config_path.c_str(), cfg->gateways.size());
	return exit_ok;
}

} // namespace steer
