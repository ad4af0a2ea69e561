#include "pin_migration.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "log.hpp"
#include "steer_abi.h"

namespace steer {

namespace {

struct BtfFree {
	void operator()(struct btf *b) const { btf__free(b); }
};
using BtfPtr = std::unique_ptr<struct btf, BtfFree>;

std::string old_pin(const std::string &path)
{
	return path + "_old"; // bpffs refuses names with a dot
}

MapLayout wanted_layout(const struct bpf_map *map, const struct btf *obj_btf)
{
	MapLayout l;
	l.type = bpf_map__type(map);
	l.key_size = bpf_map__key_size(map);
	l.value_size = bpf_map__value_size(map);
	l.max_entries = bpf_map__max_entries(map);
	l.map_flags = bpf_map__map_flags(map);
	l.key_btf = btf_layout(obj_btf, bpf_map__btf_key_type_id(map));
	l.value_btf = btf_layout(obj_btf, bpf_map__btf_value_type_id(map));
	return l;
}

// Counters are carried only out of arrays indexed like ours whose value
// names its packets and bytes.
std::optional<CounterFields> carried_counters(int fd, const MapLayout &old)
{
	bool array = old.type == BPF_MAP_TYPE_PERCPU_ARRAY || old.type == BPF_MAP_TYPE_ARRAY;
	if (!array || old.key_size != sizeof(uint32_t))
		return std::nullopt;
	bpf_map_info info{};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0 || info.btf_id == 0)
		return std::nullopt;
	BtfPtr btf(btf__load_from_kernel_by_id(info.btf_id));
	return btf ? counter_fields(btf.get(), info.btf_value_type_id) : std::nullopt;
}

const char *fate(const RetiredMap &r)
{
	switch (r.spec.contents) {
	case MapContents::rebuilt:
		return "its entries are rebuilt from the config";
	case MapContents::counters:
		return r.counters ? "counters carried over"
				  : "counters restart (the old value names no packets/bytes)";
	case MapContents::cache:
		return "its entries are dropped (refilled by traffic)";
	}
	return "";
}

// A counter map whose replacement was interrupted: <name>_old is the
// original; a <name> pin beside it was made by that run and never served
// (programs are attached only after the copy), so it goes.
std::optional<RetiredMap> resume_retirement(const std::string &path, const PinnedMap &spec)
{
	Fd old(bpf_obj_get(old_pin(path).c_str()));
	if (!old.valid())
		return std::nullopt;
	auto layout = map_layout_of(old.get());
	if (!layout)
		return std::nullopt;
	::unlink(path.c_str());
	RetiredMap r{spec, std::move(old), *layout, std::nullopt};
	r.counters = carried_counters(r.fd.get(), r.layout);
	LOG_WARN("pinned map %s: finishing an interrupted replacement, %s", path.c_str(), fate(r));
	return r;
}

Result<std::optional<RetiredMap>> retire_if_unfit(const std::string &path, const PinnedMap &spec,
						  const struct btf *obj_btf)
{
	if (spec.contents == MapContents::counters)
		if (auto resumed = resume_retirement(path, spec))
			return std::optional<RetiredMap>(std::move(*resumed));
	Fd fd(bpf_obj_get(path.c_str()));
	if (!fd.valid())
		return std::optional<RetiredMap>{}; // nothing pinned: libbpf creates it
	auto have = map_layout_of(fd.get());
	if (!have)
		return have.error();
	std::string diff = layout_difference(*have, wanted_layout(spec.map, obj_btf));
	if (diff.empty())
		return std::optional<RetiredMap>{};
	RetiredMap r{spec, std::move(fd), *have, std::nullopt};
	if (spec.contents == MapContents::counters)
		r.counters = carried_counters(r.fd.get(), r.layout);
	LOG_WARN("pinned map %s does not match this build (%s): replacing it, %s", path.c_str(),
		 diff.c_str(), fate(r));
	bool keep = spec.contents == MapContents::counters;
	int rc = keep ? ::rename(path.c_str(), old_pin(path).c_str()) : ::unlink(path.c_str());
	if (rc != 0)
		return sys_error(errno, keep ? "move aside pinned map" : "unpin map", path);
	return std::optional<RetiredMap>(std::move(r));
}

uint64_t read_uint(const uint8_t *p, uint32_t size)
{
	if (size == 4) {
		uint32_t v;
		std::memcpy(&v, p, sizeof(v));
		return v;
	}
	uint64_t v;
	std::memcpy(&v, p, sizeof(v));
	return v;
}

// Only before the new map's programs run: the update overwrites every
// CPU's value of an index at once.
Status copy_counters(const RetiredMap &r, int new_fd, uint32_t new_entries)
{
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return sys_error(-ncpu, "count possible CPUs");
	bool percpu = r.layout.type == BPF_MAP_TYPE_PERCPU_ARRAY;
	size_t stride = (r.layout.value_size + 7) / 8 * 8;
	size_t values = percpu ? static_cast<size_t>(ncpu) : 1;
	std::vector<uint8_t> old(stride * values);
	const CounterFields &f = *r.counters;
	for (uint32_t idx = 0; idx < std::min(r.layout.max_entries, new_entries); idx++) {
		if (bpf_map_lookup_elem(r.fd.get(), &idx, old.data()) != 0)
			return sys_error(errno, "read old counters", r.spec.name);
		std::vector<steer_counter> now(ncpu);
		bool any = false;
		for (size_t cpu = 0; cpu < values; cpu++) {
			const uint8_t *v = old.data() + cpu * stride;
			now[cpu].packets = read_uint(v + f.packets_offset, f.packets_size);
			now[cpu].bytes = read_uint(v + f.bytes_offset, f.bytes_size);
			any = any || now[cpu].packets || now[cpu].bytes;
		}
		if (any && bpf_map_update_elem(new_fd, &idx, now.data(), BPF_ANY) != 0)
			return sys_error(errno, "carry counters into", r.spec.name);
	}
	return {};
}

} // namespace

