// What each subcommand does, given its parsed options.
#pragma once

#include <string>
#include <vector>

namespace steer {

struct CommandOptions {
	std::string config_path;
	bool config_given = false; // -c was on the command line
	bool all = false;          // down --all
	bool json = false;         // status/stats --json
	bool prometheus = false;   // stats --prometheus
	double watch_seconds = 0;  // stats --watch
	bool once = false;         // mesh --once
	std::string metrics;       // watch --metrics ADDR:PORT
	std::string gateway;       // exec NAME
	std::vector<std::string> argv; // exec -- CMD...
};

int cmd_check(const CommandOptions &o);
int cmd_up(const CommandOptions &o);
int cmd_down(const CommandOptions &o);
int cmd_status(const CommandOptions &o);
int cmd_stats(const CommandOptions &o);
int cmd_exec(const CommandOptions &o);
int cmd_watch(const CommandOptions &o);
int cmd_mesh(const CommandOptions &o);

} // namespace steer
