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

#include <cerrno>
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

uint64_t BenchProgs::delivered() const
{
	// The .bss is mmapped: a plain volatile read sees the program's adds.
	return *reinterpret_cast<volatile __u64 *>(&skel_->bss->delivered);
}

Result<std::unique_ptr<Generator>> Generator::open(const std::string &netns,
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
	return std::unique_ptr<Generator>(new Generator(fd, ifindex));
}

Generator::~Generator()
{
	::close(fd_);
}

uint64_t Generator::send(const std::vector<uint8_t> &frame, uint64_t n) const
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
