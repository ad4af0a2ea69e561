// BPF_PROG_RUN cost per frame (the kernel's own timing over many repeats)
// of steer_ingress against an empty TC program, in the same run, for each
// class of frame: non-IPsec (the common case on a public interface), frames
// to a gateway address that are passed, and each steered class. A second
// steer_ingress, loaded with its gateway cache off, shows what a frame
// costs that reads the gateways hash (a cache miss: that plus the slot
// check and fill; bpf/lib/gateway_cache.h). Every
// (frame, program) pair runs once per round, rounds in shuffled order;
// medians are reported. Root needed (loads BPF, private netns).
// Usage: prog_run_bench [--json FILE] [--rounds R] [--seed S]
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "bpf_steer.hpp"
#include "empty_bpf.skel.h"
#include "packet_builder.hpp"

using steer::test::Bytes;
using steer::test::IcmpOptions;
using steer::test::PacketBuilder;

namespace {

constexpr uint32_t kRepeat = 1000000;

struct Row {
	const char *what;
	Bytes frame;
	std::vector<double> ns[3]; // per Prog
};

// The programs compared, in column order.
enum Prog { kEmpty, kSteer, kUncached };

// ns per run of one program on one frame, the kernel's average over kRepeat.
double ns_per_frame(int prog_fd, const Bytes &frame)
{
	__sk_buff ctx{};
	ctx.ifindex = 1;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
		    .data_size_in = static_cast<__u32>(frame.size()), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = kRepeat);
	if (bpf_prog_test_run_opts(prog_fd, &opts) != 0)
		return -1;
	return opts.duration;
}

double median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	size_t n = v.size();
	return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::vector<Row> rows()
{
	const char *peer = "192.0.2.9", *gw = "198.51.100.1";
	PacketBuilder quoted;
	quoted.ipv4(gw, peer).udp(4500, 4500).esp(0x1234, 1, 16);
	std::vector<Row> r = {
		{"tcp to another address", PacketBuilder().eth().ipv4(peer, "203.0.113.5").tcp({1000, 443}).pad_to(60).build(), {}},
		{"udp/53 to another address", PacketBuilder().eth().ipv4(peer, "203.0.113.5").udp(53, 53).raw(Bytes(40)).build(), {}},
		{"udp/53 to the gateway (passed)", PacketBuilder().eth().ipv4(peer, gw).udp(53, 53).raw(Bytes(40)).build(), {}},
		{"esp", PacketBuilder().eth().ipv4(peer, gw).esp(0x1234, 1, 100).build(), {}},
		{"ike udp/500", PacketBuilder().eth().ipv4(peer, gw).udp(500, 500).ike().build(), {}},
		{"nat-t esp udp/4500", PacketBuilder().eth().ipv4(peer, gw).udp(4500, 4500).esp(0x1234, 1, 100).build(), {}},
		{"nat-t ike udp/4500", PacketBuilder().eth().ipv4(peer, gw).udp(4500, 4500).natt_ike().build(), {}},
		{"nat-t keepalive", PacketBuilder().eth().ipv4(peer, gw).udp(4500, 4500).natt_keepalive().pad_to(60).build(), {}},
		{"icmp error quoting nat-t", PacketBuilder().eth().ipv4(peer, gw).icmp_error(IcmpOptions{}, quoted).build(), {}},
		{"ipv6 esp", PacketBuilder().eth().ipv6("2001:db8:1::9", "2001:db8:100::1").esp(0x1234, 1, 100).build(), {}},
	};
	return r;
}

