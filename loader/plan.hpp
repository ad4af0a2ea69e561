// What `up` wants the kernel to hold for each gateway: names, the link
// subnet, routing table and gateway id. Pure and deterministic: the same
// config gives the same plan after any number of down + up.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config.hpp"

namespace steer {

// Numbers that mark objects as ours in the kernel itself.
constexpr uint8_t route_protocol = 0x57;     // routes and rules we own (87)
constexpr uint32_t rule_priority = 5491;     // our `ip rule`s
constexpr uint32_t table_base = 0x15730000;  // routing tables: base + slot
constexpr uint32_t table_slots = 0x10000;
constexpr const char *alias_prefix = "ipsec-steer:";

struct LinkPlan {
	config::Cidr subnet;          // /30 (IPv4) or /127 (IPv6)
	config::IpAddress router_end; // on ist-<name> in the router namespace
	config::IpAddress gateway_end; // on eth0 in the gateway namespace
};

struct GatewayPlan {
	const config::Gateway *gateway = nullptr;
	std::string netns;            // the gateway namespace
	std::string router_link;      // ist-<name>
	std::string alias;            // ipsec-steer:<name>
	LinkPlan link;
	uint32_t table = 0;
};

// Plans for every gateway of the config, in config order.
std::vector<GatewayPlan> plan_gateways(const config::Config &cfg);

// The allocation alone, exposed for tests: a free /30 in 169.254.0.0/16
// (or /127 in fd00::/8 for IPv6) chosen from a hash of the name, probing
// past subnets taken by other gateways of the same router namespace.
LinkPlan allocate_link(const std::string &name, int family,
		       const std::vector<config::Cidr> &taken);
uint32_t allocate_table(const std::string &name, const std::vector<uint32_t> &taken);

// Gateway ids (index of the counters): ids already in the map stay; new
// gateways take the lowest free id from 1.
std::map<std::string, uint32_t> assign_gateway_ids(const std::vector<std::string> &names,
						   const std::map<std::string, uint32_t> &existing);

} // namespace steer
