// The pin tree: <bpffs root>/<router namespace or "host">/{gateways,...}.
#pragma once

#include <string>

#include "result.hpp"

namespace steer {

// The directory of one router namespace ("" = the namespace we run in).
std::string pin_dir(const std::string &bpffs_root, const std::string &router_netns);

// Is path (or the nearest existing parent) on a bpf filesystem?
Status check_bpffs(const std::string &path);

// Creates the pin directory (mode 0700) when missing; bpffs must be mounted.
Status ensure_pin_dir(const std::string &dir);

} // namespace steer
