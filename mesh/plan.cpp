#include "plan.hpp"

#include <sys/socket.h>

#include <algorithm>

namespace steer::mesh {

namespace {

std::vector<std::string> texts(const std::vector<config::Cidr> &list)
{
	std::vector<std::string> out;
	for (const auto &c : list)
		out.push_back(c.text);
	return out;
}

std::string words(const std::vector<std::string> &w)
{
	std::string out;
	for (const auto &s : w)
		out += (out.empty() ? "" : ",") + s;
	return out.empty() ? "-" : out;
}

// What differs between the loaded connection and the wanted one, briefly.
std::string difference(const LoadedConn &want, const LoadedConn &have)
{
	if (want.remote_addrs != have.remote_addrs)
		return "remote_addrs " + words(have.remote_addrs) + " -> " + words(want.remote_addrs);
	if (want.local_addrs != have.local_addrs)
		return "local_addrs " + words(have.local_addrs) + " -> " + words(want.local_addrs);
	for (const auto &[name, child] : want.children) {
		auto it = have.children.find(name);
		if (it == have.children.end())
			return "child " + name + " not loaded";
		if (child.local_ts != it->second.local_ts)
			return name + " local_ts " + words(it->second.local_ts) + " -> " + words(child.local_ts);
		if (child.remote_ts != it->second.remote_ts)
			return name + " remote_ts " + words(it->second.remote_ts) + " -> " + words(child.remote_ts);
	}
	for (const auto &[name, child] : have.children)
		if (!want.children.count(name))
			return "child " + name + " no longer wanted";
	return {};
}

// A file we would write that is missing or differs on disk.
std::string file_difference(const std::vector<ConfFile> &files, const Current &current)
{
	for (const auto &f : files) {
		auto it = current.our_files.find(f.name);
		if (it == current.our_files.end())
			return f.name + " missing";
		if (it->second != f.text)
			return f.name + " differs";
	}
	return {};
}

std::set<std::string> owned_peers(const Current &current)
{
	std::set<std::string> owned;
	for (const auto &[file, text] : current.our_files)
		if (std::string peer = peer_of_file(file); !peer.empty())
			owned.insert(peer);
	return owned;
}

void add_element(std::vector<SetElement> &out, const char *set, std::vector<config::Cidr> fields)
{
	out.push_back({set, nft::Element{std::move(fields)}});
}

} // namespace

const char *to_string(Action a)
{
	switch (a) {
	case Action::add: return "add";
	case Action::change: return "change";
	case Action::remove: return "remove";
	}
	return "?";
}

LoadedConn expected_conn(Daemon d, const MeshView &v, const Peer &p)
{
	(void)d;  // both daemons report the same shape (loaded.hpp)
	LoadedConn c{{v.self.text}, {p.address.text}, {}};
	if (v.host_to_host)
		c.children[host_child(p)] = LoadedChild{{"dynamic"}, {"dynamic"}};
	if (!v.local_subnets.empty())
		c.children[subnet_child(p)] = LoadedChild{texts(v.local_subnets), texts(p.subnets)};
	return c;
}

std::vector<ConfFile> render(Daemon d, const MeshView &v, const Peer &p, const AuthMaterial &a)
{
	return d == Daemon::strongswan ? render_strongswan(v, p, a) : render_libreswan(v, p, a);
}

Plan make_plan(Daemon d, const MeshView &wanted, const Current &current, const AuthMaterial &a)
{
	Plan plan;
	std::vector<PlanItem> changes, removes;
	for (const auto &[name, peer] : wanted.peers) {
		auto files = render(d, wanted, peer, a);
		auto loaded = current.loaded.find(name);
		if (loaded == current.loaded.end()) {
			plan.items.push_back({Action::add, name, "not loaded", files});
			continue;
		}
		std::string why = difference(expected_conn(d, wanted, peer), loaded->second);
		if (why.empty())
			why = file_difference(files, current);
		if (!why.empty())
			changes.push_back({Action::change, name, why, files});
	}
	for (const auto &name : owned_peers(current))
		if (!wanted.peers.count(name))
			removes.push_back({Action::remove, name,
				current.loaded.count(name) ? "no lease" : "no lease (stale file, not loaded)", {}});
	plan.items.insert(plan.items.end(), changes.begin(), changes.end());
	plan.items.insert(plan.items.end(), removes.begin(), removes.end());
	return plan;
}

std::string plan_text(const Plan &plan, const MeshView &wanted)
{
	std::string out;
	for (const auto &item : plan.items) {
		std::string line = to_string(item.action);
		line.resize(7, ' ');
		line += " " + item.peer;
		if (auto p = wanted.peers.find(item.peer); p != wanted.peers.end())
			line += " " + p->second.address.text + " [" + words(texts(p->second.subnets)) + "]";
		out += line + ": " + item.why + "\n";
	}
	return out;
}

bool SetElement::operator==(const SetElement &o) const
{
	return set == o.set && element.fields == o.element.fields;
}

std::vector<SetElement> view_elements(const MeshView &v)
{
	namespace names = nft::set_names;
	std::vector<SetElement> out;
	for (const auto &[name, p] : v.peers) {
		bool v6 = p.address.family == AF_INET6;
		add_element(out, v6 ? names::peers_v6 : names::peers_v4, {nft::host_prefix(p.address)});
		for (const auto &s : p.subnets) {
			add_element(out, v6 ? names::subnets_v6 : names::subnets_v4, {s});
			add_element(out, v6 ? names::peer_subnets_v6 : names::peer_subnets_v4,
				{nft::host_prefix(p.address), s});
		}
	}
	return out;
}

ElementChanges element_changes(const MeshView &before, const MeshView &after)
{
	// Keyed by text: 1,000 peers are 3,000 elements, too many for pairwise
	// comparison on every watch event.
	auto keyed = [](const MeshView &v) {
		std::map<std::string, SetElement> m;
		for (auto &e : view_elements(v))
			m.emplace(to_text(e), std::move(e));
		return m;
	};
	auto old_set = keyed(before), new_set = keyed(after);
	ElementChanges c;
	for (const auto &[key, e] : new_set)
		if (!old_set.count(key))
			c.add.push_back(e);
	for (const auto &[key, e] : old_set)
		if (!new_set.count(key))
			c.remove.push_back(e);
	return c;
}

std::string to_text(const SetElement &e)
{
	return nft::element_set(e.set, e.element) + " " + nft::to_text(e.element);
}

} // namespace steer::mesh
