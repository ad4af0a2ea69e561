// `ipsec-steer mesh [-c FILE] [--once]` (DESIGN.md §4): the [mesh] agent of
// mesh/agent.hpp. SIGTERM/SIGINT end it with exit 0, leaving the daemon's
// connections and the sets as they are (the next start reconciles).
#include <signal.h>

#include <atomic>
#include <cstdio>

#include "agent.hpp"
#include "cli.hpp"
#include "commands.hpp"
#include "config.hpp"
#include "log.hpp"

namespace steer {

namespace {

std::atomic<bool> stop_requested{false};

void on_stop(int)
{
	stop_requested.store(true);
}

// Without SA_RESTART: a blocking call returns and the loop sees the flag.
void install_stop_handlers()
{
	struct sigaction sa {};
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, nullptr);
	sigaction(SIGINT, &sa, nullptr);
	signal(SIGPIPE, SIG_IGN);
}

} // namespace

int cmd_mesh(const CommandOptions &o)
{
	auto cfg = config::load(o.config_path);
	if (!cfg) {
		std::fprintf(stderr, "%s\n", cfg.error().message().c_str());
		return exit_usage;
	}
	if (!cfg->mesh) {
		std::fprintf(stderr, "%s: no [mesh] table; `ipsec-steer mesh` needs one (docs/design.md §3)\n",
			o.config_path.c_str());
		return exit_usage;
	}
	auto setup = mesh::agent_setup(*cfg->mesh);
	if (!setup) {
		std::fprintf(stderr, "ipsec-steer: %s\n", setup.error().message().c_str());
		return exit_failure;
	}
	mesh::Agent agent(std::move(*setup));
	if (o.once) {
		auto plan = agent.plan_once();
		if (!plan) {
			std::fprintf(stderr, "ipsec-steer: %s\n", plan.error().message().c_str());
			return exit_failure;
		}
		std::fputs(plan->c_str(), stdout);
		return exit_ok;
	}
	install_stop_handlers();
	return agent.run(stop_requested);
}

} // namespace steer
