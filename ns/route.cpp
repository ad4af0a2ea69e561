#include "route.hpp"

#include <netlink/route/nexthop.h>

#include "nl_session.hpp"

namespace steer::ns {

namespace {

std::string describe(const Route &r)
{
	std::string s = format_prefix(r.dst);
	if (r.gateway)
		s += " via " + format_address(*r.gateway);
	if (r.oif)
		s += " oif " + std::to_string(r.oif);
	return s + " table " + std::to_string(r.table);
}

// The libnl route for r; a single nexthop becomes RTA_GATEWAY/RTA_OIF.
Result<RoutePtr> make_route(const Route &r, uint8_t scope)
{
	RoutePtr route(rtnl_route_alloc());
	NlAddrPtr dst(to_nl_addr(r.dst));
	if (!route || !dst)
		return sys_error(ENOMEM, "allocate route", describe(r));
	rtnl_route_set_family(route.get(), r.family);
	if (int rc = rtnl_route_set_dst(route.get(), dst.get()); rc < 0)
		return sys_error(nle_to_errno(rc), "set route destination", describe(r));
	rtnl_route_set_table(route.get(), r.table);
	rtnl_route_set_protocol(route.get(), r.protocol);
	rtnl_route_set_scope(route.get(), scope);
	rtnl_route_set_type(route.get(), r.type);
	if (r.metric)
		rtnl_route_set_priority(route.get(), r.metric);
	if (r.prefsrc) {
		NlAddrPtr src(to_nl_addr(as_host(*r.prefsrc)));
		if (!src || rtnl_route_set_pref_src(route.get(), src.get()) < 0)
			return sys_error(EINVAL, "set route source", describe(r));
	}
	if (r.gateway || r.oif) {
		NexthopPtr nh(rtnl_route_nh_alloc());
		NlAddrPtr gw(r.gateway ? to_nl_addr(as_host(*r.gateway)) : nullptr);
		if (!nh || (r.gateway && !gw))
			return sys_error(ENOMEM, "allocate nexthop", describe(r));
		if (gw)
			rtnl_route_nh_set_gateway(nh.get(), gw.get());
		if (r.oif)
			rtnl_route_nh_set_ifindex(nh.get(), r.oif);
		rtnl_route_add_nexthop(route.get(), nh.release());  // the route owns it now
	}
	return route;
}

Route to_route(rtnl_route *rt)
{
	Route r;
	r.family = rtnl_route_get_family(rt);
	r.dst = from_nl_addr(rtnl_route_get_dst(rt), r.family);
	r.table = rtnl_route_get_table(rt);
	r.protocol = rtnl_route_get_protocol(rt);
	r.scope = rtnl_route_get_scope(rt);
	r.type = rtnl_route_get_type(rt);
	r.metric = rtnl_route_get_priority(rt);
	if (nl_addr *src = rtnl_route_get_pref_src(rt))
		r.prefsrc = as_host(from_nl_addr(src, r.family));
	if (rtnl_route_get_nnexthops(rt) > 0) {
		rtnl_nexthop *nh = rtnl_route_nexthop_n(rt, 0);
		r.oif = rtnl_route_nh_get_ifindex(nh);
		if (nl_addr *gw = rtnl_route_nh_get_gateway(nh))
			r.gateway = as_host(from_nl_addr(gw, r.family));
	}
	return r;
}

} // namespace

Status ensure_route(const Route &r)
{
	auto nl = NlSession::open();
	if (!nl)
		return nl.error();
	auto route = make_route(r, r.scope);
	if (!route)
		return route.error();
	return nl->run("add route", describe(r), [&](nl_sock *sk) {
		return rtnl_route_add(sk, route->get(), NLM_F_REPLACE);  // libnl adds NLM_F_CREATE
	});
}

Status delete_route(const Route &r)
{
	auto nl = NlSession::open();
	if (!nl)
		return nl.error();
	// RT_SCOPE_NOWHERE matches any scope, as `ip route del` does.
	auto route = make_route(r, RT_SCOPE_NOWHERE);
	if (!route)
		return route.error();
	Status st = nl->run("delete route", describe(r), [&](nl_sock *sk) {
		return rtnl_route_delete(sk, route->get(), 0);
	});
	// ESRCH: no such route; ENODEV: its link, and so the route, is gone.
	if (!st && (st.error().err == ESRCH || st.error().err == ENODEV || st.error().err == ENOENT))
		return {};
	return st;
}

Result<std::vector<Route>> list_routes(int family, uint32_t table, uint8_t protocol)
{
	auto nl = NlSession::open();
	if (!nl)
		return nl.error();
	nl_cache *raw = nullptr;
	Status st = nl->run("list routes", {}, [&](nl_sock *sk) {
		return rtnl_route_alloc_cache(sk, family, 0, &raw);
	});
	NlCachePtr cache(raw);
	if (!st)
		return st.error();
	std::vector<Route> out;
	for (nl_object *o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
		Route r = to_route(reinterpret_cast<rtnl_route *>(o));
		// AF_UNSPEC dumps multicast (IPMR) and MPLS routes too: not ours.
		bool family_ok = family == AF_UNSPEC ? (r.family == AF_INET || r.family == AF_INET6)
						     : r.family == family;
		if (family_ok && (!table || r.table == table) && (!protocol || r.protocol == protocol))
			out.push_back(r);
	}
	return out;
}

} // namespace steer::ns
