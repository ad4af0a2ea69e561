// `watch`: `up`, then stay running and restore what drifts. One thread
// polls every event source (route-netlink and nftables monitors per
// namespace, inotify on /run/netns, a signalfd) and runs, per router
// namespace:
//   1. at once, on an interface deleted there: fence the maps (targets 0,
//      keys of a gone public interface removed), so no frame is sent to a
//      stale ifindex while the rest waits;
//   2. after a burst of relevant events settles: a read-only drift check;
//      only when it finds a difference, `up` of that router namespace,
//      then its own notifications are discarded and the check runs again.
// A check that finds nothing changes nothing, so the loop cannot feed
// itself. A periodic check catches what no event shows.
#pragma once

#include <chrono>

namespace steer {

struct WatchTiming {
	using ms = std::chrono::milliseconds;
	// A burst of events is over after `quiet` without one, or `max_delay`
	// after its first event, whichever comes first.
	static constexpr ms quiet{50};
	static constexpr ms max_delay{100};
	// Every router namespace and the host table are checked this often
	// even without events: for what none reports (notifications lost to
	// a full socket buffer, a router namespace replaced under its name).
	static constexpr ms periodic{5000};
	// A restore that failed is retried after first_retry, doubling up to
	// max_retry while it keeps failing (an interface that is missing).
	static constexpr ms first_retry{100};
	static constexpr ms max_retry{5000};
};

} // namespace steer
