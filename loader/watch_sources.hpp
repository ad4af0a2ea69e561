// Where `watch` learns that something changed: per namespace the config
// names (ours, each router namespace, each gateway namespace) a
// route-netlink monitor and, where we keep an nft table, an nftables
// monitor; plus inotify on /run/netns for namespaces deleted or created
// underneath, which no netlink group reports. Everything is read from the
// one loop thread; only opening a socket enters a namespace, on a helper.
#pragma once

#include <poll.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config.hpp"
#include "fd.hpp"
#include "monitor.hpp"
#include "plan.hpp"
#include "watch_nft.hpp"

namespace steer {

// What identifies a router namespace's gateways in its notifications.
struct GroupFacts {
	std::set<std::string> ifnames; // public interfaces and router ends (ist-*)
	std::set<int> ifindexes;       // the same, as last seen
	std::set<uint32_t> tables;     // the gateways' routing tables
};

// Whether a notification from a router namespace concerns its gateways:
// their links (by name or ifindex), addresses and tc filters on them, and
// routes and rules of ours. Neighbour churn of a busy router never does.
bool concerns_router(const ns::RtEvent &e, const GroupFacts &facts);

// What the sources reported since the last read, by router namespace.
struct Wakeup {
	std::set<std::string> groups;                    // to check (debounced)
	std::map<std::string, std::set<int>> deleted_links; // router ns -> ifindexes gone
	bool host = false;                               // our [firewall] table changed
	bool namespaces = false;                         // /run/netns changed
};

class EventSources {
public:
	static Result<EventSources> open();

	// Opens monitors for namespaces the config names that exist, re-opens
	// those whose name now refers to another namespace (deleted and
	// re-created), closes the rest. Failures are logged; the next refresh
	// retries.
	void refresh(const config::Config &cfg, const std::vector<GatewayPlan> &plans);

	std::vector<pollfd> pollfds() const;

	// Reads every source (non-blocking) and sorts what matters.
	Wakeup read(const std::map<std::string, GroupFacts> &facts);

	// Reads and forgets what the namespaces of router group `group` queued
	// so far: the notifications of our own `up` there (sent before its
	// requests returned), so they do not wake a reconcile of their own.
	// Returns the links deleted in the router namespace all the same: one
	// deleted by someone else meanwhile must still be fenced (fencing our
	// own deletions finds nothing to change).
	std::set<int> discard(const std::string &group);

private:
	struct Watched {
		std::string netns;                // "" = ours
		std::optional<std::string> group; // router namespace repaired by `up`
		bool gateway = false;             // everything in it is ours
		bool host = false;                // holds the [firewall] table
		bool want_nft = false;
		std::optional<ns::RtMonitor> rt;
		std::optional<NftMonitor> nft;
	};

	explicit EventSources(Fd inotify) : inotify_(std::move(inotify)) {}
	static std::vector<Watched> wanted(const config::Config &cfg, const std::vector<GatewayPlan> &plans);
	void reopen(Watched &w);
	void read_netns_changes(Wakeup &out);
	void sort_rt(const Watched &w, const ns::RtBatch &batch,
		     const std::map<std::string, GroupFacts> &facts, Wakeup &out);

	Fd inotify_;
	std::vector<Watched> watched_;
};

} // namespace steer
