// nftables notifications of one network namespace (NFNLGRP_NFTABLES), for
// `watch`: which tables a commit touched, so a table flushed or deleted by
// another tool is noticed at once. Like ns::RtMonitor, the socket is opened
// on a helper thread inside the namespace and read from the caller's.
#pragma once

#include <string>
#include <vector>

#include "monitor.hpp"
#include "nftnl_ptr.hpp"
#include "result.hpp"

namespace steer {

struct NftBatch {
	std::vector<std::string> tables; // touched tables (a name per change)
	bool overflowed = false;         // the kernel dropped notifications
};

class NftMonitor {
public:
	static Result<NftMonitor> open(const std::string &netns);

	int fd() const;
	const ns::NetnsId &netns() const { return netns_; }

	// Every notification queued so far; never blocks.
	Result<NftBatch> read();

private:
	NftMonitor(nft::SocketPtr sock, ns::NetnsId id) : sock_(std::move(sock)), netns_(id) {}

	nft::SocketPtr sock_;
	ns::NetnsId netns_;
};

} // namespace steer
