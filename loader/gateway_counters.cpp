#include "gateway_counters.hpp"

#include <bpf/bpf.h>

#include <fstream>
#include <sstream>

#include "fd.hpp"
#include "gateway_side.hpp"
#include "netns.hpp"
#include "pins.hpp"

namespace steer {

namespace {

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

std::string escaped(const std::string &label)
{
	std::string out;
	for (char ch : label) {
		if (ch == '\\' || ch == '"')
			out += '\\';
		out += ch == '\n' ? 'n' : ch;
	}
	return out;
}

} // namespace

Result<std::vector<GatewayCounters>> read_gateway_counters(const config::Config &cfg)
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

std::string prometheus_counters(const std::vector<GatewayCounters> &all)
{
	std::ostringstream o;
	for (const char *metric : {"packets", "bytes"}) {
		o << "# HELP ipsec_steer_" << metric << "_total " << (metric[0] == 'p' ? "Packets" : "Bytes")
		  << " steered, by gateway, class and direction.\n"
		  << "# TYPE ipsec_steer_" << metric << "_total counter\n";
		for (const auto &g : all)
			for (auto [dir, cc] : {std::pair{"in", &g.in}, std::pair{"out", &g.out}})
				for (uint32_t k = 0; k < STEER_CLASS_MAX; k++)
					o << "ipsec_steer_" << metric << "_total{gateway=\"" << escaped(g.name)
					  << "\",class=\"" << class_name(k) << "\",direction=\"" << dir << "\"} "
					  << (metric[0] == 'p' ? (*cc)[k].packets : (*cc)[k].bytes) << "\n";
	}
	return o.str();
}

std::string prometheus_xfrm(const config::Config &cfg)
{
	std::ostringstream o;
	o << "# HELP ipsec_steer_xfrm_errors_total XFRM drops inside each gateway (/proc/net/xfrm_stat).\n"
	  << "# TYPE ipsec_steer_xfrm_errors_total counter\n";
	for (const auto &gw : cfg.gateways) {
		std::string text;
		// thread-self: the namespace of this (setns'd) thread, not the process's.
		Status st = ns::run_in_netns(gw.name, [&]() -> Status {
			std::ifstream f("/proc/thread-self/net/xfrm_stat");
			text.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
			return {};
		});
		std::istringstream in(st ? text : "");
		std::string reason;
		unsigned long long n;
		while (in >> reason >> n)
			o << "ipsec_steer_xfrm_errors_total{gateway=\"" << escaped(gw.name) << "\",reason=\""
			  << escaped(reason) << "\"} " << n << "\n";
	}
	return o.str();
}

} // namespace steer
