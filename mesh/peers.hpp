// The peer set one host wants: every other host's lease, grouped by the
// peer's underlay address (a host that re-leased keeps one connection with
// both subnets until the old lease expires), plus this host's own subnets
// (the local side of every subnet-to-subnet child). Pure.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "lease.hpp"

namespace steer::mesh {

struct Peer {
	std::string name;                     // connection name: conn_name(address)
	config::IpAddress address;            // the peer's underlay (PublicIP)
	std::vector<config::Cidr> subnets;    // its leased subnets, sorted by text
	bool operator==(const Peer &o) const
	{
		return name == o.name && address == o.address && subnets == o.subnets;
	}
};

struct MeshView {
	config::IpAddress self;                   // this host's public_address
	std::vector<config::Cidr> local_subnets;  // leases whose PublicIP is self, sorted
	std::map<std::string, Peer> peers;        // by name
	// Host-to-host children (the seed's hostA-hostB conn: the underlay,
	// VXLAN included, inside ESP). Off when the daemon cannot carry one:
	// strongSwan's kernel-libipsec refuses them (TS_UNACCEPTABLE, "conflicts
	// with IKE traffic"), so the agent turns them off when that plugin runs.
	bool host_to_host = true;
};

// The connection name of a peer: its address with '.' and ':' mapped to
// '-' (DESIGN.md §4): 192.0.2.2 -> "192-0-2-2", 2001:db8::2 -> "2001-db8--2".
std::string conn_name(const config::IpAddress &address);

// leases: every valid lease by key. A lease's subnet and PublicIP share a
// family (parse_lease), and a peer of the other underlay family than self
// cannot be reached from self's one address: it is skipped.
MeshView wanted_view(const config::IpAddress &self, const std::map<std::string, Lease> &leases);


} // namespace steer::mesh
