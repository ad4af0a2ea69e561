// One gateway's objects: the namespace and its end of the veth (eth0),
// and the router's end (ist-<name>) with its address, rules and routes.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "ns_prefix.hpp"
#include "plan.hpp"
#include "result.hpp"

namespace steer {

// What the router namespace says about the public interface.
struct PublicSide {
	int ifindex = 0;
	std::array<uint8_t, 6> mac{};
};

Result<PublicSide> read_public_side(const std::string &router_netns, const std::string &ifname);
// The same, in the calling thread's namespace (already the router's).
Result<PublicSide> read_public_side_here(const std::string &ifname);

// Creates the namespace and the veth pair when missing (or broken), then
// makes everything inside the namespace match. Returns the router end's
// ifindex.
Result<int> ensure_gateway_link(const GatewayPlan &p);
Status ensure_gateway_inside(const GatewayPlan &p, const PublicSide &pub, int router_ifindex);

// Router side, run inside the router namespace: address and sysctls of the
// router end, the rules and table steering cleartext into the namespace.
Status ensure_router_side(const GatewayPlan &p, int router_ifindex);

// Names of the gateways whose router end (ist-<name>, alias
// ipsec-steer:<name>) is in the current namespace: what this tool owns here.
Result<std::vector<std::string>> owned_gateways();

// Removes a gateway found by its router-end link name in the current
// (router) namespace: rules and routes of its table, the veth, then the
// gateway namespace itself. Absent pieces are fine.
Status remove_gateway_objects(const std::string &name);

// A gateway namespace is marked from birth: its lo carries the alias
// ipsec-steer:<gateway> (set before the namespace is named), so `down
// --all` finds it even when a crash left it without its veth.
Status mark_gateway_netns(const std::string &gateway);
// Every named namespace whose lo carries our mark.
std::vector<std::string> marked_gateway_netns();
// Its veth (both ends), then the namespace.
Status remove_marked_gateway_netns(const std::string &netns);

} // namespace steer
