#include "link_capture.hpp"

#include <arpa/inet.h>
#include <signal.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

namespace steer::ike {

namespace {

std::string address_text(int family, const uint8_t *p)
{
	char buf[INET6_ADDRSTRLEN];
	inet_ntop(family, p, buf, sizeof(buf));
	return buf;
}

// The L3 facts kind_of needs.
struct Ip {
	size_t l4 = 0;
	uint8_t proto = 0;
	std::string src, dst;
	bool fragment = false;
	std::string special; // arp/nd/mld or why it is not IP
};

Ip parse_ip(const std::vector<uint8_t> &b)
{
	Ip ip;
	if (b.size() < 14)
		return ip.special = "runt frame", ip;
	uint16_t type = static_cast<uint16_t>(b[12] << 8 | b[13]);
	if (type == 0x0806)
		return ip.special = "arp", ip;
	if (type == 0x0800) {
		if (b.size() < 34)
			return ip.special = "short IPv4", ip;
		ip.l4 = 14 + static_cast<size_t>(b[14] & 0x0f) * 4;
		ip.proto = b[23];
		ip.src = address_text(AF_INET, &b[26]);
		ip.dst = address_text(AF_INET, &b[30]);
		ip.fragment = (b[20] & 0x3f) != 0 || b[21] != 0;
		return ip;
	}
	if (type != 0x86dd)
		return ip.special = "ethertype " + std::to_string(type), ip;
	if (b.size() < 54)
		return ip.special = "short IPv6", ip;
	ip.l4 = 54;
	ip.proto = b[20];
	ip.src = address_text(AF_INET6, &b[22]);
	ip.dst = address_text(AF_INET6, &b[38]);
	if (ip.proto == 0 && b.size() >= ip.l4 + 8) { // hop-by-hop options (MLD's router alert)
		ip.proto = b[ip.l4];
		ip.l4 += (static_cast<size_t>(b[ip.l4 + 1]) + 1) * 8;
	}
	ip.fragment = ip.proto == 44;
	if (ip.proto == 58 && b.size() > ip.l4) {
		uint8_t icmp = b[ip.l4];
		if (icmp >= 133 && icmp <= 137)
			ip.special = "nd";
		else if (icmp == 130 || icmp == 131 || icmp == 132 || icmp == 143)
			ip.special = "mld";
	}
	return ip;
}

std::string natt_kind(const std::vector<uint8_t> &b, size_t payload)
{
	size_t n = b.size() - payload;
	if (n == 1 && b[payload] == 0xff)
		return "natt_keepalive";
	if (n >= 4 && b[payload] == 0 && b[payload + 1] == 0 && b[payload + 2] == 0 && b[payload + 3] == 0)
		return "natt_ike";
	return "natt_esp";
}

} // namespace

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

std::string kind_of(const Frame &fr, const std::set<std::string> &publics, const std::string &here,
		    std::string &dir, uint16_t ike_port, uint16_t natt_port)
{
	const auto &b = fr.bytes;
	Ip ip = parse_ip(b);
	dir = ip.dst == here ? "in" : ip.src == here ? "out" : "";
	if (!ip.special.empty())
		return ip.special;
	std::string who = ip.src + " > " + ip.dst;
	if (!publics.count(ip.src) || !publics.count(ip.dst))
		return "IP proto " + std::to_string(ip.proto) + " not between the public addresses: " + who;
	if (ip.proto == 50 && !ip.fragment)
		return "esp";
	if (ip.proto != 17 || ip.fragment || b.size() < ip.l4 + 8)
		return "IP proto " + std::to_string(ip.proto) + (ip.fragment ? " fragment " : " ") + who;
	uint16_t sport = static_cast<uint16_t>(b[ip.l4] << 8 | b[ip.l4 + 1]);
	uint16_t dport = static_cast<uint16_t>(b[ip.l4 + 2] << 8 | b[ip.l4 + 3]);
	if (sport == ike_port && dport == ike_port)
		return "ike";
	if (sport == natt_port && dport == natt_port)
		return natt_kind(b, ip.l4 + 8);
	return "UDP " + std::to_string(sport) + " > " + std::to_string(dport) + " " + who;
}

std::map<std::string, int> count_kinds(const std::vector<Frame> &frames, const std::set<std::string> &publics,
				       const std::string &here)
{
	std::map<std::string, int> kinds;
	for (const auto &f : frames) {
		std::string dir;
		std::string kind = kind_of(f, publics, here, dir);
		kinds[kind]++;
		if (!dir.empty())
			kinds[kind + " " + dir]++;
	}
	return kinds;
}

Status LinkCapture::start(const std::string &netns, const std::string &dev, const std::string &pcap)
{
	using namespace std::chrono_literals;
	pcap_ = pcap;
	std::string log = pcap + ".log";
	// -B: a 16 MB buffer, so a burst is not dropped before it is written;
	// --immediate-mode: each packet reaches tcpdump at once, not when a
	// ring block times out (the last second would be lost at SIGINT).
	auto child = Child::spawn({"ip", "netns", "exec", netns, "tcpdump", "-i", dev, "-n", "-U", "-B", "16384",
				   "--immediate-mode", "-Z", "root", "-w", pcap},
				  log);
	if (!child)
		return child.error();
	tcpdump_ = std::move(*child);
	for (int i = 0; i < 200; i++) {
		std::ifstream f(log);
		std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
		if (text.find("listening on") != std::string::npos)
			return {};
		std::this_thread::sleep_for(50ms);
	}
	return plain_error("tcpdump did not start", log);
}

Result<std::vector<Frame>> LinkCapture::stop()
{
	if (!tcpdump_)
		return plain_error("no capture running");
	tcpdump_->stop(SIGINT, 5000);
	tcpdump_.reset();
	std::string why;
	auto frames = read_pcap(pcap_, why);
	if (!why.empty())
		return plain_error(why, pcap_);
	return frames;
}

} // namespace steer::ike
