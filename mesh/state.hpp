// The agent's view of the leases: a full list, then watch events applied
// in revision order. Pure. Rejected records are kept with their reason
// (logged once, never acted on); a key that turns valid again replaces
// its rejection.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "etcd.hpp"
#include "lease.hpp"

namespace steer::mesh {

struct LeaseState {
	std::map<std::string, Lease> leases;          // valid, by key
	std::map<std::string, std::string> rejected;  // key -> reason
	int64_t revision = 0;                         // the view is complete up to here

	// The revision the watch resumes at.
	int64_t next_revision() const { return revision + 1; }
};

// Changes that matter to the log: newly rejected records ("lease KEY: why").
struct Applied {
	std::vector<std::string> rejections;
	bool changed = false;                          // leases differ from before
};

LeaseState state_from_range(const std::string &prefix, const etcd::RangeResponse &r, Applied *applied);
// Events at or below state.revision are skipped (a resumed watch may
// repeat them: never a duplicate).
Applied apply_events(const std::string &prefix, LeaseState &state, const std::vector<etcd::Event> &events);

} // namespace steer::mesh
