// The maps of one router namespace made equal to the wanted entries:
// wanted ones written, every other entry removed, the ports bitmap last.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpf_steer.hpp"
#include "plan.hpp"
#include "programs.hpp"

namespace steer {

using GatewayIds = std::map<std::string, uint32_t>; // gateway name -> id

struct WantedEntry {
	steer_gw_key key;
	steer_gw_value value;
	std::optional<std::pair<uint32_t, steer_return_value>> ret; // egress = "bpf"
};

// Ids of the gateways of one router namespace: those already in the pinned
// gateways map (matched by address) keep theirs, so counters continue.
GatewayIds gateway_ids_for(const std::string &pin_dir, const std::vector<const GatewayPlan *> &plans);

// The steering object with maps pinned in pin_dir, counters sized for ids.
Result<std::unique_ptr<SteerObject>> load_for(const std::string &pin_dir, const GatewayIds &ids);

Status sync_maps(SteerObject &obj, const std::vector<WantedEntry> &wanted);

// The gateways map key of a public address on an interface.
steer_gw_key gateway_key(int ifindex, const config::IpAddress &address);

// Our filter on the interface runs `prog`; attaches (replacing) otherwise.
Status ensure_filter(int ifindex, const ActiveProgram &prog);

} // namespace steer
