#include "link.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <netlink/route/link/veth.h>

#include <cstring>

#include "fd.hpp"
#include "netns.hpp"
#include "nl_session.hpp"

namespace steer::ns {

namespace {

LinkInfo to_info(rtnl_link *l)
{
	LinkInfo info;
	info.ifindex = rtnl_link_get_ifindex(l);
	const char *s = rtnl_link_get_name(l);
	info.name = s ? s : "";
	s = rtnl_link_get_ifalias(l);
	info.alias = s ? s : "";
	s = rtnl_link_get_type(l);
	info.kind = s ? s : "";
	mac_from_nl_addr(rtnl_link_get_addr(l), info.mac);
	info.up = rtnl_link_get_flags(l) & IFF_UP;
	info.mtu = rtnl_link_get_mtu(l);
	int32_t nsid = -1;
	if (rtnl_link_get_link_netnsid(l, &nsid) == 0)
		info.link_netnsid = nsid;
	info.peer_ifindex = rtnl_link_get_link(l);
	return info;
}

bool is_absent(const Error &e)
{
	return e.err == ENODEV || e.err == ENOENT;
}

Result<std::optional<LinkInfo>> get_link(int ifindex, const std::string &name)
{
	auto nl = NlSession::open();
	if (!nl)
		return nl.error();
	rtnl_link *raw = nullptr;
	std::string on = name.empty() ? "ifindex " + std::to_string(ifindex) : name;
	Status st = nl->run("get link", on, [&](nl_sock *sk) {
		return rtnl_link_get_kernel(sk, ifindex, name.empty() ? nullptr : name.c_str(), &raw);
	});
	LinkPtr link(raw);
	if (!st)
		return is_absent(st.error()) ? Result<std::optional<LinkInfo>>(std::nullopt)
					     : Result<std::optional<LinkInfo>>(st.error());
	if (!link)
		return std::optional<LinkInfo>();
	return std::optional<LinkInfo>(to_info(link.get()));
}

// One RTM_NEWLINK on ifindex carrying only what `changes` sets.
Status change_link(int ifindex, rtnl_link *changes, const std::string &what)
{
	auto nl = NlSession::open();
	if (!nl)
		return nl.error();
	LinkPtr orig(rtnl_link_alloc());
	if (!orig)
		return sys_error(ENOMEM, what);
	rtnl_link_set_ifindex(orig.get(), ifindex);
	return nl->run(what, "ifindex " + std::to_string(ifindex), [&](nl_sock *sk) {
		return rtnl_link_change(sk, orig.get(), changes, 0);
	});
}

// Both ends name each other, and the peer sits where it was asked to.
Result<bool> veth_matches(const std::string &name, const std::string &peer_name,
			  const std::string &peer_netns)
{
	auto here = find_link(name);
	if (!here)
		return here.error();
	if (!*here || (*here)->kind != "veth" || (peer_netns.empty() != ((*here)->link_netnsid < 0)))
		return false;
	std::optional<LinkInfo> peer;
	Status st = run_in_netns(peer_netns, [&]() -> Status {
		auto p = find_link(peer_name);
		if (!p)
			return p.error();
		peer = *p;
		return {};
	});
	if (!st)
		return st.error();
	return peer && peer->kind == "veth" && peer->ifindex == (*here)->peer_ifindex &&
	       peer->peer_ifindex == (*here)->ifindex;
}

} // namespace

Result<std::optional<LinkInfo>> find_link(const std::string &name)
{
	return get_link(0, name);
}

Result<std::optional<LinkInfo>> find_link(int ifindex)
{
	return get_link(ifindex, {});
}

Result<std::vector<LinkInfo>> list_links()
{
	auto nl = NlSession::open();
	if (!nl)
		return nl.error();
	nl_cache *raw = nullptr;
	Status st = nl->run("list links", {}, [&](nl_sock *sk) {
		return rtnl_link_alloc_cache(sk, AF_UNSPEC, &raw);
	});
	NlCachePtr cache(raw);
	if (!st)
		return st.error();
	std::vector<LinkInfo> out;
	for (nl_object *o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o))
		out.push_back(to_info(reinterpret_cast<rtnl_link *>(o)));
	return out;
}

