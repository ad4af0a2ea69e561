// Policy routing rules ("from SRC to DST lookup TABLE") of the calling
// thread's network namespace.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "prefix.hpp"
#include "result.hpp"

namespace steer::ns {

struct Rule {
	int family = AF_INET;
	std::optional<Prefix> src, dst;  // nullopt = "all"
	uint32_t table = 0;
	uint32_t priority = 0;
	uint8_t protocol = 0;            // ownership: our own protocol number

	bool operator==(const Rule &) const = default;
};

// Adds the rule unless an identical one (same fields, a plain "lookup" with
// no other selector) exists. EEXIST when the kernel sees a conflicting one.
Status ensure_rule(const Rule &r);

// Deletes one matching rule; a rule that is not there is success.
Status delete_rule(const Rule &r);

// Plain "lookup TABLE" rules of `family` (AF_UNSPEC = both); protocol 0 =
// any. Rules with other selectors or actions (fwmark, iif, goto, ...) are
// left out: they are never ours.
Result<std::vector<Rule>> list_rules(int family, uint8_t protocol = 0);

} // namespace steer::ns
