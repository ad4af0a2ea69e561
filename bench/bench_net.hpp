// Pieces of the datapath benchmark that touch the kernel: TC attachment at
// a chosen priority, the bench-only programs (floor, sink), the AF_PACKET
// generator and the CPU clocks that give the per-packet cost.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "result.hpp"

struct datapath_bpf;

namespace steer::bench {

// clsact on netns/ifname (an existing one is fine) plus a direct-action
// filter at `priority`, ingress. Other priorities stay untouched, so a sink
// at priority 2 runs after whatever priority 1 leaves (TC_ACT_UNSPEC).
Status tc_ingress(const std::string &netns, const std::string &ifname, uint32_t priority,
		  int prog_fd);

// ifindex of an interface inside a namespace.
Result<int> ifindex_in(const std::string &netns, const std::string &ifname);

// One loaded copy of bench/datapath.bpf.c. Each attachment point has its
// own copy, so each sink's `delivered` counts that point alone.
class BenchProgs {
public:
	static Result<std::unique_ptr<BenchProgs>> load(uint32_t floor_target);
	BenchProgs(const BenchProgs &) = delete;
	BenchProgs &operator=(const BenchProgs &) = delete;
	~BenchProgs();

	int floor_fd() const;
	int sink_fd() const;
	uint64_t delivered() const; // frames the sink counted so far

private:
	explicit BenchProgs(::datapath_bpf *skel) : skel_(skel) {}
	::datapath_bpf *skel_;
};

// The generator: an AF_PACKET socket on one interface of one namespace,
// sending with sendmmsg in batches and bypassing the qdisc layer (veth
// has none anyway), so the syscall, the veth and the receive path are all
// that run.
class Generator {
public:
	static Result<std::unique_ptr<Generator>> open(const std::string &netns,
						       const std::string &ifname);
	~Generator();
	// Sends the frame n times; returns how many the kernel took.
	uint64_t send(const std::vector<uint8_t> &frame, uint64_t n) const;

private:
	Generator(int fd, int ifindex) : fd_(fd), ifindex_(ifindex) {}
	int fd_;
	int ifindex_;
};

// CPU time that sending costs: this thread's own (the syscall plus the
// softirq it runs on return: this kernel has no IRQ_TIME_ACCOUNTING, so
// softirq work done in task context is charged to the task) plus what
// ksoftirqd of the pinned CPU ran meanwhile (softirq work deferred there).
class CpuClock {
public:
	// Pins the calling thread to `cpu` and finds that CPU's ksoftirqd.
	static Result<CpuClock> pin(int cpu);
	uint64_t now_ns() const; // thread CPU + ksoftirqd runtime, ns

private:
	explicit CpuClock(int ksoftirqd_pid) : ksoftirqd_pid_(ksoftirqd_pid) {}
	int ksoftirqd_pid_;
};

} // namespace steer::bench
