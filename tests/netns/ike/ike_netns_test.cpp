// Real IKEv2 (strongSwan 5.9.8, kernel-libipsec, ESP in UDP 4500) between
// two sites whose gateways `ipsec-steer up` built in namespaces behind the
// steering, charon started in each with `ipsec-steer exec`. The tunnel is
// initiated from A, used (ping, TCP), torn down, then initiated from B and
// used again; the internet link must carry nothing but IKE, ESP-in-UDP and
// ARP/ND; no UDP may reach the routers' own stack; `ipsec-steer stats`
// must show the IKE and NAT-T classes moving; `ipsec-steer down` must leave
// nothing behind. Cases: egress bpf and route, IPv4 and IPv6 (public
// addresses, LANs and gateway links all of one family: the tool's cleartext
// routes into a gateway exist only in its public address's family).
//
//  [la] eth0 10.1.0.2 | fd00:1::2                               [lb] eth0 10.2.0.2 | fd00:2::2
//    |                                                            |
//  [ra] lan 10.1.0.1 | fd00:1::1                                [rb] lan 10.2.0.1 | fd00:2::1
//       pub 198.51.100.1/24 ===== internet (tcpdump) ======= pub 198.51.100.2/24
//           2001:db8:1::1/64                                     2001:db8:1::2/64
//       tc ingress ist_ingress (up)                             tc ingress ist_ingress (up)
//       rule LAN A -> LAN B: table via gateway a (proto 87)     rule LAN B -> LAN A: table via gateway b
//       ist-ik<pid>-a 169.254.1.1/30 | fd00:ff:1::/127          ist-ik<pid>-b 169.254.2.1/30 | fd00:ff:2::/127
//    |  egress route: accept_local=1, rp_filter=2 on ist-*;      |
//    |  egress bpf: steer_return (ist_return) at tc ingress      |
//  [ik<pid>-a] eth0 = MAC of ra's pub                           [ik<pid>-b] eth0 = MAC of rb's pub
//       P/32 (/128), 169.254.1.2/30 | fd00:ff:1::1/127           P/32 (/128), 169.254.2.2/30 | fd00:ff:2::1/127
//       lo 10.1.0.254 | fd00:1::fe; charon + ipsec0 (TUN)        lo 10.2.0.254 | fd00:2::fe; charon + ipsec0
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "harness.hpp"
#include "ike_lab.hpp"
#include "lan_traffic.hpp"
#include "link_capture.hpp"

namespace steer::test {
namespace {

using namespace std::chrono_literals;
using ike::Egress;
using ike::Family;
using ike::Side;

constexpr size_t transfer_bytes = 400 * 1024;
const std::string marker = "ipsec-steer cleartext marker ";

using Param = std::tuple<Egress, Family>;

std::string param_name(const Param &p)
{
	return std::string(std::get<0>(p) == Egress::bpf ? "bpf" : "route") + "_" +
	       (std::get<1>(p) == Family::ipv4 ? "ipv4" : "ipv6");
}

class IkeNetns : public ::testing::TestWithParam<Param> {
protected:
	void SetUp() override
	{
		STEER_REQUIRE_ROOT();
		std::string missing = ike::strongswan_missing();
		if (std::system("command -v tcpdump >/dev/null 2>&1") != 0)
			missing += " tcpdump";
		if (!missing.empty()) {
			if (ci_mode())
				FAIL() << "missing: " << missing << ", and CI=true forbids skipping";
			GTEST_SKIP() << "missing: " << missing << " (tools/install-deps.sh installs them)";
		}
		ike::TwoSiteOptions opts;
		opts.egress = std::get<0>(GetParam());
		opts.family = std::get<1>(GetParam());
		lab = std::make_unique<ike::TwoSiteLab>(opts);
		Status st = lab->build();
		ASSERT_TRUE(st.ok()) << st.error().message();
	}

