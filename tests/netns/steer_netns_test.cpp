// Frames crafted here are sent by the peer over a veth into the router's
// public interface, where steer_ingress is attached; they must arrive in
// the gateway namespace exactly when they should, and nothing else does.
//
//   peer ns                 router ns                      gateway ns
//   wan0 203.0.113.2/24 --- pub 203.0.113.1/24 (P)
//                           [tc ingress: steer_ingress]
//                           ist-lab 169.254.1.1/30 ------- eth0 (MAC of pub)
//                                                          203.0.113.1/32, 169.254.1.2/30
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "harness.hpp"
#include "packet_builder.hpp"
#include "steer_lab.hpp"

namespace steer::test {
namespace {

using namespace std::chrono_literals;

struct Sent {
	const char *what;
	Bytes frame;
	bool steered;
};

class SteerNetns : public ::testing::Test {
protected:
	void SetUp() override
	{
		STEER_REQUIRE_ROOT();
		lab = std::make_unique<lab::SteerLab>(lab::SteerLabOptions{"istt"});
		Status st = lab->build();
		ASSERT_TRUE(st.ok()) << st.error().message();
	}
	PacketBuilder frame() const
	{
		PacketBuilder b;
		EthOptions e;
		std::copy_n(lab->pub_mac().begin(), 6, e.dst.begin());
		std::copy_n(lab->peer_mac().begin(), 6, e.src.begin());
		b.eth(e);
		return b;
	}
	PacketBuilder to_p() const
	{
		PacketBuilder b = frame();
		b.ipv4(lab::SteerLab::peer_address, lab::SteerLab::public_address);
		return b;
	}
	std::unique_ptr<lab::SteerLab> lab;
};

bool contains(const std::vector<Bytes> &got, const Bytes &frame)
{
	return std::find(got.begin(), got.end(), frame) != got.end();
}

TEST_F(SteerNetns, FramesArriveInTheGatewayExactlyWhenSteered)
{
	PacketBuilder esp_out;
	esp_out.ipv4(lab::SteerLab::public_address, lab::SteerLab::peer_address).esp(0x77, 1);
	std::vector<Sent> sent = {
		{"esp", to_p().esp(0x1234, 1).build(), true},
		{"ike", to_p().udp(500, 500).ike().build(), true},
		{"natt ike", to_p().udp(4500, 4500).natt_ike().build(), true},
		{"natt esp", to_p().udp(4500, 4500).esp(0x4321, 2).build(), true},
		{"keepalive", to_p().udp(4500, 4500).natt_keepalive().pad_to(60).build(), true},
		{"icmp frag-needed", to_p().icmp_error({3, 4, 1400}, esp_out).build(), true},
		{"udp 53", to_p().udp(53, 53).raw(Bytes(12, 7)).build(), false},
		{"tcp 500", to_p().tcp({1000, 500}).build(), false},
		{"ah (not enabled)", to_p().ah({}).build(), false},
		{"icmp echo", to_p().icmp({8, 0}, Bytes(16)).build(), false},
		{"esp to other", frame().ipv4(lab::SteerLab::peer_address, "203.0.113.9").esp(1, 1).build(),
		 false},
		{"natt bad spi", to_p().udp(4500, 4500).raw({0, 0, 0, 9, 0, 0, 0, 1}).build(), false},
	};
	auto peer = lab::PacketSocket::open(lab->namespaces().name("peer"), "wan0");
	auto gw = lab::PacketSocket::open(lab->namespaces().name("gw"), "eth0");
	ASSERT_TRUE(peer && gw);
	for (const auto &s : sent)
		ASSERT_TRUE(peer->send(s.frame).ok()) << s.what;
	std::vector<Bytes> got = gw->drain(300ms);
	for (const auto &s : sent)
		EXPECT_EQ(contains(got, s.frame), s.steered) << s.what;
	auto counters = read_counters(lab->object().stats_fd(), lab::SteerLab::gateway_id);
	ASSERT_TRUE(counters);
	EXPECT_EQ((*counters)[STEER_CLASS_ESP].packets, 1u);
	EXPECT_EQ((*counters)[STEER_CLASS_IKE].packets, 1u);
	EXPECT_EQ((*counters)[STEER_CLASS_NATT_IKE].packets, 1u);
	EXPECT_EQ((*counters)[STEER_CLASS_NATT_ESP].packets, 1u);
	EXPECT_EQ((*counters)[STEER_CLASS_NATT_KEEPALIVE].packets, 1u);
	EXPECT_EQ((*counters)[STEER_CLASS_ICMP_ERROR].packets, 1u);
	EXPECT_EQ((*counters)[STEER_CLASS_PASSED].packets, 1u); // ah
	EXPECT_EQ((*counters)[STEER_CLASS_MALFORMED].packets, 1u); // natt bad spi
}

// BPF_PROG_RUN refuses IPv4 frames under 34 bytes; a veth does not.
TEST_F(SteerNetns, ShortFramesAreMalformedAndNeverSteered)
{
	auto peer = lab::PacketSocket::open(lab->namespaces().name("peer"), "wan0");
	auto gw = lab::PacketSocket::open(lab->namespaces().name("gw"), "eth0");
	ASSERT_TRUE(peer && gw);
	Bytes full = to_p().esp(0x1234, 1).build();
	std::vector<Bytes> shorts;
	for (size_t len = 15; len < 34; len++)
		shorts.emplace_back(full.begin(), full.begin() + len);
	const size_t counted = shorts.size();
	// A truncated VLAN frame: the kernel untags (or drops) it before TC
	// sees it, so it is never counted, and it must not be steered either.
	Bytes vlan_short = frame().vlan(5).build();
	vlan_short.resize(16);
	shorts.push_back(vlan_short);
	for (const auto &f : shorts)
		ASSERT_TRUE(peer->send(f).ok()) << f.size();
	std::vector<Bytes> got = gw->drain(300ms);
	for (const auto &f : shorts)
		EXPECT_FALSE(contains(got, f)) << f.size() << "-byte frame reached the gateway";
	auto none = read_counters(lab->object().stats_fd(), STEER_GATEWAY_NONE);
	ASSERT_TRUE(none);
	EXPECT_EQ((*none)[STEER_CLASS_MALFORMED].packets, counted);
}

// The maps carry BTF: bpftool prints field names of pinned maps.
TEST_F(SteerNetns, PinnedMapsShowFieldNames)
{
	std::string cmd = "bpftool map dump pinned " + lab->pin_dir() + "/gateways";
	FILE *p = ::popen(cmd.c_str(), "r");
	ASSERT_TRUE(p);
	std::string out;
	char buf[512];
	while (std::fgets(buf, sizeof(buf), p))
		out += buf;
	ASSERT_EQ(::pclose(p), 0) << cmd;
	EXPECT_NE(out.find("\"target_ifindex\""), std::string::npos) << out;
	EXPECT_NE(out.find("\"gateway_id\": 1"), std::string::npos) << out;
	for (const char *pin : {"stats", "frags", "ports", "prog_ingress"})
		EXPECT_EQ(::access((lab->pin_dir() + "/" + pin).c_str(), F_OK), 0) << pin;
}

} // namespace
} // namespace steer::test
