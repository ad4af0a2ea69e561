// Encodes a model Rule's expressions as nf_tables bytecode, the way nft
// 1.0.6 encodes the same statements, so `nft list` prints our rules exactly
// as it prints rules loaded from the equivalent `nft -f` text. Internal to
// nft/; build.cpp is its one caller.
#pragma once

extern "C" {
#include <libnftnl/rule.h>
}

#include "model.hpp"

namespace steer::nft {

// Appends the bytecode of r to `rule`. The ruleset gives set ids for
// lookups (a set's id is its index in rs.sets plus one, as build_replace
// numbers them). r must have passed validate().
void add_rule_expressions(nftnl_rule *rule, const Ruleset &rs, const Rule &r);

} // namespace steer::nft
