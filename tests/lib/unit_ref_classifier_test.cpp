// The reference classifier against docs/classifier.md, rule by rule, with
// frames from the packet builder. Section numbers are the spec's.
#include <gtest/gtest.h>

#include <ostream>

#include "packet_builder.hpp"
#include "ref_classifier.hpp"

namespace steer::test {

void PrintTo(const RefDecision &d, std::ostream *os)
{
	*os << "{verdict " << d.verdict << ", class " << class_name(d.class_id) << ", gw " << d.gateway_id
	    << ", target " << d.target_ifindex << ", peer " << d.redirect_peer << "}";
}

namespace {

constexpr uint32_t kIf = 7;      // the public interface
constexpr uint32_t kOtherIf = 8; // an interface without gateways

constexpr const char *kPeer4 = "192.0.2.1";
constexpr const char *kPeer6 = "2001:db8:ffff::1";
constexpr const char *kGw4 = "198.51.100.1";          // id 1, everything, target 101
constexpr const char *kGw4Plain = "198.51.100.2";     // id 2, ESP IKE NATT, REDIRECT_PLAIN
constexpr const char *kGw4NoTarget = "198.51.100.3";  // id 3, everything, target 0
constexpr const char *kGw4Ports = "198.51.100.4";     // id 4, everything, ports 1500/14500
constexpr const char *kGw4IkeOnly = "198.51.100.5";   // id 5, IKE
constexpr const char *kGw4NattIcmp = "198.51.100.10"; // id 10, NATT ICMP
constexpr const char *kGw4SamePort = "198.51.100.11"; // id 11, NATT, ike = natt = 4600
constexpr const char *kGw4SameBoth = "198.51.100.12"; // id 12, IKE NATT, ike = natt = 4600
constexpr const char *kGw6 = "2001:db8::1";           // id 6, everything, target 106
constexpr const char *kGw6NoFrag = "2001:db8::2";     // id 7, all but FRAGMENTS
constexpr const char *kGw6NoTarget = "2001:db8::3";   // id 9, everything, target 0
constexpr const char *kNotGw4 = "198.51.100.99";

constexpr uint32_t kAll = STEER_F_ESP | STEER_F_AH | STEER_F_IKE | STEER_F_NATT | STEER_F_ICMP |
			  STEER_F_FRAGMENTS;

const RefDecision kNotOurs{kTcActUnspec, STEER_CLASS_MAX, 0, 0, 0};

RefDecision steered(uint32_t class_id, uint32_t gw, uint32_t target, uint32_t peer = 1)
{
	return {kTcActRedirect, class_id, gw, target, peer};
}

RefDecision passed(uint32_t gw)
{
	return {kTcActUnspec, STEER_CLASS_PASSED, gw, 0, 0};
}

RefDecision malformed(uint32_t gw)
{
	return {kTcActUnspec, STEER_CLASS_MALFORMED, gw, 0, 0};
}

RefDecision target_missing(uint32_t gw)
{
	return {kTcActShot, STEER_CLASS_TARGET_MISSING, gw, 0, 0};
}

class RefClassifierTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		add(kGw4, 1, 101, kAll);
		add(kGw4Plain, 2, 102, STEER_F_ESP | STEER_F_IKE | STEER_F_NATT | STEER_F_REDIRECT_PLAIN);
		add(kGw4NoTarget, 3, 0, kAll);
		add(kGw4Ports, 4, 104, kAll, 1500, 14500);
		add(kGw4IkeOnly, 5, 105, STEER_F_IKE);
		add(kGw4NattIcmp, 10, 110, STEER_F_NATT | STEER_F_ICMP);
		add(kGw4SamePort, 11, 111, STEER_F_NATT, 4600, 4600);
		add(kGw4SameBoth, 12, 112, STEER_F_IKE | STEER_F_NATT, 4600, 4600);
		add(kGw6, 6, 106, kAll);
		add(kGw6NoFrag, 7, 107, kAll & ~STEER_F_FRAGMENTS);
		add(kGw6NoTarget, 9, 0, kAll);
	}

	void add(const char *address, uint32_t id, uint32_t target, uint32_t flags, uint16_t ike = 500,
		 uint16_t natt = 4500)
	{
		IpAddress a = ip_addr(address);
		steer_gw_value v{target, flags, ike, natt, id};
		ref.add_gateway(kIf, a.family, to_steer_addr(a), v);
	}

	RefDecision run(const Bytes &frame, uint32_t ifindex = kIf) { return ref.classify(frame, ifindex); }

	RefClassifier ref;
};

// Builders for the common beginnings.
PacketBuilder v4(const char *dst = kGw4, const char *src = kPeer4)
{
	PacketBuilder b;
	b.eth().ipv4(src, dst);
	return b;
}

PacketBuilder v4(Ipv4Options o)
{
	PacketBuilder b;
	b.eth().ipv4(std::move(o));
	return b;
}

Ipv4Options v4_opts(const char *dst = kGw4)
{
	Ipv4Options o;
	o.src = ipv4_addr(kPeer4);
	o.dst = ipv4_addr(dst);
	return o;
}

PacketBuilder v6(const char *dst = kGw6, const char *src = kPeer6)
{
	PacketBuilder b;
	b.eth().ipv6(src, dst);
	return b;
}

PacketBuilder v6(Ipv6Options o)
{
	PacketBuilder b;
	b.eth().ipv6(o);
	return b;
}

Ipv6Options v6_opts(const char *dst = kGw6)
{
	Ipv6Options o;
	o.src = ipv6_addr(kPeer6);
	o.dst = ipv6_addr(dst);
	return o;
}

Bytes with_ethertype(uint16_t et, size_t len)
{
	Bytes b(len, 0);
	b[12] = static_cast<uint8_t>(et >> 8);
	b[13] = static_cast<uint8_t>(et);
	return b;
}

} // namespace

