// The reference classifier, section by section of docs/classifier.md.
#include "ref_classifier.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace steer::test {

namespace {

constexpr uint16_t kEthertypeIpv4 = 0x0800;
constexpr uint16_t kEthertypeIpv6 = 0x86dd;
constexpr uint16_t kEthertypeVlan = 0x8100;
constexpr uint16_t kEthertypeQinq = 0x88a8;

constexpr uint8_t kProtoHopByHop = 0;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoRouting = 43;
constexpr uint8_t kProtoFragment = 44;
constexpr uint8_t kProtoEsp = 50;
constexpr uint8_t kProtoAh = 51;
constexpr uint8_t kProtoIcmpv6 = 58;
constexpr uint8_t kProtoDestOpts = 60;

bool is_ipv6_ext_header(uint8_t nh)
{
	return nh == kProtoHopByHop || nh == kProtoRouting || nh == kProtoDestOpts ||
	       nh == kProtoFragment;
}

bool has(uint32_t flags, uint32_t flag)
{
	return (flags & flag) != 0;
}

} // namespace

// A read of n bytes at offset o is valid (spec, notation) when it lies within
// the parse window W, within the frame, and within the length the IP header
// declares once that is known. Reading outside is a bug of this file, so
// the accessors throw instead of returning garbage.
class RefClassifier::WindowReader {
public:
	explicit WindowReader(std::span<const uint8_t> frame)
		: frame_(frame), end_(std::min<size_t>(frame.size(), STEER_PARSE_WINDOW))
	{
	}

	size_t frame_len() const { return frame_.size(); }

	// Narrow the readable bytes to the end the IP header declares.
	void limit_to(size_t declared_end) { end_ = std::min(end_, declared_end); }

	bool can_read(size_t off, size_t n) const { return off + n <= end_; }

	uint8_t u8(size_t off) const
	{
		check(off, 1);
		return frame_[off];
	}

	uint16_t be16(size_t off) const
	{
		check(off, 2);
		return static_cast<uint16_t>(frame_[off] << 8 | frame_[off + 1]);
	}

	uint32_t be32(size_t off) const
	{
		check(off, 4);
		return static_cast<uint32_t>(be16(off)) << 16 | be16(off + 2);
	}

	// n address bytes (4 or 16) into the first n bytes of a zeroed array.
	AddrBytes address(size_t off, size_t n) const
	{
		check(off, n);
		AddrBytes a{};
		std::copy_n(frame_.begin() + static_cast<ptrdiff_t>(off), n, a.begin());
		return a;
	}

private:
	void check(size_t off, size_t n) const
	{
		if (!can_read(off, n))
			throw std::logic_error("reference classifier read outside the valid bytes");
	}

	std::span<const uint8_t> frame_;
	size_t end_;
};

// ---- maps --------------------------------------------------------------

void RefClassifier::add_gateway(uint32_t ifindex, uint8_t family, const steer_addr &addr,
				const steer_gw_value &v)
{
	AddrBytes a{};
	std::memcpy(a.data(), &addr, sizeof(addr)); // network order bytes, IPv4 first
	if (family == STEER_FAMILY_IPV4)
		std::fill(a.begin() + 4, a.end(), 0);
	gateways_[GatewayKey{ifindex, family, a}] = Gateway{family, a, v};
	for (uint16_t port : {v.ike_port, v.natt_port})
		ports_[port / 32] |= 1u << (port % 32);
}

bool RefClassifier::port_in_bitmap(uint16_t port) const
{
	return (ports_[port / 32] & (1u << (port % 32))) != 0;
}

std::optional<steer_frag_value> RefClassifier::find_frag(const steer_frag_key &key) const
{
	AddrBytes src{}, dst{};
	std::memcpy(src.data(), &key.src, sizeof(key.src));
	std::memcpy(dst.data(), &key.dst, sizeof(key.dst));
	auto it = frags_.find(FragKey{key.family, key.proto, key.id, src, dst});
	if (it == frags_.end())
		return std::nullopt;
	return it->second;
}

