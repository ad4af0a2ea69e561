#include "inspect.hpp"

// netinet/in.h first: the xt headers pull in the kernel's in.h, which
// then defers to glibc's definitions.
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_multiport.h>
#include <linux/netfilter/xt_policy.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <functional>
#include <optional>
#include <set>
#include <tuple>

#include "batch_writer.hpp"
#include "build.hpp"
#include "rule_expr.hpp"
#include "transport.hpp"

namespace steer::nft {

// ===== decoding ==========================================================

namespace {

// What a register holds: the expression that loaded it, and a mask a
// later bitwise AND applied.
struct Source {
	enum Kind : uint8_t { none, meta, rt, ct, payload, immediate } kind = none;
	uint32_t key = 0;                // meta/rt/ct key, payload base
	uint32_t offset = 0, len = 0;    // payload
	std::vector<uint8_t> mask;
	std::vector<uint8_t> data;       // immediate
};

// What a loaded value means to the audits and the text.
enum class Field : uint8_t {
	other, nfproto, l4proto, dport, sport, saddr, daddr, iifname, oifname, ipsec_in, ipsec_out, ct_state
};

// Registers by 32-bit slot: the 128-bit NFT_REG_1..4 overlay NFT_REG32_*.
uint32_t slot_of(uint32_t reg)
{
	return reg >= NFT_REG32_00 ? reg - NFT_REG32_00 : (reg - NFT_REG_1) * 4;
}

std::vector<uint8_t> bytes_of(const nftnl_expr *e, uint16_t attr)
{
	uint32_t len = 0;
	auto *p = static_cast<const uint8_t *>(nftnl_expr_get(e, attr, &len));
	return p ? std::vector<uint8_t>(p, p + len) : std::vector<uint8_t>();
}

std::string str_of(const nftnl_expr *e, uint16_t attr)
{
	const char *s = nftnl_expr_is_set(e, attr) ? nftnl_expr_get_str(e, attr) : nullptr;
	return s ? s : "";
}

uint16_t be16(const std::vector<uint8_t> &d)
{
	return d.size() >= 2 ? static_cast<uint16_t>(d[0] << 8 | d[1]) : 0;
}

uint32_t host32(const std::vector<uint8_t> &d)
{
	uint32_t v = 0;
	std::memcpy(&v, d.data(), std::min<size_t>(d.size(), sizeof(v)));
	return v;
}

std::string hex(const std::vector<uint8_t> &d)
{
	static const char digits[] = "0123456789abcdef";
	std::string s = "0x";
	for (uint8_t b : d) {
		s += digits[b >> 4];
		s += digits[b & 15];
	}
	return s;
}

const char *op_text(uint32_t op)
{
	switch (op) {
	case NFT_CMP_NEQ: return "!= ";
	case NFT_CMP_LT: return "< ";
	case NFT_CMP_LTE: return "<= ";
	case NFT_CMP_GT: return "> ";
	case NFT_CMP_GTE: return ">= ";
	default: return "";
	}
}

std::string proto_name(uint8_t p)
{
	switch (p) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ESP: return "esp";
	case IPPROTO_AH: return "ah";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "ipv6-icmp";
	case IPPROTO_SCTP: return "sctp";
	default: return std::to_string(p);
	}
}

std::string meta_name(uint32_t key)
{
	static const std::map<uint32_t, const char *> names = {
		{NFT_META_LEN, "length"}, {NFT_META_PROTOCOL, "protocol"}, {NFT_META_MARK, "mark"},
		{NFT_META_IIF, "iif"}, {NFT_META_OIF, "oif"}, {NFT_META_IIFNAME, "iifname"},
		{NFT_META_OIFNAME, "oifname"}, {NFT_META_IIFTYPE, "iiftype"}, {NFT_META_OIFTYPE, "oiftype"},
		{NFT_META_SKUID, "skuid"}, {NFT_META_SKGID, "skgid"}, {NFT_META_NFPROTO, "nfproto"},
		{NFT_META_L4PROTO, "l4proto"}, {NFT_META_PKTTYPE, "pkttype"}, {NFT_META_CPU, "cpu"},
		{NFT_META_IIFGROUP, "iifgroup"}, {NFT_META_OIFGROUP, "oifgroup"}, {NFT_META_CGROUP, "cgroup"},
		{NFT_META_PRANDOM, "random"}, {NFT_META_SECPATH, "ipsec"}, {NFT_META_PRIORITY, "priority"}};
	auto it = names.find(key);
	return it != names.end() ? it->second : "key " + std::to_string(key);
}

// The register source as nft names it ("meta mark", "@nh,96,32").
std::string source_text(const Source &s)
{
	static const char *bases[] = {"ll", "nh", "th", "ih"};
	switch (s.kind) {
	case Source::meta: return "meta " + meta_name(s.key);
	case Source::rt: return s.key == NFT_RT_XFRM ? "rt ipsec" : "rt key " + std::to_string(s.key);
	case Source::ct: return s.key == NFT_CT_STATE ? "ct state" : "ct key " + std::to_string(s.key);
	case Source::payload:
		return std::string("@") + (s.key < 4 ? bases[s.key] : "?") + "," +
			std::to_string(s.offset * 8) + "," + std::to_string(s.len * 8);
	default: return "(register)";
	}
}

std::string address_text(int af, const std::vector<uint8_t> &bytes, int prefix)
{
	std::array<uint8_t, 16> a{};
	std::copy_n(bytes.begin(), std::min<size_t>(bytes.size(), a.size()), a.begin());
	char buf[INET6_ADDRSTRLEN] = "?";
	::inet_ntop(af, a.data(), buf, sizeof(buf));
	const int full = af == AF_INET ? 32 : 128;
	return prefix >= full ? buf : std::string(buf) + "/" + std::to_string(prefix);
}

// The ct state bits (nf_conntrack_common.h) as nft names them.
std::string ct_states(uint32_t bits)
{
	static const std::pair<uint32_t, const char *> names[] = {
		{1, "invalid"}, {2, "established"}, {4, "related"}, {8, "new"}, {64, "untracked"}};
	std::string s;
	for (auto [bit, name] : names)
		if (bits & bit)
			s += (s.empty() ? "" : ",") + std::string(name);
	return s.empty() ? std::to_string(bits) : s;
}

std::string ranges_text(const std::vector<PortRange> &rs)
{
	std::string s;
	for (const auto &r : rs) {
		s += s.empty() ? "" : ", ";
		s += std::to_string(r.lo);
		if (r.hi != r.lo)
			s += "-" + std::to_string(r.hi);
	}
	return s;
}

// The destination port condition of a comparison (`udp dport >= 1024`).
PortMatch port_match(uint32_t op, uint16_t port)
{
	switch (op) {
	case NFT_CMP_NEQ: return {{{port, port}}, true};
	case NFT_CMP_LT:
		if (port == 0)
			return {};  // no port at all
		return {{{0, static_cast<uint16_t>(port - 1)}}, false};
	case NFT_CMP_LTE: return {{{0, port}}, false};
	case NFT_CMP_GT:
		if (port == 65535)
			return {};
		return {{{static_cast<uint16_t>(port + 1), 65535}}, false};
	case NFT_CMP_GTE: return {{{port, 65535}}, false};
	default: return {{{port, port}}, false};
	}
}

} // namespace