// The gateways of the run: IPv4 and IPv6 public addresses on ifindex 1.
bool add_gateways(steer::SteerObject &obj)
{
	uint32_t flags = STEER_F_ESP | STEER_F_IKE | STEER_F_NATT | STEER_F_ICMP | STEER_F_FRAGMENTS;
	steer_gw_key k4{}, k6{};
	k4.ifindex = k6.ifindex = 1;
	k4.family = STEER_FAMILY_IPV4;
	k4.address = steer::test::to_steer_addr(steer::test::ip_addr("198.51.100.1"));
	k6.family = STEER_FAMILY_IPV6;
	k6.address = steer::test::to_steer_addr(steer::test::ip_addr("2001:db8:100::1"));
	steer_gw_value v4{7, flags, 500, 4500, 1}, v6{7, flags, 500, 4500, 2};
	return steer::put_gateway(obj.gateways_fd(), obj.ports_fd(), k4, v4).ok() &&
	       steer::put_gateway(obj.gateways_fd(), obj.ports_fd(), k6, v6).ok();
}

} // namespace

int main(int argc, char **argv)
{
	std::string json_out;
	int rounds = 7;
	uint64_t seed = static_cast<uint64_t>(std::time(nullptr));
	const char *usage = "usage: prog_run_bench [--json FILE] [--rounds R] [--seed S]\n";
	if (argc % 2 == 0) {
		std::fputs(usage, stderr);
		return 2;
	}
	for (int i = 1; i + 1 < argc; i += 2) {
		std::string k = argv[i], v = argv[i + 1];
		if (k == "--json") json_out = v;
		else if (k == "--rounds") rounds = std::stoi(v);
		else if (k == "--seed") seed = std::stoull(v);
		else {
			std::fprintf(stderr, "prog_run_bench: unknown option %s\n%s", k.c_str(), usage);
			return 2;
		}
	}
	if (::geteuid() != 0 || ::unshare(CLONE_NEWNET) != 0) {
		std::fprintf(stderr, "prog_run_bench: needs root (loads BPF, private netns)\n");
		return 1;
	}
	steer::LoadOptions uncached_opts;
	uncached_opts.gateway_cache = false;
	auto obj = steer::SteerObject::load({});
	auto uncached = steer::SteerObject::load(uncached_opts);
	empty_bpf *empty = empty_bpf__open_and_load();
	if (!obj || !uncached || !empty || !add_gateways(**obj) || !add_gateways(**uncached)) {
		std::fprintf(stderr, "prog_run_bench: cannot load programs\n");
		return 1;
	}
	const int fds[3] = {bpf_program__fd(empty->progs.ist_empty), (*obj)->ingress_fd(),
			    (*uncached)->ingress_fd()};
	std::vector<Row> table = rows();
	// One job = one (row, program) pair; all of them each round, shuffled.
	std::vector<std::pair<size_t, Prog>> jobs;
	for (size_t i = 0; i < table.size(); i++)
		for (Prog p : {kEmpty, kSteer, kUncached})
			jobs.push_back({i, p});
	std::mt19937_64 rng(seed);
	for (int r = 0; r < rounds; r++) {
		std::shuffle(jobs.begin(), jobs.end(), rng);
		for (auto [i, prog] : jobs)
			table[i].ns[prog].push_back(ns_per_frame(fds[prog], table[i].frame));
	}
	nlohmann::json j{{"tool", "prog_run_bench"}, {"repeat", kRepeat}, {"rounds", rounds}, {"seed", seed}};
	j["rows"] = nlohmann::json::array();
	std::printf("%-32s %10s %14s %8s %10s %8s\n", "frame", "empty ns", "steer_ingress", "ratio",
		    "no cache", "ratio");
	for (const Row &r : table) {
		double e = median(r.ns[kEmpty]), s = median(r.ns[kSteer]), u = median(r.ns[kUncached]);
		std::printf("%-32s %10.1f %14.1f %7.2fx %10.1f %7.2fx\n", r.what, e, s, s / e, u, u / e);
		j["rows"].push_back({{"frame", r.what}, {"bytes", r.frame.size()}, {"empty_ns", e},
				     {"steer_ns", s}, {"uncached_ns", u}, {"empty_runs", r.ns[kEmpty]},
				     {"steer_runs", r.ns[kSteer]}, {"uncached_runs", r.ns[kUncached]}});
	}
	if (!json_out.empty())
		std::ofstream(json_out) << j.dump(1) << "\n";
	empty_bpf__destroy(empty);
	return 0;
}
