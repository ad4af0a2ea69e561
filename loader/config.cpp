// Config parser and validator (DESIGN.md §3). toml++ is used header-only in
// this one translation unit; nothing of it leaks into config.hpp.
#include "config.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <netinet/in.h>
#include <span>
#include <sys/socket.h>
#include <utility>

#include <toml++/toml.h>

namespace steer::config {

namespace {

using Keys = std::initializer_list<std::string_view>;
using Name = std::pair<std::string_view, uint32_t>;
using Names = std::span<const Name>;

constexpr Name steer_flag_names[] = {
	{"esp", STEER_F_ESP}, {"ah", STEER_F_AH}, {"ike", STEER_F_IKE},
	{"nat-t", STEER_F_NATT}, {"icmp", STEER_F_ICMP}, {"fragments", STEER_F_FRAGMENTS},
};
constexpr Name allow_flag_names[] = {
	{"ike", STEER_F_IKE}, {"nat-t", STEER_F_NATT}, {"esp", STEER_F_ESP}, {"ah", STEER_F_AH},
};

std::string quote(std::string_view s)
{
	return "\"" + std::string(s) + "\"";
}

std::string join(std::initializer_list<std::string_view> items, std::string_view sep = ", ")
{
	std::string out;
	for (auto item : items) {
		if (!out.empty())
			out += sep;
		out += item;
	}
	return out;
}

std::string join_names(Names names)
{
	std::string out;
	for (auto &[name, flag] : names)
		out += (out.empty() ? "" : ", ") + std::string(name);
	return out;
}

SourcePos pos_of(const toml::source_region &src)
{
	return SourcePos{src.begin.line, src.begin.column};
}

bool before(SourcePos a, SourcePos b)
{
	return a.line != b.line ? a.line < b.line : a.column < b.column;
}

std::string format_at(std::string_view path, SourcePos pos, const std::string &msg)
{
	return std::string(path) + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) +
		": " + msg;
}

// Where errors go: the file name and the message format.
struct Ctx {
	std::string_view path;

	Error at(SourcePos pos, const std::string &msg) const
	{
		return plain_error(format_at(path, pos, msg));
	}
	Error at(const toml::node &node, const std::string &msg) const { return at(pos_of(node.source()), msg); }
};

std::string type_name(const toml::node &node)
{
	switch (node.type()) {
	case toml::node_type::table: return "a table";
	case toml::node_type::array: return "an array";
	case toml::node_type::string: return "a string";
	case toml::node_type::integer: return "an integer";
	case toml::node_type::floating_point: return "a floating-point number";
	case toml::node_type::boolean: return "a boolean";
	case toml::node_type::date: return "a date";
	case toml::node_type::time: return "a time";
	case toml::node_type::date_time: return "a date-time";
	default: return "nothing";
	}
}

std::string want_name(toml::node_type type)
{
	switch (type) {
	case toml::node_type::table: return "a table";
	case toml::node_type::array: return "an array";
	case toml::node_type::integer: return "an integer";
	default: return "a string";
	}
}

// The first unknown key of TABLE in document order, as an error.
Status check_keys(const Ctx &ctx, const toml::table &table, Keys allowed, std::string_view where)
{
	const toml::key *first = nullptr;
	for (auto &&[key, value] : table) {
		if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end())
			continue;
		if (!first || before(pos_of(key.source()), pos_of(first->source())))
			first = &key;
	}
	if (!first)
		return {};
	return ctx.at(pos_of(first->source()), "unknown key " + quote(first->str()) + " in " +
		std::string(where) + "; allowed keys: " + join(allowed));
}

// TABLE[KEY] if present (nullptr if not), checked to be of type WANT.
Result<const toml::node *> field(const Ctx &ctx, const toml::table &table, std::string_view key,
	const std::string &keypath, toml::node_type want, std::string_view expected = {})
{
	const toml::node *node = table.get(key);
	if (!node || node->type() == want)
		return node;
	std::string exp = expected.empty() ? want_name(want) : std::string(expected);
	return ctx.at(*node, keypath + " must be " + exp + ", not " + type_name(*node));
}

// Like field(), but a missing key is an error at the table, with a hint.
Result<const toml::node *> required(const Ctx &ctx, const toml::table &table, std::string_view key,
	const std::string &keypath, toml::node_type want, std::string_view where, std::string_view hint,
	std::string_view expected = {})
{
	auto node = field(ctx, table, key, keypath, want, expected);
	if (node && !*node)
		return ctx.at(table, std::string(where) + " is missing required key " + quote(key) + " (" +
			std::string(hint) + ")");
	return node;
}

std::string str(const toml::node *node)
{
	return node->as_string()->get();
}

// The elements of an array of strings, each checked to be a string.
Result<std::vector<const toml::node *>> string_items(const Ctx &ctx, const toml::node &array,
	const std::string &keypath)
{
	std::vector<const toml::node *> items;
	size_t i = 0;
	for (const toml::node &item : *array.as_array()) {
		if (!item.is_string())
			return ctx.at(item, keypath + "[" + std::to_string(i) + "] must be a string, not " +
				type_name(item));
		items.push_back(&item);
		i++;
	}
	return items;
}

// ---- values -------------------------------------------------------------

std::optional<uint32_t> parse_number(std::string_view s, uint32_t max)
{
	if (s.empty() || s.size() > 10 || (s.size() > 1 && s[0] == '0'))
		return std::nullopt;
	uint64_t v = 0;
	for (char c : s) {
		if (c < '0' || c > '9')
			return std::nullopt;
		v = v * 10 + static_cast<uint64_t>(c - '0');
	}
	if (v > max)
		return std::nullopt;
	return static_cast<uint32_t>(v);
}

std::optional<uint16_t> parse_port(std::string_view s)
{
	auto v = parse_number(s, 65535);
	if (!v || *v == 0)
		return std::nullopt;
	return static_cast<uint16_t>(*v);
}

