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

// The mesh sets (filled by `ipsec-steer mesh`). One lookup in a set costs
// the same for 1 or 100,000 peers, where one rule per peer would not.
namespace set_names {
inline constexpr const char *peers_v4 = "peers_v4";             // peer underlay addresses
inline constexpr const char *peers_v6 = "peers_v6";
inline constexpr const char *subnets_v4 = "subnets_v4";         // peers' leased subnets
inline constexpr const char *subnets_v6 = "subnets_v6";
inline constexpr const char *peer_subnets_v4 = "peer_subnets_v4"; // peer . subnet
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

// One element of an interval set: one prefix per key field. A host is a
// full-length prefix (host_prefix()).
struct Element {
	std::vector<config::Cidr> fields;
};

// Always `flags interval`, so elements may be prefixes.
struct Set {
	std::string name;
	std::vector<KeyType> key;
	std::vector<Element> elements;
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
};
struct InSet {          // ip saddr . ip daddr @peer_subnets_v4
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

// The mesh sets, empty, in their fixed order.
std::vector<Set> mesh_sets();

// --- elements ------------------------------------------------------------

// a/32 or a/128.
config::Cidr host_prefix(const config::IpAddress &a);
// Appends an element; each field's family must match the set's key.
[[nodiscard]] Status add_element(Set &set, std::vector<config::Cidr> fields);
// Into peers_v4/peers_v6, subnets_v4/_v6, peer_subnets_v4/_v6 by family.
// A peer and its subnet must share a family (the pair sets are v4.v4, v6.v6).
[[nodiscard]] Status add_peer(Ruleset &rs, const config::IpAddress &peer);
[[nodiscard]] Status add_subnet(Ruleset &rs, const config::Cidr &subnet);
[[nodiscard]] Status add_peer_subnet(Ruleset &rs, const config::IpAddress &peer,
	const config::Cidr &subnet);

// --- checks and text -----------------------------------------------------

// Everything the builder relies on: unique names, rules naming existing
// chains and sets with matching key types, element fields matching keys,
// interface names that fit IFNAMSIZ. Overlapping elements are left to the
// kernel, which names the element (see transport.hpp).
[[nodiscard]] Status validate(const Ruleset &rs);

// nft syntax, as `nft list` prints it (counters without their values).
std::string to_text(const Expr &e);
std::string to_text(const Rule &r);
std::string to_text(const Element &e);
// The whole table as an `nft -f` file; the golden files are this text.
std::string to_text(const Ruleset &rs);

std::string_view to_string(Hook h);
std::string_view to_string(ChainType t);
std::string_view to_string(KeyType t);

} // namespace steer::nft
