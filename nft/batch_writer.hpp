// Appends nfnetlink messages to a Batch, one at a time, each with the next
// sequence number and a line saying what it does (the transport reports
// each failure with it). Shared by the ruleset builder, the set-element
// batch and the feature probe. The nlmsghdr pointer start() returns is
// valid only until finish().
#pragma once

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstdint>
#include <string>

#include "build.hpp"

namespace steer::nft {

// Room reserved for a message unless told otherwise (see start()).
constexpr size_t object_room = 64 * 1024;

class BatchWriter {
public:
	BatchWriter(Batch &b, uint32_t first_seq) : b_(b), seq_(first_seq) {}

	// `room`: bytes reserved for the message; libnftnl writes without
	// bounds checks, so it must cover the largest message the caller builds.
	nlmsghdr *start(uint16_t type, uint16_t flags, size_t room = object_room)
	{
		off_ = b_.bytes.size();
		b_.bytes.resize(off_ + room);
		auto *buf = reinterpret_cast<char *>(b_.bytes.data() + off_);
		return nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags | NLM_F_ACK, seq_);
	}
	// Returns the message's sequence number.
	uint32_t finish(nlmsghdr *nlh, std::string what)
	{
		b_.what[nlh->nlmsg_seq] = std::move(what);
		b_.bytes.resize(off_ + NLMSG_ALIGN(nlh->nlmsg_len));
		return seq_++;
	}
	// BATCH_BEGIN; with generation_check, an NFNL_BATCH_GENID of 0 that
	// the transport patches with the generation it read.
	void begin(std::string what = "the batch as a whole (generation check or commit)",
		   bool generation_check = true)
	{
		off_ = b_.bytes.size();
		b_.bytes.resize(off_ + 64);
		nlmsghdr *nlh = nftnl_batch_begin(reinterpret_cast<char *>(b_.bytes.data() + off_), seq_);
		if (generation_check)
			mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(0));
		b_.begin_seq = seq_;
		finish(nlh, std::move(what));
	}
	void end()
	{
		off_ = b_.bytes.size();
		b_.bytes.resize(off_ + 64);
		nlmsghdr *nlh = nftnl_batch_end(reinterpret_cast<char *>(b_.bytes.data() + off_), seq_);
		b_.end_seq = seq_++;
		b_.bytes.resize(off_ + NLMSG_ALIGN(nlh->nlmsg_len));
	}

private:
	Batch &b_;
	uint32_t seq_;
	size_t off_ = 0;
};

} // namespace steer::nft
