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

// `up` of the gateways of one router namespace only (what `watch` re-runs
// where something drifted); the rest of the config is left as it is.
Status up_router_of(const config::Config &cfg, const std::string &router_netns);

// Removes the gateways the config names, or with all=true every object the
// tool owns (found by link aliases, route protocol and pins), config or not.
Status down(const config::Config &cfg, bool all);

// Everything this tool owns in the router namespace whose pin directory
// under bpffs is pin_dir_name ("host" = the namespace the tool runs in).
Status down_router_everything(const std::string &bpffs, const std::string &pin_dir_name);

} // namespace steer