bool is_unicast(const IpAddress &a)
{
	static const std::array<uint8_t, 16> zero{};
	if (a.bytes == zero)
		return false;
	if (a.family == AF_INET6)
		return a.bytes[0] != 0xff;
	if ((a.bytes[0] & 0xf0) == 0xe0)
		return false;
	return !(a.bytes[0] == 255 && a.bytes[1] == 255 && a.bytes[2] == 255 && a.bytes[3] == 255);
}

// Why NAME is not a usable interface name, or "" when it is.
std::string interface_problem(std::string_view name)
{
	if (name.empty())
		return "it is empty";
	if (name.size() > 15)
		return "it is longer than 15 characters";
	if (name == "." || name == "..")
		return "\".\" and \"..\" are reserved";
	for (unsigned char c : name) {
		if (c == '/')
			return "it contains '/'";
		if (c == ':')
			return "it contains ':'";
		if (c <= ' ' || c == 0x7f)
			return "it contains whitespace or a control character";
	}
	return {};
}

// Why NAME is not a usable router namespace name, or "" when it is.
std::string netns_problem(std::string_view name)
{
	if (name.size() > 255)
		return "it is longer than 255 characters";
	if (name == "." || name == "..")
		return "\".\" and \"..\" are reserved";
	if (name == "host")
		return "\"host\" is reserved for the root namespace's pin directory";
	for (unsigned char c : name) {
		if (c == '/')
			return "it contains '/'";
		if (c <= ' ' || c == 0x7f)
			return "it contains whitespace or a control character";
	}
	return {};
}

// An absolute path without ".." components.
bool is_clean_absolute(std::string_view path)
{
	if (path.empty() || path[0] != '/')
		return false;
	size_t start = 0;
	while (start <= path.size()) {
		size_t end = path.find('/', start);
		if (end == std::string_view::npos)
			end = path.size();
		if (path.substr(start, end - start) == "..")
			return false;
		start = end + 1;
	}
	return true;
}

// HOST is a DNS name, an IPv4 address or a bracketed IPv6 address.
bool valid_host(std::string_view host)
{
	if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
		auto ip = parse_ip(host.substr(1, host.size() - 2));
		return ip && ip->family == AF_INET6;
	}
	if (host.empty() || host.size() > 253 || host.front() == '.' || host.front() == '-')
		return false;
	bool numeric = true;
	for (unsigned char c : host) {
		if (!std::isalnum(c) && c != '.' && c != '-')
			return false;
		if (!std::isdigit(c) && c != '.')
			numeric = false;
	}
	return !numeric || (parse_ip(host) && parse_ip(host)->family == AF_INET);
}

// Why TEXT is not SCHEME://HOST:PORT (SCHEMES allowed), or "" when it is.
std::string endpoint_problem(std::string_view text, Keys schemes)
{
	size_t sep = text.find("://");
	std::string_view scheme = sep == std::string_view::npos ? "" : text.substr(0, sep);
	if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end())
		return "the scheme must be " + join(schemes, ":// or ") + "://";
	std::string_view rest = text.substr(sep + 3);
	if (rest.find('/') != std::string_view::npos)
		return "it has a path";
	size_t colon = rest.rfind(':');
	if (colon == std::string_view::npos || rest.back() == ']')
		return "the port is missing";
	if (!parse_port(rest.substr(colon + 1)))
		return "the port must be 1..65535";
	if (!valid_host(rest.substr(0, colon)))
		return "the host is not a DNS name, an IPv4 address or a bracketed IPv6 address";
	return {};
}

// ---- a guard for toml++ 3.3 ---------------------------------------------------
// toml++ 3.3 reaches __builtin_unreachable (undefined behaviour) when it tests
// some non-ASCII code points for whitespace: anywhere outside strings and
// comments, and right after a line-ending backslash of a """ string
// (marzer/tomlplusplus#190 and #295, fixed after 3.3). TOML allows non-ASCII
// only inside strings and comments, so the document is scanned first and
// such a character is reported here, before toml++ sees it.

bool is_ascii(char c)
{
	return static_cast<unsigned char>(c) < 0x80;
}

bool is_utf8_lead(char c)
{
	return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
}

SourcePos offset_pos(std::string_view doc, size_t offset)
{
	SourcePos pos{1, 1};
	for (size_t i = 0; i < offset && i < doc.size(); i++) {
		if (doc[i] == '\n')
			pos = SourcePos{pos.line + 1, 1};
		else if (is_utf8_lead(doc[i]))
			pos.column++;
	}
	return pos;
}

// After a backslash at I: the offset of the first character after the
// whitespace and newlines it trims, or npos if it is not a line ending.
size_t after_line_ending_backslash(std::string_view doc, size_t i)
{
	size_t j = doc.find_first_not_of(" \t", i + 1);
	if (j == std::string_view::npos || (doc[j] != '\n' && doc.substr(j, 2) != "\r\n"))
		return std::string_view::npos;
	j = doc.find_first_not_of(" \t\r\n", j);
	return j == std::string_view::npos ? doc.size() : j;
}

struct Scan {
	size_t end;                           // just past the string; npos: it does not end
	size_t bad = std::string_view::npos;  // a non-ASCII character toml++ must not see
	bool in_string = false;               // BAD follows a line-ending backslash
};

Scan skip_string(std::string_view doc, size_t i)
{
	const char q = doc[i];
	const std::string triple(3, q);
	const bool multi = doc.substr(i, 3) == triple;
	for (i += multi ? 3 : 1; i < doc.size(); i++) {
		if (q == '"' && doc[i] == '\\') {
			size_t next = multi ? after_line_ending_backslash(doc, i) : std::string_view::npos;
			if (next != std::string_view::npos && next < doc.size() && !is_ascii(doc[next]))
				return Scan{std::string_view::npos, next, true};
			i = next != std::string_view::npos ? next - 1 : i + 1;
		} else if (!multi && doc[i] == '\n') {
			return Scan{std::string_view::npos};
		} else if (doc[i] == q && (!multi || doc.substr(i, 3) == triple)) {
			size_t end = i + (multi ? 3 : 1);
			while (multi && end < doc.size() && doc[end] == q && end - i < 5)
				end++;
			return Scan{end};
		}
	}
	return Scan{std::string_view::npos};
}

