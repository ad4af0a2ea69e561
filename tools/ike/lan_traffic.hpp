// Traffic between LAN hosts of a lab, from C++ (no ping or netcat needed):
// ICMP (ICMPv6) echo and a checked TCP transfer, IPv4 or IPv6 as the
// destination address says, each socket opened in its namespace.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "result.hpp"

namespace steer::ike {

// Sends `count` ICMP echo requests from namespace `netns` to `dst`, one at a
// time, each waiting up to `wait` for its reply; returns the replies seen.
Result<int> ping(const std::string &netns, const std::string &dst, int count,
		 std::chrono::milliseconds wait);

// The bytes a transfer sends: `marker` and a counter, repeated, so a capture
// can be searched for cleartext.
std::string transfer_pattern(const std::string &marker, size_t bytes);

struct TransferResult {
	size_t received = 0;
	bool intact = false; // every byte equal to transfer_pattern()
	double seconds = 0;
};

// Listens on dst:port in `to_ns`, connects from `from_ns`, sends `bytes`
// bytes of transfer_pattern(marker), closes, and checks what arrived.
// Gives up after `timeout` in all.
Result<TransferResult> tcp_transfer(const std::string &from_ns, const std::string &to_ns,
				    const std::string &dst, uint16_t port, size_t bytes,
				    const std::string &marker, std::chrono::milliseconds timeout);

// Sends `count` UDP datagrams from namespace `from_ns` to dst:port and
// returns how many a socket bound to dst:port in `to_ns` received within
// `wait` after the last one (so a firewall's drop shows as a shortfall).
// `sources`, when given, collects the source addresses they arrived from
// (what NAT made of the sender).
Result<int> udp_datagrams(const std::string &from_ns, const std::string &to_ns, const std::string &dst,
			  uint16_t port, int count, std::chrono::milliseconds wait,
			  std::set<std::string> *sources = nullptr);

} // namespace steer::ike
