#include "lease.hpp"

#include <sys/socket.h>

#include <charconv>
#include <nlohmann/json.hpp>

namespace steer::mesh {

namespace {

using json = nlohmann::json;

Error bad(std::string_view key, const std::string &reason)
{
	return plain_error("lease " + std::string(key) + ": " + reason);
}

// The address field of an object: present, a string, an address of `family`.
Result<config::IpAddress> address_field(const json &v, const char *name, int family)
{
	auto it = v.find(name);
	if (it == v.end() || it->is_null())
		return plain_error(std::string("no \"") + name + "\"");
	if (!it->is_string())
		return plain_error(std::string("\"") + name + "\" is not a string");
	std::string text = it->get<std::string>();
	auto ip = config::parse_ip(text);
	if (!ip)
		return plain_error(std::string("\"") + name + "\" \"" + text + "\" is not an IP address");
	if (ip->family != family)
		return plain_error(std::string("\"") + name + "\" " + text + " is not an " +
			(family == AF_INET ? "IPv4" : "IPv6") + " address like its subnet");
	return *ip;
}

// The parsed JSON value, or the parser's complaint. nlohmann throws; the
// exception stops here.
Result<json> parse_json(std::string_view value)
{
	json v = json::parse(value, nullptr, false);
	if (v.is_discarded())
		return plain_error("value is not JSON");
	if (!v.is_object())
		return plain_error("value is not a JSON object");
	return v;
}

} // namespace

std::string lease_dir(std::string_view prefix)
{
	std::string dir(prefix);
	while (!dir.empty() && dir.back() == '/')
		dir.pop_back();
	return dir + "/";
}

Result<config::Cidr> parse_subnet_key(std::string_view name)
{
	size_t dash = name.rfind('-');
	if (dash == std::string_view::npos || dash == 0 || dash + 1 == name.size())
		return plain_error("\"" + std::string(name) + "\" is not a subnet key like 172.16.1.0-24");
	std::string_view len = name.substr(dash + 1);
	int n = 0;
	auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
	if (ec != std::errc() || end != len.data() + len.size())
		return plain_error("\"" + std::string(name) + "\" has no prefix length after '-'");
	std::string text = std::string(name.substr(0, dash)) + "/" + std::string(len);
	auto cidr = config::parse_cidr(text);
	if (!cidr)
		return plain_error("subnet " + cidr.error().what);
	return cidr;
}

Result<Lease> parse_lease(std::string_view prefix, std::string_view key, std::string_view value)
{
	std::string dir = lease_dir(prefix);
	if (key.substr(0, dir.size()) != dir)
		return bad(key, "not under " + dir);
	std::string_view name = key.substr(dir.size());
	if (name.find('/') != std::string_view::npos)
		return bad(key, "nested key (leases are " + dir + "<subnet>)");
	auto subnet = parse_subnet_key(name);
	if (!subnet)
		return bad(key, subnet.error().what);
	auto v = parse_json(value);
	if (!v)
		return bad(key, v.error().what);
	int family = subnet->address.family;
	auto ip = address_field(*v, family == AF_INET ? "PublicIP" : "PublicIPv6", family);
	if (!ip)
		return bad(key, ip.error().what);
	auto type = v->find("BackendType");
	if (type == v->end() || !type->is_string() || type->get<std::string>().empty())
		return bad(key, "no \"BackendType\" string");
	Lease lease{std::string(key), *subnet, *ip, type->get<std::string>(), {}};
	if (auto data = v->find("BackendData"); data != v->end() && !data->is_null())
		lease.backend_data = data->dump();
	return lease;
}

} // namespace steer::mesh
