// The host-mesh firewall with N peer pairs, as `ipsec-steer mesh` keeps it:
// [firewall] ipsec_only = ["udp/8472"] plus the peer . subnet pairs filled
// into the production sets (nft/model: one hash set per prefix length) and
// matched in forward. Shared by nft_bench (apply time) and datapath_bench
// (forward cost per packet at each size). Peers are IPv6 documentation
// addresses (2001:db8::/32 holds 100,000 of them; IPv4's three /24s don't).
#pragma once

#include <string>
#include <vector>

#include "model.hpp"
#include "result.hpp"

namespace steer::bench {

struct PeerPair {
	std::string peer, subnet; // "2001:db8:a::0:1", "2001:db8:b000:1::/64"
};

std::vector<PeerPair> peer_pairs(size_t n);

// plan_host_firewall + add_peer_subnet for each pair (peer_subnets_v6_64,
// the hash set of the /64s) + first in forward, per pair set, the lookup
// `ip6 saddr . ip6 daddr & ffff:ffff:ffff:ffff:: @peer_subnets_v6_64 meta
// ipsec exists accept`: every forwarded IPv6 packet pays one lookup per
// prefix length in use (here one).
Result<nft::Ruleset> mesh_ruleset(const std::vector<PeerPair> &pairs);

// The design it replaced, for comparison: the same table with the pairs in
// one interval set of `ipv6_addr . ipv6_addr` (`flags interval`: pipapo),
// matched by `ip6 saddr . ip6 daddr @peer_subnets_v6`. Its insertion and
// lookup are linear in the number of elements.
Result<nft::Ruleset> interval_ruleset(const std::vector<PeerPair> &pairs);

// The kernel set of a pair in mesh_ruleset ("peer_subnets_v6_64") and its
// element as `nft add element` takes it ("2001:db8:a::0:1 . 2001:db8:b000:1::").
std::string pair_set(const PeerPair &p);
std::string pair_element(const PeerPair &p);

} // namespace steer::bench
