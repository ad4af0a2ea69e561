// `stats` text table: rows only for classes that counted, one row for a
// gateway that counted nothing, rates over the given interval, rates of a
// counter that went backwards (maps replaced) shown as 0.
#include <gtest/gtest.h>

#include "stats_table.hpp"

namespace steer {
namespace {

GatewayCounters gateway(const std::string &name, uint64_t esp_in, uint64_t esp_out)
{
	GatewayCounters g;
	g.name = name;
	g.in[STEER_CLASS_ESP] = {esp_in, esp_in * 100};
	g.out[STEER_CLASS_ESP] = {esp_out, esp_out * 100};
	return g;
}

std::vector<std::string> lines(const std::string &s)
{
	std::vector<std::string> out;
	size_t at = 0;
	for (size_t nl; (nl = s.find('\n', at)) != std::string::npos; at = nl + 1)
		out.push_back(s.substr(at, nl - at));
	return out;
}

TEST(StatsTable, OnlyClassesThatCountedAndOneRowForAQuietGateway)
{
	auto t = lines(format_stats_table({gateway("vpn-a", 5, 7), gateway("vpn-b", 0, 0)}, nullptr, 0));
	ASSERT_EQ(t.size(), 3u);
	EXPECT_EQ(t[0].rfind("GATEWAY      CLASS", 0), 0u) << t[0];
	EXPECT_EQ(t[0].find("PPS"), std::string::npos) << "no rates without a previous sample";
	EXPECT_EQ(t[1], "vpn-a        esp                        5            500            7            700");
	EXPECT_EQ(t[2], "vpn-b        -                          0              0            0              0");
	EXPECT_EQ(t[0].size(), t[1].size()) << "header and rows aligned";
}

TEST(StatsTable, RatesOverTheMeasuredInterval)
{
	std::vector<GatewayCounters> before = {gateway("vpn-a", 1000, 0)};
	auto t = lines(format_stats_table({gateway("vpn-a", 3000, 0)}, &before, 2.0));
	ASSERT_EQ(t.size(), 2u);
	// 2000 packets in 2 s: 1000 pps; 200,000 bytes in 2 s: 800 kbit/s.
	EXPECT_NE(t[1].find(" 1.00k      800k         0         0"), std::string::npos) << t[1];
	EXPECT_EQ(t[0].size(), t[1].size());
}

TEST(StatsTable, CountersThatWentBackwardsHaveNoRate)
{
	std::vector<GatewayCounters> before = {gateway("vpn-a", 5000, 0)};
	auto t = lines(format_stats_table({gateway("vpn-a", 10, 0)}, &before, 1.0));
	ASSERT_EQ(t.size(), 2u);
	EXPECT_NE(t[1].find("        0         0         0         0"), std::string::npos) << t[1];
}

TEST(StatsTable, HumanRates)
{
	EXPECT_EQ(human_rate(0), "0");
	EXPECT_EQ(human_rate(950), "950");
	EXPECT_EQ(human_rate(12345), "12.3k");
	EXPECT_EQ(human_rate(4.56e6), "4.56M");
	EXPECT_EQ(human_rate(789e9), "789G");
	EXPECT_EQ(human_rate(999.7), "1.00k");
}

} // namespace
} // namespace steer
