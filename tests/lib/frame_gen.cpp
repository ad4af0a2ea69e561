// The gateway table and the frame generator for differential tests.
#include "frame_gen.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace steer::test {

namespace {

steer_gw_value gw_value(uint32_t id, uint32_t target, uint32_t flags, uint16_t ike, uint16_t natt)
{
	steer_gw_value v{};
	v.target_ifindex = target;
	v.flags = flags;
	v.ike_port = ike;
	v.natt_port = natt;
	v.gateway_id = id;
	return v;
}

std::string family_prefix(const IpAddress &a)
{
	return a.family == STEER_FAMILY_IPV6 ? "v6/" : "v4/";
}

} // namespace

// ---- GatewaySet --------------------------------------------------------

steer_gw_key GatewayEntry::key() const
{
	steer_gw_key k{};
	k.ifindex = ifindex;
	k.family = address.family;
	k.address = to_steer_addr(address);
	return k;
}

GatewaySet GatewaySet::realistic(std::array<uint32_t, 4> ifindexes, bool shared_address)
{
	const uint32_t a = ifindexes[0], b = ifindexes[1], c = ifindexes[2];
	const uint32_t plain = STEER_F_REDIRECT_PLAIN;
	GatewaySet set;
	// Ids are sparse so a wrong stats index shows up in the counters.
	set.add(a, "198.51.100.1", gw_value(1, 101, kSteerAll, 500, 4500));
	set.add(a, "198.51.100.2", gw_value(2, 102, STEER_F_ESP | STEER_F_IKE | STEER_F_NATT | plain, 500, 4500));
	set.add(a, "2001:db8:100::1", gw_value(3, 103, kSteerAll, 500, 4500));
	set.add(b, "203.0.113.10", gw_value(5, 105, kSteerAll | plain, 1500, 14500));
	set.add(b, "2001:db8:200::10",
		gw_value(8, 108, STEER_F_ESP | STEER_F_AH | STEER_F_ICMP | STEER_F_FRAGMENTS, 500, 4500));
	set.add(b, "203.0.113.11", gw_value(13, 0, kSteerAll, 500, 4500)); // target missing
	set.add(c, "2001:db8:300::1",
		gw_value(21, 121, STEER_F_IKE | STEER_F_NATT | STEER_F_ICMP | STEER_F_FRAGMENTS | plain,
			 7500, 7501));
	set.add(c, "192.0.2.200", gw_value(34, 134, STEER_F_ESP | STEER_F_NATT | STEER_F_FRAGMENTS, 500, 4500));
	set.add(c, "2001:db8:300::2", gw_value(40, 0, kSteerAll, 500, 4500)); // target missing
	if (shared_address)
		set.add(c, "198.51.100.1",
			gw_value(55, 155, STEER_F_ESP | STEER_F_IKE | STEER_F_NATT | STEER_F_ICMP |
						  STEER_F_FRAGMENTS | plain, 500, 4500));
	set.spare_ifindex_ = ifindexes[3];
	return set;
}

void GatewaySet::add(uint32_t ifindex, std::string_view address, const steer_gw_value &value)
{
	entries_.push_back(GatewayEntry{ifindex, ip_addr(address), value});
	if (std::find(public_ifindexes_.begin(), public_ifindexes_.end(), ifindex) == public_ifindexes_.end())
		public_ifindexes_.push_back(ifindex);
}

void GatewaySet::load_into(RefClassifier &ref) const
{
	for (const GatewayEntry &e : entries_)
		ref.add_gateway(e.ifindex, e.family(), to_steer_addr(e.address), e.value);
}

std::array<uint32_t, STEER_PORT_WORDS> GatewaySet::ports_bitmap() const
{
	std::array<uint32_t, STEER_PORT_WORDS> bits{};
	for (const GatewayEntry &e : entries_)
		for (uint16_t port : {e.value.ike_port, e.value.natt_port})
			bits[port / 32] |= 1u << (port % 32);
	return bits;
}

uint32_t GatewaySet::max_gateway_id() const
{
	uint32_t max_id = 0;
	for (const GatewayEntry &e : entries_)
		max_id = std::max(max_id, e.value.gateway_id);
	return max_id;
}

const GatewayEntry *GatewaySet::find(uint32_t ifindex, const IpAddress &address) const
{
	for (const GatewayEntry &e : entries_)
		if (e.ifindex == ifindex && e.address == address)
			return &e;
	return nullptr;
}

