// Named network namespaces (/run/netns/<name>, as `ip netns` makes them) and
// running work inside one. setns() happens on a dedicated thread that ends
// with the work, so no thread that goes on to do other things is ever left
// in the wrong namespace.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "result.hpp"

namespace steer::ns {

// /run/netns/<name>, as `ip netns` names them.
std::string netns_path(const std::string &name);

bool netns_exists(const std::string &name);

// Runs fn in namespace `name` ("" = the caller's own, on the caller's thread).
Status run_in_netns(const std::string &name, const std::function<Status()> &fn);

// Like `ip netns add`: /run/netns becomes a shared mount point (so the
// namespace's bind mount propagates to, and is unmounted from, every mount
// namespace), then a fresh namespace is bind-mounted on /run/netns/<name>.
// An existing namespace is success; a dead file left by a failed creation
// (or by a creation inside a private mount namespace) gets a namespace.
// `inside`, when given, runs in the new namespace before it gets its name:
// what it does (an ownership mark) is there from the first moment the name
// exists, so no crash can leave the named namespace without it. When it
// fails, the namespace is never named and the error is returned.
Status create_netns(const std::string &name, const std::function<Status()> &inside = {});

// umount2(MNT_DETACH) + unlink; an absent namespace is success.
Status delete_netns(const std::string &name);

// Names under /run/netns, sorted; empty when the directory is missing.
std::vector<std::string> list_netns();

} // namespace steer::ns
