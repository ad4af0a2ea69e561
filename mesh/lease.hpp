// flannel's subnet leases (the flannel seed, "Automating IPsec config"):
// one etcd key per host, "<prefix>/172.16.1.0-24", whose value is the JSON
// flannel writes: {"PublicIP": "192.0.2.1", "BackendType": "vxlan",
// "BackendData": {...}} (IPv6 leases: "fd00:10::-64" with "PublicIPv6").
// Pure: parsing never touches anything but its arguments. A malformed
// record is an Error with the reason; the caller logs it and ignores the
// key (it is never acted on).
#pragma once

#include <string>
#include <string_view>

#include "loader/config.hpp"
#include "result.hpp"

namespace steer::mesh {

struct Lease {
	std::string key;                  // the whole etcd key
	config::Cidr subnet;              // from the key: 172.16.1.0-24 -> 172.16.1.0/24
	config::IpAddress public_ip;      // PublicIP (PublicIPv6 for an IPv6 subnet)
	std::string backend_type;         // "vxlan", ...
	std::string backend_data;         // BackendData as compact JSON ("" when absent)

	bool operator==(const Lease &o) const
	{
		return key == o.key && subnet == o.subnet && public_ip == o.public_ip &&
			backend_type == o.backend_type && backend_data == o.backend_data;
	}
};

// "<prefix>/" : the etcd range every lease key is in.
std::string lease_dir(std::string_view prefix);

// "172.16.1.0-24" -> 172.16.1.0/24. Error: a sentence naming the text.
Result<config::Cidr> parse_subnet_key(std::string_view name);

// One record. key must be "<prefix>/<subnet>" exactly (no deeper path).
// Error().what: "lease KEY: reason".
Result<Lease> parse_lease(std::string_view prefix, std::string_view key, std::string_view value);

} // namespace steer::mesh
