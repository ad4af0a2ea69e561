// Running the IKE daemon's control tools (swanctl, ipsec): fork + exec with
// stdout and stderr captured, always reaped. The one file of mesh/ that
// starts processes.
#pragma once

#include <string>
#include <vector>

#include "result.hpp"

namespace steer::mesh {

struct Output {
	int exit_code = 0;     // 128 + signal when killed
	std::string text;      // stdout and stderr, interleaved
};

// Runs argv (argv[0] looked up in PATH), waits at most timeout_ms (then
// SIGKILL). Error only when it could not be started or waited for; a
// non-zero exit is an Output.
[[nodiscard]] Result<Output> run(const std::vector<std::string> &argv, int timeout_ms = 30000);

// "swanctl --load-conns --uri X"
std::string command_line(const std::vector<std::string> &argv);

} // namespace steer::mesh