// The first non-ASCII character toml++ could test for whitespace, or npos.
// A quote starts a string only where a key or value can start; elsewhere
// (`+ah"x"`) toml++ reads on through it while it reports the bad token.
Scan stray_non_ascii(std::string_view doc)
{
	size_t i = doc.substr(0, 3) == "\xef\xbb\xbf" ? 3 : 0;
	bool can_start = true;
	while (i < doc.size()) {
		char c = doc[i];
		if (c == '#') {
			i = doc.find('\n', i);
		} else if ((c == '"' || c == '\'') && can_start) {
			Scan s = skip_string(doc, i);
			if (s.end == std::string_view::npos)
				return s;
			i = s.end;
			can_start = false;
		} else if (!is_ascii(c)) {
			return Scan{i, i};
		} else {
			can_start = std::string_view(" \t\r\n=[{,.").find(c) != std::string_view::npos;
			i++;
		}
	}
	return Scan{doc.size()};
}

} // namespace

// ---- public building blocks ----------------------------------------------

bool Cidr::contains(const IpAddress &a) const
{
	if (a.family != address.family)
		return false;
	int full = prefix / 8, rest = prefix % 8;
	if (!std::equal(a.bytes.begin(), a.bytes.begin() + full, address.bytes.begin()))
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
	return (a.bytes[full] & mask) == (address.bytes[full] & mask);
}

bool Cidr::overlaps(const Cidr &o) const
{
	return prefix <= o.prefix ? contains(o.address) : o.contains(address);
}

std::optional<IpAddress> parse_ip(std::string_view text)
{
	if (text.empty() || text.size() >= INET6_ADDRSTRLEN)
		return std::nullopt;
	std::string s(text);
	IpAddress a;
	if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1)
		a.family = AF_INET6;
	else
		return std::nullopt;
	char buf[INET6_ADDRSTRLEN];
	a.text = inet_ntop(a.family, a.bytes.data(), buf, sizeof(buf));
	return a;
}

Result<Cidr> parse_cidr(std::string_view text)
{
	const std::string like = "; write it like 10.1.0.0/24 or 2001:db8::/64";
	size_t slash = text.find('/');
	if (slash == std::string_view::npos)
		return plain_error(quote(text) + " is not a CIDR: the /PREFIX is missing" + like);
	auto address = parse_ip(text.substr(0, slash));
	if (!address)
		return plain_error(quote(text) + " is not a CIDR: " + quote(text.substr(0, slash)) +
			" is not an IP address" + like);
	int max = address->family == AF_INET ? 32 : 128;
	auto prefix = parse_number(text.substr(slash + 1), static_cast<uint32_t>(max));
	if (!prefix)
		return plain_error(quote(text) + " has an invalid prefix length " + quote(text.substr(slash + 1)) +
			"; use 0.." + std::to_string(max) + " for " + (max == 32 ? "IPv4" : "IPv6"));
	Cidr c;
	c.prefix = static_cast<int>(*prefix);
	c.address.family = address->family;
	for (int bit = 0; bit < c.prefix; bit++)
		c.address.bytes[bit / 8] |= address->bytes[bit / 8] & (0x80 >> (bit % 8));
	char buf[INET6_ADDRSTRLEN];
	c.address.text = inet_ntop(c.address.family, c.address.bytes.data(), buf, sizeof(buf));
	c.text = c.address.text + "/" + std::to_string(c.prefix);
	if (!(c.address == *address))
		return plain_error(quote(text) + " has host bits set; use " + c.text);
	return c;
}

std::optional<Service> parse_service(std::string_view text)
{
	Service s;
	if (text.substr(0, 4) == "udp/")
		s.proto = IPPROTO_UDP;
	else if (text.substr(0, 4) == "tcp/")
		s.proto = IPPROTO_TCP;
	else
		return std::nullopt;
	auto port = parse_port(text.substr(4));
	if (!port)
		return std::nullopt;
	s.port = *port;
	s.text = std::string(text);
	return s;
}

std::string to_string(Egress egress)
{
	return egress == Egress::bpf ? "bpf" : "route";
}

std::string steer_names(uint32_t flags)
{
	std::string out;
	for (auto &[name, flag] : steer_flag_names)
		if (flags & flag)
			out += (out.empty() ? "" : ", ") + std::string(name);
	return out;
}

Error error_at(const Config &config, SourcePos pos, const std::string &message)
{
	return plain_error(format_at(config.path, pos, message));
}

