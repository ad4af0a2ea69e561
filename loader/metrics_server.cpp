#include "metrics_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>

namespace steer {

namespace {

// "HOST:PORT" or "[V6]:PORT" -> socket address.
Result<sockaddr_storage> parse_listen(const std::string &where, socklen_t &len)
{
	size_t colon = where.rfind(':');
	if (colon == std::string::npos)
		return plain_error("--metrics wants ADDR:PORT, e.g. 127.0.0.1:9573", where);
	std::string host = where.substr(0, colon), port_text = where.substr(colon + 1);
	char *end = nullptr;
	unsigned long port = std::strtoul(port_text.c_str(), &end, 10);
	if (port_text.empty() || *end || port > 65535)
		return plain_error("--metrics: bad port (0-65535)", where);
	sockaddr_storage ss{};
	auto *v4 = reinterpret_cast<sockaddr_in *>(&ss);
	auto *v6 = reinterpret_cast<sockaddr_in6 *>(&ss);
	if (host.size() > 2 && host.front() == '[' && host.back() == ']')
		host = host.substr(1, host.size() - 2);
	if (host.empty() || inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(static_cast<uint16_t>(port));
		len = sizeof(*v6);
	} else if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(static_cast<uint16_t>(port));
		len = sizeof(*v4);
	} else {
		return plain_error("--metrics: not a numeric IPv4 or IPv6 address", host);
	}
	return ss;
}

std::string address_text(const sockaddr_storage &ss)
{
	char host[INET6_ADDRSTRLEN] = "";
	if (ss.ss_family == AF_INET) {
		const auto *v4 = reinterpret_cast<const sockaddr_in *>(&ss);
		inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
		return std::string(host) + ":" + std::to_string(ntohs(v4->sin_port));
	}
	const auto *v6 = reinterpret_cast<const sockaddr_in6 *>(&ss);
	inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
	return "[" + std::string(host) + "]:" + std::to_string(ntohs(v6->sin6_port));
}

void send_all(int fd, const std::string &data)
{
	for (size_t off = 0; off < data.size();) {
		ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		off += static_cast<size_t>(n);
	}
}

std::string response(int code, const char *reason, const std::string &body)
{
	return "HTTP/1.0 " + std::to_string(code) + " " + reason +
	       "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: " +
	       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

} // namespace

Result<MetricsServer> MetricsServer::listen(const std::string &where)
{
	socklen_t len = 0;
	auto ss = parse_listen(where, len);
	if (!ss)
		return ss.error();
	Fd fd(::socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	if (!fd.valid())
		return sys_error(errno, "metrics socket", where);
	int one = 1;
	::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&*ss), len) != 0)
		return sys_error(errno, "bind metrics address (in use? another port?)", where);
	if (::listen(fd.get(), 8) != 0)
		return sys_error(errno, "listen", where);
	sockaddr_storage bound{};
	socklen_t blen = sizeof(bound);
	::getsockname(fd.get(), reinterpret_cast<sockaddr *>(&bound), &blen);
	return MetricsServer(std::move(fd), address_text(bound));
}

void MetricsServer::serve_one(const std::function<Result<std::string>()> &body) const
{
	Fd conn(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
	if (!conn.valid())
		return;
	// A client that sends nothing must not stall the watch loop.
	timeval tv{1, 0};
	::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	std::string request;
	char buf[1024];
	while (request.find("\r\n\r\n") == std::string::npos && request.size() < 8192) {
		ssize_t n = ::recv(conn.get(), buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		request.append(buf, static_cast<size_t>(n));
	}
	if (request.rfind("GET /metrics ", 0) != 0 && request.rfind("GET /metrics?", 0) != 0) {
		send_all(conn.get(), response(404, "Not Found", "try /metrics\n"));
		return;
	}
	auto text = body();
	send_all(conn.get(), text ? response(200, "OK", *text)
				  : response(503, "Service Unavailable", text.error().message() + "\n"));
}

} // namespace steer
