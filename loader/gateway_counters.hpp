// Counters of the configured gateways, read from the pinned per-CPU maps
// (stats: steered in; stats_out: sent out by steer_return), and their
// Prometheus exposition text; shared by `stats` and `watch --metrics`.
#pragma once

#include <string>
#include <vector>

#include "config.hpp"
#include "maps_sync.hpp"

namespace steer {

struct GatewayCounters {
	std::string name;
	uint32_t gateway_id = 0;
	ClassCounters in{}, out{};
};

Result<std::vector<GatewayCounters>> read_gateway_counters(const config::Config &cfg);

// ipsec_steer_packets_total / ipsec_steer_bytes_total with labels
// gateway, class and direction (in, out).
std::string prometheus_counters(const std::vector<GatewayCounters> &all);

// ipsec_steer_xfrm_errors_total{gateway,reason}: /proc/net/xfrm_stat read
// inside each gateway's namespace (the IKE daemon's XFRM drops).
std::string prometheus_xfrm(const config::Config &cfg);

} // namespace steer