namespace {

// Walks a rule's expressions once, tracking what each register holds, and
// fills a RuleInfo: the facts the audits need and the rule as nft text.
class Decoder {
public:
	Decoder(RuleInfo &out, const PortSets &sets) : out_(out), sets_(sets) {}

	void add(const nftnl_expr *e);
	std::string text() const;

private:
	void load(const nftnl_expr *e, const std::string &name);
	void bitwise(const nftnl_expr *e);
	void immediate(const nftnl_expr *e);
	void cmp(const nftnl_expr *e);
	void range(const nftnl_expr *e);
	void lookup(const nftnl_expr *e);
	void nat(const nftnl_expr *e);
	void masq(const nftnl_expr *e);
	void match(const nftnl_expr *e);
	void target(const nftnl_expr *e);

	void compare_address(Field f, const Source &s, uint32_t op, const std::vector<uint8_t> &d);
	void compare_presence(Field f, uint32_t op, const std::vector<uint8_t> &d);
	void compare_ifname(Field f, uint32_t op, const std::vector<uint8_t> &d);
	void port(Field f, PortMatch m, const std::string &value);
	void say(std::string part) { parts_.push_back(std::move(part)); }

	Field field_of(const Source &s) const;
	std::string name_of(const Source &s) const;
	std::string concat_names(uint32_t slot) const;
	int address_family() const;
	const Source &reg(const nftnl_expr *e, uint16_t attr);

	RuleInfo &out_;
	const PortSets &sets_;
	std::map<uint32_t, Source> regs_;
	std::set<uint32_t> fresh_;       // slots loaded and not compared yet
	std::vector<std::string> parts_;
	uint8_t nfproto_ = 0;            // from `meta nfproto` (inet tables)
	int nfproto_part_ = -1, l4_part_ = -1;
};

const Source &Decoder::reg(const nftnl_expr *e, uint16_t attr)
{
	return regs_[slot_of(nftnl_expr_get_u32(e, attr))];
}

int Decoder::address_family() const
{
	uint32_t f = out_.family == NFPROTO_IPV4 || out_.family == NFPROTO_IPV6 ? out_.family : nfproto_;
	return f == NFPROTO_IPV4 ? AF_INET : f == NFPROTO_IPV6 ? AF_INET6 : 0;
}

Field Decoder::field_of(const Source &s) const
{
	if (s.kind == Source::meta) {
		static const std::map<uint32_t, Field> keys = {{NFT_META_L4PROTO, Field::l4proto},
			{NFT_META_NFPROTO, Field::nfproto}, {NFT_META_IIFNAME, Field::iifname},
			{NFT_META_OIFNAME, Field::oifname}, {NFT_META_SECPATH, Field::ipsec_in}};
		auto it = keys.find(s.key);
		return it != keys.end() ? it->second : Field::other;
	}
	if (s.kind == Source::rt && s.key == NFT_RT_XFRM)
		return Field::ipsec_out;
	if (s.kind == Source::ct && s.key == NFT_CT_STATE)
		return Field::ct_state;
	if (s.kind != Source::payload)
		return Field::other;
	if (s.key == NFT_PAYLOAD_TRANSPORT_HEADER && s.len == 2 && s.mask.empty())
		return s.offset == 2 ? Field::dport : s.offset == 0 ? Field::sport : Field::other;
	if (s.key != NFT_PAYLOAD_NETWORK_HEADER)
		return Field::other;
	const int af = address_family();
	const uint32_t alen = af == AF_INET ? 4 : 16, src = af == AF_INET ? 12 : 8;
	const uint32_t dst = af == AF_INET ? 16 : 24, proto = af == AF_INET ? 9 : 6;
	if (af == 0)
		return Field::other;
	if (s.offset == proto && s.len == 1)
		return Field::l4proto;
	if ((s.offset == src || s.offset == dst) && s.len <= alen)
		return s.offset == src ? Field::saddr : Field::daddr;
	return Field::other;
}

std::string Decoder::name_of(const Source &s) const
{
	const bool v4 = address_family() == AF_INET;
	switch (field_of(s)) {
	case Field::saddr: return v4 ? "ip saddr" : "ip6 saddr";
	case Field::daddr: return v4 ? "ip daddr" : "ip6 daddr";
	case Field::dport: return "th dport";
	case Field::sport: return "th sport";
	case Field::iifname: return "iifname";
	case Field::oifname: return "oifname";
	default: return source_text(s);
	}
}

// A lookup key loaded into consecutive registers (a concatenation, as
// `ip saddr . ip daddr @set`): the names of the fields from `slot` on.
// A field masked before the lookup (a set of network addresses: `ip daddr
// & 255.255.255.0`) carries its mask, printed as an address.
std::string Decoder::concat_names(uint32_t slot) const
{
	std::string s;
	for (auto it = regs_.find(slot); it != regs_.end() && fresh_.count(slot); it = regs_.find(slot)) {
		s += (s.empty() ? "" : " . ") + name_of(it->second);
		const auto &m = it->second.mask;
		if (!m.empty() && !std::all_of(m.begin(), m.end(), [](uint8_t b) { return b == 0xff; }))
			s += " & " + address_text(m.size() == 4 ? AF_INET : AF_INET6, m, 128);
		if (it->second.kind != Source::payload)
			break;
		slot += (it->second.len + 3) / 4;
	}
	return s;
}

void Decoder::add(const nftnl_expr *e)
{
	const std::string name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	using Handler = void (Decoder::*)(const nftnl_expr *);
	static const std::map<std::string, Handler> handlers = {{"bitwise", &Decoder::bitwise},
		{"immediate", &Decoder::immediate}, {"cmp", &Decoder::cmp}, {"range", &Decoder::range},
		{"lookup", &Decoder::lookup}, {"nat", &Decoder::nat}, {"masq", &Decoder::masq},
		{"match", &Decoder::match}, {"target", &Decoder::target}};
	static const std::map<std::string, const char *> statements = {{"counter", "counter"},
		{"log", "log"}, {"limit", "limit"}, {"notrack", "notrack"}, {"quota", "quota"}};
	if (name == "meta" || name == "rt" || name == "ct" || name == "payload")
		load(e, name);
	else if (auto h = handlers.find(name); h != handlers.end()) {
		(this->*h->second)(e);
		if (name == "cmp" || name == "range" || name == "lookup")
			fresh_.clear();
	}
	else if (auto st = statements.find(name); st != statements.end())
		say(st->second);
	else if (name == "reject" || name == "queue") {
		say(name);
		out_.verdict = Verdict::other;
	} else if (name == "redir") {
		say("redirect");
		out_.nat = Nat::other;
	} else
		say("<" + name + ">");
}

// meta, rt, ct and payload either load a register or (with a source
// register instead) set a packet field, which the audits ignore.
void Decoder::load(const nftnl_expr *e, const std::string &name)
{
	static const std::map<std::string, std::tuple<Source::Kind, uint16_t, uint16_t>> attrs = {
		{"meta", {Source::meta, NFTNL_EXPR_META_KEY, NFTNL_EXPR_META_DREG}},
		{"rt", {Source::rt, NFTNL_EXPR_RT_KEY, NFTNL_EXPR_RT_DREG}},
		{"ct", {Source::ct, NFTNL_EXPR_CT_KEY, NFTNL_EXPR_CT_DREG}},
		{"payload", {Source::payload, NFTNL_EXPR_PAYLOAD_BASE, NFTNL_EXPR_PAYLOAD_DREG}}};
	auto [kind, key_attr, dreg_attr] = attrs.at(name);
	Source s;
	s.kind = kind;
	s.key = nftnl_expr_get_u32(e, key_attr);
	if (kind == Source::payload) {
		s.offset = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
		s.len = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN);
	}
	if (!nftnl_expr_is_set(e, dreg_attr)) {
		say(source_text(s) + " set");
		return;
	}
	const uint32_t slot = slot_of(nftnl_expr_get_u32(e, dreg_attr));
	regs_[slot] = std::move(s);
	fresh_.insert(slot);
}

