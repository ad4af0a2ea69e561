// BPF_PROG_RUN: the per-CPU gateway cache of steer_ingress
// (bpf/lib/gateway_cache.h) never answers with a gateway the map no longer
// holds. Every change made through put_gateway(), delete_gateways() and
// bump_generation() is seen by the very next frame on a CPU whose cache
// holds the old entry; gateways sharing a cache slot keep their own
// targets. The process is pinned to one CPU, so consecutive runs share a
// cache (otherwise a run on a cold CPU would pass these tests trivially);
// AWriteWithoutTheGenerationIsNotSeen proves the cache answers.
//
//   private netns:  t0a  public interface (ctx.ifindex of every frame)
//                   t1a, t2a  targets (router ends of gateway veths)
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>

#include <string>

#include "harness.hpp"
#include "packet_builder.hpp"

namespace steer::test {
namespace {

constexpr uint32_t kFlags = STEER_F_ESP | STEER_F_IKE | STEER_F_NATT;

steer_gw_key key_of(const char *address)
{
	steer_gw_key k{};
	k.ifindex = if_nametoindex("t0a");
	IpAddress a = ip_addr(address);
	k.family = a.family;
	k.address = to_steer_addr(a);
	return k;
}

Bytes esp_to(const std::string &address)
{
	bool v4 = address.find(':') == std::string::npos;
	PacketBuilder b;
	b.eth();
	if (v4)
		b.ipv4("192.0.2.9", address);
	else
		b.ipv6("2001:db8:ff::9", address);
	return b.esp(0x1234, 1, 64).build();
}

class GatewayCache : public ::testing::Test {
protected:
	void SetUp() override
	{
		STEER_REQUIRE_ROOT();
		std::string why;
		harness = ProgHarness::create(512, why);
		ASSERT_TRUE(harness) << why;
		t1 = if_nametoindex("t1a");
		t2 = if_nametoindex("t2a");
	}
	Status put(const char *address, uint32_t target, uint32_t id, uint32_t flags = kFlags)
	{
		auto &o = harness->object();
		return put_gateway(o.gateways_fd(), o.ports_fd(), key_of(address), {target, flags, 500, 4500, id});
	}
	ProgDecision esp(const std::string &address)
	{
		return harness->run(esp_to(address), if_nametoindex("t0a"));
	}
	std::unique_ptr<ProgHarness> harness;
	uint32_t t1 = 0, t2 = 0;
};

TEST_F(GatewayCache, AChangedGatewayIsSeenByTheNextFrame)
{
	for (const char *address : {"198.51.100.1", "2001:db8:100::1"}) {
		SCOPED_TRACE(address);
		ASSERT_TRUE(put(address, t1, 3).ok());
		EXPECT_EQ(esp(address).recorded.target_ifindex, t1);
		EXPECT_EQ(esp(address).recorded.target_ifindex, t1) << "a hit answers the same";
		ASSERT_TRUE(put(address, t2, 4).ok());
		ProgDecision d = esp(address);
		EXPECT_EQ(d.verdict, TC_ACT_REDIRECT);
		EXPECT_EQ(d.recorded.target_ifindex, t2);
		EXPECT_EQ(d.recorded.gateway_id, 4u);
		ASSERT_TRUE(put(address, t2, 4, STEER_F_IKE).ok());
		d = esp(address);
		EXPECT_EQ(d.verdict, TC_ACT_UNSPEC) << "ESP no longer steered";
		EXPECT_EQ(d.recorded.class_id, static_cast<uint32_t>(STEER_CLASS_PASSED));
	}
}

TEST_F(GatewayCache, ADeletedGatewayIsNotSteeredByTheNextFrame)
{
	ASSERT_TRUE(put("198.51.100.1", t1, 3).ok());
	ASSERT_EQ(esp("198.51.100.1").verdict, TC_ACT_REDIRECT);
	auto &o = harness->object();
	ASSERT_TRUE(delete_gateways(o.gateways_fd(), o.ports_fd(), {key_of("198.51.100.1")}).ok());
	ProgDecision d = esp("198.51.100.1");
	EXPECT_EQ(d.verdict, TC_ACT_UNSPEC);
	EXPECT_EQ(d.recorded.class_id, static_cast<uint32_t>(STEER_CLASS_MAX)) << "no gateway: not ours";
}

// 300 gateways on 64 slots per CPU: most share a slot with others, and
// interleaved frames evict each other's entries all the time.
TEST_F(GatewayCache, GatewaysSharingASlotKeepTheirOwnTargets)
{
	std::vector<std::string> addresses;
	for (int i = 0; i < 150; i++) {
		addresses.push_back("198.51.100." + std::to_string(i + 1));
		addresses.push_back("2001:db8:100::" + std::to_string(i + 1));
	}
	for (size_t i = 0; i < addresses.size(); i++)
		ASSERT_TRUE(put(addresses[i].c_str(), i % 2 ? t2 : t1, static_cast<uint32_t>(i + 1)).ok());
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < addresses.size(); i++) {
			size_t j = round == 1 ? addresses.size() - 1 - i : (i * 7) % addresses.size();
			ProgDecision d = esp(addresses[j]);
			ASSERT_EQ(d.recorded.target_ifindex, j % 2 ? t2 : t1) << addresses[j] << " round " << round;
			ASSERT_EQ(d.recorded.gateway_id, j + 1) << addresses[j] << " round " << round;
		}
}

// Why every writer goes through put_gateway(), delete_gateways() or
// bump_generation(): a bare map update is not seen while the cache holds
// the entry. Loaded without the cache, the same update is seen at once.
TEST_F(GatewayCache, AWriteWithoutTheGenerationIsNotSeen)
{
	ASSERT_TRUE(put("198.51.100.1", t1, 3).ok());
	ASSERT_EQ(esp("198.51.100.1").recorded.target_ifindex, t1);
	auto &o = harness->object();
	steer_gw_key k = key_of("198.51.100.1");
	steer_gw_value v{t2, kFlags, 500, 4500, 3};
	ASSERT_EQ(bpf_map_update_elem(o.gateways_fd(), &k, &v, BPF_EXIST), 0);
	EXPECT_EQ(esp("198.51.100.1").recorded.target_ifindex, t1) << "the cache answered";
	ASSERT_TRUE(bump_generation(o.ports_fd()).ok());
	EXPECT_EQ(esp("198.51.100.1").recorded.target_ifindex, t2);

	std::string why;
	auto uncached = ProgHarness::create(512, why, /*gateway_cache=*/false);
	ASSERT_TRUE(uncached) << why;
	auto &u = uncached->object();
	ASSERT_TRUE(put_gateway(u.gateways_fd(), u.ports_fd(), k, {t1, kFlags, 500, 4500, 3}).ok());
	ASSERT_EQ(uncached->run(esp_to("198.51.100.1"), k.ifindex).recorded.target_ifindex, t1);
	v.target_ifindex = t2;
	ASSERT_EQ(bpf_map_update_elem(u.gateways_fd(), &k, &v, BPF_EXIST), 0);
	EXPECT_EQ(uncached->run(esp_to("198.51.100.1"), k.ifindex).recorded.target_ifindex, t2);
}

} // namespace
} // namespace steer::test

int main(int argc, char **argv)
{
	return steer::test::run_bpf_tests(argc, argv, 3, /*one_cpu=*/true);
}
