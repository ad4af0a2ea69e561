// The internet link of a lab, captured with tcpdump and read back: each
// frame classified the way the steering classifies it, with its direction
// relative to one public address, so a test can say "only IKE and ESP
// crossed" and compare the steering's counters with what the wire carried.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ike_lab.hpp"

namespace steer::ike {

struct Frame {
	std::vector<uint8_t> bytes;
};

// A classic pcap file as tcpdump -w writes it (Ethernet link type); `why`
// says what was wrong when it could not be read.
std::vector<Frame> read_pcap(const std::string &path, std::string &why);

// What one frame is: "arp", "nd" (ICMPv6 neighbour/router discovery),
// "mld", "ike" (UDP between the public addresses on the IKE port), "esp"
// (IP protocol 50 between them), "natt_ike", "natt_esp", "natt_keepalive"
// (UDP on the NAT-T port: non-ESP marker, ESP, 0xff), or a description of
// anything else. `dir` becomes "in" when the destination is `here`, "out"
// when the source is.
std::string kind_of(const Frame &fr, const std::set<std::string> &publics, const std::string &here,
		    std::string &dir, uint16_t ike_port = 500, uint16_t natt_port = 4500);

// tcpdump on one interface of one namespace, from start() to stop().
class LinkCapture {
public:
	Status start(const std::string &netns, const std::string &dev, const std::string &pcap);
	// Stops tcpdump (SIGINT, so it flushes) and reads its file.
	Result<std::vector<Frame>> stop();
	const std::string &path() const { return pcap_; }

private:
	std::unique_ptr<Child> tcpdump_;
	std::string pcap_;
};

// Frames per kind ("esp") and per kind and direction ("esp in").
std::map<std::string, int> count_kinds(const std::vector<Frame> &frames, const std::set<std::string> &publics,
				       const std::string &here);

} // namespace steer::ike
