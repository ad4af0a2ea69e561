#include "mesh_ruleset.hpp"

#include <cstdio>

namespace steer::bench {

namespace cfg = steer::config;

std::vector<PeerPair> peer_pairs(size_t n)
{
	std::vector<PeerPair> out;
	char peer[64], subnet[64];
	for (size_t i = 0; i < n; i++) {
		std::snprintf(peer, sizeof(peer), "2001:db8:a::%zx:%zx", i >> 16, i & 0xffff);
		std::snprintf(subnet, sizeof(subnet), "2001:db8:%zx:%zx::/64", 0xb000 + (i >> 16), i & 0xffff);
		out.push_back({peer, subnet});
	}
	return out;
}

Result<nft::Ruleset> mesh_ruleset(const std::vector<PeerPair> &pairs)
{
	cfg::HostFirewall fw;
	fw.ipsec_only.push_back(*cfg::parse_service("udp/8472"));
	nft::Ruleset rs = nft::plan_host_firewall(fw, 500, 4500);
	for (const PeerPair &p : pairs) {
		auto subnet = cfg::parse_cidr(p.subnet);
		auto peer = cfg::parse_ip(p.peer);
		if (!subnet || !peer)
			return plain_error("bad pair", p.peer);
		if (Status st = nft::add_peer_subnet(rs, *peer, *subnet); !st)
			return st.error();
	}
	// First in forward, so every forwarded IPv6 packet pays one set lookup.
	nft::expr::InSet in{{{nft::KeyType::ipv6_addr, nft::Addr::saddr},
			     {nft::KeyType::ipv6_addr, nft::Addr::daddr}},
			    nft::set_names::peer_subnets_v6};
	rs.rules.insert(rs.rules.begin(),
			nft::Rule{"forward", {in, nft::expr::Ipsec{false, true}, nft::expr::Verdict{}}});
	return rs;
}

} // namespace steer::bench
