// libFuzzer target: the reference classifier (tests/lib/ref_classifier.hpp)
// on arbitrary frames against a realistic gateway table (issue 6, item 6).
//
// Input: a sequence of records, each [selector:1][length:2 BE][frame bytes],
// classified in order by one RefClassifier (so a first fragment can leave a
// frags entry that a later record hits). The selector picks the arrival
// interface: one of the public ones or the spare interface with no gateway.
// A short last record takes what is left.
//
// Invariants checked on every decision:
//  - verdict is TC_ACT_UNSPEC (-1), TC_ACT_SHOT (2) or TC_ACT_REDIRECT (7);
//  - class id <= STEER_CLASS_MAX;
//  - a drop is TARGET_MISSING for a gateway whose target is 0;
//  - a redirect has a nonzero target, and only goes to a frame whose outer
//    destination address is a configured gateway on the arrival interface:
//    target, gateway id and redirect mode are that gateway's, the class is a
//    steered one allowed by the gateway's flags and, for unfragmented IPv4,
//    the protocol and UDP destination port match the class.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>

#include "frame_gen.hpp"
#include "ref_classifier.hpp"

using namespace steer::test;

namespace {

const GatewaySet &gateways()
{
	static const GatewaySet set = GatewaySet::realistic();
	return set;
}

// With FUZZ_REF_STATS set, how many decisions of each verdict were checked
// is printed at exit (shows that the redirect invariants are exercised).
struct Stats {
	unsigned long pass = 0, drop = 0, redirect = 0;
	~Stats()
	{
		if (std::getenv("FUZZ_REF_STATS"))
			std::fprintf(stderr, "fuzz_ref_classifier: checked %lu pass, %lu drop, %lu redirect\n",
				     pass, drop, redirect);
	}
} stats;

[[noreturn]] void fail(const char *what, const RefDecision &d, uint32_t ifindex, std::span<const uint8_t> f)
{
	std::fprintf(stderr,
		     "fuzz_ref_classifier invariant violated: %s\n"
		     "  ifindex %u len %zu -> verdict %d class %u (%s) gw %u target %u peer %u\n",
		     what, ifindex, f.size(), d.verdict, d.class_id,
		     d.class_id <= STEER_CLASS_MAX ? class_name(d.class_id) : "?", d.gateway_id,
		     d.target_ifindex, d.redirect_peer);
	std::abort();
}

// The outer IP header as the link layer of docs/classifier.md §1 finds it.
struct Outer {
	IpAddress dst;
	size_t l3 = 0;
};

std::optional<Outer> outer_ip(std::span<const uint8_t> f)
{
	if (f.size() < 14)
		return std::nullopt;
	size_t l3 = 14;
	uint16_t et = uint16_t(f[12] << 8 | f[13]);
	if (et == 0x8100 || et == 0x88a8) {
		if (f.size() < 18)
			return std::nullopt;
		et = uint16_t(f[16] << 8 | f[17]);
		l3 = 18;
	}
	Outer o;
	o.l3 = l3;
	if (et == 0x0800 && f.size() >= l3 + 20) {
		o.dst.family = STEER_FAMILY_IPV4;
		for (size_t i = 0; i < 4; i++)
			o.dst.bytes[i] = f[l3 + 16 + i];
		return o;
	}
	if (et == 0x86dd && f.size() >= l3 + 40) {
		o.dst.family = STEER_FAMILY_IPV6;
		for (size_t i = 0; i < 16; i++)
			o.dst.bytes[i] = f[l3 + 24 + i];
		return o;
	}
	return std::nullopt;
}

uint32_t class_flags(uint32_t class_id)
{
	switch (class_id) {
	case STEER_CLASS_ESP: return STEER_F_ESP;
	case STEER_CLASS_AH: return STEER_F_AH;
	case STEER_CLASS_IKE: return STEER_F_IKE;
	case STEER_CLASS_NATT_IKE:
	case STEER_CLASS_NATT_ESP:
	case STEER_CLASS_NATT_KEEPALIVE: return STEER_F_NATT;
	case STEER_CLASS_ICMP_ERROR: return STEER_F_ICMP;
	// A non-first ESP/AH fragment is steered on ESP/AH alone (§6).
	case STEER_CLASS_FRAGMENT: return STEER_F_FRAGMENTS | STEER_F_ESP | STEER_F_AH;
	default: return 0;
	}
}

void check(const RefDecision &d, uint32_t ifindex, std::span<const uint8_t> f)
{
	if (d.verdict != kTcActUnspec && d.verdict != kTcActShot && d.verdict != kTcActRedirect)
		fail("verdict not -1, 2 or 7", d, ifindex, f);
	if (d.class_id > STEER_CLASS_MAX)
		fail("class id > STEER_CLASS_MAX", d, ifindex, f);
	if (d.verdict != kTcActRedirect && (d.target_ifindex != 0 || d.redirect_peer != 0))
		fail("target or redirect mode set without a redirect", d, ifindex, f);
	if (d.verdict == kTcActUnspec) {
		stats.pass++;
		return;
	}

	// DROP and REDIRECT both need a configured gateway for the destination.
	auto o = outer_ip(f);
	if (!o)
		fail("steered a frame without a readable IP destination", d, ifindex, f);
	const GatewayEntry *g = gateways().find(ifindex, o->dst);
	if (!g) {
		fail(gateways().is_gateway_address(o->dst)
			     ? "steered a frame for a gateway address of another interface"
			     : "steered a frame whose destination is not a gateway address",
		     d, ifindex, f);
	}
	if (d.gateway_id != g->value.gateway_id)
		fail("gateway id is not the destination gateway's", d, ifindex, f);

	if (d.verdict == kTcActShot) {
		if (d.class_id != STEER_CLASS_TARGET_MISSING || g->value.target_ifindex != 0)
			fail("drop other than TARGET_MISSING of a gateway without target", d, ifindex, f);
		stats.drop++;
		return;
	}

	// REDIRECT.
	if (d.target_ifindex == 0)
		fail("redirect with target 0", d, ifindex, f);
	if (d.target_ifindex != g->value.target_ifindex)
		fail("redirect target is not the gateway's target", d, ifindex, f);
	uint32_t want_peer = (g->value.flags & STEER_F_REDIRECT_PLAIN) ? 0 : 1;
	if (d.redirect_peer != want_peer)
		fail("redirect mode does not follow REDIRECT_PLAIN", d, ifindex, f);
	uint32_t need = class_flags(d.class_id);
	if (need == 0)
		fail("redirect of a class that is never steered", d, ifindex, f);
	if ((g->value.flags & need) == 0)
		fail("redirect of a class the gateway does not steer", d, ifindex, f);

	// Unfragmented IPv4: the protocol (and UDP port) must be the class's.
	if (o->dst.family == STEER_FAMILY_IPV4 && d.class_id != STEER_CLASS_FRAGMENT) {
		size_t l3 = o->l3;
		uint8_t proto = f[l3 + 9];
		size_t ihl = size_t(f[l3] & 15) * 4;
		uint8_t want = 0;
		switch (d.class_id) {
		case STEER_CLASS_ESP: want = 50; break;
		case STEER_CLASS_AH: want = 51; break;
		case STEER_CLASS_ICMP_ERROR: want = 1; break;
		default: want = 17; break;
		}
		if (proto != want)
			fail("redirect of an IPv4 protocol the class does not name", d, ifindex, f);
		if (want == 17) {
			if (f.size() < l3 + ihl + 4)
				fail("UDP redirect without a UDP header", d, ifindex, f);
			uint16_t dport = uint16_t(f[l3 + ihl + 2] << 8 | f[l3 + ihl + 3]);
			uint16_t port = d.class_id == STEER_CLASS_IKE ? g->value.ike_port : g->value.natt_port;
			if (dport != port)
				fail("UDP redirect to a port that is not configured", d, ifindex, f);
		}
	}
	stats.redirect++;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const GatewaySet &gws = gateways();
	RefClassifier ref;
	gws.load_into(ref);
	ref.set_stats_entries(gws.stats_entries());

	// Arrival interfaces: the public ones, then the spare one.
	std::vector<uint32_t> ifs = gws.public_ifindexes();
	ifs.push_back(gws.spare_ifindex());

	std::span<const uint8_t> in(data, size);
	for (int records = 0; !in.empty() && records < 64; records++) {
		uint32_t ifindex = ifs[in[0] % ifs.size()];
		in = in.subspan(1);
		size_t len = in.size();
		if (in.size() >= 2) {
			len = size_t(in[0]) << 8 | in[1];
			in = in.subspan(2);
			if (len > in.size())
				len = in.size();
		} else {
			in = {};
			len = 0;
		}
		std::span<const uint8_t> frame = in.first(len);
		in = in.subspan(len);
		RefDecision d = ref.classify(frame, ifindex);
		check(d, ifindex, frame);
	}
	return 0;
}
