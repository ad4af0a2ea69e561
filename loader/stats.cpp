// `stats`: per gateway and class, packets and bytes steered in (stats) and
// sent out by steer_return (stats_out), from the pinned per-CPU maps.
#include <bpf/bpf.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli.hpp"
#include "commands.hpp"
#include "config.hpp"
#include "fd.hpp"
#include "gateway_side.hpp"
#include "maps_sync.hpp"
#include "pins.hpp"

namespace steer {

namespace {

struct GatewayCounters {
	std::string name;
	uint32_t gateway_id = 0;
	ClassCounters in{}, out{};
};

Result<GatewayCounters> read_gateway(const config::Config &cfg, const config::Gateway &gw)
{
	GatewayCounters c;
	c.name = gw.name;
	auto pub = read_public_side(gw.router_netns, gw.public_interface);
	if (!pub)
		return pub.error();
	const std::string dir = pin_dir(cfg.bpffs, gw.router_netns);
	Fd gateways(bpf_obj_get((dir + "/gateways").c_str()));
	Fd stats(bpf_obj_get((dir + "/stats").c_str()));
	Fd stats_out(bpf_obj_get((dir + "/stats_out").c_str()));
	if (!gateways.valid() || !stats.valid() || !stats_out.valid())
		return plain_error("no pinned maps (run `ipsec-steer up` first)", dir);
	steer_gw_key key = gateway_key(pub->ifindex, gw.public_address);
	steer_gw_value value{};
	if (bpf_map_lookup_elem(gateways.get(), &key, &value) != 0)
		return plain_error("gateway not in the gateways map (run `ipsec-steer up`)", gw.name);
	c.gateway_id = value.gateway_id;
	auto in = read_counters(stats.get(), value.gateway_id);
	auto out = read_counters(stats_out.get(), value.gateway_id);
	if (!in || !out)
		return in ? out.error() : in.error();
	c.in = *in;
	c.out = *out;
	return c;
}

nlohmann::json counters_json(const ClassCounters &cc)
{
	nlohmann::json j = nlohmann::json::object();
	for (uint32_t k = 0; k < STEER_CLASS_MAX; k++)
		j[class_name(k)] = {{"packets", cc[k].packets}, {"bytes", cc[k].bytes}};
	return j;
}

void print_prometheus(const std::vector<GatewayCounters> &all)
{
	std::printf("# HELP ipsec_steer_packets_total Packets steered, by gateway, class and direction.\n"
		    "# TYPE ipsec_steer_packets_total counter\n");
	for (const char *metric : {"packets", "bytes"})
		for (const auto &g : all)
			for (auto [dir, cc] : {std::pair{"in", &g.in}, std::pair{"out", &g.out}})
				for (uint32_t k = 0; k < STEER_CLASS_MAX; k++)
					std::printf("ipsec_steer_%s_total{gateway=\"%s\",class=\"%s\",direction=\"%s\"} %llu\n",
						    metric, g.name.c_str(), class_name(k), dir,
						    static_cast<unsigned long long>(metric[0] == 'p' ? (*cc)[k].packets
											    : (*cc)[k].bytes));
}

void print_table(const std::vector<GatewayCounters> &all, const std::vector<GatewayCounters> *prev,
		 double seconds)
{
	std::printf("%-12s %-15s %12s %14s %12s %14s%s\n", "GATEWAY", "CLASS", "IN PKTS", "IN BYTES",
		    "OUT PKTS", "OUT BYTES", prev ? "     IN PPS" : "");
	for (size_t i = 0; i < all.size(); i++)
		for (uint32_t k = 0; k < STEER_CLASS_MAX; k++) {
			const auto &g = all[i];
			std::printf("%-12s %-15s %12llu %14llu %12llu %14llu", g.name.c_str(), class_name(k),
				    (unsigned long long)g.in[k].packets, (unsigned long long)g.in[k].bytes,
				    (unsigned long long)g.out[k].packets, (unsigned long long)g.out[k].bytes);
			if (prev && i < prev->size())
				std::printf(" %10.1f", (g.in[k].packets - (*prev)[i].in[k].packets) / seconds);
			std::printf("\n");
		}
}

Result<std::vector<GatewayCounters>> read_all(const config::Config &cfg)
{
	std::vector<GatewayCounters> all;
	for (const auto &gw : cfg.gateways) {
		auto c = read_gateway(cfg, gw);
		if (!c)
			return c.error();
		all.push_back(*c);
	}
	return all;
}

} // namespace

int cmd_stats(const CommandOptions &o)
{
	auto cfg = config::load(o.config_path);
	if (!cfg) {
		std::fprintf(stderr, "%s\n", cfg.error().message().c_str());
		return exit_usage;
	}
	std::vector<GatewayCounters> prev;
	for (bool first = true;; first = false) {
		auto all = read_all(*cfg);
		if (!all) {
			std::fprintf(stderr, "ipsec-steer: %s\n", all.error().message().c_str());
			return exit_failure;
		}
		if (o.json) {
			nlohmann::json doc = {{"gateways", nlohmann::json::array()}};
			for (const auto &g : *all)
				doc["gateways"].push_back({{"name", g.name}, {"gateway_id", g.gateway_id},
							   {"in", counters_json(g.in)}, {"out", counters_json(g.out)}});
			std::printf("%s\n", doc.dump(2).c_str());
		} else if (o.prometheus) {
			print_prometheus(*all);
		} else {
			if (o.watch_seconds > 0)
				std::printf("\033[H\033[2J");
			print_table(*all, first ? nullptr : &prev, o.watch_seconds);
		}
		std::fflush(stdout);
		if (o.watch_seconds <= 0)
			return exit_ok;
		prev = *all;
		std::this_thread::sleep_for(std::chrono::duration<double>(o.watch_seconds));
	}
}

} // namespace steer
