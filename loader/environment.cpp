#include "environment.hpp"

#include <sys/socket.h>

#include <algorithm>

#include "ifaddr.hpp"
#include "netns.hpp"

namespace steer {

namespace {

bool has_address(const std::vector<ns::InterfaceAddress> &addrs, const config::IpAddress &want)
{
	size_t n = want.family == AF_INET ? 4 : 16;
	return std::any_of(addrs.begin(), addrs.end(), [&](const ns::InterfaceAddress &a) {
		return a.family == want.family && std::equal(a.bytes.begin(), a.bytes.begin() + n, want.bytes.begin());
	});
}

Status check_gateway(const config::Config &cfg, const config::Gateway &gw)
{
	if (!gw.router_netns.empty() && !ns::netns_exists(gw.router_netns))
		return config::error_at(cfg, gw.netns_pos, "router_netns \"" + gw.router_netns +
				"\" does not exist; create it (ip netns add " + gw.router_netns +
				") or fix router_netns");
	std::string where = gw.router_netns.empty() ? "" : " in namespace " + gw.router_netns;
	return ns::run_in_netns(gw.router_netns, [&]() -> Status {
		if (!ns::interface_index(gw.public_interface))
			return config::error_at(cfg, gw.interface_pos, "public_interface \"" + gw.public_interface +
					"\" does not exist" + where + "; name an existing interface");
		auto addrs = ns::interface_addresses(gw.public_interface);
		if (!addrs || !has_address(*addrs, gw.public_address))
			return config::error_at(cfg, gw.address_pos, "public_address " + gw.public_address.text +
					" is not an address of " + gw.public_interface + where +
					"; add it (ip addr add " + gw.public_address.text + "/<len> dev " +
					gw.public_interface + ") or fix public_address");
		return {};
	});
}

} // namespace

Status validate_environment(const config::Config &cfg)
{
	for (const auto &gw : cfg.gateways)
		if (Status st = check_gateway(cfg, gw); !st)
			return st;
	return {};
}

} // namespace steer
