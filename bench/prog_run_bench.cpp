// BPF_PROG_RUN cost per frame (the kernel's own timing over many repeats)
// of steer_ingress against an empty TC program, in the same run, for a
// non-IPsec frame (the common case on a public interface), ESP and NAT-T
// to a configured gateway. Prints a table and the ratios; root needed.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "bpf_steer.hpp"
#include "empty_bpf.skel.h"
#include "packet_builder.hpp"

using steer::test::Bytes;
using steer::test::PacketBuilder;

namespace {

constexpr uint32_t kRepeat = 2000000;
constexpr int kRounds = 7;

// Median over rounds of the kernel-reported ns per run.
double ns_per_frame(int prog_fd, const Bytes &frame)
{
	std::vector<double> rounds;
	for (int r = 0; r < kRounds; r++) {
		__sk_buff ctx{};
		ctx.ifindex = 1;
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
			    .data_size_in = static_cast<__u32>(frame.size()), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = kRepeat);
		if (bpf_prog_test_run_opts(prog_fd, &opts) != 0)
			return -1;
		rounds.push_back(opts.duration);
	}
	std::sort(rounds.begin(), rounds.end());
	return rounds[rounds.size() / 2];
}

struct Row {
	const char *what;
	Bytes frame;
};

} // namespace

int main()
{
	if (::geteuid() != 0 || ::unshare(CLONE_NEWNET) != 0) {
		std::fprintf(stderr, "prog_run_bench: needs root (loads BPF, private netns)\n");
		return 1;
	}
	auto obj = steer::SteerObject::load({});
	empty_bpf *empty = empty_bpf__open_and_load();
	if (!obj || !empty) {
		std::fprintf(stderr, "prog_run_bench: cannot load programs\n");
		return 1;
	}
	steer_gw_key key{};
	key.ifindex = 1;
	key.family = STEER_FAMILY_IPV4;
	key.address = steer::test::to_steer_addr(steer::test::ip_addr("198.51.100.1"));
	steer_gw_value value{7, STEER_F_ESP | STEER_F_IKE | STEER_F_NATT | STEER_F_ICMP, 500, 4500, 1};
	if (!steer::put_gateway((*obj)->gateways_fd(), (*obj)->ports_fd(), key, value).ok())
		return 1;
	std::vector<Row> rows = {
		{"tcp to another address", PacketBuilder().eth().ipv4("192.0.2.9", "203.0.113.5").tcp({1000, 443}).pad_to(60).build()},
		{"udp/53 to the gateway", PacketBuilder().eth().ipv4("192.0.2.9", "198.51.100.1").udp(53, 53).raw(Bytes(40)).build()},
		{"esp to the gateway", PacketBuilder().eth().ipv4("192.0.2.9", "198.51.100.1").esp(0x1234, 1, 100).build()},
		{"nat-t esp to the gateway", PacketBuilder().eth().ipv4("192.0.2.9", "198.51.100.1").udp(4500, 4500).esp(0x1234, 1, 100).build()},
	};
	int empty_fd = bpf_program__fd(empty->progs.ist_empty);
	std::printf("%-28s %12s %14s %8s\n", "frame", "empty ns", "steer_ingress", "ratio");
	for (const auto &r : rows) {
		double floor = ns_per_frame(empty_fd, r.frame);
		double ours = ns_per_frame((*obj)->ingress_fd(), r.frame);
		std::printf("%-28s %12.1f %14.1f %7.2fx\n", r.what, floor, ours, ours / floor);
	}
	empty_bpf__destroy(empty);
	return 0;
}
