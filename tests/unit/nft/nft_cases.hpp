// The rulesets both nft test tiers check against the golden files in
// tests/netns/nft/golden/ (NAME.nft): the unit tier compares to_text() with
// the file, the netns tier compares the kernel's listing of what our
// transport loaded with the listing of what `nft -f NAME.nft` loaded.
#pragma once

#include <string>
#include <vector>

#include "model.hpp"

namespace steer::nft::test {

struct Case {
	std::string name;   // golden file NAME.nft
	std::string about;
	Ruleset ruleset;
};

// Every config option of [firewall] and [gateway.firewall], the seed's
// flannel example, and a ruleset using every expression and set kind with
// elements. Fails the calling test (ADD_FAILURE) if a config does not parse.
std::vector<Case> golden_cases();

// The config file text a case was planned from ("" for hand-built ones).
std::string case_config(const std::string &name);

// Reads a whole file; "" if it cannot.
std::string read_file(const std::string &path);

} // namespace steer::nft::test
