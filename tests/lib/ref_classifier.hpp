// The reference classifier: docs/classifier.md written out as plainly as we
// can, independently of bpf/steer.bpf.c, so the two can be run frame by frame
// side by side (differential testing). Readability beats speed here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <tuple>
#include <utility>
#include <vector>

extern "C" {
#include "steer_abi.h"
}

namespace steer::test {

// TC verdicts (linux/pkt_cls.h), as the program returns them.
inline constexpr int kTcActUnspec = -1;
inline constexpr int kTcActShot = 2;
inline constexpr int kTcActRedirect = 7;

struct RefDecision {
	int verdict;             // kTcActUnspec, kTcActShot or kTcActRedirect
	uint32_t class_id;       // STEER_CLASS_*, or STEER_CLASS_MAX when not counted
	uint32_t gateway_id;     // 0 when not counted or for gateway 0
	uint32_t target_ifindex; // 0 unless redirected
	uint32_t redirect_peer;  // 1 bpf_redirect_peer, 0 bpf_redirect; 0 unless redirected

	bool operator==(const RefDecision &) const = default;
};

class RefClassifier {
public:
	// One entry of the gateways map; the ports bitmap follows every entry.
	// Adding an existing key replaces its value (the bitmap keeps the old
	// ports, as a map update that only ORs bits would).
	void add_gateway(uint32_t ifindex, uint8_t family, const steer_addr &addr,
			 const steer_gw_value &v);

	// One run of the program on a frame that arrived on ifindex.
	RefDecision classify(std::span<const uint8_t> frame, uint32_t ifindex);

	// frags map (the reference's is unbounded, the program's an LRU).
	void clear_frags() { frags_.clear(); }
	size_t frag_count() const { return frags_.size(); }
	std::optional<steer_frag_value> find_frag(const steer_frag_key &key) const;
	std::vector<std::pair<steer_frag_key, steer_frag_value>> frag_entries() const;

	// stats map, summed over CPUs: index gateway_id * STEER_CLASS_MAX + class.
	const std::map<uint32_t, steer_counter> &counters() const { return counters_; }
	steer_counter counter(uint32_t gateway_id, uint32_t class_id) const;
	void clear_counters() { counters_.clear(); }
	// Entries of the program's stats map; indexes at or past it are not
	// counted (spec 7). Unlimited until set.
	void set_stats_entries(uint64_t entries) { stats_entries_ = entries; }

	// ports map: word port / 32, bit port % 32.
	const std::array<uint32_t, STEER_PORT_WORDS> &ports_bitmap() const { return ports_; }
	bool port_in_bitmap(uint16_t port) const;

private:
	using AddrBytes = std::array<uint8_t, 16>;
	using GatewayKey = std::tuple<uint32_t, uint8_t, AddrBytes>; // ifindex, family, address
	using FragKey = std::tuple<uint8_t, uint8_t, uint32_t, AddrBytes, AddrBytes>;

	struct Gateway {
		uint8_t family;
		AddrBytes address;
		steer_gw_value value;
	};

	// What the headers said: the result of spec sections 1 to 3.
	enum class FragState { none, first, non_first };
	struct L3Info {
		uint8_t family = 0; // STEER_FAMILY_*
		uint8_t proto = 0;
		AddrBytes src{};
		AddrBytes dst{};
		size_t l4 = 0;     // offset of the layer-4 header in the frame
		size_t l4_len = 0; // layer-4 bytes the IP header declares
		FragState frag = FragState::none;
		uint32_t frag_id = 0;
		// Protocol named in the frags key: IPv4's protocol, or the next
		// header of IPv6's fragment header (the same in every fragment).
		uint8_t frag_proto = 0;
	};

	// A class decision before the verdict: the class, and whether the
	// frame is to be steered to the gateway's target.
	struct Outcome {
		uint32_t class_id;
		bool steered;
	};

	class WindowReader;

	std::optional<L3Info> parse_ipv4(WindowReader &r, size_t l3) const;
	std::optional<L3Info> parse_ipv6(WindowReader &r, size_t l3) const;
	bool is_candidate(const WindowReader &r, const L3Info &ip) const;
	const Gateway *find_gateway(uint32_t ifindex, const L3Info &ip) const;

	Outcome classify_for_gateway(const WindowReader &r, const L3Info &ip, const Gateway &g) const;
	Outcome classify_non_first_fragment(const L3Info &ip, const Gateway &g) const;
	Outcome classify_udp(const WindowReader &r, const L3Info &ip, const Gateway &g) const;
	Outcome classify_natt_payload(const WindowReader &r, size_t payload, size_t plen) const;
	Outcome classify_icmp(const WindowReader &r, const L3Info &ip, const Gateway &g) const;
	Outcome steer_first_fragment(const L3Info &ip, const Gateway &g);

	RefDecision finish(uint32_t gateway_id, Outcome o, const Gateway *g, size_t frame_len);
	void count(uint32_t gateway_id, uint32_t class_id, size_t frame_len);
	static FragKey frag_key(const L3Info &ip);

	std::map<GatewayKey, Gateway> gateways_;
	std::array<uint32_t, STEER_PORT_WORDS> ports_{};
	std::map<FragKey, steer_frag_value> frags_;
	std::map<uint32_t, steer_counter> counters_;
	std::optional<uint64_t> stats_entries_;
};

const char *class_name(uint32_t class_id); // "esp", ..., "not-counted"

} // namespace steer::test