	void TearDown() override
	{
		if (!lab)
			return;
		// After `ipsec-steer down` nothing of the tool's may be left.
		Status st = lab->teardown();
		EXPECT_TRUE(st.ok()) << st.error().message();
		std::printf("ipsec-steer up (2 sites) %.3f s, down (2 sites) %.3f s\n", lab->up_time().count(),
			    lab->down_time().count());
		lab.reset();
	}

	// tcpdump on router A's public interface, until stop_capture().
	void start_capture()
	{
		Status st = capture.start(lab->router_ns(Side::a), "pub", lab->lab_dir() + "/internet.pcap");
		ASSERT_TRUE(st.ok()) << st.error().message();
	}

	std::vector<ike::Frame> stop_capture()
	{
		auto frames = capture.stop();
		EXPECT_TRUE(frames) << frames.error().message();
		return frames ? *frames : std::vector<ike::Frame>{};
	}

	void expect_ping(Side from)
	{
		auto replies = ike::ping(lab->lan_ns(from), lab->site(ike::other(from)).host, 3, 2000ms);
		ASSERT_TRUE(replies) << replies.error().message();
		EXPECT_EQ(*replies, 3) << "ping from LAN " << (from == Side::a ? "A" : "B");
	}

	void expect_transfer(Side from, uint16_t port)
	{
		auto r = ike::tcp_transfer(lab->lan_ns(from), lab->lan_ns(ike::other(from)),
					   lab->site(ike::other(from)).host, port, transfer_bytes, marker, 20s);
		ASSERT_TRUE(r) << r.error().message();
		std::printf("TCP %zu bytes from LAN %s in %.3f s\n", r->received,
			    from == Side::a ? "A" : "B", r->seconds);
		EXPECT_EQ(r->received, transfer_bytes);
		EXPECT_TRUE(r->intact);
	}

