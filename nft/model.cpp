#include "model.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <set>

namespace steer::nft {

Set *Ruleset::find_set(std::string_view name)
{
	for (auto &s : sets)
		if (s.name == name)
			return &s;
	return nullptr;
}

const Set *Ruleset::find_set(std::string_view name) const
{
	return const_cast<Ruleset *>(this)->find_set(name);
}

int Set::field_prefix(size_t i) const
{
	int full = key[i] == KeyType::ipv4_addr ? 32 : 128;
	return i < prefix.size() && prefix[i] >= 0 ? prefix[i] : full;
}

const Chain *Ruleset::find_chain(std::string_view name) const
{
	for (auto &c : chains)
		if (c.name == name)
			return &c;
	return nullptr;
}

// --- plans ---------------------------------------------------------------

namespace {

// Built by emplacing each expression: g++ 12 warns (falsely) about
// variants copied out of an initializer_list.
template <typename... E>
Rule rule(std::string chain, E... exprs)
{
	Rule r{std::move(chain), {}};
	r.exprs.reserve(sizeof...(E));
	(r.exprs.emplace_back(std::move(exprs)), ...);
	return r;
}

constexpr expr::Verdict accept{expr::Verdict::accept};
constexpr expr::Verdict drop{expr::Verdict::drop};

// What `allow` lets in, in the seed's order: IKE, NAT-T, ESP, AH. The
// chain's policy already accepts; these rules come first so that an
// ipsec_only entry naming an IKE port can never drop IKE itself.
void add_allow_rules(Ruleset &rs, const std::string &chain, uint32_t allow, uint16_t ike_port,
	uint16_t natt_port)
{
	if (allow & STEER_F_IKE)
		rs.rules.push_back(rule(chain, expr::Port{IPPROTO_UDP, ike_port}, accept));
	if ((allow & STEER_F_NATT) && !((allow & STEER_F_IKE) && natt_port == ike_port))
		rs.rules.push_back(rule(chain, expr::Port{IPPROTO_UDP, natt_port}, accept));
	if (allow & STEER_F_ESP)
		rs.rules.push_back(rule(chain, expr::L4proto{IPPROTO_ESP}, accept));
	if (allow & STEER_F_AH)
		rs.rules.push_back(rule(chain, expr::L4proto{IPPROTO_AH}, accept));
}

// `-m policy --pol ipsec --dir in|out -j ACCEPT`, then drop the rest of
// the service: inbound by the packet's secpath (meta ipsec), outbound by
// the route's xfrm bundle (rt ipsec). Both are counted: `nft list` shows
// what IPsec carried and what cleartext was refused.
// A forwarded packet may be either: decrypted on its way in (it has a
// secpath) or about to be encrypted (ip_forward looked up its xfrm bundle
// before the forward hook), so the forward chain accepts both.
enum class IpsecWay { inbound, outbound, either };

void add_ipsec_only_rules(Ruleset &rs, const std::string &chain, IpsecWay way,
	const std::vector<config::Service> &services)
{
	for (const auto &s : services) {
		expr::Port port{s.proto, s.port};
		if (way != IpsecWay::outbound)
			rs.rules.push_back(rule(chain, port, expr::Ipsec{false, true}, expr::Counter{}, accept));
		if (way != IpsecWay::inbound)
			rs.rules.push_back(rule(chain, port, expr::Ipsec{true, true}, expr::Counter{}, accept));
		rs.rules.push_back(rule(chain, port, expr::Counter{}, drop));
	}
}

void add_filter_chains(Ruleset &rs, const std::vector<config::Service> &ipsec_only, uint32_t allow,
	uint16_t ike_port, uint16_t natt_port)
{
	for (const char *name : {"input", "forward"}) {
		rs.chains.push_back(Chain{name, ChainType::filter,
			name[0] == 'i' ? Hook::input : Hook::forward, priority_filter});
		add_allow_rules(rs, name, allow, ike_port, natt_port);
		add_ipsec_only_rules(rs, name, name[0] == 'i' ? IpsecWay::inbound : IpsecWay::either,
			ipsec_only);
	}
	// Without ipsec_only there is nothing to hold back on the way out.
	if (ipsec_only.empty())
		return;
	rs.chains.push_back(Chain{"output", ChainType::filter, Hook::output, priority_filter});
	add_ipsec_only_rules(rs, "output", IpsecWay::outbound, ipsec_only);
}

// The seed's docker fix as our own rule: `-m policy --dir out --pol none -s
// SRC ! -o IF -j MASQUERADE`. The nat chain exists only when needed: a nat
// hook makes the kernel track connections of the whole namespace.
void add_masquerade_chain(Ruleset &rs, const std::vector<config::Masquerade> &entries)
{
	if (entries.empty())
		return;
	rs.chains.push_back(Chain{"postrouting", ChainType::nat, Hook::postrouting, priority_srcnat});
	for (const auto &m : entries) {
		Rule r = rule("postrouting", expr::Address{Addr::saddr, m.source});
		if (!m.out_interface.empty())
			r.exprs.push_back(expr::Oifname{m.out_interface, false});
		if (!m.not_out_interface.empty())
			r.exprs.push_back(expr::Oifname{m.not_out_interface, true});
		r.exprs.push_back(expr::Ipsec{true, false});
		r.exprs.push_back(expr::Masquerade{});
		rs.rules.push_back(std::move(r));
	}
}

} // namespace

std::vector<Set> mesh_sets()
{
	using K = KeyType;
	return {
		{set_names::peers_v4, {K::ipv4_addr}, {}, {}},
		{set_names::peers_v6, {K::ipv6_addr}, {}, {}},
		{set_names::subnets_v4, {K::ipv4_addr}, {}, {}},
		{set_names::subnets_v6, {K::ipv6_addr}, {}, {}},
		{set_names::peer_subnets_v4, {K::ipv4_addr, K::ipv4_addr}, {}, {}},
		{set_names::peer_subnets_v6, {K::ipv6_addr, K::ipv6_addr}, {}, {}},
	};
}

std::vector<Set> host_sets()
{
	auto all = mesh_sets();
	return {all[0], all[1]};
}

bool is_prefix_group(std::string_view name)
{
	return name == set_names::subnets_v4 || name == set_names::subnets_v6 ||
		name == set_names::peer_subnets_v4 || name == set_names::peer_subnets_v6;
}

Set prefix_set(std::string_view group, int prefix)
{
	for (auto &s : mesh_sets())
		if (s.name == group) {
			s.name += "_" + std::to_string(prefix);
			s.prefix.assign(s.key.size(), -1);
			s.prefix.back() = prefix;
			return s;
		}
	return Set{std::string(group), {}, {}, {}};
}

std::string element_set(std::string_view set, const Element &e)
{
	if (!is_prefix_group(set) || e.fields.empty())
		return std::string(set);
	return std::string(set) + "_" + std::to_string(e.fields.back().prefix);
}

Ruleset plan_host_firewall(const config::HostFirewall &fw, uint16_t ike_port, uint16_t natt_port)
{
	Ruleset rs;
	rs.sets = host_sets();
	add_filter_chains(rs, fw.ipsec_only, fw.allow, ike_port, natt_port);
	add_masquerade_chain(rs, fw.masquerade);
	return rs;
}

Ruleset plan_gateway_firewall(const config::GatewayFirewall &fw, uint16_t ike_port,
	uint16_t natt_port, uint32_t allow)
{
	Ruleset rs;
	add_filter_chains(rs, fw.ipsec_only, allow, ike_port, natt_port);
	return rs;
}

// --- elements ------------------------------------------------------------

namespace {

int family_of(KeyType t)
{
	return t == KeyType::ipv4_addr ? AF_INET : AF_INET6;
}

int max_prefix(int family)
{
	return family == AF_INET ? 32 : 128;
}

// inet_ntop's IPv6 text (RFC 5952: lower case, the longest run of two or
// more zero groups as ::), written without its sprintf per group: element
// texts are made for every element of a 100,000-element batch. Addresses
// that inet_ntop writes with an embedded IPv4 part (::a.b.c.d,
// ::ffff:a.b.c.d) return false.
bool ipv6_text(const uint8_t *b, char *out)
{
	uint16_t w[8];
	for (int i = 0; i < 8; i++)
		w[i] = static_cast<uint16_t>(b[2 * i] << 8 | b[2 * i + 1]);
	int best = -1, best_len = 0;
	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && w[j] == 0)
			j++;
		if (j - i > best_len && j - i >= 2)
			best = i, best_len = j - i;
		i = j == i ? i + 1 : j;
	}
	if (best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
		return false;
	static const char hex[] = "0123456789abcdef";
	char *p = out;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			*p++ = ':';
			if (i == 0)
				*p++ = ':';
			i += best_len - 1;
			continue;
		}
		bool lead = true;
		for (int shift = 12; shift >= 0; shift -= 4) {
			int d = (w[i] >> shift) & 15;
			if (lead && d == 0 && shift)
				continue;
			lead = false;
			*p++ = hex[d];
		}
		if (i < 7)
			*p++ = ':';
	}
	*p = 0;
	return true;
}

