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
// them), needed to encode the elements. `set` may name one of the groups
// of per-prefix-length sets (is_prefix_group(): subnets_v4, ...): each
// element then goes to the set of its length (element_set()).
struct SetChange {
	std::string set;
	std::vector<KeyType> key;
	bool flush = false;              // remove every element first (reconcile)
	std::vector<Element> remove;     // then these
	std::vector<Element> add;        // then these
};

// The batch for changes to hash sets of `inet table`, in order: per set
// its flush and its removals, then per set its additions. A group's flush
// removes the sets of every length (0..32 or 0..128: which ones a previous
// run left is not known here; each is created if absent, then deleted);
// its additions first create the set of their length if absent
// (NEWSET without NLM_F_EXCL: a no-op for an identical set), so a new
// length needs no other step. A set emptied by removals stays (empty)
// until the next flush. Elements are sent as nft sends them to a hash set:
// one key, the fields' network addresses. Fails (err 0) when an element
// does not fit its set's key.
[[nodiscard]] Result<Batch> build_set_update(const std::string &table,
	const std::vector<SetChange> &changes, uint32_t first_seq = 1);

// Kernel elements one model element takes in a hash set: 1. For counting
// what an update touches.
size_t kernel_elements(const std::vector<KeyType> &key, const Element &e);

} // namespace steer::nft
