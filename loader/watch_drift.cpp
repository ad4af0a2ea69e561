// Read-only: netlink dumps, map lookups and tc queries, no change. Each
// check mirrors one ensure step of `up`, so whatever `up` would fix shows
// here as a sentence naming it.
#include "watch_drift.hpp"

// netinet/in.h first: it tells the uapi headers what glibc defines.
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <linux/neighbour.h>
#include <linux/netfilter.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "addr.hpp"
#include "fd.hpp"
#include "firewall.hpp"
#include "inspect.hpp"
#include "link.hpp"
#include "maps_sync.hpp"
#include "model.hpp"
#include "monitor.hpp"
#include "neigh.hpp"
#include "netns.hpp"
#include "ns_prefix.hpp"
#include "pins.hpp"
#include "programs.hpp"
#include "route.hpp"
#include "rule.hpp"
#include "tc_attach.hpp"

namespace steer {

namespace {

// The ports do not change how many rules the host table has; `up` uses
// the standard ones for the host's own IKE daemon.
constexpr uint16_t host_ike_port = 500, host_natt_port = 4500;

struct PinnedState {
	Fd gateways, returns;
	uint32_t ingress_id = 0, return_id = 0;
	bool complete() const { return gateways.valid() && returns.valid() && ingress_id && return_id; }
};

PinnedState open_pins(const std::string &dir)
{
	PinnedState s;
	s.gateways.reset(bpf_obj_get((dir + "/gateways").c_str()));
	s.returns.reset(bpf_obj_get((dir + "/returns").c_str()));
	Fd in(bpf_obj_get((dir + "/prog_ingress").c_str()));
	Fd ret(bpf_obj_get((dir + "/prog_return").c_str()));
	s.ingress_id = in.valid() ? prog_id(in.get()) : 0;
	s.return_id = ret.valid() ? prog_id(ret.get()) : 0;
	return s;
}

class Findings {
public:
	explicit Findings(std::vector<std::string> &out) : out_(out) {}
	void need(bool ok, const std::string &what)
	{
		if (!ok)
			out_.push_back(what);
	}

private:
	std::vector<std::string> &out_;
};

std::optional<ns::LinkInfo> link_named(const std::string &name)
{
	auto l = ns::find_link(name);
	return l ? *l : std::nullopt;
}

bool filter_runs(int ifindex, uint32_t prog)
{
	auto attached = tc_query(ifindex, TcDirection::ingress);
	return prog && attached && *attached && **attached == prog;
}

// The gateways and returns entries, and the tc filters, of one gateway.
void check_steering(const GatewayPlan &p, const ns::LinkInfo &pub, const ns::LinkInfo &ist,
		    const PinnedState &pins, Findings &f)
{
	const auto &gw = *p.gateway;
	steer_gw_key key = gateway_key(pub.ifindex, gw.public_address);
	steer_gw_value v{};
	bool found = bpf_map_lookup_elem(pins.gateways.get(), &key, &v) == 0;
	f.need(found, gw.name + ": no gateways map entry for " + gw.public_interface);
	f.need(!found || static_cast<int>(v.target_ifindex) == ist.ifindex,
	       gw.name + ": map target ifindex " + std::to_string(v.target_ifindex) + " is not " +
		       p.router_link + " (" + std::to_string(ist.ifindex) + ")");
	f.need(!found || (v.flags == gw.steer_flags && v.ike_port == gw.ike_port && v.natt_port == gw.natt_port),
	       gw.name + ": map entry differs from the config");
	f.need(filter_runs(pub.ifindex, pins.ingress_id),
	       gw.name + ": steer_ingress not attached to " + gw.public_interface);
	if (gw.egress != config::Egress::bpf)
		return;
	uint32_t ist_key = static_cast<uint32_t>(ist.ifindex);
	steer_return_value r{};
	bool ret = bpf_map_lookup_elem(pins.returns.get(), &ist_key, &r) == 0;
	f.need(ret && static_cast<int>(r.out_ifindex) == pub.ifindex,
	       gw.name + ": returns map entry missing or stale");
	f.need(filter_runs(ist.ifindex, pins.return_id),
	       gw.name + ": steer_return not attached to " + p.router_link);
}

void check_policy_routing(const GatewayPlan &p, const ns::LinkInfo &ist, Findings &f)
{
	const auto &gw = *p.gateway;
	auto rules = ns::list_rules(AF_UNSPEC, route_protocol);
	auto routes = ns::list_routes(AF_UNSPEC, p.table, route_protocol);
	f.need(rules && routes, gw.name + ": cannot list rules and routes");
	if (!rules || !routes)
		return;
	for (const auto &pair : gw.routes) {
		ns::Rule want{pair.local.address.family, prefix_of(pair.local), prefix_of(pair.remote),
			      p.table, rule_priority, route_protocol};
		f.need(std::find(rules->begin(), rules->end(), want) != rules->end(),
		       gw.name + ": rule from " + pair.local.text + " to " + pair.remote.text + " missing");
		if (pair.remote.address.family != p.link.gateway_end.family)
			continue;
		bool routed = std::any_of(routes->begin(), routes->end(), [&](const ns::Route &r) {
			return r.dst == prefix_of(pair.remote) && r.oif == ist.ifindex;
		});
		f.need(routed, gw.name + ": route to " + pair.remote.text + " via " + p.router_link + " missing");
	}
}

bool has_prefix(int ifindex, const ns::Prefix &want)
{
	auto addrs = ns::list_addresses(ifindex);
	return addrs && std::find(addrs->begin(), addrs->end(), want) != addrs->end();
}

bool has_route_to(const std::vector<ns::Route> &routes, const ns::Prefix &dst)
{
	return std::any_of(routes.begin(), routes.end(), [&](const ns::Route &r) { return r.dst == dst; });
}

// What `up` would make the firewall table hold, against what it holds.
std::optional<std::string> firewall_difference(const nft::Ruleset &want)
{
	auto present = firewall_present();
	if (!present)
		return "cannot read nft tables: " + present.error().message();
	if (!*present)
		return std::string("nft table inet ipsec_steer missing");
	auto live = nft::read_ruleset();
	if (!live)
		return "cannot read nft ruleset: " + live.error().message();
	auto ours = [](const auto &x) { return x.family == NFPROTO_INET && x.table == nft::table_name; };
	size_t chains = std::count_if(live->chains.begin(), live->chains.end(), ours);
	size_t rules = std::count_if(live->rules.begin(), live->rules.end(), ours);
	if (chains == want.chains.size() && rules == want.rules.size())
		return std::nullopt;
	return "nft table inet ipsec_steer has " + std::to_string(chains) + " chains and " +
	       std::to_string(rules) + " rules, not " + std::to_string(want.chains.size()) + " and " +
	       std::to_string(want.rules.size());
}

void check_eth0(const GatewayPlan &p, const ns::LinkInfo &eth0, const ns::LinkInfo &pub,
		const ns::LinkInfo &ist, Findings &f)
{
	const std::string &name = p.gateway->name;
	f.need(eth0.mac == pub.mac && eth0.up && eth0.alias == p.alias,
	       name + ": eth0 MAC, state or alias differs");
	f.need(has_prefix(eth0.ifindex, host_of(p.gateway->public_address)) &&
		       has_prefix(eth0.ifindex, prefix_of(p.link.gateway_end, p.link.subnet.prefix)),
	       name + ": eth0 addresses missing");
	auto n = ns::find_neighbour(eth0.ifindex, host_of(p.link.router_end));
	f.need(n && *n && ((*n)->state & NUD_PERMANENT) && (*n)->mac == ist.mac,
	       name + ": PERMANENT neighbour " + p.link.router_end.text + " missing or stale");
	int family = p.link.router_end.family;
	auto routes = ns::list_routes(family, RT_TABLE_MAIN, route_protocol);
	bool routed = routes && has_route_to(*routes, ns::Prefix{family, {}, 0});
	for (const auto &r : p.gateway->routes)
		if (routes && r.local.address.family == family)
			routed = routed && has_route_to(*routes, prefix_of(r.local));
	f.need(routed, name + ": routes in namespace " + p.netns + " missing");
}

// Runs in the router namespace; enters the gateway's for its side.
void check_inside(const GatewayPlan &p, const ns::LinkInfo &pub, const ns::LinkInfo &ist, Findings &f)
{
	const auto &gw = *p.gateway;
	if (!ns::netns_id(p.netns)) {
		f.need(false, gw.name + ": namespace " + p.netns + " missing");
		return;
	}
	Status st = ns::run_in_netns(p.netns, [&]() -> Status {
		auto eth0 = link_named("eth0");
		f.need(eth0 && eth0->peer_ifindex == ist.ifindex,
		       gw.name + ": eth0 is not the peer of " + p.router_link);
		if (eth0)
			check_eth0(p, *eth0, pub, ist, f);
		if (gw.firewall) {
			auto diff = firewall_difference(
				nft::plan_gateway_firewall(*gw.firewall, gw.ike_port, gw.natt_port, gw.steer_flags));
			f.need(!diff, gw.name + ": " + diff.value_or(""));
		}
		return {};
	});
	f.need(st.ok(), gw.name + ": cannot enter namespace " + p.netns);
}

// Entries keyed by an interface that is not (any more) a configured
// public interface: `up` sweeps them.
void check_stale_keys(const std::vector<steer_gw_key> &wanted, const PinnedState &pins, Findings &f)
{
	auto entries = dump_gateways(pins.gateways.get());
	if (!entries)
		return f.need(false, "cannot read the gateways map");
	for (const auto &e : *entries) {
		bool want = std::any_of(wanted.begin(), wanted.end(), [&](const steer_gw_key &k) {
			return std::memcmp(&k, &e.key, sizeof(k)) == 0;
		});
		f.need(want, "stale gateways map entry on ifindex " + std::to_string(e.key.ifindex));
	}
}

void check_gateway(const GatewayPlan &p, const PinnedState &pins, RouterView &view,
		   std::vector<steer_gw_key> &wanted)
{
	Findings f(view.drift);
	const auto &gw = *p.gateway;
	auto pub = link_named(gw.public_interface);
	auto ist = link_named(p.router_link);
	if (pub)
		view.ifindexes.insert(pub->ifindex);
	if (ist)
		view.ifindexes.insert(ist->ifindex);
	if (!pub) {
		// Not something `up` can create: wait for it (by name) to come.
		view.waiting.push_back(gw.name + ": public interface " + gw.public_interface + " missing");
		return;
	}
	wanted.push_back(gateway_key(pub->ifindex, gw.public_address));
	f.need(ist && ist->up && ist->alias == p.alias, gw.name + ": " + p.router_link + " missing or down");
	if (!ist)
		return;
	check_steering(p, *pub, *ist, pins, f);
	check_policy_routing(p, *ist, f);
	check_inside(p, *pub, *ist, f);
}

} // namespace

RouterView inspect_router_group(const config::Config &cfg, const std::string &router,
				const std::vector<const GatewayPlan *> &plans)
{
	RouterView view;
	if (!router.empty() && !ns::netns_id(router)) {
		view.waiting.push_back("router namespace " + router + " missing");
		return view;
	}
	PinnedState pins = open_pins(pin_dir(cfg.bpffs, router));
	if (!pins.complete()) {
		view.drift.push_back("pinned maps or programs missing under " + pin_dir(cfg.bpffs, router));
		return view;
	}
	Status st = ns::run_in_netns(router, [&]() -> Status {
		std::vector<steer_gw_key> wanted;
		for (const GatewayPlan *p : plans)
			check_gateway(*p, pins, view, wanted);
		Findings f(view.drift);
		check_stale_keys(wanted, pins, f);
		return {};
	});
	if (!st)
		view.drift.push_back(st.error().message());
	return view;
}

std::vector<std::string> host_drift(const config::Config &cfg)
{
	std::vector<std::string> drift;
	if (!cfg.firewall)
		return drift;
	auto diff = firewall_difference(
		nft::plan_host_firewall(*cfg.firewall, host_ike_port, host_natt_port));
	if (diff)
		drift.push_back("host: " + *diff);
	return drift;
}

} // namespace steer
