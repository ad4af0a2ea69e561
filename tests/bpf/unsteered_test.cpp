// BPF_PROG_RUN: nothing is redirected (or dropped) unless it is addressed to
// a configured gateway on the interface it arrived at AND is of a class that
// gateway steers. Three families of frames, all of which must PASS:
//
//   1. Hand-built: every steerable recipe (ESP, AH, IKE, NAT-T IKE/ESP/
//      keepalive, ICMP errors quoting IPsec, first and later fragments),
//      plain, VLAN-tagged and with IPv4 options / an IPv6 extension header,
//      to addresses next to a gateway's (each bit flipped, +-1, +-2, the
//      /24's ends), to the same bytes in the other family, and to a
//      gateway's own address on interfaces where it is no gateway.
//   2. Hand-built: to configured addresses, protocols their gateway does
//      not steer: every other IP protocol, AH and ESP where not enabled,
//      other UDP ports (incl. another gateway's), TCP to IKE ports,
//      non-error ICMP, errors quoting non-IPsec, fragments where off.
//   3. Generated (tests/lib/frame_gen): valid frames and near misses aimed
//      at one gateway table while the program holds a shadow of it: the
//      same addresses on an interface the generator never uses, neighbours
//      the generator never picks, the other family's look-alikes.
//
//   interfaces (private netns): t0a, t1a   gateways (hand-built families)
//                               t2a, t3a   none ("other interface")
//   t0a  198.51.100.1   esp ike nat-t icmp fragments (no ah)  500/4500
//   t0a  2001:db8::1    all incl. ah, plain redirect          500/4500
//   t0a  203.0.113.7    esp only                              500/4500
//   t0a  198.51.100.4   all, target missing                   500/4500
//   t1a  198.51.100.1   esp nat-t                             1500/14500
//   t1a  2001:db8:7::7  ike nat-t only                        7500/7501
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>

#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "frame_gen.hpp"
#include "harness.hpp"
#include "packet_builder.hpp"

