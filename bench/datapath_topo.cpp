#include "datapath_topo.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <utility>

#include "empty_bpf.skel.h"
#include "mesh_ruleset.hpp"
#include "netns.hpp"
#include "transport.hpp"

namespace steer::bench {

namespace {

// Frames per list into pub: NAPI's default budget, 64.
constexpr uint32_t kNapiBatch = 64;

using Steps = std::vector<std::pair<std::string, std::string>>; // {role, ip args}

std::string mac_text(const std::vector<uint8_t> &mac)
{
	char buf[18];
	std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		      mac[3], mac[4], mac[5]);
	return buf;
}

steer_gw_key key_of(int ifindex, int family, const char *text)
{
	steer_gw_key key{};
	key.ifindex = static_cast<uint32_t>(ifindex);
	key.family = static_cast<uint8_t>(family == AF_INET ? STEER_FAMILY_IPV4 : STEER_FAMILY_IPV6);
	inet_pton(family, text, &key.address.addr[0]);
	return key;
}

// The i-th filler gateway: 2001:db8:f000::/36 on the same public interface,
// so lookups of the real gateways share the table with all of them.
steer_gw_key filler_key(int ifindex, uint32_t i)
{
	steer_gw_key key{};
	key.ifindex = static_cast<uint32_t>(ifindex);
	key.family = STEER_FAMILY_IPV6;
	key.address.addr[0] = htonl(0x20010db8);
	key.address.addr[1] = htonl(0xf0000000);
	key.address.addr[3] = htonl(i + 1);
	return key;
}

} // namespace

const char *variant_name(Variant v)
{
	switch (v) {
	case Variant::floor: return "floor";
	case Variant::steer_peer: return "steer_peer";
	case Variant::steer_plain: return "steer_plain";
	case Variant::u32_mirred: return "u32_mirred";
	case Variant::nft_fwd: return "nft_fwd";
	case Variant::routing: return "routing";
	case Variant::steer_nocache: return "steer_nocache";
	case Variant::steer_1k: return "steer_1k";
	case Variant::steer_64k: return "steer_64k";
	case Variant::none: return "none";
	case Variant::empty: return "empty";
	case Variant::ret_bpf: return "ret_bpf";
	case Variant::ret_route: return "ret_route";
	case Variant::ret_none: return "ret_none";
	case Variant::fw_10: return "fw_10";
	case Variant::fw_10k: return "fw_10k";
	case Variant::fw_100k: return "fw_100k";
	case Variant::fw_interval_100k: return "fw_interval_100k";
	}
	return "?";
}

Topology::Topology(Variant v, int index, GenKind gen)
	: variant_(v), gen_kind_(gen), ns_("istb" + std::to_string(index) + "-")
{
}

Topology::~Topology()
{
	// Programs and the generator go before their namespaces.
	gen_.reset();
	sink_.reset();
	router_sink_.reset();
	floor_.reset();
	steer_.reset();
	if (empty_)
		empty_bpf__destroy(empty_);
}

Status Topology::build()
{
	if (Status st = build_links(); !st)
		return st;
	if (has_gateway())
		if (Status st = build_routing(); !st)
			return st;
	if (Status st = attach_variant(); !st)
		return st;
	// A NIC's NAPI poll hands the stack lists of frames (route hints apply
	// within a list); a veth hands its peer one frame at a time (backlog).
	auto gen = gen_kind_ == GenKind::live
			   ? LiveFrameGenerator::open(ns_.name("router"), is_return() ? "ist" : "pub",
						      is_return() ? 1 : kNapiBatch)
		   : is_return() ? PacketGenerator::open(ns_.name("gw"), "eth0")
				 : PacketGenerator::open(ns_.name("peer"), "wan0");
	if (!gen)
		return gen.error();
	gen_ = std::move(*gen);
	src_mac_ = is_return() ? pub_mac_ : wan_mac_;
	dst_mac_ = is_return() ? ist_mac_ : pub_mac_;
	return {};
}

