// The mesh plan: what to add, change and remove so the daemon's loaded
// connections equal the wanted peers (DESIGN.md §4: the `--once` plan is
// the difference between the leases and what the daemon has loaded), and
// the nft set elements that follow the peer set. Pure.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "loaded.hpp"
#include "model.hpp"
#include "peers.hpp"
#include "render.hpp"

namespace steer::mesh {

enum class Daemon { strongswan, libreswan };

enum class Action { add, change, remove };

struct PlanItem {
	Action action = Action::add;
	std::string peer;                  // connection name
	std::string why;                   // "not loaded", "remote_ts 172.16.9.0/24 -> 172.16.2.0/24", ...
	std::vector<ConfFile> files;       // add/change: what to write
	bool operator==(const PlanItem &) const = default;
};

struct Plan {
	std::vector<PlanItem> items;       // adds, then changes, then removes; by name within each
	bool empty() const { return items.empty(); }
};

// What the plan is computed against.
struct Current {
	Loaded loaded;                                  // what the daemon reports
	std::map<std::string, std::string> our_files;   // conf_dir files of ours: name -> text
};

// The connection the daemon reports once a peer's files are loaded.
LoadedConn expected_conn(Daemon d, const MeshView &v, const Peer &p);
std::vector<ConfFile> render(Daemon d, const MeshView &v, const Peer &p, const AuthMaterial &a);

// A loaded connection is ours when conf_dir holds a file of ours for it;
// only those are ever removed (the daemon's other connections are not
// touched). A file of ours without a wanted peer is removed too.
Plan make_plan(Daemon d, const MeshView &wanted, const Current &current, const AuthMaterial &a);

// One line per item: "add     192-0-2-2  192.0.2.2 [172.16.2.0/24]: not loaded".
std::string plan_text(const Plan &plan, const MeshView &wanted);
const char *to_string(Action a);

// --- nft set elements ------------------------------------------------------

struct SetElement {
	std::string set;         // nft::set_names::*
	nft::Element element;
	bool operator==(const SetElement &o) const;
};

struct ElementChanges {
	std::vector<SetElement> add, remove;
	bool empty() const { return add.empty() && remove.empty(); }
};

// Every element a view puts in the mesh sets: per peer its address
// (peers_v4/_v6), each subnet (group subnets_v4/_v6) and each peer . subnet
// pair (group peer_subnets_v4/_v6). `set` names the group; the element's
// prefix length picks the set (nft::element_set: subnets_v4_24), which
// nft::build_set_update makes when the length is new.
std::vector<SetElement> view_elements(const MeshView &v);
// The elements to add and remove to go from `before` to `after`.
ElementChanges element_changes(const MeshView &before, const MeshView &after);
// "peers_v4 192.0.2.2", "peer_subnets_v4_24 192.0.2.2 . 10.5.2.0/24"
std::string to_text(const SetElement &e);

} // namespace steer::mesh