Status create_veth(const std::string &name, const std::string &peer_name,
		   const std::string &peer_netns)
{
	const std::string on = name + "/" + peer_name + (peer_netns.empty() ? "" : "@" + peer_netns);
	Fd ns_fd;
	if (!peer_netns.empty()) {
		ns_fd.reset(::open(netns_path(peer_netns).c_str(), O_RDONLY | O_CLOEXEC));
		if (!ns_fd.valid())
			return sys_error(errno, "open network namespace", peer_netns);
	}
	auto nl = NlSession::open();
	if (!nl)
		return nl.error();
	LinkPtr link(rtnl_link_veth_alloc());
	if (!link)
		return sys_error(ENOMEM, "create veth", on);
	rtnl_link_set_name(link.get(), name.c_str());
	rtnl_link *peer = rtnl_link_veth_get_peer(link.get());  // owned by link
	rtnl_link_set_name(peer, peer_name.c_str());
	if (ns_fd.valid())
		rtnl_link_set_ns_fd(peer, ns_fd.get());
	rtnl_link_put(peer);  // get_peer took a reference
	Status st = nl->run("create veth", on, [&](nl_sock *sk) {
		return rtnl_link_add(sk, link.get(), NLM_F_CREATE | NLM_F_EXCL);
	});
	if (st || st.error().err != EEXIST)
		return st;
	auto same = veth_matches(name, peer_name, peer_netns);
	if (!same)
		return same.error();
	if (*same)
		return {};
	return sys_error(EEXIST, "create veth: the name is taken by a different link", on);
}

Status set_link_mac(int ifindex, const std::array<uint8_t, 6> &mac)
{
	LinkPtr changes(rtnl_link_alloc());
	NlAddrPtr addr(mac_to_nl_addr(mac));
	if (!changes || !addr)
		return sys_error(ENOMEM, "set link MAC");
	rtnl_link_set_addr(changes.get(), addr.get());
	return change_link(ifindex, changes.get(), "set link MAC " + format_mac(mac));
}

Status set_link_alias(int ifindex, const std::string &alias)
{
	LinkPtr changes(rtnl_link_alloc());
	if (!changes)
		return sys_error(ENOMEM, "set link alias");
	rtnl_link_set_ifalias(changes.get(), alias.c_str());
	return change_link(ifindex, changes.get(), "set link alias \"" + alias + "\"");
}

Status set_link_up(int ifindex, bool up)
{
	LinkPtr changes(rtnl_link_alloc());
	if (!changes)
		return sys_error(ENOMEM, "set link state");
	if (up)
		rtnl_link_set_flags(changes.get(), IFF_UP);
	else
		rtnl_link_unset_flags(changes.get(), IFF_UP);
	return change_link(ifindex, changes.get(), up ? "set link up" : "set link down");
}

Status set_link_mtu(int ifindex, unsigned mtu)
{
	LinkPtr changes(rtnl_link_alloc());
	if (!changes)
		return sys_error(ENOMEM, "set link MTU");
	rtnl_link_set_mtu(changes.get(), mtu);
	return change_link(ifindex, changes.get(), "set link MTU " + std::to_string(mtu));
}

Status rename_link(int ifindex, const std::string &name)
{
	LinkPtr changes(rtnl_link_alloc());
	if (!changes)
		return sys_error(ENOMEM, "rename link");
	rtnl_link_set_name(changes.get(), name.c_str());
	Status st = change_link(ifindex, changes.get(), "rename link to " + name);
	if (!st && st.error().err == EBUSY)
		return sys_error(EBUSY, "rename link to " + name + " (set it down first)",
				 st.error().on);
	return st;
}

Status delete_link(const std::string &name)
{
	auto nl = NlSession::open();
	if (!nl)
		return nl.error();
	LinkPtr link(rtnl_link_alloc());
	if (!link)
		return sys_error(ENOMEM, "delete link", name);
	rtnl_link_set_name(link.get(), name.c_str());
	Status st = nl->run("delete link", name, [&](nl_sock *sk) {
		return rtnl_link_delete(sk, link.get());
	});
	if (!st && is_absent(st.error()))
		return {};
	return st;
}

} // namespace steer::ns
