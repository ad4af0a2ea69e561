// The config reference, ipsec-steer.toml(5), against the parser's own
// schema: for each table the parser is asked for its allowed keys (the
// "allowed keys: ..." of its unknown-key error), and each must be a `.B`
// entry of that table's section of the man page, and each entry of the
// section a key the parser allows. Neither can drift from the other.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "loader/config.hpp"

namespace steer::config {
namespace {

// The keys the parser allows where `doc` puts the unknown key zz_unknown.
std::set<std::string> allowed_keys(const std::string &doc)
{
	auto r = parse(doc, "schema.toml");
	EXPECT_FALSE(r) << "zz_unknown was accepted in:\n" << doc;
	if (r)
		return {};
	std::string msg = r.error().message();
	size_t at = msg.find("allowed keys: ");
	EXPECT_NE(at, std::string::npos) << msg;
	std::set<std::string> keys;
	std::istringstream in(msg.substr(at + 14));
	for (std::string k; std::getline(in, k, ',');)
		keys.insert(k.substr(k.find_first_not_of(' ')));
	return keys;
}

// The `.B key` entries right after `.TP` in the section `.SH <title>`.
std::set<std::string> man_keys(const std::string &title)
{
	std::ifstream f(STEER_MAN_TOML);
	std::string line, prev;
	bool in = false;
	std::set<std::string> keys;
	while (std::getline(f, line)) {
		if (line.rfind(".SH ", 0) == 0)
			in = line == ".SH " + title;
		else if (in && prev == ".TP" && line.rfind(".B ", 0) == 0)
			keys.insert(line.substr(3));
		prev = line;
	}
	return keys;
}

const std::string gateway = "[[gateway]]\nname = \"a\"\npublic_interface = \"lo\"\npublic_address = \"127.0.0.1\"\n";

TEST(ManSchema, EveryTableOfTheParserIsDocumentedKeyForKey)
{
	const std::vector<std::pair<std::string, std::string>> tables = {
		{"TOP LEVEL", "zz_unknown = 1\n"},
		{"[[gateway]]", "[[gateway]]\nzz_unknown = 1\n"},
		{"[gateway.firewall]", gateway + "[gateway.firewall]\nzz_unknown = 1\n"},
		{"[firewall]", "[firewall]\nzz_unknown = 1\n"},
		{"[mesh]", "[mesh]\nzz_unknown = 1\n"},
	};
	for (const auto &[title, doc] : tables) {
		SCOPED_TRACE(title);
		std::set<std::string> parser = allowed_keys(doc), man = man_keys(title);
		// Tables nested in the top level are sections of their own.
		if (title == "TOP LEVEL")
			for (const char *t : {"gateway", "firewall", "mesh"})
				parser.erase(t);
		if (title == "[[gateway]]")
			parser.erase("firewall");
		EXPECT_FALSE(parser.empty());
		EXPECT_EQ(man, parser) << "ipsec-steer.toml(5) section " << title << " vs the parser";
	}
}

} // namespace
} // namespace steer::config