Status Topology::build_links()
{
	std::vector<std::string> roles = {"peer", "router"};
	if (has_gateway())
		roles.push_back("gw");
	for (const auto &role : roles)
		if (Status st = ns_.add(role); !st)
			return st;
	const std::string router = ns_.name("router");
	Steps steps = {
		{"peer", "link add wan0 type veth peer name pub netns " + router},
		{"peer", "addr add 192.0.2.2/24 dev wan0"},
		{"peer", "addr add 2001:db8:1::2/64 dev wan0 nodad"},
		{"router", "addr add 192.0.2.1/24 dev pub"},
		{"router", "addr add 2001:db8:1::1/64 dev pub nodad"},
		{"peer", "link set wan0 up"},
		{"router", "link set pub up"},
	};
	for (const auto &[role, args] : steps)
		if (Status st = ns_.ip(role, args); !st)
			return st;
	auto pub = lab::mac_of(router, "pub");
	auto wan = lab::mac_of(ns_.name("peer"), "wan0");
	auto idx = ifindex_in(router, "pub");
	if (!pub || !wan || !idx)
		return !pub ? pub.error() : !wan ? wan.error() : idx.error();
	pub_mac_ = *pub;
	wan_mac_ = *wan;
	pub_ifindex_ = *idx;
	return {};
}

// The gateway veth, P inside, and the router's routes and permanent
// neighbours (the router would not get answers to ARP/ND from a namespace
// that carries its own MAC).
Status Topology::build_routing()
{
	const std::string router = ns_.name("router"), gw = ns_.name("gw");
	const std::string pub = mac_text(pub_mac_);
	Steps steps = {
		{"router", "link add ist type veth peer name eth0 netns " + gw},
		{"router", "addr add 169.254.1.1/30 dev ist"},
		{"router", "addr add 2001:db8:ffff::1/64 dev ist nodad"},
		{"gw", "link set eth0 address " + pub},
		{"gw", "addr add 169.254.1.2/30 dev eth0"},
		{"gw", "addr add 2001:db8:ffff::2/64 dev eth0 nodad"},
		{"gw", std::string("addr add ") + kPublic4 + "/32 dev eth0"},
		{"gw", std::string("addr add ") + kPublic6 + "/128 dev eth0 nodad"},
		{"gw", "link set eth0 up"},
		{"router", "link set ist up"},
		{"router", "neigh replace 169.254.1.2 lladdr " + pub + " dev ist nud permanent"},
		{"router", "neigh replace 2001:db8:ffff::2 lladdr " + pub + " dev ist nud permanent"},
		{"router", "neigh replace 192.0.2.2 lladdr " + mac_text(wan_mac_) + " dev pub nud permanent"},
	};
	if (is_return())
		steps.push_back({"router", std::string("addr add ") + kPublic4 + "/32 dev pub"});
	else {
		steps.push_back({"router", std::string("route add ") + kPublic4 + "/32 via 169.254.1.2 dev ist"});
		steps.push_back({"router", std::string("route add ") + kPublic6 + "/128 via 2001:db8:ffff::2 dev ist"});
	}
	for (const auto &[role, args] : steps)
		if (Status st = ns_.ip(role, args); !st)
			return st;
	// Namespace-local sysctls (never the root namespace's).
	std::string sysctl = "ip netns exec " + router + " sysctl -qw ";
	for (const char *s : {"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
			      "net.ipv4.conf.all.rp_filter=2", "net.ipv4.conf.ist.rp_filter=2"})
		if (Status st = lab::sh(sysctl + s); !st)
			return st;
	if (variant_ == Variant::ret_route)
		if (Status st = lab::sh(sysctl + "net.ipv4.conf.ist.accept_local=1"); !st)
			return st;
	auto ist = lab::mac_of(router, "ist");
	auto idx = ifindex_in(router, "ist");
	if (!ist || !idx)
		return !ist ? ist.error() : idx.error();
	ist_mac_ = *ist;
	ist_ifindex_ = *idx;
	return {};
}

