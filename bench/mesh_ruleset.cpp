#include "mesh_ruleset.hpp"

#include <algorithm>
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

std::string hash_design_text(const std::vector<PeerPair> &pairs)
{
	// The base table (empty interval sets, their rule) keeps the comparison
	// to the same chains; the hash set and its rule come first in forward.
	auto base = mesh_ruleset({});
	std::string s = base ? nft::to_text(*base) : std::string();
	s += "table inet ipsec_steer {\n set peer_subnets_v6_64 {\n  type ipv6_addr . ipv6_addr\n";
	s += "  size " + std::to_string(std::max<size_t>(pairs.size(), 1) * 2) + "\n";
	if (!pairs.empty()) {
		s += "  elements = {";
		for (size_t i = 0; i < pairs.size(); i++) {
			const std::string &sub = pairs[i].subnet;
			s += (i ? ",\n   " : " ") + pairs[i].peer + " . " + sub.substr(0, sub.find('/'));
		}
		s += " }\n";
	}
	s += " }\n}\n";
	s += "insert rule inet ipsec_steer forward ip6 saddr . ip6 daddr & ffff:ffff:ffff:ffff:: "
	     "@peer_subnets_v6_64 meta ipsec exists accept\n";
	return s;
}

} // namespace steer::bench