// ---- 1. Link layer ------------------------------------------------------

TEST_F(RefClassifierTest, FrameShorterThanEthernetIsMalformedForGatewayZero)
{
	for (size_t len : {0, 1, 13}) {
		EXPECT_EQ(run(Bytes(len, 0)), malformed(0)) << len;
	}
	EXPECT_EQ(ref.counter(0, STEER_CLASS_MALFORMED).packets, 3u);
	EXPECT_EQ(ref.counter(0, STEER_CLASS_MALFORMED).bytes, 14u);
}

TEST_F(RefClassifierTest, TaggedFrameShorterThan18IsMalformed)
{
	EXPECT_EQ(run(with_ethertype(0x8100, 14)), malformed(0));
	EXPECT_EQ(run(with_ethertype(0x88a8, 17)), malformed(0));
	Bytes arp_in_tag = with_ethertype(0x8100, 18);
	arp_in_tag[16] = 0x08;
	arp_in_tag[17] = 0x06;
	EXPECT_EQ(run(arp_in_tag), kNotOurs);
}

TEST_F(RefClassifierTest, NonIpIsNotOurs)
{
	EXPECT_EQ(run(with_ethertype(0x0806, 14)), kNotOurs);
	EXPECT_EQ(run(with_ethertype(0x0806, 60)), kNotOurs);
	EXPECT_TRUE(ref.counters().empty());
}

TEST_F(RefClassifierTest, OneTagIsReadForBothTagTypes)
{
	PacketBuilder q;
	q.eth().vlan(100).ipv4(kPeer4, kGw4).esp(0x1000, 1);
	EXPECT_EQ(run(q.build()), steered(STEER_CLASS_ESP, 1, 101));
	PacketBuilder ad;
	ad.eth().qinq(200).ipv6(kPeer6, kGw6).esp(0x1000, 1);
	EXPECT_EQ(run(ad.build()), steered(STEER_CLASS_ESP, 6, 106));
}

TEST_F(RefClassifierTest, SecondTagIsNotIp)
{
	PacketBuilder b;
	b.eth().qinq(200).vlan(100).ipv4(kPeer4, kGw4).esp(0x1000, 1);
	EXPECT_EQ(run(b.build()), kNotOurs);
}

// ---- 2. IPv4 --------------------------------------------------------------

TEST_F(RefClassifierTest, Ipv4ShorterThan20IsMalformed)
{
	EXPECT_EQ(run(with_ethertype(0x0800, 14 + 19)), malformed(0));
	Bytes tagged = with_ethertype(0x8100, 18 + 19);
	tagged[16] = 0x08;
	EXPECT_EQ(run(tagged), malformed(0));
}

TEST_F(RefClassifierTest, Ipv4HeaderChecks)
{
	Ipv4Options o = v4_opts();
	o.version = 6;
	EXPECT_EQ(run(v4(o).esp(0x1000, 1).build()), malformed(0)) << "version";
	o = v4_opts();
	o.ihl_words = 4;
	EXPECT_EQ(run(v4(o).esp(0x1000, 1).build()), malformed(0)) << "ihl < 20";
	o = v4_opts();
	o.ihl_words = 15;
	o.tot_len = 60;
	EXPECT_EQ(run(v4(o).esp(0x1000, 1, 2).build()), malformed(0)) << "ihl > avail";
	o = v4_opts();
	o.tot_len = 19;
	EXPECT_EQ(run(v4(o).esp(0x1000, 1).build()), malformed(0)) << "tot_len < ihl";
	o = v4_opts();
	o.tot_len = 20 + 8 + 32 + 1;
	EXPECT_EQ(run(v4(o).esp(0x1000, 1, 32).build()), malformed(0)) << "tot_len > avail";
}

TEST_F(RefClassifierTest, Ipv4TotLenEqualToAvailIsFine)
{
	Ipv4Options o = v4_opts();
	o.tot_len = 20 + 8 + 32;
	EXPECT_EQ(run(v4(o).esp(0x1000, 1, 32).build()), steered(STEER_CLASS_ESP, 1, 101));
}

TEST_F(RefClassifierTest, Ipv4HeaderChecksumIsNotChecked)
{
	Ipv4Options o = v4_opts();
	o.checksum = 0x1234;
	EXPECT_EQ(run(v4(o).esp(0x1000, 1).build()), steered(STEER_CLASS_ESP, 1, 101));
}

TEST_F(RefClassifierTest, Ipv4OptionsAreSkipped)
{
	Ipv4Options o = v4_opts();
	o.options = Bytes(40, 1); // NOPs: IHL 15
	EXPECT_EQ(run(v4(o).udp(4500, 4500).natt_keepalive().build()),
		  steered(STEER_CLASS_NATT_KEEPALIVE, 1, 101));
}

TEST_F(RefClassifierTest, BytesAfterTotLenAreLinkPadding)
{
	// 14 + 20 + 8 + 1 = 43 bytes, padded to 60: still one keepalive byte.
	Bytes frame = v4().udp(4500, 4500).natt_keepalive().pad_to(60).build();
	ASSERT_EQ(frame.size(), 60u);
	EXPECT_EQ(run(frame), steered(STEER_CLASS_NATT_KEEPALIVE, 1, 101));
	Bytes trailer = v4().udp(4500, 4500).natt_keepalive().trailer({0xde, 0xad, 0xbe, 0xef}).build();
	EXPECT_EQ(run(trailer), steered(STEER_CLASS_NATT_KEEPALIVE, 1, 101));
}

// ---- 3. IPv6 --------------------------------------------------------------

