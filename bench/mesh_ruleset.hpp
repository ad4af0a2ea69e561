// The host-mesh firewall with N peer pairs, as `ipsec-steer mesh` keeps it:
// [firewall] ipsec_only = ["udp/8472"] plus the peer . subnet set filled and
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
Result<nft::Ruleset> mesh_ruleset(const std::vector<PeerPair> &pairs);

// A candidate design, for comparison only (`nft -f` text): the same table,
// but the pairs in a HASH set keyed by peer . (subnet masked to its prefix
// length), matched by `ip6 saddr . ip6 daddr & <mask> @set`, one set (and
// rule) per prefix length in use (here every subnet is a /64, so one).
// Same semantics as the interval set for subnets of one length; insertion
// and lookup are O(1) per element where the interval (pipapo) set's are
// linear in the number of elements.
std::string hash_design_text(const std::vector<PeerPair> &pairs);

} // namespace steer::bench
