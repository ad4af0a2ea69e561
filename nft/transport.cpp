#include "transport.hpp"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <set>

#include "log.hpp"

namespace steer::nft {

namespace {

// Large enough for any ACK: with NETLINK_CAP_ACK an error echoes only the
// header of the failed message, plus a few extended-ACK attributes.
constexpr size_t recv_room = 64 * 1024;

int set_int_opt(int fd, int level, int name, int value)
{
	return ::setsockopt(fd, level, name, &value, sizeof(value));
}

} // namespace

Result<Transport> Transport::open()
{
	SocketPtr nl(mnl_socket_open(NETLINK_NETFILTER));
	if (!nl)
		return sys_error(errno, "open netlink socket", "NETLINK_NETFILTER");
	if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
		return sys_error(errno, "bind netlink socket", "NETLINK_NETFILTER");
	int fd = mnl_socket_get_fd(nl.get());
	// Best effort: without them errors still arrive, just less precise.
	set_int_opt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
	set_int_opt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
	uint32_t portid = mnl_socket_get_portid(nl.get());
	return Transport(std::move(nl), portid);
}

// The whole batch goes out in one sendmsg (nfnetlink commits what one
// message holds), so the send buffer must hold all of it; every message
// is acknowledged, so the receive buffer must hold every ACK or the kernel
// drops some and we could not tell what happened.
Status Transport::size_buffers(const Batch &b)
{
	int fd = mnl_socket_get_fd(nl_.get());
	int snd = static_cast<int>(std::min<size_t>(b.bytes.size() + 64 * 1024, 1u << 30));
	if (set_int_opt(fd, SOL_SOCKET, SO_SNDBUFFORCE, snd) != 0 &&
	    set_int_opt(fd, SOL_SOCKET, SO_SNDBUF, snd) != 0)
		return sys_error(errno, "size the netlink send buffer", std::to_string(snd) + " bytes");
	int rcv = static_cast<int>(std::min<size_t>(b.acked_messages() * 2048 + 256 * 1024, 1u << 30));
	if (set_int_opt(fd, SOL_SOCKET, SO_RCVBUFFORCE, rcv) != 0 &&
	    set_int_opt(fd, SOL_SOCKET, SO_RCVBUF, rcv) != 0)
		return sys_error(errno, "size the netlink receive buffer", std::to_string(rcv) + " bytes");
	return {};
}

namespace {

struct AckState {
	const Batch *batch = nullptr;
	std::vector<AckError> errors;
	std::set<uint32_t> acked;
	size_t foreign = 0;   // ACKs outside the batch's sequence range
};

// NLMSGERR_ATTR_OFFS and _MSG follow the error (and, without CAP_ACK, the
// echoed request) when the kernel set NLM_F_ACK_TLVS.
void parse_extack(const nlmsghdr *nlh, const nlmsgerr *err, AckError &out)
{
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	size_t off = sizeof(nlmsgerr);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(nlmsghdr);
	auto *attr = static_cast<const nlattr *>(mnl_nlmsg_get_payload_offset(nlh, off));
	const char *tail = static_cast<const char *>(mnl_nlmsg_get_payload_tail(nlh));
	for (; mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char *>(attr)));
	     attr = mnl_attr_next(attr)) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_OFFS)
			out.offset = mnl_attr_get_u32(attr);
		else if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG)
			out.message = mnl_attr_get_str(attr);
	}
}

int ack_cb(const nlmsghdr *nlh, void *data)
{
	auto *st = static_cast<AckState *>(data);
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr)))
		return MNL_CB_OK;
	auto *err = static_cast<const nlmsgerr *>(mnl_nlmsg_get_payload(nlh));
	uint32_t seq = nlh->nlmsg_seq;
	if (seq < st->batch->begin_seq || seq > st->batch->end_seq) {
		st->foreign++;
		return MNL_CB_OK;
	}
	st->acked.insert(seq);
	if (err->error == 0)
		return MNL_CB_OK;
	AckError e;
	e.seq = seq;
	e.err = -err->error;
	parse_extack(nlh, err, e);
	e.what = st->batch->describe(seq, e.offset);
	st->errors.push_back(std::move(e));
	return MNL_CB_OK;
}

} // namespace

// Like nft's mnl_batch_talk(): nfnetlink runs the whole batch inside our
// sendmsg(), so by the time it returns every ACK is queued; read until the
// queue is empty.
Result<std::vector<AckError>> Transport::read_acks(const Batch &b, size_t *acks)
{
	AckState st;
	st.batch = &b;
	std::vector<char> buf(recv_room);
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {};
	ctl[NLMSG_ERROR] = ack_cb;
	int fd = mnl_socket_get_fd(nl_.get());
	for (;;) {
		ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return sys_error(errno, "read nf_tables acknowledgements (outcome unknown)");
		if (mnl_cb_run2(buf.data(), static_cast<size_t>(n), 0, portid_, nullptr, &st, ctl,
			    NLMSG_MIN_TYPE) < 0)
			return sys_error(errno, "parse nf_tables acknowledgements");
	}
	std::sort(st.errors.begin(), st.errors.end(),
		[](const AckError &a, const AckError &b) { return a.seq < b.seq; });
	*acks = st.acked.size();
	return std::move(st.errors);
}

namespace {

Error batch_error(const Batch &b, const std::vector<AckError> &errors)
{
	const AckError &first = errors.front();
	std::string what = "nf_tables refused the batch (nothing changed) at: " + first.what;
	if (!first.message.empty())
		what += " (" + first.message + ")";
	if (errors.size() > 1)
		what += "; " + std::to_string(errors.size() - 1) + " more error(s), next: " + errors[1].what +
			": " + std::strerror(errors[1].err);
	return sys_error(first.err, what, "table " + b.table);
}

} // namespace