std::vector<std::pair<steer_frag_key, steer_frag_value>> RefClassifier::frag_entries() const
{
	std::vector<std::pair<steer_frag_key, steer_frag_value>> out;
	for (const auto &[k, v] : frags_) {
		steer_frag_key key{};
		key.family = std::get<0>(k);
		key.proto = std::get<1>(k);
		key.id = std::get<2>(k);
		std::memcpy(&key.src, std::get<3>(k).data(), sizeof(key.src));
		std::memcpy(&key.dst, std::get<4>(k).data(), sizeof(key.dst));
		out.emplace_back(key, v);
	}
	return out;
}

steer_counter RefClassifier::counter(uint32_t gateway_id, uint32_t class_id) const
{
	auto it = counters_.find(gateway_id * STEER_CLASS_MAX + class_id);
	return it == counters_.end() ? steer_counter{} : it->second;
}

RefClassifier::FragKey RefClassifier::frag_key(const L3Info &ip)
{
	// The id is kept as the number the header carries (host order).
	return FragKey{ip.family, ip.frag_proto, ip.frag_id, ip.src, ip.dst};
}

// ---- the run -----------------------------------------------------------

RefDecision RefClassifier::classify(std::span<const uint8_t> frame, uint32_t ifindex)
{
	const RefDecision not_ours{kTcActUnspec, STEER_CLASS_MAX, 0, 0, 0};
	const Outcome malformed{STEER_CLASS_MALFORMED, false};
	WindowReader r(frame);

	// 1. Link layer.
	if (frame.size() < 14)
		return finish(STEER_GATEWAY_NONE, malformed, nullptr, frame.size());
	uint16_t et = r.be16(12);
	size_t l3 = 14;
	if (et == kEthertypeVlan || et == kEthertypeQinq) {
		if (frame.size() < 18)
			return finish(STEER_GATEWAY_NONE, malformed, nullptr, frame.size());
		et = r.be16(16);
		l3 = 18;
	}
	if (et != kEthertypeIpv4 && et != kEthertypeIpv6)
		return not_ours;

	// 2., 3. Network layer.
	std::optional<L3Info> ip = et == kEthertypeIpv4 ? parse_ipv4(r, l3) : parse_ipv6(r, l3);
	if (!ip)
		return finish(STEER_GATEWAY_NONE, malformed, nullptr, frame.size());

	// 4., 5. Candidates, then the gateway.
	if (!is_candidate(r, *ip))
		return not_ours;
	const Gateway *g = find_gateway(ifindex, *ip);
	if (g == nullptr)
		return not_ours;

	// 6., 7. Class and verdict.
	Outcome o = classify_for_gateway(r, *ip, *g);
	if (ip->frag == FragState::first && o.steered)
		o = steer_first_fragment(*ip, *g);
	return finish(g->value.gateway_id, o, g, frame.size());
}

// 2. IPv4. Returns nothing when the frame is MALFORMED.
std::optional<RefClassifier::L3Info> RefClassifier::parse_ipv4(WindowReader &r, size_t l3) const
{
	size_t avail = r.frame_len() - l3;
	if (avail < 20)
		return std::nullopt;
	uint8_t version = r.u8(l3) >> 4;
	size_t ihl = static_cast<size_t>(r.u8(l3) & 15) * 4;
	size_t tot_len = r.be16(l3 + 2);
	if (version != 4 || ihl < 20 || ihl > avail || tot_len < ihl || tot_len > avail)
		return std::nullopt;
	r.limit_to(l3 + tot_len); // what follows tot_len is link padding

	L3Info ip;
	ip.family = STEER_FAMILY_IPV4;
	ip.proto = r.u8(l3 + 9);
	ip.frag_proto = ip.proto;
	ip.src = r.address(l3 + 12, 4);
	ip.dst = r.address(l3 + 16, 4);
	ip.l4 = l3 + ihl;
	ip.l4_len = tot_len - ihl;
	uint16_t frag_off = r.be16(l3 + 6);
	bool more_fragments = (frag_off & 0x2000) != 0;
	if ((frag_off & 0x1fff) != 0)
		ip.frag = FragState::non_first;
	else if (more_fragments)
		ip.frag = FragState::first;
	ip.frag_id = r.be16(l3 + 4);
	return ip;
}

