#include "neigh.hpp"

#include <linux/neighbour.h>

#include "nl_session.hpp"

namespace steer::ns {

namespace {

std::string describe(int ifindex, const Prefix &ip)
{
	return format_address(ip) + " on ifindex " + std::to_string(ifindex);
}

Result<NeighPtr> make_neigh(int ifindex, const Prefix &ip)
{
	NeighPtr n(rtnl_neigh_alloc());
	NlAddrPtr dst(to_nl_addr(as_host(ip)));
	if (!n || !dst)
		return sys_error(ENOMEM, "allocate neighbour", describe(ifindex, ip));
	rtnl_neigh_set_ifindex(n.get(), ifindex);
	if (int rc = rtnl_neigh_set_dst(n.get(), dst.get()); rc < 0)
		return sys_error(nle_to_errno(rc), "set neighbour address", describe(ifindex, ip));
	return n;
}

} // namespace

Status ensure_permanent_neighbour(int ifindex, const Prefix &ip, const std::array<uint8_t, 6> &mac)
{
	auto nl = NlSession::open();
	if (!nl)
		return nl.error();
	auto n = make_neigh(ifindex, ip);
	NlAddrPtr ll(mac_to_nl_addr(mac));
	if (!n)
		return n.error();
	if (!ll)
		return sys_error(ENOMEM, "allocate MAC", describe(ifindex, ip));
	rtnl_neigh_set_lladdr(n->get(), ll.get());
	rtnl_neigh_set_state(n->get(), NUD_PERMANENT);
	return nl->run("add permanent neighbour " + format_mac(mac), describe(ifindex, ip),
		       [&](nl_sock *sk) { return rtnl_neigh_add(sk, n->get(), NLM_F_CREATE | NLM_F_REPLACE); });
}

Result<std::optional<NeighInfo>> find_neighbour(int ifindex, const Prefix &ip)
{
	auto nl = NlSession::open();
	if (!nl)
		return nl.error();
	nl_cache *raw = nullptr;
	Status st = nl->run("list neighbours", describe(ifindex, ip), [&](nl_sock *sk) {
		return rtnl_neigh_alloc_cache(sk, &raw);
	});
	NlCachePtr cache(raw);
	if (!st)
		return st.error();
	const Prefix want = as_host(ip);
	for (nl_object *o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
		auto *n = reinterpret_cast<rtnl_neigh *>(o);
		nl_addr *dst = rtnl_neigh_get_dst(n);
		if (rtnl_neigh_get_ifindex(n) != ifindex || !dst || nl_addr_get_family(dst) != ip.family ||
		    as_host(from_nl_addr(dst, ip.family)) != want)
			continue;
		NeighInfo info;
		info.ifindex = ifindex;
		info.ip = want;
		std::array<uint8_t, 6> mac{};
		if (mac_from_nl_addr(rtnl_neigh_get_lladdr(n), mac))
			info.mac = mac;
		info.state = static_cast<uint16_t>(rtnl_neigh_get_state(n));
		info.flags = static_cast<uint8_t>(rtnl_neigh_get_flags(n));
		return std::optional<NeighInfo>(info);
	}
	return std::optional<NeighInfo>();
}

Status delete_neighbour(int ifindex, const Prefix &ip)
{
	auto nl = NlSession::open();
	if (!nl)
		return nl.error();
	auto n = make_neigh(ifindex, ip);
	if (!n)
		return n.error();
	Status st = nl->run("delete neighbour", describe(ifindex, ip), [&](nl_sock *sk) {
		return rtnl_neigh_delete(sk, n->get(), 0);
	});
	if (!st && (st.error().err == ENOENT || st.error().err == ENODEV))
		return {};
	return st;
}

} // namespace steer::ns
