// BPF_PROG_RUN table: every class and every malformed case of
// docs/classifier.md, each asserting the verdict, the class and gateway of
// the recorded decision, the redirect target and the counter that moved.
//
//   ifindex A (t0a)  gw1 198.51.100.1  -> 100 (peer)   esp ike nat-t icmp fragments
//                    gw2 2001:db8::1   -> 101 (plain)  + ah
//                    gw4 198.51.100.4  -> 0 (missing)
//   ifindex B (t0b)  gw3 198.51.100.1  -> 102 (peer)   esp nat-t only, ports 1500/14500
#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <net/if.h>

#include "harness.hpp"
#include "packet_builder.hpp"

namespace steer::test {
namespace {

constexpr uint32_t kDefault = STEER_F_ESP | STEER_F_IKE | STEER_F_NATT | STEER_F_ICMP |
			      STEER_F_FRAGMENTS;
constexpr const char *P4 = "198.51.100.1";
constexpr const char *P6 = "2001:db8::1";
constexpr const char *PEER4 = "192.0.2.7";
constexpr const char *PEER6 = "2001:db8:ff::7";
constexpr uint32_t NONE = STEER_CLASS_MAX;
constexpr int UNSPEC = TC_ACT_UNSPEC, SHOT = TC_ACT_SHOT, REDIR = TC_ACT_REDIRECT;

struct Expect {
	int verdict;
	uint32_t class_id;
	uint32_t gw;
	uint32_t target;
	uint32_t peer;
};

uint32_t ifa()
{
	return if_nametoindex("t0a");
}

uint32_t ifb()
{
	return if_nametoindex("t0b");
}

class ClassifyTable : public ::testing::Test {
protected:
	static void SetUpTestSuite();
	static void TearDownTestSuite() { harness.reset(); }
	void SetUp() override
	{
		STEER_REQUIRE_ROOT();
		ASSERT_TRUE(harness) << load_error;
	}
	void check(const Bytes &frame, const Expect &e, uint32_t ifindex = 0);

