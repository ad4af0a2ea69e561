// `down`: remove what `up` created. Steering stops first (map entries),
// then filters, rules, routes, links and namespaces; pins go last, with
// the router namespace's last gateway. Anything already gone is success.
#include <bpf/bpf.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <set>

#include "bpf_steer.hpp"
#include "conntrack.hpp"
#include "crash_point.hpp"
#include "fd.hpp"
#include "firewall.hpp"
#include "gateway_side.hpp"
#include "link.hpp"
#include "log.hpp"
#include "maps_sync.hpp"
#include "netns.hpp"
#include "pins.hpp"
#include "reconcile.hpp"
#include "route.hpp"
#include "rule.hpp"
#include "tc_attach.hpp"

namespace steer {

namespace {

struct PinnedMaps {
	Fd gateways, ports, returns;
	bool open(const std::string &dir)
	{
		gateways.reset(bpf_obj_get((dir + "/gateways").c_str()));
		ports.reset(bpf_obj_get((dir + "/ports").c_str()));
		returns.reset(bpf_obj_get((dir + "/returns").c_str()));
		return gateways.valid() && ports.valid() && returns.valid();
	}
};

// The conntrack patterns of a steered public address (as up flushes).
void add_flows(std::vector<ns::ConntrackMatch> &out, const steer_gw_key &k, const steer_gw_value &v)
{
	int family = k.family == STEER_FAMILY_IPV4 ? AF_INET : AF_INET6;
	ns::Prefix p{family, {}, family == AF_INET ? 32 : 128};
	std::memcpy(p.bytes.data(), &k.address, family == AF_INET ? 4 : 16);
	out.push_back({family, p, IPPROTO_UDP, v.ike_port});
	out.push_back({family, p, IPPROTO_UDP, v.natt_port});
	out.push_back({family, p, IPPROTO_ESP, std::nullopt});
}

// Removes map entries of these public addresses (all when empty) and
// returns the interfaces that now steer nothing; flows lists the
// conntrack patterns of what stopped being steered.
Result<std::set<int>> unsteer(PinnedMaps &maps, const std::vector<config::IpAddress> &addresses,
			      std::vector<ns::ConntrackMatch> &flows)
{
	auto entries = dump_gateways(maps.gateways.get());
	if (!entries)
		return entries.error();
	std::vector<steer_gw_key> gone;
	std::set<int> before, after;
	for (const auto &e : *entries) {
		before.insert(static_cast<int>(e.key.ifindex));
		bool named = addresses.empty();
		for (const auto &a : addresses) {
			steer_gw_key k = gateway_key(static_cast<int>(e.key.ifindex), a);
			named = named || std::memcmp(&k, &e.key, sizeof(k)) == 0;
		}
		if (named) {
			gone.push_back(e.key);
			add_flows(flows, e.key, e.value);
			uint32_t ret = e.value.target_ifindex;
			bpf_map_delete_elem(maps.returns.get(), &ret);
		} else {
			after.insert(static_cast<int>(e.key.ifindex));
		}
	}
	if (Status st = delete_gateways(maps.gateways.get(), maps.ports.get(), gone); !st)
		return st.error();
	std::set<int> idle;
	for (int i : before)
		if (!after.count(i))
			idle.insert(i);
	return idle;
}

uint32_t map_id(int fd)
{
	bpf_map_info info{};
	uint32_t len = sizeof(info);
	return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

bool prog_reads_map(uint32_t prog_id, uint32_t wanted_map)
{
	Fd prog(bpf_prog_get_fd_by_id(prog_id));
	std::array<uint32_t, 32> ids{};
	bpf_prog_info info{};
	info.nr_map_ids = ids.size();
	info.map_ids = reinterpret_cast<uintptr_t>(ids.data());
	uint32_t len = sizeof(info);
	if (!prog.valid() || bpf_obj_get_info_by_fd(prog.get(), &info, &len) != 0)
		return false;
	auto end = ids.begin() + std::min<size_t>(info.nr_map_ids, ids.size());
	return std::find(ids.begin(), end, wanted_map) != end;
}

// A crash after the last map entry went but before its filter did leaves
// a filter no entry names any more: find it by the map its program reads
// (whatever program version it runs), on every interface here.
Status detach_filters_reading(int gateways_fd)
{
	uint32_t wanted = map_id(gateways_fd);
	auto links = ns::list_links();
	if (!links)
		return links.error();
	for (const auto &l : *links) {
		auto prog = tc_query(l.ifindex, TcDirection::ingress);
		if (prog && *prog && prog_reads_map(**prog, wanted))
			if (Status st = tc_detach(l.ifindex, TcDirection::ingress); !st)
				return st;
	}
	return {};
}

bool steers_nothing(PinnedMaps &maps)
{
	auto entries = dump_gateways(maps.gateways.get());
	return entries && entries->empty();
}

Status remove_pins(const std::string &dir)
{
	std::error_code ec;
	std::filesystem::remove_all(dir, ec);
	if (ec)
		return sys_error(ec.value(), "remove pins", dir);
	return {};
}

// Rules of ours left without their table's routes (a crash in between).
Status remove_orphan_rules()
{
	for (int family : {AF_INET, AF_INET6}) {
		auto rules = ns::list_rules(family, route_protocol);
		if (!rules)
			return rules.error();
		for (const auto &r : *rules)
			if (Status st = ns::delete_rule(r); !st)
				return st;
	}
	return {};
}

Status remove_owned_links(bool &found)
{
	auto owned = owned_gateways();
	if (!owned)
		return owned.error();
	for (const auto &name : *owned) {
		found = true;
		if (Status st = remove_gateway_objects(name); !st)
			return st;
	}
	return {};
}

std::string router_of_dir(const std::string &name)
{
	return name == "host" ? "" : name;
}

Status down_router(const std::string &bpffs, const std::string &router,
		   const std::vector<const config::Gateway *> &gateways, bool all)
{
	const std::string dir = pin_dir(bpffs, router);
	PinnedMaps maps;
	bool have_maps = maps.open(dir);
	std::vector<config::IpAddress> addresses;
	for (const auto *g : gateways)
		addresses.push_back(g->public_address);
	Status st = ns::run_in_netns(router, [&]() -> Status {
		std::set<int> idle;
		std::vector<ns::ConntrackMatch> flows;
		if (have_maps) {
			auto r = unsteer(maps, all ? std::vector<config::IpAddress>{} : addresses, flows);
			if (!r)
				return r.error();
			idle = *r;
		}
		crash_point("down_unsteered");
		// Entries of flows that were steered must not pin a stale path.
		if (auto n = ns::delete_conntrack(flows); !n)
			return n.error();
		for (int ifindex : idle)
			if (Status s = tc_detach(ifindex, TcDirection::ingress); !s)
				return s;
		if (have_maps && steers_nothing(maps))
			if (Status s = detach_filters_reading(maps.gateways.get()); !s)
				return s;
		crash_point("down_filters_detached");
		for (const auto *g : gateways)
			if (Status s = remove_gateway_objects(g->name); !s)
				return s;
		if (!all)
			return {};
		bool owned_here = have_maps;
		if (Status s = remove_owned_links(owned_here); !s)
			return s;
		// Rules carry our protocol number; only where we own something,
		// so a namespace that merely reuses the number is left alone.
		return owned_here ? remove_orphan_rules() : Status{};
	});
	if (!st)
		return st;
	crash_point("down_before_pins");
	// Without every map pinned nothing was steered from here yet (up pins
	// them all before the first entry): a crash left only files.
	if (!have_maps || all || steers_nothing(maps))
		return remove_pins(dir);
	return {};
}

} // namespace

Status down_router_everything(const std::string &bpffs, const std::string &pin_dir_name)
{
	std::string router = router_of_dir(pin_dir_name);
	if (!router.empty() && !ns::netns_exists(router))
		return {};
	return down_router(bpffs, router, {}, true);
}

Status down(const config::Config &cfg, bool all)
{
	std::map<std::string, std::vector<const config::Gateway *>> by_router;
	for (const auto &g : cfg.gateways)
		by_router[g.router_netns].push_back(&g);
	if (all) {
		by_router[""];
		for (const auto &n : ns::list_netns())
			by_router[n];
		std::error_code ec;
		for (const auto &e : std::filesystem::directory_iterator(cfg.bpffs, ec))
			if (e.is_directory())
				by_router[router_of_dir(e.path().filename())];
	}
	for (const auto &[router, gateways] : by_router) {
		if (!router.empty() && !ns::netns_exists(router))
			continue;
		if (Status st = down_router(cfg.bpffs, router, gateways, all); !st)
			return st;
	}
	// Gateway namespaces whose veth never came (a crash between the two)
	// are found by their mark.
	if (all)
		for (const auto &name : marked_gateway_netns())
			if (Status st = remove_marked_gateway_netns(name); !st)
				return st;
	// The pin root goes too once no router namespace has pins in it.
	std::error_code ec;
	std::filesystem::remove(cfg.bpffs, ec);
	// The host table goes when the config has one, or with everything.
	return (all || cfg.firewall) ? remove_firewall() : Status{};
}

} // namespace steer
