// Routes of the calling thread's network namespace.
#pragma once

#include <linux/rtnetlink.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "prefix.hpp"
#include "result.hpp"

namespace steer::ns {

struct Route {
	int family = AF_INET;
	Prefix dst;                      // 0.0.0.0/0 for a default route
	std::optional<Prefix> gateway;   // len ignored
	int oif = 0;                     // 0 = none
	uint32_t table = RT_TABLE_MAIN;
	uint8_t protocol = RTPROT_STATIC;  // ownership: our own protocol number
	std::optional<Prefix> prefsrc;   // len ignored; "src" of `ip route`
	uint8_t scope = RT_SCOPE_UNIVERSE;
	uint8_t type = RTN_UNICAST;
	uint32_t metric = 0;             // 0: the kernel's default (IPv6: 1024)

	bool operator==(const Route &) const = default;
};

// Creates the route or replaces the one with the same table, dst and
// metric (NLM_F_CREATE | NLM_F_REPLACE): never a duplicate.
Status ensure_route(const Route &r);

// Deletes the route matching table, dst, protocol, gateway/oif and prefsrc
// (any scope); a route that is not there is success.
Status delete_route(const Route &r);

// Routes of `family` (AF_UNSPEC = both); table 0 = every table, protocol
// 0 = any. Gateway and prefsrc come back as host prefixes (full length).
Result<std::vector<Route>> list_routes(int family, uint32_t table = 0, uint8_t protocol = 0);

} // namespace steer::ns
