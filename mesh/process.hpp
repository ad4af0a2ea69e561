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

// Runs argv (argv[0] looked up in PATH) in a process group of its own,
// waits at most timeout_ms (then SIGKILL to the group: nothing it started
// outlives it). Error only when it could not be started or waited for; a
// non-zero exit is an Output.
[[nodiscard]] Result<Output> run(const std::vector<std::string> &argv, int timeout_ms = 30000);

// Starts argv and returns at once: a double fork (init reaps it), stdin,
// stdout and stderr on /dev/null, SIGALRM (default: end) after
// max_seconds. For a command whose wait is of no use and whose being
// killed midway could lose what it asked (`ipsec whack --initiate`: whack
// stays attached while pluto negotiates). Error only when it could not fork.
[[nodiscard]] Status start_detached(const std::vector<std::string> &argv, unsigned max_seconds);

// "swanctl --load-conns --uri X"
std::string command_line(const std::vector<std::string> &argv);

} // namespace steer::mesh