// Writes the address as inet_ntop does into out (INET6_ADDRSTRLEN bytes);
// returns its length.
size_t address_chars(const config::IpAddress &a, char *out)
{
	if (a.family == AF_INET) {
		char *p = out;
		for (int i = 0; i < 4; i++) {
			unsigned v = a.bytes[i];
			if (v >= 100)
				*p++ = static_cast<char>('0' + v / 100);
			if (v >= 10)
				*p++ = static_cast<char>('0' + v / 10 % 10);
			*p++ = static_cast<char>('0' + v % 10);
			*p++ = i < 3 ? '.' : 0;
		}
		return static_cast<size_t>(p - out - 1);
	}
	out[0] = '?';
	out[1] = 0;
	if (a.family == AF_INET6 && !ipv6_text(a.bytes.data(), out))
		inet_ntop(AF_INET6, a.bytes.data(), out, INET6_ADDRSTRLEN);
	return std::strlen(out);
}

std::string address_text(const config::IpAddress &a)
{
	char buf[INET6_ADDRSTRLEN];
	return std::string(buf, address_chars(a, buf));
}

// As nft prints a prefix: a full-length one is a plain address.
std::string prefix_text(const config::Cidr &c)
{
	std::string a = address_text(c.address);
	return c.prefix == max_prefix(c.address.family) ? a : a + "/" + std::to_string(c.prefix);
}

