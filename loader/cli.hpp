// The command line: a table of subcommands, each with its options and the
// function that runs it. main() only dispatches.
#pragma once

namespace steer {

// Exit status: 0 ok, 1 runtime failure, 2 usage or config error.
enum Exit { exit_ok = 0, exit_failure = 1, exit_usage = 2 };

int run_cli(int argc, char **argv);

} // namespace steer
