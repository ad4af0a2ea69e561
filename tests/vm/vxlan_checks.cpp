#include "vxlan_checks.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstdio>
#include <regex>
#include <set>
#include <thread>

#include "fd.hpp"
#include "ike_lab.hpp"
#include "lan_traffic.hpp"
#include "link_capture.hpp"
#include "netns.hpp"

namespace steer::test::vxlan {

using namespace std::chrono_literals;

long long rule_packets(const std::string &listing, const std::string &chain, const std::string &rule)
{
	size_t at = listing.find("chain " + chain + " {");
	if (at == std::string::npos)
		return -1;
	size_t end = listing.find('}', at);
	std::string body = listing.substr(at, end - at);
	std::smatch m;
	std::regex re(std::regex_replace(rule, std::regex(R"([.*+?^${}()|\[\]\\])"), R"(\$&)") +
		      R"( counter packets (\d+) )");
	return std::regex_search(body, m, re) ? std::stoll(m[1]) : -1;
}

Status send_udp(const std::string &netns, const std::string &dst, uint16_t port,
		const std::vector<uint8_t> &payload, int count)
{
	return ns::run_in_netns(netns, [&]() -> Status {
		Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
		if (!fd.valid())
			return sys_error(errno, "socket", netns);
		sockaddr_in to{};
		to.sin_family = AF_INET;
		to.sin_port = htons(port);
		inet_pton(AF_INET, dst.c_str(), &to.sin_addr);
		for (int i = 0; i < count; i++)
			if (::sendto(fd.get(), payload.data(), payload.size(), 0, reinterpret_cast<sockaddr *>(&to),
				     sizeof(to)) < 0)
				return sys_error(errno, "sendto", dst);
		return {};
	});
}

std::vector<uint8_t> vxlan_arp_request()
{
	std::vector<uint8_t> d = {0x08, 0, 0, 0, 0, 0, 42, 0};           // VXLAN: I flag, VNI 42
	std::vector<uint8_t> eth = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // broadcast
				    0x02, 0, 0, 0, 0, 0x66, 0x08, 0x06};
	std::vector<uint8_t> arp = {0, 1, 8, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 0x66, 10, 99, 0, 66,
				    0, 0, 0, 0, 0, 0, 10, 99, 0, 2};
	d.insert(d.end(), eth.begin(), eth.end());
	d.insert(d.end(), arp.begin(), arp.end());
	return d;
}

namespace {

// Every reply of `pings` echoes between every ordered pair of hosts.
void ping_every_pair(const Mesh &m, int pings)
{
	for (int h = 1; h <= m.hosts; h++)
		for (int o = 1; o <= m.hosts; o++) {
			if (o == h)
				continue;
			auto replies = ike::ping(m.host_ns(h), m.overlay_address(o), pings, 3000ms);
			ASSERT_TRUE(replies) << replies.error().message();
			EXPECT_EQ(*replies, pings) << "VXLAN ping host " << h << " -> " << m.overlay_address(o);
		}
}

} // namespace

void expect_vxlan_only_inside_esp(const Mesh &m, const std::string &pcap, int pings)
{
	ike::LinkCapture capture;
	// Host 2's port of the underlay bridge: all it sends and receives.
	Status st = capture.start(m.underlay_ns, "h2", pcap);
	ASSERT_TRUE(st.ok()) << st.error().message();
	ASSERT_NO_FATAL_FAILURE(ping_every_pair(m, pings));
	auto frames = capture.stop();
	ASSERT_TRUE(frames) << frames.error().message();
	std::set<std::string> publics;
	for (int h = 1; h <= m.hosts; h++)
		publics.insert(m.underlay_address(h));
	auto kinds = ike::count_kinds(*frames, publics, m.underlay_address(2));
	std::string summary;
	for (const auto &[kind, n] : kinds) {
		summary += " " + kind + "=" + std::to_string(n);
		if (kind.find(' ') == std::string::npos) {
			const std::set<std::string> allowed = {"arp", "nd", "mld", "esp", "ike", "natt_ike"};
			EXPECT_TRUE(allowed.count(kind)) << n << " x " << kind;
		}
	}
	std::printf("underlay during VXLAN pings:%s\n", summary.c_str());
	// Host 2 echoes to and answers each other host: 2 * (hosts - 1) * pings
	// ESP frames each way.
	int each_way = 2 * (m.hosts - 1) * pings;
	EXPECT_GE(kinds["esp in"], each_way) << "VXLAN pings inside ESP";
	EXPECT_GE(kinds["esp out"], each_way) << "VXLAN pings inside ESP";
	for (int h = 1; h <= m.hosts; h++) {
		std::string t = m.table(h);
		EXPECT_GT(rule_packets(t, "input", "udp dport 8472 meta ipsec exists"), 0) << t;
		EXPECT_GT(rule_packets(t, "output", "udp dport 8472 rt ipsec exists"), 0) << t;
	}
}

void expect_cleartext_vxlan_dropped(const Mesh &m, const std::string &injector)
{
	long long before = rule_packets(m.table(2), "input", "udp dport 8472");
	Status st = send_udp(injector, m.underlay_address(2), 8472, vxlan_arp_request(), 10);
	ASSERT_TRUE(st.ok()) << st.error().message();
	std::this_thread::sleep_for(500ms);
	std::string t = m.table(2);
	EXPECT_EQ(rule_packets(t, "input", "udp dport 8472") - before, 10) << t;
	// Had vx0 seen the ARP request, host 2 would know its sender now.
	auto neigh = ike::capture("ip -n " + m.host_ns(2) + " neigh show 10.99.0.66");
	ASSERT_TRUE(neigh) << neigh.error().message();
	EXPECT_EQ(*neigh, "") << "cleartext VXLAN decapsulated by host 2";
}

} // namespace steer::test::vxlan