bool valid_cidr(const config::Cidr &c)
{
	int f = c.address.family;
	return (f == AF_INET || f == AF_INET6) && c.prefix >= 0 && c.prefix <= max_prefix(f);
}

Status check_element(const Set &set, const Element &e)
{
	if (e.fields.size() != set.key.size())
		return plain_error("element " + to_text(e) + " has " + std::to_string(e.fields.size()) +
				" fields, the set's key has " + std::to_string(set.key.size()),
			"set " + set.name);
	for (size_t i = 0; i < e.fields.size(); i++) {
		if (!valid_cidr(e.fields[i]) || e.fields[i].address.family != family_of(set.key[i]))
			return plain_error("element " + to_text(e) + ": field " + std::to_string(i + 1) +
					" is not an " + std::string(to_string(set.key[i])),
				"set " + set.name);
		if (!set.interval && e.fields[i].prefix != set.field_prefix(i))
			return plain_error("element " + to_text(e) + ": field " + std::to_string(i + 1) +
					" is not a /" + std::to_string(set.field_prefix(i)),
				"set " + set.name);
	}
	return {};
}

} // namespace

config::Cidr host_prefix(const config::IpAddress &a)
{
	config::Cidr c;
	c.address = a;
	c.address.text = address_text(a);
	c.prefix = max_prefix(a.family);
	c.text = c.address.text + "/" + std::to_string(c.prefix);
	return c;
}