void Decoder::bitwise(const nftnl_expr *e)
{
	Source s = reg(e, NFTNL_EXPR_BITWISE_SREG);
	s.mask = bytes_of(e, NFTNL_EXPR_BITWISE_MASK);
	const uint32_t slot = slot_of(nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_DREG));
	regs_[slot] = std::move(s);
	fresh_.insert(slot);
}

void Decoder::immediate(const nftnl_expr *e)
{
	const uint32_t dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_DREG);
	if (dreg != NFT_REG_VERDICT) {
		Source s;
		s.kind = Source::immediate;
		s.data = bytes_of(e, NFTNL_EXPR_IMM_DATA);
		regs_[slot_of(dreg)] = std::move(s);
		return;
	}
	const auto code = static_cast<int32_t>(nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT));
	const std::string chain = str_of(e, NFTNL_EXPR_IMM_CHAIN);
	switch (code) {
	case NF_ACCEPT: out_.verdict = Verdict::accept; say("accept"); break;
	case NF_DROP: out_.verdict = Verdict::drop; say("drop"); break;
	case NFT_JUMP: out_.verdict = Verdict::jump; say("jump " + chain); break;
	case NFT_GOTO: out_.verdict = Verdict::go_to; say("goto " + chain); break;
	case NFT_RETURN: out_.verdict = Verdict::ret; say("return"); break;
	case NFT_CONTINUE: say("continue"); break;
	default: out_.verdict = Verdict::other; say("verdict " + std::to_string(code)); break;
	}
	out_.target = chain;
}

std::string Decoder::text() const
{
	std::string s;
	for (const auto &p : parts_)
		if (!p.empty())
			s += (s.empty() ? "" : " ") + p;
	return s;
}

} // namespace

namespace {

// NF_NAT_RANGE_* (linux/netfilter/nf_nat.h, whose uapi header does not
// build as C++): the masquerade flags nft prints, and SNAT's "has an address".
constexpr uint32_t nat_map_ips = 1, nat_random = 4, nat_persistent = 8, nat_fully_random = 16;

template <typename T>
std::optional<T> info_as(const std::vector<uint8_t> &info)
{
	if (info.size() < sizeof(T))
		return std::nullopt;
	T v;
	std::memcpy(&v, info.data(), sizeof(T));
	return v;
}

// An xt port match (multiport, udp, tcp), as ranges and as iptables text.
struct XtPorts {
	std::optional<PortMatch> dport;  // none when it only constrains source ports
	std::string text;
};

std::optional<XtPorts> multiport_ports(uint32_t rev, const std::vector<uint8_t> &info)
{
	auto v1 = rev == 1 ? info_as<xt_multiport_v1>(info) : std::nullopt;
	auto v0 = rev == 0 ? info_as<xt_multiport>(info) : std::nullopt;
	if (!v1 && !v0)
		return std::nullopt;
	const uint8_t flags = v1 ? v1->flags : v0->flags;
	const uint8_t count = std::min<uint8_t>(v1 ? v1->count : v0->count, XT_MULTI_PORTS);
	const uint16_t *ports = v1 ? v1->ports : v0->ports;
	PortMatch m;
	m.negate = v1 && v1->invert;
	std::string list;
	for (uint8_t i = 0; i < count; i++) {
		const bool ranged = v1 && v1->pflags[i] && i + 1 < count;
		m.ranges.push_back({ports[i], ranged ? ports[i + 1] : ports[i]});
		list += (list.empty() ? "" : ",") + std::to_string(ports[i]);
		if (ranged)
			list += ":" + std::to_string(ports[++i]);
	}
	static const char *opts[] = {"--sports", "--dports", "--ports"};
	XtPorts out;
	out.text = std::string("xt match multiport ") + (m.negate ? "! " : "") + opts[std::min<uint8_t>(flags, 2)] +
		" " + list;
	if (flags != XT_MULTIPORT_SOURCE)
		out.dport = std::move(m);
	return out;
}

// xt_udp and xt_tcp begin alike: source and destination port ranges.
std::optional<XtPorts> tcpudp_ports(const std::string &name, const std::vector<uint8_t> &info)
{
	uint16_t dpts[2] = {0, 65535};
	uint8_t inv = 0;
	if (auto u = name == "udp" ? info_as<xt_udp>(info) : std::nullopt) {
		std::copy_n(u->dpts, 2, dpts);
		inv = u->invflags & XT_UDP_INV_DSTPT;
	} else if (auto t = name == "tcp" ? info_as<xt_tcp>(info) : std::nullopt) {
		std::copy_n(t->dpts, 2, dpts);
		inv = t->invflags & XT_TCP_INV_DSTPT;
	} else {
		return std::nullopt;
	}
	XtPorts out{std::nullopt, "xt match " + name};
	if (dpts[0] == 0 && dpts[1] == 65535)
		return out;
	out.dport = PortMatch{{{dpts[0], dpts[1]}}, inv != 0};
	out.text += std::string(inv ? " !" : "") + " --dport " + std::to_string(dpts[0]);
	if (dpts[1] != dpts[0])
		out.text += ":" + std::to_string(dpts[1]);
	return out;
}

// SNAT's target info: revision 0 is nf_nat_ipv4_multi_range_compat
// (rangesize, flags, min_ip, ...); 1 and 2 are nf_nat_range(2) (flags,
// min_addr as nf_inet_addr, ...).
std::string xt_snat_text(uint32_t rev, const std::vector<uint8_t> &info, bool ipv6)
{
	const size_t flags_at = rev == 0 ? 4 : 0, addr_at = rev == 0 ? 8 : 4;
	const size_t len = ipv6 && rev != 0 ? 16 : 4;
	if (info.size() < addr_at + len)
		return "snat";
	uint32_t flags = 0;
	std::memcpy(&flags, info.data() + flags_at, sizeof(flags));
	if (!(flags & nat_map_ips))
		return "snat";
	std::vector<uint8_t> addr(info.begin() + addr_at, info.begin() + addr_at + len);
	return "snat to " + address_text(len == 16 ? AF_INET6 : AF_INET, addr, 128);
}

} // namespace