namespace steer::test {
namespace {

constexpr uint32_t kNoAh = STEER_F_ESP | STEER_F_IKE | STEER_F_NATT | STEER_F_ICMP | STEER_F_FRAGMENTS;
constexpr uint32_t kNoClass = STEER_CLASS_MAX;

uint32_t ifindex_of(const char *name)
{
	return if_nametoindex(name);
}

std::string hex(const Bytes &b)
{
	std::string s;
	char buf[4];
	for (uint8_t c : b) {
		std::snprintf(buf, sizeof(buf), "%02x", c);
		s += buf;
	}
	return s;
}

GatewaySet hand_table()
{
	const uint32_t a = ifindex_of("t0a"), b = ifindex_of("t1a");
	GatewaySet set;
	set.add(a, "198.51.100.1", {100, kNoAh, 500, 4500, 1});
	set.add(a, "2001:db8::1", {101, kSteerAll | STEER_F_REDIRECT_PLAIN, 500, 4500, 2});
	set.add(a, "203.0.113.7", {103, STEER_F_ESP, 500, 4500, 4});
	set.add(a, "198.51.100.4", {0, kSteerAll, 500, 4500, 6});
	set.add(b, "198.51.100.1", {102, STEER_F_ESP | STEER_F_NATT, 1500, 14500, 3});
	set.add(b, "2001:db8:7::7", {104, STEER_F_IKE | STEER_F_NATT, 7500, 7501, 5});
	return set;
}

// Where a frame is built: its link-layer and IP shape.
struct Shape {
	bool vlan = false;
	bool ip_options = false; // IPv4 options, or an IPv6 destination-options header
};

const Shape kShapes[] = {{false, false}, {true, false}, {false, true}, {true, true}};

IpAddress peer_of(const IpAddress &dst)
{
	return ip_addr(dst.family == STEER_FAMILY_IPV4 ? "192.0.2.7" : "2001:db8:ff::7");
}

// Fragment placement: none, first (offset 0, more), or a later one.
enum class Frag { none, first, later };

PacketBuilder start(const IpAddress &dst, const Shape &s, Frag frag = Frag::none,
		    std::optional<uint8_t> later_proto = std::nullopt)
{
	PacketBuilder b;
	b.eth();
	if (s.vlan)
		b.vlan(100);
	IpAddress src = peer_of(dst);
	if (dst.family == STEER_FAMILY_IPV4) {
		Ipv4Options o{to_ipv4(src), to_ipv4(dst)};
		o.id = 0x4242;
		o.mf = frag == Frag::first;
		o.frag_offset = frag == Frag::later ? 185 : 0;
		o.proto = frag == Frag::later ? later_proto : std::nullopt;
		if (s.ip_options)
			o.options = {1, 1, 1, 1}; // four NOPs
		return b.ipv4(o);
	}
	b.ipv6(Ipv6Options{to_ipv6(src), to_ipv6(dst)});
	if (s.ip_options)
		b.dest_opts(8);
	if (frag != Frag::none)
		b.ipv6_fragment({static_cast<uint16_t>(frag == Frag::later ? 185 : 0), frag == Frag::first,
				 0x4242, frag == Frag::later ? later_proto : std::nullopt});
	return b;
}

struct Recipe {
	std::string name;
	std::function<Bytes(const IpAddress &dst, const Shape &)> build;
};

// Frames of every class the classifier can steer, to dst, with the
// default ports and the hand table's other ones.
std::vector<Recipe> steerable_recipes()
{
	auto quoted = [](const IpAddress &from, uint8_t proto, uint16_t sport) {
		PacketBuilder inner;
		inner.ip(from, peer_of(from));
		if (proto == ipproto::esp)
			inner.esp(0x1234, 1);
		else if (proto == ipproto::ah)
			inner.ah({});
		else
			inner.udp(sport, sport).ike();
		return inner;
	};
	auto icmp_error = [](const IpAddress &dst) {
		return IcmpOptions{static_cast<uint8_t>(dst.family == STEER_FAMILY_IPV4 ? 3 : 1), 1, 0, {}};
	};
	std::vector<Recipe> r = {
		{"esp", [](auto &d, auto &s) { return start(d, s).esp(0x1234, 1).build(); }},
		{"ah", [](auto &d, auto &s) { return start(d, s).ah({}).raw(Bytes(16, 0xab)).build(); }},
		{"esp-first-frag", [](auto &d, auto &s) { return start(d, s, Frag::first).esp(0x1234, 1, 64).build(); }},
		{"esp-later-frag",
		 [](auto &d, auto &s) { return start(d, s, Frag::later, ipproto::esp).raw(Bytes(64, 7)).build(); }},
		{"udp-later-frag",
		 [](auto &d, auto &s) { return start(d, s, Frag::later, ipproto::udp).raw(Bytes(64, 7)).build(); }},
	};
	for (uint16_t port : {500, 4500, 1500, 14500, 7500, 7501}) {
		std::string p = std::to_string(port);
		r.push_back({"ike/" + p,
			     [port](auto &d, auto &s) { return start(d, s).udp(port, port).ike().build(); }});
		r.push_back({"natt-ike/" + p,
			     [port](auto &d, auto &s) { return start(d, s).udp(port, port).natt_ike().build(); }});
		r.push_back({"natt-esp/" + p, [port](auto &d, auto &s) {
				     return start(d, s).udp(port, port).esp_in_udp({0x1234, 1, Bytes(32, 1)}).build();
			     }});
		r.push_back({"keepalive/" + p,
			     [port](auto &d, auto &s) { return start(d, s).udp(port, port).natt_keepalive().build(); }});
		r.push_back({"udp-first-frag/" + p, [port](auto &d, auto &s) {
				     return start(d, s, Frag::first).udp(port, port).ike().build();
			     }});
		r.push_back({"icmp-error-ike/" + p, [=](auto &d, auto &s) {
				     return start(d, s).icmp_error(icmp_error(d), quoted(d, ipproto::udp, port)).build();
			     }});
	}
	for (uint8_t proto : {ipproto::esp, ipproto::ah})
		r.push_back({proto == ipproto::esp ? "icmp-error-esp" : "icmp-error-ah", [=](auto &d, auto &s) {
				     return start(d, s).icmp_error(icmp_error(d), quoted(d, proto, 0)).build();
			     }});
	return r;
}

// Addresses next to a: each bit flipped, +-1, +-2, the ends of its /24
// (IPv4) or /120 (IPv6), and the other family's look-alikes (the same
// leading bytes, a v4-mapped and a NAT64 form).
std::vector<IpAddress> neighbours_of(const IpAddress &a)
{
	std::vector<IpAddress> out;
	const size_t len = a.family == STEER_FAMILY_IPV4 ? 4 : 16;
	for (size_t bit = 0; bit < len * 8; bit++) {
		IpAddress n = a;
		n.bytes[bit / 8] ^= static_cast<uint8_t>(0x80 >> (bit % 8));
		out.push_back(n);
	}
	for (int delta : {-2, -1, 1, 2}) {
		IpAddress n = a;
		n.bytes[len - 1] = static_cast<uint8_t>(n.bytes[len - 1] + delta);
		out.push_back(n);
	}
	for (uint8_t end : {0x00, 0xff}) {
		IpAddress n = a;
		n.bytes[len - 1] = end;
		out.push_back(n);
	}
	IpAddress other{};
	other.family = a.family == STEER_FAMILY_IPV4 ? STEER_FAMILY_IPV6 : STEER_FAMILY_IPV4;
	std::copy_n(a.bytes.begin(), 4, other.bytes.begin());
	out.push_back(other);
	if (a.family == STEER_FAMILY_IPV4) {
		IpAddress mapped = ip_addr("::ffff:0.0.0.0"), nat64 = ip_addr("64:ff9b::");
		std::copy_n(a.bytes.begin(), 4, mapped.bytes.begin() + 12);
		std::copy_n(a.bytes.begin(), 4, nat64.bytes.begin() + 12);
		out.push_back(mapped);
		out.push_back(nat64);
	} else {
		IpAddress tail{};
		std::copy_n(a.bytes.begin() + 12, 4, tail.bytes.begin());
		out.push_back(tail);
	}
	return out;
}

class Unsteered : public ::testing::Test {
protected:
	static void SetUpTestSuite();
	static void TearDownTestSuite() { harness.reset(); }
	void SetUp() override
	{
		STEER_REQUIRE_ROOT();
		ASSERT_TRUE(harness) << load_error;
	}
	static void load(const GatewaySet &set);
	// Runs the frame; true when it passed untouched (TC_ACT_UNSPEC, no
	// target). A failure names the frame; at most a few are reported.
	bool expect_pass(const Bytes &frame, uint32_t ifindex, const std::string &what,
			 bool counted_as_passed_only);

