// Frames for differential testing of the classifier: a table of gateways
// (GatewaySet) and a seeded generator (FrameGen) of valid frames of every
// class, near misses, mutations of both and random bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "packet_builder.hpp"
#include "ref_classifier.hpp"

extern "C" {
#include "steer_abi.h"
}

namespace steer::test {

// STEER_F_ESP | AH | IKE | NATT | ICMP | FRAGMENTS.
inline constexpr uint32_t kSteerAll = STEER_F_ESP | STEER_F_AH | STEER_F_IKE | STEER_F_NATT |
				      STEER_F_ICMP | STEER_F_FRAGMENTS;

struct GatewayEntry {
	uint32_t ifindex;
	IpAddress address;
	steer_gw_value value;

	uint8_t family() const { return address.family; }
	steer_gw_key key() const; // as the gateways map wants it
};

class GatewaySet {
public:
	// A realistic table: IPv4 and IPv6 gateways on three public interfaces
	// (ifindexes[0..2]), varied flags, default and other ports, some with
	// REDIRECT_PLAIN, two with target 0, non-contiguous ids. ifindexes[3]
	// carries no gateway (for "other interface" near misses). With
	// shared_address, 198.51.100.1 is a gateway on two interfaces with
	// different ids, targets and flags: a later fragment may then match a
	// frags entry its first left via the other gateway, which shows
	// whether the program uses the stored frags value or the gateway the
	// fragment arrived at (the spec reads as the latter; the reference
	// does that). Pass false for a table without that question.
	// The ifindexes must exist where BPF_PROG_RUN runs (it looks the device
	// up), e.g. dummy interfaces in a test namespace.
	static GatewaySet realistic(std::array<uint32_t, 4> ifindexes = {2, 3, 4, 5},
				    bool shared_address = true);

	void add(uint32_t ifindex, std::string_view address, const steer_gw_value &value);

	const std::vector<GatewayEntry> &entries() const { return entries_; }
	const std::vector<uint32_t> &public_ifindexes() const { return public_ifindexes_; }
	uint32_t spare_ifindex() const { return spare_ifindex_; }
	void set_spare_ifindex(uint32_t ifindex) { spare_ifindex_ = ifindex; }

	void load_into(RefClassifier &ref) const;
	// The ports map contents: word port / 32, bit port % 32, all gateways.
	std::array<uint32_t, STEER_PORT_WORDS> ports_bitmap() const;
	uint32_t max_gateway_id() const;
	// Entries a stats map needs so every gateway is counted.
	uint64_t stats_entries() const { return (uint64_t{max_gateway_id()} + 1) * STEER_CLASS_MAX; }

	const GatewayEntry *find(uint32_t ifindex, const IpAddress &address) const;
	bool is_gateway_address(const IpAddress &address) const; // on any interface

private:
	std::vector<GatewayEntry> entries_;
	std::vector<uint32_t> public_ifindexes_;
	uint32_t spare_ifindex_ = 0;
};

enum class FrameOrigin { valid, near_miss, mutated, random };
const char *origin_name(FrameOrigin origin);

// Relative weights of the four kinds of frames.
struct FrameMix {
	unsigned valid = 40;
	unsigned near_miss = 20;
	unsigned mutated = 30;
	unsigned random = 10;
};

struct FrameGenOptions {
	uint64_t seed = 1;
	size_t min_len = 14;   // BPF_PROG_RUN wants at least an Ethernet header
	size_t max_len = 1518; // keep well under a page for BPF_PROG_RUN
	FrameMix mix{};
	// Of the valid first fragments, how many queue their non-first
	// fragment to come out of next() a few frames later.
	unsigned follower_percent = 70;
};

struct GeneratedFrame {
	Bytes bytes;
	uint32_t ifindex = 0;
	FrameOrigin origin = FrameOrigin::valid;
	std::string recipe; // what was built and done to it, e.g. "v4/esp+trunc"
};

class FrameGen {
public:
	FrameGen(const GatewaySet &gateways, FrameGenOptions opts);

