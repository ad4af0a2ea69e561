// The one kernel-facing file of nft/: a NETLINK_NETFILTER socket (libmnl)
// that sends a built Batch and digests every acknowledgement, like
// nftables' mnl_batch_talk(): each error is mapped back, by sequence
// number and extended-ACK attribute offset, to the rule or set element it
// came from. The socket lives in the network namespace of the thread that
// opens it; run open() on a thread that did setns() to manage another
// namespace's table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "build.hpp"
#include "model.hpp"
#include "nftnl_ptr.hpp"
#include "result.hpp"

namespace steer::nft {

// One error acknowledgement of a batch.
struct AckError {
	uint32_t seq = 0;
	int err = 0;            // positive errno
	uint32_t offset = 0;    // NLMSGERR_ATTR_OFFS, 0 if the kernel gave none
	std::string message;    // NLMSGERR_ATTR_MSG, usually empty for nf_tables
	std::string what;       // Batch::describe(seq, offset)
};

class Transport {
public:
	// Opens and binds a NETLINK_NETFILTER socket with extended and capped
	// ACKs (errors name an attribute offset; ACKs never echo whole messages).
	[[nodiscard]] static Result<Transport> open();

	// Sends b once and reads every ACK. On failure the error's `what` is
	// the first failing message (e.g. "add rule to chain input: udp dport
	// 8472 drop" or "add elements to set peers_v4 (...): element 10.0.0.5"),
	// its err that message's errno; `errors` (if given) receives them all.
	// nf_tables then aborted the whole batch: nothing changed.
	[[nodiscard]] Status send(const Batch &b, std::vector<AckError> *errors = nullptr);

	// send() against the current generation; again, up to `attempts`
	// times, when the kernel answers ERESTART (another commit came between
	// reading the generation and this batch), EINTR, or ACKs were lost
	// (ENOBUFS; the batches built here are idempotent, so resending is safe).
	[[nodiscard]] Status apply(Batch b, int attempts = 3);

	// The nf_tables ruleset generation (NFT_MSG_GETGEN).
	[[nodiscard]] Result<uint32_t> generation();

	// The comment of table `inet name`; nullopt when there is no such table,
	// "" when it has no comment. Ownership check: ours carry table_comment.
	[[nodiscard]] Result<std::optional<std::string>> table_comment(const std::string &name);
	[[nodiscard]] Result<bool> table_exists(const std::string &name);

	// Deletes table `inet name`; an absent table is success.
	[[nodiscard]] Status delete_table(const std::string &name);

private:
	Transport(SocketPtr nl, uint32_t portid) : nl_(std::move(nl)), portid_(portid) {}
	Status size_buffers(const Batch &b);
	Result<std::vector<AckError>> read_acks(const Batch &b, size_t *acks);
	Status request(nlmsghdr *nlh, int (*cb)(const nlmsghdr *, void *), void *data);

	SocketPtr nl_;
	uint32_t portid_ = 0;
	uint32_t seq_ = 0x40000000;  // requests; batches carry their own numbers
};

// Builds, opens a socket in the calling thread's namespace, applies.
[[nodiscard]] Status replace_table(const Ruleset &rs);

} // namespace steer::nft
