// Links (network interfaces) of the calling thread's network namespace.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "result.hpp"

namespace steer::ns {

struct LinkInfo {
	int ifindex = 0;
	std::string name, alias, kind;  // kind: "veth", ...; "" for lo/physical
	std::array<uint8_t, 6> mac{};   // zeros when the link has no 6-byte address
	bool up = false;                // administratively up (IFF_UP)
	unsigned mtu = 0;
	int link_netnsid = -1;          // namespace id of peer_ifindex, -1 = ours
	int peer_ifindex = 0;           // IFLA_LINK: a veth's peer, 0 if none
};

// nullopt when no such link exists.
Result<std::optional<LinkInfo>> find_link(const std::string &name);
Result<std::optional<LinkInfo>> find_link(int ifindex);
Result<std::vector<LinkInfo>> list_links();

// A veth pair: `name` here, `peer_name` created directly in namespace
// peer_netns (a name under /run/netns; "" = this namespace), both down.
// An existing pair with exactly these names and placement is success;
// anything else holding the name is EEXIST (delete it first).
Status create_veth(const std::string &name, const std::string &peer_name,
		   const std::string &peer_netns);

// Note: a MAC change flushes the link's neighbours, permanent ones
// included; set the MAC before adding them.
Status set_link_mac(int ifindex, const std::array<uint8_t, 6> &mac);
Status set_link_alias(int ifindex, const std::string &alias);  // "" clears it
Status set_link_up(int ifindex, bool up);
Status set_link_mtu(int ifindex, unsigned mtu);
// Set the link down first: kernels before 6.2 answer EBUSY for an up link
// (the error then says so); newer ones allow renaming a running link.
Status rename_link(int ifindex, const std::string &name);

// Deletes the link (a veth takes its peer along); absent is success.
Status delete_link(const std::string &name);

} // namespace steer::ns