	GeneratedFrame next();

	// The frame cut at every length from min_len to its size minus one.
	static std::vector<Bytes> truncations(const Bytes &frame, size_t min_len);

private:
	struct Flow {
		uint32_t ifindex = 0;
		IpAddress src;
		IpAddress dst;
		const GatewayEntry *gw = nullptr; // the gateway the recipe aims at
	};
	enum class FragKind { none, first, non_first, atomic };
	struct FragPlan {
		FragKind kind = FragKind::none;
		uint32_t id = 0;
		uint16_t offset_units = 0;
		bool more = false;
		uint8_t proto = 0;            // what the fragment header names next
		bool dest_opts_after = false; // IPv6: a header after the fragment header
	};
	struct Made {
		BuiltFrame frame;
		uint32_t ifindex = 0;
		std::string recipe;
	};

	// Randomness: all of it from rng_, so a seed replays a run.
	uint64_t below(uint64_t n);
	uint64_t between(uint64_t lo, uint64_t hi); // inclusive
	bool chance(unsigned percent);
	Bytes random_bytes(size_t n);
	size_t payload_budget() const;
	size_t random_payload_len(size_t lo, size_t hi, size_t multiple = 1);

	// Building blocks.
	Flow flow_to(const GatewayEntry &gw);
	IpAddress peer_address(uint8_t family);
	IpAddress router_address(uint8_t family);
	void add_link(PacketBuilder &b);
	void add_ip(PacketBuilder &b, const Flow &f, const FragPlan &frag);
	Ipv4Options ipv4_options(const Flow &f, const FragPlan &frag);
	void add_ipv6_ext_headers(PacketBuilder &b, const FragPlan &frag);
	PacketBuilder start(const Flow &f); // not a fragment
	PacketBuilder start(const Flow &f, const FragPlan &frag);
	Made finish(const PacketBuilder &b, const Flow &f, std::string recipe);
	GeneratedFrame to_generated(Made m, FrameOrigin origin) const;

	// (a) valid frames.
	Made make_valid(bool queue_followers);
	Made valid_recipe(const Flow &f, uint64_t which, bool queue_followers);
	uint32_t esp_spi();
	uint32_t frag_id(uint8_t family);
	IkeOptions random_ike();
	Made valid_esp(const Flow &f);
	Made valid_ah(const Flow &f);
	Made valid_ike(const Flow &f);
	Made valid_natt_ike(const Flow &f);
	Made valid_natt_esp(const Flow &f);
	Made valid_keepalive(const Flow &f);
	Made valid_icmp_error(const Flow &f);
	PacketBuilder quoted_packet(const Flow &f);
	Made valid_first_fragment(const Flow &f, bool queue_follower);
	Made non_first_fragment(const Flow &f, const FragPlan &frag);
	Made valid_atomic_fragment(const Flow &f);

	// (b) near misses.
	Made make_near_miss();
	Made near_other_address();
	Made near_other_interface();
	Made near_other_port(const Flow &f);
	Made near_non_error_icmp(const Flow &f);
	Made near_tcp(const Flow &f);
	Made near_not_ip(const Flow &f);
	Made near_wrong_family_icmp(const Flow &f);
	Made near_orphan_fragment(const Flow &f);

	// (c) mutations, (d) random bytes.
	GeneratedFrame make_mutated();
	void mutate_once(BuiltFrame &frame, std::string &recipe);
	void corrupt_length_field(BuiltFrame &frame, std::string &recipe);
	GeneratedFrame make_random();
	GeneratedFrame random_ip_skeleton();

	const GatewaySet &gateways_;
	std::vector<uint16_t> gateway_ports_; // every ike and natt port
	FrameGenOptions opts_;
	std::mt19937_64 rng_;
	std::deque<GeneratedFrame> followers_;
};

} // namespace steer::test
