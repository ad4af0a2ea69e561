#include "rule.hpp"

#include <linux/fib_rules.h>

#include <algorithm>

#include "nl_session.hpp"

namespace steer::ns {

namespace {

std::string describe(const Rule &r)
{
	return "from " + (r.src ? format_prefix(*r.src) : std::string("all")) +
	       (r.dst ? " to " + format_prefix(*r.dst) : std::string()) + " lookup " +
	       std::to_string(r.table) + " pref " + std::to_string(r.priority);
}

bool set_selector(rtnl_rule *rule, const std::optional<Prefix> &p,
		  int (*set)(rtnl_rule *, nl_addr *))
{
	if (!p)
		return true;
	NlAddrPtr a(to_nl_addr(*p));
	return a && set(rule, a.get()) >= 0;  // the rule takes its own reference
}

Result<RulePtr> make_rule(const Rule &r)
{
	RulePtr rule(rtnl_rule_alloc());
	if (!rule)
		return sys_error(ENOMEM, "allocate rule", describe(r));
	rtnl_rule_set_family(rule.get(), r.family);
	rtnl_rule_set_table(rule.get(), r.table);
	rtnl_rule_set_prio(rule.get(), r.priority);
	rtnl_rule_set_action(rule.get(), FR_ACT_TO_TBL);
	if (r.protocol)
		rtnl_rule_set_protocol(rule.get(), r.protocol);
	if (!set_selector(rule.get(), r.src, rtnl_rule_set_src) ||
	    !set_selector(rule.get(), r.dst, rtnl_rule_set_dst))
		return sys_error(EINVAL, "set rule selector", describe(r));
	return rule;
}

// A rule we could have made: "lookup" and no selector Rule cannot express.
bool is_plain(rtnl_rule *rule)
{
	uint8_t ipproto = 0;
	uint16_t start = 0, end = 0;
	return rtnl_rule_get_action(rule) == FR_ACT_TO_TBL && !rtnl_rule_get_iif(rule) &&
	       !rtnl_rule_get_oif(rule) && rtnl_rule_get_mark(rule) == 0 &&
	       rtnl_rule_get_dsfield(rule) == 0 && rtnl_rule_get_l3mdev(rule) <= 0 &&
	       rtnl_rule_get_ipproto(rule, &ipproto) < 0 &&
	       rtnl_rule_get_sport(rule, &start, &end) < 0 &&
	       rtnl_rule_get_dport(rule, &start, &end) < 0;
}

Rule to_rule(rtnl_rule *rule)
{
	Rule r;
	r.family = rtnl_rule_get_family(rule);
	r.table = rtnl_rule_get_table(rule);
	r.priority = rtnl_rule_get_prio(rule);
	uint8_t proto = 0;
	if (rtnl_rule_get_protocol(rule, &proto) == 0)
		r.protocol = proto;
	if (nl_addr *a = rtnl_rule_get_src(rule))
		r.src = from_nl_addr(a, r.family);
	if (nl_addr *a = rtnl_rule_get_dst(rule))
		r.dst = from_nl_addr(a, r.family);
	return r;
}

} // namespace

Status ensure_rule(const Rule &r)
{
	auto have = list_rules(r.family, r.protocol);
	if (!have)
		return have.error();
	if (std::find(have->begin(), have->end(), r) != have->end())
		return {};
	auto nl = NlSession::open();
	if (!nl)
		return nl.error();
	auto rule = make_rule(r);
	if (!rule)
		return rule.error();
	// NLM_F_EXCL: without it the kernel happily adds a duplicate.
	return nl->run("add rule", describe(r), [&](nl_sock *sk) {
		return rtnl_rule_add(sk, rule->get(), NLM_F_EXCL);
	});
}

Status delete_rule(const Rule &r)
{
	auto nl = NlSession::open();
	if (!nl)
		return nl.error();
	auto rule = make_rule(r);
	if (!rule)
		return rule.error();
	Status st = nl->run("delete rule", describe(r), [&](nl_sock *sk) {
		return rtnl_rule_delete(sk, rule->get(), 0);
	});
	if (!st && (st.error().err == ENOENT || st.error().err == ESRCH))
		return {};
	return st;
}

Result<std::vector<Rule>> list_rules(int family, uint8_t protocol)
{
	auto nl = NlSession::open();
	if (!nl)
		return nl.error();
	nl_cache *raw = nullptr;
	Status st = nl->run("list rules", {}, [&](nl_sock *sk) {
		return rtnl_rule_alloc_cache(sk, family, &raw);
	});
	NlCachePtr cache(raw);
	if (!st)
		return st.error();
	std::vector<Rule> out;
	for (nl_object *o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
		auto *rule = reinterpret_cast<rtnl_rule *>(o);
		Rule r = to_rule(rule);
		// The dump holds every family (IPMR ones too) whatever we ask for.
		bool family_ok = family == AF_UNSPEC ? (r.family == AF_INET || r.family == AF_INET6)
						     : r.family == family;
		if (family_ok && is_plain(rule) && (!protocol || r.protocol == protocol))
			out.push_back(r);
	}
	return out;
}

} // namespace steer::ns
