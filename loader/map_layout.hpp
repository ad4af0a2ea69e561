// The layout a BPF map has, or must have for this build's programs, and
// what differs between two. Pure: BTF here is libbpf's parse in memory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

struct btf;

namespace steer {

struct MapLayout {
	uint32_t type = 0; // enum bpf_map_type
	uint32_t key_size = 0;
	uint32_t value_size = 0;
	uint32_t max_entries = 0;
	uint32_t map_flags = 0;
	std::string key_btf;   // btf_layout() of the key type; "" = no BTF
	std::string value_btf; // likewise for the value
};

// Canonical text of the memory layout of a BTF type: sizes, member names
// and bit offsets, integer encodings, array lengths. Typedefs, qualifiers
// and the names of types do not count (a rename changes no byte). "" for
// type id 0 (no BTF).
std::string btf_layout(const struct btf *btf, uint32_t type_id);

// "" when a map laid out as `have` serves where `want` is expected, else
// what differs, e.g. "value size 24 -> 16, value BTF differs".
std::string layout_difference(const MapLayout &have, const MapLayout &want);

// Where a counter value keeps its `packets` and `bytes` (unsigned 4- or
// 8-byte integers, found by name), so counters can be carried from an old
// value layout to the new one. nullopt when the type has no such fields.
struct CounterFields {
	uint32_t packets_offset = 0, packets_size = 0;
	uint32_t bytes_offset = 0, bytes_size = 0;
};
std::optional<CounterFields> counter_fields(const struct btf *btf, uint32_t value_type_id);

} // namespace steer