bool GatewaySet::is_gateway_address(const IpAddress &address) const
{
	for (const GatewayEntry &e : entries_)
		if (e.address == address)
			return true;
	return false;
}

const char *origin_name(FrameOrigin origin)
{
	switch (origin) {
	case FrameOrigin::valid: return "valid";
	case FrameOrigin::near_miss: return "near-miss";
	case FrameOrigin::mutated: return "mutated";
	case FrameOrigin::random: return "random";
	}
	return "?";
}

// ---- FrameGen: randomness and building blocks --------------------------

FrameGen::FrameGen(const GatewaySet &gateways, FrameGenOptions opts)
	: gateways_(gateways), opts_(opts), rng_(opts.seed)
{
	const FrameMix &m = opts_.mix;
	if (m.valid + m.near_miss + m.mutated + m.random == 0)
		throw std::invalid_argument("frame mix has no weights");
	if (gateways_.entries().empty())
		throw std::invalid_argument("no gateways to aim frames at");
	if (opts_.max_len < opts_.min_len || opts_.max_len < 64)
		throw std::invalid_argument("max_len must be at least 64 and min_len");
	for (const GatewayEntry &e : gateways_.entries()) {
		gateway_ports_.push_back(e.value.ike_port);
		gateway_ports_.push_back(e.value.natt_port);
	}
}

// Modulo, not std::uniform_int_distribution: its output differs between
// standard libraries, and a seed should replay the same frames anywhere.
uint64_t FrameGen::below(uint64_t n)
{
	return n == 0 ? 0 : rng_() % n;
}

uint64_t FrameGen::between(uint64_t lo, uint64_t hi)
{
	return hi <= lo ? lo : lo + below(hi - lo + 1);
}

bool FrameGen::chance(unsigned percent)
{
	return below(100) < percent;
}

Bytes FrameGen::random_bytes(size_t n)
{
	Bytes b(n);
	for (uint8_t &x : b)
		x = static_cast<uint8_t>(rng_());
	return b;
}

// Room for payloads after the largest headers the generator makes.
size_t FrameGen::payload_budget() const
{
	return opts_.max_len > 280 ? opts_.max_len - 280 : 8;
}

// Mostly short payloads (headers near the parse window matter most), some
// up to the budget. The result is a multiple of `multiple`, at least lo.
size_t FrameGen::random_payload_len(size_t lo, size_t hi, size_t multiple)
{
	hi = std::max(lo, std::min(hi, payload_budget()));
	size_t n = chance(70) ? between(lo, std::min(hi, lo + 64)) : between(lo, hi);
	n -= n % multiple;
	return std::max(n, lo);
}

IpAddress FrameGen::peer_address(uint8_t family)
{
	IpAddress a = family == STEER_FAMILY_IPV6 ? ip_addr("2001:db8:ffff::1") : ip_addr("100.64.0.1");
	a.bytes[family == STEER_FAMILY_IPV6 ? 15 : 3] = static_cast<uint8_t>(between(1, 4));
	return a;
}

IpAddress FrameGen::router_address(uint8_t family)
{
	IpAddress a = family == STEER_FAMILY_IPV6 ? ip_addr("2001:db8:eeee::1") : ip_addr("10.0.0.1");
	a.bytes[family == STEER_FAMILY_IPV6 ? 15 : 2] = static_cast<uint8_t>(between(1, 4));
	return a;
}

FrameGen::Flow FrameGen::flow_to(const GatewayEntry &gw)
{
	return Flow{gw.ifindex, peer_address(gw.family()), gw.address, &gw};
}

void FrameGen::add_link(PacketBuilder &b)
{
	b.eth();
	uint64_t r = below(100);
	if (r < 15)
		b.vlan(static_cast<uint16_t>(between(1, 4094)));
	else if (r < 20)
		b.qinq(static_cast<uint16_t>(between(1, 4094)));
}