namespace {

void Decoder::cmp(const nftnl_expr *e)
{
	const Source s = reg(e, NFTNL_EXPR_CMP_SREG);
	const uint32_t op = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP);
	const std::vector<uint8_t> d = bytes_of(e, NFTNL_EXPR_CMP_DATA);
	const uint8_t byte = d.empty() ? 0 : d[0];
	switch (const Field f = field_of(s)) {
	case Field::nfproto:
		nfproto_ = byte;
		nfproto_part_ = static_cast<int>(parts_.size());
		say(std::string("meta nfproto ") + op_text(op) +
			(byte == NFPROTO_IPV4 ? "ipv4" : byte == NFPROTO_IPV6 ? "ipv6" : std::to_string(byte)));
		break;
	case Field::l4proto:
		if (op == NFT_CMP_EQ) {
			out_.l4proto = byte;
			l4_part_ = static_cast<int>(parts_.size());
		}
		say(std::string("meta l4proto ") + op_text(op) + proto_name(byte));
		break;
	case Field::dport:
	case Field::sport:
		port(f, port_match(op, be16(d)), op_text(op) + std::to_string(be16(d)));
		break;
	case Field::saddr:
	case Field::daddr: compare_address(f, s, op, d); break;
	case Field::ipsec_in:
	case Field::ipsec_out: compare_presence(f, op, d); break;
	case Field::iifname:
	case Field::oifname: compare_ifname(f, op, d); break;
	case Field::ct_state:
		// nft's `ct state established,related` is (state & bits) != 0.
		if (!s.mask.empty() && host32(d) == 0)
			say(std::string("ct state ") + (op == NFT_CMP_NEQ ? "" : "!= ") + ct_states(host32(s.mask)));
		else
			say(std::string("ct state ") + op_text(op) + ct_states(host32(d)));
		break;
	default: say(source_text(s) + " " + op_text(op) + hex(d)); break;
	}
}

void Decoder::range(const nftnl_expr *e)
{
	const Source s = reg(e, NFTNL_EXPR_RANGE_SREG);
	const bool neq = nftnl_expr_get_u32(e, NFTNL_EXPR_RANGE_OP) == NFT_RANGE_NEQ;
	const auto from = bytes_of(e, NFTNL_EXPR_RANGE_FROM_DATA), to = bytes_of(e, NFTNL_EXPR_RANGE_TO_DATA);
	const Field f = field_of(s);
	if (f == Field::dport || f == Field::sport) {
		const uint16_t lo = be16(from), hi = be16(to);
		port(f, PortMatch{{{lo, hi}}, neq},
			(neq ? "!= " : "") + std::to_string(lo) + "-" + std::to_string(hi));
		return;
	}
	say(source_text(s) + " " + (neq ? "!= " : "") + hex(from) + "-" + hex(to));
}

// A port in a set: anonymous sets (`{ 500, 8472 }`) are printed with
// their elements, named ones as @name. A set we could not read names no
// port (conservative: the audit then reports nothing for it).
void Decoder::lookup(const nftnl_expr *e)
{
	const Source s = reg(e, NFTNL_EXPR_LOOKUP_SREG);
	const std::string set = str_of(e, NFTNL_EXPR_LOOKUP_SET);
	const bool inv = nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_FLAGS) & NFT_LOOKUP_F_INV;
	const bool map = nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_DREG);
	const auto known = sets_.find(set);
	const bool anonymous = set.rfind("__set", 0) == 0 && known != sets_.end();
	const bool vmap = map && nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_DREG) == NFT_REG_VERDICT;
	const std::string value = std::string(inv ? "!= " : "") + (vmap ? "vmap " : map ? "map " : "") +
		(anonymous ? "{ " + ranges_text(known->second) + " }" : "@" + set);
	const Field f = field_of(s);
	if ((f == Field::dport || f == Field::sport) && !map) {
		PortMatch m;
		m.negate = inv;
		if (known != sets_.end())
			m.ranges = known->second;
		port(f, std::move(m), value);
		return;
	}
	std::string key = concat_names(slot_of(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SREG)));
	if ((f == Field::saddr || f == Field::daddr) && nfproto_part_ >= 0)
		parts_[nfproto_part_].clear();  // `ip saddr` implies it
	// nft 1.0.6 lists a lookup of one masked field as `... & MASK == @set`.
	const bool eq = !inv && !map && key.find(" & ") != std::string::npos && key.find(" . ") == std::string::npos;
	say((key.empty() ? name_of(s) : key) + (eq ? " == " : " ") + value);
}

void Decoder::port(Field f, PortMatch m, const std::string &value)
{
	std::string proto = "th";
	if (out_.l4proto == IPPROTO_UDP || out_.l4proto == IPPROTO_TCP) {
		proto = proto_name(out_.l4proto);
		if (l4_part_ >= 0)
			parts_[l4_part_].clear();  // `udp dport` implies it, as nft prints it
	}
	say(proto + (f == Field::dport ? " dport " : " sport ") + value);
	if (f == Field::dport)
		out_.dports.push_back(std::move(m));
}

void Decoder::compare_address(Field f, const Source &s, uint32_t op, const std::vector<uint8_t> &d)
{
	const int af = address_family();
	const int full = af == AF_INET ? 32 : 128;
	int prefix = static_cast<int>(s.len * 8);
	if (!s.mask.empty()) {
		prefix = 0;
		for (uint8_t b : s.mask)
			prefix += __builtin_popcount(b);
	}
	const std::string addr = address_text(af, d, prefix);
	if (nfproto_part_ >= 0)
		parts_[nfproto_part_].clear();  // `ip saddr` implies it
	say(std::string(af == AF_INET ? "ip " : "ip6 ") + (f == Field::saddr ? "saddr " : "daddr ") +
		op_text(op) + addr);
	if (f == Field::saddr && op == NFT_CMP_EQ)
		out_.saddr = prefix >= full ? addr + "/" + std::to_string(full) : addr;
}

void Decoder::compare_presence(Field f, uint32_t op, const std::vector<uint8_t> &d)
{
	const bool one = !d.empty() && d[0] != 0;
	const bool exists = op == NFT_CMP_NEQ ? !one : one;
	(f == Field::ipsec_in ? out_.meta_ipsec : out_.rt_ipsec) = exists ? Presence::exists : Presence::missing;
	say(std::string(f == Field::ipsec_in ? "meta ipsec " : "rt ipsec ") + (exists ? "exists" : "missing"));
}

