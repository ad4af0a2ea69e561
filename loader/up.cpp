// `up`: per router namespace, load (or reuse) the pinned maps, make each
// gateway's objects match its plan, then the maps and tc filters, then
// sweep what this tool owns there that the config no longer names.
#include <arpa/inet.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "conntrack.hpp"
#include "crash_point.hpp"
#include "firewall.hpp"
#include "gateway_side.hpp"
#include "link.hpp"
#include "log.hpp"
#include "maps_sync.hpp"
#include "netns.hpp"
#include "pins.hpp"
#include "preflight.hpp"
#include "programs.hpp"
#include "reconcile.hpp"
#include "tc_attach.hpp"

namespace steer {

namespace {

// Everything `up` learned about one gateway on its way. Runs in the router
// namespace, so nothing here switches namespaces again.
struct Placed {
	const GatewayPlan *plan;
	PublicSide pub;
	int router_ifindex = 0;
};

Result<Placed> place_gateway(const GatewayPlan &p)
{
	auto pub = read_public_side_here(p.gateway->public_interface);
	if (!pub)
		return pub.error();
	auto ist = ensure_gateway_link(p);
	if (!ist)
		return ist.error();
	if (Status st = ensure_gateway_inside(p, *pub, *ist); !st)
		return st.error();
	if (Status st = ensure_router_side(p, *ist); !st)
		return st.error();
	return Placed{&p, *pub, *ist};
}

std::vector<WantedEntry> placed_entries(const std::vector<Placed> &placed, const GatewayIds &ids);

// A steered flow's old conntrack entry would pin it to a stale decision.
// One pass over the table for all gateways: each dump costs milliseconds.
void flush_steered_flows(const std::vector<Placed> &placed)
{
	std::vector<ns::ConntrackMatch> matches;
	for (const auto &g : placed) {
		const auto &gw = *g.plan->gateway;
		ns::Prefix p = host_of(gw.public_address);
		matches.push_back({p.family, p, IPPROTO_UDP, gw.ike_port});
		matches.push_back({p.family, p, IPPROTO_UDP, gw.natt_port});
		matches.push_back({p.family, p, IPPROTO_ESP, std::nullopt});
	}
	if (auto n = ns::delete_conntrack(matches); !n)
		LOG_WARN("conntrack flush: %s", n.error().message().c_str());
}

Status attach_filters(const std::vector<Placed> &placed, const ActivePrograms &progs)
{
	std::set<int> publics;
	for (const auto &g : placed) {
		publics.insert(g.pub.ifindex);
		bool bpf_egress = g.plan->gateway->egress == config::Egress::bpf;
		Status st = bpf_egress ? ensure_filter(g.router_ifindex, progs.ret)
				       : tc_detach(g.router_ifindex, TcDirection::ingress);
		if (!st)
			return st;
		crash_point("return_filter_attached");
	}
	for (int ifindex : publics)
		if (Status st = ensure_filter(ifindex, progs.ingress); !st)
			return st;
	return {};
}

// Owned gateways (by link alias) of this router namespace the config does
// not name any more.
Status sweep_gateways(const std::vector<const GatewayPlan *> &plans)
{
	auto owned = owned_gateways();
	if (!owned)
		return owned.error();
	for (const auto &name : *owned) {
		bool named = std::any_of(plans.begin(), plans.end(),
					 [&](const GatewayPlan *p) { return p->gateway->name == name; });
		if (named)
			continue;
		LOG_INFO("removing gateway %s: no longer in the config", name.c_str());
		if (Status st = remove_gateway_objects(name); !st)
			return st;
	}
	return {};
}

Status up_router(const std::string &bpffs, const std::string &router_netns,
		 const std::vector<const GatewayPlan *> &plans)
{
	const std::string dir = pin_dir(bpffs, router_netns);
	if (Status st = ensure_pin_dir(dir); !st)
		return st;
	crash_point("pin_dir_created");
	auto ids = gateway_ids_for(dir, plans);
	auto obj = load_for(dir, ids);
	if (!obj)
		return obj.error();
	crash_point("maps_pinned");
	auto progs = activate_programs(**obj, dir);
	if (!progs)
		return progs.error();
	crash_point("programs_pinned");
	return ns::run_in_netns(router_netns, [&]() -> Status {
		std::vector<Placed> placed;
		for (const GatewayPlan *p : plans) {
			auto g = place_gateway(*p);
			if (!g)
				return g.error();
			placed.push_back(*g);
		}
		if (Status st = sweep_gateways(plans); !st)
			return st;
		if (Status st = sync_maps(**obj, placed_entries(placed, ids)); !st)
			return st;
		if (Status st = attach_filters(placed, *progs); !st)
			return st;
		crash_point("filters_attached");
		flush_steered_flows(placed);
		crash_point("conntrack_flushed");
		return {};
	});
}

steer_return_value return_value(const Placed &g, uint32_t id)
{
	const auto &gw = *g.plan->gateway;
	steer_gw_key k = gateway_key(g.pub.ifindex, gw.public_address);
	steer_return_value r{};
	r.out_ifindex = static_cast<uint32_t>(g.pub.ifindex);
	r.flags = gw.steer_flags;
	r.ike_port = gw.ike_port;
	r.natt_port = gw.natt_port;
	r.gateway_id = id;
	r.family = k.family;
	r.address = k.address;
	return r;
}

std::vector<WantedEntry> placed_entries(const std::vector<Placed> &placed, const GatewayIds &ids)
{
	std::vector<WantedEntry> out;
	for (const auto &g : placed) {
		const auto &gw = *g.plan->gateway;
		uint32_t id = ids.at(gw.name);
		WantedEntry w;
		w.key = gateway_key(g.pub.ifindex, gw.public_address);
		w.value = {static_cast<uint32_t>(g.router_ifindex), gw.steer_flags, gw.ike_port,
			   gw.natt_port, id};
		if (gw.egress == config::Egress::bpf)
			w.ret = {static_cast<uint32_t>(g.router_ifindex), return_value(g, id)};
		out.push_back(w);
	}
	return out;
}

} // namespace

Status up(const config::Config &given)
{
	// Without bpf_redirect_peer every gateway steers with bpf_redirect.
	const config::Config cfg = with_redirect_fallback(given);
	auto plans = plan_gateways(cfg);
	std::map<std::string, std::vector<const GatewayPlan *>> by_router;
	for (const auto &p : plans)
		by_router[p.gateway->router_netns].push_back(&p);
	for (const auto &[router, group] : by_router)
		if (Status st = up_router(cfg.bpffs, router, group); !st)
			return st;
	// Router namespaces the config no longer names at all keep nothing.
	std::error_code ec;
	for (const auto &e : std::filesystem::directory_iterator(cfg.bpffs, ec)) {
		std::string name = e.path().filename();
		if (!e.is_directory() || by_router.count(name == "host" ? "" : name))
			continue;
		if (Status st = down_router_everything(cfg.bpffs, name); !st)
			return st;
	}
	return apply_host_firewall(cfg);
}

Status up_router_of(const config::Config &given, const std::string &router_netns)
{
	const config::Config cfg = with_redirect_fallback(given);
	auto plans = plan_gateways(cfg);
	std::vector<const GatewayPlan *> group;
	for (const auto &p : plans)
		if (p.gateway->router_netns == router_netns)
			group.push_back(&p);
	return group.empty() ? Status{} : up_router(cfg.bpffs, router_netns, group);
}

} // namespace steer