Status add_element(Set &set, std::vector<config::Cidr> fields)
{
	Element e{std::move(fields)};
	if (Status st = check_element(set, e); !st)
		return st;
	set.elements.push_back(std::move(e));
	return {};
}

namespace {

// A group's element goes into the set of its length, appended when new.
Status add_to(Ruleset &rs, const char *name, std::vector<config::Cidr> fields)
{
	if (!rs.find_set(set_names::peers_v4))
		return plain_error("the ruleset has no mesh sets (plan_host_firewall creates them)", name);
	std::string target = element_set(name, Element{fields});
	Set *set = rs.find_set(target);
	if (!set) {
		rs.sets.push_back(prefix_set(name, fields.back().prefix));
		set = &rs.sets.back();
	}
	return add_element(*set, std::move(fields));
}

} // namespace

Status add_peer(Ruleset &rs, const config::IpAddress &peer)
{
	const char *name = peer.family == AF_INET6 ? set_names::peers_v6 : set_names::peers_v4;
	return add_to(rs, name, {host_prefix(peer)});
}

Status add_subnet(Ruleset &rs, const config::Cidr &subnet)
{
	const char *name = subnet.address.family == AF_INET6 ? set_names::subnets_v6 : set_names::subnets_v4;
	return add_to(rs, name, {subnet});
}

Status add_peer_subnet(Ruleset &rs, const config::IpAddress &peer, const config::Cidr &subnet)
{
	if (peer.family != subnet.address.family)
		return plain_error("peer " + address_text(peer) + " and subnet " + prefix_text(subnet) +
			" differ in address family; the pair sets are IPv4 . IPv4 and IPv6 . IPv6");
	const char *name = peer.family == AF_INET6 ? set_names::peer_subnets_v6 : set_names::peer_subnets_v4;
	return add_to(rs, name, {host_prefix(peer), subnet});
}

// --- checks --------------------------------------------------------------

namespace {

Status check_expr(const Ruleset &rs, const Rule &r, const Expr &e)
{
	const std::string on = "rule `" + to_text(r) + "` in chain " + r.chain;
	if (auto *a = std::get_if<expr::Address>(&e); a && !valid_cidr(a->cidr))
		return plain_error("address match without a valid IPv4 or IPv6 prefix", on);
	if (auto *o = std::get_if<expr::Oifname>(&e); o && (o->name.empty() || o->name.size() >= IFNAMSIZ))
		return plain_error("interface name must be 1.." + std::to_string(IFNAMSIZ - 1) + " characters",
			on);
	if (auto *p = std::get_if<expr::Port>(&e); p && p->proto != IPPROTO_UDP && p->proto != IPPROTO_TCP)
		return plain_error("port match needs udp or tcp", on);
	auto *in = std::get_if<expr::InSet>(&e);
	if (!in)
		return {};
	const Set *set = rs.find_set(in->set);
	if (!set)
		return plain_error("no set named " + in->set, on);
	if (in->fields.size() != set->key.size())
		return plain_error("lookup has " + std::to_string(in->fields.size()) + " fields, set " +
				in->set + " has " + std::to_string(set->key.size()),
			on);
	for (size_t i = 0; i < in->fields.size(); i++) {
		const expr::SetField &f = in->fields[i];
		if (f.type != set->key[i] || f.type != in->fields[0].type)
			return plain_error("lookup fields must match the set's key and share one family", on);
		int full = max_prefix(family_of(f.type));
		if (set->interval ? f.prefix >= 0 : (f.prefix < 0 ? full : f.prefix) != set->field_prefix(i))
			return plain_error("lookup field " + std::to_string(i + 1) + " must be masked as set " +
					in->set + " is (/" + std::to_string(set->field_prefix(i)) + ")",
				on);
	}
	return {};
}

Status check_names(const Ruleset &rs)
{
	if (rs.table.empty() || rs.table.size() > 255)
		return plain_error("table name must be 1..255 characters", rs.table);
	if (rs.comment.size() > 127)
		return plain_error("table comment is longer than 127 characters", rs.table);
	std::set<std::string> sets, chains;
	for (const auto &s : rs.sets) {
		if (s.name.empty() || !sets.insert(s.name).second)
			return plain_error("set names must be unique and not empty", s.name);
		if (s.key.empty() || s.key.size() > 16)
			return plain_error("a set key has 1..16 fields", "set " + s.name);
	}
	for (const auto &c : rs.chains) {
		if (c.name.empty() || !chains.insert(c.name).second)
			return plain_error("chain names must be unique and not empty", c.name);
		if (c.type == ChainType::nat && c.hook == Hook::forward)
			return plain_error("nat chains have no forward hook", "chain " + c.name);
	}
	return {};
}

} // namespace