TEST_F(RefClassifierTest, Ipv6HeaderChecks)
{
	EXPECT_EQ(run(with_ethertype(0x86dd, 14 + 39)), malformed(0)) << "avail < 40";
	Ipv6Options o = v6_opts();
	o.version = 4;
	EXPECT_EQ(run(v6(o).esp(0x1000, 1).build()), malformed(0)) << "version";
	o = v6_opts();
	o.payload_len = 8 + 32 + 1;
	EXPECT_EQ(run(v6(o).esp(0x1000, 1, 32).build()), malformed(0)) << "payload_len > avail";
}

TEST_F(RefClassifierTest, Ipv6BytesAfterPayloadLenArePadding)
{
	Bytes frame = v6().udp(4500, 4500).natt_keepalive().trailer(Bytes(20, 0xff)).build();
	EXPECT_EQ(run(frame), steered(STEER_CLASS_NATT_KEEPALIVE, 6, 106));
}

TEST_F(RefClassifierTest, ExtensionHeadersAreWalked)
{
	Bytes frame = v6().hop_by_hop(16).routing(24).dest_opts(8).esp(0x1000, 1).build();
	EXPECT_EQ(run(frame), steered(STEER_CLASS_ESP, 6, 106));
	// RFC 8200 wants hop-by-hop first; the spec does not check the order.
	Bytes late_hbh = v6().dest_opts().hop_by_hop().udp(500, 500).ike().build();
	EXPECT_EQ(run(late_hbh), steered(STEER_CLASS_IKE, 6, 106));
}

TEST_F(RefClassifierTest, AtMostSixExtensionHeaders)
{
	PacketBuilder six = v6();
	for (int i = 0; i < 6; i++)
		six.dest_opts();
	EXPECT_EQ(run(six.esp(0x1000, 1).build()), steered(STEER_CLASS_ESP, 6, 106));

	PacketBuilder seven = v6();
	for (int i = 0; i < 7; i++)
		seven.dest_opts();
	EXPECT_EQ(run(seven.esp(0x1000, 1).build()), malformed(0));

	// The fragment header counts as one of the six.
	PacketBuilder six_with_frag = v6();
	for (int i = 0; i < 5; i++)
		six_with_frag.dest_opts();
	six_with_frag.ipv6_fragment({.offset = 0, .more = false, .id = 1}).dest_opts();
	EXPECT_EQ(run(six_with_frag.esp(0x1000, 1).build()), malformed(0));
}

TEST_F(RefClassifierTest, ExtensionHeaderBeyondPayloadLenIsMalformed)
{
	// Length byte says 16 bytes; the packet declares only 8.
	Bytes frame = v6().ipv6_ext({.kind = ipproto::dest_opts, .total_bytes = 8, .len_field = 1}).build();
	EXPECT_EQ(run(frame), malformed(0));
	// Not even the two bytes of next header and length.
	Ipv6Options o = v6_opts();
	o.payload_len = 1;
	EXPECT_EQ(run(v6(o).dest_opts().build()), malformed(0));
	// An extension header's next header field with nothing after it.
	o.payload_len = 0;
	o.next_header = ipproto::hop_by_hop;
	EXPECT_EQ(run(v6(o).raw(Bytes(8, 0)).build()), malformed(0));
}

TEST_F(RefClassifierTest, FragmentHeaderChecks)
{
	Bytes twice = v6().ipv6_fragment({.offset = 0, .more = true, .id = 5})
			      .ipv6_fragment({.offset = 0, .more = false, .id = 5})
			      .esp(0x1000, 1)
			      .build();
	EXPECT_EQ(run(twice), malformed(0)) << "second fragment header";
	Ipv6Options o = v6_opts();
	o.payload_len = 7;
	EXPECT_EQ(run(v6(o).ipv6_fragment({.id = 5}).build()), malformed(0)) << "short fragment header";
}

TEST_F(RefClassifierTest, NonFirstFragmentStopsTheWalk)
{
	// After a non-first fragment header come payload bytes, not headers,
	// even when its next header names another fragment header.
	for (uint8_t nh : {uint8_t{60}, uint8_t{44}, uint8_t{17}}) {
		Bytes frame = v6().ipv6_fragment({.offset = 100, .more = false, .id = 5, .next_header = nh})
				      .raw(Bytes(16, 0xff))
				      .build();
		EXPECT_EQ(run(frame), passed(6)) << int(nh);
	}
}

TEST_F(RefClassifierTest, AtomicFragmentIsNotAFragment)
{
	Bytes frame = v6().ipv6_fragment({.offset = 0, .more = false, .id = 9}).esp(0x1000, 1).build();
	EXPECT_EQ(run(frame), steered(STEER_CLASS_ESP, 6, 106));
	EXPECT_EQ(ref.frag_count(), 0u);
}

TEST_F(RefClassifierTest, ReadsStopAtTheParseWindow)
{
	// 14 + 40 + 240 = 294: the UDP header lies outside W = 256.
	Bytes udp = v6().dest_opts(240).udp(500, 500).ike().build();
	EXPECT_EQ(run(udp), malformed(6)) << "a candidate (header unreadable), then MALFORMED";
	Bytes tcp = v6().dest_opts(240).tcp({.sport = 1, .dport = 500}).build();
	EXPECT_EQ(run(tcp), kNotOurs);
	Bytes esp = v6().dest_opts(240).esp(0x1000, 1).build();
	EXPECT_EQ(run(esp), steered(STEER_CLASS_ESP, 6, 106)) << "ESP reads nothing past the IP header";
	// Fifth extension header straddles W: only its first 2 bytes are read.
	Bytes straddle = v6().dest_opts(192).dest_opts(24).esp(0x1000, 1).build();
	EXPECT_EQ(run(straddle), steered(STEER_CLASS_ESP, 6, 106));
	// Second header at 14 + 40 + 208 = 262: its 2 bytes are past W.
	Bytes beyond = v6().dest_opts(208).dest_opts(8).esp(0x1000, 1).build();
	EXPECT_EQ(run(beyond), malformed(0));
	// ... and at 254..255 they are just inside.
	Bytes inside = v6().dest_opts(200).dest_opts(8).esp(0x1000, 1).build();
	EXPECT_EQ(run(inside), steered(STEER_CLASS_ESP, 6, 106));
}