// nft compares all IFNAMSIZ bytes, iptables the name and its NUL; no NUL
// at all is a prefix match (nft "eth*", iptables "eth+").
void Decoder::compare_ifname(Field f, uint32_t op, const std::vector<uint8_t> &d)
{
	const auto nul = std::find(d.begin(), d.end(), 0);
	std::string name(d.begin(), nul);
	if (nul == d.end())
		name += "*";
	say(std::string(f == Field::oifname ? "oifname " : "iifname ") + op_text(op) + "\"" + name + "\"");
	if (f == Field::oifname) {
		out_.oifname = name;
		out_.oifname_negate = op == NFT_CMP_NEQ;
	}
}

void Decoder::nat(const nftnl_expr *e)
{
	const bool snat = nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_TYPE) == NFT_NAT_SNAT;
	const bool v6 = nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_FAMILY) == NFPROTO_IPV6;
	out_.nat = snat ? Nat::snat : Nat::other;
	std::string s = snat ? "snat" : "dnat";
	if (out_.family == NFPROTO_INET)
		s += v6 ? " ip6" : " ip";
	if (nftnl_expr_is_set(e, NFTNL_EXPR_NAT_REG_ADDR_MIN)) {
		const Source &a = reg(e, NFTNL_EXPR_NAT_REG_ADDR_MIN);
		if (a.kind == Source::immediate)
			s += " to " + address_text(v6 ? AF_INET6 : AF_INET, a.data, 128);
	}
	say(s);
}

void Decoder::masq(const nftnl_expr *e)
{
	const uint32_t flags = nftnl_expr_get_u32(e, NFTNL_EXPR_MASQ_FLAGS);
	out_.nat = Nat::masquerade;
	std::string s = "masquerade";
	if (flags & nat_random)
		s += " random";
	if (flags & nat_persistent)
		s += " persistent";
	if (flags & nat_fully_random)
		s += " fully-random";
	say(s);
}

void Decoder::match(const nftnl_expr *e)
{
	out_.xt = true;
	const std::string name = str_of(e, NFTNL_EXPR_MT_NAME);
	const uint32_t rev = nftnl_expr_get_u32(e, NFTNL_EXPR_MT_REV);
	const std::vector<uint8_t> info = bytes_of(e, NFTNL_EXPR_MT_INFO);
	if (auto p = name == "policy" && rev == 0 ? info_as<xt_policy_info>(info) : std::nullopt) {
		PolicyMatch m{(p->flags & XT_POLICY_MATCH_IN) != 0, (p->flags & XT_POLICY_MATCH_OUT) != 0,
			(p->flags & XT_POLICY_MATCH_NONE) != 0};
		out_.policies.push_back(m);
		say(std::string("xt match policy --dir ") + (m.in ? "in" : "out") + " --pol " + (m.none ? "none" : "ipsec"));
		return;
	}
	std::optional<XtPorts> ports;
	if (name == "multiport")
		ports = multiport_ports(rev, info);
	else if (name == "udp" || name == "tcp")
		ports = tcpudp_ports(name, info);
	if (!ports) {
		say("xt match " + name);
		return;
	}
	if (name != "multiport" && out_.l4proto == 0)
		out_.l4proto = name == "udp" ? IPPROTO_UDP : IPPROTO_TCP;
	if (ports->dport)
		out_.dports.push_back(std::move(*ports->dport));
	say(ports->text);
}

void Decoder::target(const nftnl_expr *e)
{
	out_.xt = true;
	const std::string name = str_of(e, NFTNL_EXPR_TG_NAME);
	const uint32_t rev = nftnl_expr_get_u32(e, NFTNL_EXPR_TG_REV);
	if (name == "MASQUERADE") {
		out_.nat = Nat::masquerade;
		say("masquerade");
		return;
	}
	if (name == "SNAT") {
		out_.nat = Nat::snat;
		say(xt_snat_text(rev, bytes_of(e, NFTNL_EXPR_TG_INFO), out_.family == NFPROTO_IPV6));
		return;
	}
	if (name == "DNAT" || name == "REDIRECT" || name == "NETMAP")
		out_.nat = Nat::other;
	else if (name == "REJECT")
		out_.verdict = Verdict::other;
	say("xt target " + name);
}

int add_expr(nftnl_expr *e, void *data)
{
	static_cast<Decoder *>(data)->add(e);
	return 0;
}

} // namespace

RuleInfo decode_rule(const nftnl_rule *r, const PortSets &sets)
{
	RuleInfo out;
	out.family = nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY);
	if (nftnl_rule_is_set(r, NFTNL_RULE_TABLE))
		out.table = nftnl_rule_get_str(r, NFTNL_RULE_TABLE);
	if (nftnl_rule_is_set(r, NFTNL_RULE_CHAIN))
		out.chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	out.handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
	Decoder d(out, sets);
	// The iterator only reads, but libnftnl declares it on a non-const rule.
	nftnl_expr_foreach(const_cast<nftnl_rule *>(r), add_expr, &d);
	out.text = d.text();
	return out;
}

ChainInfo decode_chain(const nftnl_chain *c)
{
	ChainInfo out;
	out.family = nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY);
	if (nftnl_chain_is_set(c, NFTNL_CHAIN_TABLE))
		out.table = nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE);
	if (nftnl_chain_is_set(c, NFTNL_CHAIN_NAME))
		out.name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
	out.base = nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM);
	if (out.base) {
		out.hook = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
		out.priority = nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO);
		out.type = nftnl_chain_is_set(c, NFTNL_CHAIN_TYPE) ? nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE) : "filter";
	}
	return out;
}

namespace {

struct Key {
	uint16_t port = 0;
	bool end = false;           // an interval-end marker: the first port after a range
	std::optional<uint16_t> last;  // key end (pipapo, and newer rbtree dumps)
};

int collect_key(nftnl_set_elem *e, void *data)
{
	uint32_t len = 0;
	auto *k = static_cast<const uint8_t *>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len));
	if (!k || len < 2)
		return 0;
	Key key;
	key.port = static_cast<uint16_t>(k[0] << 8 | k[1]);
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
		key.end = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END;
	auto *ke = static_cast<const uint8_t *>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &len));
	if (ke && len >= 2)
		key.last = static_cast<uint16_t>(ke[0] << 8 | ke[1]);
	static_cast<std::vector<Key> *>(data)->push_back(key);
	return 0;
}

} // namespace

// An interval set lists the start of each range and, unless the range
// runs to 65535, an end marker one past it; sorted, each start pairs with
// the next marker (at equal keys the marker ends the previous range).
std::vector<PortRange> decode_port_set(nftnl_set *s)
{
	std::vector<Key> keys;
	nftnl_set_elem_foreach(s, collect_key, &keys);
	std::sort(keys.begin(), keys.end(),
		[](const Key &a, const Key &b) { return std::tie(a.port, b.end) < std::tie(b.port, a.end); });
	std::vector<PortRange> out;
	int open = -1;  // the start of the range being read
	auto close = [&](int last) {
		if (open >= 0 && last >= open)
			out.push_back({static_cast<uint16_t>(open), static_cast<uint16_t>(last)});
		open = -1;
	};
	const bool interval = nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_INTERVAL;
	for (const Key &k : keys) {
		if (k.end)
			close(k.port - 1);
		else if (k.last)
			out.push_back({k.port, *k.last});
		else if (!interval)
			out.push_back({k.port, k.port});
		else {
			close(k.port - 1);
			open = k.port;
		}
	}
	close(65535);
	return out;
}

