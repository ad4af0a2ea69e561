// The text table of `stats`, a pure function so its layout and rates are
// unit-tested: one row per gateway and class that counted anything (a
// gateway that counted nothing still gets one row), aligned columns, and
// with a previous sample the packet and bit rates over the real interval.
#pragma once

#include <string>
#include <vector>

#include "gateway_counters.hpp"

namespace steer {

struct StatsSample {
	std::vector<GatewayCounters> counters;
	double seconds = 0;  // time since the previous sample; 0: no rates
};

std::string format_stats_table(const std::vector<GatewayCounters> &now,
	const std::vector<GatewayCounters> *prev, double seconds);

// "0", "950", "12.3k", "4.56M", "7.89G": rates fit their column.
std::string human_rate(double per_second);

} // namespace steer
