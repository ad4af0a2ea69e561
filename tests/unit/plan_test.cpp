// The gateway plan: deterministic link subnets, tables and ids.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "plan.hpp"

namespace steer {
namespace {

config::Config parse_ok(const std::string &text)
{
	auto cfg = config::parse(text, "t.toml");
	EXPECT_TRUE(cfg.ok()) << (cfg ? "" : cfg.error().what);
	return cfg ? *cfg : config::Config{};
}

const char *two_gateways = R"(
[[gateway]]
name = "vpn-a"
public_interface = "eth0"
public_address = "198.51.100.1"
[[gateway]]
name = "vpn-b"
public_interface = "eth0"
public_address = "198.51.100.2"
)";

TEST(Plan, SameConfigSamePlan)
{
	auto a = parse_ok(two_gateways), b = parse_ok(two_gateways);
	auto pa = plan_gateways(a), pb = plan_gateways(b);
	ASSERT_EQ(pa.size(), 2u);
	for (size_t i = 0; i < pa.size(); i++) {
		EXPECT_EQ(pa[i].link.subnet.text, pb[i].link.subnet.text);
		EXPECT_EQ(pa[i].table, pb[i].table);
	}
	EXPECT_EQ(pa[0].router_link, "ist-vpn-a");
	EXPECT_EQ(pa[0].alias, "ipsec-steer:vpn-a");
	EXPECT_NE(pa[0].link.subnet.text, pa[1].link.subnet.text);
	EXPECT_NE(pa[0].table, pa[1].table);
}

TEST(Plan, LinkIsAThirtyInLinkLocal)
{
	LinkPlan l = allocate_link("vpn-a", AF_INET, {});
	EXPECT_EQ(l.subnet.prefix, 30);
	EXPECT_EQ(l.subnet.address.bytes[0], 169);
	EXPECT_EQ(l.subnet.address.bytes[1], 254);
	EXPECT_EQ(l.router_end.bytes[3], l.subnet.address.bytes[3] + 1);
	EXPECT_EQ(l.gateway_end.bytes[3], l.subnet.address.bytes[3] + 2);
	LinkPlan v6 = allocate_link("vpn-a", AF_INET6, {});
	EXPECT_EQ(v6.subnet.prefix, 127);
	EXPECT_EQ(v6.gateway_end.bytes[15], v6.router_end.bytes[15] + 1);
}

TEST(Plan, CollisionsProbeToTheNextFreeSubnet)
{
	LinkPlan first = allocate_link("vpn-a", AF_INET, {});
	LinkPlan second = allocate_link("vpn-a", AF_INET, {first.subnet});
	EXPECT_NE(first.subnet.text, second.subnet.text);
	EXPECT_FALSE(first.subnet.overlaps(second.subnet));
	uint32_t t = allocate_table("vpn-a", {});
	EXPECT_EQ(allocate_table("vpn-a", {t}), t + 1 == table_base + table_slots ? table_base : t + 1);
}

TEST(Plan, ConfiguredLinkIsUsedAndAvoided)
{
	auto cfg = parse_ok(std::string(two_gateways) + "link = \"169.254.7.0/30\"\n");
	auto plans = plan_gateways(cfg);
	EXPECT_EQ(plans[1].link.subnet.text, "169.254.7.0/30");
	EXPECT_EQ(plans[1].link.router_end.text, "169.254.7.1");
	EXPECT_EQ(plans[1].link.gateway_end.text, "169.254.7.2");
	EXPECT_FALSE(plans[0].link.subnet.overlaps(plans[1].link.subnet));
}

TEST(Plan, GatewayIdsStayAndNewOnesTakeTheLowestFree)
{
	auto ids = assign_gateway_ids({"a", "b", "c"}, {{"b", 1}, {"c", 5}});
	EXPECT_EQ(ids["b"], 1u);
	EXPECT_EQ(ids["c"], 5u);
	EXPECT_EQ(ids["a"], 2u);
	auto fresh = assign_gateway_ids({"x", "y"}, {});
	EXPECT_EQ(fresh["x"], 1u);
	EXPECT_EQ(fresh["y"], 2u);
}

} // namespace
} // namespace steer
