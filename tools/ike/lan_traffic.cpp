#include "lan_traffic.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <vector>

#include "fd.hpp"
#include "netns.hpp"

namespace steer::ike {

namespace {

using Clock = std::chrono::steady_clock;

Result<Fd> socket_in(const std::string &netns, int domain, int type, int proto)
{
	Fd fd;
	Status st = ns::run_in_netns(netns, [&]() -> Status {
		fd.reset(::socket(domain, type | SOCK_CLOEXEC, proto));
		return fd.valid() ? Status{} : sys_error(errno, "socket", netns);
	});
	if (!st)
		return st.error();
	return Result<Fd>(std::move(fd));
}

// An IPv4 or IPv6 socket address of `addr` (numeric) and `port`.
struct SockAddr {
	sockaddr_storage ss{};
	socklen_t len = 0;
	int family() const { return ss.ss_family; }
	const sockaddr *get() const { return reinterpret_cast<const sockaddr *>(&ss); }
};

Result<SockAddr> sock_addr(const std::string &addr, uint16_t port)
{
	SockAddr a;
	auto *v4 = reinterpret_cast<sockaddr_in *>(&a.ss);
	auto *v6 = reinterpret_cast<sockaddr_in6 *>(&a.ss);
	if (inet_pton(AF_INET, addr.c_str(), &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		a.len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, addr.c_str(), &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		a.len = sizeof(*v6);
	} else {
		return plain_error("not an IP address", addr);
	}
	return a;
}

uint16_t inet_checksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += static_cast<uint32_t>(p[n - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return static_cast<uint16_t>(~sum);
}

int remaining_ms(Clock::time_point deadline)
{
	auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
	return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

} // namespace

Result<int> ping(const std::string &netns, const std::string &dst, int count,
		 std::chrono::milliseconds wait)
{
	auto to = sock_addr(dst, 0);
	if (!to)
		return to.error();
	const bool v6 = to->family() == AF_INET6;
	// ICMPv6 raw sockets get no IP header and have the kernel fill in the
	// checksum (it covers a pseudo-header); ICMP ones are read with theirs.
	auto fd = socket_in(netns, to->family(), SOCK_RAW, v6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP});
	if (!fd)
		return fd.error();
	const uint8_t echo = v6 ? uint8_t{ICMP6_ECHO_REQUEST} : uint8_t{ICMP_ECHO};
	const uint8_t reply = v6 ? uint8_t{ICMP6_ECHO_REPLY} : uint8_t{ICMP_ECHOREPLY};
	const uint16_t id = static_cast<uint16_t>(::getpid() ^ 0x5157);
	int replies = 0;
	for (int seq = 1; seq <= count; seq++) {
		uint8_t req[64] = {echo, 0};
		req[4] = id >> 8, req[5] = id & 0xff, req[6] = seq >> 8, req[7] = seq & 0xff;
		for (size_t i = 8; i < sizeof(req); i++)
			req[i] = static_cast<uint8_t>(i);
		if (!v6) {
			uint16_t sum = inet_checksum(req, sizeof(req));
			req[2] = sum >> 8, req[3] = sum & 0xff;
		}
		if (::sendto(fd->get(), req, sizeof(req), 0, to->get(), to->len) !=
		    static_cast<ssize_t>(sizeof(req)))
			return sys_error(errno, "send ICMP echo", dst);
		auto deadline = Clock::now() + wait;
		for (;;) {
			pollfd pfd{fd->get(), POLLIN, 0};
			if (::poll(&pfd, 1, remaining_ms(deadline)) <= 0)
				break;
			uint8_t buf[1500];
			ssize_t n = ::recv(fd->get(), buf, sizeof(buf), 0);
			size_t hl = v6 ? 0 : static_cast<size_t>(buf[0] & 0x0f) * 4;
			if (n < 8 || static_cast<size_t>(n) < hl + 8)
				continue;
			const uint8_t *icmp = buf + hl;
			if (icmp[0] == reply && (icmp[4] << 8 | icmp[5]) == id &&
			    (icmp[6] << 8 | icmp[7]) == seq) {
				replies++;
				break;
			}
		}
	}
	return replies;
}

std::string transfer_pattern(const std::string &marker, size_t bytes)
{
	std::string out;
	out.reserve(bytes + marker.size() + 16);
	for (unsigned i = 0; out.size() < bytes; i++)
		out += marker + std::to_string(i) + "\n";
	out.resize(bytes);
	return out;
}

Result<TransferResult> tcp_transfer(const std::string &from_ns, const std::string &to_ns,
				    const std::string &dst, uint16_t port, size_t bytes,
				    const std::string &marker, std::chrono::milliseconds timeout)
{
	const auto start = Clock::now();
	const auto deadline = start + timeout;
	const std::string data = transfer_pattern(marker, bytes);
	auto addr = sock_addr(dst, port);
	if (!addr)
		return addr.error();
	auto listener = socket_in(to_ns, addr->family(), SOCK_STREAM, 0);
	if (!listener)
		return listener.error();
	int one = 1;
	::setsockopt(listener->get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (::bind(listener->get(), addr->get(), addr->len) != 0 ||
	    ::listen(listener->get(), 1) != 0)
		return sys_error(errno, "listen", dst + ":" + std::to_string(port));

	// The receiver: accept one connection, read to EOF, compare.
	auto received = std::async(std::launch::async, [&]() -> Result<TransferResult> {
		pollfd pfd{listener->get(), POLLIN, 0};
		if (::poll(&pfd, 1, remaining_ms(deadline)) <= 0)
			return plain_error("no connection arrived", dst);
		Fd conn(::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
		if (!conn.valid())
			return sys_error(errno, "accept", dst);
		TransferResult r;
		r.intact = true;
		std::vector<char> buf(65536);
		for (;;) {
			pollfd cp{conn.get(), POLLIN, 0};
			if (::poll(&cp, 1, remaining_ms(deadline)) <= 0)
				return plain_error("transfer stalled after " + std::to_string(r.received) +
						   " bytes", dst);
			ssize_t n = ::recv(conn.get(), buf.data(), buf.size(), 0);
			if (n < 0)
				return sys_error(errno, "recv", dst);
			if (n == 0)
				break;
			size_t k = static_cast<size_t>(n);
			if (r.received + k > data.size() ||
			    std::memcmp(buf.data(), data.data() + r.received, k) != 0)
				r.intact = false;
			r.received += k;
		}
		r.intact = r.intact && r.received == data.size();
		return r;
	});

	auto client = socket_in(from_ns, addr->family(), SOCK_STREAM, 0);
	if (!client)
		return client.error();
	timeval tv{static_cast<time_t>(timeout.count() / 1000),
		   static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
	::setsockopt(client->get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	Status sent;
	if (::connect(client->get(), addr->get(), addr->len) != 0) {
		sent = sys_error(errno, "connect", dst + ":" + std::to_string(port));
	} else {
		for (size_t off = 0; off < data.size();) {
			ssize_t n = ::send(client->get(), data.data() + off, data.size() - off, MSG_NOSIGNAL);
			if (n <= 0) {
				sent = sys_error(errno, "send after " + std::to_string(off) + " bytes", dst);
				break;
			}
			off += static_cast<size_t>(n);
		}
	}
	client->reset(); // close: the receiver sees EOF
	if (!sent) {
		(void)received.get(); // returns by the deadline at the latest
		return sent.error();
	}
	auto r = received.get();
	if (!r)
		return r.error();
	r->seconds = std::chrono::duration<double>(Clock::now() - start).count();
	return r;
}

Result<int> udp_datagrams(const std::string &from_ns, const std::string &to_ns, const std::string &dst,
			  uint16_t port, int count, std::chrono::milliseconds wait, std::set<std::string> *sources)
{
	auto to = sock_addr(dst, port);
	if (!to)
		return to.error();
	auto rx = socket_in(to_ns, to->family(), SOCK_DGRAM, 0);
	auto tx = socket_in(from_ns, to->family(), SOCK_DGRAM, 0);
	if (!rx || !tx)
		return rx ? tx.error() : rx.error();
	if (::bind(rx->get(), to->get(), to->len) != 0)
		return sys_error(errno, "bind", dst + " port " + std::to_string(port) + " in " + to_ns);
	const char payload[] = "ipsec-steer udp probe";
	for (int i = 0; i < count; i++)
		if (::sendto(tx->get(), payload, sizeof(payload), 0, to->get(), to->len) < 0)
			return sys_error(errno, "sendto", dst);
	int received = 0;
	const auto deadline = Clock::now() + wait;
	while (received < count) {
		pollfd p{rx->get(), POLLIN, 0};
		if (::poll(&p, 1, remaining_ms(deadline)) <= 0)
			break;
		char buf[64];
		sockaddr_storage from{};
		socklen_t len = sizeof(from);
		if (::recvfrom(rx->get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr *>(&from), &len) < 0)
			continue;
		received++;
		char text[INET6_ADDRSTRLEN] = "";
		const void *a = from.ss_family == AF_INET
					? static_cast<const void *>(&reinterpret_cast<sockaddr_in *>(&from)->sin_addr)
					: static_cast<const void *>(&reinterpret_cast<sockaddr_in6 *>(&from)->sin6_addr);
		if (sources && inet_ntop(from.ss_family, a, text, sizeof(text)))
			sources->insert(text);
	}
	return received;
}

} // namespace steer::ike