	std::unique_ptr<ike::TwoSiteLab> lab;
	ike::LinkCapture capture;
};

void print_counters(const char *what, const std::map<std::string, uint64_t> &c)
{
	std::printf("%s:", what);
	for (const auto &[cls, n] : c)
		if (n)
			std::printf(" %s=%llu", cls.c_str(), static_cast<unsigned long long>(n));
	std::printf("\n");
}

TEST_P(IkeNetns, TunnelFromEitherSideThroughTheToolsGateways)
{
	const bool bpf_egress = std::get<0>(GetParam()) == Egress::bpf;
	for (Side s : {Side::a, Side::b}) {
		auto problems = lab->status_problems(s);
		ASSERT_TRUE(problems) << problems.error().message();
		EXPECT_EQ(*problems, "") << "`ipsec-steer status` of " << lab->gateway_ns(s);
	}
	// UDP reaching the routers' own stack, from here on: none may.
	std::array<ike::UdpInput, 2> udp_before;
	for (Side s : {Side::a, Side::b}) {
		auto u = lab->router_udp_input(s);
		ASSERT_TRUE(u) << u.error().message();
		udp_before[static_cast<size_t>(s)] = *u;
	}
	ASSERT_NO_FATAL_FAILURE(start_capture());
	Status st = lab->start_ike();
	ASSERT_TRUE(st.ok()) << st.error().message();

	{
		SCOPED_TRACE("initiated from A");
		st = lab->initiate(Side::a);
		ASSERT_TRUE(st.ok()) << st.error().message();
		expect_ping(Side::a);
		expect_transfer(Side::a, 5001);
		st = lab->terminate(Side::a);
		ASSERT_TRUE(st.ok()) << st.error().message();
	}
	{
		SCOPED_TRACE("no SA");
		// Cleartext without an SA: it reaches the gateway and goes no
		// further (never out of pub, as the capture shows below).
		auto replies = ike::ping(lab->lan_ns(Side::a), lab->site(Side::b).host, 1, 500ms);
		ASSERT_TRUE(replies) << replies.error().message();
		EXPECT_EQ(*replies, 0);
	}
	{
		SCOPED_TRACE("initiated from B");
		st = lab->initiate(Side::b);
		ASSERT_TRUE(st.ok()) << st.error().message();
		expect_ping(Side::b);
		expect_transfer(Side::b, 5002);
	}

	// The internet carried IKE (500), then IKE and ESP in UDP (4500),
	// ARP/ND, and nothing else: no cleartext, no raw ESP, no fragments.
	std::vector<ike::Frame> frames = stop_capture();
	std::set<std::string> publics = {lab->site(Side::a).public_address, lab->site(Side::b).public_address};
	std::map<std::string, int> kinds = ike::count_kinds(frames, publics, lab->site(Side::a).public_address);
	std::string summary;
	for (const auto &[kind, n] : kinds)
		summary += " " + kind + "=" + std::to_string(n);
	std::printf("internet link capture:%s\n", summary.c_str());
	const std::set<std::string> allowed = {"arp", "nd", "mld", "ike", "natt_ike", "natt_esp", "natt_keepalive"};
	for (const auto &[kind, n] : kinds) {
		if (kind.find(' ') == std::string::npos) { // not "esp in": a direction count
			EXPECT_TRUE(allowed.count(kind)) << n << " x " << kind;
		}
	}
	EXPECT_GE(kinds["ike"], 4) << "two IKE_SA_INIT exchanges";
	// Two transfers of 400 KB at most ~1350 bytes of payload per packet.
	EXPECT_GE(kinds["natt_esp"], static_cast<int>(2 * transfer_bytes / 1400));
	std::ifstream f(capture.path(), std::ios::binary);
	std::string raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
	EXPECT_EQ(raw.find(marker), std::string::npos) << "cleartext on the internet link";

	for (Side s : {Side::a, Side::b}) {
		SCOPED_TRACE(s == Side::a ? "router A" : "router B");
		// Nothing reached the router's own UDP stack (no socket took
		// it, none refused it), and it needs no socket on the IKE ports.
		auto u = lab->router_udp_input(s);
		ASSERT_TRUE(u) << u.error().message();
		const auto &before = udp_before[static_cast<size_t>(s)];
		EXPECT_EQ(u->total(), before.total())
			<< "UDP into the router's stack: before " << before.text() << "; after " << u->text();
		auto sockets = lab->router_udp_sockets(s);
		ASSERT_TRUE(sockets) << sockets.error().message();
		EXPECT_EQ(*sockets, "") << "UDP sockets in " << lab->router_ns(s);

		// `ipsec-steer stats`: both routers steered IKE, NAT-T IKE and
		// NAT-T ESP into their gateway (in) and, with egress bpf, sent the
		// gateway's out of pub (out).
		auto c = lab->counters(s);
		ASSERT_TRUE(c) << c.error().message();
		print_counters(s == Side::a ? "ipsec-steer stats, site A, in" : "ipsec-steer stats, site B, in", c->in);
		print_counters(s == Side::a ? "ipsec-steer stats, site A, out" : "ipsec-steer stats, site B, out", c->out);
		EXPECT_GE(c->in["ike"], 2u);
		EXPECT_GE(c->in["natt_ike"], 2u);
		EXPECT_GE(c->in["natt_esp"], transfer_bytes / 1400);
		EXPECT_EQ(c->in["target_missing"], 0u);
		EXPECT_EQ(c->in["malformed"], 0u);
		EXPECT_EQ(c->in["esp"], 0u) << "kernel-libipsec never sends raw ESP";
		if (bpf_egress) {
			EXPECT_GE(c->out["ike"], 2u);
			EXPECT_GE(c->out["natt_ike"], 2u);
			EXPECT_GE(c->out["natt_esp"], transfer_bytes / 1400);
			EXPECT_EQ(c->out["target_missing"], 0u);
		} else {
			for (const auto &[cls, n] : c->out)
				EXPECT_EQ(n, 0u) << "egress route: steer_return counted " << cls;
		}
	}
}

INSTANTIATE_TEST_SUITE_P(Lab, IkeNetns,
			 ::testing::Combine(::testing::Values(Egress::bpf, Egress::route),
					    ::testing::Values(Family::ipv4, Family::ipv6)),
			 [](const auto &info) { return param_name(info.param); });

} // namespace
} // namespace steer::test
