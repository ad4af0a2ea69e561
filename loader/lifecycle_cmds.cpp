// `up` and `down` on the command line: config errors exit 2 before any
// kernel state is touched; runtime failures exit 1 naming what failed.
#include <cstdio>

#include "cli.hpp"
#include "commands.hpp"
#include "config.hpp"
#include "environment.hpp"
#include "lock.hpp"
#include "reconcile.hpp"

namespace steer {

namespace {

Result<config::Config> load_checked(const CommandOptions &o, bool environment)
{
	auto cfg = config::load(o.config_path);
	if (!cfg)
		return cfg.error();
	if (environment)
		if (Status st = validate_environment(*cfg); !st)
			return st.error();
	return cfg;
}

int fail(const Error &e)
{
	std::fprintf(stderr, "ipsec-steer: %s\n", e.message().c_str());
	return exit_failure;
}

} // namespace

int cmd_up(const CommandOptions &o)
{
	auto cfg = load_checked(o, true);
	if (!cfg) {
		std::fprintf(stderr, "%s\n", cfg.error().message().c_str());
		return exit_usage;
	}
	auto lock = PinTreeLock::acquire(cfg->bpffs);
	if (!lock)
		return fail(lock.error());
	if (Status st = up(*cfg); !st)
		return fail(st.error());
	return exit_ok;
}

int cmd_down(const CommandOptions &o)
{
	config::Config cfg;
	if (!o.all || o.config_given) {
		auto loaded = load_checked(o, false);
		if (!loaded) {
			std::fprintf(stderr, "%s\n", loaded.error().message().c_str());
			return exit_usage;
		}
		cfg = std::move(*loaded);
	}
	auto lock = PinTreeLock::acquire(cfg.bpffs);
	if (!lock)
		return fail(lock.error());
	if (Status st = down(cfg, o.all); !st)
		return fail(st.error());
	return exit_ok;
}

} // namespace steer
