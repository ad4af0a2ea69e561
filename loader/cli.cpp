#include "cli.hpp"

#include <CLI/CLI.hpp>

#include <functional>

#include "commands.hpp"
#include "config.hpp"
#include "log.hpp"
#include "bpf_steer.hpp"

namespace steer {

namespace {

using Runner = std::function<int(const CommandOptions &)>;

// One row per subcommand of docs/design.md §4.
struct CommandSpec {
	const char *name;
	const char *help;
	void (*add_options)(CLI::App &, CommandOptions &);
	Runner run;
};

void opt_config(CLI::App &app, CommandOptions &o)
{
	app.add_option("-c,--config", o.config_path, "config file")
		->default_val(std::string(config::default_path));
}

void opts_down(CLI::App &app, CommandOptions &o)
{
	opt_config(app, o);
	app.add_flag("--all", o.all, "remove every object this tool owns, config or not");
}

void opts_status(CLI::App &app, CommandOptions &o)
{
	opt_config(app, o);
	app.add_flag("--json", o.json, "one JSON document on stdout");
}

void opts_stats(CLI::App &app, CommandOptions &o)
{
	opts_status(app, o);
	app.add_flag("--prometheus", o.prometheus, "Prometheus exposition format");
	app.add_option("--watch", o.watch_seconds, "refresh every SEC seconds")
		->check(CLI::PositiveNumber);
}

void opts_watch(CLI::App &app, CommandOptions &o)
{
	opt_config(app, o);
	app.add_option("--metrics", o.metrics,
		"serve Prometheus metrics (counters, XFRM drops) on ADDR:PORT, e.g. 127.0.0.1:9573");
}

void opts_mesh(CLI::App &app, CommandOptions &o)
{
	opt_config(app, o);
	app.add_flag("--once", o.once, "print the plan and exit");
}

void opts_exec(CLI::App &app, CommandOptions &o)
{
	app.add_option("name", o.gateway, "gateway name")->required();
	app.add_option("cmd", o.argv, "command and arguments (after --)")->required();
}

const std::vector<CommandSpec> &command_table()
{
	static const std::vector<CommandSpec> table = {
		{"up", "make the kernel match the config", opt_config, cmd_up},
		{"down", "remove what up created", opts_down, cmd_down},
		{"status", "show each gateway's state", opts_status, cmd_status},
		{"stats", "per-gateway, per-class packet counters", opts_stats, cmd_stats},
		{"check", "validate the config and the environment", opt_config, cmd_check},
		{"watch", "stay running and restore drifted state", opts_watch, cmd_watch},
		{"mesh", "keep IKE connections equal to etcd leases", opts_mesh, cmd_mesh},
		{"exec", "run a command inside a gateway's namespace", opts_exec, cmd_exec},
	};
	return table;
}

} // namespace

int run_cli(int argc, char **argv)
{
	CLI::App app{"ipsec-steer: IKE daemons in their own namespace, IPsec steered there by eBPF"};
	app.require_subcommand(1);
	app.set_version_flag("--version", "ipsec-steer 0.1.0");
	int verbosity = 0;
	app.add_flag("-v,--verbose", verbosity, "more logging (-vv for debug, with libbpf's)");
	CommandOptions opts;
	const CommandSpec *chosen = nullptr;
	CLI::App *chosen_app = nullptr;
	for (const auto &spec : command_table()) {
		CLI::App *sub = app.add_subcommand(spec.name, spec.help);
		spec.add_options(*sub, opts);
		sub->callback([&chosen, &chosen_app, &spec, sub] {
			chosen = &spec;
			chosen_app = sub;
		});
	}
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		int rc = app.exit(e);
		return rc == 0 ? exit_ok : exit_usage;
	}
	log::threshold() = static_cast<log::Level>(std::min(1 + verbosity, 3));
	if (chosen_app && chosen_app->get_option_no_throw("--config"))
		opts.config_given = chosen_app->count("--config") > 0;
	route_libbpf_logs();
	return chosen ? chosen->run(opts) : exit_usage;
}

} // namespace steer