Result<MapLayout> map_layout_of(int map_fd)
{
	bpf_map_info info{};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len) != 0)
		return sys_error(errno, "read map info");
	MapLayout l{info.type, info.key_size, info.value_size, info.max_entries, info.map_flags, {}, {}};
	if (info.btf_id == 0)
		return l;
	BtfPtr btf(btf__load_from_kernel_by_id(info.btf_id));
	if (!btf)
		return sys_error(errno, "read map BTF", "BTF id " + std::to_string(info.btf_id));
	l.key_btf = btf_layout(btf.get(), info.btf_key_type_id);
	l.value_btf = btf_layout(btf.get(), info.btf_value_type_id);
	return l;
}

bool map_sizes_are(int map_fd, uint32_t key_size, uint32_t value_size)
{
	auto l = map_layout_of(map_fd);
	return l && l->key_size == key_size && l->value_size == value_size;
}

Result<std::vector<RetiredMap>> retire_unfit_pins(const std::string &dir,
						  const std::vector<PinnedMap> &maps,
						  const struct btf *obj_btf)
{
	std::vector<RetiredMap> retired;
	for (const PinnedMap &spec : maps) {
		auto r = retire_if_unfit(dir + "/" + spec.name, spec, obj_btf);
		if (!r)
			return r.error();
		if (*r)
			retired.push_back(std::move(**r));
	}
	return retired;
}

Status finish_retirement(const std::string &dir, std::vector<RetiredMap> &retired)
{
	for (RetiredMap &r : retired) {
		if (r.spec.contents != MapContents::counters)
			continue;
		if (r.counters) {
			Status st = copy_counters(r, bpf_map__fd(r.spec.map), bpf_map__max_entries(r.spec.map));
			if (!st)
				return st;
		}
		::unlink(old_pin(dir + "/" + r.spec.name).c_str());
	}
	retired.clear();
	return {};
}

} // namespace steer
