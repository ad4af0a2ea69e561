// Real IKEv2 (strongSwan 5.9.8, kernel-libipsec, ESP in UDP 4500) between
// two sites whose gateways sit in namespaces behind the steering. The tunnel
// is initiated from A, used, torn down, then initiated from B and used
// again; the internet link must carry nothing but IKE and ESP-in-UDP.
//
//  [la] 10.1.0.2                                                [lb] 10.2.0.2
//    |                                                            |
//  [ra] lan 10.1.0.1                                            [rb] lan 10.2.0.1
//       pub 198.51.100.1 ======== internet (tcpdump) ========= pub 198.51.100.2
//       tc ingress steer_ingress                                tc ingress steer_ingress
//       ip rule 10.1/24 -> 10.2/24: via 169.254.1.2             ip rule 10.2/24 -> 10.1/24: via 169.254.2.2
//       ist-ik<pid>-a 169.254.1.1                               ist-ik<pid>-b 169.254.2.1
//    |  egress route: accept_local=1, rp_filter=2 on ist-*;      |
//    |  egress bpf: steer_return at tc ingress of ist-*          |
//  [a]  eth0 = MAC of ra's pub                                  [b]  eth0 = MAC of rb's pub
//       198.51.100.1/32, 169.254.1.2/30, lo 10.1.0.254/32       198.51.100.2/32, 169.254.2.2/30, lo 10.2.0.254/32
//       charon + ipsec0 (TUN)                                   charon + ipsec0 (TUN)
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <thread>

#include "harness.hpp"
#include "ike_lab.hpp"
#include "lan_traffic.hpp"

namespace steer::ike {
void PrintTo(Egress e, std::ostream *os) { *os << (e == Egress::bpf ? "egress bpf" : "egress route"); }
} // namespace steer::ike

namespace steer::test {
namespace {

using namespace std::chrono_literals;
using ike::Side;

constexpr size_t transfer_bytes = 400 * 1024;
const std::string marker = "ipsec-steer cleartext marker ";

struct Frame {
	std::vector<uint8_t> bytes;
};

// A classic pcap file as tcpdump -w writes it (Ethernet link type).
std::vector<Frame> read_pcap(const std::string &path, std::string &why)
{
	std::ifstream f(path, std::ios::binary);
	std::vector<uint8_t> all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
	std::vector<Frame> out;
	if (all.size() < 24) {
		why = "pcap shorter than its header";
		return out;
	}
	uint32_t magic;
	std::memcpy(&magic, all.data(), 4);
	if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
		why = "not a little-endian pcap file";
		return out;
	}
	for (size_t off = 24; off + 16 <= all.size();) {
		uint32_t caplen;
		std::memcpy(&caplen, all.data() + off + 8, 4);
		if (off + 16 + caplen > all.size())
			break; // truncated last record
		out.push_back({std::vector<uint8_t>(all.begin() + off + 16, all.begin() + off + 16 + caplen)});
		off += 16 + caplen;
	}
	return out;
}

// What one frame on the internet link is: "arp", "ike" (UDP 500),
// "natt" (UDP 4500), or a description of anything else.
std::string kind_of(const Frame &fr, const std::set<uint32_t> &publics)
{
	const auto &b = fr.bytes;
	if (b.size() < 14)
		return "runt frame";
	uint16_t type = static_cast<uint16_t>(b[12] << 8 | b[13]);
	if (type == 0x0806)
		return "arp";
	if (type != 0x0800)
		return "ethertype " + std::to_string(type);
	if (b.size() < 34)
		return "short IPv4";
	size_t hl = static_cast<size_t>(b[14] & 0x0f) * 4;
	uint32_t src, dst;
	std::memcpy(&src, &b[26], 4);
	std::memcpy(&dst, &b[30], 4);
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &src, s, sizeof(s));
	inet_ntop(AF_INET, &dst, d, sizeof(d));
	std::string who = std::string(s) + " > " + d;
	if (!publics.count(src) || !publics.count(dst))
		return "IPv4 not between the public addresses: " + who;
	bool fragment = (b[20] & 0x3f) != 0 || b[21] != 0;
	if (b[23] != 17 || fragment || b.size() < 14 + hl + 8)
		return "IPv4 proto " + std::to_string(b[23]) + (fragment ? " fragment " : " ") + who;
	uint16_t sport = static_cast<uint16_t>(b[14 + hl] << 8 | b[15 + hl]);
	uint16_t dport = static_cast<uint16_t>(b[16 + hl] << 8 | b[17 + hl]);
	if (sport == 500 && dport == 500)
		return "ike";
	if (sport == 4500 && dport == 4500)
		return "natt";
	return "UDP " + std::to_string(sport) + " > " + std::to_string(dport) + " " + who;
}

