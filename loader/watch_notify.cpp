#include "watch_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <cstring>

namespace steer {

namespace {

// The socket address of NOTIFY_SOCKET; a leading '@' names an abstract
// socket (a NUL first byte). Returns its length, 0 when it does not fit.
socklen_t to_sockaddr(const std::string &address, sockaddr_un &sun)
{
	sun = {};
	sun.sun_family = AF_UNIX;
	if (address.size() >= sizeof(sun.sun_path))
		return 0;
	std::memcpy(sun.sun_path, address.data(), address.size());
	if (address[0] == '@')
		sun.sun_path[0] = '\0';
	return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
}

} // namespace

Result<ServiceNotifier> ServiceNotifier::from_environment()
{
	ServiceNotifier n;
	const char *env = std::getenv("NOTIFY_SOCKET");
	if (!env || !*env)
		return n;
	n.address_ = env;
	if (n.address_[0] != '/' && n.address_[0] != '@')
		return plain_error("NOTIFY_SOCKET is neither a path nor an abstract socket", n.address_);
	n.fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	if (!n.fd_.valid())
		return sys_error(errno, "open notification socket");
	return n;
}

Status ServiceNotifier::send(const std::string &state) const
{
	if (!enabled())
		return {};
	sockaddr_un sun{};
	socklen_t len = to_sockaddr(address_, sun);
	if (len == 0)
		return plain_error("NOTIFY_SOCKET too long", address_);
	ssize_t n = ::sendto(fd_.get(), state.data(), state.size(), MSG_NOSIGNAL,
			     reinterpret_cast<const sockaddr *>(&sun), len);
	if (n < 0)
		return sys_error(errno, "notify service manager", address_);
	return {};
}

} // namespace steer
