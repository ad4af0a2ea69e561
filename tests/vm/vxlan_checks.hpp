// The checks both VM mesh tests make of a VXLAN-over-ESP mesh (hand-made
// conns in mesh_vm_test, the agent's in mesh_agent_vm_test): the underlay
// carries VXLAN only inside ESP, and cleartext VXLAN is dropped.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "result.hpp"

namespace steer::test::vxlan {

// The packets counter of the first rule of `chain` whose text starts with
// `rule` in an `nft list` output; -1 when there is none.
long long rule_packets(const std::string &listing, const std::string &chain, const std::string &rule);

// Sends `count` copies of `payload` over UDP from namespace `netns`.
[[nodiscard]] Status send_udp(const std::string &netns, const std::string &dst, uint16_t port,
			      const std::vector<uint8_t> &payload, int count);

// A VXLAN datagram (VNI 42) carrying a broadcast ARP request for
// 10.99.0.2 from 10.99.0.66: what an attacker on the underlay would send.
std::vector<uint8_t> vxlan_arp_request();

struct Mesh {
	int hosts = 3;
	std::string underlay_ns;                            // the bridge's namespace
	std::function<std::string(int)> host_ns;            // host h's namespace
	std::function<std::string(int)> underlay_address;   // on its eth0
	std::function<std::string(int)> overlay_address;    // on its vx0
	std::function<std::string(int)> table;              // `nft list table inet ipsec_steer`
};

// Pings between every pair of hosts over vx0 (`pings` each) while host 2's
// port "h2" of the underlay bridge is captured to `pcap`: every reply
// arrives, the capture holds only ARP/ND/IKE/ESP (at least one ESP frame
// in and out per echo of host 2), and every host's `meta ipsec` (input)
// and `rt ipsec` (output) udp/8472 counters moved.
void expect_vxlan_only_inside_esp(const Mesh &m, const std::string &pcap, int pings);

// Ten cleartext VXLAN datagrams from namespace `injector` to host 2:
// counted by its input chain's udp/8472 drop, never decapsulated by vx0.
void expect_cleartext_vxlan_dropped(const Mesh &m, const std::string &injector);

} // namespace steer::test::vxlan
