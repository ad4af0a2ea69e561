#include "plan.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <set>

namespace steer {

namespace {

// FNV-1a: stable across builds and platforms, unlike std::hash.
uint32_t stable_hash(const std::string &s)
{
	uint32_t h = 2166136261u;
	for (unsigned char c : s) {
		h ^= c;
		h *= 16777619u;
	}
	return h;
}

config::IpAddress ipv4_at(uint32_t host_order)
{
	config::IpAddress a;
	a.family = AF_INET;
	uint32_t be = htonl(host_order);
	std::copy_n(reinterpret_cast<uint8_t *>(&be), 4, a.bytes.begin());
	char buf[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &be, buf, sizeof(buf));
	a.text = buf;
	return a;
}

config::IpAddress ipv6_at(uint32_t slot, uint8_t last)
{
	config::IpAddress a;
	a.family = AF_INET6;
	a.bytes[0] = 0xfd;
	a.bytes[1] = 0x15;  // fd15:73::/32 holds every link; a slot per gateway
	a.bytes[2] = 0x73;
	a.bytes[12] = slot >> 24;
	a.bytes[13] = slot >> 16;
	a.bytes[14] = slot >> 8;
	a.bytes[15] = (slot & 0x7f) << 1 | last;
	char buf[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof(buf));
	a.text = buf;
	return a;
}

LinkPlan link_at(int family, uint32_t slot)
{
	LinkPlan l;
	if (family == AF_INET) {
		// 169.254.0.0/16 in /30 blocks; block 0 is never used.
		uint32_t base = (169u << 24) | (254u << 16) | (slot << 2);
		l.router_end = ipv4_at(base + 1);
		l.gateway_end = ipv4_at(base + 2);
		l.subnet = {ipv4_at(base), 30, ipv4_at(base).text + "/30"};
	} else {
		l.router_end = ipv6_at(slot, 0);
		l.gateway_end = ipv6_at(slot, 1);
		l.subnet = {l.router_end, 127, l.router_end.text + "/127"};
	}
	return l;
}

// A configured /30: .1 for the router, .2 for the gateway; a /127: the
// network address for the router and the next one for the gateway.
LinkPlan link_from_cidr(const config::Cidr &c)
{
	LinkPlan l;
	l.subnet = c;
	if (c.address.family == AF_INET) {
		uint32_t base = 0;
		std::copy_n(c.address.bytes.begin(), 4, reinterpret_cast<uint8_t *>(&base));
		l.router_end = ipv4_at(ntohl(base) + 1);
		l.gateway_end = ipv4_at(ntohl(base) + 2);
		return l;
	}
	auto with_last = [&](uint8_t last_bit) {
		config::IpAddress a = c.address;
		a.bytes[15] = (a.bytes[15] & 0xfe) | last_bit;
		char buf[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof(buf));
		a.text = buf;
		return a;
	};
	l.router_end = with_last(0);
	l.gateway_end = with_last(1);
	return l;
}

} // namespace

LinkPlan allocate_link(const std::string &name, int family, const std::vector<config::Cidr> &taken)
{
	const uint32_t slots = family == AF_INET ? 16384 : (1u << 23);
	uint32_t slot = stable_hash(name) % (slots - 1) + 1;
	for (uint32_t probe = 0; probe < slots; probe++) {
		LinkPlan l = link_at(family, slot);
		bool clash = std::any_of(taken.begin(), taken.end(),
					 [&](const config::Cidr &c) { return c.overlaps(l.subnet); });
		if (!clash)
			return l;
		slot = slot % (slots - 1) + 1;
	}
	return link_at(family, 1);
}

uint32_t allocate_table(const std::string &name, const std::vector<uint32_t> &taken)
{
	uint32_t slot = stable_hash(name) % table_slots;
	while (std::find(taken.begin(), taken.end(), table_base + slot) != taken.end())
		slot = (slot + 1) % table_slots;
	return table_base + slot;
}

std::vector<GatewayPlan> plan_gateways(const config::Config &cfg)
{
	// Configured links are taken first, so allocation never depends on
	// the order of the other gateways' names.
	std::map<std::string, std::vector<config::Cidr>> taken;
	for (const auto &gw : cfg.gateways)
		if (gw.link)
			taken[gw.router_netns].push_back(*gw.link);
	std::map<std::string, std::vector<uint32_t>> tables;
	std::vector<GatewayPlan> out;
	for (const auto &gw : cfg.gateways) {
		GatewayPlan p;
		p.gateway = &gw;
		p.netns = gw.name;
		p.router_link = "ist-" + gw.name;
		p.alias = alias_prefix + gw.name;
		if (gw.link)
			p.link = link_from_cidr(*gw.link);
		else {
			p.link = allocate_link(gw.name, gw.public_address.family, taken[gw.router_netns]);
			taken[gw.router_netns].push_back(p.link.subnet);
		}
		p.table = allocate_table(gw.name, tables[gw.router_netns]);
		tables[gw.router_netns].push_back(p.table);
		out.push_back(std::move(p));
	}
	return out;
}

std::map<std::string, uint32_t> assign_gateway_ids(const std::vector<std::string> &names,
						   const std::map<std::string, uint32_t> &existing)
{
	std::map<std::string, uint32_t> ids;
	std::set<uint32_t> used;
	for (const auto &n : names)
		if (auto it = existing.find(n); it != existing.end() && !used.count(it->second)) {
			ids[n] = it->second;
			used.insert(it->second);
		}
	uint32_t next = 1;
	for (const auto &n : names) {
		if (ids.count(n))
			continue;
		while (used.count(next))
			next++;
		ids[n] = next;
		used.insert(next);
	}
	return ids;
}

} // namespace steer
