// Addresses and routes inside namespace a, on a veth pair x1/x2:
//
//   istns<pid>-a:  x1 10.9.0.1/24 fd00:9::1/64 <--veth--> x2 (up, no address)
//   routes in table 1234, protocol 99: 10.20.0.0/24 via 10.9.0.2 src 10.9.0.1,
//   fd00:20::/64 via fd00:9::2, default via 10.9.0.2, 10.30.0.0/24 dev x1
#include <linux/if_addr.h>

#include <algorithm>

#include "addr.hpp"
#include "ns_fixture.hpp"
#include "route.hpp"

namespace steer::ns::test {
namespace {

constexpr uint32_t table = 1234;
constexpr uint8_t proto = 99;

Prefix P(const char *text)
{
	auto p = parse_prefix(text);
	EXPECT_TRUE(p.ok()) << text;
	return p.ok() ? *p : Prefix{};
}

size_t count_of(const std::vector<Prefix> &list, const Prefix &p)
{
	return static_cast<size_t>(std::count(list.begin(), list.end(), p));
}

TEST_F(NsTest, AddressesEnsureTwiceThenList)
{
	in(a, [&] {
		make_pair_up("x1", "x2");
		int x1 = ifindex_of("x1");
		for (int round = 0; round < 2; round++) {
			NS_ASSERT_OK(ensure_address(x1, P("10.9.0.1/24")));
			NS_ASSERT_OK(ensure_address(x1, P("fd00:9::1/64"), IFA_F_NODAD));
		}
		auto list = list_addresses(x1);
		NS_ASSERT_OK(list);
		EXPECT_EQ(count_of(*list, P("10.9.0.1/24")), 1u);
		EXPECT_EQ(count_of(*list, P("fd00:9::1/64")), 1u);

		NS_ASSERT_OK(delete_address(x1, P("10.9.0.1/24")));
		NS_ASSERT_OK(delete_address(x1, P("10.9.0.1/24")));  // absent: success
		NS_ASSERT_OK(delete_address(x1, P("fd00:9::1/64")));
		list = list_addresses(x1);
		NS_ASSERT_OK(list);
		EXPECT_EQ(count_of(*list, P("10.9.0.1/24")), 0u);
		EXPECT_EQ(count_of(*list, P("fd00:9::1/64")), 0u);
		NS_EXPECT_OK(delete_address(9999, P("10.9.0.1/24")));  // no such link: success
	});
}

// x1 up with 10.9.0.1/24 and fd00:9::1/64 (no DAD), so gateways resolve.
void addressed_pair()
{
	make_pair_up("x1", "x2");
	int x1 = ifindex_of("x1");
	NS_ASSERT_OK(ensure_address(x1, P("10.9.0.1/24")));
	NS_ASSERT_OK(ensure_address(x1, P("fd00:9::1/64"), IFA_F_NODAD));
}

Route gateway_route(int oif)
{
	Route r;
	r.family = AF_INET;
	r.dst = P("10.20.0.0/24");
	r.gateway = P("10.9.0.2");
	r.oif = oif;
	r.table = table;
	r.protocol = proto;
	r.prefsrc = P("10.9.0.1");
	return r;
}

TEST_F(NsTest, RouteEnsureTwiceIsOneThenReplaceAndDelete)
{
	in(a, [&] {
		addressed_pair();
		int x1 = ifindex_of("x1");
		Route r = gateway_route(x1);
		NS_ASSERT_OK(ensure_route(r));
		NS_ASSERT_OK(ensure_route(r));
		auto got = list_routes(AF_INET, table, proto);
		NS_ASSERT_OK(got);
		ASSERT_EQ(got->size(), 1u);
		EXPECT_EQ((*got)[0], r);

		Route moved = r;  // same dst and table: replaced in place
		moved.gateway = P("10.9.0.3");
		NS_ASSERT_OK(ensure_route(moved));
		got = list_routes(AF_INET, table, proto);
		NS_ASSERT_OK(got);
		ASSERT_EQ(got->size(), 1u);
		EXPECT_EQ((*got)[0].gateway, moved.gateway);

		NS_ASSERT_OK(delete_route(moved));
		NS_ASSERT_OK(delete_route(moved));  // absent: success
		got = list_routes(AF_INET, table, 0);
		NS_ASSERT_OK(got);
		EXPECT_TRUE(got->empty());
	});
}

TEST_F(NsTest, RouteListFiltersByProtocolAndTable)
{
	in(a, [&] {
		addressed_pair();
		int x1 = ifindex_of("x1");
		Route ours = gateway_route(x1);
		Route link = ours;  // a device route of another protocol, same table
		link.dst = P("10.30.0.0/24");
		link.gateway.reset();
		link.prefsrc.reset();
		link.protocol = RTPROT_STATIC;
		link.scope = RT_SCOPE_LINK;
		Route dflt = ours;  // default route
		dflt.dst = P("0.0.0.0/0");
		dflt.prefsrc.reset();
		for (const Route *r : {&ours, &link, &dflt})
			NS_ASSERT_OK(ensure_route(*r));

		auto mine = list_routes(AF_INET, table, proto);
		NS_ASSERT_OK(mine);
		EXPECT_EQ(mine->size(), 2u);  // ours and the default
		auto all = list_routes(AF_INET, table, 0);
		NS_ASSERT_OK(all);
		EXPECT_EQ(all->size(), 3u);
		EXPECT_EQ(std::count(all->begin(), all->end(), link), 1);
		EXPECT_EQ(std::count(all->begin(), all->end(), dflt), 1);
		auto main_mine = list_routes(AF_INET, RT_TABLE_MAIN, proto);
		NS_ASSERT_OK(main_mine);
		EXPECT_TRUE(main_mine->empty());
		auto everywhere = list_routes(AF_UNSPEC, 0, 0);  // includes local/main
		NS_ASSERT_OK(everywhere);
		EXPECT_GT(everywhere->size(), all->size());

		for (const Route *r : {&ours, &link, &dflt})
			NS_ASSERT_OK(delete_route(*r));
		all = list_routes(AF_INET, table, 0);
		NS_ASSERT_OK(all);
		EXPECT_TRUE(all->empty());
	});
}

TEST_F(NsTest, Ipv6RouteEnsureTwiceIsOne)
{
	in(a, [&] {
		addressed_pair();
		Route r;
		r.family = AF_INET6;
		r.dst = P("fd00:20::/64");
		r.gateway = P("fd00:9::2");
		r.oif = ifindex_of("x1");
		r.table = table;
		r.protocol = proto;
		NS_ASSERT_OK(ensure_route(r));
		NS_ASSERT_OK(ensure_route(r));
		auto got = list_routes(AF_INET6, table, proto);
		NS_ASSERT_OK(got);
		ASSERT_EQ(got->size(), 1u);
		Route expect = r;
		expect.metric = 1024;  // the kernel's default IPv6 metric
		EXPECT_EQ((*got)[0], expect);
		NS_ASSERT_OK(delete_route(r));
		NS_ASSERT_OK(delete_route(r));
		got = list_routes(AF_INET6, table, proto);
		NS_ASSERT_OK(got);
		EXPECT_TRUE(got->empty());
	});
}

TEST_F(NsTest, RouteErrorCarriesKernelMessage)
{
	in(a, [&] {
		addressed_pair();
		Route r = gateway_route(ifindex_of("x1"));
		r.dst = P("10.20.0.1/24");  // host bits set: the kernel refuses
		Status st = ensure_route(r);
		ASSERT_FALSE(st.ok());
		EXPECT_EQ(st.error().err, EINVAL);
		EXPECT_NE(st.error().message().find("add route"), std::string::npos);
		EXPECT_NE(st.error().message().find("10.20.0.1/24"), std::string::npos);
		EXPECT_NE(st.error().message().find("kernel:"), std::string::npos) << st.error().message();
	});
}

} // namespace
} // namespace steer::ns::test
