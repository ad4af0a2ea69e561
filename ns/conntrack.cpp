#include "conntrack.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <cstring>
#include <memory>

namespace steer::ns {

namespace {

struct MnlClose {
	void operator()(mnl_socket *s) const { mnl_socket_close(s); }
};
using MnlSockPtr = std::unique_ptr<mnl_socket, MnlClose>;

// Attributes by type into a table of N; unknown types are ignored. (The
// mnl_attr_for_each macros are C only: they rely on void * conversion.)
template <size_t N>
int store_attr(const nlattr *a, void *data)
{
	uint16_t type = mnl_attr_get_type(a);
	if (type < N)
		(*static_cast<const nlattr *(*)[N]>(data))[type] = a;
	return MNL_CB_OK;
}

template <size_t N>
void nested(const nlattr *nest, const nlattr *(&tb)[N])
{
	mnl_attr_parse_nested(nest, store_attr<N>, &tb);
}

nlmsghdr *put_request(char *buf, uint16_t msg, uint16_t flags, int family, uint32_t seq)
{
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	auto *nfg = static_cast<nfgenmsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
	nfg->nfgen_family = static_cast<uint8_t>(family);
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

// Sends one request and digests replies until the dump's end or the ACK.
int talk(mnl_socket *sock, nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	if (mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) < 0)
		return -1;
	uint32_t portid = mnl_socket_get_portid(sock);
	std::vector<char> buf(1 << 16);
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(sock, buf.data(), buf.size());
		if (n < 0)
			return -1;
		int rc = mnl_cb_run(buf.data(), n, nlh->nlmsg_seq, portid, cb, data);
		if (rc <= MNL_CB_STOP)
			return rc;
	}
}

struct DumpState {
	const std::vector<ConntrackMatch> *matches;
	std::vector<ConntrackKey> hits;
};

int collect(const nlmsghdr *nlh, void *data)
{
	auto *st = static_cast<DumpState *>(data);
	auto key = parse_conntrack(nlh);
	if (!key)
		return MNL_CB_OK;
	for (const auto &m : *st->matches)
		if (conntrack_matches(*key, m.family, m.dst, m.l4proto, m.dst_port)) {
			st->hits.push_back(std::move(*key));
			break;
		}
	return MNL_CB_OK;
}

// The conntrack is not there to flush: no nfnetlink (EPROTONOSUPPORT), no
// ctnetlink subsystem (nfnetlink answers EINVAL to an unknown subsystem).
bool absent(int err, bool dumping)
{
	return err == EPROTONOSUPPORT || err == ENOENT || err == EOPNOTSUPP ||
	       (dumping && err == EINVAL);
}

Result<unsigned> delete_entries(mnl_socket *sock, std::vector<char> &buf, uint32_t &seq, int family,
				const std::vector<ConntrackKey> &hits, const std::string &on)
{
	unsigned deleted = 0;
	for (const ConntrackKey &key : hits) {
		nlmsghdr *nlh = put_request(buf.data(), IPCTNL_MSG_CT_DELETE, NLM_F_ACK, family, ++seq);
		std::memcpy(mnl_nlmsg_get_payload_tail(nlh), key.orig_tuple.data(), key.orig_tuple.size());
		nlh->nlmsg_len += key.orig_tuple.size();
		if (key.zone)
			mnl_attr_put_u16(nlh, CTA_ZONE, *key.zone);
		if (talk(sock, nlh, nullptr, nullptr) < 0) {
			if (errno == ENOENT)
				continue;  // expired or deleted by someone else meanwhile
			return sys_error(errno, "delete conntrack entry", on);
		}
		deleted++;
	}
	return deleted;
}

} // namespace

