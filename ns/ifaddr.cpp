#include "ifaddr.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstring>

namespace steer::ns {

Result<int> interface_index(const std::string &name)
{
	unsigned idx = ::if_nametoindex(name.c_str());
	if (idx == 0)
		return sys_error(errno, "no such interface", name);
	return static_cast<int>(idx);
}

Result<std::vector<InterfaceAddress>> interface_addresses(const std::string &name)
{
	ifaddrs *list = nullptr;
	if (::getifaddrs(&list) != 0)
		return sys_error(errno, "list interface addresses");
	std::vector<InterfaceAddress> out;
	for (ifaddrs *i = list; i; i = i->ifa_next) {
		if (!i->ifa_addr || name != i->ifa_name)
			continue;
		InterfaceAddress a;
		a.family = i->ifa_addr->sa_family;
		if (a.family == AF_INET)
			std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in *>(i->ifa_addr)->sin_addr, 4);
		else if (a.family == AF_INET6)
			std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in6 *>(i->ifa_addr)->sin6_addr, 16);
		else
			continue;
		out.push_back(a);
	}
	::freeifaddrs(list);
	return out;
}

} // namespace steer::ns