// 3. IPv6 and its extension headers. Returns nothing when MALFORMED.
std::optional<RefClassifier::L3Info> RefClassifier::parse_ipv6(WindowReader &r, size_t l3) const
{
	size_t avail = r.frame_len() - l3;
	if (avail < 40 || (r.u8(l3) >> 4) != 6)
		return std::nullopt;
	size_t end = 40 + static_cast<size_t>(r.be16(l3 + 4)); // relative to l3
	if (end > avail)
		return std::nullopt;
	r.limit_to(l3 + end);

	L3Info ip;
	ip.family = STEER_FAMILY_IPV6;
	ip.src = r.address(l3 + 8, 16);
	ip.dst = r.address(l3 + 24, 16);
	uint8_t nh = r.u8(l3 + 6);
	size_t off = 40;
	bool seen_fragment_header = false;
	bool stopped = false; // at a non-first fragment: no more headers follow
	for (int walked = 0; walked < STEER_MAX_EXTHDRS && is_ipv6_ext_header(nh); walked++) {
		if (nh != kProtoFragment) {
			if (off + 2 > end || !r.can_read(l3 + off, 2))
				return std::nullopt;
			size_t len = (static_cast<size_t>(r.u8(l3 + off + 1)) + 1) * 8;
			if (off + len > end)
				return std::nullopt;
			nh = r.u8(l3 + off);
			off += len;
			continue;
		}
		if (seen_fragment_header || off + 8 > end || !r.can_read(l3 + off, 8))
			return std::nullopt;
		seen_fragment_header = true;
		uint16_t fo = r.be16(l3 + off + 2);
		uint16_t offset = fo >> 3;
		bool more = (fo & 1) != 0;
		ip.frag_id = r.be32(l3 + off + 4);
		ip.frag_proto = r.u8(l3 + off);
		if (offset != 0)
			ip.frag = FragState::non_first;
		else if (more)
			ip.frag = FragState::first; // offset 0 and no M: atomic, not a fragment
		nh = r.u8(l3 + off);
		off += 8;
		if (offset != 0) {
			stopped = true;
			break;
		}
	}
	if (!stopped && is_ipv6_ext_header(nh))
		return std::nullopt; // more than STEER_MAX_EXTHDRS headers
	ip.proto = nh;
	ip.l4 = l3 + off;
	ip.l4_len = end - off;
	return ip;
}

// 4. Candidates: what might be ours, decided before any map lookup.
bool RefClassifier::is_candidate(const WindowReader &r, const L3Info &ip) const
{
	if (ip.frag == FragState::non_first)
		return true;
	if (ip.proto == kProtoEsp || ip.proto == kProtoAh)
		return true;
	bool header_readable = ip.l4_len >= 8 && r.can_read(ip.l4, 8);
	if (ip.proto == kProtoUdp)
		return !header_readable || port_in_bitmap(r.be16(ip.l4 + 2));
	bool icmp = (ip.family == STEER_FAMILY_IPV4 && ip.proto == kProtoIcmp) ||
		    (ip.family == STEER_FAMILY_IPV6 && ip.proto == kProtoIcmpv6);
	if (!icmp)
		return false;
	if (!header_readable)
		return true;
	uint8_t type = r.u8(ip.l4);
	if (ip.family == STEER_FAMILY_IPV4)
		return type == 3; // destination unreachable, incl. fragmentation needed
	return type == 1 || type == 2; // destination unreachable, packet too big
}

// 5. Gateway.
const RefClassifier::Gateway *RefClassifier::find_gateway(uint32_t ifindex, const L3Info &ip) const
{
	auto it = gateways_.find(GatewayKey{ifindex, ip.family, ip.dst});
	return it == gateways_.end() ? nullptr : &it->second;
}

