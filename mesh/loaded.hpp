// What the IKE daemon has loaded, as far as the mesh plan cares: per
// connection its addresses and its children's traffic selectors. Pure
// parsers of the daemon's own reports.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace steer::mesh {

struct LoadedChild {
	std::vector<std::string> local_ts, remote_ts;   // "172.16.1.0/24" or "dynamic"
	bool operator==(const LoadedChild &) const = default;
};

struct LoadedConn {
	std::vector<std::string> local_addrs, remote_addrs;
	std::map<std::string, LoadedChild> children;
	bool operator==(const LoadedConn &) const = default;
};

using Loaded = std::map<std::string, LoadedConn>;   // by connection name

// `swanctl --list-conns --raw`: one "list-conn event {NAME {...}}" line
// per connection, then "list-conns reply {}". Error on text that is not
// that format (never a partial result).
Result<Loaded> parse_swanctl_raw(std::string_view text);

// The `conn NAME` sections of libreswan files (ours, in conf_dir): left,
// right, leftsubnet(s), rightsubnet(s); a "-subnet" conn is the child of
// the conn it names with also=.
Result<Loaded> parse_libreswan_conf(std::string_view text);

} // namespace steer::mesh
