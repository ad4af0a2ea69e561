// The nftables ruleset of ipsec-steer as plain data (DESIGN.md §3, §4), and
// the pure plans that derive it from the config: the nft form of the
// flannel seed's iptables `-m policy` rules. Nothing here touches the
// kernel; build.hpp turns a Ruleset into one netlink batch.
//
// The table is always `inet ipsec_steer`, carrying the comment
// "ipsec-steer" (the ownership record, DESIGN.md §4). Every base chain has
// policy accept: the table drops only what `ipsec_only` names.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "loader/config.hpp"
#include "result.hpp"

namespace steer::nft {

inline constexpr const char *table_name = "ipsec_steer";
inline constexpr const char *table_comment = "ipsec-steer";

// The mesh sets (filled by `ipsec-steer mesh`, DESIGN.md §3). All are hash
// sets of exact keys: one lookup costs the same for 1 or 100,000 peers, and
// so does adding or removing one element. peers_v4/_v6 hold addresses and
// are made by `up`. A subnet cannot be a hash key, so subnets and peer .
// subnet pairs go in one set per prefix length, named by it
// (subnets_v4_24, peer_subnets_v6_64), holding network addresses; a lookup
// masks the packet's address to that length (`ip daddr & 255.255.255.0
// @subnets_v4_24`). The names below without a length are those groups:
// what `ipsec-steer mesh` addresses and build_set_update() expands into
// the sets of each length, making them as lengths appear.
namespace set_names {
inline constexpr const char *peers_v4 = "peers_v4";             // peer underlay addresses
inline constexpr const char *peers_v6 = "peers_v6";
inline constexpr const char *subnets_v4 = "subnets_v4";         // peers' leased subnets (groups)
inline constexpr const char *subnets_v6 = "subnets_v6";
inline constexpr const char *peer_subnets_v4 = "peer_subnets_v4"; // peer . subnet (groups)
inline constexpr const char *peer_subnets_v6 = "peer_subnets_v6";
} // namespace set_names

enum class Hook : uint8_t { prerouting, input, forward, output, postrouting };
enum class ChainType : uint8_t { filter, nat };

inline constexpr int32_t priority_filter = 0;
inline constexpr int32_t priority_srcnat = 100;

// A base chain. Its policy is always accept (DESIGN.md §4).
struct Chain {
	std::string name;
	ChainType type = ChainType::filter;
	Hook hook = Hook::input;
	int32_t priority = priority_filter;
};

// nft datatypes of set keys; a Set with several is a concatenation.
enum class KeyType : uint8_t { ipv4_addr, ipv6_addr };

// One element: one prefix per key field. A host is a full-length prefix
// (host_prefix()); in a hash set each field's prefix is the set's.
struct Element {
	std::vector<config::Cidr> fields;
};

// A hash set of exact keys (nft's default) unless `interval`. `prefix`
// gives, per key field, the length its elements are masked to (a hash
// set then holds network addresses, as nft lists them); empty, or the
// full length, is an exact address. Interval sets (`flags interval`,
// elements may be any prefixes) are no longer planned by ipsec-steer:
// the bench builds one to compare with the design it replaced.
struct Set {
	std::string name;
	std::vector<KeyType> key;
	std::vector<Element> elements;
	std::vector<int> prefix;   // per key field, or empty
	bool interval = false;

	int field_prefix(size_t i) const;   // prefix[i], or the field's full length
};

enum class Addr : uint8_t { saddr, daddr };

// The expressions a rule is made of, each one nft statement.
namespace expr {
struct L4proto {        // meta l4proto esp
	uint8_t proto = 0;
};
struct Port {           // udp dport 8472 (sport when dport is false)
	uint8_t proto = 0;  // IPPROTO_UDP or IPPROTO_TCP
	uint16_t port = 0;
	bool dport = true;
};
struct Ipsec {          // inbound `meta ipsec exists`, outbound `rt ipsec missing`
	bool outbound = false;
	bool exists = true;
};
struct Address {        // ip saddr 172.16.1.0/24
	Addr addr = Addr::saddr;
	config::Cidr cidr;
};
struct SetField {
	KeyType type = KeyType::ipv4_addr;
	Addr addr = Addr::saddr;
	int prefix = -1;    // masked to this length (`& 255.255.255.0`); -1: the whole address
};
struct InSet {          // ip saddr . ip daddr & 255.255.255.0 @peer_subnets_v4_24
	std::vector<SetField> fields;
	std::string set;
};
struct Oifname {        // oifname != "docker0"
	std::string name;
	bool negate = false;
};
struct Counter {};
struct Verdict {
	enum Kind : uint8_t { accept, drop } kind = accept;
};
struct Masquerade {};
} // namespace expr

using Expr = std::variant<expr::L4proto, expr::Port, expr::Ipsec, expr::Address, expr::InSet,
	expr::Oifname, expr::Counter, expr::Verdict, expr::Masquerade>;

struct Rule {
	std::string chain;
	std::vector<Expr> exprs;
};

struct Ruleset {
	std::string table = table_name;
	std::string comment = table_comment;
	std::vector<Set> sets;      // created in this order, before the chains
	std::vector<Chain> chains;  // listed in this order
	std::vector<Rule> rules;    // appended in this order

