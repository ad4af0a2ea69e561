// Flushing conntrack entries through ctnetlink (libmnl), in the calling
// thread's network namespace. After steering starts, flows the router
// already tracks (IKE from the peer, NAT-T) would keep their old state;
// deleting them makes the next packet take the new path.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "prefix.hpp"
#include "result.hpp"

namespace steer::ns {

// Deletes every entry whose original direction goes to dst_address (a
// host, or a whole prefix) with protocol l4proto (IPPROTO_UDP, IPPROTO_ESP,
// ...) and, when given, destination port dst_port. Returns how many were
// deleted; 0 without error when conntrack or ctnetlink is not there.
Result<unsigned> delete_conntrack(int family, const Prefix &dst_address, uint8_t l4proto,
				  std::optional<uint16_t> dst_port);

// Several patterns at once, with one table dump per family.
struct ConntrackMatch {
	int family = 0;
	Prefix dst;
	uint8_t l4proto = 0;
	std::optional<uint16_t> dst_port;
};
Result<unsigned> delete_conntrack(const std::vector<ConntrackMatch> &matches);

// The original-direction key of one ctnetlink message, as parsed from a
// dump. Pure; exposed for tests.
struct ConntrackKey {
	int family = 0;
	Prefix dst;
	uint8_t l4proto = 0;
	std::optional<uint16_t> dst_port;    // host order; for port-less protocols nullopt
	std::vector<uint8_t> orig_tuple;     // the raw CTA_TUPLE_ORIG attribute, padded
	std::optional<uint16_t> zone;        // CTA_ZONE, network order
};

// nullopt when the message carries no usable original tuple.
std::optional<ConntrackKey> parse_conntrack(const void *nlmsg);

bool conntrack_matches(const ConntrackKey &key, int family, const Prefix &dst,
		       uint8_t l4proto, std::optional<uint16_t> dst_port);

} // namespace steer::ns
