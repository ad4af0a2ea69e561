// `up` and `down` on the command line: config errors exit 2 before any
// kernel state is touched; what the machine lacks (preflight.hpp) and
// runtime failures exit 1 naming what failed and the fix.
#include <cstdio>

#include "cli.hpp"
#include "commands.hpp"
#include "config.hpp"
#include "lock.hpp"
#include "preflight.hpp"
#include "reconcile.hpp"

namespace steer {

namespace {

int fail(const Error &e)
{
	std::fprintf(stderr, "ipsec-steer: %s\n", e.message().c_str());
	return exit_failure;
}

} // namespace

int cmd_up(const CommandOptions &o)
{
	auto cfg = config::load(o.config_path);
	if (!cfg) {
		std::fprintf(stderr, "%s\n", cfg.error().message().c_str());
		return exit_usage;
	}
	// Capabilities before the lock: without them even its file is refused.
	if (Status st = preflight_capabilities(); !st)
		return fail(st.error());
	// The rest under the lock: the capacity check reads the pinned maps.
	auto lock = PinTreeLock::acquire(cfg->bpffs);
	if (!lock)
		return fail(lock.error());
	if (Status st = preflight_up(*cfg); !st)
		return fail(st.error());
	if (Status st = up(*cfg); !st)
		return fail(st.error());
	return exit_ok;
}

int cmd_down(const CommandOptions &o)
{
	config::Config cfg;
	if (!o.all || o.config_given) {
		auto loaded = config::load(o.config_path);
		if (!loaded) {
			std::fprintf(stderr, "%s\n", loaded.error().message().c_str());
			return exit_usage;
		}
		cfg = std::move(*loaded);
	}
	if (Status st = preflight_capabilities(); !st)
		return fail(st.error());
	auto lock = PinTreeLock::acquire(cfg.bpffs);
	if (!lock)
		return fail(lock.error());
	if (Status st = down(cfg, o.all); !st)
		return fail(st.error());
	return exit_ok;
}

} // namespace steer