Status validate(const Ruleset &rs)
{
	if (Status st = check_names(rs); !st)
		return st;
	for (const auto &s : rs.sets)
		for (const auto &e : s.elements)
			if (Status st = check_element(s, e); !st)
				return st;
	for (const auto &r : rs.rules) {
		if (!rs.find_chain(r.chain))
			return plain_error("rule `" + to_text(r) + "` names a chain that does not exist", r.chain);
		if (r.exprs.empty())
			return plain_error("empty rule", "chain " + r.chain);
		for (const auto &e : r.exprs)
			if (Status st = check_expr(rs, r, e); !st)
				return st;
	}
	return {};
}

// --- text ----------------------------------------------------------------

std::string_view to_string(Hook h)
{
	static constexpr std::string_view names[] = {"prerouting", "input", "forward", "output",
		"postrouting"};
	return names[static_cast<int>(h)];
}

std::string_view to_string(ChainType t)
{
	return t == ChainType::filter ? "filter" : "nat";
}

std::string_view to_string(KeyType t)
{
	return t == KeyType::ipv4_addr ? "ipv4_addr" : "ipv6_addr";
}

namespace {

std::string proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_UDP: return "udp";
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_ESP: return "esp";
	case IPPROTO_AH: return "ah";
	default: return std::to_string(proto);
	}
}

std::string addr_text(KeyType t, Addr a)
{
	return std::string(t == KeyType::ipv4_addr ? "ip " : "ip6 ") +
		(a == Addr::saddr ? "saddr" : "daddr");
}

// The first address of a prefix (network address), or its mask.
std::string masked_text(const config::IpAddress &a, int prefix, bool mask_only)
{
	config::IpAddress m = a;
	size_t len = a.family == AF_INET ? 4 : 16;
	for (size_t i = 0; i < len; i++) {
		int bits = std::clamp(prefix - static_cast<int>(i * 8), 0, 8);
		auto mask = static_cast<uint8_t>(0xff00 >> bits);
		m.bytes[i] = mask_only ? mask : static_cast<uint8_t>(a.bytes[i] & mask);
	}
	return address_text(m);
}

// As nft prints a lookup: a masked field is `ip daddr & 255.255.255.0`, and
// a lookup of one masked field reads `... == @set`.
std::string field_text(const expr::SetField &f)
{
	std::string s = addr_text(f.type, f.addr);
	if (f.prefix < 0)
		return s;
	config::IpAddress a;
	a.family = family_of(f.type);
	return s + " & " + masked_text(a, f.prefix, true);
}

