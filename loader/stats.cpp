// `stats`: per gateway and class, packets and bytes steered in (stats) and
// sent out by steer_return (stats_out), from the pinned per-CPU maps.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli.hpp"
#include "commands.hpp"
#include "config.hpp"
#include "gateway_counters.hpp"

namespace steer {

namespace {

nlohmann::json counters_json(const ClassCounters &cc)
{
	nlohmann::json j = nlohmann::json::object();
	for (uint32_t k = 0; k < STEER_CLASS_MAX; k++)
		j[class_name(k)] = {{"packets", cc[k].packets}, {"bytes", cc[k].bytes}};
	return j;
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
		auto all = read_gateway_counters(*cfg);
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
			std::fputs(prometheus_counters(*all).c_str(), stdout);
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
