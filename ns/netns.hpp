// Running work inside another network namespace. setns() happens on a
// dedicated thread that ends with the work, so no thread that goes on to
// do other things is ever left in the wrong namespace.
#pragma once

#include <functional>
#include <string>

#include "result.hpp"

namespace steer::ns {

// /run/netns/<name>, as `ip netns` names them.
std::string netns_path(const std::string &name);

bool netns_exists(const std::string &name);

// Runs fn in namespace `name` ("" = the caller's own, on the caller's thread).
Status run_in_netns(const std::string &name, const std::function<Status()> &fn);

} // namespace steer::ns
