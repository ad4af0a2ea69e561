// One `up`/`down` at a time per pin tree: a second run waits for the first
// instead of interleaving its netlink and map edits with it.
#pragma once

#include <string>

#include "fd.hpp"
#include "result.hpp"

namespace steer {

// Holds an exclusive flock on /run/ipsec-steer/<escaped bpffs root>.lock
// until destroyed (or the process dies: the kernel drops it, so a crash
// never leaves a stale lock).
class PinTreeLock {
public:
	static Result<PinTreeLock> acquire(const std::string &bpffs_root);

private:
	explicit PinTreeLock(Fd fd) : fd_(std::move(fd)) {}
	Fd fd_;
};

} // namespace steer
