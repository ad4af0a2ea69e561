// Incremental updates of set elements in our table (the host mesh's peer
// and subnet sets, DESIGN.md §4): one nfnetlink batch of DELSETELEM and
// NEWSETELEM messages, never a reload of the table, so rules, counters and
// every other element stay untouched. Pure: builds bytes, sends nothing
// (Transport::apply sends). nf_tables commits the batch whole or not at
// all: a reader of the set never sees half an update.
#pragma once

#include <string>
#include <vector>

#include "build.hpp"
#include "model.hpp"

namespace steer::nft {

// What to change in one set. `key` is the set's key (mesh_sets() gives
// them), needed to encode the elements.
struct SetChange {
	std::string set;
	std::vector<KeyType> key;
	bool flush = false;              // remove every element first (reconcile)
	std::vector<Element> remove;     // then these
	std::vector<Element> add;        // then these
};

// The batch for changes to sets of `inet table`, in order: per set its
// flush, its removals, then every addition. Elements are encoded as nft
// sends them (an interval's start and its end key; a concatenation's key
// and key end). Fails (err 0) when an element does not fit its set's key.
[[nodiscard]] Result<Batch> build_set_update(const std::string &table,
	const std::vector<SetChange> &changes, uint32_t first_seq = 1);

// Kernel elements (start/end keys) one model element takes in a set of
// `key`: 2 for a single-field prefix (1 when it runs to the last address),
// 1 for a concatenation. For counting what an update touches.
size_t kernel_elements(const std::vector<KeyType> &key, const Element &e);

} // namespace steer::nft
