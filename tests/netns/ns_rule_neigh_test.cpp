// Rules and permanent neighbours inside namespace a:
//
//   istns<pid>-a:  rule from 10.1.0.0/24 to 10.2.0.0/24 lookup 1234 pref 1000 proto 99
//                  x1 (MAC m1) <--veth--> x2;  10.9.0.2 / fd00:9::2 -> MAC m2 PERMANENT on x1
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <algorithm>

#include "neigh.hpp"
#include "ns_fixture.hpp"
#include "rule.hpp"

namespace steer::ns::test {
namespace {

const std::array<uint8_t, 6> m1{0x02, 0, 0, 0, 0, 0x01};
const std::array<uint8_t, 6> m2{0x02, 0, 0, 0, 0, 0x02};
const std::array<uint8_t, 6> m3{0x02, 0, 0, 0, 0, 0x03};

Prefix P(const char *text)
{
	auto p = parse_prefix(text);
	EXPECT_TRUE(p.ok()) << text;
	return p.ok() ? *p : Prefix{};
}

Rule our_rule(int family)
{
	Rule r;
	r.family = family;
	r.src = P(family == AF_INET ? "10.1.0.0/24" : "fd00:1::/64");
	r.dst = P(family == AF_INET ? "10.2.0.0/24" : "fd00:2::/64");
	r.table = 1234;
	r.priority = 1000;
	r.protocol = 99;
	return r;
}

TEST_F(NsTest, RuleEnsureTwiceIsOne)
{
	in(a, [&] {
		for (int family : {AF_INET, AF_INET6}) {
			Rule r = our_rule(family);
			NS_ASSERT_OK(ensure_rule(r));
			NS_ASSERT_OK(ensure_rule(r));
			auto got = list_rules(family, 99);
			NS_ASSERT_OK(got);
			ASSERT_EQ(got->size(), 1u) << family;
			EXPECT_EQ((*got)[0], r);
		}
		auto any = list_rules(AF_INET, 0);  // the kernel's own rules too
		NS_ASSERT_OK(any);
		EXPECT_EQ(any->size(), 4u);  // local, main, default and ours
		EXPECT_TRUE(std::any_of(any->begin(), any->end(), [](const Rule &r) {
			return r.table == RT_TABLE_LOCAL && r.priority == 0 && !r.src && !r.dst;
		}));
		for (int family : {AF_INET, AF_INET6}) {
			NS_ASSERT_OK(delete_rule(our_rule(family)));
			NS_ASSERT_OK(delete_rule(our_rule(family)));  // absent: success
			auto got = list_rules(family, 99);
			NS_ASSERT_OK(got);
			EXPECT_TRUE(got->empty());
		}
	});
}

TEST_F(NsTest, RuleWithoutSelectorsAndOtherTable)
{
	in(a, [&] {
		Rule all;  // "from all lookup 1235 pref 1001"
		all.table = 1235;
		all.priority = 1001;
		all.protocol = 99;
		NS_ASSERT_OK(ensure_rule(all));
		NS_ASSERT_OK(ensure_rule(our_rule(AF_INET)));
		NS_ASSERT_OK(ensure_rule(all));
		auto got = list_rules(AF_INET, 99);
		NS_ASSERT_OK(got);
		EXPECT_EQ(got->size(), 2u);
		EXPECT_EQ(std::count(got->begin(), got->end(), all), 1);
	});
}

TEST_F(NsTest, PermanentNeighbourIsPermanentAndSurvives)
{
	in(a, [&] {
		NS_ASSERT_OK(create_veth("x1", "x2", ""));
		int x1 = ifindex_of("x1");
		NS_ASSERT_OK(set_link_mac(x1, m1));  // MAC first: a change flushes neighbours
		NS_ASSERT_OK(set_link_up(x1, true));
		NS_ASSERT_OK(set_link_up(ifindex_of("x2"), true));
		for (const char *ip : {"10.9.0.2", "fd00:9::2"}) {
			NS_ASSERT_OK(ensure_permanent_neighbour(x1, P(ip), m3));
			NS_ASSERT_OK(ensure_permanent_neighbour(x1, P(ip), m2));  // replaces
			auto n = find_neighbour(x1, P(ip));
			NS_ASSERT_OK(n);
			ASSERT_TRUE(*n) << ip;
			EXPECT_EQ((*n)->state, NUD_PERMANENT) << ip;
			ASSERT_TRUE((*n)->mac);
			EXPECT_EQ(*(*n)->mac, m2);
		}
		// Carrier loss (peer down) keeps permanent entries.
		NS_ASSERT_OK(set_link_up(ifindex_of("x2"), false));
		auto n = find_neighbour(x1, P("10.9.0.2"));
		NS_ASSERT_OK(n);
		ASSERT_TRUE(*n) << "a permanent neighbour must survive carrier loss";
		EXPECT_EQ((*n)->state, NUD_PERMANENT);
		auto none = find_neighbour(x1, P("10.9.0.9"));
		NS_ASSERT_OK(none);
		EXPECT_FALSE(*none);

		NS_ASSERT_OK(delete_neighbour(x1, P("10.9.0.2")));
		NS_ASSERT_OK(delete_neighbour(x1, P("10.9.0.2")));  // absent: success
		n = find_neighbour(x1, P("10.9.0.2"));
		NS_ASSERT_OK(n);
		EXPECT_FALSE(*n);
	});
}

TEST_F(NsTest, MacChangeFlushesPermanentNeighbours)
{
	// The pitfall from NOTES.md that fixes the order "MAC, then neighbour".
	in(a, [&] {
		make_pair_up("x1", "x2");
		int x1 = ifindex_of("x1");
		NS_ASSERT_OK(ensure_permanent_neighbour(x1, P("10.9.0.2"), m2));
		NS_ASSERT_OK(set_link_mac(x1, m3));
		auto n = find_neighbour(x1, P("10.9.0.2"));
		NS_ASSERT_OK(n);
		EXPECT_FALSE(*n) << "kernel kept the neighbour across a MAC change";
	});
}

} // namespace
} // namespace steer::ns::test