Ipv4Options FrameGen::ipv4_options(const Flow &f, const FragPlan &frag)
{
	Ipv4Options o;
	o.src = to_ipv4(f.src);
	o.dst = to_ipv4(f.dst);
	o.ttl = static_cast<uint8_t>(between(1, 255));
	o.id = frag.kind == FragKind::none ? static_cast<uint16_t>(rng_()) : static_cast<uint16_t>(frag.id);
	o.df = frag.kind == FragKind::none && chance(50);
	o.mf = frag.more;
	o.frag_offset = frag.offset_units;
	if (chance(15)) {
		// Router Alert (RFC 2113) and NOPs, up to the 40 bytes IHL allows.
		size_t len = 4 * between(1, 10);
		if (chance(50))
			o.options = {0x94, 0x04, 0x00, 0x00};
		o.options.resize(std::max(len, o.options.size()), 1);
	}
	return o;
}

void FrameGen::add_ipv6_ext_headers(PacketBuilder &b, const FragPlan &frag)
{
	if (chance(15))
		b.hop_by_hop(8 * between(1, 3));
	if (chance(10))
		b.routing(8 * between(1, 3));
	if (chance(10))
		b.dest_opts(8 * between(1, 2));
	if (frag.kind != FragKind::none) {
		Ipv6FragmentOptions fo;
		fo.offset = frag.offset_units;
		fo.more = frag.more;
		fo.id = frag.id;
		if (frag.kind == FragKind::non_first)
			fo.next_header = frag.proto; // what follows is not a header
		b.ipv6_fragment(fo);
		if (frag.dest_opts_after)
			b.dest_opts(8);
	} else if (chance(3)) {
		// Long options push the upper layer to the parse window's edge.
		b.dest_opts(8 * between(20, 30));
	}
}

void FrameGen::add_ip(PacketBuilder &b, const Flow &f, const FragPlan &frag)
{
	if (f.dst.family == STEER_FAMILY_IPV4) {
		b.ipv4(ipv4_options(f, frag));
		return;
	}
	Ipv6Options o;
	o.src = to_ipv6(f.src);
	o.dst = to_ipv6(f.dst);
	o.hop_limit = static_cast<uint8_t>(between(1, 255));
	o.flow_label = static_cast<uint32_t>(below(1u << 20));
	b.ipv6(o);
	add_ipv6_ext_headers(b, frag);
}

PacketBuilder FrameGen::start(const Flow &f)
{
	return start(f, FragPlan{});
}

PacketBuilder FrameGen::start(const Flow &f, const FragPlan &frag)
{
	PacketBuilder b;
	add_link(b);
	add_ip(b, f, frag);
	return b;
}

FrameGen::Made FrameGen::finish(const PacketBuilder &b, const Flow &f, std::string recipe)
{
	PacketBuilder padded = b;
	if (chance(90))
		padded.pad_to(60); // the Ethernet minimum, as a NIC delivers it
	Made m{padded.build_layers(), f.ifindex, family_prefix(f.dst) + recipe};
	if (m.frame.bytes.size() > opts_.max_len) {
		m.frame.bytes.resize(opts_.max_len);
		m.recipe += "+cut-to-max";
	}
	return m;
}

GeneratedFrame FrameGen::to_generated(Made m, FrameOrigin origin) const
{
	GeneratedFrame g{std::move(m.frame.bytes), m.ifindex, origin, std::move(m.recipe)};
	if (g.bytes.size() < opts_.min_len)
		g.bytes.resize(opts_.min_len, 0);
	return g;
}

std::vector<Bytes> FrameGen::truncations(const Bytes &frame, size_t min_len)
{
	std::vector<Bytes> out;
	for (size_t len = min_len; len < frame.size(); len++)
		out.emplace_back(frame.begin(), frame.begin() + static_cast<ptrdiff_t>(len));
	return out;
}

// ---- next() ------------------------------------------------------------

GeneratedFrame FrameGen::next()
{
	// Later fragments come a few frames after their first one, with other
	// traffic in between, as on a real link.
	if (!followers_.empty() && (chance(30) || followers_.size() > 32)) {
		GeneratedFrame g = std::move(followers_.front());
		followers_.pop_front();
		return g;
	}
	const FrameMix &m = opts_.mix;
	uint64_t r = below(m.valid + m.near_miss + m.mutated + m.random);
	if (r < m.valid)
		return to_generated(make_valid(true), FrameOrigin::valid);
	r -= m.valid;
	if (r < m.near_miss)
		return to_generated(make_near_miss(), FrameOrigin::near_miss);
	r -= m.near_miss;
	if (r < m.mutated)
		return make_mutated();
	return make_random();
}

} // namespace steer::test
