// Pieces of the datapath benchmark that touch the kernel: TC attachment at
// a chosen priority, the bench-only programs (floor, sink), the AF_PACKET
// generator and the CPU clocks that give the per-packet cost.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fd.hpp"
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
	int gen_fd() const;
	// Sets what ist_gen restores at the head of every frame.
	void set_gen_head(const std::vector<uint8_t> &frame);
	uint64_t delivered() const; // frames the sink counted so far

private:
	explicit BenchProgs(::datapath_bpf *skel) : skel_(skel) {}
	::datapath_bpf *skel_;
};

enum class GenKind {
	live,     // LiveFrameGenerator (default)
	afpacket, // PacketGenerator
};

// A packet generator: injects n copies of a frame into one interface of
// one namespace, in the calling thread (so its CPU clock sees the work).
class Generator {
public:
	virtual ~Generator() = default;
	// Sends the frame n times; returns how many the kernel took.
	virtual uint64_t send(const std::vector<uint8_t> &frame, uint64_t n) const = 0;
};

// AF_PACKET socket on the interface, sendmmsg in batches, bypassing the
// qdisc layer (veth has none anyway): the syscall, the veth and the
// receive path of its peer are all that run. Injects at the veth's PEER.
class PacketGenerator : public Generator {
public:
	static Result<std::unique_ptr<Generator>> open(const std::string &netns,
						       const std::string &ifname);
	~PacketGenerator() override;
	uint64_t send(const std::vector<uint8_t> &frame, uint64_t n) const override;

private:
	PacketGenerator(int fd, int ifindex) : fd_(fd), ifindex_(ifindex) {}
	int fd_;
	int ifindex_;
};

// BPF_PROG_RUN of ist_gen in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES):
// the kernel builds an skb per frame and hands batches of them to the
// receive path of the interface itself, synchronously in this thread, with
// no syscall, socket or veth per frame. The calling thread enters the
// namespace for the run (the ifindex is looked up in the caller's).
// `batch` frames go to the receive path as one list (the kernel's limit is
// 256); 1 delivers them one at a time, like a veth's backlog does.
class LiveFrameGenerator : public Generator {
public:
	static Result<std::unique_ptr<Generator>> open(const std::string &netns,
						       const std::string &ifname, uint32_t batch);
	uint64_t send(const std::vector<uint8_t> &frame, uint64_t n) const override;

private:
	LiveFrameGenerator(std::unique_ptr<BenchProgs> progs, Fd netns, Fd home, int ifindex,
			   uint32_t batch)
		: progs_(std::move(progs)), netns_(std::move(netns)), home_(std::move(home)),
		  ifindex_(ifindex), batch_(batch) {}
	std::unique_ptr<BenchProgs> progs_;
	Fd netns_, home_; // the router's namespace; the one to come back to
	int ifindex_;
	uint32_t batch_;
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
