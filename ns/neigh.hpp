// Neighbour (ARP / NDP) entries of the calling thread's network namespace.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "prefix.hpp"
#include "result.hpp"

namespace steer::ns {

struct NeighInfo {
	int ifindex = 0;
	Prefix ip;                                 // a host prefix
	std::optional<std::array<uint8_t, 6>> mac; // nullopt while unresolved
	uint16_t state = 0;                        // NUD_* (NUD_PERMANENT, ...)
	uint8_t flags = 0;                         // NTF_*
};

// ip -> mac on the link as a PERMANENT entry, replacing whatever entry
// (learned or stale) is there. Set the link's MAC first: a MAC change
// flushes every neighbour of the link, permanent ones included.
Status ensure_permanent_neighbour(int ifindex, const Prefix &ip, const std::array<uint8_t, 6> &mac);

// The entry for ip on the link, nullopt when there is none.
Result<std::optional<NeighInfo>> find_neighbour(int ifindex, const Prefix &ip);

// Removes it; an entry (or link) that is not there is success.
Status delete_neighbour(int ifindex, const Prefix &ip);

} // namespace steer::ns
