#include "bench_net.hpp"

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "datapath_bpf.skel.h"
#include "netns.hpp"

namespace steer::bench {

Result<int> ifindex_in(const std::string &netns, const std::string &ifname)
{
	int idx = 0;
	Status st = ns::run_in_netns(netns, [&]() -> Status {
		idx = static_cast<int>(::if_nametoindex(ifname.c_str()));
		return idx ? Status{} : sys_error(errno, "no such interface", netns + "/" + ifname);
	});
	if (!st)
		return st.error();
	return idx;
}

Status tc_ingress(const std::string &netns, const std::string &ifname, uint32_t priority,
		  int prog_fd)
{
	return ns::run_in_netns(netns, [&]() -> Status {
		int ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
		if (!ifindex)
			return sys_error(errno, "no such interface", netns + "/" + ifname);
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
		int err = bpf_tc_hook_create(&hook);
		if (err && err != -EEXIST)
			return sys_error(err, "create clsact", ifname);
		LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = 1, .priority = priority);
		err = bpf_tc_attach(&hook, &opts);
		if (err)
			return sys_error(err, "attach tc filter prio " + std::to_string(priority), ifname);
		return {};
	});
}

Result<std::unique_ptr<BenchProgs>> BenchProgs::load(uint32_t floor_target)
{
	datapath_bpf *skel = datapath_bpf__open();
	if (!skel)
		return sys_error(errno, "open bench BPF object");
	skel->rodata->floor_target = floor_target;
	if (int err = datapath_bpf__load(skel); err) {
		datapath_bpf__destroy(skel);
		return sys_error(err, "load bench BPF object");
	}
	return std::unique_ptr<BenchProgs>(new BenchProgs(skel));
}

BenchProgs::~BenchProgs()
{
	datapath_bpf__destroy(skel_);
}

int BenchProgs::floor_fd() const
{
	return bpf_program__fd(skel_->progs.ist_floor);
}

int BenchProgs::sink_fd() const
{
	return bpf_program__fd(skel_->progs.ist_sink);
}

int BenchProgs::gen_fd() const
{
	return bpf_program__fd(skel_->progs.ist_gen);
}

void BenchProgs::set_gen_head(const std::vector<uint8_t> &frame)
{
	auto &head = skel_->bss->gen_head;
	std::memset(head, 0, sizeof(head));
	std::memcpy(head, frame.data(), std::min(frame.size(), sizeof(head)));
}

uint64_t BenchProgs::delivered() const
{
	// The .bss is mmapped: a plain volatile read sees the program's adds.
	return *reinterpret_cast<volatile __u64 *>(&skel_->bss->delivered);
}

Result<std::unique_ptr<Generator>> PacketGenerator::open(const std::string &netns,
						   const std::string &ifname)
{
	int fd = -1, ifindex = 0;
	Status st = ns::run_in_netns(netns, [&]() -> Status {
		// Protocol 0: a sending-only socket, so it never queues what it
		// would otherwise receive (that would cost CPU in the measured path).
		fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return sys_error(errno, "AF_PACKET socket", ifname);
		ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
		if (!ifindex)
			return sys_error(errno, "no such interface", netns + "/" + ifname);
		int one = 1;
		if (::setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) != 0)
			return sys_error(errno, "PACKET_QDISC_BYPASS", ifname);
		return {};
	});
	if (!st) {
		if (fd >= 0)
			::close(fd);
		return st.error();
	}
	return std::unique_ptr<Generator>(new PacketGenerator(fd, ifindex));
}

PacketGenerator::~PacketGenerator()
{
	::close(fd_);
}