// ===== rule facts ========================================================

bool PortMatch::contains(uint16_t port) const
{
	bool in = std::any_of(ranges.begin(), ranges.end(),
		[port](const PortRange &r) { return port >= r.lo && port <= r.hi; });
	return in != negate;
}

bool RuleInfo::names_dport(uint8_t proto, uint16_t port) const
{
	if (l4proto != 0 && l4proto != proto)
		return false;
	bool positive = std::any_of(dports.begin(), dports.end(), [](const PortMatch &m) { return !m.negate; });
	return positive && std::all_of(dports.begin(), dports.end(),
		[port](const PortMatch &m) { return m.contains(port); });
}

bool RuleInfo::requires_ipsec_in() const
{
	return meta_ipsec == Presence::exists || std::any_of(policies.begin(), policies.end(),
		[](const PolicyMatch &p) { return p.in && !p.none; });
}

bool RuleInfo::exempts_ipsec_out() const
{
	return rt_ipsec == Presence::missing || std::any_of(policies.begin(), policies.end(),
		[](const PolicyMatch &p) { return p.out && p.none; });
}

namespace {

std::string family_name(uint32_t f)
{
	switch (f) {
	case NFPROTO_INET: return "inet";
	case NFPROTO_IPV4: return "ip";
	case NFPROTO_IPV6: return "ip6";
	case NFPROTO_ARP: return "arp";
	case NFPROTO_BRIDGE: return "bridge";
	case NFPROTO_NETDEV: return "netdev";
	default: return "family " + std::to_string(f);
	}
}

} // namespace

std::string RuleInfo::where() const
{
	return "table " + family_name(family) + " " + table + " chain " + chain + " handle " +
		std::to_string(handle);
}

// ===== audits ============================================================

namespace {

std::string chain_key(uint32_t family, const std::string &table, const std::string &chain)
{
	return std::to_string(family) + " " + table + " " + chain;
}

// Rules by chain, in order.
struct Index {
	std::map<std::string, std::vector<const RuleInfo *>> rules;

	explicit Index(const LiveRuleset &rs)
	{
		for (const auto &r : rs.rules)
			rules[chain_key(r.family, r.table, r.chain)].push_back(&r);
	}
};

// Visits every rule reachable from a chain, with the state the path to
// it carries (what the jumps leading there matched). visit(rule, state)
// returns the state inside the rule's jump or goto target. Each (chain,
// state) is walked once, so loops end.
template <typename State, typename Visit>
void walk(const Index &ix, const std::string &chain, const State &st,
	std::set<std::pair<std::string, State>> &seen, Visit &visit)
{
	if (!seen.insert({chain, st}).second)
		return;
	auto it = ix.rules.find(chain);
	if (it == ix.rules.end())
		return;
	for (const RuleInfo *r : it->second) {
		State next = visit(*r, st);
		if ((r->verdict == Verdict::jump || r->verdict == Verdict::go_to) && !r->target.empty())
			walk(ix, chain_key(r->family, r->table, r->target), next, seen, visit);
	}
}

bool ip_family(uint32_t f)
{
	return f == NFPROTO_IPV4 || f == NFPROTO_IPV6 || f == NFPROTO_INET;
}

std::string rule_line(const RuleInfo &r)
{
	return r.where() + ": " + r.text;
}

// The [firewall] masquerade entry that replaces a masquerade rule, as far
// as its matches translate.
std::string masquerade_entry(const RuleInfo &r)
{
	std::string e = "{ source = \"" + (r.saddr.empty() ? std::string("SUBNET") : r.saddr) + "\"";
	if (!r.oifname.empty() && r.oifname.back() != '*')
		e += std::string(r.oifname_negate ? ", not_out_interface" : ", out_interface") + " = \"" +
			r.oifname + "\"";
	return e + " }";
}

Finding nat_finding(const RuleInfo &r)
{
	const bool masq = r.nat == Nat::masquerade;
	Finding f;
	f.problem = std::string(masq ? "masquerade" : "SNAT") +
		" rule would rewrite IPsec-bound traffic (no `rt ipsec missing` / `-m policy --dir out"
		" --pol none`): those packets then miss their IPsec policy and leave unprotected or are dropped";
	f.rule = rule_line(r);
	f.fix = std::string("add \"rt ipsec missing\" (nft) or \"-m policy --dir out --pol none\" (iptables) before the ") +
		(masq ? "masquerade" : "snat");
	if (masq)
		f.fix += ", or delete it and let ipsec-steer own it: [firewall] masquerade = [ " +
			masquerade_entry(r) + " ]";
	return f;
}

} // namespace

std::vector<Finding> audit_nat(const LiveRuleset &rs)
{
	const Index ix(rs);
	std::set<const RuleInfo *> hits;
	// State: an exemption was matched on the way here.
	auto visit = [&](const RuleInfo &r, bool exempt) {
		exempt = exempt || r.exempts_ipsec_out();
		if (!exempt && (r.nat == Nat::masquerade || r.nat == Nat::snat))
			hits.insert(&r);
		return exempt;
	};
	std::set<std::pair<std::string, bool>> seen;
	for (const auto &c : rs.chains)
		if (c.base && c.type == "nat" && c.hook == NF_INET_POST_ROUTING && ip_family(c.family))
			walk(ix, chain_key(c.family, c.table, c.name), false, seen, visit);
	std::vector<Finding> out;
	for (const auto &r : rs.rules)
		if (hits.count(&r))
			out.push_back(nat_finding(r));
	return out;
}

namespace {

// What the path to a rule has matched: IPsec protection, and which
// services the jumps leading there narrowed it to (unconstrained: all).
struct PathState {
	bool ipsec = false;
	bool constrained = false;
	std::vector<bool> named;

