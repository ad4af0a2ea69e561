#include "peers.hpp"

#include <algorithm>

namespace steer::mesh {

namespace {

void add_sorted(std::vector<config::Cidr> &list, const config::Cidr &c)
{
	auto by_text = [](const config::Cidr &a, const config::Cidr &b) { return a.text < b.text; };
	auto at = std::lower_bound(list.begin(), list.end(), c, by_text);
	if (at == list.end() || !(*at == c))
		list.insert(at, c);
}

} // namespace

std::string conn_name(const config::IpAddress &address)
{
	std::string name = address.text;
	std::replace(name.begin(), name.end(), '.', '-');
	std::replace(name.begin(), name.end(), ':', '-');
	return name;
}

MeshView wanted_view(const config::IpAddress &self, const std::map<std::string, Lease> &leases)
{
	MeshView v;
	v.self = self;
	for (const auto &[key, lease] : leases) {
		if (lease.public_ip == self) {
			add_sorted(v.local_subnets, lease.subnet);
			continue;
		}
		// One underlay family per connection: a peer of the other family
		// could not be reached from self's address.
		if (lease.public_ip.family != self.family)
			continue;
		std::string name = conn_name(lease.public_ip);
		Peer &p = v.peers[name];
		p.name = name;
		p.address = lease.public_ip;
		add_sorted(p.subnets, lease.subnet);
	}
	return v;
}

} // namespace steer::mesh