TEST_F(RefClassifierTest, NattPayloadAtTheWindowEdge)
{
	// l4 = 14 + 40 + 192 = 246: header 246..253 readable, payload from 254.
	Bytes keepalive = v6().dest_opts(192).udp(4500, 4500).natt_keepalive().build();
	EXPECT_EQ(run(keepalive), steered(STEER_CLASS_NATT_KEEPALIVE, 6, 106));
	Bytes ike = v6().dest_opts(192).udp(4500, 4500).natt_ike().build();
	EXPECT_EQ(run(ike), malformed(6)) << "4 marker bytes at 254..257";
}

// ---- 4. Candidates, 5. Gateway -----------------------------------------------

TEST_F(RefClassifierTest, NonIpsecTrafficIsNotOurs)
{
	EXPECT_EQ(run(v4().tcp({.sport = 1234, .dport = 500}).build()), kNotOurs);
	EXPECT_EQ(run(v4().udp(500, 53).raw(Bytes(20, 0)).build()), kNotOurs) << "port not in the bitmap";
	EXPECT_EQ(run(v4().icmp({.type = 8}).build()), kNotOurs) << "echo";
	EXPECT_EQ(run(v4().icmp({.type = 11}, Bytes(28, 0)).build()), kNotOurs) << "time exceeded";
	EXPECT_EQ(run(v6().icmp({.type = 128}).build()), kNotOurs) << "echo";
	EXPECT_EQ(run(v6().icmp({.type = 3}, Bytes(48, 0)).build()), kNotOurs) << "time exceeded";
	EXPECT_EQ(run(v4().raw({1, 0, 0, 0, 0, 0, 0, 0}, ipproto::icmpv6).build()), kNotOurs);
	EXPECT_EQ(run(v6().raw({3, 0, 0, 0, 0, 0, 0, 0}, ipproto::icmp).build()), kNotOurs);
	EXPECT_TRUE(ref.counters().empty());
}

TEST_F(RefClassifierTest, CandidatesToNoGatewayAreNotOurs)
{
	EXPECT_EQ(run(v4(kNotGw4).esp(0x1000, 1).build()), kNotOurs);
	EXPECT_EQ(run(v4().esp(0x1000, 1).build(), kOtherIf), kNotOurs);
	EXPECT_EQ(run(v6().esp(0x1000, 1).build(), kOtherIf), kNotOurs);
	EXPECT_TRUE(ref.counters().empty());
}

TEST_F(RefClassifierTest, PortsBitmapIsTheUnionOfAllGateways)
{
	for (uint16_t port : {500, 4500, 1500, 14500, 4600})
		EXPECT_TRUE(ref.port_in_bitmap(port)) << port;
	EXPECT_FALSE(ref.port_in_bitmap(501));
	EXPECT_EQ(ref.ports_bitmap()[500 / 32], 1u << (500 % 32));
	// Another gateway's port reaches the lookup and is PASSED here.
	EXPECT_EQ(run(v4().udp(1000, 1500).ike().build()), passed(1));
	EXPECT_EQ(run(v4(kGw4Ports).udp(1000, 500).ike().build()), passed(4));
}

// ---- 6. ESP, AH -------------------------------------------------------------

TEST_F(RefClassifierTest, EspIsSteered)
{
	EXPECT_EQ(run(v4().esp(0x1000, 1).build()), steered(STEER_CLASS_ESP, 1, 101));
	EXPECT_EQ(run(v4(kGw4Plain).esp(0x1000, 1).build()), steered(STEER_CLASS_ESP, 2, 102, 0));
	EXPECT_EQ(run(v4(kGw4IkeOnly).esp(0x1000, 1).build()), passed(5));
	EXPECT_EQ(run(v4().esp(0x1000, 1, 0).build()), steered(STEER_CLASS_ESP, 1, 101)) << "8 bytes";
	Bytes short_esp = v4().raw(Bytes(7, 1), ipproto::esp).build();
	EXPECT_EQ(run(short_esp), malformed(1));
	EXPECT_EQ(run(v4(kGw4IkeOnly).raw(Bytes(7, 1), ipproto::esp).build()), passed(5))
		<< "the flag is checked before the length";
}

TEST_F(RefClassifierTest, AhIsSteered)
{
	EXPECT_EQ(run(v4().ah({}).build()), steered(STEER_CLASS_AH, 1, 101));
	EXPECT_EQ(run(v6().ah({}).raw(Bytes(8, 0)).build()), steered(STEER_CLASS_AH, 6, 106));
	EXPECT_EQ(run(v4(kGw4Plain).ah({}).build()), passed(2));
	EXPECT_EQ(run(v4().raw(Bytes(11, 0), ipproto::ah).build()), malformed(1));
	EXPECT_EQ(run(v4().raw(Bytes(12, 0), ipproto::ah).build()), steered(STEER_CLASS_AH, 1, 101));
}

// ---- 6. UDP: IKE and NAT-T ------------------------------------------------------

