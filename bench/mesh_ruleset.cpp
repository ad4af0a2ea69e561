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

namespace {

nft::Ruleset base()
{
	cfg::HostFirewall fw;
	fw.ipsec_only.push_back(*cfg::parse_service("udp/8472"));
	return nft::plan_host_firewall(fw, 500, 4500);
}

// `ip6 saddr . ip6 daddr [& MASK] @set meta ipsec exists accept`, first in forward.
void insert_lookup(nft::Ruleset &rs, const std::string &set, int prefix)
{
	using nft::Addr;
	using nft::KeyType;
	nft::expr::InSet in{{{KeyType::ipv6_addr, Addr::saddr}, {KeyType::ipv6_addr, Addr::daddr, prefix}}, set};
	nft::Rule r{"forward", {}};
	r.exprs.emplace_back(std::move(in));
	r.exprs.emplace_back(nft::expr::Ipsec{false, true});
	r.exprs.emplace_back(nft::expr::Verdict{});
	rs.rules.insert(rs.rules.begin(), std::move(r));
}

Status parse_pair(const PeerPair &p, cfg::IpAddress &peer, cfg::Cidr &subnet)
{
	auto s = cfg::parse_cidr(p.subnet);
	auto a = cfg::parse_ip(p.peer);
	if (!s || !a)
		return plain_error("bad pair", p.peer);
	peer = *a;
	subnet = *s;
	return {};
}

} // namespace

Result<nft::Ruleset> mesh_ruleset(const std::vector<PeerPair> &pairs)
{
	nft::Ruleset rs = base();
	for (const PeerPair &p : pairs) {
		cfg::IpAddress peer;
		cfg::Cidr subnet;
		if (Status st = parse_pair(p, peer, subnet); !st)
			return st.error();
		if (Status st = nft::add_peer_subnet(rs, peer, subnet); !st)
			return st.error();
	}
	for (const auto &s : rs.sets)
		if (s.name.rfind(nft::set_names::peer_subnets_v6, 0) == 0)
			insert_lookup(rs, s.name, s.prefix.back());
	return rs;
}

Result<nft::Ruleset> interval_ruleset(const std::vector<PeerPair> &pairs)
{
	nft::Ruleset rs = base();
	nft::Set set{nft::set_names::peer_subnets_v6, {nft::KeyType::ipv6_addr, nft::KeyType::ipv6_addr}, {}, {}};
	set.interval = true;
	for (const PeerPair &p : pairs) {
		cfg::IpAddress peer;
		cfg::Cidr subnet;
		if (Status st = parse_pair(p, peer, subnet); !st)
			return st.error();
		if (Status st = nft::add_element(set, {nft::host_prefix(peer), subnet}); !st)
			return st.error();
	}
	rs.sets.push_back(std::move(set));
	insert_lookup(rs, nft::set_names::peer_subnets_v6, -1);
	return rs;
}

std::string pair_set(const PeerPair &p)
{
	return std::string(nft::set_names::peer_subnets_v6) + "_" + p.subnet.substr(p.subnet.find('/') + 1);
}

std::string pair_element(const PeerPair &p)
{
	return p.peer + " . " + p.subnet.substr(0, p.subnet.find('/'));
}

} // namespace steer::bench
