// Reading and auditing the live nftables ruleset of a namespace, for
// `check` (DESIGN.md §4, USERS.md 1-2): every chain and rule, including the
// ones iptables-nft wrote with its xt `match`/`target` expressions.
//
// Three layers, kept apart so the judgement is testable without a kernel:
//   decode_*        libnftnl objects -> small descriptions (RuleInfo). Pure.
//   audit_*         descriptions -> findings, each with the rule and the fix. Pure.
//   read_ruleset(), probe_features()
//                   the kernel side: dumps over NETLINK_NETFILTER (libmnl) in
//                   the calling thread's namespace. Nothing is ever changed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "loader/config.hpp"
#include "nftnl_ptr.hpp"
#include "result.hpp"

namespace steer::nft {

// A boolean match: `meta ipsec exists` / `missing`, or not matched at all.
enum class Presence : uint8_t { any, exists, missing };

struct PortRange {
	uint16_t lo = 0, hi = 0;
	bool operator==(const PortRange &) const = default;
};

// One condition on the destination port: it must lie in one of the ranges
// (negate: in none of them).
struct PortMatch {
	std::vector<PortRange> ranges;
	bool negate = false;
	bool contains(uint16_t port) const;
};

// iptables `-m policy`: the direction(s) and whether it asks for IPsec
// (`--pol ipsec`) or for its absence (`--pol none`).
struct PolicyMatch {
	bool in = false, out = false, none = false;
};

enum class Verdict : uint8_t { none, accept, drop, jump, go_to, ret, other };
enum class Nat : uint8_t { none, masquerade, snat, other };

// What one rule does, as far as the audits care; `text` is the whole rule
// in nft syntax (best effort: what is not understood is printed by name).
struct RuleInfo {
	uint32_t family = 0;            // NFPROTO_*
	std::string table, chain;
	uint64_t handle = 0;

	uint8_t l4proto = 0;            // the matched transport protocol; 0 = any
	std::vector<PortMatch> dports;  // every one must hold
	Presence meta_ipsec = Presence::any;  // inbound: the packet was decrypted
	Presence rt_ipsec = Presence::any;    // outbound: its route encrypts it
	std::vector<PolicyMatch> policies;
	Verdict verdict = Verdict::none;
	std::string target;             // chain of a jump or goto
	Nat nat = Nat::none;
	std::string saddr;              // "172.16.1.0/24" when the rule matches one
	std::string oifname;            // when the rule matches one
	bool oifname_negate = false;
	bool xt = false;                // carries xt expressions: written by iptables-nft
	std::string text;

	// Whether the rule names this destination port positively (a rule
	// with no port condition, or only `!=` ones, names none).
	bool names_dport(uint8_t proto, uint16_t port) const;
	// `meta ipsec exists` or `-m policy --pol ipsec --dir in`.
	bool requires_ipsec_in() const;
	// `rt ipsec missing` or `-m policy --pol none --dir out`.
	bool exempts_ipsec_out() const;
	// "table ip nat chain POSTROUTING handle 2"
	std::string where() const;
};

// The port sets of one table (set name -> ranges), for decoding lookups
// such as `udp dport { 500, 8472 }` (an anonymous set) or `@name`.
using PortSets = std::map<std::string, std::vector<PortRange>>;

struct ChainInfo {
	uint32_t family = 0;
	std::string table, name;
	bool base = false;      // hooked; the rest are reached by jump/goto only
	std::string type;       // filter, nat, route
	uint32_t hook = 0;      // NF_INET_* (base chains)
	int32_t priority = 0;
};

struct LiveRuleset {
	std::vector<ChainInfo> chains;
	std::vector<RuleInfo> rules;    // in chain order, as the kernel dumps them
};

// --- decoding (pure) -----------------------------------------------------

// r is only read (libnftnl's expression iterator wants a non-const pointer).
RuleInfo decode_rule(const nftnl_rule *r, const PortSets &sets = {});
ChainInfo decode_chain(const nftnl_chain *c);
// The port ranges of a set holding 2-byte keys and its elements, plain or
// interval (start keys and interval-end markers, or key + key end).
std::vector<PortRange> decode_port_set(nftnl_set *s);

// --- audits (pure) -------------------------------------------------------

struct Finding {
	std::string problem;    // what is wrong
	std::string rule;       // where() + ": " + the rule's text ("" for none)
	std::string fix;
};

// NAT rules (masquerade, snat, iptables' MASQUERADE/SNAT) reachable from a
// postrouting nat chain of any family without an outbound exemption on
// the rule or on the jumps leading to it: they rewrite IPsec-bound packets
// too, so those no longer match the IPsec policy (the seed's docker rule).
std::vector<Finding> audit_nat(const LiveRuleset &rs);

// Rules reachable from a prerouting/input/forward filter chain that accept
// one of `services` (named by port on the rule or on the jumps leading to
// it) without requiring IPsec. Our own table `inet ipsec_steer` is skipped.
std::vector<Finding> audit_ipsec_only(const LiveRuleset &rs,
	const std::vector<config::Service> &services);

struct Features {
	bool meta_ipsec = false;    // `meta ipsec` (secpath)
	bool rt_ipsec = false;      // `rt ipsec` (xfrm bundle)
};

std::vector<Finding> audit_features(const Features &f);

// --- the kernel (calling thread's namespace) -----------------------------

// Every chain and rule of every family, read consistently (retried when
// the ruleset generation changes under the dump).
[[nodiscard]] Result<LiveRuleset> read_ruleset();

// Asks the kernel to load `meta ipsec exists` and `rt ipsec missing` rules
// in a uniquely named table, in a batch that ends with a message bound to
// fail: nf_tables then aborts the whole batch, so nothing is committed,
// no event is sent and the generation does not move. EOPNOTSUPP on a rule
// means its expression is unsupported.
[[nodiscard]] Result<Features> probe_features();

} // namespace steer::nft