TEST_F(RefClassifierTest, IkeIsSteered)
{
	EXPECT_EQ(run(v4().udp(500, 500).ike().build()), steered(STEER_CLASS_IKE, 1, 101));
	EXPECT_EQ(run(v4().udp(33000, 500).ike().build()), steered(STEER_CLASS_IKE, 1, 101));
	EXPECT_EQ(run(v6().udp(500, 500).ike().build()), steered(STEER_CLASS_IKE, 6, 106));
	EXPECT_EQ(run(v4(kGw4Ports).udp(1500, 1500).ike().build()), steered(STEER_CLASS_IKE, 4, 104));
	EXPECT_EQ(run(v4(kGw4NattIcmp).udp(500, 500).ike().build()), passed(10)) << "no IKE flag";
	// IKE needs no IKE header: the port decides.
	EXPECT_EQ(run(v4().udp(500, 500).build()), steered(STEER_CLASS_IKE, 1, 101));
}

TEST_F(RefClassifierTest, UdpLengthChecks)
{
	EXPECT_EQ(run(v4().udp({.sport = 500, .dport = 500, .length = 7}).ike().build()), malformed(1));
	Bytes too_long = v4().udp({.sport = 500, .dport = 500, .length = 8 + 28 + 1}).ike().build();
	EXPECT_EQ(run(too_long), malformed(1));
	Bytes shorter = v4().udp({.sport = 500, .dport = 500, .length = 8}).ike().build();
	EXPECT_EQ(run(shorter), steered(STEER_CLASS_IKE, 1, 101)) << "ulen below l4_len is fine";
	// A UDP header that does not fit: a candidate, MALFORMED at the gateway.
	EXPECT_EQ(run(v4().raw(Bytes(7, 0), ipproto::udp).build()), malformed(1));
	EXPECT_EQ(run(v4(kNotGw4).raw(Bytes(7, 0), ipproto::udp).build()), kNotOurs);
	// Other ports are PASSED before the length is looked at.
	EXPECT_EQ(run(v4(kGw4Ports).udp({.sport = 1, .dport = 500, .length = 3}).build()), passed(4));
}

TEST_F(RefClassifierTest, NattPayloads)
{
	auto natt = [](Bytes payload) { return v4().udp(4500, 4500).raw(std::move(payload)).build(); };
	EXPECT_EQ(run(natt({0xff})), steered(STEER_CLASS_NATT_KEEPALIVE, 1, 101));
	EXPECT_EQ(run(natt({0xfe})), malformed(1));
	EXPECT_EQ(run(natt({})), malformed(1));
	EXPECT_EQ(run(natt({0xff, 0xff})), malformed(1));
	EXPECT_EQ(run(natt({0, 0, 0})), malformed(1));
	EXPECT_EQ(run(natt({0, 0, 0, 0})), steered(STEER_CLASS_NATT_IKE, 1, 101));
	EXPECT_EQ(run(natt({0, 0, 1, 0, 0, 0, 0, 1})), steered(STEER_CLASS_NATT_ESP, 1, 101)) << "SPI 256";
	EXPECT_EQ(run(natt({0, 0, 0, 255, 0, 0, 0, 1})), malformed(1)) << "SPI 255";
	EXPECT_EQ(run(natt({0, 0, 1, 0, 0, 0, 0})), malformed(1)) << "ESP needs 8 bytes";
	EXPECT_EQ(run(natt({0, 0, 1, 0})), malformed(1));
}

TEST_F(RefClassifierTest, NattFromTheBuilder)
{
	EXPECT_EQ(run(v4().udp(4500, 4500).natt_ike().build()), steered(STEER_CLASS_NATT_IKE, 1, 101));
	EXPECT_EQ(run(v4().udp(4500, 4500).esp_in_udp({.spi = 0x12345678}).build()),
		  steered(STEER_CLASS_NATT_ESP, 1, 101));
	EXPECT_EQ(run(v6().udp(4500, 4500).natt_keepalive().pad_to(60).build()),
		  steered(STEER_CLASS_NATT_KEEPALIVE, 6, 106));
	EXPECT_EQ(run(v4(kGw4Ports).udp(4500, 14500).natt_keepalive().build()),
		  steered(STEER_CLASS_NATT_KEEPALIVE, 4, 104));
	EXPECT_EQ(run(v4(kGw4IkeOnly).udp(4500, 4500).natt_keepalive().build()), passed(5));
	// The UDP length, not the IP length, bounds the NAT-T payload.
	Bytes ulen_one = v4().udp({.sport = 4500, .dport = 4500, .length = 9}).raw({0xff, 0, 0, 0}).build();
	EXPECT_EQ(run(ulen_one), steered(STEER_CLASS_NATT_KEEPALIVE, 1, 101));
}

TEST_F(RefClassifierTest, SameIkeAndNattPortIsDecidedByFlags)
{
	// ike = natt = 4600: with only NATT steered it is NAT-T; with both, IKE.
	EXPECT_EQ(run(v4(kGw4SamePort).udp(4600, 4600).natt_keepalive().build()),
		  steered(STEER_CLASS_NATT_KEEPALIVE, 11, 111));
	EXPECT_EQ(run(v4(kGw4SameBoth).udp(4600, 4600).natt_keepalive().build()),
		  steered(STEER_CLASS_IKE, 12, 112));
}

// ---- 6. ICMP errors -------------------------------------------------------------

namespace {

// What the gateway at `from` sent to the peer, as a router quotes it.
PacketBuilder sent_v4(const char *from = kGw4)
{
	PacketBuilder inner;
	inner.ipv4(from, kPeer4);
	return inner;
}

PacketBuilder sent_v6(const char *from = kGw6)
{
	PacketBuilder inner;
	inner.ipv6(from, kPeer6);
	return inner;
}

PacketBuilder from_router_v4(const char *to = kGw4)
{
	return v4(to, "10.0.0.1");
}

PacketBuilder from_router_v6(const char *to = kGw6)
{
	return v6(to, "2001:db8:eeee::1");
}

IcmpOptions frag_needed()
{
	return {.type = 3, .code = 4, .rest = 1400};
}

} // namespace