	Set *find_set(std::string_view name);
	const Set *find_set(std::string_view name) const;
	const Chain *find_chain(std::string_view name) const;
};

// --- plans ---------------------------------------------------------------

// [firewall] (root namespace, host mesh): input and forward accept what
// `allow` names (IKE and NAT-T on the given ports, ESP, AH), then each
// ipsec_only service is accepted when IPsec-protected and dropped (and
// counted) otherwise; output drops an ipsec_only service leaving without
// IPsec protection; postrouting masquerades each entry but never
// IPsec-bound packets. Includes the (empty) mesh sets.
Ruleset plan_host_firewall(const config::HostFirewall &fw, uint16_t ike_port, uint16_t natt_port);

// [gateway.firewall] (inside the gateway namespace): the same filter chains
// with `allow` (the loader may pass the gateway's steer flags; the default
// allows all four), no NAT and no mesh sets.
Ruleset plan_gateway_firewall(const config::GatewayFirewall &fw, uint16_t ike_port,
	uint16_t natt_port, uint32_t allow = config::default_allow_flags);

// The mesh sets as `ipsec-steer mesh` addresses them, empty, in their
// fixed order: peers_v4/_v6, then the groups subnets_v4/_v6 and
// peer_subnets_v4/_v6 (key only; their sets are per prefix length).
std::vector<Set> mesh_sets();
// The sets `up` makes: peers_v4 and peers_v6.
std::vector<Set> host_sets();
// Whether `name` is one of the four per-prefix-length groups.
bool is_prefix_group(std::string_view name);
// The set of `group` for prefix length `prefix` ("subnets_v4_24"), empty
// and keyed as the group, its last field masked to `prefix`.
Set prefix_set(std::string_view group, int prefix);
// The set an element of `set` goes into: for a group, that of the
// element's last field's prefix length; otherwise `set` itself.
std::string element_set(std::string_view set, const Element &e);

// --- elements ------------------------------------------------------------

// a/32 or a/128.
config::Cidr host_prefix(const config::IpAddress &a);
// Appends an element; each field's family must match the set's key and,
// in a hash set, its prefix length the set's.
[[nodiscard]] Status add_element(Set &set, std::vector<config::Cidr> fields);
// Into peers_v4/peers_v6, subnets_v4_L/_v6_L, peer_subnets_v4_L/_v6_L by
// family and prefix length L; a set of a new length is appended to rs.
// A peer and its subnet must share a family (the pair sets are v4.v4, v6.v6).
[[nodiscard]] Status add_peer(Ruleset &rs, const config::IpAddress &peer);
[[nodiscard]] Status add_subnet(Ruleset &rs, const config::Cidr &subnet);
[[nodiscard]] Status add_peer_subnet(Ruleset &rs, const config::IpAddress &peer,
	const config::Cidr &subnet);

// --- checks and text -----------------------------------------------------

// Everything the builder relies on: unique names, rules naming existing
// chains and sets with matching key types, element fields matching keys,
// interface names that fit IFNAMSIZ, lookups masked as their set's fields.
// Overlapping or duplicate elements are left to the kernel, which names
// the element (see transport.hpp).
[[nodiscard]] Status validate(const Ruleset &rs);

// nft syntax, as `nft list` prints it (counters without their values).
std::string to_text(const Expr &e);
std::string to_text(const Rule &r);
std::string to_text(const Element &e);   // prefixes: "192.0.2.1 . 10.5.2.0/24"
// The whole table as an `nft -f` file; the golden files are this text.
std::string to_text(const Ruleset &rs);

std::string_view to_string(Hook h);
std::string_view to_string(ChainType t);
std::string_view to_string(KeyType t);

} // namespace steer::nft
