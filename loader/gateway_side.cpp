#include "gateway_side.hpp"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "addr.hpp"
#include "crash_point.hpp"
#include "firewall.hpp"
#include "link.hpp"
#include "neigh.hpp"
#include "netns.hpp"
#include "route.hpp"
#include "rule.hpp"
#include "sysctl.hpp"

namespace steer {

namespace {

Result<ns::LinkInfo> need_link(const std::string &name)
{
	auto link = ns::find_link(name);
	if (!link)
		return link.error();
	if (!*link)
		return sys_error(ENODEV, "find link", name);
	return **link;
}

// The namespace's eth0 must be the peer of our router end, or the pair is
// rebuilt (the namespace may have been deleted and re-created).
Result<bool> pair_intact(const GatewayPlan &p, int router_ifindex)
{
	bool intact = false;
	Status st = ns::run_in_netns(p.netns, [&]() -> Status {
		auto eth0 = ns::find_link("eth0");
		if (!eth0)
			return eth0.error();
		intact = *eth0 && (*eth0)->peer_ifindex == router_ifindex;
		return {};
	});
	if (!st)
		return st.error();
	return intact;
}

} // namespace

Result<PublicSide> read_public_side(const std::string &router_netns, const std::string &ifname)
{
	PublicSide pub;
	Status st = ns::run_in_netns(router_netns, [&]() -> Status {
		auto here = read_public_side_here(ifname);
		if (!here)
			return plain_error(here.error().what +
					   (router_netns.empty() ? "" : " in namespace " + router_netns));
		pub = *here;
		return {};
	});
	if (!st)
		return st.error();
	return pub;
}

Result<PublicSide> read_public_side_here(const std::string &ifname)
{
	auto link = need_link(ifname);
	if (!link)
		return plain_error("public_interface " + ifname + " does not exist");
	return PublicSide{link->ifindex, link->mac};
}

// Runs in the router namespace.
Result<int> ensure_gateway_link(const GatewayPlan &p)
{
	const std::string &gateway = p.gateway->name;
	if (Status st = ns::create_netns(p.netns, [&] { return mark_gateway_netns(gateway); }); !st)
		return st.error();
	crash_point("netns_created");
	auto link = ns::find_link(p.router_link);
	if (!link)
		return link.error();
	if (*link) {
		auto intact = pair_intact(p, (*link)->ifindex);
		if (!intact)
			return intact.error();
		if (*intact)
			return (*link)->ifindex;
		if (Status st = ns::delete_link(p.router_link); !st)
			return st.error();
	}
	if (Status st = ns::create_veth(p.router_link, "eth0", p.netns); !st)
		return st.error();
	crash_point("veth_created");
	auto created = need_link(p.router_link);
	if (!created)
		return created.error();
	return created->ifindex;
}

namespace {

Status ensure_inside_sysctls(int family)
{
	// Forward decrypted traffic to the router; never filter by reverse path
	// (decrypted packets arrive on the IKE daemon's device, not eth0).
	const char *keys[][2] = {
		{"net.ipv4.ip_forward", "1"},
		{"net.ipv4.conf.all.rp_filter", "0"},
		{"net.ipv4.conf.default.rp_filter", "0"},
		{"net.ipv4.conf.eth0.rp_filter", "0"},
		{"net.ipv6.conf.all.forwarding", "1"},
		{"net.ipv6.conf.eth0.accept_dad", "0"},
	};
	for (const auto &kv : keys) {
		if (family == AF_INET && std::string(kv[0]).find("ipv6") != std::string::npos)
			continue;
		if (Status st = ns::set_sysctl(kv[0], kv[1]); !st)
			return st;
	}
	return {};
}

Status ensure_eth0(const GatewayPlan &p, const PublicSide &pub, const ns::LinkInfo &eth0)
{
	// The MAC first: changing it flushes neighbours, even permanent ones.
	if (eth0.mac != pub.mac) {
		if (Status st = ns::set_link_up(eth0.ifindex, false); !st)
			return st;
		if (Status st = ns::set_link_mac(eth0.ifindex, pub.mac); !st)
			return st;
		crash_point("mac_set");
	}
	if (Status st = ns::set_link_alias(eth0.ifindex, p.alias); !st)
		return st;
	const auto &gw = *p.gateway;
	if (Status st = ns::ensure_address(eth0.ifindex, host_of(gw.public_address), IFA_F_NODAD); !st)
		return st;
	if (Status st = ns::ensure_address(eth0.ifindex, prefix_of(p.link.gateway_end, p.link.subnet.prefix), IFA_F_NODAD); !st)
		return st;
	crash_point("gateway_addresses");
	return ns::set_link_up(eth0.ifindex, true);
}

Status ensure_inside_routes(const GatewayPlan &p, int eth0, const std::array<uint8_t, 6> &router_mac)
{
	int family = p.link.router_end.family;
	ns::Prefix via = host_of(p.link.router_end);
	if (Status st = ns::ensure_permanent_neighbour(eth0, via, router_mac); !st)
		return st;
	crash_point("neighbour_added");
	ns::Route def{};
	def.family = family;
	def.dst = ns::Prefix{family, {}, 0};
	def.gateway = via;
	def.oif = eth0;
	def.protocol = route_protocol;
	if (Status st = ns::ensure_route(def); !st)
		return st;
	crash_point("gateway_default_route");
	// ICMP errors about cleartext must not leave with the public source.
	for (const auto &r : p.gateway->routes) {
		ns::Route local = def;
		local.family = r.local.address.family;
		local.dst = prefix_of(r.local);
		local.prefsrc = host_of(p.link.gateway_end);
		if (local.family != family)
			continue;
		if (Status st = ns::ensure_route(local); !st)
			return st;
	}
	return {};
}

} // namespace

// Runs in the router namespace; switches into the gateway's for its side.
Status ensure_gateway_inside(const GatewayPlan &p, const PublicSide &pub, int router_ifindex)
{
	auto router_end = ns::find_link(router_ifindex);
	if (!router_end || !*router_end)
		return router_end ? sys_error(ENODEV, "find link", p.router_link) : router_end.error();
	std::array<uint8_t, 6> router_mac = (*router_end)->mac;
	return ns::run_in_netns(p.netns, [&]() -> Status {
		auto lo = need_link("lo");
		auto eth0 = need_link("eth0");
		if (!lo || !eth0)
			return lo ? eth0.error() : lo.error();
		if (Status st = ns::set_link_up(lo->ifindex, true); !st)
			return st;
		if (Status st = ensure_inside_sysctls(p.gateway->public_address.family); !st)
			return st;
		crash_point("gateway_sysctls");
		if (Status st = ensure_eth0(p, pub, *eth0); !st)
			return st;
		if (Status st = ensure_inside_routes(p, eth0->ifindex, router_mac); !st)
			return st;
		return apply_gateway_firewall(*p.gateway);
	});
}

} // namespace steer