TEST_F(RefClassifierTest, Icmpv4ErrorsQuotingSteeredFlows)
{
	auto run_quote = [&](PacketBuilder inner, const char *to = kGw4, std::optional<size_t> limit = 28) {
		return run(from_router_v4(to).icmp_error(frag_needed(), inner, limit).build());
	};
	EXPECT_EQ(run_quote(sent_v4().esp(0x1000, 1)), steered(STEER_CLASS_ICMP_ERROR, 1, 101));
	EXPECT_EQ(run_quote(sent_v4().ah({})), steered(STEER_CLASS_ICMP_ERROR, 1, 101));
	EXPECT_EQ(run_quote(sent_v4().udp(500, 500).ike()), steered(STEER_CLASS_ICMP_ERROR, 1, 101));
	EXPECT_EQ(run_quote(sent_v4().udp(4500, 1234).natt_keepalive()), steered(STEER_CLASS_ICMP_ERROR, 1, 101));
	EXPECT_EQ(run_quote(sent_v4().udp(1234, 500).ike()), passed(1)) << "source port decides";
	EXPECT_EQ(run_quote(sent_v4().tcp({.sport = 500})), passed(1));
	EXPECT_EQ(run_quote(sent_v4(kPeer4).esp(0x1000, 1)), passed(1)) << "not sent by the gateway";
	EXPECT_EQ(run_quote(sent_v4(kGw4Plain).esp(0x1000, 1), kGw4Plain), passed(2)) << "no ICMP flag";
	EXPECT_EQ(run_quote(sent_v4(kGw4NattIcmp).esp(0x1000, 1), kGw4NattIcmp), passed(10)) << "no ESP flag";
	EXPECT_EQ(run_quote(sent_v4(kGw4NattIcmp).udp(4500, 4500), kGw4NattIcmp),
		  steered(STEER_CLASS_ICMP_ERROR, 10, 110));
	EXPECT_EQ(run_quote(sent_v4(kGw4NattIcmp).udp(500, 500), kGw4NattIcmp), passed(10)) << "no IKE flag";
	EXPECT_EQ(run_quote(sent_v4(kGw4NoTarget).esp(0x1000, 1), kGw4NoTarget), target_missing(3));
	EXPECT_EQ(run_quote(sent_v4().esp(0x1000, 1), kGw4, std::nullopt), steered(STEER_CLASS_ICMP_ERROR, 1, 101))
		<< "the whole packet quoted";
}

TEST_F(RefClassifierTest, Icmpv4QuoteChecks)
{
	auto run_quote = [&](PacketBuilder inner, std::optional<size_t> limit) {
		return run(from_router_v4().icmp_error(frag_needed(), inner, limit).build());
	};
	EXPECT_EQ(run_quote(sent_v4().esp(0x1000, 1), 19), malformed(1)) << "inner header cut";
	EXPECT_EQ(run_quote(sent_v4().esp(0x1000, 1), 27), malformed(1)) << "7 of 8 layer-4 bytes";
	Ipv4Options inner_opts;
	inner_opts.src = ipv4_addr(kGw4);
	inner_opts.dst = ipv4_addr(kPeer4);
	inner_opts.version = 6;
	EXPECT_EQ(run_quote(PacketBuilder().ipv4(inner_opts).esp(0x1000, 1), 28), malformed(1)) << "version";
	inner_opts.version = 4;
	inner_opts.ihl_words = 4;
	EXPECT_EQ(run_quote(PacketBuilder().ipv4(inner_opts).esp(0x1000, 1), 28), malformed(1)) << "ihl < 20";
	inner_opts.ihl_words.reset();
	inner_opts.options = {0x94, 4, 0, 0};
	EXPECT_EQ(run_quote(PacketBuilder().ipv4(inner_opts).esp(0x1000, 1), 32),
		  steered(STEER_CLASS_ICMP_ERROR, 1, 101)) << "inner options skipped";
	EXPECT_EQ(run_quote(PacketBuilder().ipv4(inner_opts).esp(0x1000, 1), 31), malformed(1));
	// Too short for an ICMP header at all: MALFORMED even without ICMP.
	EXPECT_EQ(run(from_router_v4(kGw4Plain).raw({3, 4, 0, 0, 0, 0, 0}, ipproto::icmp).build()),
		  malformed(2)) << "length is checked before the flag";
}

TEST_F(RefClassifierTest, Icmpv6ErrorsQuotingSteeredFlows)
{
	auto run_quote = [&](IcmpOptions icmp, PacketBuilder inner, std::optional<size_t> limit = std::nullopt) {
		return run(from_router_v6().icmp_error(icmp, inner, limit).build());
	};
	IcmpOptions unreach{.type = 1, .code = 3};
	IcmpOptions too_big{.type = 2, .code = 0, .rest = 1280};
	EXPECT_EQ(run_quote(unreach, sent_v6().esp(0x1000, 1)), steered(STEER_CLASS_ICMP_ERROR, 6, 106));
	EXPECT_EQ(run_quote(too_big, sent_v6().esp(0x1000, 1, 1200)), steered(STEER_CLASS_ICMP_ERROR, 6, 106));
	EXPECT_EQ(run_quote(too_big, sent_v6().udp(4500, 4500).esp(0x1000, 1)),
		  steered(STEER_CLASS_ICMP_ERROR, 6, 106));
	EXPECT_EQ(run_quote(unreach, sent_v6().udp(500, 500), 48), steered(STEER_CLASS_ICMP_ERROR, 6, 106));
	EXPECT_EQ(run_quote(unreach, sent_v6().udp(500, 500), 47), malformed(6)) << "48 bytes needed";
	EXPECT_EQ(run_quote(unreach, sent_v6(kPeer6).esp(0x1000, 1)), passed(6));
	EXPECT_EQ(run_quote(unreach, sent_v6().hop_by_hop().esp(0x1000, 1)), passed(6)) << "no ext walk";
	Ipv6Options bad = v6_opts(kPeer6);
	bad.src = ipv6_addr(kGw6);
	bad.version = 4;
	EXPECT_EQ(run_quote(unreach, PacketBuilder().ipv6(bad).esp(0x1000, 1)), malformed(6));
	EXPECT_EQ(run(from_router_v6(kGw6NoTarget).icmp_error(unreach, sent_v6(kGw6NoTarget).esp(1, 1)).build()),
		  target_missing(9));
}

