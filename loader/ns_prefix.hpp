// Config addresses as the ns/ library's prefixes.
#pragma once

#include <sys/socket.h>

#include "config.hpp"
#include "prefix.hpp"

namespace steer {

inline ns::Prefix prefix_of(const config::IpAddress &a, int len)
{
	return ns::Prefix{a.family, a.bytes, len};
}

inline ns::Prefix prefix_of(const config::Cidr &c)
{
	return prefix_of(c.address, c.prefix);
}

// The address as a host prefix (/32 or /128).
inline ns::Prefix host_of(const config::IpAddress &a)
{
	return prefix_of(a, a.family == AF_INET ? 32 : 128);
}

} // namespace steer