	bool operator<(const PathState &o) const
	{
		return std::tie(ipsec, constrained, named) < std::tie(o.ipsec, o.constrained, o.named);
	}
};

bool positive_port(const RuleInfo &r)
{
	return std::any_of(r.dports.begin(), r.dports.end(), [](const PortMatch &m) { return !m.negate; });
}

// The state after rule r: the path's services narrowed by r's own port
// and protocol conditions.
PathState step(const RuleInfo &r, const PathState &st, const std::vector<config::Service> &svc)
{
	PathState next = st;
	next.ipsec = st.ipsec || r.requires_ipsec_in();
	for (size_t i = 0; i < svc.size(); i++) {
		bool rule_ok = (r.l4proto == 0 || r.l4proto == svc[i].proto) &&
			std::all_of(r.dports.begin(), r.dports.end(),
				[&](const PortMatch &m) { return m.contains(svc[i].port); });
		next.named[i] = (!st.constrained || st.named[i]) && rule_ok;
	}
	next.constrained = st.constrained || positive_port(r);
	return next;
}

Finding accept_finding(const RuleInfo &r, const std::vector<config::Service> &svc, const std::vector<bool> &hit)
{
	std::string names;
	for (size_t i = 0; i < svc.size(); i++)
		if (hit[i])
			names += (names.empty() ? "" : ", ") + svc[i].text;
	Finding f;
	f.problem = "rule accepts " + names + " (ipsec_only) without requiring IPsec: packets sent to it"
		" in clear pass this rule";
	f.rule = rule_line(r);
	f.fix = "add \"meta ipsec exists\" (nft) or \"-m policy --pol ipsec --dir in\" (iptables) to it or to"
		" the jump leading to it, or delete it: ipsec-steer's table accepts " + names +
		" only when IPsec-protected";
	return f;
}

bool inbound_filter(const ChainInfo &c)
{
	return c.base && c.type == "filter" && ip_family(c.family) &&
		(c.hook == NF_INET_PRE_ROUTING || c.hook == NF_INET_LOCAL_IN || c.hook == NF_INET_FORWARD) &&
		!(c.family == NFPROTO_INET && c.table == table_name);
}

} // namespace

std::vector<Finding> audit_ipsec_only(const LiveRuleset &rs, const std::vector<config::Service> &services)
{
	if (services.empty())
		return {};
	const Index ix(rs);
	std::map<const RuleInfo *, std::vector<bool>> hits;
	auto visit = [&](const RuleInfo &r, const PathState &st) {
		PathState next = step(r, st, services);
		if (r.verdict != Verdict::accept || next.ipsec || !next.constrained)
			return next;
		auto &hit = hits.try_emplace(&r, services.size(), false).first->second;
		for (size_t i = 0; i < services.size(); i++)
			hit[i] = hit[i] || next.named[i];
		return next;
	};
	std::set<std::pair<std::string, PathState>> seen;
	const PathState start{false, false, std::vector<bool>(services.size(), true)};
	for (const auto &c : rs.chains)
		if (inbound_filter(c))
			walk(ix, chain_key(c.family, c.table, c.name), start, seen, visit);
	std::vector<Finding> out;
	for (const auto &r : rs.rules) {
		auto it = hits.find(&r);
		if (it != hits.end() && std::find(it->second.begin(), it->second.end(), true) != it->second.end())
			out.push_back(accept_finding(r, services, it->second));
	}
	return out;
}

std::vector<Finding> audit_features(const Features &f)
{
	std::vector<Finding> out;
	if (!f.meta_ipsec)
		out.push_back({"the kernel's nf_tables does not support `meta ipsec` (no XFRM)", "",
			"use a kernel built with CONFIG_XFRM (IPsec): without it ipsec_only cannot be enforced"});
	if (!f.rt_ipsec)
		out.push_back({"the kernel's nf_tables does not support `rt ipsec` (no XFRM)", "",
			"use a kernel built with CONFIG_XFRM (IPsec): without it no masquerade can spare"
			" IPsec-bound traffic"});
	return out;
}

// ===== the kernel ========================================================

namespace {

// Dump replies can be large (one skb holds many rules): read whole.
constexpr size_t dump_room = 64 * 1024;

// A NETLINK_NETFILTER socket for requests whose replies are read back:
// dumps (ending at NLMSG_DONE) and single answers (ending at the ACK).
class Session {
public:
	static Result<Session> open()
	{
		SocketPtr nl(mnl_socket_open(NETLINK_NETFILTER));
		if (!nl)
			return sys_error(errno, "open netlink socket", "NETLINK_NETFILTER");
		if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
			return sys_error(errno, "bind netlink socket", "NETLINK_NETFILTER");
		return Session(std::move(nl));
	}

	nlmsghdr *header(uint16_t type, uint16_t family, uint16_t flags)
	{
		buf_.assign(dump_room, 0);
		return nftnl_nlmsg_build_hdr(buf_.data(), type, family, flags, ++seq_);
	}

	// Sends nlh and hands every reply message to on_msg. EINTR when the
	// ruleset changed during a dump (NLM_F_DUMP_INTR): the caller retries.
	Status talk(nlmsghdr *nlh, const std::function<void(const nlmsghdr *)> &on_msg)
	{
		if (mnl_socket_sendto(nl_.get(), nlh, nlh->nlmsg_len) < 0)
			return sys_error(errno, "send nf_tables request");
		const uint32_t seq = nlh->nlmsg_seq, portid = mnl_socket_get_portid(nl_.get());
		std::vector<char> rx(dump_room);
		for (;;) {
			ssize_t n = mnl_socket_recvfrom(nl_.get(), rx.data(), rx.size());
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return sys_error(errno, "read nf_tables reply");
			int ret = mnl_cb_run(rx.data(), static_cast<size_t>(n), seq, portid, trampoline,
				const_cast<std::function<void(const nlmsghdr *)> *>(&on_msg));
			if (ret < 0)
				return sys_error(errno, "nf_tables request");
			if (ret == MNL_CB_STOP)
				return {};
		}
	}

	Result<uint32_t> generation()
	{
		std::optional<uint32_t> gen;
		Status st = talk(header(NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK), [&](const nlmsghdr *nlh) {
			GenPtr g(nftnl_gen_alloc());
			if (g && nftnl_gen_nlmsg_parse(nlh, g.get()) == 0)
				gen = nftnl_gen_get_u32(g.get(), NFTNL_GEN_ID);
		});
		if (!st)
			return Error{st.error().err, "read nf_tables generation", ""};
		if (!gen)
			return sys_error(EPROTO, "read nf_tables generation", "no NEWGEN reply");
		return *gen;
	}

private:
	explicit Session(SocketPtr nl) : nl_(std::move(nl)) {}

	static int trampoline(const nlmsghdr *nlh, void *data)
	{
		(*static_cast<std::function<void(const nlmsghdr *)> *>(data))(nlh);
		return MNL_CB_OK;
	}