// ---- 6. Fragments ---------------------------------------------------------------

namespace {

Ipv4Options v4_frag(const char *dst, uint16_t id, uint16_t offset, bool mf)
{
	Ipv4Options o = v4_opts(dst);
	o.id = id;
	o.frag_offset = offset;
	o.mf = mf;
	return o;
}

} // namespace

TEST_F(RefClassifierTest, Ipv4UdpFirstFragmentLeadsTheRest)
{
	// The UDP length covers the whole datagram, more than this fragment.
	Bytes first = v4(v4_frag(kGw4, 77, 0, true)).udp({.sport = 500, .dport = 500, .length = 2000})
			      .raw(Bytes(64, 1))
			      .build();
	EXPECT_EQ(run(first), steered(STEER_CLASS_FRAGMENT, 1, 101));
	ASSERT_EQ(ref.frag_count(), 1u);
	steer_frag_key key{};
	key.family = STEER_FAMILY_IPV4;
	key.proto = 17;
	key.id = 77;
	key.src = to_steer_addr(ip_addr(kPeer4));
	key.dst = to_steer_addr(ip_addr(kGw4));
	auto value = ref.find_frag(key);
	ASSERT_TRUE(value.has_value());
	EXPECT_EQ(value->target_ifindex, 101u);
	EXPECT_EQ(value->gateway_id, 1u);
	EXPECT_EQ(value->flags, kAll);

	Bytes later = v4(v4_frag(kGw4, 77, 9, false)).raw(Bytes(100, 2), ipproto::udp).build();
	EXPECT_EQ(run(later), steered(STEER_CLASS_FRAGMENT, 1, 101));
	Bytes other_id = v4(v4_frag(kGw4, 78, 9, false)).raw(Bytes(100, 2), ipproto::udp).build();
	EXPECT_EQ(run(other_id), passed(1));
	Bytes other_proto = v4(v4_frag(kGw4, 77, 9, false)).raw(Bytes(100, 2), ipproto::tcp).build();
	EXPECT_EQ(run(other_proto), passed(1));
	// ESP needs no first fragment: every fragment carries protocol 50.
	Bytes esp_later = v4(v4_frag(kGw4, 99, 9, false)).raw(Bytes(100, 2), ipproto::esp).build();
	EXPECT_EQ(run(esp_later), steered(STEER_CLASS_FRAGMENT, 1, 101));
	ref.clear_frags();
	EXPECT_EQ(run(later), passed(1));
}

TEST_F(RefClassifierTest, NattFirstFragmentIsNotLookedInto)
{
	Bytes first = v4(v4_frag(kGw4, 5, 0, true)).udp({.sport = 4500, .dport = 4500, .length = 3}).raw({0, 0, 0, 1})
			      .build();
	EXPECT_EQ(run(first), steered(STEER_CLASS_FRAGMENT, 1, 101));
	EXPECT_EQ(ref.frag_count(), 1u);
}

TEST_F(RefClassifierTest, FirstFragmentsOfEveryClass)
{
	Bytes esp = v4(v4_frag(kGw4, 1, 0, true)).esp(0x1000, 1).build();
	EXPECT_EQ(run(esp), steered(STEER_CLASS_FRAGMENT, 1, 101));
	Bytes ah = v4(v4_frag(kGw4, 2, 0, true)).ah({}).build();
	EXPECT_EQ(run(ah), steered(STEER_CLASS_FRAGMENT, 1, 101));
	Ipv4Options icmp = v4_frag(kGw4, 3, 0, true);
	icmp.src = ipv4_addr("10.0.0.1");
	Bytes error = v4(icmp).icmp_error(frag_needed(), sent_v4().esp(0x1000, 1), 28).build();
	EXPECT_EQ(run(error), steered(STEER_CLASS_FRAGMENT, 1, 101));
	EXPECT_EQ(ref.frag_count(), 3u);
	// Broken or unsteered first fragments keep their class and no entry.
	Bytes short_esp = v4(v4_frag(kGw4, 4, 0, true)).raw(Bytes(7, 1), ipproto::esp).build();
	EXPECT_EQ(run(short_esp), malformed(1));
	Bytes other_port = v4(v4_frag(kGw4, 5, 0, true)).udp(1, 1500).build();
	EXPECT_EQ(run(other_port), passed(1));
	Bytes tcp = v4(v4_frag(kGw4, 6, 0, true)).tcp({.dport = 500}).build();
	EXPECT_EQ(run(tcp), kNotOurs);
	EXPECT_EQ(ref.frag_count(), 3u);
}

TEST_F(RefClassifierTest, FragmentsWithoutTheFlagArePassed)
{
	Bytes first = v4(v4_frag(kGw4Plain, 9, 0, true)).esp(0x1000, 1).build();
	EXPECT_EQ(run(first), passed(2));
	EXPECT_EQ(ref.frag_count(), 0u);
	Bytes later = v4(v4_frag(kGw4Plain, 9, 3, false)).raw(Bytes(20, 0), ipproto::esp).build();
	EXPECT_EQ(run(later), passed(2));
}

