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
#include "stats_table.hpp"

namespace steer {

namespace {

nlohmann::json counters_json(const ClassCounters &cc)
{
	nlohmann::json j = nlohmann::json::object();
	for (uint32_t k = 0; k < STEER_CLASS_MAX; k++)
		j[class_name(k)] = {{"packets", cc[k].packets}, {"bytes", cc[k].bytes}};
	return j;
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
	auto prev_at = std::chrono::steady_clock::now();
	for (bool first = true;; first = false) {
		auto all = read_gateway_counters(*cfg);
		const auto at = std::chrono::steady_clock::now();
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
			// Rates over the measured interval, not the requested one.
			const double seconds = std::chrono::duration<double>(at - prev_at).count();
			std::fputs(format_stats_table(*all, first ? nullptr : &prev, seconds).c_str(), stdout);
		}
		std::fflush(stdout);
		if (o.watch_seconds <= 0)
			return exit_ok;
		prev = *all;
		prev_at = at;
		std::this_thread::sleep_for(std::chrono::duration<double>(o.watch_seconds));
	}
}

} // namespace steer
