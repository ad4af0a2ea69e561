// The first reaction of `watch` to an interface going away, before any
// debounce or reconcile: no map entry may keep pointing at the deleted
// ifindex. A gateway whose router end vanished gets target_ifindex 0, so
// its frames are dropped and counted target_missing (the peer retransmits)
// until `up` has re-created the veth; entries keyed by a deleted public
// interface are removed, and return entries sending out through it get
// out_ifindex 0. Stale fragment targets are dropped too.
#pragma once

#include <set>
#include <string>

#include "result.hpp"

namespace steer {

// Fences the pinned maps under pin_dir against the deleted ifindexes (of
// that router namespace). Returns how many entries changed.
Result<int> fence_deleted_links(const std::string &pin_dir, const std::set<int> &deleted);

} // namespace steer
