// `status`: per gateway, what the kernel holds against what the config
// plans, read-only. One line per gateway (healthy, or the reasons not),
// or one JSON document with --json (shape in docs/status.md).
#include <bpf/bpf.h>
#include <linux/neighbour.h>
#include <sys/socket.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "addr.hpp"
#include "cli.hpp"
#include "commands.hpp"
#include "config.hpp"
#include "fd.hpp"
#include "firewall.hpp"
#include "gateway_side.hpp"
#include "link.hpp"
#include "maps_sync.hpp"
#include "neigh.hpp"
#include "netns.hpp"
#include "pins.hpp"
#include "programs.hpp"
#include "rule.hpp"
#include "tc_attach.hpp"

namespace steer {

namespace {

struct GatewayStatus {
	std::string name;
	std::vector<std::string> problems;
	uint32_t program_id = 0, gateway_id = 0;
	int target_ifindex = 0;
	bool attached = false, target_ok = false, namespace_ok = false, link_ok = false;
	bool addresses_ok = false, neighbour_ok = false, rules_ok = false;
	bool firewall_ok = true; // the gateway's nft table, when it has [gateway.firewall]
	std::string redirect;    // what the map entry makes the program use: "peer", "plain", ""
	std::vector<std::string> notes; // not problems: said in DETAILS, healthy all the same
	bool healthy() const { return problems.empty(); }
};

void need(GatewayStatus &s, bool ok, const std::string &problem)
{
	if (!ok)
		s.problems.push_back(problem);
}

bool has_prefix(int ifindex, const ns::Prefix &want)
{
	auto addrs = ns::list_addresses(ifindex);
	return addrs && std::find(addrs->begin(), addrs->end(), want) != addrs->end();
}

void inspect_inside(const GatewayPlan &p, const PublicSide &pub, GatewayStatus &s)
{
	const auto &gw = *p.gateway;
	(void)ns::run_in_netns(p.netns, [&]() -> Status {
		auto eth0 = ns::find_link("eth0");
		if (!eth0 || !*eth0)
			return {};
		int idx = (*eth0)->ifindex;
		s.addresses_ok = (*eth0)->mac == pub.mac &&
				 has_prefix(idx, host_of(gw.public_address)) &&
				 has_prefix(idx, prefix_of(p.link.gateway_end, p.link.subnet.prefix));
		auto n = ns::find_neighbour(idx, host_of(p.link.router_end));
		s.neighbour_ok = n && *n && ((*n)->state & NUD_PERMANENT);
		if (gw.firewall) {
			auto present = firewall_present();
			s.firewall_ok = present && *present;
		}
		return {};
	});
}

void inspect_router(const GatewayPlan &p, const PublicSide &pub, const std::string &dir, GatewayStatus &s)
{
	auto ist = ns::find_link(p.router_link);
	s.link_ok = ist && *ist && (*ist)->up;
	if (s.link_ok)
		s.target_ifindex = (*ist)->ifindex;
	auto attached = tc_query(pub.ifindex, TcDirection::ingress);
	Fd pinned(bpf_obj_get((dir + "/prog_ingress").c_str()));
	s.program_id = attached && *attached ? **attached : 0;
	s.attached = s.program_id != 0 && pinned.valid() && prog_id(pinned.get()) == s.program_id;
	Fd gateways(bpf_obj_get((dir + "/gateways").c_str()));
	steer_gw_key key = gateway_key(pub.ifindex, p.gateway->public_address);
	steer_gw_value value{};
	if (gateways.valid() && bpf_map_lookup_elem(gateways.get(), &key, &value) == 0) {
		s.gateway_id = value.gateway_id;
		s.redirect = (value.flags & STEER_F_REDIRECT_PLAIN) ? "plain" : "peer";
		if (s.redirect == "plain" && !(p.gateway->steer_flags & STEER_F_REDIRECT_PLAIN))
			s.notes.push_back("redirect plain: kernel lacks bpf_redirect_peer");
		s.target_ok = s.link_ok && static_cast<int>(value.target_ifindex) == s.target_ifindex;
	}
	size_t rules = 0;
	auto list = ns::list_rules(p.gateway->public_address.family, route_protocol);
	for (const auto &r : list ? *list : std::vector<ns::Rule>{})
		rules += r.table == p.table;
	s.rules_ok = rules >= p.gateway->routes.size();
}

GatewayStatus inspect(const config::Config &cfg, const GatewayPlan &p)
{
	GatewayStatus s;
	s.name = p.gateway->name;
	s.namespace_ok = ns::netns_exists(p.netns);
	auto pub = read_public_side(p.gateway->router_netns, p.gateway->public_interface);
	if (!pub) {
		need(s, false, pub.error().message());
		return s;
	}
	const std::string dir = pin_dir(cfg.bpffs, p.gateway->router_netns);
	(void)ns::run_in_netns(p.gateway->router_netns, [&]() -> Status {
		inspect_router(p, *pub, dir, s);
		return {};
	});
	if (s.namespace_ok)
		inspect_inside(p, *pub, s);
	need(s, s.namespace_ok, "namespace " + p.netns + " missing");
	need(s, s.link_ok, p.router_link + " missing or down");
	need(s, s.attached, "steer_ingress not attached to " + p.gateway->public_interface);
	need(s, s.target_ok, "gateways map entry missing or stale");
	need(s, s.addresses_ok, "eth0 MAC or addresses differ");
	need(s, s.neighbour_ok, "no PERMANENT neighbour for " + p.link.router_end.text);
	need(s, s.rules_ok, "ip rules missing");
	need(s, s.firewall_ok, "nft table inet ipsec_steer missing in " + p.netns);
	return s;
}

nlohmann::json to_json(const GatewayStatus &s, const GatewayPlan &p)
{
	const auto &gw = *p.gateway;
	return {{"name", s.name}, {"healthy", s.healthy()}, {"problems", s.problems},
		{"router_netns", gw.router_netns}, {"public_interface", gw.public_interface},
		{"public_address", gw.public_address.text}, {"link", p.link.subnet.text},
		{"table", p.table}, {"gateway_id", s.gateway_id}, {"attached", s.attached},
		{"program_id", s.program_id}, {"target_ifindex", s.target_ifindex},
		{"target_ok", s.target_ok}, {"namespace_ok", s.namespace_ok},
		{"addresses_ok", s.addresses_ok}, {"neighbour_ok", s.neighbour_ok},
		{"rules_ok", s.rules_ok}, {"firewall_ok", s.firewall_ok}, {"redirect", s.redirect}};
}

} // namespace

int cmd_status(const CommandOptions &o)
{
	auto cfg = config::load(o.config_path);
	if (!cfg) {
		std::fprintf(stderr, "%s\n", cfg.error().message().c_str());
		return exit_usage;
	}
	auto plans = plan_gateways(*cfg);
	nlohmann::json doc = {{"gateways", nlohmann::json::array()}};
	bool all_healthy = true;
	if (!o.json)
		std::printf("%-12s %-9s %-10s %-24s %-6s %-7s %s\n", "GATEWAY", "STATE", "INTERFACE",
			    "ADDRESS", "PROG", "TARGET", "DETAILS");
	for (const auto &p : plans) {
		GatewayStatus s = inspect(*cfg, p);
		all_healthy = all_healthy && s.healthy();
		doc["gateways"].push_back(to_json(s, p));
		if (o.json)
			continue;
		std::string details;
		for (const auto &pr : s.problems)
			details += (details.empty() ? "" : "; ") + pr;
		for (const auto &pr : s.notes)
			details += (details.empty() ? "" : "; ") + pr;
		std::printf("%-12s %-9s %-10s %-24s %-6u %-7d %s\n", s.name.c_str(),
			    s.healthy() ? "healthy" : "UNHEALTHY", p.gateway->public_interface.c_str(),
			    p.gateway->public_address.text.c_str(), s.program_id, s.target_ifindex,
			    details.empty() ? "-" : details.c_str());
	}
	if (o.json)
		std::printf("%s\n", doc.dump(2).c_str());
	return all_healthy ? exit_ok : exit_failure;
}

} // namespace steer
