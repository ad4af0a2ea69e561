// The IKE daemon's per-peer configuration, as text (the flannel seed's
// "hostA-hostB" and "hostA-hostB-subnet" conns). Pure: the caller reads the
// PSK file and writes the files.
//
// strongSwan: one swanctl.conf fragment per peer in conf_dir, which the
// daemon's main swanctl.conf includes; one connection named after the peer
// (conn_name) with two children, "<name>-host" (host to host) and
// "<name>-subnet" (local subnets to the peer's subnets; absent while this
// host has no lease).
// libreswan: "<name>.conf" with conn <name> (host to host) and conn
// <name>-subnet (also=<name>, so auto=start too: libreswan refuses a key
// given both in a conn and through its also=), plus "<name>.secrets" for
// a PSK.
#pragma once

#include <string>
#include <vector>

#include "peers.hpp"

namespace steer::mesh {

// Authentication material: a PSK's secret (read from psk_file), or paths.
struct AuthMaterial {
	std::string psk;                 // non-empty: PSK authentication
	std::string cert, key, ca;       // else: certificates by path
};

// One file to write into conf_dir, by bare name.
struct ConfFile {
	std::string name;      // "ipsec-steer-mesh-192-0-2-2.conf"
	std::string text;
	bool secret = false;   // holds a PSK or key reference: mode 0600
	bool operator==(const ConfFile &) const = default;
};

inline constexpr const char *file_prefix = "ipsec-steer-mesh-";

// The peer name a file of ours belongs to; "" when the name is not ours.
std::string peer_of_file(const std::string &file_name);

// The PSK as it sits in a PSK file: trailing whitespace dropped. Error if
// empty or holding a quote, backslash or line break (it is written inside
// "..." in both daemons' syntax).
Result<std::string> psk_from_file_text(const std::string &text);

// Whether this end brings a pair's libreswan conns up: the lower address
// does (family, then bytes in network order); the other end only loads
// them and answers. When both ends initiate, their IKE SAs cross and pluto
// 4.10 drops the Child SAs queued on the one it lets go (and crossed
// CREATE_CHILD_SA exchanges wait out a 60 s retransmit timeout). A peer
// that loads its conns late is retried by pluto (keyingtries forever); a
// restarted pluto brings its auto=start conns up itself.
bool initiates_pair(const config::IpAddress &self, const config::IpAddress &peer);

// Child names of a peer's connection.
std::string host_child(const Peer &p);
std::string subnet_child(const Peer &p);

std::vector<ConfFile> render_strongswan(const MeshView &v, const Peer &p, const AuthMaterial &a);
std::vector<ConfFile> render_libreswan(const MeshView &v, const Peer &p, const AuthMaterial &a);

} // namespace steer::mesh