// 6. Class, by protocol; the first check that decides wins.
RefClassifier::Outcome RefClassifier::classify_for_gateway(const WindowReader &r, const L3Info &ip,
							   const Gateway &g) const
{
	const Outcome passed{STEER_CLASS_PASSED, false};
	const Outcome malformed{STEER_CLASS_MALFORMED, false};
	uint32_t flags = g.value.flags;

	if (ip.frag == FragState::non_first)
		return classify_non_first_fragment(ip, g);
	switch (ip.proto) {
	case kProtoEsp:
		if (!has(flags, STEER_F_ESP))
			return passed;
		if (ip.l4_len < 8)
			return malformed;
		return {STEER_CLASS_ESP, true};
	case kProtoAh:
		if (!has(flags, STEER_F_AH))
			return passed;
		if (ip.l4_len < 12)
			return malformed;
		return {STEER_CLASS_AH, true};
	case kProtoUdp:
		return classify_udp(r, ip, g);
	case kProtoIcmp:
	case kProtoIcmpv6:
		// Only the family's own ICMP is a candidate (4), so no family test.
		return classify_icmp(r, ip, g);
	default:
		return passed; // only odd first fragments get here
	}
}

RefClassifier::Outcome RefClassifier::classify_non_first_fragment(const L3Info &ip,
								  const Gateway &g) const
{
	// Follows its first fragment when that one left a frags entry; the
	// target and counters are those of the gateway looked up now.
	if (!has(g.value.flags, STEER_F_FRAGMENTS))
		return {STEER_CLASS_PASSED, false};
	// ESP and AH carry their protocol in every fragment.
	if ((ip.proto == kProtoEsp && has(g.value.flags, STEER_F_ESP)) ||
	    (ip.proto == kProtoAh && has(g.value.flags, STEER_F_AH)))
		return {STEER_CLASS_FRAGMENT, true};
	if (frags_.count(frag_key(ip)) != 0)
		return {STEER_CLASS_FRAGMENT, true};
	return {STEER_CLASS_PASSED, false};
}

RefClassifier::Outcome RefClassifier::classify_udp(const WindowReader &r, const L3Info &ip,
						   const Gateway &g) const
{
	const Outcome malformed{STEER_CLASS_MALFORMED, false};
	if (ip.l4_len < 8 || !r.can_read(ip.l4, 8))
		return malformed;
	uint16_t dport = r.be16(ip.l4 + 2);
	// When ike_port == natt_port the flags choose: IKE first, as the spec
	// lists it, and NAT-T only when the gateway steers NAT-T but not IKE.
	bool to_ike = dport == g.value.ike_port && has(g.value.flags, STEER_F_IKE);
	bool to_natt = dport == g.value.natt_port && has(g.value.flags, STEER_F_NATT);
	if (!to_ike && !to_natt)
		return {STEER_CLASS_PASSED, false};

	bool first_fragment = ip.frag == FragState::first;
	size_t ulen = r.be16(ip.l4 + 4);
	if (!first_fragment && (ulen < 8 || ulen > ip.l4_len))
		return malformed;
	if (to_ike)
		return {STEER_CLASS_IKE, true};
	if (first_fragment)
		return {STEER_CLASS_FRAGMENT, true}; // steered without a payload look
	return classify_natt_payload(r, ip.l4 + 8, ulen - 8);
}

// RFC 3948: a keepalive is one 0xff byte; IKE follows a zero non-ESP
// marker; ESP starts with its SPI, and SPIs 1..255 are reserved.
RefClassifier::Outcome RefClassifier::classify_natt_payload(const WindowReader &r, size_t payload,
							    size_t plen) const
{
	const Outcome malformed{STEER_CLASS_MALFORMED, false};
	if (plen == 1) {
		if (!r.can_read(payload, 1) || r.u8(payload) != 0xff)
			return malformed;
		return {STEER_CLASS_NATT_KEEPALIVE, true};
	}
	if (plen < 4 || !r.can_read(payload, 4))
		return malformed;
	uint32_t first_word = r.be32(payload);
	if (first_word == 0)
		return {STEER_CLASS_NATT_IKE, true};
	if (plen >= 8 && first_word > 255)
		return {STEER_CLASS_NATT_ESP, true};
	return malformed;
}

