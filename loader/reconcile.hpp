// `up` and `down`: make the kernel match the config, mark-and-sweep. Every
// step is an ensure (create what is missing, fix what differs, leave what
// matches), so re-running after a crash at any point converges, and
// re-running with an unchanged config changes nothing.
#pragma once

#include <string>

#include "config.hpp"
#include "result.hpp"

namespace steer {

Status up(const config::Config &cfg);

// Removes the gateways the config names, or with all=true every object the
// tool owns (found by link aliases, route protocol and pins), config or not.
Status down(const config::Config &cfg, bool all);

} // namespace steer
