// Route-netlink notifications of one network namespace, for `watch`. The
// socket is opened on a helper thread that entered the namespace and ends
// at once: a netlink socket stays bound to the namespace it was created
// in, so the caller's thread (never switched) reads it afterwards and can
// poll the sockets of many namespaces from one loop.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nl_ptr.hpp"
#include "result.hpp"

namespace steer::ns {

// Which network namespace a path names: the nsfs inode. Two sockets or
// paths with the same id are in the same namespace; a name deleted and
// re-created gets a new id.
struct NetnsId {
	dev_t dev = 0;
	ino_t ino = 0;
	bool operator==(const NetnsId &) const = default;
};

// The namespace /run/netns/<name> names now ("" = the caller's own);
// nullopt when there is no such namespace.
std::optional<NetnsId> netns_id(const std::string &name);

enum class RtKind : uint8_t { link, address, neighbour, route, rule, tc, other };

// One notification, with only what `watch` decides on.
struct RtEvent {
	RtKind kind = RtKind::other;
	bool removed = false;    // RTM_DEL*
	int ifindex = 0;         // link, address, neighbour, tc; 0 = unknown
	std::string ifname;      // link
	uint16_t neigh_state = 0; // neighbour: NUD_*
	uint8_t protocol = 0;    // route, rule
	uint32_t table = 0;      // route, rule
};

struct RtBatch {
	std::vector<RtEvent> events;
	// The kernel dropped notifications (ENOBUFS: the socket's buffer was
	// full): anything may have changed without an event saying so.
	bool overflowed = false;
};

class RtMonitor {
public:
	// Subscribes to link, address, neighbour, route, rule and tc groups
	// (IPv4 and IPv6) of namespace `netns` ("" = the caller's own).
	static Result<RtMonitor> open(const std::string &netns);

	int fd() const;
	const NetnsId &netns() const { return netns_; }

	// Every notification queued so far; never blocks.
	Result<RtBatch> read();

private:
	RtMonitor(NlSockPtr sock, std::unique_ptr<RtBatch> pending, NetnsId id)
		: sock_(std::move(sock)), pending_(std::move(pending)), netns_(id) {}

	NlSockPtr sock_;
	std::unique_ptr<RtBatch> pending_; // on the heap: libnl's callback keeps its address
	NetnsId netns_;
};

} // namespace steer::ns