Status Topology::attach_steer(uint32_t flags, uint32_t fillers, bool gateway_cache)
{
	LoadOptions opts;
	opts.gateway_cache = gateway_cache;
	auto obj = SteerObject::load(opts);
	if (!obj)
		return obj.error();
	steer_ = std::move(*obj);
	int gws = steer_->gateways_fd(), ports = steer_->ports_fd();
	uint32_t target = static_cast<uint32_t>(ist_ifindex_);
	steer_gw_value v4{target, flags, 500, 4500, 1}, v6{target, flags, 500, 4500, 2};
	if (Status st = put_gateway(gws, ports, key_of(pub_ifindex_, AF_INET, kPublic4), v4); !st)
		return st;
	if (Status st = put_gateway(gws, ports, key_of(pub_ifindex_, AF_INET6, kPublic6), v6); !st)
		return st;
	steer_gw_value filler{target, flags, 500, 4500, 3};
	for (uint32_t i = 0; i < fillers; i++)
		if (Status st = put_gateway(gws, ports, filler_key(pub_ifindex_, i), filler); !st)
			return st;
	return tc_ingress(ns_.name("router"), "pub", 1, steer_->ingress_fd());
}

Status Topology::attach_return()
{
	if (variant_ == Variant::ret_route)
		return {};
	auto obj = SteerObject::load({});
	if (!obj)
		return obj.error();
	steer_ = std::move(*obj);
	steer_return_value r{};
	r.out_ifindex = static_cast<uint32_t>(pub_ifindex_);
	r.flags = STEER_F_ESP | STEER_F_IKE | STEER_F_NATT | STEER_F_ICMP | STEER_F_FRAGMENTS;
	r.ike_port = 500;
	r.natt_port = 4500;
	r.gateway_id = 1;
	r.family = STEER_FAMILY_IPV4;
	inet_pton(AF_INET, kPublic4, &r.address.addr[0]);
	uint32_t key = static_cast<uint32_t>(ist_ifindex_);
	if (bpf_map_update_elem(steer_->returns_fd(), &key, &r, BPF_ANY) != 0)
		return sys_error(errno, "update returns map");
	return tc_ingress(ns_.name("router"), "ist", 1, steer_->return_fd());
}

Status Topology::attach_sink(std::unique_ptr<BenchProgs> &sink, const std::string &role,
			     const std::string &ifname, uint32_t prio)
{
	auto progs = BenchProgs::load(0);
	if (!progs)
		return progs.error();
	sink = std::move(*progs);
	return tc_ingress(ns_.name(role), ifname, prio, sink->sink_fd());
}

namespace {

// What an administrator would write with u32: one filter per kind of
// IPsec traffic, matching the public address too, each redirecting to the
// router end of the gateway veth (so it is sent out there, like bpf_redirect).
std::vector<std::string> u32_filters()
{
	const std::string to = " action mirred egress redirect dev ist";
	const std::string dst = std::string("match ip dst ") + kPublic4 + "/32 ";
	return {
		"filter add dev pub ingress prio 1 protocol ip u32 " + dst + "match ip protocol 50 0xff" + to,
		"filter add dev pub ingress prio 2 protocol ip u32 " + dst +
			"match ip protocol 17 0xff match ip dport 500 0xffff" + to,
		"filter add dev pub ingress prio 3 protocol ip u32 " + dst +
			"match ip protocol 17 0xff match ip dport 4500 0xffff" + to,
		"filter add dev pub ingress prio 4 protocol ipv6 u32 match ip6 dst " + std::string(kPublic6) +
			"/128 match ip6 protocol 50 0xff" + to,
	};
}

// The same with nftables: a netdev ingress chain on pub, `fwd to` the veth.
std::string nft_fwd_ruleset()
{
	return std::string("table netdev istbench {\n"
			   "  chain ingress {\n"
			   "    type filter hook ingress device \"pub\" priority 0; policy accept;\n"
			   "    ip daddr ") + kPublic4 + " ip protocol esp fwd to \"ist\"\n"
	       "    ip daddr " + kPublic4 + " udp dport { 500, 4500 } fwd to \"ist\"\n"
	       "    ip6 daddr " + kPublic6 + " ip6 nexthdr esp fwd to \"ist\"\n"
	       "  }\n}\n";
}

// The mesh firewall (our table, applied by our batch) in the router
// namespace, whose forward chain every routed frame then crosses.
Status load_firewall(const std::string &router, size_t pairs)
{
	auto rs = mesh_ruleset(peer_pairs(pairs));
	if (!rs)
		return rs.error();
	return ns::run_in_netns(router, [&] { return nft::replace_table(*rs); });
}

// The design the hash sets replaced (one interval set of pairs), through
// our batch too: what the forward lookup cost with it.
Status load_interval_design(const std::string &router, size_t pairs)
{
	auto rs = interval_ruleset(peer_pairs(pairs));
	if (!rs)
		return rs.error();
	return ns::run_in_netns(router, [&] { return nft::replace_table(*rs); });
}

} // namespace