TEST_F(RefClassifierTest, FirstFragmentWithoutTargetIsDroppedAndLeavesNoEntry)
{
	Bytes first = v4(v4_frag(kGw4NoTarget, 9, 0, true)).esp(0x1000, 1).build();
	EXPECT_EQ(run(first), target_missing(3));
	EXPECT_EQ(ref.frag_count(), 0u);
}

TEST_F(RefClassifierTest, NonFirstFragmentOfAnyProtocolIsACandidate)
{
	Bytes tcp = v4(v4_frag(kGw4, 9, 3, false)).raw(Bytes(20, 0), ipproto::tcp).build();
	EXPECT_EQ(run(tcp), passed(1));
	EXPECT_EQ(run(tcp, kOtherIf), kNotOurs);
}

TEST_F(RefClassifierTest, Ipv6FragmentsFollowTheFirst)
{
	Bytes first = v6().hop_by_hop().ipv6_fragment({.offset = 0, .more = true, .id = 0x12345678})
			      .esp(0x1000, 1, 64)
			      .build();
	EXPECT_EQ(run(first), steered(STEER_CLASS_FRAGMENT, 6, 106));
	Bytes later = v6().ipv6_fragment({.offset = 9, .more = false, .id = 0x12345678, .next_header = 50})
			      .raw(Bytes(40, 3))
			      .build();
	EXPECT_EQ(run(later), steered(STEER_CLASS_FRAGMENT, 6, 106));
	steer_frag_key key{};
	key.family = STEER_FAMILY_IPV6;
	key.proto = 50;
	key.id = 0x12345678;
	key.src = to_steer_addr(ip_addr(kPeer6));
	key.dst = to_steer_addr(ip_addr(kGw6));
	EXPECT_TRUE(ref.find_frag(key).has_value());

	Bytes no_flag = v6(kGw6NoFrag).ipv6_fragment({.offset = 0, .more = true, .id = 1}).esp(1, 1).build();
	EXPECT_EQ(run(no_flag), passed(7));
	Bytes no_target = v6(kGw6NoTarget).ipv6_fragment({.offset = 0, .more = true, .id = 1}).esp(1, 1).build();
	EXPECT_EQ(run(no_target), target_missing(9));
	EXPECT_EQ(ref.frag_count(), 1u);
}

TEST_F(RefClassifierTest, Ipv6HeaderAfterTheFragmentHeaderKeepsTheKey)
{
	// Both keys use the fragment header's next header (60 here), so the
	// later fragment follows even though UDP comes after more headers.
	Bytes first = v6().ipv6_fragment({.offset = 0, .more = true, .id = 4}).dest_opts()
			      .udp({.sport = 500, .dport = 500, .length = 1000})
			      .build();
	EXPECT_EQ(run(first), steered(STEER_CLASS_FRAGMENT, 6, 106));
	Bytes later = v6().ipv6_fragment({.offset = 2, .more = false, .id = 4, .next_header = 60})
			      .raw(Bytes(40, 3))
			      .build();
	EXPECT_EQ(run(later), steered(STEER_CLASS_FRAGMENT, 6, 106));
}

// ---- 7. Verdict and counters ------------------------------------------------------

TEST_F(RefClassifierTest, TargetMissingIsDropped)
{
	EXPECT_EQ(run(v4(kGw4NoTarget).esp(0x1000, 1).build()), target_missing(3));
	EXPECT_EQ(run(v4(kGw4NoTarget).udp(4500, 4500).natt_keepalive().build()), target_missing(3));
	EXPECT_EQ(run(v6(kGw6NoTarget).udp(500, 500).ike().build()), target_missing(9));
	// Not steered: counted as usual even without a target.
	EXPECT_EQ(run(v4(kGw4NoTarget).udp(4500, 4500).raw({1}).build()), malformed(3));
}

TEST_F(RefClassifierTest, CountersCountPacketsAndFrameBytes)
{
	Bytes esp = v4().esp(0x1000, 1, 100).build();
	Bytes keepalive = v4().udp(4500, 4500).natt_keepalive().pad_to(60).build();
	run(esp);
	run(esp);
	run(keepalive);
	run(v4().tcp({}).build()); // not ours: not counted
	EXPECT_EQ(ref.counter(1, STEER_CLASS_ESP).packets, 2u);
	EXPECT_EQ(ref.counter(1, STEER_CLASS_ESP).bytes, 2 * esp.size());
	EXPECT_EQ(ref.counter(1, STEER_CLASS_NATT_KEEPALIVE).bytes, 60u);
	EXPECT_EQ(ref.counters().size(), 2u);
	EXPECT_EQ(ref.counters().count(1 * STEER_CLASS_MAX + STEER_CLASS_ESP), 1u);
	ref.clear_counters();
	EXPECT_TRUE(ref.counters().empty());
}

TEST_F(RefClassifierTest, IndexesPastTheStatsMapAreNotCounted)
{
	ref.set_stats_entries(5 * STEER_CLASS_MAX); // gateways 0..4
	EXPECT_EQ(run(v6().esp(0x1000, 1).build()), steered(STEER_CLASS_ESP, 6, 106)) << "verdict unchanged";
	EXPECT_TRUE(ref.counters().empty());
	run(v4().esp(0x1000, 1).build());
	EXPECT_EQ(ref.counter(1, STEER_CLASS_ESP).packets, 1u);
}

TEST_F(RefClassifierTest, MalformedBeforeTheLookupIsNotRedirected)
{
	Ipv4Options o = v4_opts();
	o.tot_len = 1000;
	RefDecision d = run(v4(o).esp(0x1000, 1).build());
	EXPECT_EQ(d, malformed(0));
	EXPECT_EQ(d.target_ifindex, 0u);
}

} // namespace steer::test