struct ExprText {
	std::string operator()(const expr::L4proto &e) const { return "meta l4proto " + proto_name(e.proto); }
	std::string operator()(const expr::Port &e) const
	{
		return proto_name(e.proto) + (e.dport ? " dport " : " sport ") + std::to_string(e.port);
	}
	std::string operator()(const expr::Ipsec &e) const
	{
		return std::string(e.outbound ? "rt ipsec " : "meta ipsec ") + (e.exists ? "exists" : "missing");
	}
	std::string operator()(const expr::Address &e) const
	{
		KeyType t = e.cidr.address.family == AF_INET6 ? KeyType::ipv6_addr : KeyType::ipv4_addr;
		return addr_text(t, e.addr) + " " + prefix_text(e.cidr);
	}
	std::string operator()(const expr::InSet &e) const
	{
		std::string s;
		for (const auto &f : e.fields)
			s += (s.empty() ? "" : " . ") + field_text(f);
		bool cmp = e.fields.size() == 1 && e.fields[0].prefix >= 0;
		return s + (cmp ? " == @" : " @") + e.set;
	}
	std::string operator()(const expr::Oifname &e) const
	{
		return std::string("oifname ") + (e.negate ? "!= " : "") + "\"" + e.name + "\"";
	}
	std::string operator()(const expr::Counter &) const { return "counter"; }
	std::string operator()(const expr::Verdict &e) const
	{
		return e.kind == expr::Verdict::accept ? "accept" : "drop";
	}
	std::string operator()(const expr::Masquerade &) const { return "masquerade"; }
};

std::string priority_text(const Chain &c)
{
	if (c.priority == priority_filter && c.type == ChainType::filter)
		return "filter";
	if (c.priority == priority_srcnat && c.type == ChainType::nat)
		return "srcnat";
	if (c.priority == -100 && c.type == ChainType::nat)
		return "dstnat";
	return std::to_string(c.priority);
}

// A hash set's element as nft lists it: each field's network address.
std::string key_text(const Element &e)
{
	std::string s;
	for (const auto &f : e.fields)
		s += (s.empty() ? "" : " . ") + masked_text(f.address, f.prefix, false);
	return s;
}

std::string set_text(const Set &s)
{
	std::string key;
	for (auto k : s.key)
		key += (key.empty() ? "" : " . ") + std::string(to_string(k));
	std::string out = "\tset " + s.name + " {\n\t\ttype " + key + "\n";
	if (s.interval)
		out += "\t\tflags interval\n";
	if (!s.elements.empty()) {
		out += "\t\telements = { ";
		for (size_t i = 0; i < s.elements.size(); i++)
			out += (i ? ", " : "") + (s.interval ? to_text(s.elements[i]) : key_text(s.elements[i]));
		out += " }\n";
	}
	return out + "\t}\n";
}

std::string chain_text(const Ruleset &rs, const Chain &c)
{
	std::string out = "\tchain " + c.name + " {\n\t\ttype " + std::string(to_string(c.type)) +
		" hook " + std::string(to_string(c.hook)) + " priority " + priority_text(c) +
		"; policy accept;\n";
	for (const auto &r : rs.rules)
		if (r.chain == c.name)
			out += "\t\t" + to_text(r) + "\n";
	return out + "\t}\n";
}

} // namespace

std::string to_text(const Expr &e)
{
	return std::visit(ExprText{}, e);
}

std::string to_text(const Rule &r)
{
	std::string s;
	for (const auto &e : r.exprs)
		s += (s.empty() ? "" : " ") + to_text(e);
	return s;
}

// Made for every element of a batch (its origin, for error reports): one
// allocation, no sprintf.
std::string to_text(const Element &e)
{
	std::string s;
	s.reserve(e.fields.size() * (INET6_ADDRSTRLEN + 7));
	char buf[INET6_ADDRSTRLEN];
	for (const auto &f : e.fields) {
		if (!s.empty())
			s += " . ";
		s.append(buf, address_chars(f.address, buf));
		if (f.prefix != max_prefix(f.address.family)) {
			s += '/';
			s += std::to_string(f.prefix);
		}
	}
	return s;
}

std::string to_text(const Ruleset &rs)
{
	std::string out = "table inet " + rs.table + " {\n";
	if (!rs.comment.empty())
		out += "\tcomment \"" + rs.comment + "\"\n";
	bool first = true;
	for (const auto &s : rs.sets) {
		out += (first ? "" : "\n") + set_text(s);
		first = false;
	}
	for (const auto &c : rs.chains) {
		out += (first ? "" : "\n") + chain_text(rs, c);
		first = false;
	}
	return out + "}\n";
}

} // namespace steer::nft
