// A fluent builder of test frames: Ethernet (with VLAN tags), IPv4, IPv6 and
// its extension headers, UDP, TCP, ESP, AH, IKE, NAT-T payloads and ICMP
// errors quoting a packet made by a nested builder.
//
// Layers are listed outermost first and serialized innermost first, so every
// length, next-protocol and checksum field is derived from what follows it.
// Each derived field can be overridden to build malformed frames.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

extern "C" {
#include "steer_abi.h"
}

namespace steer::test {

using Bytes = std::vector<uint8_t>;
using MacAddr = std::array<uint8_t, 6>;
using Ipv4Addr = std::array<uint8_t, 4>;
using Ipv6Addr = std::array<uint8_t, 16>;

// An address of either family; IPv4 uses the first four bytes, the rest zero
// (the same memory layout as struct steer_addr).
struct IpAddress {
	uint8_t family = STEER_FAMILY_IPV4; // STEER_FAMILY_IPV4 or _IPV6
	std::array<uint8_t, 16> bytes{};

	bool operator==(const IpAddress &) const = default;
	auto operator<=>(const IpAddress &) const = default;
};

// Parsers throw std::invalid_argument on text that is not an address.
Ipv4Addr ipv4_addr(std::string_view text);
Ipv6Addr ipv6_addr(std::string_view text);
IpAddress ip_addr(std::string_view text); // either family
IpAddress ip_addr(const Ipv4Addr &a);
IpAddress ip_addr(const Ipv6Addr &a);
Ipv4Addr to_ipv4(const IpAddress &a);
Ipv6Addr to_ipv6(const IpAddress &a);
std::string to_string(const IpAddress &a);
steer_addr to_steer_addr(const IpAddress &a);
IpAddress from_steer_addr(uint8_t family, const steer_addr &a);

// The Internet checksum (RFC 1071) of bytes, folded and complemented.
uint16_t internet_checksum(const uint8_t *data, size_t len, uint32_t initial_sum = 0);

namespace ethertype {
inline constexpr uint16_t ipv4 = 0x0800;
inline constexpr uint16_t ipv6 = 0x86dd;
inline constexpr uint16_t arp = 0x0806;
inline constexpr uint16_t vlan = 0x8100;   // 802.1Q
inline constexpr uint16_t qinq = 0x88a8;   // 802.1ad
inline constexpr uint16_t local = 0x88b5; // IEEE local experimental
} // namespace ethertype

namespace ipproto {
inline constexpr uint8_t hop_by_hop = 0;
inline constexpr uint8_t icmp = 1;
inline constexpr uint8_t ipip = 4;
inline constexpr uint8_t tcp = 6;
inline constexpr uint8_t udp = 17;
inline constexpr uint8_t ipv6 = 41;
inline constexpr uint8_t routing = 43;
inline constexpr uint8_t fragment = 44;
inline constexpr uint8_t esp = 50;
inline constexpr uint8_t ah = 51;
inline constexpr uint8_t icmpv6 = 58;
inline constexpr uint8_t no_next = 59;
inline constexpr uint8_t dest_opts = 60;
inline constexpr uint8_t experimental = 253; // RFC 3692
} // namespace ipproto

struct EthOptions {
	MacAddr dst{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
	MacAddr src{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
	std::optional<uint16_t> ethertype; // default: from the next layer
};

struct Ipv4Options {
	Ipv4Addr src{};
	Ipv4Addr dst{};
	uint16_t id = 0;
	bool df = false;
	bool mf = false;
	uint16_t frag_offset = 0; // in 8-byte units, 13 bits
	uint8_t ttl = 64;
	uint8_t tos = 0;
	Bytes options; // padded with EOL (0) to a multiple of 4; IHL follows
	std::optional<uint8_t> proto;     // default: from the next layer
	std::optional<uint16_t> tot_len;  // default: header + everything after
	std::optional<uint8_t> ihl_words; // default: (20 + options) / 4
	uint8_t version = 4;
	std::optional<uint16_t> checksum; // default: the correct one
};

struct Ipv6Options {
	Ipv6Addr src{};
	Ipv6Addr dst{};
	uint8_t hop_limit = 64;
	uint8_t traffic_class = 0;
	uint32_t flow_label = 0;
	std::optional<uint8_t> next_header;  // default: from the next layer
	std::optional<uint16_t> payload_len; // default: everything after
	uint8_t version = 6;
};

// Hop-by-hop (0), routing (43) or destination options (60).
struct Ipv6ExtOptions {
	uint8_t kind = ipproto::dest_opts;
	size_t total_bytes = 8; // a multiple of 8, at least 8
	std::optional<uint8_t> next_header;
	std::optional<uint8_t> len_field; // default: total_bytes / 8 - 1
};

struct Ipv6FragmentOptions {
	uint16_t offset = 0; // in 8-byte units, 13 bits
	bool more = false;
	uint32_t id = 0;
	std::optional<uint8_t> next_header;
};

struct UdpOptions {
	uint16_t sport = 0;
	uint16_t dport = 0;
	std::optional<uint16_t> length;   // default: 8 + everything after
	std::optional<uint16_t> checksum; // default: the correct one
};

struct TcpOptions {
	uint16_t sport = 0;
	uint16_t dport = 0;
	uint32_t seq = 0;
	uint8_t flags = 0x02; // SYN
};

struct EspOptions {
	uint32_t spi = 0x1000;
	uint32_t seq = 1;
	Bytes payload; // IV, ciphertext, padding, ICV: opaque here
};

struct AhOptions {
	uint32_t spi = 0x1000;
	uint32_t seq = 1;
	size_t icv_len = 12; // 12 for HMAC-SHA1-96; keep 12 + icv a multiple of 8 for IPv6
	std::optional<uint8_t> next_header;
	std::optional<uint8_t> payload_len_field; // default: (12 + icv) / 4 - 2
};

struct IkeOptions {
	uint64_t spi_i = 0x0102030405060708ull;
	uint64_t spi_r = 0;
	uint8_t next_payload = 33; // SA
	uint8_t version = 0x20;    // IKEv2
	uint8_t exchange = 34;     // IKE_SA_INIT
	uint8_t flags = 0x08;      // Initiator
	uint32_t message_id = 0;
	Bytes body;                      // the payloads after the 28-byte header
	std::optional<uint32_t> length;  // default: 28 + body
};

// ICMP (under IPv4) or ICMPv6 (under IPv6): type, code, the 4 bytes after the
// checksum (unused, or the MTU for "fragmentation needed"/"packet too big").
struct IcmpOptions {
	uint8_t type = 3;
	uint8_t code = 0;
	uint32_t rest = 0;
	std::optional<uint16_t> checksum;
};

enum class LayerKind {
	ethernet, ipv4, ipv6, ipv6_ext, ipv6_fragment, udp, tcp, esp, ah, ike, icmp, raw,
};

// Where a layer landed in the built frame (its header's first byte).
struct LayerSpan {
	LayerKind kind;
	size_t offset;
	size_t header_len; // bytes of this layer before the next layer
};

struct BuiltFrame {
	Bytes bytes;
	std::vector<LayerSpan> layers;

	// The first layer of this kind, if any.
	std::optional<LayerSpan> find(LayerKind kind) const;
};

class PacketBuilder {
public:
	PacketBuilder &eth(EthOptions opts = {});
	// One 802.1Q tag (tpid 0x8100) or 802.1ad tag (0x88a8) after the MACs;
	// call twice for a double-tagged frame. Needs eth() first.
	PacketBuilder &vlan(uint16_t vid, uint16_t tpid = ethertype::vlan, uint8_t pcp = 0);
	PacketBuilder &qinq(uint16_t vid) { return vlan(vid, ethertype::qinq); }

	PacketBuilder &ipv4(Ipv4Options opts);
	PacketBuilder &ipv4(std::string_view src, std::string_view dst);
	PacketBuilder &ipv6(Ipv6Options opts);
	PacketBuilder &ipv6(std::string_view src, std::string_view dst);
	// IPv4 or IPv6 by the addresses' family, with default options.
	PacketBuilder &ip(const IpAddress &src, const IpAddress &dst);

	PacketBuilder &ipv6_ext(Ipv6ExtOptions opts);
	PacketBuilder &hop_by_hop(size_t total_bytes = 8);
	PacketBuilder &routing(size_t total_bytes = 8);
	PacketBuilder &dest_opts(size_t total_bytes = 8);
	PacketBuilder &ipv6_fragment(Ipv6FragmentOptions opts);

	PacketBuilder &udp(UdpOptions opts);
	PacketBuilder &udp(uint16_t sport, uint16_t dport);
	PacketBuilder &tcp(TcpOptions opts);
	PacketBuilder &esp(EspOptions opts);
	PacketBuilder &esp(uint32_t spi, uint32_t seq, size_t payload_len = 32);
	PacketBuilder &ah(AhOptions opts);
	PacketBuilder &ike(IkeOptions opts = {});

	// NAT-T (RFC 3948) payloads, after udp():
	PacketBuilder &non_esp_marker();                    // 4 zero bytes
	PacketBuilder &natt_ike(IkeOptions opts = {});      // marker + IKE header
	PacketBuilder &natt_keepalive();                    // the one byte 0xff
	PacketBuilder &esp_in_udp(EspOptions opts) { return esp(std::move(opts)); }

	PacketBuilder &icmp(IcmpOptions opts, Bytes body = {});
	// An ICMP error quoting the packet `inner` builds (start it at ip()),
	// cut to quote_limit bytes when given.
	PacketBuilder &icmp_error(IcmpOptions opts, const PacketBuilder &inner,
				  std::optional<size_t> quote_limit = std::nullopt);

	// Opaque bytes; with a protocol number, the layer before names it.
	PacketBuilder &raw(Bytes bytes, std::optional<uint8_t> proto = std::nullopt);

	// Link-layer trailer: bytes after the packet, not counted by IP lengths.
	PacketBuilder &trailer(Bytes bytes);
	// Zero padding of the whole frame up to n bytes (60: minimum Ethernet).
	PacketBuilder &pad_to(size_t n);

	Bytes build() const { return build_layers().bytes; }
	BuiltFrame build_layers() const;

private:
	struct EthLayer {
		EthOptions opts;
		std::vector<std::array<uint16_t, 2>> tags; // {tpid, tci}
	};
	struct Ipv4Layer { Ipv4Options opts; };
	struct Ipv6Layer { Ipv6Options opts; };
	struct Ipv6ExtLayer { Ipv6ExtOptions opts; };
	struct Ipv6FragLayer { Ipv6FragmentOptions opts; };
	struct UdpLayer { UdpOptions opts; };
	struct TcpLayer { TcpOptions opts; };
	struct EspLayer { EspOptions opts; };
	struct AhLayer { AhOptions opts; };
	struct IkeLayer { IkeOptions opts; };
	struct IcmpLayer { IcmpOptions opts; Bytes body; };
	struct RawLayer { Bytes bytes; std::optional<uint8_t> proto; };
	using Layer = std::variant<EthLayer, Ipv4Layer, Ipv6Layer, Ipv6ExtLayer, Ipv6FragLayer,
				   UdpLayer, TcpLayer, EspLayer, AhLayer, IkeLayer, IcmpLayer, RawLayer>;

	// What serializing layer i needs to know about its neighbours.
	struct Context {
		std::optional<uint8_t> next_proto;     // IP protocol of layer i+1
		std::optional<uint16_t> next_ethertype;
		const Layer *enclosing_ip = nullptr;  // nearest IPv4/IPv6 before i
	};

	const Layer *nearest_ip_before(size_t end) const;
	Context context_of(size_t i) const;
	static Bytes wrap(const Layer &layer, const Context &ctx, const Bytes &inner);
	static Bytes wrap_eth(const EthLayer &l, const Context &ctx, const Bytes &inner);
	static Bytes wrap_ipv4(const Ipv4Layer &l, const Context &ctx, const Bytes &inner);
	static Bytes wrap_ipv6(const Ipv6Layer &l, const Context &ctx, const Bytes &inner);
	static Bytes wrap_ipv6_ext(const Ipv6ExtLayer &l, const Context &ctx, const Bytes &inner);
	static Bytes wrap_ipv6_frag(const Ipv6FragLayer &l, const Context &ctx, const Bytes &inner);
	static Bytes wrap_udp(const UdpLayer &l, const Context &ctx, const Bytes &inner);
	static Bytes wrap_tcp(const TcpLayer &l, const Context &ctx, const Bytes &inner);
	static Bytes wrap_esp(const EspLayer &l, const Bytes &inner);
	static Bytes wrap_ah(const AhLayer &l, const Context &ctx, const Bytes &inner);
	static Bytes wrap_ike(const IkeLayer &l, const Bytes &inner);
	static Bytes wrap_icmp(const IcmpLayer &l, const Context &ctx, const Bytes &inner);
	static LayerKind kind_of(const Layer &layer);

	std::vector<Layer> layers_;
	Bytes trailer_;
	size_t pad_to_ = 0;
};

} // namespace steer::test