namespace {

// ---- checked values at a node --------------------------------------------

Result<IpAddress> ip_at(const Ctx &ctx, const toml::node *node, const std::string &keypath)
{
	auto ip = parse_ip(str(node));
	if (!ip)
		return ctx.at(*node, keypath + " " + quote(str(node)) + " is not an IP address; use an IPv4 "
			"address like 198.51.100.1 or an IPv6 address like 2001:db8::1");
	if (!is_unicast(*ip))
		return ctx.at(*node, keypath + " " + quote(str(node)) + " is not a unicast address; use "
			"the host's own address");
	return *ip;
}

Result<Cidr> cidr_at(const Ctx &ctx, const toml::node *node, const std::string &keypath)
{
	auto cidr = parse_cidr(str(node));
	if (!cidr)
		return ctx.at(*node, keypath + " " + cidr.error().what);
	return cidr;
}

Status interface_at(const Ctx &ctx, const toml::node *node, const std::string &keypath)
{
	std::string problem = interface_problem(str(node));
	if (problem.empty())
		return {};
	return ctx.at(*node, keypath + " " + quote(str(node)) + " is not a valid interface name: " +
		problem + "; use 1..15 characters without '/', ':' or whitespace");
}

Status path_at(const Ctx &ctx, const toml::node *node, const std::string &keypath, std::string_view like)
{
	if (is_clean_absolute(str(node)))
		return {};
	// A secret pasted where its file's path belongs must not reach a log.
	if (keypath == "mesh.auth.psk_file" || keypath == "mesh.auth.key")
		return ctx.at(*node, keypath + " must be an absolute path without \"..\", like " +
			quote(like) + " (value not shown: it may be the secret itself)");
	return ctx.at(*node, keypath + " " + quote(str(node)) + " must be an absolute path without "
		"\"..\", like " + quote(like));
}

// One of CHOICES (each with a short explanation in HINT).
Result<std::string> choice_at(const Ctx &ctx, const toml::node *node, const std::string &keypath,
	Keys choices, std::string_view hint)
{
	std::string value = str(node);
	if (std::find(choices.begin(), choices.end(), value) != choices.end())
		return value;
	return ctx.at(*node, keypath + " " + quote(value) + " is not valid; use " + std::string(hint));
}

// A list of names mapped to flag bits, each name at most once.
Result<uint32_t> flags_at(const Ctx &ctx, const toml::node *node, const std::string &keypath,
	Names names, std::string_view what)
{
	auto items = string_items(ctx, *node, keypath);
	if (!items)
		return items.error();
	uint32_t flags = 0;
	for (size_t i = 0; i < items->size(); i++) {
		const toml::node *item = (*items)[i];
		std::string name = str(item), at = keypath + "[" + std::to_string(i) + "] " + quote(name);
		auto it = std::find_if(names.begin(), names.end(), [&](auto &n) { return n.first == name; });
		if (it == names.end())
			return ctx.at(*item, at + " is not " + std::string(what) + "; allowed: " + join_names(names));
		if (flags & it->second)
			return ctx.at(*item, at + " is listed twice; list each once");
		flags |= it->second;
	}
	return flags;
}

Result<std::vector<Service>> services_at(const Ctx &ctx, const toml::node *node, const std::string &keypath)
{
	auto items = string_items(ctx, *node, keypath);
	if (!items)
		return items.error();
	std::vector<Service> services;
	for (size_t i = 0; i < items->size(); i++) {
		const toml::node *item = (*items)[i];
		std::string at = keypath + "[" + std::to_string(i) + "] " + quote(str(item));
		auto service = parse_service(str(item));
		if (!service)
			return ctx.at(*item, at + " is not a service; write \"udp/PORT\" or \"tcp/PORT\" "
				"with PORT 1..65535");
		if (std::find(services.begin(), services.end(), *service) != services.end())
			return ctx.at(*item, at + " is listed twice; list each service once");
		services.push_back(*service);
	}
	return services;
}

// ---- [[gateway]] -----------------------------------------------------------

Status gateway_name(const Ctx &ctx, const toml::node *node, Gateway &gw)
{
	gw.name = str(node);
	std::string at = "gateway.name " + quote(gw.name);
	if (gw.name.empty())
		return ctx.at(*node, "gateway.name is empty; use 1..11 characters of a-z, 0-9 and '-'");
	if (gw.name.size() > 11)
		return ctx.at(*node, at + " has " + std::to_string(gw.name.size()) + " characters; use at most 11 "
			"(the veth ist-<name> must fit in 15 characters)");
	for (char c : gw.name)
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return ctx.at(*node, at + " contains '" + std::string(1, c) + "'; use only a-z, 0-9 and '-'");
	if (gw.name.front() == '-' || gw.name.back() == '-')
		return ctx.at(*node, at + " starts or ends with '-'; begin and end it with a-z or 0-9");
	return {};
}

Status gateway_identity(const Ctx &ctx, const toml::table &t, Gateway &gw)
{
	using T = toml::node_type;
	auto name = required(ctx, t, "name", "gateway.name", T::string, "[[gateway]]",
		"1..11 characters of a-z, 0-9 and '-'");
	if (!name)
		return name.error();
	if (auto s = gateway_name(ctx, *name, gw); !s)
		return s;
	auto ifname = required(ctx, t, "public_interface", "gateway.public_interface", T::string,
		"[[gateway]]", "the interface where ESP and IKE arrive");
	if (!ifname)
		return ifname.error();
	if (auto s = interface_at(ctx, *ifname, "gateway.public_interface"); !s)
		return s;
	gw.public_interface = str(*ifname);
	gw.interface_pos = pos_of((*ifname)->source());
	auto address = required(ctx, t, "public_address", "gateway.public_address", T::string,
		"[[gateway]]", "an IPv4 or IPv6 address of public_interface");
	if (!address)
		return address.error();
	auto ip = ip_at(ctx, *address, "gateway.public_address");
	if (!ip)
		return ip.error();
	gw.public_address = *ip;
	gw.address_pos = pos_of((*address)->source());
	auto netns = field(ctx, t, "router_netns", "gateway.router_netns", T::string);
	if (!netns)
		return netns.error();
	gw.netns_pos = *netns ? pos_of((*netns)->source()) : gw.pos;
	if (*netns) {
		gw.router_netns = str(*netns);
		if (std::string p = netns_problem(gw.router_netns); !p.empty())
			return ctx.at(**netns, "gateway.router_netns " + quote(gw.router_netns) + " is not a valid "
				"namespace name: " + p + "; use \"\" for the root namespace or a name in /run/netns");
	}
	return {};
}

Status gateway_link(const Ctx &ctx, const toml::table &t, Gateway &gw)
{
	auto node = field(ctx, t, "link", "gateway.link", toml::node_type::string);
	if (!node || !*node) {
		gw.link_pos = gw.pos;
		return node ? Status{} : Status{node.error()};
	}
	gw.link_pos = pos_of((*node)->source());
	auto link = cidr_at(ctx, *node, "gateway.link");
	if (!link)
		return link.error();
	bool v4 = gw.public_address.family == AF_INET;
	std::string want = v4 ? "an IPv4 /30 like 169.254.1.0/30" : "an IPv6 /127 like fd00::/127";
	if (link->address.family != gw.public_address.family)
		return ctx.at(**node, "gateway.link " + quote(str(*node)) + " is not of the family of public_address " +
			gw.public_address.text + "; use " + want);
	if (link->prefix != (v4 ? 30 : 127))
		return ctx.at(**node, "gateway.link " + quote(str(*node)) + " must be " + want);
	gw.link = *link;
	return {};
}

Status gateway_ports(const Ctx &ctx, const toml::table &t, Gateway &gw)
{
	const std::string key = "gateway.ike_ports";
	auto node = field(ctx, t, "ike_ports", key, toml::node_type::array, "an array of two integers");
	if (!node || !*node)
		return node ? Status{} : Status{node.error()};
	const toml::array &ports = *(*node)->as_array();
	if (ports.size() != 2)
		return ctx.at(**node, key + " has " + std::to_string(ports.size()) +
			(ports.size() == 1 ? " entry" : " entries") + "; list exactly two "
			"ports [IKE, NAT-T], like [500, 4500]");
	uint16_t values[2];
	for (size_t i = 0; i < 2; i++) {
		const toml::node &item = ports[i];
		std::string at = key + "[" + std::to_string(i) + "]";
		if (!item.is_integer())
			return ctx.at(item, at + " must be an integer, not " + type_name(item));
		int64_t v = item.as_integer()->get();
		if (v < 1 || v > 65535)
			return ctx.at(item, at + " " + std::to_string(v) + " is not a port; use 1..65535");
		values[i] = static_cast<uint16_t>(v);
	}
	if (values[0] == values[1])
		return ctx.at(**node, key + " uses " + std::to_string(values[0]) + " for both IKE and NAT-T; "
			"use two different ports, like [500, 4500]");
	gw.ike_port = values[0];
	gw.natt_port = values[1];
	return {};
}

Status gateway_modes(const Ctx &ctx, const toml::table &t, Gateway &gw)
{
	using T = toml::node_type;
	auto steer = field(ctx, t, "steer", "gateway.steer", T::array, "an array of strings");
	if (!steer)
		return steer.error();
	if (*steer) {
		if ((*steer)->as_array()->empty())
			return ctx.at(**steer, "gateway.steer is empty; list at least one of " +
				join_names(steer_flag_names) + ", or omit steer for the default");
		auto flags = flags_at(ctx, *steer, "gateway.steer", steer_flag_names, "a steer class");
		if (!flags)
			return flags.error();
		gw.steer_flags = *flags;
	}
	auto egress = field(ctx, t, "egress", "gateway.egress", T::string);
	if (!egress)
		return egress.error();
	if (*egress) {
		auto v = choice_at(ctx, *egress, "gateway.egress", {"bpf", "route"},
			"\"bpf\" (steer_return) or \"route\" (accept_local + loose rp_filter)");
		if (!v)
			return v.error();
		gw.egress = *v == "bpf" ? Egress::bpf : Egress::route;
	}
	auto redirect = field(ctx, t, "redirect", "gateway.redirect", T::string);
	if (!redirect)
		return redirect.error();
	if (*redirect) {
		auto v = choice_at(ctx, *redirect, "gateway.redirect", {"peer", "plain"},
			"\"peer\" (bpf_redirect_peer) or \"plain\" (bpf_redirect)");
		if (!v)
			return v.error();
		if (*v == "plain")
			gw.steer_flags |= STEER_F_REDIRECT_PLAIN;
	}
	return {};
}

Result<RoutePair> route_at(const Ctx &ctx, const toml::node &node, const std::string &at)
{
	using T = toml::node_type;
	if (!node.is_table())
		return ctx.at(node, at + " must be a table like { local = \"10.1.0.0/24\", remote = "
			"\"10.2.0.0/24\" }, not " + type_name(node));
	const toml::table &t = *node.as_table();
	if (auto s = check_keys(ctx, t, {"local", "remote"}, at); !s)
		return s.error();
	RoutePair pair;
	pair.pos = pos_of(node.source());
	for (bool local : {true, false}) {
		std::string key = local ? "local" : "remote";
		auto n = required(ctx, t, key, at + "." + key, T::string, at,
			local ? "the local subnet, a CIDR" : "the remote subnet, a CIDR");
		if (!n)
			return n.error();
		auto cidr = cidr_at(ctx, *n, at + "." + key);
		if (!cidr)
			return cidr.error();
		(local ? pair.local : pair.remote) = *cidr;
	}
	if (pair.local.address.family != pair.remote.address.family)
		return ctx.at(node, at + " mixes " + pair.local.text + " and " + pair.remote.text +
			"; local and remote must be the same address family");
	return pair;
}

Status gateway_routes(const Ctx &ctx, const toml::table &t, Gateway &gw)
{
	auto node = field(ctx, t, "routes", "gateway.routes", toml::node_type::array, "an array of tables");
	if (!node || !*node)
		return node ? Status{} : Status{node.error()};
	size_t i = 0;
	for (const toml::node &item : *(*node)->as_array()) {
		auto pair = route_at(ctx, item, "gateway.routes[" + std::to_string(i++) + "]");
		if (!pair)
			return pair.error();
		// The gateway link, and so every cleartext route through it, has
		// the family of the public address.
		if (pair->local.address.family != gw.public_address.family)
			return ctx.at(item, "gateway.routes[" + std::to_string(i - 1) + "] " + pair->local.text +
				" is not of the family of public_address " + gw.public_address.text +
				"; the gateway link and its routes follow public_address");
		gw.routes.push_back(*pair);
	}
	return {};
}

Status gateway_firewall(const Ctx &ctx, const toml::table &t, Gateway &gw)
{
	auto node = field(ctx, t, "firewall", "gateway.firewall", toml::node_type::table,
		"a table ([gateway.firewall])");
	if (!node || !*node)
		return node ? Status{} : Status{node.error()};
	const toml::table &fw = *(*node)->as_table();
	if (auto s = check_keys(ctx, fw, {"ipsec_only"}, "[gateway.firewall]"); !s)
		return s;
	GatewayFirewall out;
	out.pos = pos_of(fw.source());
	auto only = field(ctx, fw, "ipsec_only", "gateway.firewall.ipsec_only", toml::node_type::array,
		"an array of strings");
	if (!only)
		return only.error();
	if (*only) {
		auto services = services_at(ctx, *only, "gateway.firewall.ipsec_only");
		if (!services)
			return services.error();
		out.ipsec_only = *services;
	}
	gw.firewall = out;
	return {};
}

Result<Gateway> gateway_at(const Ctx &ctx, const toml::node &node)
{
	const toml::table &t = *node.as_table();
	if (auto s = check_keys(ctx, t, {"name", "public_interface", "public_address", "router_netns",
		"link", "steer", "ike_ports", "egress", "redirect", "routes", "firewall"}, "[[gateway]]"); !s)
		return s.error();
	Gateway gw;
	gw.pos = pos_of(t.source());
	for (auto step : {gateway_identity, gateway_link, gateway_modes, gateway_ports, gateway_routes,
		gateway_firewall}) {
		if (auto s = step(ctx, t, gw); !s)
			return s.error();
	}
	return gw;
}

// ---- checks across gateways ---------------------------------------------

std::string where_ns(const std::string &netns)
{
	return netns.empty() ? "the root namespace" : "router namespace " + quote(netns);
}

std::string route_text(const Gateway &gw, size_t i)
{
	return "gateway " + quote(gw.name) + " routes[" + std::to_string(i) + "] (" + gw.routes[i].local.text +
		" -> " + gw.routes[i].remote.text + ")";
}

// Routes of B that overlap routes of A (A may be B: then only earlier ones).
Status route_overlaps(const Ctx &ctx, const Gateway &a, const Gateway &b)
{
	for (size_t j = 0; j < b.routes.size(); j++) {
		size_t limit = &a == &b ? j : a.routes.size();
		for (size_t i = 0; i < limit; i++) {
			const RoutePair &x = a.routes[i], &y = b.routes[j];
			if (!x.local.overlaps(y.local) || !x.remote.overlaps(y.remote))
				continue;
			return ctx.at(y.pos, route_text(b, j) + " overlaps " + route_text(a, i) + " at line " +
				std::to_string(x.pos.line) + " in " + where_ns(a.router_netns) +
				"; make the local or the remote subnets disjoint");
		}
	}
	return {};
}

// The position of KEY's value in T, or of T when KEY is absent.
SourcePos key_pos(const toml::table &t, std::string_view key)
{
	const toml::node *node = t.get(key);
	return pos_of(node ? node->source() : t.source());
}

// GW (defined by table T) against one earlier gateway OLD.
Status gateway_pair(const Ctx &ctx, const Gateway &old, const Gateway &gw, const toml::table &t)
{
	std::string first = "gateway " + quote(old.name) + " (line " + std::to_string(old.pos.line) + ")";
	if (old.name == gw.name)
		return ctx.at(key_pos(t, "name"), "duplicate gateway name " + quote(gw.name) + ", first used at line " +
			std::to_string(old.pos.line) + "; give each gateway a unique name");
	if (old.router_netns != gw.router_netns)
		return {};
	if (old.public_interface == gw.public_interface && old.public_address == gw.public_address)
		return ctx.at(gw.address_pos, "gateway " + quote(gw.name) + " uses public_address " +
			gw.public_address.text + " on " + gw.public_interface + " in " + where_ns(gw.router_netns) +
			", as does " + first + "; give each gateway its own address");
	if (old.link && gw.link && old.link->overlaps(*gw.link))
		return ctx.at(key_pos(t, "link"), "gateway " + quote(gw.name) + " link " + gw.link->text +
			" overlaps the link " + old.link->text + " of " + first + " in " + where_ns(gw.router_netns) +
			"; choose another subnet or omit link");
	return route_overlaps(ctx, old, gw);
}

Status gateways_cross(const Ctx &ctx, const std::vector<Gateway> &gws,
	const std::vector<const toml::table *> &tables)
{
	for (size_t j = 0; j < gws.size(); j++) {
		if (auto s = route_overlaps(ctx, gws[j], gws[j]); !s)
			return s;
		for (size_t i = 0; i < j; i++)
			if (auto s = gateway_pair(ctx, gws[i], gws[j], *tables[j]); !s)
				return s;
	}
	for (size_t j = 0; j < gws.size(); j++) {
		const std::string &netns = gws[j].router_netns;
		for (const Gateway &other : gws)
			if (!netns.empty() && netns == other.name)
				return ctx.at(key_pos(*tables[j], "router_netns"), "gateway.router_netns " +
					quote(netns) + " is the namespace of gateway " + quote(other.name) + " (line " +
					std::to_string(other.pos.line) + "); use the router's namespace, not a gateway's");
	}
	return {};
}

Status gateways_at(const Ctx &ctx, const toml::table &root, Config &config)
{
	auto node = field(ctx, root, "gateway", "gateway", toml::node_type::array,
		"an array of tables ([[gateway]])");
	if (!node || !*node)
		return node ? Status{} : Status{node.error()};
	std::vector<const toml::table *> tables;
	for (const toml::node &item : *(*node)->as_array()) {
		if (!item.is_table())
			return ctx.at(item, "gateway must be an array of tables ([[gateway]]), not an array of " +
				type_name(item).substr(type_name(item).find(' ') + 1) + "s");
		auto gw = gateway_at(ctx, item);
		if (!gw)
			return gw.error();
		tables.push_back(item.as_table());
		config.gateways.push_back(std::move(*gw));
	}
	return gateways_cross(ctx, config.gateways, tables);
}

// ---- [firewall] -------------------------------------------------------------

Result<Masquerade> masquerade_at(const Ctx &ctx, const toml::node &node, const std::string &at)
{
	using T = toml::node_type;
	if (!node.is_table())
		return ctx.at(node, at + " must be a table like { source = \"172.16.1.0/24\", "
			"not_out_interface = \"docker0\" }, not " + type_name(node));
	const toml::table &t = *node.as_table();
	if (auto s = check_keys(ctx, t, {"source", "not_out_interface", "out_interface"}, at); !s)
		return s.error();
	Masquerade m;
	m.pos = pos_of(t.source());
	auto source = required(ctx, t, "source", at + ".source", T::string, at, "the subnet to masquerade, a CIDR");
	if (!source)
		return source.error();
	auto cidr = cidr_at(ctx, *source, at + ".source");
	if (!cidr)
		return cidr.error();
	m.source = *cidr;
	for (bool negated : {true, false}) {
		std::string key = negated ? "not_out_interface" : "out_interface";
		auto n = field(ctx, t, key, at + "." + key, T::string);
		if (!n)
			return n.error();
		if (!*n)
			continue;
		if (auto s = interface_at(ctx, *n, at + "." + key); !s)
			return s.error();
		(negated ? m.not_out_interface : m.out_interface) = str(*n);
	}
	if (!m.out_interface.empty() && m.out_interface == m.not_out_interface)
		return ctx.at(node, at + " has out_interface and not_out_interface both " + quote(m.out_interface) +
			"; keep only one of them");
	return m;
}

Status masquerades_at(const Ctx &ctx, const toml::table &t, HostFirewall &fw)
{
	auto node = field(ctx, t, "masquerade", "firewall.masquerade", toml::node_type::array,
		"an array of tables");
	if (!node || !*node)
		return node ? Status{} : Status{node.error()};
	size_t i = 0;
	for (const toml::node &item : *(*node)->as_array()) {
		auto m = masquerade_at(ctx, item, "firewall.masquerade[" + std::to_string(i++) + "]");
		if (!m)
			return m.error();
		fw.masquerade.push_back(*m);
	}
	return {};
}

Status firewall_at(const Ctx &ctx, const toml::table &root, Config &config)
{
	using T = toml::node_type;
	auto node = field(ctx, root, "firewall", "firewall", T::table, "a table ([firewall])");
	if (!node || !*node)
		return node ? Status{} : Status{node.error()};
	const toml::table &t = *(*node)->as_table();
	if (auto s = check_keys(ctx, t, {"ipsec_only", "allow", "masquerade"}, "[firewall]"); !s)
		return s;
	HostFirewall fw;
	fw.pos = pos_of(t.source());
	auto only = field(ctx, t, "ipsec_only", "firewall.ipsec_only", T::array, "an array of strings");
	if (!only)
		return only.error();
	if (*only) {
		auto services = services_at(ctx, *only, "firewall.ipsec_only");
		if (!services)
			return services.error();
		fw.ipsec_only = *services;
	}
	auto allow = field(ctx, t, "allow", "firewall.allow", T::array, "an array of strings");
	if (!allow)
		return allow.error();
	if (*allow) {
		auto flags = flags_at(ctx, *allow, "firewall.allow", allow_flag_names, "a protocol to allow");
		if (!flags)
			return flags.error();
		fw.allow = *flags;
	}
	if (auto s = masquerades_at(ctx, t, fw); !s)
		return s;
	config.firewall = std::move(fw);
	return {};
}

// ---- [mesh] -------------------------------------------------------------------

Status mesh_etcd(const Ctx &ctx, const toml::table &t, Mesh &mesh)
{
	auto node = required(ctx, t, "etcd", "mesh.etcd", toml::node_type::array, "[mesh]",
		"etcd v3 endpoints like [\"http://192.0.2.10:2379\"]", "an array of strings");
	if (!node)
		return node.error();
	auto items = string_items(ctx, **node, "mesh.etcd");
	if (!items)
		return items.error();
	if (items->empty())
		return ctx.at(**node, "mesh.etcd is empty; list at least one endpoint like \"http://192.0.2.10:2379\"");
	for (size_t i = 0; i < items->size(); i++) {
		std::string url = str((*items)[i]), at = "mesh.etcd[" + std::to_string(i) + "] " + quote(url);
		if (std::string p = endpoint_problem(url, {"http", "https"}); !p.empty())
			return ctx.at(*(*items)[i], at + " is not an etcd endpoint: " + p + "; write "
				"http://HOST:PORT or https://HOST:PORT");
		if (std::find(mesh.etcd.begin(), mesh.etcd.end(), url) != mesh.etcd.end())
			return ctx.at(*(*items)[i], at + " is listed twice; list each endpoint once");
		mesh.etcd.push_back(url);
	}
	return {};
}

Status mesh_auth(const Ctx &ctx, const toml::table &t, Mesh &mesh)
{
	const std::string forms = "{ psk_file = \"/path\" } or "
		"{ cert = \"/path\", key = \"/path\", ca = \"/path\" }";
	auto node = required(ctx, t, "auth", "mesh.auth", toml::node_type::table, "[mesh]", forms,
		"a table like { psk_file = \"/path\" }");
	if (!node)
		return node.error();
	const toml::table &auth = *(*node)->as_table();
	if (auto s = check_keys(ctx, auth, {"psk_file", "cert", "key", "ca"}, "mesh.auth"); !s)
		return s;
	std::string *out[] = {&mesh.auth.psk_file, &mesh.auth.cert, &mesh.auth.key, &mesh.auth.ca};
	const char *keys[] = {"psk_file", "cert", "key", "ca"};
	const char *like[] = {"/etc/ipsec-steer/mesh.psk", "/etc/ipsec-steer/host.crt",
		"/etc/ipsec-steer/host.key", "/etc/ipsec-steer/ca.crt"};
	for (size_t i = 0; i < 4; i++) {
		auto n = field(ctx, auth, keys[i], std::string("mesh.auth.") + keys[i], toml::node_type::string);
		if (!n)
			return n.error();
		if (!*n)
			continue;
		if (auto s = path_at(ctx, *n, std::string("mesh.auth.") + keys[i], like[i]); !s)
			return s;
		*out[i] = str(*n);
	}
	const MeshAuth &a = mesh.auth;
	bool any_cert = !a.cert.empty() || !a.key.empty() || !a.ca.empty();
	const std::string both = "; use either " + forms;
	if (a.psk_file.empty() && !any_cert)
		return ctx.at(auth, "mesh.auth is empty" + both);
	if (!a.psk_file.empty() && any_cert)
		return ctx.at(auth, "mesh.auth has both psk_file and certificate keys" + both);
	for (size_t i = 1; i < 4 && any_cert; i++)
		if (out[i]->empty())
			return ctx.at(auth, std::string("mesh.auth is missing \"") + keys[i] + "\"; certificate "
				"authentication needs cert, key and ca");
	return {};
}

Status mesh_daemon(const Ctx &ctx, const toml::table &t, Mesh &mesh)
{
	using T = toml::node_type;
	auto daemon = field(ctx, t, "daemon", "mesh.daemon", T::string);
	if (!daemon)
		return daemon.error();
	if (*daemon) {
		auto v = choice_at(ctx, *daemon, "mesh.daemon", {"strongswan", "libreswan"},
			"\"strongswan\" or \"libreswan\"");
		if (!v)
			return v.error();
		mesh.daemon = *v;
	}
	auto uri = field(ctx, t, "swanctl_uri", "mesh.swanctl_uri", T::string);
	if (!uri)
		return uri.error();
	if (*uri && mesh.daemon != "strongswan")
		return ctx.at(**uri, "mesh.swanctl_uri only applies to daemon = \"strongswan\"; remove it");
	if (*uri) {
		std::string v = str(*uri);
		bool unix_ok = v.rfind("unix://", 0) == 0 && is_clean_absolute(v.substr(7));
		if (!unix_ok && !endpoint_problem(v, {"tcp"}).empty())
			return ctx.at(**uri, "mesh.swanctl_uri " + quote(v) + " is not a VICI URI; use unix:///PATH "
				"(like \"unix:///var/run/charon.vici\") or tcp://HOST:PORT");
		mesh.swanctl_uri = v;
	}
	auto dir = field(ctx, t, "conf_dir", "mesh.conf_dir", T::string);
	if (!dir)
		return dir.error();
	mesh.conf_dir = mesh.daemon == "strongswan" ? "/etc/swanctl/conf.d" : "/etc/ipsec.d";
	if (*dir) {
		if (auto s = path_at(ctx, *dir, "mesh.conf_dir", mesh.conf_dir); !s)
			return s;
		mesh.conf_dir = str(*dir);
	}
	return {};
}

Status mesh_at(const Ctx &ctx, const toml::table &root, Config &config)
{
	using T = toml::node_type;
	auto node = field(ctx, root, "mesh", "mesh", T::table, "a table ([mesh])");
	if (!node || !*node)
		return node ? Status{} : Status{node.error()};
	const toml::table &t = *(*node)->as_table();
	if (auto s = check_keys(ctx, t, {"etcd", "prefix", "public_address", "daemon", "auth",
		"swanctl_uri", "conf_dir"}, "[mesh]"); !s)
		return s;
	Mesh mesh;
	mesh.pos = pos_of(t.source());
	if (auto s = mesh_etcd(ctx, t, mesh); !s)
		return s;
	auto prefix = field(ctx, t, "prefix", "mesh.prefix", T::string);
	if (!prefix)
		return prefix.error();
	if (*prefix) {
		mesh.prefix = str(*prefix);
		if (mesh.prefix.empty() || mesh.prefix[0] != '/')
			return ctx.at(**prefix, "mesh.prefix " + quote(mesh.prefix) + " must start with '/', like "
				"\"/coreos.com/network/subnets\"");
	}
	auto address = required(ctx, t, "public_address", "mesh.public_address", T::string, "[mesh]",
		"this host's underlay address");
	if (!address)
		return address.error();
	auto ip = ip_at(ctx, *address, "mesh.public_address");
	if (!ip)
		return ip.error();
	mesh.public_address = *ip;
	for (auto step : {mesh_daemon, mesh_auth})
		if (auto s = step(ctx, t, mesh); !s)
			return s;
	config.mesh = std::move(mesh);
	return {};
}

// ---- the document -------------------------------------------------------------

Status document_at(const Ctx &ctx, const toml::table &root, Config &config)
{
	if (auto s = check_keys(ctx, root, {"bpffs", "gateway", "firewall", "mesh"}, "the top level"); !s)
		return s;
	auto bpffs = field(ctx, root, "bpffs", "bpffs", toml::node_type::string);
	if (!bpffs)
		return bpffs.error();
	if (*bpffs) {
		if (auto s = path_at(ctx, *bpffs, "bpffs", "/sys/fs/bpf/ipsec-steer"); !s)
			return s;
		config.bpffs = str(*bpffs);
	}
	for (auto step : {gateways_at, firewall_at, mesh_at})
		if (auto s = step(ctx, root, config); !s)
			return s;
	return {};
}

} // namespace