	SocketPtr nl_;
	uint32_t seq_ = 0x20000000;
	std::vector<char> buf_;
};

Status dump(Session &s, uint16_t type, const std::function<void(const nlmsghdr *)> &on_msg)
{
	return s.talk(s.header(type, NFPROTO_UNSPEC, NLM_F_DUMP), on_msg);
}

// Every set whose elements could be ports (2-byte keys; maps excluded),
// with its elements, by "family table" -> name.
Result<std::map<std::string, PortSets>> read_port_sets(Session &s)
{
	std::vector<SetPtr> sets;
	Status st = dump(s, NFT_MSG_GETSET, [&](const nlmsghdr *nlh) {
		SetPtr set(nftnl_set_alloc());
		if (set && nftnl_set_nlmsg_parse(nlh, set.get()) == 0 &&
		    nftnl_set_get_u32(set.get(), NFTNL_SET_KEY_LEN) == 2 &&
		    !(nftnl_set_get_u32(set.get(), NFTNL_SET_FLAGS) & NFT_SET_MAP))
			sets.push_back(std::move(set));
	});
	if (!st)
		return Error{st.error().err, "list nft sets", ""};
	std::map<std::string, PortSets> out;
	for (auto &set : sets) {
		const uint32_t family = nftnl_set_get_u32(set.get(), NFTNL_SET_FAMILY);
		nlmsghdr *nlh = s.header(NFT_MSG_GETSETELEM, static_cast<uint16_t>(family), NLM_F_DUMP);
		nftnl_set_elems_nlmsg_build_payload(nlh, set.get());
		st = s.talk(nlh, [&](const nlmsghdr *m) { nftnl_set_elems_nlmsg_parse(m, set.get()); });
		if (!st)
			return Error{st.error().err, "list nft set elements", nftnl_set_get_str(set.get(), NFTNL_SET_NAME)};
		const std::string table = nftnl_set_get_str(set.get(), NFTNL_SET_TABLE);
		out[std::to_string(family) + " " + table][nftnl_set_get_str(set.get(), NFTNL_SET_NAME)] =
			decode_port_set(set.get());
	}
	return out;
}

Result<LiveRuleset> read_once(Session &s)
{
	LiveRuleset out;
	Status st = dump(s, NFT_MSG_GETCHAIN, [&](const nlmsghdr *nlh) {
		ChainPtr c(nftnl_chain_alloc());
		if (c && nftnl_chain_nlmsg_parse(nlh, c.get()) == 0)
			out.chains.push_back(decode_chain(c.get()));
	});
	if (!st)
		return Error{st.error().err, "list nft chains", ""};
	auto sets = read_port_sets(s);
	if (!sets)
		return sets.error();
	std::vector<RulePtr> rules;
	st = dump(s, NFT_MSG_GETRULE, [&](const nlmsghdr *nlh) {
		RulePtr r(nftnl_rule_alloc());
		if (r && nftnl_rule_nlmsg_parse(nlh, r.get()) == 0)
			rules.push_back(std::move(r));
	});
	if (!st)
		return Error{st.error().err, "list nft rules", ""};
	static const PortSets none;
	for (const auto &r : rules) {
		auto it = sets->find(std::to_string(nftnl_rule_get_u32(r.get(), NFTNL_RULE_FAMILY)) + " " +
			nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE));
		out.rules.push_back(decode_rule(r.get(), it != sets->end() ? it->second : none));
	}
	return out;
}

} // namespace

// Several dumps are one snapshot only if no commit came between them: the
// generation is read before and after, and the whole read retried if it moved.
Result<LiveRuleset> read_ruleset()
{
	auto s = Session::open();
	if (!s)
		return s.error();
	Error last = sys_error(EAGAIN, "read the nft ruleset", "it kept changing");
	for (int attempt = 0; attempt < 5; attempt++) {
		auto before = s->generation();
		if (!before)
			return before.error();
		auto rs = read_once(*s);
		// EINTR: a dump was interrupted; ENOENT: a set went away between
		// listing it and reading its elements. Both mean "changed": retry.
		if (!rs && rs.error().err != EINTR && rs.error().err != ENOENT)
			return rs.error();
		auto after = s->generation();
		if (!after)
			return after.error();
		if (rs && *before == *after)
			return rs;
		if (!rs)
			last = rs.error();
	}
	return last;
}

// ===== the feature probe =================================================

namespace {

// Sequence numbers of the probe batch's messages that matter.
struct Probe {
	Batch batch;
	uint32_t meta_seq = 0, rt_seq = 0, abort_seq = 0;
};

// The probe's messages: small (4 KiB each), no generation check.
class ProbeWriter : public BatchWriter {
public:
	using BatchWriter::BatchWriter;

	nlmsghdr *start(uint16_t type, uint16_t flags) { return BatchWriter::start(type, flags, 4096); }
	void begin() { BatchWriter::begin("the probe batch", false); }
	uint32_t table(uint16_t type, uint16_t flags, const std::string &name)
	{
		TablePtr t(nftnl_table_alloc());
		nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name.c_str());
		nlmsghdr *nlh = start(type, flags);
		nftnl_table_nlmsg_build_payload(nlh, t.get());
		return finish(nlh, (type == NFT_MSG_NEWTABLE ? "add table inet " : "delete table inet ") + name);
	}
	void chain(const std::string &table, const char *name, uint32_t hook)
	{
		ChainPtr c(nftnl_chain_alloc());
		nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table.c_str());
		nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, name);
		nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, hook);
		nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, 0);
		nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
		nlmsghdr *nlh = start(NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL);
		nftnl_chain_nlmsg_build_payload(nlh, c.get());
		finish(nlh, std::string("add chain ") + name);
	}
	uint32_t rule(const std::string &table, const char *chain, expr::Ipsec e)
	{
		RulePtr r(nftnl_rule_alloc());
		nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
		nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain);
		Rule model{chain, {e}};
		add_rule_expressions(r.get(), Ruleset{}, model);
		nlmsghdr *nlh = start(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
		nftnl_rule_nlmsg_build_payload(nlh, r.get());
		return finish(nlh, "add rule to chain " + std::string(chain) + ": " + to_text(model));
	}

};

// The table is created, given the two rules and deleted again; the last
// message deletes a table that does not exist, so the batch can only
// abort. `meta ipsec` is checked in an input chain and `rt ipsec` in an
// output chain, the hooks the kernel allows them on.
Probe build_probe(const std::string &table)
{
	Probe p;
	p.batch.table = "inet " + table;
	ProbeWriter w(p.batch, 1);
	w.begin();
	w.table(NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, table);
	w.chain(table, "in", NF_INET_LOCAL_IN);
	p.meta_seq = w.rule(table, "in", expr::Ipsec{false, true});
	w.chain(table, "out", NF_INET_LOCAL_OUT);
	p.rt_seq = w.rule(table, "out", expr::Ipsec{true, false});
	w.table(NFT_MSG_DELTABLE, 0, table);
	p.abort_seq = w.table(NFT_MSG_DELTABLE, 0, table + "_absent");
	w.end();
	return p;
}

} // namespace

Result<Features> probe_features()
{
	static std::atomic<unsigned> counter{0};
	const std::string table = "ipsec_steer_probe_" + std::to_string(::getpid()) + "_" +
		std::to_string(counter++);
	Probe p = build_probe(table);
	auto t = Transport::open();
	if (!t)
		return t.error();
	std::vector<AckError> errors;
	Status st = t->send(p.batch, &errors);
	if (st.ok() || errors.empty())  // cannot commit; without errors the ACKs were lost
		return st.ok() ? sys_error(EPROTO, "probe nf_tables features", "the batch committed") : st.error();
	Features f{true, true};
	for (const auto &e : errors) {
		if (e.seq == p.abort_seq && e.err == ENOENT)
			continue;
		if ((e.seq == p.meta_seq || e.seq == p.rt_seq) && e.err == EOPNOTSUPP) {
			(e.seq == p.meta_seq ? f.meta_ipsec : f.rt_ipsec) = false;
			continue;
		}
		return sys_error(e.err, "probe nf_tables features at: " + e.what);
	}
	return f;
}

} // namespace steer::nft
