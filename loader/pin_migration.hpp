// Pinned maps this build's programs cannot use as they are (another type,
// key or value size, max_entries, flags or BTF: an upgrade that changed a
// map) are never silently reused and never make `up` fail. Each is retired
// before the load, with a warning naming the difference, so libbpf creates
// and pins a fresh one; what it held is carried into the new map where
// that has a meaning (counters), the rest is rebuilt by `up` itself.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fd.hpp"
#include "map_layout.hpp"
#include "result.hpp"

struct bpf_map;
struct btf;

namespace steer {

// What becomes of the entries of a pinned map that is replaced.
enum class MapContents {
	rebuilt,  // written again from the config by the same `up`
	counters, // packets and bytes carried over by field name
	cache,    // dropped: refilled by traffic (fragment tracking)
};

struct PinnedMap {
	struct bpf_map *map; // of the opened object, before its load
	const char *name;    // the pin's file name in the pin directory
	MapContents contents;
};

struct RetiredMap {
	PinnedMap spec;
	Fd fd;            // the old map, open until its counters are copied
	MapLayout layout; // the old map's
	std::optional<CounterFields> counters; // nullopt: counters restart
};

// Before the load: every map of `maps` whose pin in `dir` does not fit is
// moved out of libbpf's way (counter maps to <name>_old until copied, the
// others unlinked). obj_btf is the opened object's BTF.
Result<std::vector<RetiredMap>> retire_unfit_pins(const std::string &dir,
						  const std::vector<PinnedMap> &maps,
						  const struct btf *obj_btf);

// After the load: the counters of retired counter maps copied into the
// maps that replaced them, then their <name>_old pins removed.
Status finish_retirement(const std::string &dir, std::vector<RetiredMap> &retired);

// The layout of a map fd (BTF read from the kernel).
Result<MapLayout> map_layout_of(int map_fd);

// Whether a map's entries have these sizes (false when unreadable): user
// space reads a pinned map before the load only when they do.
bool map_sizes_are(int map_fd, uint32_t key_size, uint32_t value_size);

} // namespace steer