std::optional<ConntrackKey> parse_conntrack(const void *msg)
{
	auto *nlh = static_cast<const nlmsghdr *>(msg);
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(nfgenmsg))
		return std::nullopt;
	auto *nfg = static_cast<const nfgenmsg *>(mnl_nlmsg_get_payload(nlh));
	const nlattr *tb[CTA_MAX + 1] = {};
	mnl_attr_parse(nlh, sizeof(nfgenmsg), store_attr<CTA_MAX + 1>, &tb);
	if (!tb[CTA_TUPLE_ORIG])
		return std::nullopt;
	const nlattr *tuple[CTA_TUPLE_MAX + 1] = {}, *ip[CTA_IP_MAX + 1] = {},
		     *proto[CTA_PROTO_MAX + 1] = {};
	nested(tb[CTA_TUPLE_ORIG], tuple);
	if (!tuple[CTA_TUPLE_IP] || !tuple[CTA_TUPLE_PROTO])
		return std::nullopt;
	nested(tuple[CTA_TUPLE_IP], ip);
	nested(tuple[CTA_TUPLE_PROTO], proto);
	ConntrackKey key;
	key.family = nfg->nfgen_family;
	const nlattr *dst = key.family == AF_INET ? ip[CTA_IP_V4_DST] : ip[CTA_IP_V6_DST];
	if (!dst || !proto[CTA_PROTO_NUM] ||
	    mnl_attr_get_payload_len(dst) != static_cast<uint16_t>(address_size(key.family)))
		return std::nullopt;
	key.dst = host_prefix(key.family, mnl_attr_get_payload(dst));
	key.l4proto = mnl_attr_get_u8(proto[CTA_PROTO_NUM]);
	if (proto[CTA_PROTO_DST_PORT])
		key.dst_port = ntohs(mnl_attr_get_u16(proto[CTA_PROTO_DST_PORT]));
	auto *raw = reinterpret_cast<const uint8_t *>(tb[CTA_TUPLE_ORIG]);
	key.orig_tuple.assign(raw, raw + tb[CTA_TUPLE_ORIG]->nla_len);
	key.orig_tuple.resize(MNL_ALIGN(key.orig_tuple.size()), 0);
	if (tb[CTA_ZONE])
		key.zone = mnl_attr_get_u16(tb[CTA_ZONE]);
	return key;
}

bool conntrack_matches(const ConntrackKey &key, int family, const Prefix &dst,
		       uint8_t l4proto, std::optional<uint16_t> dst_port)
{
	if (key.family != family || key.l4proto != l4proto)
		return false;
	if (dst_port && key.dst_port != dst_port)
		return false;
	Prefix entry = key.dst;
	entry.len = dst.len;
	return network_of(entry) == network_of(dst);
}

Result<unsigned> delete_conntrack(int family, const Prefix &dst_address, uint8_t l4proto,
				  std::optional<uint16_t> dst_port)
{
	return delete_conntrack({{family, dst_address, l4proto, dst_port}});
}

// One dump of the whole table (per family) for every match: dumping is
// what costs (milliseconds on a busy table), not matching.
Result<unsigned> delete_conntrack(const std::vector<ConntrackMatch> &matches)
{
	const std::string on = std::to_string(matches.size()) + " flow patterns";
	MnlSockPtr sock(mnl_socket_open(NETLINK_NETFILTER));
	if (!sock) {
		if (absent(errno, false))
			return 0u;
		return sys_error(errno, "open ctnetlink socket", on);
	}
	if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0)
		return sys_error(errno, "bind ctnetlink socket", on);
	std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
	uint32_t seq = 1;
	unsigned deleted = 0;
	for (int family : {AF_INET, AF_INET6}) {
		std::vector<ConntrackMatch> of_family;
		for (const auto &m : matches)
			if (m.family == family)
				of_family.push_back(m);
		if (of_family.empty())
			continue;
		DumpState state{&of_family, {}};
		nlmsghdr *nlh = put_request(buf.data(), IPCTNL_MSG_CT_GET, NLM_F_DUMP, family, ++seq);
		// Collect first, delete after: one socket cannot do both in a dump.
		if (talk(sock.get(), nlh, collect, &state) < 0) {
			if (absent(errno, true))
				return deleted;
			return sys_error(errno, "dump conntrack", on);
		}
		auto done = delete_entries(sock.get(), buf, seq, family, state.hits, on);
		if (!done)
			return done.error();
		deleted += *done;
	}
	return deleted;
}

} // namespace steer::ns
