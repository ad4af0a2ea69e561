// Per-packet CPU cost of getting a frame into the gateway namespace (and
// back out), every variant in its own namespaces, measured in shuffled
// order over several rounds so that the noise of a shared machine falls on
// all variants alike. Writes one JSON document (bench/README.md explains
// the method); bench/report turns it into tables and ratios. Root needed.
//
// Usage: datapath_bench [--rounds R] [--packets N] [--cpu C] [--seed S] [--out FILE]
//                       [--gen live|afpacket] [--only SUBSTRING]
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>

#include "datapath_topo.hpp"
#include "packet_builder.hpp"

using namespace steer;
using namespace steer::bench;
using steer::test::Bytes;
using steer::test::EthOptions;
using steer::test::IkeOptions;
using steer::test::PacketBuilder;

namespace {

std::atomic<bool> g_stop{false};

enum class Traffic { esp4, udp500, udp4500, esp6, tcp_other, ret_esp4 };

const char *traffic_name(Traffic t)
{
	switch (t) {
	case Traffic::esp4: return "esp";
	case Traffic::udp500: return "udp500";
	case Traffic::udp4500: return "udp4500";
	case Traffic::esp6: return "esp6";
	case Traffic::tcp_other: return "tcp_other";
	case Traffic::ret_esp4: return "esp_out";
	}
	return "?";
}

struct Options {
	int rounds = 7;
	uint64_t packets = 200000;
	int cpu = -1; // default: the last CPU
	uint64_t seed = 0;
	std::string out;
	GenKind gen = GenKind::live;
	std::string gen_note; // why the generator is not the one asked for
	std::string only; // comma-separated substrings of "variant/traffic" to run
};

struct Cell {
	Variant variant;
	Traffic traffic;
	Topology *topo = nullptr;
	Bytes frame;
	std::vector<double> ns_per_packet;
	uint64_t sent = 0, delivered = 0;
};

Bytes frame_for(Traffic t, const Topology &topo)
{
	EthOptions eth;
	std::copy_n(topo.dst_mac().begin(), 6, eth.dst.begin());
	std::copy_n(topo.src_mac().begin(), 6, eth.src.begin());
	PacketBuilder b;
	b.eth(eth);
	switch (t) {
	case Traffic::esp4: return b.ipv4(kPeer4, kPublic4).esp(0x1234, 1, 64).build();
	case Traffic::udp500: return b.ipv4(kPeer4, kPublic4).udp(500, 500).ike(IkeOptions{.body = Bytes(64)}).build();
	case Traffic::udp4500: return b.ipv4(kPeer4, kPublic4).udp(4500, 4500).esp(0x1234, 1, 64).build();
	case Traffic::esp6: return b.ipv6(kPeer6, kPublic6).esp(0x1234, 1, 64).build();
	case Traffic::tcp_other: return b.ipv4(kPeer4, kOther4).tcp({.sport = 40000, .dport = 443}).raw(Bytes(64)).build();
	case Traffic::ret_esp4: return b.ipv4(kPublic4, kPeer4).esp(0x1234, 1, 64).build();
	}
	return {};
}

// The (variant, traffic) pairs measured; each runs on its variant's topology.
std::vector<std::pair<Variant, Traffic>> plan()
{
	std::vector<std::pair<Variant, Traffic>> cells;
	for (Variant v : {Variant::floor, Variant::steer_peer, Variant::steer_plain, Variant::u32_mirred,
			  Variant::nft_fwd, Variant::routing})
		for (Traffic t : {Traffic::esp4, Traffic::udp500, Traffic::udp4500, Traffic::esp6})
			cells.push_back({v, t});
	cells.push_back({Variant::steer_nocache, Traffic::esp4});
	cells.push_back({Variant::steer_1k, Traffic::esp4});
	cells.push_back({Variant::steer_64k, Traffic::esp4});
	for (Variant v : {Variant::none, Variant::empty, Variant::steer_peer})
		cells.push_back({v, Traffic::tcp_other});
	cells.push_back({Variant::ret_bpf, Traffic::ret_esp4});
	cells.push_back({Variant::ret_route, Traffic::ret_esp4});
	cells.push_back({Variant::ret_none, Traffic::ret_esp4});
	for (Variant v : {Variant::fw_10, Variant::fw_10k, Variant::fw_100k, Variant::fw_interval_100k})
		cells.push_back({v, Traffic::esp6});
	return cells;
}

// Sends n frames and returns CPU ns per frame; counts what the sink saw.
double burst(Cell &c, const CpuClock &clock, uint64_t n)
{
	const bool at_router = c.traffic == Traffic::tcp_other;
	uint64_t d0 = c.topo->delivered(at_router);
	uint64_t t0 = clock.now_ns();
	uint64_t sent = c.topo->generator().send(c.frame, n);
	// Deferred softirq work (ksoftirqd) may still be running: wait for the
	// count to settle, then read the clocks, so that work is included.
	auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
	while (c.topo->delivered(at_router) - d0 < sent && std::chrono::steady_clock::now() < deadline)
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	uint64_t t1 = clock.now_ns();
	c.sent += sent;
	c.delivered += c.topo->delivered(at_router) - d0;
	return static_cast<double>(t1 - t0) / static_cast<double>(sent ? sent : 1);
}

// A round is kBursts passes over every cell in a fresh shuffled order, one
// burst of n / kBursts frames per cell and pass; a cell's figure for the
// round is its cheapest burst. Interference on a shared machine (another
// tenant's cache footprint, an interrupt, a sibling hyperthread) only ever
// adds time, and interleaving at burst granularity spreads it over all
// cells alike; rounds then give medians.
constexpr int kBursts = 10;

void round_of(std::vector<Cell> &cells, const CpuClock &clock, uint64_t n, std::mt19937_64 &rng)
{
	std::vector<size_t> order(cells.size());
	for (size_t i = 0; i < order.size(); i++)
		order[i] = i;
	std::vector<double> best(cells.size(), 0);
	for (int b = 0; b < kBursts && !g_stop; b++) {
		std::shuffle(order.begin(), order.end(), rng);
		for (size_t i : order) {
			double ns = burst(cells[i], clock, std::max<uint64_t>(n / kBursts, 1));
			best[i] = b == 0 ? ns : std::min(best[i], ns);
		}
	}
	if (g_stop)
		return;
	for (size_t i = 0; i < cells.size(); i++)
		cells[i].ns_per_packet.push_back(best[i]);
}

// --only: comma-separated substrings of "variant/traffic"; empty = all.
bool selected(const std::string &only, const std::string &id)
{
	if (only.empty())
		return true;
	size_t start = 0;
	while (start <= only.size()) {
		size_t comma = std::min(only.find(',', start), only.size());
		if (comma > start && id.find(only.substr(start, comma - start)) != std::string::npos)
			return true;
		start = comma + 1;
	}
	return false;
}

double median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	size_t n = v.size();
	return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

constexpr const char *kUsage =
	"usage: datapath_bench [--rounds R] [--packets N] [--cpu C] [--seed S] [--out FILE]\n"
	"                      [--gen live|afpacket] [--only SUBSTRING[,SUBSTRING...]]\n";

Options parse_args(int argc, char **argv)
{
	Options o;
	// Every option takes a value: a lone word (--help too) is not a run.
	if (argc % 2 == 0) {
		std::fputs(kUsage, stderr);
		std::exit(2);
	}
	for (int i = 1; i + 1 < argc; i += 2) {
		std::string k = argv[i], v = argv[i + 1];
		if (k == "--rounds") o.rounds = std::stoi(v);
		else if (k == "--packets") o.packets = std::stoull(v);
		else if (k == "--cpu") o.cpu = std::stoi(v);
		else if (k == "--seed") o.seed = std::stoull(v);
		else if (k == "--out") o.out = v;
		else if (k == "--only") o.only = v;
		else if (k == "--gen" && (v == "live" || v == "afpacket"))
			o.gen = v == "live" ? GenKind::live : GenKind::afpacket;
		else {
			std::fprintf(stderr, "datapath_bench: unknown option %s\n%s", k.c_str(), kUsage);
			std::exit(2);
		}
	}
	if (o.cpu < 0)
		o.cpu = static_cast<int>(std::thread::hardware_concurrency()) - 1;
	if (o.seed == 0)
		o.seed = static_cast<uint64_t>(::time(nullptr));
	return o;
}

nlohmann::json to_json(const Options &o, const std::vector<Cell> &cells)
{
	nlohmann::json j{{"tool", "datapath_bench"}, {"packets_per_run", o.packets},
			 {"generator", o.gen == GenKind::live ? "bpf_prog_run_live_frames" : "af_packet"},
			 {"generator_note", o.gen_note},
			 {"rounds", o.rounds}, {"cpu", o.cpu}, {"seed", o.seed}};
	j["cells"] = nlohmann::json::array();
	for (const Cell &c : cells)
		j["cells"].push_back({{"variant", variant_name(c.variant)},
				      {"traffic", traffic_name(c.traffic)},
				      {"frame_bytes", c.frame.size()},
				      {"runs_ns", c.ns_per_packet},
				      {"median_ns", median(c.ns_per_packet)},
				      {"sent", c.sent},
				      {"delivered", c.delivered},
				      {"delivered_ok", c.sent == c.delivered && c.sent > 0}});
	return j;
}

// The topologies and cells of the plan that --only selects; false after
// saying why when a topology cannot be built.
bool build_cells(const Options &opts, std::vector<std::unique_ptr<Topology>> &topos, std::vector<Cell> &cells)
{
	for (auto [v, t] : plan()) {
		std::string id = std::string(variant_name(v)) + "/" + traffic_name(t);
		if (!selected(opts.only, id))
			continue;
		auto it = std::find_if(topos.begin(), topos.end(), [v = v](auto &p) { return p->variant() == v; });
		if (it == topos.end()) {
			topos.push_back(std::make_unique<Topology>(v, static_cast<int>(topos.size()), opts.gen));
			if (Status st = topos.back()->build(); !st || g_stop) {
				std::fprintf(stderr, "datapath_bench: build %s: %s\n", variant_name(v),
					     st ? "interrupted" : st.error().message().c_str());
				return false;
			}
			it = topos.end() - 1;
		}
		cells.push_back({v, t, it->get(), frame_for(t, **it), {}, 0, 0});
	}
	return true;
}

} // namespace