	static inline std::unique_ptr<ProgHarness> harness;
	static inline std::string load_error;
	uint64_t frames = 0, failures = 0;
};

void Unsteered::SetUpTestSuite()
{
	if (::geteuid() != 0)
		return;
	harness = ProgHarness::create(64, load_error);
}

void Unsteered::load(const GatewaySet &set)
{
	auto &o = harness->object();
	steer_gw_key k{};
	while (bpf_map_get_next_key(o.gateways_fd(), nullptr, &k) == 0)
		bpf_map_delete_elem(o.gateways_fd(), &k);
	for (uint32_t word = 0; word < STEER_PORT_WORDS; word++) {
		uint32_t zero = 0;
		bpf_map_update_elem(o.ports_fd(), &word, &zero, BPF_ANY);
	}
	harness->clear_frags();
	for (const auto &e : set.entries()) {
		Status st = put_gateway(o.gateways_fd(), o.ports_fd(), e.key(), e.value);
		ASSERT_TRUE(st.ok()) << st.error().message();
	}
}

bool Unsteered::expect_pass(const Bytes &frame, uint32_t ifindex, const std::string &what,
			    bool counted_as_passed_only)
{
	frames++;
	auto d = harness->try_run(frame, ifindex);
	if (!d) {
		ADD_FAILURE() << "BPF_PROG_RUN refused " << what << ": " << hex(frame);
		return false;
	}
	// To a configured address the only class allowed is PASSED (or
	// MALFORMED): a steered class would mean it was judged IPsec.
	bool class_ok = !counted_as_passed_only || d->recorded.class_id == kNoClass ||
			d->recorded.class_id == STEER_CLASS_PASSED || d->recorded.class_id == STEER_CLASS_MALFORMED;
	bool ok = d->verdict == TC_ACT_UNSPEC && d->recorded.target_ifindex == 0 && class_ok;
	if (!ok && ++failures <= 10)
		ADD_FAILURE() << what << " on ifindex " << ifindex << ": verdict " << d->verdict << " class "
			      << class_name(d->recorded.class_id) << " target " << d->recorded.target_ifindex
			      << "\n  frame: " << hex(frame);
	return ok;
}

TEST_F(Unsteered, NothingToAnAddressNextToAGatewayIsRedirected)
{
	GatewaySet set = hand_table();
	ASSERT_NO_FATAL_FAILURE(load(set));
	auto recipes = steerable_recipes();
	for (const auto &gw : set.entries())
		for (const IpAddress &dst : neighbours_of(gw.address)) {
			if (set.is_gateway_address(dst))
				continue; // 198.51.100.1 +- 3 is 198.51.100.4, a gateway
			for (const auto &shape : kShapes)
				for (const auto &r : recipes)
					for (uint32_t ifindex : set.public_ifindexes())
						expect_pass(r.build(dst, shape), ifindex,
							    std::string(r.name) + " to " + to_string(dst), false);
		}
	EXPECT_EQ(failures, 0u) << "of " << frames << " frames";
	std::printf("neighbours: %llu frames, none redirected\n", static_cast<unsigned long long>(frames));
	EXPECT_GT(frames, 10000u);
}

// The control: the same recipes, to a gateway that steers them, are
// redirected; so the frames above failed to be redirected for their
// address alone, not for being malformed.
TEST_F(Unsteered, TheSameRecipesToTheirGatewayAreRedirected)
{
	GatewaySet set = hand_table();
	ASSERT_NO_FATAL_FAILURE(load(set));
	const GatewayEntry *v6 = set.find(ifindex_of("t0a"), ip_addr("2001:db8::1"));
	const GatewayEntry *v4 = set.find(ifindex_of("t0a"), ip_addr("198.51.100.1"));
	ASSERT_TRUE(v6 && v4);
	const std::set<std::string> steered = {"esp", "ah", "esp-first-frag", "esp-later-frag", "ike/500",
		"natt-ike/4500", "natt-esp/4500", "keepalive/4500", "udp-first-frag/500", "icmp-error-ike/500",
		"icmp-error-esp", "icmp-error-ah"};
	int redirected = 0;
	for (const GatewayEntry *gw : {v6, v4})
		for (const auto &shape : kShapes)
			for (const auto &r : steerable_recipes()) {
				bool ah = r.name.find("ah") != std::string::npos;
				if (!steered.count(r.name) || (ah && !(gw->value.flags & STEER_F_AH)))
					continue;
				auto d = harness->try_run(r.build(gw->address, shape), gw->ifindex);
				ASSERT_TRUE(d) << r.name;
				EXPECT_EQ(d->verdict, TC_ACT_REDIRECT) << r.name << " to " << to_string(gw->address)
								       << " vlan " << shape.vlan << " options "
								       << shape.ip_options;
				redirected += d->verdict == TC_ACT_REDIRECT;
			}
	EXPECT_EQ(redirected, 4 * (12 + 10));
}

TEST_F(Unsteered, AGatewaysAddressOnAnotherInterfaceIsNotRedirected)
{
	GatewaySet set = hand_table();
	ASSERT_NO_FATAL_FAILURE(load(set));
	auto recipes = steerable_recipes();
	for (const auto &gw : set.entries())
		for (uint32_t ifindex : {1u, ifindex_of("t0a"), ifindex_of("t1a"), ifindex_of("t2a"), ifindex_of("t3a")}) {
			if (set.find(ifindex, gw.address))
				continue;
			for (const auto &shape : kShapes)
				for (const auto &r : recipes)
					expect_pass(r.build(gw.address, shape), ifindex,
						    std::string(r.name) + " to " + to_string(gw.address), false);
		}
	EXPECT_EQ(failures, 0u) << "of " << frames << " frames";
	EXPECT_GT(frames, 500u);
}

// Per gateway: frames of protocols (and ports, types, fragment states) it
// does not steer. Built from its flags, so each gateway gets the cases its
// configuration makes "not ours".
std::vector<Recipe> unsteered_recipes(const GatewayEntry &gw)
{
	const uint32_t f = gw.value.flags;
	const uint16_t ike = gw.value.ike_port, natt = gw.value.natt_port;
	const bool v4 = gw.family() == STEER_FAMILY_IPV4;
	std::vector<Recipe> r;
	auto add = [&](std::string name, std::function<Bytes(const IpAddress &, const Shape &)> fn) {
		r.push_back({std::move(name), std::move(fn)});
	};
	for (int proto = 0; proto < 256; proto++) {
		bool ext = !v4 && (proto == 0 || proto == 43 || proto == 44 || proto == 60);
		bool steerable = proto == ipproto::udp || proto == (v4 ? ipproto::icmp : ipproto::icmpv6) ||
				 (proto == ipproto::esp && (f & STEER_F_ESP)) || (proto == ipproto::ah && (f & STEER_F_AH));
		if (ext || steerable)
			continue; // UDP and ICMP get their own cases below
		add("proto " + std::to_string(proto), [proto](auto &d, auto &s) {
			return start(d, s).raw(Bytes(40, 0x5a), static_cast<uint8_t>(proto)).build();
		});
	}
	for (uint16_t port : {uint16_t(ike - 1), uint16_t(ike + 1), uint16_t(natt - 1), uint16_t(natt + 1),
			      uint16_t(53), uint16_t(8472), uint16_t(500), uint16_t(4500), uint16_t(1500),
			      uint16_t(14500), uint16_t(7500), uint16_t(7501)}) {
		bool steered_port = (port == ike && (f & STEER_F_IKE)) || (port == natt && (f & STEER_F_NATT));
		if (steered_port)
			continue;
		add("udp/" + std::to_string(port),
		    [port](auto &d, auto &s) { return start(d, s).udp(port, port).ike().build(); });
		add("udp-first-frag/" + std::to_string(port), [port](auto &d, auto &s) {
			return start(d, s, Frag::first).udp(port, port).natt_ike().build();
		});
	}
	// IKE's ports as TCP, and as the UDP *source* port only.
	for (uint16_t port : {ike, natt}) {
		add("tcp/" + std::to_string(port), [port](auto &d, auto &s) { return start(d, s).tcp({port, port}).build(); });
		add("udp-from/" + std::to_string(port),
		    [port](auto &d, auto &s) { return start(d, s).udp(port, 33434).ike().build(); });
	}
	// ICMP that is no error (echo, router advertisement, ...).
	for (uint8_t type : v4 ? std::vector<uint8_t>{0, 5, 8, 11, 12, 13} : std::vector<uint8_t>{3, 4, 128, 129, 134, 135}) {
		add("icmp-type/" + std::to_string(type), [type](auto &d, auto &s) {
			return start(d, s).icmp({type, 0, 0, {}}, Bytes(48, 0)).build();
		});
	}
	// Errors quoting what the gateway does not send, or sent by someone else.
	const uint8_t err = v4 ? 3 : 1;
	auto quote_of = [](const IpAddress &from, const std::function<void(PacketBuilder &)> &l4) {
		PacketBuilder inner;
		inner.ip(from, peer_of(from));
		l4(inner);
		return inner;
	};
	add("icmp-error-tcp", [=](auto &d, auto &s) {
		return start(d, s).icmp_error({err, 1, 0, {}}, quote_of(d, [](auto &b) { b.tcp({500, 500}); })).build();
	});
	add("icmp-error-udp-other", [=](auto &d, auto &s) {
		return start(d, s).icmp_error({err, 1, 0, {}}, quote_of(d, [](auto &b) { b.udp(33434, 500).ike(); })).build();
	});
	add("icmp-error-from-elsewhere", [=](auto &d, auto &s) {
		IpAddress other = d;
		other.bytes[d.family == STEER_FAMILY_IPV4 ? 3 : 15] ^= 0x40;
		return start(d, s).icmp_error({err, 1, 0, {}}, quote_of(other, [](auto &b) { b.esp(0x1234, 1); })).build();
	});
	if (!(f & STEER_F_ICMP))
		add("icmp-error-esp-icmp-off", [=](auto &d, auto &s) {
			return start(d, s).icmp_error({err, 1, 0, {}}, quote_of(d, [](auto &b) { b.esp(0x1234, 1); })).build();
		});
	if (!(f & STEER_F_FRAGMENTS)) {
		add("esp-later-frag-off",
		    [](auto &d, auto &s) { return start(d, s, Frag::later, ipproto::esp).raw(Bytes(64, 7)).build(); });
		add("esp-first-frag-off",
		    [](auto &d, auto &s) { return start(d, s, Frag::first).esp(0x1234, 1, 64).build(); });
	}
	add("udp-later-frag-unknown-datagram",
	    [](auto &d, auto &s) { return start(d, s, Frag::later, ipproto::udp).raw(Bytes(64, 7)).build(); });
	return r;
}

TEST_F(Unsteered, ProtocolsAGatewayDoesNotSteerAreNotRedirected)
{
	GatewaySet set = hand_table();
	ASSERT_NO_FATAL_FAILURE(load(set));
	std::map<std::string, int> per_gateway;
	for (const auto &gw : set.entries())
		for (const auto &r : unsteered_recipes(gw))
			for (const auto &shape : kShapes) {
				harness->clear_frags(); // a later fragment never finds its first
				std::string what = std::string(r.name) + " to " + to_string(gw.address);
				expect_pass(r.build(gw.address, shape), gw.ifindex, what, true);
				per_gateway[to_string(gw.address)]++;
			}
	EXPECT_EQ(failures, 0u) << "of " << frames << " frames";
	for (const auto &[gw, n] : per_gateway)
		EXPECT_GT(n, 900) << gw;
	std::printf("configured addresses: %llu frames of protocols not steered, none redirected\n",
		    static_cast<unsigned long long>(frames));
}

// The table the program holds while the generator aims at `aimed`: every
// address on an interface the generator never sends on, plus neighbours
// and look-alikes it never produces (it varies only last bytes and
// interfaces among aimed's and the spare one).
GatewaySet shadow_of(const GatewaySet &aimed, uint32_t unused_ifindex)
{
	GatewaySet shadow;
	for (const auto &e : aimed.entries()) {
		shadow.add(unused_ifindex, to_string(e.address), e.value);
		IpAddress next_block = e.address;
		next_block.bytes[e.family() == STEER_FAMILY_IPV4 ? 2 : 14] ^= 1;
		shadow.add(e.ifindex, to_string(next_block), e.value);
		for (const IpAddress &n : neighbours_of(e.address))
			if (n.family != e.family())
				shadow.add(e.ifindex, to_string(n), e.value);
	}
	return shadow;
}

TEST_F(Unsteered, GeneratedFramesForAnotherTableAreNeverRedirected)
{
	std::array<uint32_t, 4> idx{};
	for (int i = 0; i < 4; i++)
		idx[i] = ifindex_of(("t" + std::to_string(i) + "a").c_str());
	GatewaySet aimed = GatewaySet::realistic(idx);
	GatewaySet shadow = shadow_of(aimed, ifindex_of("t4a"));
	for (const auto &e : shadow.entries()) {
		ASSERT_EQ(aimed.find(e.ifindex, e.address), nullptr) << to_string(e.address);
		// Nothing the generator can produce: its last-byte neighbours of
		// an aimed address on an aimed or spare interface.
		for (const auto &a : aimed.entries()) {
			bool same_but_last = a.family() == e.family() &&
					     std::equal(a.address.bytes.begin(),
							a.address.bytes.begin() + (e.family() == STEER_FAMILY_IPV4 ? 3 : 15),
							e.address.bytes.begin());
			ASSERT_FALSE(same_but_last && e.ifindex != ifindex_of("t4a")) << to_string(e.address);
		}
	}
	ASSERT_NO_FATAL_FAILURE(load(shadow));
	FrameGen gen(aimed, {.seed = 0x5ec0ffee, .mix = {.valid = 70, .near_miss = 30, .mutated = 0, .random = 0}});
	for (int i = 0; i < 150000 && failures == 0; i++) {
		GeneratedFrame f = gen.next();
		expect_pass(f.bytes, f.ifindex, std::string(origin_name(f.origin)) + " " + f.recipe, false);
	}
	EXPECT_EQ(failures, 0u) << "of " << frames << " frames";
	std::printf("generated: %llu frames for another table, none redirected\n",
		    static_cast<unsigned long long>(frames));
}

// delete_gateways() re-derives the ports bitmap (sync_ports: one batch
// read of the whole array, then only the words that differ): the ports of
// the remaining entry stay, the deleted entry's and a stray bit go, so UDP
// to them costs no hash lookup again.
TEST_F(Unsteered, DeletingAGatewayLeavesOnlyTheRemainingPorts)
{
	ASSERT_NO_FATAL_FAILURE(load(GatewaySet{}));
	auto &o = harness->object();
	auto key = [](uint8_t last) {
		steer_gw_key k{};
		k.ifindex = ifindex_of("t0a");
		k.family = STEER_FAMILY_IPV4;
		k.address.addr[0] = htonl(0xc6336400u | last); // 198.51.100.<last>
		return k;
	};
	uint32_t flags = STEER_F_ESP | STEER_F_IKE | STEER_F_NATT;
	ASSERT_TRUE(put_gateway(o.gateways_fd(), o.ports_fd(), key(1), {7, flags, 500, 4500, 1}).ok());
	ASSERT_TRUE(put_gateway(o.gateways_fd(), o.ports_fd(), key(2), {7, flags, 1500, 14500, 2}).ok());
	uint32_t stray_word = 7000 >> 5, stray = 1u << (7000 & 31);
	ASSERT_EQ(bpf_map_update_elem(o.ports_fd(), &stray_word, &stray, BPF_ANY), 0);
	ASSERT_TRUE(delete_gateways(o.gateways_fd(), o.ports_fd(), {key(2)}).ok());
	std::map<uint32_t, uint32_t> want = {{500 >> 5, 1u << (500 & 31)}, {4500 >> 5, 1u << (4500 & 31)}};
	for (uint32_t word = 0; word < STEER_PORT_WORDS; word++) {
		uint32_t bits = 0;
		ASSERT_EQ(bpf_map_lookup_elem(o.ports_fd(), &word, &bits), 0);
		EXPECT_EQ(bits, want.count(word) ? want[word] : 0u) << "ports word " << word;
	}
	ASSERT_NO_FATAL_FAILURE(load(GatewaySet{}));
}

} // namespace
} // namespace steer::test

int main(int argc, char **argv)
{
	return steer::test::run_bpf_tests(argc, argv, 5);
}
