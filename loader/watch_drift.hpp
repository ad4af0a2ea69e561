// What `watch` compares with the config before it changes anything: the
// objects `up` makes for one router namespace's gateways, read only. An
// empty drift list means nothing to do, so a reconcile woken by events it
// caused itself (or by unrelated ones) changes nothing and causes no new
// events: the loop goes quiet instead of feeding itself.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "config.hpp"
#include "plan.hpp"

namespace steer {

struct RouterView {
	std::vector<std::string> drift;   // one sentence per difference `up` fixes
	std::vector<std::string> waiting; // what `up` cannot create (a public
	                                  // interface): nothing to run until it comes
	std::set<int> ifindexes;        // public interfaces and router ends seen
};

// The gateways of router namespace `router` ("" = ours) in plans.
RouterView inspect_router_group(const config::Config &cfg, const std::string &router,
				const std::vector<const GatewayPlan *> &plans);

// The [firewall] table of the namespace the tool runs in.
std::vector<std::string> host_drift(const config::Config &cfg);

} // namespace steer