Result<Config> parse(std::string_view text, std::string_view path)
{
	Ctx ctx{path};
	Config config;
	config.path = std::string(path);
	if (Scan s = stray_non_ascii(text); s.bad != std::string_view::npos) {
		const char *what = !s.in_string ? "a non-ASCII character outside a string or comment; "
			"TOML allows them only in quoted strings and comments" : "a non-ASCII character right after "
			"a line-ending backslash in a \"\"\" string; remove the backslash (toml++ 3.3 mis-parses it)";
		return ctx.at(offset_pos(text, s.bad), what);
	}
	try {
		toml::table root = toml::parse(text, path);
		if (auto s = document_at(ctx, root, config); !s)
			return s.error();
	} catch (const toml::parse_error &e) {
		return ctx.at(pos_of(e.source()), std::string(e.description()));
	} catch (const std::exception &e) {
		return ctx.at(SourcePos{}, e.what());
	}
	return config;
}

Result<Config> load(const std::string &path)
{
	std::FILE *f = std::fopen(path.c_str(), "rb");
	if (!f)
		return plain_error(path + ": cannot read: " + std::strerror(errno));
	std::string text;
	char buf[65536];
	size_t n;
	while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
		text.append(buf, n);
	int err = std::ferror(f) ? errno : 0;
	std::fclose(f);
	if (err != 0)
		return plain_error(path + ": cannot read: " + std::strerror(err));
	return parse(text, path);
}

} // namespace steer::config
