#include "lab.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "netns.hpp"

namespace steer::lab {

Status sh(const std::string &cmd)
{
	int rc = std::system(cmd.c_str());
	if (rc != 0)
		return plain_error("command failed (status " + std::to_string(rc) + ")", cmd);
	return {};
}

Namespaces::Namespaces(std::string prefix)
	: prefix_(std::move(prefix) + std::to_string(::getpid()) + "-")
{
}

Namespaces::~Namespaces()
{
	for (auto it = created_.rbegin(); it != created_.rend(); ++it)
		delete_netns(*it);
}

Status Namespaces::add(const std::string &role)
{
	std::string n = name(role);
	delete_netns(n);
	if (Status st = sh("ip netns add " + n); !st)
		return st;
	created_.push_back(n);
	return ip(role, "link set lo up");
}

std::string Namespaces::name(const std::string &role) const
{
	return prefix_ + role;
}

Status Namespaces::ip(const std::string &role, const std::string &args) const
{
	return sh("ip -n " + name(role) + " " + args);
}

void delete_netns(const std::string &name)
{
	if (!ns::netns_exists(name))
		return;
	// Only processes inside this namespace, which the lab started.
	std::string pids = "ip netns pids " + name + " 2>/dev/null";
	(void)sh("for p in $(" + pids + "); do kill -9 $p; done 2>/dev/null");
	(void)sh("ip netns del " + name + " 2>/dev/null");
}

Result<PacketSocket> PacketSocket::open(const std::string &netns, const std::string &ifname)
{
	PacketSocket s;
	Status st = ns::run_in_netns(netns, [&]() -> Status {
		s.fd_.reset(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
		if (!s.fd_.valid())
			return sys_error(errno, "AF_PACKET socket", ifname);
		s.ifindex_ = static_cast<int>(::if_nametoindex(ifname.c_str()));
		if (s.ifindex_ == 0)
			return sys_error(errno, "no such interface", netns + "/" + ifname);
		sockaddr_ll sll{};
		sll.sll_family = AF_PACKET;
		sll.sll_protocol = htons(ETH_P_ALL);
		sll.sll_ifindex = s.ifindex_;
		if (::bind(s.fd_.get(), reinterpret_cast<sockaddr *>(&sll), sizeof(sll)) != 0)
			return sys_error(errno, "bind AF_PACKET", ifname);
		return {};
	});
	if (!st)
		return st.error();
	return s;
}

Status PacketSocket::send(const std::vector<uint8_t> &frame) const
{
	sockaddr_ll sll{};
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = ifindex_;
	sll.sll_halen = ETH_ALEN;
	ssize_t n = ::sendto(fd_.get(), frame.data(), frame.size(), 0,
			     reinterpret_cast<sockaddr *>(&sll), sizeof(sll));
	if (n != static_cast<ssize_t>(frame.size()))
		return sys_error(errno, "send frame of " + std::to_string(frame.size()) + " bytes");
	return {};
}

std::vector<std::vector<uint8_t>> PacketSocket::drain(std::chrono::milliseconds quiet) const
{
	std::vector<std::vector<uint8_t>> out;
	std::vector<uint8_t> buf(65536);
	pollfd pfd{fd_.get(), POLLIN, 0};
	while (::poll(&pfd, 1, static_cast<int>(quiet.count())) > 0) {
		sockaddr_ll from{};
		socklen_t len = sizeof(from);
		ssize_t n = ::recvfrom(fd_.get(), buf.data(), buf.size(), 0,
				       reinterpret_cast<sockaddr *>(&from), &len);
		if (n < 0)
			break;
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		out.emplace_back(buf.begin(), buf.begin() + n);
	}
	return out;
}

Result<std::vector<uint8_t>> mac_of(const std::string &netns, const std::string &ifname)
{
	std::vector<uint8_t> mac(6);
	Status st = ns::run_in_netns(netns, [&]() -> Status {
		Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
		ifreq ifr{};
		std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
		if (!fd.valid() || ::ioctl(fd.get(), SIOCGIFHWADDR, &ifr) != 0)
			return sys_error(errno, "read MAC", netns + "/" + ifname);
		std::memcpy(mac.data(), ifr.ifr_hwaddr.sa_data, 6);
		return {};
	});
	if (!st)
		return st.error();
	return mac;
}

} // namespace steer::lab