class IkeNetns : public ::testing::TestWithParam<ike::Egress> {
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
		opts.egress = GetParam();
		lab = std::make_unique<ike::TwoSiteLab>(opts);
		Status st = lab->build();
		ASSERT_TRUE(st.ok()) << st.error().message();
	}

	// tcpdump on router A's public interface, until stop_capture().
	void start_capture()
	{
		pcap = lab->lab_dir() + "/internet.pcap";
		std::string log = pcap + ".log";
		auto child = ike::Child::spawn({"ip", "netns", "exec", lab->router_ns(Side::a), "tcpdump",
						"-i", "pub", "-n", "-U", "-Z", "root", "-w", pcap},
					       log);
		ASSERT_TRUE(child) << child.error().message();
		tcpdump = std::move(*child);
		for (int i = 0; i < 100; i++) {
			std::ifstream f(log);
			std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
			if (text.find("listening on") != std::string::npos)
				return;
			std::this_thread::sleep_for(50ms);
		}
		FAIL() << "tcpdump did not start";
	}

	std::vector<Frame> stop_capture()
	{
		tcpdump->stop(SIGINT, 3000);
		std::string why;
		auto frames = read_pcap(pcap, why);
		EXPECT_TRUE(why.empty()) << why;
		return frames;
	}

	void expect_ping(Side from)
	{
		auto replies = ike::ping(lab->lan_ns(from), lab->site(ike::other(from)).host(), 3, 2000ms);
		ASSERT_TRUE(replies) << replies.error().message();
		EXPECT_EQ(*replies, 3) << "ping from LAN " << (from == Side::a ? "A" : "B");
	}

	void expect_transfer(Side from, uint16_t port)
	{
		auto r = ike::tcp_transfer(lab->lan_ns(from), lab->lan_ns(ike::other(from)),
					   lab->site(ike::other(from)).host(), port, transfer_bytes, marker,
					   20s);
		ASSERT_TRUE(r) << r.error().message();
		std::printf("TCP %zu bytes from LAN %s in %.3f s\n", r->received,
			    from == Side::a ? "A" : "B", r->seconds);
		EXPECT_EQ(r->received, transfer_bytes);
		EXPECT_TRUE(r->intact);
	}

	std::unique_ptr<ike::TwoSiteLab> lab;
	std::unique_ptr<ike::Child> tcpdump;
	std::string pcap;
};

TEST_P(IkeNetns, TunnelFromEitherSideCarriesPingAndTcpAndOnlyIkeCrossesTheInternet)
{
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
		auto replies = ike::ping(lab->lan_ns(Side::a), lab->site(Side::b).host(), 1, 500ms);
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

	// The internet carried IKE (500), then IKE and ESP in UDP (4500), ARP,
	// and nothing else: no cleartext, no raw ESP, no fragments.
	std::vector<Frame> frames = stop_capture();
	std::set<uint32_t> publics;
	for (Side s : {Side::a, Side::b}) {
		uint32_t a;
		inet_pton(AF_INET, lab->site(s).public_address.c_str(), &a);
		publics.insert(a);
	}
	std::map<std::string, int> kinds;
	for (const auto &f : frames)
		kinds[kind_of(f, publics)]++;
	std::string summary;
	for (const auto &[kind, n] : kinds)
		summary += " " + kind + "=" + std::to_string(n);
	std::printf("internet link capture:%s\n", summary.c_str());
	for (const auto &[kind, n] : kinds)
		EXPECT_TRUE(kind == "arp" || kind == "ike" || kind == "natt") << n << " x " << kind;
	EXPECT_GE(kinds["ike"], 4) << "two IKE_SA_INIT exchanges";
	// Two transfers of 400 KB at most ~1350 bytes of payload per packet.
	EXPECT_GE(kinds["natt"], static_cast<int>(2 * transfer_bytes / 1400));
	std::ifstream f(pcap, std::ios::binary);
	std::string raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
	EXPECT_EQ(raw.find(marker), std::string::npos) << "cleartext on the internet link";

	// Both routers steered IKE, NAT-T IKE and NAT-T ESP into their gateway.
	for (Side s : {Side::a, Side::b}) {
		SCOPED_TRACE(s == Side::a ? "router A" : "router B");
		auto c = lab->counters(s);
		ASSERT_TRUE(c) << c.error().message();
		std::printf("steer_ingress, router %s:", s == Side::a ? "A" : "B");
		for (uint32_t k = 0; k < STEER_CLASS_MAX; k++)
			if ((*c)[k].packets)
				std::printf(" %s=%llu", class_name(k), (unsigned long long)(*c)[k].packets);
		std::printf("\n");
		EXPECT_GE((*c)[STEER_CLASS_IKE].packets, 2u);
		EXPECT_GE((*c)[STEER_CLASS_NATT_IKE].packets, 2u);
		EXPECT_GE((*c)[STEER_CLASS_NATT_ESP].packets, transfer_bytes / 1400);
		EXPECT_EQ((*c)[STEER_CLASS_TARGET_MISSING].packets, 0u);
		EXPECT_EQ((*c)[STEER_CLASS_MALFORMED].packets, 0u);
		EXPECT_EQ((*c)[STEER_CLASS_ESP].packets, 0u) << "kernel-libipsec never sends raw ESP";
		if (GetParam() != ike::Egress::bpf)
			continue;
		// egress = bpf: steer_return sent the gateway's IKE and ESP out.
		auto out = lab->counters_out(s);
		ASSERT_TRUE(out) << out.error().message();
		std::printf("steer_return, router %s:", s == Side::a ? "A" : "B");
		for (uint32_t k = 0; k < STEER_CLASS_MAX; k++)
			if ((*out)[k].packets)
				std::printf(" %s=%llu", class_name(k), (unsigned long long)(*out)[k].packets);
		std::printf("\n");
		EXPECT_GE((*out)[STEER_CLASS_IKE].packets, 2u);
		EXPECT_GE((*out)[STEER_CLASS_NATT_IKE].packets, 2u);
		EXPECT_GE((*out)[STEER_CLASS_NATT_ESP].packets, transfer_bytes / 1400);
		EXPECT_EQ((*out)[STEER_CLASS_TARGET_MISSING].packets, 0u);
	}
}

// route: the router forwards the gateway's packets (accept_local, rp_filter
// 2 on ist-*); bpf: steer_return redirects them out of pub.
INSTANTIATE_TEST_SUITE_P(Egress, IkeNetns, ::testing::Values(ike::Egress::route, ike::Egress::bpf),
			 [](const auto &info) {
				 return std::string(info.param == ike::Egress::bpf ? "bpf" : "route");
			 });

} // namespace
} // namespace steer::test
