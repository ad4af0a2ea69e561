#include "watch_fence.hpp"

#include <bpf/bpf.h>

#include <vector>

#include "bpf_steer.hpp"
#include "fd.hpp"

namespace steer {

namespace {

struct FenceMaps {
	Fd gateways, ports, returns, frags;
	bool open(const std::string &dir)
	{
		gateways.reset(bpf_obj_get((dir + "/gateways").c_str()));
		ports.reset(bpf_obj_get((dir + "/ports").c_str()));
		returns.reset(bpf_obj_get((dir + "/returns").c_str()));
		frags.reset(bpf_obj_get((dir + "/frags").c_str()));
		return gateways.valid() && ports.valid() && returns.valid() && frags.valid();
	}
};

bool gone(const std::set<int> &deleted, uint32_t ifindex)
{
	return ifindex != 0 && deleted.count(static_cast<int>(ifindex));
}

// Targets first: from this update on, the program counts target_missing
// instead of redirecting to an interface that is not there.
Result<int> fence_gateways(const FenceMaps &m, const std::set<int> &deleted)
{
	auto entries = dump_gateways(m.gateways.get());
	if (!entries)
		return entries.error();
	int changed = 0;
	std::vector<steer_gw_key> keyed_by_gone;
	for (auto &e : *entries) {
		if (gone(deleted, e.key.ifindex))
			keyed_by_gone.push_back(e.key);
		if (!gone(deleted, e.value.target_ifindex))
			continue;
		e.value.target_ifindex = 0;
		if (bpf_map_update_elem(m.gateways.get(), &e.key, &e.value, BPF_EXIST) != 0 && errno != ENOENT)
			return sys_error(errno, "zero target in gateways map");
		changed++;
	}
	if (changed > 0)
		if (Status st = bump_generation(m.ports.get()); !st)
			return st.error();
	if (keyed_by_gone.empty())
		return changed;
	if (Status st = delete_gateways(m.gateways.get(), m.ports.get(), keyed_by_gone); !st)
		return st.error();
	return changed + static_cast<int>(keyed_by_gone.size());
}

Result<int> fence_returns(const FenceMaps &m, const std::set<int> &deleted)
{
	std::vector<uint32_t> keys;
	uint32_t key = 0, next = 0;
	const void *prev = nullptr;
	while (bpf_map_get_next_key(m.returns.get(), prev, &next) == 0) {
		keys.push_back(next);
		key = next;
		prev = &key;
	}
	int changed = 0;
	for (uint32_t k : keys) {
		steer_return_value r{};
		if (bpf_map_lookup_elem(m.returns.get(), &k, &r) != 0)
			continue;
		if (gone(deleted, k)) {
			(void)bpf_map_delete_elem(m.returns.get(), &k);
			changed++;
		} else if (gone(deleted, r.out_ifindex)) {
			r.out_ifindex = 0;
			if (bpf_map_update_elem(m.returns.get(), &k, &r, BPF_EXIST) != 0 && errno != ENOENT)
				return sys_error(errno, "zero out_ifindex in returns map");
			changed++;
		}
	}
	return changed;
}

// Later fragments follow the first one's recorded target.
int fence_frags(const FenceMaps &m, const std::set<int> &deleted)
{
	std::vector<steer_frag_key> stale;
	steer_frag_key key{}, next{};
	const void *prev = nullptr;
	while (bpf_map_get_next_key(m.frags.get(), prev, &next) == 0) {
		steer_frag_value v{};
		if (bpf_map_lookup_elem(m.frags.get(), &next, &v) == 0 && gone(deleted, v.target_ifindex))
			stale.push_back(next);
		key = next;
		prev = &key;
	}
	for (const auto &k : stale)
		(void)bpf_map_delete_elem(m.frags.get(), &k);
	return static_cast<int>(stale.size());
}

} // namespace

Result<int> fence_deleted_links(const std::string &pin_dir, const std::set<int> &deleted)
{
	FenceMaps maps;
	if (deleted.empty() || !maps.open(pin_dir))
		return 0; // nothing pinned: nothing can point anywhere
	auto gateways = fence_gateways(maps, deleted);
	if (!gateways)
		return gateways.error();
	auto returns = fence_returns(maps, deleted);
	if (!returns)
		return returns.error();
	return *gateways + *returns + fence_frags(maps, deleted);
}

} // namespace steer
