// One topology per variant, built once and measured many times, so the
// rounds only switch which generator sends (no reconfiguration between
// measurements, nothing left half-built between variants).
//
//   peer ns                 router ns                           gateway ns
//   wan0 192.0.2.2/24 ----- pub 192.0.2.1/24
//        2001:db8:1::2/64       2001:db8:1::1/64
//                           [ingress: the variant's steering]
//                           [ingress prio 2: sink (non-IPsec cells)]
//                           ist 169.254.1.1/30 -------------- eth0 (MAC of pub) [ingress: sink]
//                               2001:db8:ffff::1/64               169.254.1.2/30, 2001:db8:ffff::2/64
//                           routes to P via the gateway           P = 198.51.100.1/32,
//                           (used by "routing" only)              P6 = 2001:db8:100::1/128
//
// Return variants send from the gateway's eth0 (source P, the router's own
// address on pub there) and count at the peer's wan0.
// The generator injects at pub (return variants: at ist), either directly
// (live frames, the default) or by sending from the other end of the veth,
// wan0 (eth0) (AF_PACKET).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bench_net.hpp"
#include "bpf_steer.hpp"
#include "lab.hpp"

struct empty_bpf;

namespace steer::bench {

enum class Variant {
	floor,       // ist_floor: bpf_redirect_peer of everything, no parsing
	steer_peer,  // steer_ingress, bpf_redirect_peer (the default)
	steer_plain, // steer_ingress, bpf_redirect (STEER_F_REDIRECT_PLAIN)
	u32_mirred,  // tc u32 matches + mirred egress redirect
	nft_fwd,     // nft netdev ingress chain, fwd to
	routing,     // no TC: the router forwards to P through the gateway veth
	steer_nocache, // steer_peer loaded with its gateway cache off: every
	               // frame reads the gateways hash (a cache miss's cost)
	steer_1k,    // steer_nocache with 1,000 entries in the gateways map
	steer_64k,   // steer_nocache with 65,536 entries (the map's maximum)
	none,        // non-IPsec: no program before the sink
	empty,       // non-IPsec: an empty TC program before the sink
	ret_bpf,     // return path: steer_return, bpf_redirect_neigh
	ret_route,   // return path: accept_local + loose rp_filter routing
	ret_none,    // return path base: the sink on ist itself, nothing else
	fw_10,       // routing through the host-mesh firewall with 10 peer pairs
	fw_10k,      // ... 10,000 peer pairs
	fw_100k,     // ... 100,000 peer pairs
	fw_interval_100k, // 100,000 pairs in the former interval-set design (mesh_ruleset.hpp)
};

const char *variant_name(Variant v);

inline constexpr const char *kPublic4 = "198.51.100.1";
inline constexpr const char *kPublic6 = "2001:db8:100::1";
inline constexpr const char *kPeer4 = "192.0.2.2";
inline constexpr const char *kPeer6 = "2001:db8:1::2";
inline constexpr const char *kOther4 = "203.0.113.5"; // non-IPsec traffic goes here

class Topology {
public:
	Topology(Variant v, int index, GenKind gen);
	Topology(const Topology &) = delete;
	Topology &operator=(const Topology &) = delete;
	~Topology();

	Status build();

	Variant variant() const { return variant_; }
	bool is_return() const
	{
		return variant_ == Variant::ret_bpf || variant_ == Variant::ret_route ||
		       variant_ == Variant::ret_none;
	}
	// Frames are addressed with these MACs: dst is the receiving interface.
	const std::vector<uint8_t> &src_mac() const { return src_mac_; }
	const std::vector<uint8_t> &dst_mac() const { return dst_mac_; }
	const Generator &generator() const { return *gen_; }
	// Frames counted where this topology's traffic ends: the gateway (or,
	// for return variants, the peer); `at_router`: the sink after priority
	// 1 on pub, where non-IPsec traffic ends.
	uint64_t delivered(bool at_router) const;

private:
	bool has_gateway() const { return variant_ != Variant::none && variant_ != Variant::empty; }
	// Non-IPsec cells run here: a sink at priority 2 on pub.
	bool has_router_sink() const { return !has_gateway() || variant_ == Variant::steer_peer; }
	Status build_links();
	Status build_routing();
	Status attach_variant();
	Status attach_steer(uint32_t flags, uint32_t fillers, bool gateway_cache);
	Status attach_return();
	Status attach_sink(std::unique_ptr<BenchProgs> &sink, const std::string &role,
			   const std::string &ifname, uint32_t prio);

	Variant variant_;
	GenKind gen_kind_;
	lab::Namespaces ns_;
	std::vector<uint8_t> pub_mac_, wan_mac_, ist_mac_, src_mac_, dst_mac_;
	int pub_ifindex_ = 0, ist_ifindex_ = 0;
	std::unique_ptr<SteerObject> steer_;
	std::unique_ptr<BenchProgs> floor_, sink_, router_sink_;
	::empty_bpf *empty_ = nullptr;
	std::unique_ptr<Generator> gen_;
};

} // namespace steer::bench
