#include "monitor.hpp"

#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/object.h>
#include <netlink/route/tc.h>
#include <sys/stat.h>

#include <cstring>

#include "netns.hpp"
#include "nl_session.hpp"

namespace steer::ns {

namespace {

// A burst (a namespace with many routes going away) must not overflow
// the socket before the loop reads it; the kernel caps this at rmem_max.
constexpr int receive_buffer = 4 << 20;

RtKind kind_of(uint16_t type)
{
	switch (type) {
	case RTM_NEWLINK: case RTM_DELLINK: return RtKind::link;
	case RTM_NEWADDR: case RTM_DELADDR: return RtKind::address;
	case RTM_NEWNEIGH: case RTM_DELNEIGH: return RtKind::neighbour;
	case RTM_NEWROUTE: case RTM_DELROUTE: return RtKind::route;
	case RTM_NEWRULE: case RTM_DELRULE: return RtKind::rule;
	case RTM_NEWQDISC: case RTM_DELQDISC:
	case RTM_NEWTFILTER: case RTM_DELTFILTER: return RtKind::tc;
	default: return RtKind::other;
	}
}

bool is_removal(uint16_t type)
{
	return type == RTM_DELLINK || type == RTM_DELADDR || type == RTM_DELNEIGH ||
	       type == RTM_DELROUTE || type == RTM_DELRULE || type == RTM_DELQDISC ||
	       type == RTM_DELTFILTER;
}

// libnl has already decoded the message into its object; copy out the
// fields `watch` decides on.
void fill_from_object(nl_object *obj, void *arg)
{
	auto *e = static_cast<RtEvent *>(arg);
	switch (e->kind) {
	case RtKind::link: {
		auto *l = reinterpret_cast<rtnl_link *>(obj);
		e->ifindex = rtnl_link_get_ifindex(l);
		const char *name = rtnl_link_get_name(l);
		e->ifname = name ? name : "";
		break;
	}
	case RtKind::address:
		e->ifindex = rtnl_addr_get_ifindex(reinterpret_cast<rtnl_addr *>(obj));
		break;
	case RtKind::neighbour:
		e->ifindex = rtnl_neigh_get_ifindex(reinterpret_cast<rtnl_neigh *>(obj));
		e->neigh_state = static_cast<uint16_t>(rtnl_neigh_get_state(reinterpret_cast<rtnl_neigh *>(obj)));
		break;
	case RtKind::route:
		e->table = rtnl_route_get_table(reinterpret_cast<rtnl_route *>(obj));
		e->protocol = rtnl_route_get_protocol(reinterpret_cast<rtnl_route *>(obj));
		break;
	case RtKind::rule:
		e->table = rtnl_rule_get_table(reinterpret_cast<rtnl_rule *>(obj));
		(void)rtnl_rule_get_protocol(reinterpret_cast<rtnl_rule *>(obj), &e->protocol);
		break;
	case RtKind::tc:
		e->ifindex = rtnl_tc_get_ifindex(TC_CAST(obj));
		break;
	case RtKind::other:
		break;
	}
}

int on_notification(nl_msg *msg, void *arg)
{
	auto *batch = static_cast<RtBatch *>(arg);
	uint16_t type = nlmsg_hdr(msg)->nlmsg_type;
	RtEvent e;
	e.kind = kind_of(type);
	if (e.kind == RtKind::other)
		return NL_OK;
	e.removed = is_removal(type);
	// A message libnl cannot decode still counts, with ifindex 0 ("some
	// object of this kind changed"), so the caller can be conservative.
	(void)nl_msg_parse(msg, fill_from_object, &e);
	batch->events.push_back(std::move(e));
	return NL_OK;
}

Status subscribe(nl_sock *sk)
{
	int rc = nl_socket_add_memberships(sk, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
					   RTNLGRP_NEIGH, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,
					   RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE, RTNLGRP_TC, 0);
	if (rc < 0)
		return sys_error(nle_to_errno(rc), "join route netlink groups");
	rc = nl_socket_set_nonblocking(sk);
	if (rc < 0)
		return sys_error(nle_to_errno(rc), "make netlink socket non-blocking");
	(void)nl_socket_set_buffer_size(sk, receive_buffer, 0);
	return {};
}

// Runs on the helper thread, inside the namespace.
Status open_here(NlSockPtr &sock, RtBatch *pending, NetnsId &id)
{
	auto here = netns_id("");
	if (!here)
		return sys_error(errno, "identify network namespace");
	id = *here;
	sock.reset(nl_socket_alloc());
	if (!sock)
		return sys_error(ENOMEM, "allocate netlink socket");
	// Notifications carry no sequence number of ours.
	nl_socket_disable_seq_check(sock.get());
	nl_socket_enable_msg_peek(sock.get());
	nl_socket_modify_cb(sock.get(), NL_CB_VALID, NL_CB_CUSTOM, on_notification, pending);
	int rc = nl_connect(sock.get(), NETLINK_ROUTE);
	if (rc < 0)
		return sys_error(nle_to_errno(rc), "connect route netlink socket");
	return subscribe(sock.get());
}

} // namespace

std::optional<NetnsId> netns_id(const std::string &name)
{
	std::string path = name.empty() ? "/proc/thread-self/ns/net" : netns_path(name);
	struct stat st{};
	if (::stat(path.c_str(), &st) != 0)
		return std::nullopt;
	return NetnsId{st.st_dev, st.st_ino};
}

Result<RtMonitor> RtMonitor::open(const std::string &netns)
{
	NlSockPtr sock;
	auto pending = std::make_unique<RtBatch>();
	NetnsId id;
	Status st = run_in_netns(netns, [&]() -> Status { return open_here(sock, pending.get(), id); });
	if (!st)
		return Error{st.error().err, st.error().what, netns.empty() ? "own namespace" : netns};
	return RtMonitor(std::move(sock), std::move(pending), id);
}

int RtMonitor::fd() const
{
	return nl_socket_get_fd(sock_.get());
}

Result<RtBatch> RtMonitor::read()
{
	*pending_ = RtBatch{};
	for (;;) {
		int rc = nl_recvmsgs_default(sock_.get());
		if (rc >= 0)
			continue;
		if (rc == -NLE_AGAIN)
			break;
		// ENOBUFS (libnl: "out of memory"): the kernel dropped messages;
		// the socket stays usable.
		if (rc == -NLE_NOMEM) {
			pending_->overflowed = true;
			continue;
		}
		return sys_error(nle_to_errno(rc), "read route netlink notifications");
	}
	return std::move(*pending_);
}

} // namespace steer::ns
