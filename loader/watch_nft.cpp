#include "watch_nft.hpp"

#include <fcntl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <vector>

#include "netns.hpp"

namespace steer {

namespace {

// One notification per table, chain, rule, set or element change; a rule
// with many expressions is the largest.
constexpr size_t receive_chunk = 128 * 1024;

template <typename Obj, auto Alloc, auto Free, auto Parse, auto Get>
std::string table_of(const nlmsghdr *nlh, uint16_t attr)
{
	std::unique_ptr<Obj, nft::FreeWith<Free>> obj(Alloc());
	if (!obj || Parse(nlh, obj.get()) < 0)
		return {};
	const char *name = Get(obj.get(), attr);
	return name ? name : "";
}

// The table a notification is about; "" for what names none (NEWGEN).
std::string touched_table(const nlmsghdr *nlh)
{
	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case NFT_MSG_NEWTABLE: case NFT_MSG_DELTABLE:
		return table_of<nftnl_table, nftnl_table_alloc, nftnl_table_free,
				nftnl_table_nlmsg_parse, nftnl_table_get_str>(nlh, NFTNL_TABLE_NAME);
	case NFT_MSG_NEWCHAIN: case NFT_MSG_DELCHAIN:
		return table_of<nftnl_chain, nftnl_chain_alloc, nftnl_chain_free,
				nftnl_chain_nlmsg_parse, nftnl_chain_get_str>(nlh, NFTNL_CHAIN_TABLE);
	case NFT_MSG_NEWRULE: case NFT_MSG_DELRULE:
		return table_of<nftnl_rule, nftnl_rule_alloc, nftnl_rule_free,
				nftnl_rule_nlmsg_parse, nftnl_rule_get_str>(nlh, NFTNL_RULE_TABLE);
	case NFT_MSG_NEWSET: case NFT_MSG_DELSET:
		return table_of<nftnl_set, nftnl_set_alloc, nftnl_set_free,
				nftnl_set_nlmsg_parse, nftnl_set_get_str>(nlh, NFTNL_SET_TABLE);
	case NFT_MSG_NEWSETELEM: case NFT_MSG_DELSETELEM:
		return table_of<nftnl_set, nftnl_set_alloc, nftnl_set_free,
				nftnl_set_elems_nlmsg_parse, nftnl_set_get_str>(nlh, NFTNL_SET_TABLE);
	default:
		return {};
	}
}

int on_notification(const nlmsghdr *nlh, void *arg)
{
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return MNL_CB_OK;
	std::string table = touched_table(nlh);
	if (!table.empty())
		static_cast<NftBatch *>(arg)->tables.push_back(std::move(table));
	return MNL_CB_OK;
}

// Runs on the helper thread, inside the namespace.
Status open_here(nft::SocketPtr &sock, ns::NetnsId &id)
{
	auto here = ns::netns_id("");
	if (!here)
		return sys_error(errno, "identify network namespace");
	id = *here;
	sock.reset(mnl_socket_open(NETLINK_NETFILTER));
	if (!sock)
		return sys_error(errno, "open netfilter netlink socket");
	if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0)
		return sys_error(errno, "bind netfilter netlink socket");
	int group = NFNLGRP_NFTABLES;
	if (mnl_socket_setsockopt(sock.get(), NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
		return sys_error(errno, "join the nftables notification group");
	int fd = mnl_socket_get_fd(sock.get());
	if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
		return sys_error(errno, "make netfilter netlink socket non-blocking");
	return {};
}

} // namespace

Result<NftMonitor> NftMonitor::open(const std::string &netns)
{
	nft::SocketPtr sock;
	ns::NetnsId id;
	Status st = ns::run_in_netns(netns, [&]() -> Status { return open_here(sock, id); });
	if (!st)
		return Error{st.error().err, st.error().what, netns.empty() ? "own namespace" : netns};
	return NftMonitor(std::move(sock), id);
}

int NftMonitor::fd() const
{
	return mnl_socket_get_fd(sock_.get());
}

Result<NftBatch> NftMonitor::read()
{
	NftBatch batch;
	std::vector<char> buf(receive_chunk);
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0 && errno == ENOBUFS) {
			batch.overflowed = true;
			continue;
		}
		if (n < 0)
			return sys_error(errno, "read nftables notifications");
		// seq 0 and portid 0: notifications answer no request of ours.
		if (mnl_cb_run(buf.data(), static_cast<size_t>(n), 0, 0, on_notification, &batch) < 0)
			batch.overflowed = true; // undecodable: assume anything changed
	}
	return batch;
}

} // namespace steer
