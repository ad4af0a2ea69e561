#include "nl_session.hpp"

#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/netlink.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace steer::ns {

int nle_to_errno(int nle)
{
	static const struct { int nle, err; } table[] = {
		{NLE_SUCCESS, 0}, {NLE_INTR, EINTR}, {NLE_BAD_SOCK, EBADF},
		{NLE_AGAIN, EAGAIN}, {NLE_NOMEM, ENOMEM}, {NLE_EXIST, EEXIST},
		{NLE_INVAL, EINVAL}, {NLE_RANGE, ERANGE}, {NLE_MSGSIZE, EMSGSIZE},
		{NLE_OPNOTSUPP, EOPNOTSUPP}, {NLE_AF_NOSUPPORT, EAFNOSUPPORT},
		{NLE_OBJ_NOTFOUND, ENOENT}, {NLE_NOATTR, ENODATA},
		{NLE_MISSING_ATTR, EINVAL}, {NLE_AF_MISMATCH, EINVAL},
		{NLE_SEQ_MISMATCH, EPROTO}, {NLE_MSG_OVERFLOW, EOVERFLOW},
		{NLE_MSG_TRUNC, EMSGSIZE}, {NLE_NOADDR, EADDRNOTAVAIL},
		{NLE_SRCRT_NOSUPPORT, EOPNOTSUPP}, {NLE_MSG_TOOSHORT, EBADMSG},
		{NLE_MSGTYPE_NOSUPPORT, EOPNOTSUPP}, {NLE_OBJ_MISMATCH, EINVAL},
		{NLE_NOCACHE, EINVAL}, {NLE_BUSY, EBUSY},
		{NLE_PROTO_MISMATCH, EPROTONOSUPPORT}, {NLE_NOACCESS, EACCES},
		{NLE_PERM, EPERM}, {NLE_PKTLOC_FILE, ENOENT}, {NLE_PARSE_ERR, EBADMSG},
		{NLE_NODEV, ENODEV}, {NLE_IMMUTABLE, EPERM}, {NLE_DUMP_INTR, EINTR},
		{NLE_ATTRSIZE, ERANGE},
	};
	int code = std::abs(nle);
	for (const auto &row : table)
		if (row.nle == code)
			return row.err;
	return EIO;
}

namespace {

// The extended ack's message: the TLVs follow the nlmsgerr and, unless the
// kernel capped the echo (we ask it to), the echoed request's payload.
std::string extack_message(const nlmsgerr *e)
{
	auto *hdr = reinterpret_cast<const nlmsghdr *>(
		reinterpret_cast<const char *>(e) - NLMSG_HDRLEN);
	if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS))
		return {};
	size_t off = sizeof(*e);
	if (!(hdr->nlmsg_flags & NLM_F_CAPPED))
		off += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
	size_t len = hdr->nlmsg_len - NLMSG_HDRLEN;
	if (off >= len)
		return {};
	nlattr *tb[NLMSGERR_ATTR_MAX + 1] = {};
	auto *head = reinterpret_cast<nlattr *>(const_cast<char *>(
		reinterpret_cast<const char *>(e) + off));
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, head, static_cast<int>(len - off), nullptr) < 0 ||
	    !tb[NLMSGERR_ATTR_MSG])
		return {};
	return std::string(static_cast<const char *>(nla_data(tb[NLMSGERR_ATTR_MSG])),
			   strnlen(static_cast<const char *>(nla_data(tb[NLMSGERR_ATTR_MSG])),
				   nla_len(tb[NLMSGERR_ATTR_MSG])));
}

int keep_kernel_error(sockaddr_nl *, nlmsgerr *e, void *arg)
{
	auto *ack = static_cast<NlSession::KernelAck *>(arg);
	ack->err = -e->error;
	ack->message = extack_message(e);
	return NL_STOP;  // libnl then returns its usual NLE_* code
}

} // namespace

Result<NlSession> NlSession::open()
{
	NlSockPtr sock(nl_socket_alloc());
	if (!sock)
		return sys_error(ENOMEM, "allocate netlink socket");
	int rc = nl_connect(sock.get(), NETLINK_ROUTE);
	if (rc < 0)
		return sys_error(nle_to_errno(rc), "connect route netlink socket",
				 std::string("libnl: ") + nl_geterror(rc));
	// Big dumps (routes of a full table) must not be truncated.
	nl_socket_enable_msg_peek(sock.get());
	int one = 1;
	int fd = nl_socket_get_fd(sock.get());
	// Best effort: old kernels lack these, and errors still work without.
	(void)::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	auto ack = std::make_unique<KernelAck>();
	nl_socket_modify_err_cb(sock.get(), NL_CB_CUSTOM, keep_kernel_error, ack.get());
	return NlSession(std::move(sock), std::move(ack));
}

Error NlSession::error(int nle, const std::string &what, const std::string &on) const
{
	int err = ack_->err ? ack_->err : nle_to_errno(nle);
	std::string detail = on.empty() ? "" : on + "; ";
	detail += std::string("libnl: ") + nl_geterror(nle);
	if (!ack_->message.empty())
		detail += "; kernel: " + ack_->message;
	return sys_error(err, what, detail);
}

NlAddrPtr to_nl_addr(const Prefix &p)
{
	NlAddrPtr a(nl_addr_build(p.family, p.bytes.data(), address_size(p.family)));
	if (a)
		nl_addr_set_prefixlen(a.get(), p.len);
	return a;
}

Prefix from_nl_addr(const nl_addr *a, int family)
{
	Prefix p;
	p.family = family;
	p.len = address_bits(family);
	if (!a)
		return p;
	unsigned size = nl_addr_get_len(a);
	if (nl_addr_get_family(a) == AF_INET || nl_addr_get_family(a) == AF_INET6)
		p.family = nl_addr_get_family(a);
	if (size == static_cast<unsigned>(address_size(p.family)))
		std::memcpy(p.bytes.data(), nl_addr_get_binary_addr(a), size);
	p.len = static_cast<int>(nl_addr_get_prefixlen(a));
	return p;
}

NlAddrPtr mac_to_nl_addr(const std::array<uint8_t, 6> &mac)
{
	return NlAddrPtr(nl_addr_build(AF_LLC, mac.data(), mac.size()));
}

bool mac_from_nl_addr(const nl_addr *a, std::array<uint8_t, 6> &mac)
{
	if (!a || nl_addr_get_len(a) != mac.size())
		return false;
	std::memcpy(mac.data(), nl_addr_get_binary_addr(a), mac.size());
	return true;
}

std::string format_mac(const std::array<uint8_t, 6> &mac)
{
	char buf[18];
	std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x",
		      mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

} // namespace steer::ns
