#include "addr.hpp"

#include "nl_session.hpp"

namespace steer::ns {

namespace {

std::string describe(int ifindex, const Prefix &p)
{
	return format_prefix(p) + " on ifindex " + std::to_string(ifindex);
}

Result<AddrPtr> make_addr(int ifindex, const Prefix &p)
{
	AddrPtr addr(rtnl_addr_alloc());
	NlAddrPtr local(to_nl_addr(p));
	if (!addr || !local)
		return sys_error(ENOMEM, "allocate address", describe(ifindex, p));
	rtnl_addr_set_ifindex(addr.get(), ifindex);
	rtnl_addr_set_family(addr.get(), p.family);
	rtnl_addr_set_prefixlen(addr.get(), p.len);
	int rc = rtnl_addr_set_local(addr.get(), local.get());  // takes its own reference
	if (rc < 0)
		return sys_error(nle_to_errno(rc), "set address", describe(ifindex, p));
	return addr;
}

} // namespace

Status ensure_address(int ifindex, const Prefix &p, uint32_t flags)
{
	auto nl = NlSession::open();
	if (!nl)
		return nl.error();
	auto addr = make_addr(ifindex, p);
	if (!addr)
		return addr.error();
	if (flags)
		rtnl_addr_set_flags(addr->get(), flags);
	return nl->run("add address", describe(ifindex, p), [&](nl_sock *sk) {
		return rtnl_addr_add(sk, addr->get(), NLM_F_REPLACE);
	});
}

Status delete_address(int ifindex, const Prefix &p)
{
	auto nl = NlSession::open();
	if (!nl)
		return nl.error();
	auto addr = make_addr(ifindex, p);
	if (!addr)
		return addr.error();
	Status st = nl->run("delete address", describe(ifindex, p), [&](nl_sock *sk) {
		return rtnl_addr_delete(sk, addr->get(), 0);
	});
	// EADDRNOTAVAIL: no such address; ENODEV: the link (and so it) is gone.
	if (!st && (st.error().err == EADDRNOTAVAIL || st.error().err == ENODEV))
		return {};
	return st;
}

Result<std::vector<Prefix>> list_addresses(int ifindex)
{
	auto nl = NlSession::open();
	if (!nl)
		return nl.error();
	nl_cache *raw = nullptr;
	Status st = nl->run("list addresses", "ifindex " + std::to_string(ifindex),
			    [&](nl_sock *sk) { return rtnl_addr_alloc_cache(sk, &raw); });
	NlCachePtr cache(raw);
	if (!st)
		return st.error();
	std::vector<Prefix> out;
	for (nl_object *o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
		auto *a = reinterpret_cast<rtnl_addr *>(o);
		int family = rtnl_addr_get_family(a);
		if (rtnl_addr_get_ifindex(a) != ifindex || (family != AF_INET && family != AF_INET6))
			continue;
		Prefix p = from_nl_addr(rtnl_addr_get_local(a), family);
		p.len = rtnl_addr_get_prefixlen(a);
		out.push_back(p);
	}
	return out;
}

} // namespace steer::ns