	static inline std::unique_ptr<ProgHarness> harness;
	static inline std::string load_error;
};

steer_gw_key key_of(uint32_t ifindex, const char *addr)
{
	IpAddress a = ip_addr(addr);
	steer_gw_key k{};
	k.ifindex = ifindex;
	k.family = a.family;
	k.address = to_steer_addr(a);
	return k;
}

void ClassifyTable::SetUpTestSuite()
{
	if (::geteuid() != 0)
		return;
	harness = ProgHarness::create(8, load_error);
	if (!harness)
		return;
	auto &o = harness->object();
	auto put = [&](steer_gw_key k, steer_gw_value v) {
		Status st = put_gateway(o.gateways_fd(), o.ports_fd(), k, v);
		if (!st)
			load_error = st.error().message();
	};
	put(key_of(ifa(), P4), {100, kDefault, 500, 4500, 1});
	put(key_of(ifa(), P6), {101, kDefault | STEER_F_AH | STEER_F_REDIRECT_PLAIN, 500, 4500, 2});
	put(key_of(ifb(), P4), {102, STEER_F_ESP | STEER_F_NATT, 1500, 14500, 3});
	put(key_of(ifa(), "198.51.100.4"), {0, kDefault, 500, 4500, 4});
	if (!load_error.empty())
		harness.reset();
}

void ClassifyTable::check(const Bytes &frame, const Expect &e, uint32_t ifindex)
{
	if (!ifindex)
		ifindex = ifa();
	uint32_t gw = e.class_id == NONE ? 0 : e.gw;
	auto before = read_counters(harness->object().stats_fd(), gw);
	ProgDecision d = harness->run(frame, ifindex);
	EXPECT_EQ(d.verdict, e.verdict);
	EXPECT_EQ(d.recorded.verdict, static_cast<uint32_t>(e.verdict));
	EXPECT_EQ(d.recorded.class_id, e.class_id) << "class " << class_name(d.recorded.class_id);
	EXPECT_EQ(d.recorded.gateway_id, e.gw);
	EXPECT_EQ(d.recorded.target_ifindex, e.target);
	EXPECT_EQ(d.recorded.redirect_peer, e.peer);
	auto after = read_counters(harness->object().stats_fd(), gw);
	ASSERT_TRUE(before && after);
	for (uint32_t c = 0; c < STEER_CLASS_MAX; c++) {
		bool moved = c == e.class_id;
		EXPECT_EQ((*after)[c].packets - (*before)[c].packets, moved ? 1u : 0u) << class_name(c);
		EXPECT_EQ((*after)[c].bytes - (*before)[c].bytes, moved ? frame.size() : 0u)
			<< class_name(c);
	}
}

PacketBuilder v4(const char *dst = P4)
{
	PacketBuilder b;
	b.eth().ipv4(PEER4, dst);
	return b;
}

PacketBuilder v6(const char *dst = P6)
{
	PacketBuilder b;
	b.eth().ipv6(PEER6, dst);
	return b;
}

const Expect esp1{REDIR, STEER_CLASS_ESP, 1, 100, 1};
const Expect none{UNSPEC, NONE, 0, 0, 0};
const Expect bad0{UNSPEC, STEER_CLASS_MALFORMED, 0, 0, 0};
const Expect bad1{UNSPEC, STEER_CLASS_MALFORMED, 1, 0, 0};
const Expect passed1{UNSPEC, STEER_CLASS_PASSED, 1, 0, 0};

TEST_F(ClassifyTable, EspByProtocol)
{
	check(v4().esp(0x1234, 1).build(), esp1);
	check(v4().esp(0x1234, 1).pad_to(60).trailer({1, 2, 3}).build(), esp1);
	check(v4("198.51.100.9").esp(0x1234, 1).build(), none);
	check(v4().esp(0x1234, 1).build(), none, 1);
	check(v4().esp(0x1234, 1).build(), {REDIR, STEER_CLASS_ESP, 3, 102, 1}, ifb());
	check(v4().raw({0, 0, 0x10, 0}).build(), none); // proto 253 raw: not ours
}

TEST_F(ClassifyTable, EspTruncatedIsMalformed)
{
	Ipv4Options o{ipv4_addr(PEER4), ipv4_addr(P4)};
	o.proto = ipproto::esp;
	check(PacketBuilder().eth().ipv4(o).raw({0, 0, 0x10, 0}).build(), bad1);
}

TEST_F(ClassifyTable, VlanTags)
{
	PacketBuilder b;
	check(b.eth().vlan(100).ipv4(PEER4, P4).esp(0x1234, 1).build(), esp1);
	PacketBuilder q;
	check(q.eth().qinq(7).ipv4(PEER4, P4).esp(0x1234, 1).build(), esp1);
	PacketBuilder two;
	check(two.eth().qinq(7).vlan(8).ipv4(PEER4, P4).esp(0x1234, 1).build(), none);
}

TEST_F(ClassifyTable, Ipv4OptionsHonoured)
{
	Ipv4Options o{ipv4_addr(PEER4), ipv4_addr(P4)};
	o.options = {0x94, 0x04, 0, 0, 0x01, 0x01, 0x01, 0x00}; // router alert, NOPs
	check(PacketBuilder().eth().ipv4(o).udp(500, 500).ike().build(),
	      {REDIR, STEER_CLASS_IKE, 1, 100, 1});
	o.options.assign(40, 0x01);
	check(PacketBuilder().eth().ipv4(o).esp(0x1234, 1).build(), esp1);
}

TEST_F(ClassifyTable, AhOnlyWhenEnabled)
{
	check(v4().ah({}).build(), passed1);
	check(v6().ah({}).build(), {REDIR, STEER_CLASS_AH, 2, 101, 0});
}

TEST_F(ClassifyTable, IkeAndNatt)
{
	check(v4().udp(500, 500).ike().build(), {REDIR, STEER_CLASS_IKE, 1, 100, 1});
	check(v4().udp(61000, 4500).natt_ike().build(), {REDIR, STEER_CLASS_NATT_IKE, 1, 100, 1});
	check(v4().udp(61000, 4500).esp(0x1000, 9).build(), {REDIR, STEER_CLASS_NATT_ESP, 1, 100, 1});
	check(v4().udp(61000, 4500).natt_keepalive().pad_to(60).build(),
	      {REDIR, STEER_CLASS_NATT_KEEPALIVE, 1, 100, 1});
	check(v6().udp(500, 500).ike().build(), {REDIR, STEER_CLASS_IKE, 2, 101, 0});
	check(v6().udp(4500, 4500).natt_keepalive().build(),
	      {REDIR, STEER_CLASS_NATT_KEEPALIVE, 2, 101, 0});
}

TEST_F(ClassifyTable, NattMalformedPayloads)
{
	check(v4().udp(4500, 4500).raw({0xfe}).build(), bad1);      // one byte, not 0xff
	check(v4().udp(4500, 4500).raw({0, 0}).build(), bad1);      // 2 bytes
	check(v4().udp(4500, 4500).raw({0, 0, 0, 5, 0, 0, 0, 1}).build(), bad1); // SPI 5
	check(v4().udp(4500, 4500).raw({0, 0, 1, 0, 0, 0}).build(), bad1); // SPI>255, 6 bytes
	check(v4().udp(4500, 4500).build(), bad1);                  // empty
}

TEST_F(ClassifyTable, UdpLengthChecks)
{
	check(v4().udp({500, 500, 400}).ike().build(), bad1); // longer than the packet
	check(v4().udp({500, 500, 4}).ike().build(), bad1);   // shorter than a header
	UdpOptions ok{500, 500};
	check(v4().udp(ok).ike().pad_to(300).build(), {REDIR, STEER_CLASS_IKE, 1, 100, 1});
}

TEST_F(ClassifyTable, OtherPorts)
{
	check(v4().udp(53, 53).raw({1, 2, 3}).build(), none);      // not in the port bitmap
	check(v4().udp(1500, 1500).ike().build(), passed1);         // gw3's port, not gw1's
	check(v4().udp(1500, 1500).ike().build(), {UNSPEC, STEER_CLASS_PASSED, 3, 0, 0}, ifb());
	check(v4().udp(500, 14500).esp(0x2000, 1).build(), {REDIR, STEER_CLASS_NATT_ESP, 3, 102, 1},
	      ifb());
	check(v4().tcp({1234, 500}).build(), none);
}

TEST_F(ClassifyTable, IcmpErrors)
{
	PacketBuilder esp_out, udp_out, dns_out, other;
	esp_out.ipv4(P4, PEER4).esp(0x1234, 7);
	udp_out.ipv4(P4, PEER4).udp(4500, 61000).esp(0x1234, 7);
	dns_out.ipv4(P4, PEER4).udp(53, 53).raw(Bytes(8));
	other.ipv4("198.51.100.9", PEER4).esp(0x1234, 7);
	const Expect err1{REDIR, STEER_CLASS_ICMP_ERROR, 1, 100, 1};
	check(v4().icmp_error({3, 4, 1400}, esp_out).build(), err1);
	check(v4().icmp_error({3, 3}, udp_out).build(), err1);
	check(v4().icmp_error({3, 3}, dns_out).build(), passed1);
	check(v4().icmp_error({3, 3}, other).build(), passed1);
	check(v4().icmp_error({3, 4}, esp_out, 20).build(), bad1); // quote cut before ports
	check(v4().icmp({8, 0}, Bytes(16)).build(), none);         // echo request
	check(v4().icmp_error({3, 4}, esp_out).build(), {UNSPEC, STEER_CLASS_PASSED, 3, 0, 0}, ifb());
	PacketBuilder esp6;
	esp6.ipv6(P6, PEER6).esp(0x1234, 7);
	check(v6().icmp_error({2, 0, 1280}, esp6).build(), {REDIR, STEER_CLASS_ICMP_ERROR, 2, 101, 0});
	check(v6().icmp({128, 0}, Bytes(8)).build(), none);
}

TEST_F(ClassifyTable, Ipv4Fragments)
{
	harness->clear_frags();
	auto frag = [](uint16_t id, bool mf, uint16_t offset) {
		Ipv4Options o{ipv4_addr(PEER4), ipv4_addr(P4)};
		o.id = id;
		o.mf = mf;
		o.frag_offset = offset;
		return o;
	};
	const Expect frag1{REDIR, STEER_CLASS_FRAGMENT, 1, 100, 1};
	UdpOptions big{500, 500, 3000};
	check(PacketBuilder().eth().ipv4(frag(77, true, 0)).udp(big).ike().build(), frag1);
	Ipv4Options later = frag(77, false, 185);
	later.proto = ipproto::udp;
	check(PacketBuilder().eth().ipv4(later).raw(Bytes(100, 0xab)).build(), frag1);
	later.id = 78;
	check(PacketBuilder().eth().ipv4(later).raw(Bytes(100, 0xab)).build(), passed1);
	Ipv4Options esp_later = frag(79, true, 100);
	esp_later.proto = ipproto::esp;
	check(PacketBuilder().eth().ipv4(esp_later).raw(Bytes(64, 1)).build(), frag1);
}

TEST_F(ClassifyTable, Ipv6ExtensionHeadersAndFragments)
{
	const Expect esp2{REDIR, STEER_CLASS_ESP, 2, 101, 0};
	const Expect frag2{REDIR, STEER_CLASS_FRAGMENT, 2, 101, 0};
	check(v6().hop_by_hop().dest_opts(16).esp(0x1234, 1).build(), esp2);
	check(v6().hop_by_hop().routing().dest_opts().dest_opts().dest_opts().dest_opts().esp(1000, 1).build(), esp2);
	check(v6().dest_opts().dest_opts().dest_opts().dest_opts().dest_opts().dest_opts().dest_opts()
		      .esp(0x1234, 1).build(),
	      bad0);
	check(v6().ipv6_fragment({0, false, 5}).esp(0x1234, 1).build(), esp2); // atomic fragment
	harness->clear_frags();
	check(v6().ipv6_fragment({0, true, 9}).udp({4500, 4500, 2000}).esp(0x1000, 1).build(), frag2);
	check(v6().ipv6_fragment({100, false, 9, ipproto::udp}).raw(Bytes(64)).build(), frag2);
	check(v6().ipv6_fragment({100, false, 10, ipproto::udp}).raw(Bytes(64)).build(),
	      {UNSPEC, STEER_CLASS_PASSED, 2, 0, 0});
}

TEST_F(ClassifyTable, MalformedNetworkLayer)
{
	Ipv4Options o{ipv4_addr(PEER4), ipv4_addr(P4)};
	o.version = 5;
	check(PacketBuilder().eth().ipv4(o).esp(1000, 1).build(), bad0);
	o.version = 4;
	o.ihl_words = 4;
	check(PacketBuilder().eth().ipv4(o).esp(1000, 1).build(), bad0);
	o.ihl_words.reset();
	o.tot_len = 200;
	check(PacketBuilder().eth().ipv4(o).esp(1000, 1).build(), bad0);
	o.tot_len = 16;
	check(PacketBuilder().eth().ipv4(o).esp(1000, 1).build(), bad0);
	Ipv6Options o6{ipv6_addr(PEER6), ipv6_addr(P6)};
	o6.payload_len = 500;
	check(PacketBuilder().eth().ipv6(o6).esp(1000, 1).build(), bad0);
	check(v6().ipv6_ext({ipproto::dest_opts, 8, std::nullopt, 40}).esp(1000, 1).build(), bad0);
}

TEST_F(ClassifyTable, TargetMissingDrops)
{
	check(v4("198.51.100.4").esp(0x1234, 1).build(), {SHOT, STEER_CLASS_TARGET_MISSING, 4, 0, 0});
}

TEST_F(ClassifyTable, NotIp)
{
	PacketBuilder arp;
	EthOptions e;
	e.ethertype = ethertype::arp;
	check(arp.eth(e).raw(Bytes(28)).build(), none);
}

} // namespace
} // namespace steer::test

int main(int argc, char **argv)
{
	return steer::test::run_bpf_tests(argc, argv, 1);
}