int main(int argc, char **argv)
{
	Options opts = parse_args(argc, argv);
	if (::geteuid() != 0) {
		std::fprintf(stderr, "datapath_bench: needs root (namespaces, BPF)\n");
		return 1;
	}
	// A signal ends the run between measurements, so destructors remove
	// every namespace this process made.
	struct sigaction sa{};
	sa.sa_handler = [](int) { g_stop = true; };
	for (int sig : {SIGINT, SIGTERM, SIGHUP})
		::sigaction(sig, &sa, nullptr);
	// Output into a closed pipe (`| head`) must not kill the run before
	// the destructors remove its namespaces.
	::signal(SIGPIPE, SIG_IGN);
	// clsact already present is expected (EEXIST); libbpf would print it.
	route_libbpf_logs();
	auto clock = CpuClock::pin(opts.cpu);
	if (!clock) {
		std::fprintf(stderr, "datapath_bench: %s\n", clock.error().message().c_str());
		return 1;
	}
	std::vector<std::unique_ptr<Topology>> topos;
	std::vector<Cell> cells;
	if (!build_cells(opts, topos, cells))
		return 1;
	// Some kernels refuse live frames (EPERM seen on a sandboxed 6.18):
	// then every cell would measure nothing. Fall back to AF_PACKET.
	if (opts.gen == GenKind::live && !cells.empty() && cells[0].topo->generator().send(cells[0].frame, 1) == 0) {
		std::fprintf(stderr, "datapath_bench: live frames refused; using the AF_PACKET generator\n");
		cells.clear();
		topos.clear();
		opts.gen = GenKind::afpacket;
		opts.gen_note = "BPF_PROG_RUN live frames refused by this kernel: AF_PACKET generator used";
		if (!build_cells(opts, topos, cells))
			return 1;
	}
	std::mt19937_64 rng(opts.seed);
	// Warm-up (caches, JIT images, neighbour entries), not recorded.
	for (Cell &c : cells)
		(void)burst(c, *clock, opts.packets / 10);
	for (Cell &c : cells)
		c.sent = c.delivered = 0;
	for (int r = 0; r < opts.rounds && !g_stop; r++) {
		round_of(cells, *clock, opts.packets, rng);
		std::fprintf(stderr, "datapath_bench: round %d/%d done\n", r + 1, opts.rounds);
	}
	nlohmann::json j = to_json(opts, cells);
	if (opts.out.empty())
		std::cout << j.dump(1) << "\n";
	else
		std::ofstream(opts.out) << j.dump(1) << "\n";
	bool all_ok = std::all_of(cells.begin(), cells.end(),
				  [](const Cell &c) { return c.sent > 0 && c.sent == c.delivered; });
	return g_stop ? 1 : all_ok ? 0 : 3;
}
