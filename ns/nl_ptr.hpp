// One owner per libnl object: unique_ptr with the object's own release
// function, so every early return frees what was allocated on the way.
#pragma once

#include <memory>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <netlink/socket.h>

namespace steer::ns {

template <typename T, void (*Free)(T *)>
struct NlDeleter {
	void operator()(T *p) const
	{
		if (p)
			Free(p);
	}
};

template <typename T, void (*Free)(T *)>
using NlPtr = std::unique_ptr<T, NlDeleter<T, Free>>;

using NlSockPtr = NlPtr<nl_sock, nl_socket_free>;
using NlCachePtr = NlPtr<nl_cache, nl_cache_free>;
using NlMsgPtr = NlPtr<nl_msg, nlmsg_free>;
using NlAddrPtr = NlPtr<nl_addr, nl_addr_put>;
using LinkPtr = NlPtr<rtnl_link, rtnl_link_put>;
using AddrPtr = NlPtr<rtnl_addr, rtnl_addr_put>;
using RoutePtr = NlPtr<rtnl_route, rtnl_route_put>;
// A nexthop is owned by us only until rtnl_route_add_nexthop() takes it.
using NexthopPtr = NlPtr<rtnl_nexthop, rtnl_route_nh_free>;
using RulePtr = NlPtr<rtnl_rule, rtnl_rule_put>;
using NeighPtr = NlPtr<rtnl_neigh, rtnl_neigh_put>;

} // namespace steer::ns