Status Topology::attach_variant()
{
	const std::string router = ns_.name("router");
	constexpr uint32_t base = STEER_F_ESP | STEER_F_IKE | STEER_F_NATT | STEER_F_ICMP |
				  STEER_F_FRAGMENTS;
	// Where the traffic ends: the gateway's eth0, the router's pub (after
	// priority 1, for non-IPsec cells) or the peer (return cells).
	// ret_none: what every return cell pays before any steering (the
	// one-frame lists of the generator, ist's receive path, the sink).
	if (variant_ == Variant::ret_none)
		return attach_sink(sink_, "router", "ist", 1);
	if (is_return()) {
		if (Status st = attach_sink(sink_, "peer", "wan0", 1); !st)
			return st;
	} else if (has_gateway()) {
		if (Status st = attach_sink(sink_, "gw", "eth0", 1); !st)
			return st;
	}
	if (has_router_sink())
		if (Status st = attach_sink(router_sink_, "router", "pub", 2); !st)
			return st;
	switch (variant_) {
	case Variant::floor: {
		auto progs = BenchProgs::load(static_cast<uint32_t>(ist_ifindex_));
		if (!progs)
			return progs.error();
		floor_ = std::move(*progs);
		return tc_ingress(router, "pub", 1, floor_->floor_fd());
	}
	case Variant::steer_peer:
		return attach_steer(base, 0, true);
	case Variant::steer_plain:
		return attach_steer(base | STEER_F_REDIRECT_PLAIN, 0, true);
	// Scale without the cache: traffic to one gateway would hit it
	// whatever the map holds, and the hash's cost would not show.
	case Variant::steer_nocache:
		return attach_steer(base, 0, false);
	case Variant::steer_1k:
		return attach_steer(base, 1000 - 2, false);
	case Variant::steer_64k:
		return attach_steer(base, STEER_MAX_GATEWAYS - 2, false);
	case Variant::u32_mirred:
		if (Status st = lab::sh("tc -n " + router + " qdisc add dev pub clsact"); !st)
			return st;
		for (const auto &f : u32_filters())
			if (Status st = lab::sh("tc -n " + router + " " + f); !st)
				return st;
		return {};
	case Variant::nft_fwd:
		return lab::sh("printf '%s' '" + nft_fwd_ruleset() + "' | ip netns exec " + router +
			       " nft -f -");
	case Variant::empty:
		empty_ = empty_bpf__open_and_load();
		if (!empty_)
			return sys_error(errno, "load empty TC program");
		return tc_ingress(router, "pub", 1, bpf_program__fd(empty_->progs.ist_empty));
	case Variant::ret_bpf:
	case Variant::ret_route:
		return attach_return();
	case Variant::ret_none:
		return {};
	case Variant::fw_10:
		return load_firewall(router, 10);
	case Variant::fw_10k:
		return load_firewall(router, 10000);
	case Variant::fw_100k:
		return load_firewall(router, 100000);
	case Variant::fw_interval_100k:
		return load_interval_design(router, 100000);
	case Variant::routing:
	case Variant::none:
		return {};
	}
	return {};
}

uint64_t Topology::delivered(bool at_router) const
{
	const auto &sink = at_router ? router_sink_ : sink_;
	return sink ? sink->delivered() : 0;
}

} // namespace steer::bench