RefClassifier::Outcome RefClassifier::classify_icmp(const WindowReader &r, const L3Info &ip,
						    const Gateway &g) const
{
	const Outcome passed{STEER_CLASS_PASSED, false};
	const Outcome malformed{STEER_CLASS_MALFORMED, false};
	uint32_t flags = g.value.flags;
	if (ip.l4_len < 8 || !r.can_read(ip.l4, 8))
		return malformed;
	if (!has(flags, STEER_F_ICMP))
		return passed;

	// The quoted packet: its source, protocol and first 8 layer-4 bytes.
	size_t q = ip.l4 + 8;
	AddrBytes inner_src{};
	uint8_t inner_proto = 0;
	size_t inner_l4 = 0;
	if (ip.family == STEER_FAMILY_IPV4) {
		if (ip.l4_len < 8 + 20 || !r.can_read(q, 20))
			return malformed;
		size_t inner_ihl = static_cast<size_t>(r.u8(q) & 15) * 4;
		if ((r.u8(q) >> 4) != 4 || inner_ihl < 20)
			return malformed;
		if (ip.l4_len < 8 + inner_ihl + 8 || !r.can_read(q + inner_ihl, 8))
			return malformed;
		inner_proto = r.u8(q + 9);
		inner_src = r.address(q + 12, 4);
		inner_l4 = q + inner_ihl;
	} else {
		if (ip.l4_len < 8 + 40 + 8 || !r.can_read(q, 48) || (r.u8(q) >> 4) != 6)
			return malformed;
		inner_proto = r.u8(q + 6); // next header, no extension walk
		inner_src = r.address(q + 8, 16);
		inner_l4 = q + 40;
	}

	// An error about a packet the gateway sent.
	if (inner_src != g.address)
		return passed;
	bool quotes_esp = inner_proto == kProtoEsp && has(flags, STEER_F_ESP);
	bool quotes_ah = inner_proto == kProtoAh && has(flags, STEER_F_AH);
	bool quotes_udp = false;
	if (inner_proto == kProtoUdp) {
		uint16_t sport = r.be16(inner_l4);
		quotes_udp = (sport == g.value.ike_port && has(flags, STEER_F_IKE)) ||
			     (sport == g.value.natt_port && has(flags, STEER_F_NATT));
	}
	if (quotes_esp || quotes_ah || quotes_udp)
		return {STEER_CLASS_ICMP_ERROR, true};
	return passed;
}

// A steered first fragment is counted as FRAGMENT and leaves its key so the
// later fragments, which carry no ports, follow it.
// Whatever class it would have had, it is now FRAGMENT.
RefClassifier::Outcome RefClassifier::steer_first_fragment(const L3Info &ip, const Gateway &g)
{
	if (!has(g.value.flags, STEER_F_FRAGMENTS))
		return {STEER_CLASS_PASSED, false};
	if (g.value.target_ifindex != 0)
		frags_[frag_key(ip)] = steer_frag_value{g.value.target_ifindex, g.value.gateway_id,
							g.value.flags, 0};
	return {STEER_CLASS_FRAGMENT, true};
}

// 7. Verdict and counting.
RefDecision RefClassifier::finish(uint32_t gateway_id, Outcome o, const Gateway *g, size_t frame_len)
{
	RefDecision d{kTcActUnspec, o.class_id, gateway_id, 0, 0};
	if (o.steered && g->value.target_ifindex == 0) {
		d.class_id = STEER_CLASS_TARGET_MISSING;
		d.verdict = kTcActShot;
	} else if (o.steered) {
		d.verdict = kTcActRedirect;
		d.target_ifindex = g->value.target_ifindex;
		d.redirect_peer = has(g->value.flags, STEER_F_REDIRECT_PLAIN) ? 0 : 1;
	}
	count(gateway_id, d.class_id, frame_len);
	return d;
}

void RefClassifier::count(uint32_t gateway_id, uint32_t class_id, size_t frame_len)
{
	uint64_t index = static_cast<uint64_t>(gateway_id) * STEER_CLASS_MAX + class_id;
	if (stats_entries_ && index >= *stats_entries_)
		return;
	steer_counter &c = counters_[static_cast<uint32_t>(index)];
	c.packets += 1;
	c.bytes += frame_len;
}

const char *class_name(uint32_t class_id)
{
	static const char *const names[STEER_CLASS_MAX] = {
		"esp", "ah", "ike", "natt-ike", "natt-esp", "natt-keepalive",
		"icmp-error", "fragment", "passed", "target-missing", "malformed",
	};
	return class_id < STEER_CLASS_MAX ? names[class_id] : "not-counted";
}

} // namespace steer::test