Status Transport::send(const Batch &b, std::vector<AckError> *errors)
{
	if (Status st = size_buffers(b); !st)
		return st;
	ssize_t sent = mnl_socket_sendto(nl_.get(), b.bytes.data(), b.bytes.size());
	if (sent < 0)
		return sys_error(errno, "send nf_tables batch", std::to_string(b.bytes.size()) + " bytes");
	size_t acks = 0;
	auto got = read_acks(b, &acks);
	if (!got)
		return got.error();
	if (errors)
		*errors = *got;
	if (!got->empty())
		return batch_error(b, *got);
	// Success is every message acknowledged: anything less means the
	// kernel dropped ACKs (receive buffer) and we cannot vouch for it.
	if (acks != b.acked_messages())
		return sys_error(ENOBUFS, "nf_tables acknowledged " + std::to_string(acks) + " of " +
				std::to_string(b.acked_messages()) + " messages (outcome unknown)");
	return {};
}

Status Transport::apply(Batch b, int attempts)
{
	Status last;
	for (int i = 0; i < std::max(attempts, 1); i++) {
		auto gen = generation();
		if (!gen)
			return gen.error();
		set_generation(b, *gen);
		last = send(b);
		if (last.ok())
			return last;
		int err = last.error().err;
		if (err != ERESTART && err != EINTR && err != ENOBUFS)
			return last;
		LOG_DEBUG("nft batch: %s; retrying", last.error().message().c_str());
	}
	return last;
}

// One request, its replies through cb, until the kernel's ACK.
Status Transport::request(nlmsghdr *nlh, int (*cb)(const nlmsghdr *, void *), void *data)
{
	const uint32_t seq = nlh->nlmsg_seq;
	if (mnl_socket_sendto(nl_.get(), nlh, nlh->nlmsg_len) < 0)
		return sys_error(errno, "send nf_tables request");
	std::vector<char> buf(recv_room);
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl_.get(), buf.data(), buf.size());
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sys_error(errno, "read nf_tables reply");
		int ret = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, portid_, cb, data);
		if (ret < 0)
			return sys_error(errno, "nf_tables request");
		if (ret == MNL_CB_STOP)
			return {};
	}
}

namespace {

int gen_cb(const nlmsghdr *nlh, void *data)
{
	GenPtr gen(nftnl_gen_alloc());
	if (gen && nftnl_gen_nlmsg_parse(nlh, gen.get()) == 0)
		*static_cast<std::optional<uint32_t> *>(data) = nftnl_gen_get_u32(gen.get(), NFTNL_GEN_ID);
	return MNL_CB_OK;
}

int table_cb(const nlmsghdr *nlh, void *data)
{
	auto *out = static_cast<std::optional<std::string> *>(data);
	TablePtr t(nftnl_table_alloc());
	if (!t || nftnl_table_nlmsg_parse(nlh, t.get()) < 0)
		return MNL_CB_OK;
	*out = std::string();
	uint32_t len = 0;
	const void *ud = nftnl_table_get_data(t.get(), NFTNL_TABLE_USERDATA, &len);
	if (!ud)
		return MNL_CB_OK;
	const nftnl_udata *attr;
	nftnl_udata_for_each_data(ud, len, attr) {
		if (nftnl_udata_type(attr) == NFTNL_UDATA_TABLE_COMMENT && nftnl_udata_len(attr) > 0)
			(*out)->assign(static_cast<const char *>(nftnl_udata_get(attr)), nftnl_udata_len(attr) - 1);
	}
	return MNL_CB_OK;
}

} // namespace

Result<uint32_t> Transport::generation()
{
	std::array<char, 256> buf{};
	nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, ++seq_);
	std::optional<uint32_t> gen;
	if (Status st = request(nlh, gen_cb, &gen); !st)
		return Error{st.error().err, "read nf_tables generation", ""};
	if (!gen)
		return sys_error(EPROTO, "read nf_tables generation", "no NEWGEN reply");
	return *gen;
}

Result<std::optional<std::string>> Transport::table_comment(const std::string &name)
{
	std::array<char, 512> buf{};
	nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, ++seq_);
	TablePtr t(nftnl_table_alloc());
	if (!t)
		return sys_error(ENOMEM, "look up nft table", name);
	nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name.c_str());
	nftnl_table_nlmsg_build_payload(nlh, t.get());
	std::optional<std::string> comment;
	Status st = request(nlh, table_cb, &comment);
	if (!st && st.error().err == ENOENT)
		return std::optional<std::string>();
	if (!st)
		return Error{st.error().err, "look up nft table", "inet " + name};
	return comment;
}

Result<bool> Transport::table_exists(const std::string &name)
{
	auto c = table_comment(name);
	if (!c)
		return c.error();
	return c->has_value();
}

Status Transport::delete_table(const std::string &name)
{
	std::vector<AckError> errors;
	Batch b = build_delete(name);
	Status st = send(b, &errors);
	if (!st && errors.size() == 1 && errors[0].err == ENOENT)
		return {};
	return st;
}

Status replace_table(const Ruleset &rs)
{
	auto batch = build_replace(rs);
	if (!batch)
		return batch.error();
	auto t = Transport::open();
	if (!t)
		return t.error();
	return t->apply(std::move(*batch));
}

} // namespace steer::nft
