#include "stats_table.hpp"

#include <cstdarg>
#include <cstdio>

#include "bpf_steer.hpp"

namespace steer {

namespace {

std::string line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string line(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	std::vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return buf;
}

// Counters never go backwards, except when the maps were replaced
// (upgrade of a changed layout carries them over, `down` + `up` resets):
// then the rate of that interval is unknown, shown as 0.
double rate(uint64_t now, uint64_t before, double seconds)
{
	return now >= before && seconds > 0 ? double(now - before) / seconds : 0;
}

const GatewayCounters *find(const std::vector<GatewayCounters> *prev, const std::string &name)
{
	if (prev)
		for (const auto &g : *prev)
			if (g.name == name)
				return &g;
	return nullptr;
}

std::string row(const GatewayCounters &g, uint32_t k, const GatewayCounters *before, double seconds)
{
	const steer_counter &in = g.in[k], &out = g.out[k];
	std::string s = line("%-12s %-15s %12llu %14llu %12llu %14llu", g.name.c_str(), class_name(k),
		(unsigned long long)in.packets, (unsigned long long)in.bytes,
		(unsigned long long)out.packets, (unsigned long long)out.bytes);
	if (before)
		s += line(" %9s %9s %9s %9s",
			human_rate(rate(in.packets, before->in[k].packets, seconds)).c_str(),
			human_rate(8 * rate(in.bytes, before->in[k].bytes, seconds)).c_str(),
			human_rate(rate(out.packets, before->out[k].packets, seconds)).c_str(),
			human_rate(8 * rate(out.bytes, before->out[k].bytes, seconds)).c_str());
	return s + "\n";
}

} // namespace

std::string human_rate(double v)
{
	static const char *const units[] = {"", "k", "M", "G", "T"};
	int u = 0;
	while (v >= 999.5 && u < 4) {
		v /= 1000;
		u++;
	}
	return u == 0 ? line("%.0f", v) : line("%.*f%s", v < 9.995 ? 2 : v < 99.95 ? 1 : 0, v, units[u]);
}

std::string format_stats_table(const std::vector<GatewayCounters> &now,
	const std::vector<GatewayCounters> *prev, double seconds)
{
	std::string out = line("%-12s %-15s %12s %14s %12s %14s", "GATEWAY", "CLASS", "IN PKTS", "IN BYTES",
		"OUT PKTS", "OUT BYTES");
	out += prev ? line(" %9s %9s %9s %9s\n", "IN PPS", "IN BPS", "OUT PPS", "OUT BPS") : "\n";
	for (const auto &g : now) {
		const GatewayCounters *before = find(prev, g.name);
		bool any = false;
		for (uint32_t k = 0; k < STEER_CLASS_MAX; k++) {
			if (!g.in[k].packets && !g.out[k].packets)
				continue;
			out += row(g, k, prev ? (before ? before : &g) : nullptr, seconds);
			any = true;
		}
		if (!any)  // the gateway is there, it just has not counted anything
			out += line("%-12s %-15s %12d %14d %12d %14d\n", g.name.c_str(), "-", 0, 0, 0, 0);
	}
	return out;
}

} // namespace steer