uint64_t PacketGenerator::send(const std::vector<uint8_t> &frame, uint64_t n) const
{
	constexpr unsigned kBatch = 256;
	sockaddr_ll sll{};
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = ifindex_;
	sll.sll_halen = ETH_ALEN;
	iovec iov{const_cast<uint8_t *>(frame.data()), frame.size()};
	std::vector<mmsghdr> msgs(kBatch);
	for (auto &m : msgs) {
		m.msg_hdr.msg_name = &sll;
		m.msg_hdr.msg_namelen = sizeof(sll);
		m.msg_hdr.msg_iov = &iov;
		m.msg_hdr.msg_iovlen = 1;
	}
	uint64_t sent = 0;
	int failures = 0;
	while (sent < n && failures < 1000) {
		unsigned want = static_cast<unsigned>(std::min<uint64_t>(kBatch, n - sent));
		int k = ::sendmmsg(fd_, msgs.data(), want, 0);
		if (k <= 0) {
			failures++; // ENOBUFS under memory pressure: try again
			continue;
		}
		sent += static_cast<uint64_t>(k);
	}
	return sent;
}

Result<std::unique_ptr<Generator>> LiveFrameGenerator::open(const std::string &netns,
							     const std::string &ifname, uint32_t batch)
{
	auto progs = BenchProgs::load(0);
	if (!progs)
		return progs.error();
	auto idx = ifindex_in(netns, ifname);
	if (!idx)
		return idx.error();
	Fd ns(::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC));
	if (!ns.valid())
		return sys_error(errno, "open network namespace", netns);
	Fd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
	if (!home.valid())
		return sys_error(errno, "open own network namespace");
	return std::unique_ptr<Generator>(
		new LiveFrameGenerator(std::move(*progs), std::move(ns), std::move(home), *idx, batch));
}

uint64_t LiveFrameGenerator::send(const std::vector<uint8_t> &frame, uint64_t n) const
{
	progs_->set_gen_head(frame);
	xdp_md ctx{};
	ctx.ingress_ifindex = static_cast<uint32_t>(ifindex_);
	ctx.data_end = static_cast<uint32_t>(frame.size()); // the kernel insists
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
		    .data_size_in = static_cast<uint32_t>(frame.size()), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = static_cast<int>(n),
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = batch_);
	if (::setns(netns_.get(), CLONE_NEWNET) != 0)
		return 0;
	int err = bpf_prog_test_run_opts(progs_->gen_fd(), &opts);
	// Back home whatever happened: later steps name namespaces from here.
	if (::setns(home_.get(), CLONE_NEWNET) != 0)
		std::abort();
	if (err) {
		// Once is enough to explain a run that delivered nothing.
		static bool told = false;
		if (!told)
			std::fprintf(stderr, "bench: BPF_PROG_RUN live frames: %s\n", std::strerror(-err));
		told = true;
		return 0;
	}
	return n;
}

namespace {

// pid of ksoftirqd/<cpu>, found by name in /proc.
int find_ksoftirqd(int cpu)
{
	const std::string want = "ksoftirqd/" + std::to_string(cpu);
	DIR *d = ::opendir("/proc");
	int found = 0;
	while (dirent *e = d ? ::readdir(d) : nullptr) {
		int pid = std::atoi(e->d_name);
		if (pid <= 0)
			continue;
		std::ifstream f("/proc/" + std::string(e->d_name) + "/comm");
		std::string comm;
		if (std::getline(f, comm) && comm == want) {
			found = pid;
			break;
		}
	}
	if (d)
		::closedir(d);
	return found;
}

// First field of /proc/<pid>/schedstat: time on CPU, ns.
uint64_t schedstat_ns(int pid)
{
	std::ifstream f("/proc/" + std::to_string(pid) + "/schedstat");
	uint64_t ns = 0;
	f >> ns;
	return ns;
}

} // namespace

Result<CpuClock> CpuClock::pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (::sched_setaffinity(0, sizeof(set), &set) != 0)
		return sys_error(errno, "pin to CPU " + std::to_string(cpu));
	int pid = find_ksoftirqd(cpu);
	if (!pid)
		return plain_error("no ksoftirqd for CPU " + std::to_string(cpu));
	return CpuClock(pid);
}

uint64_t CpuClock::now_ns() const
{
	timespec ts{};
	::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec) +
	       schedstat_ns(ksoftirqd_pid_);
}

} // namespace steer::bench
