#include "maps_sync.hpp"

#include <bpf/bpf.h>
#include <sys/socket.h>

#include <algorithm>

#include "crash_point.hpp"
#include "fd.hpp"
#include "pin_migration.hpp"
#include "tc_attach.hpp"

namespace steer {

namespace {

bool same_address(const steer_gw_key &k, const config::IpAddress &a)
{
	steer_gw_key probe = gateway_key(static_cast<int>(k.ifindex), a);
	return probe.family == k.family &&
	       std::memcmp(&probe.address, &k.address, sizeof(k.address)) == 0;
}

Status delete_unwanted_returns(int fd, const std::vector<WantedEntry> &wanted)
{
	std::vector<uint32_t> stale;
	uint32_t key = 0, next = 0;
	const void *prev = nullptr;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		bool want = std::any_of(wanted.begin(), wanted.end(),
					[&](const WantedEntry &w) { return w.ret && w.ret->first == next; });
		if (!want)
			stale.push_back(next);
		key = next;
		prev = &key;
	}
	for (uint32_t k : stale)
		if (bpf_map_delete_elem(fd, &k) != 0 && errno != ENOENT)
			return sys_error(errno, "delete from returns map");
	return {};
}

} // namespace

steer_gw_key gateway_key(int ifindex, const config::IpAddress &address)
{
	steer_gw_key k{};
	k.ifindex = static_cast<uint32_t>(ifindex);
	k.family = address.family == AF_INET ? STEER_FAMILY_IPV4 : STEER_FAMILY_IPV6;
	std::memcpy(&k.address, address.bytes.data(), address.family == AF_INET ? 4 : 16);
	return k;
}

GatewayIds gateway_ids_for(const std::string &pin_dir, const std::vector<const GatewayPlan *> &plans)
{
	GatewayIds existing;
	Fd fd(bpf_obj_get((pin_dir + "/gateways").c_str()));
	// Ids are read only from entries of our layout: a map of another one is
	// replaced by the load (pin_migration.hpp) and its bytes mean nothing.
	if (fd.valid() && map_sizes_are(fd.get(), sizeof(steer_gw_key), sizeof(steer_gw_value))) {
		auto entries = dump_gateways(fd.get());
		for (const GatewayPlan *p : plans) {
			if (!entries)
				break;
			for (const auto &e : *entries)
				if (same_address(e.key, p->gateway->public_address))
					existing[p->gateway->name] = e.value.gateway_id;
		}
	}
	std::vector<std::string> names;
	for (const GatewayPlan *p : plans)
		names.push_back(p->gateway->name);
	return assign_gateway_ids(names, existing);
}

Result<std::unique_ptr<SteerObject>> load_for(const std::string &pin_dir, const GatewayIds &ids)
{
	uint32_t max_id = 0;
	for (const auto &[name, id] : ids)
		max_id = std::max(max_id, id);
	// Room to grow before the counters must be replaced.
	uint32_t slots = 64;
	while (slots <= max_id)
		slots *= 2;
	LoadOptions opts;
	opts.pin_dir = pin_dir;
	opts.stats_gateways = slots;
	return SteerObject::load(opts);
}

Status sync_maps(SteerObject &obj, const std::vector<WantedEntry> &wanted)
{
	for (const auto &w : wanted) {
		if (Status st = put_gateway(obj.gateways_fd(), obj.ports_fd(), w.key, w.value); !st)
			return st;
		if (w.ret && bpf_map_update_elem(obj.returns_fd(), &w.ret->first, &w.ret->second, BPF_ANY) != 0)
			return sys_error(errno, "update returns map");
		crash_point("map_entry_synced");
	}
	auto have = dump_gateways(obj.gateways_fd());
	if (!have)
		return have.error();
	std::vector<steer_gw_key> stale;
	for (const auto &e : *have) {
		bool want = std::any_of(wanted.begin(), wanted.end(), [&](const WantedEntry &w) {
			return std::memcmp(&w.key, &e.key, sizeof(e.key)) == 0;
		});
		if (!want)
			stale.push_back(e.key);
	}
	if (Status st = delete_gateways(obj.gateways_fd(), obj.ports_fd(), stale); !st)
		return st;
	return delete_unwanted_returns(obj.returns_fd(), wanted);
}

Status ensure_filter(int ifindex, const ActiveProgram &prog)
{
	auto attached = tc_query(ifindex, TcDirection::ingress);
	if (attached && *attached && **attached == prog.id)
		return {};
	return tc_attach(ifindex, TcDirection::ingress, prog.fd.get());
}

} // namespace steer
