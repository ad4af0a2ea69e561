// The router's end of a gateway: ist-<name>, and the `ip rule` + table that
// steer each configured (local, remote) pair of cleartext into the gateway.
#include <linux/if_addr.h>
#include <sys/socket.h>

#include <algorithm>
#include <set>

#include "addr.hpp"
#include "crash_point.hpp"
#include "gateway_side.hpp"
#include "link.hpp"
#include "netns.hpp"
#include "route.hpp"
#include "rule.hpp"
#include "sysctl.hpp"

namespace steer {

namespace {

std::vector<ns::Rule> wanted_rules(const GatewayPlan &p)
{
	std::vector<ns::Rule> out;
	for (const auto &r : p.gateway->routes)
		out.push_back({r.local.address.family, prefix_of(r.local), prefix_of(r.remote), p.table,
			       rule_priority, route_protocol});
	return out;
}

std::vector<ns::Route> wanted_table(const GatewayPlan &p, int router_ifindex)
{
	std::vector<ns::Route> out;
	int family = p.link.gateway_end.family;
	for (const auto &r : p.gateway->routes) {
		if (r.remote.address.family != family)
			continue;
		ns::Route route{};
		route.family = family;
		route.dst = prefix_of(r.remote);
		route.gateway = host_of(p.link.gateway_end);
		route.oif = router_ifindex;
		route.table = p.table;
		route.protocol = route_protocol;
		bool dup = std::any_of(out.begin(), out.end(),
				       [&](const ns::Route &o) { return o.dst == route.dst; });
		if (!dup)
			out.push_back(route);
	}
	return out;
}

Status ensure_router_sysctls(const GatewayPlan &p)
{
	if (p.gateway->egress != config::Egress::route)
		return {};
	// The namespace sends with the router's own public address as source:
	// accept it on this link, and check reverse paths loosely.
	const std::string conf = "net.ipv4.conf." + p.router_link + ".";
	if (Status st = ns::set_sysctl(conf + "accept_local", "1"); !st)
		return st;
	return ns::set_sysctl(conf + "rp_filter", "2");
}

Status sweep_rules(const GatewayPlan &p, const std::vector<ns::Rule> &want)
{
	for (int family : {AF_INET, AF_INET6}) {
		auto have = ns::list_rules(family, route_protocol);
		if (!have)
			return have.error();
		for (const auto &r : *have)
			if (r.table == p.table && std::find(want.begin(), want.end(), r) == want.end())
				if (Status st = ns::delete_rule(r); !st)
					return st;
	}
	return {};
}

Status sweep_table(const GatewayPlan &p, const std::vector<ns::Route> &want)
{
	for (int family : {AF_INET, AF_INET6}) {
		auto have = ns::list_routes(family, p.table, route_protocol);
		if (!have)
			return have.error();
		for (const auto &r : *have) {
			bool wanted = std::any_of(want.begin(), want.end(), [&](const ns::Route &w) {
				return w.dst == r.dst && w.oif == r.oif;
			});
			if (!wanted)
				if (Status st = ns::delete_route(r); !st)
					return st;
		}
	}
	return {};
}

} // namespace

Status ensure_router_side(const GatewayPlan &p, int router_ifindex)
{
	if (Status st = ns::set_link_alias(router_ifindex, p.alias); !st)
		return st;
	ns::Prefix addr = prefix_of(p.link.router_end, p.link.subnet.prefix);
	// No DAD: a tentative link address cannot be a route's source yet.
	if (Status st = ns::ensure_address(router_ifindex, addr, IFA_F_NODAD); !st)
		return st;
	crash_point("router_address");
	if (Status st = ns::set_link_up(router_ifindex, true); !st)
		return st;
	if (Status st = ensure_router_sysctls(p); !st)
		return st;
	auto rules = wanted_rules(p);
	auto table = wanted_table(p, router_ifindex);
	for (const auto &r : table)
		if (Status st = ns::ensure_route(r); !st)
			return st;
	crash_point("router_routes");
	for (const auto &r : rules)
		if (Status st = ns::ensure_rule(r); !st)
			return st;
	crash_point("router_rules");
	if (Status st = sweep_rules(p, rules); !st)
		return st;
	return sweep_table(p, table);
}

Result<std::vector<std::string>> owned_gateways()
{
	auto links = ns::list_links();
	if (!links)
		return links.error();
	std::vector<std::string> names;
	for (const auto &l : *links)
		if (l.alias.rfind(alias_prefix, 0) == 0 && l.name.rfind("ist-", 0) == 0)
			names.push_back(l.alias.substr(std::string(alias_prefix).size()));
	return names;
}

Status mark_gateway_netns(const std::string &gateway)
{
	constexpr int loopback_ifindex = 1;  // lo is always 1 in a namespace
	return ns::set_link_alias(loopback_ifindex, alias_prefix + gateway);
}

std::vector<std::string> marked_gateway_netns()
{
	std::vector<std::string> marked;
	for (const auto &name : ns::list_netns()) {
		bool ours = false;
		(void)ns::run_in_netns(name, [&]() -> Status {
			auto lo = ns::find_link(1);
			ours = lo && *lo && (*lo)->alias.rfind(alias_prefix, 0) == 0;
			return {};
		});
		if (ours)
			marked.push_back(name);
	}
	return marked;
}

Status remove_marked_gateway_netns(const std::string &netns)
{
	// Deleting our end of the veth deletes the router's end at once;
	// leaving it to the namespace's (asynchronous) teardown would not.
	Status st = ns::run_in_netns(netns, [] {
		auto eth0 = ns::find_link("eth0");
		if (!eth0)
			return Status(eth0.error());
		return *eth0 ? ns::delete_link("eth0") : Status{};
	});
	return st ? ns::delete_netns(netns) : st;
}

Status remove_gateway_objects(const std::string &name)
{
	const std::string link_name = "ist-" + name;
	auto link = ns::find_link(link_name);
	if (!link)
		return link.error();
	if (*link) {
		std::set<uint32_t> tables;
		for (int family : {AF_INET, AF_INET6}) {
			auto routes = ns::list_routes(family, 0, route_protocol);
			if (!routes)
				return routes.error();
			for (const auto &r : *routes)
				if (r.oif == (*link)->ifindex)
					tables.insert(r.table);
			auto rules = ns::list_rules(family, route_protocol);
			if (!rules)
				return rules.error();
			for (const auto &r : *rules)
				if (tables.count(r.table))
					if (Status st = ns::delete_rule(r); !st)
						return st;
		}
		crash_point("gateway_rules_removed");
		// Deleting one end of a veth deletes both, and the routes via it.
		if (Status st = ns::delete_link(link_name); !st)
			return st;
		crash_point("gateway_link_removed");
	}
	return ns::delete_netns(name);
}

} // namespace steer
