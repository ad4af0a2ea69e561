// Hitless upgrade: while the peer streams at least 1,000,000 ESP frames at
// P, `up` runs 100 times, alternating two builds whose programs differ, so
// every run replaces both programs in place. Not one frame may be lost or
// left to the router, and the pinned maps (counters included) must live
// through every upgrade.
//
//   peer ns                    router ns (router_netns)                 gateway ns g<pid>
//   wan0 203.0.113.2/24 ------ pub 203.0.113.1/24 (P)
//   [EspStream: AF_PACKET      [tc ingress: ist_ingress, replaced by
//    sendmmsg, ESP -> P]        every `up` of the other build]
//                              [nft netdev ingress after tc: ESP to P
//                               counted = not steered]
//                              ist-g<pid> 169.254.x.1/30 -------------- eth0 MAC of pub, P/32
//                              [tc ingress: ist_return]                 [EspTap: AF_PACKET count]
//                                                                       [nft netdev ingress:
//                                                                        ESP to P counted, dropped]
#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <set>
#include <thread>

#include "upgrade_lab.hpp"

namespace steer::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr uint64_t min_frames = 1'000'000;
constexpr int upgrades = 100;

// Everything the stream crossed, read once before and once after.
struct PathDrops {
	uint64_t softnet = 0; // every CPU, every namespace: reported, not asserted
	uint64_t links = 0;   // our four veth ends
};

class HitlessUpgrade : public UpgradeLab {
protected:
	PathDrops path_drops() const
	{
		return {softnet_dropped(), link_dropped(peer, "wan0") + link_dropped(router, "pub") +
						   link_dropped(router, "ist-" + gw) + link_dropped(gw, "eth0")};
	}

	// One `up` of `binary`: both programs replaced by that build's (its
	// tags, learned on its first run), every map kept, counters not reset.
	::testing::AssertionResult upgrade_once(const char *binary, std::string &tags)
	{
		Attached before = attached();
		uint64_t esp_before = counters()[STEER_CLASS_ESP].packets;
		auto t0 = Clock::now();
		UpRun r = run_up(binary);
		up_seconds.push_back(seconds_since(t0));
		if (r.exit_code != 0)
			return ::testing::AssertionFailure() << binary << " up: exit " << r.exit_code << "\n" << r.output;
		Attached after = attached();
		ids_seen.push_back(after);
		if (after.ingress_id == before.ingress_id || after.return_id == before.return_id)
			return ::testing::AssertionFailure()
			       << "not replaced: ingress " << before.ingress_id << " -> " << after.ingress_id
			       << ", return " << before.return_id << " -> " << after.return_id;
		std::string now = prog_tag(after.ingress_id) + "/" + prog_tag(after.return_id);
		if (tags.empty())
			tags = now;
		if (now != tags)
			return ::testing::AssertionFailure() << binary << " attached tags " << now << ", before " << tags;
		if (pinned_map_ids() != maps_before)
			return ::testing::AssertionFailure() << "a pinned map was replaced by " << binary;
		uint64_t esp_after = counters()[STEER_CLASS_ESP].packets;
		if (esp_after < esp_before)
			return ::testing::AssertionFailure() << "esp counter went back: " << esp_before << " -> " << esp_after;
		return ::testing::AssertionSuccess();
	}

	void report(uint64_t sent, uint64_t refused, double stream_s, double upgrades_s) const
	{
		std::vector<double> t = up_seconds;
		std::sort(t.begin(), t.end());
		std::set<uint32_t> ingress, ret;
		for (const auto &a : ids_seen)
			ingress.insert(a.ingress_id), ret.insert(a.return_id);
		std::printf("hitless upgrade: %llu ESP frames sent (%llu send calls refused, retried) in %.2f s "
			    "(%.0f frames/s); %d upgrades in %.2f s, up median %.0f ms, max %.0f ms; "
			    "%zu ingress program ids (%u..%u), %zu return program ids (%u..%u)\n",
			    static_cast<unsigned long long>(sent), static_cast<unsigned long long>(refused), stream_s,
			    sent / stream_s, upgrades, upgrades_s, 1000 * t[t.size() / 2], 1000 * t.back(),
			    ingress.size(), *ingress.begin(), *ingress.rbegin(), ret.size(), *ret.begin(),
			    *ret.rbegin());
	}

	std::map<std::string, uint32_t> maps_before;
	std::vector<Attached> ids_seen;
	std::vector<double> up_seconds;
};

TEST_F(HitlessUpgrade, HundredUpgradesUnderAMillionEspFramesLoseNothing)
{
	write_config();
	UpRun first = run_up(STEER_BINARY);
	ASSERT_EQ(first.exit_code, 0) << first.output;
	ASSERT_EQ(gateway_id(), 1u);
	auto rig = rig_stream();
	ASSERT_TRUE(rig.ok()) << rig.error().message();
	EspStream &stream = *rig->stream;
	maps_before = pinned_map_ids();
	ClassCounters c0 = counters();
	PathDrops drops0 = path_drops();
	std::string tags_main = prog_tag(attached().ingress_id) + "/" + prog_tag(attached().return_id);
	std::string tags_variant;

	auto stream_start = Clock::now();
	stream.start();
	ASSERT_TRUE(wait_for([&] { return stream.sent() >= 10'000; }, 10s)) << stream.failure();
	auto upgrades_start = Clock::now();
	for (int i = 0; i < upgrades; i++) {
		bool variant = i % 2 == 0;
		ASSERT_TRUE(upgrade_once(variant ? STEER_VARIANT_BINARY : STEER_BINARY,
					 variant ? tags_variant : tags_main))
			<< "upgrade " << i + 1 << " of " << upgrades;
	}
	double upgrades_s = seconds_since(upgrades_start);
	ASSERT_TRUE(wait_for([&] { return stream.sent() >= min_frames; }, 120s)) << stream.failure();
	auto outcome = stop_stream(*rig);
	double stream_s = seconds_since(stream_start);
	ASSERT_TRUE(outcome.ok()) << outcome.error().message();

	EXPECT_EQ(stream.failure(), "");
	EXPECT_NE(tags_main, tags_variant) << "the two builds must differ, or nothing was upgraded";
	expect_every_frame_steered(*outcome);
	ClassCounters c = counters();
	uint64_t esp = c[STEER_CLASS_ESP].packets - c0[STEER_CLASS_ESP].packets;
	EXPECT_EQ(esp, outcome->sent) << "per-CPU stats, esp: counted across every upgrade";
	EXPECT_EQ(c[STEER_CLASS_ESP].bytes - c0[STEER_CLASS_ESP].bytes, outcome->sent * rig->frame_size);
	for (uint32_t cls : {STEER_CLASS_PASSED, STEER_CLASS_TARGET_MISSING, STEER_CLASS_MALFORMED})
		EXPECT_EQ(c[cls].packets, 0u) << class_name(cls);
	PathDrops drops = path_drops();
	EXPECT_EQ(drops.links, drops0.links) << "veth drops on the path (backlog full)";
	std::printf("hitless upgrade: received %llu (AF_PACKET) %llu (nft), stats esp %llu, not steered %llu, "
		    "backlog drops during the run (softnet_stat, all namespaces) %llu\n",
		    static_cast<unsigned long long>(outcome->tapped), static_cast<unsigned long long>(outcome->arrived),
		    static_cast<unsigned long long>(esp), static_cast<unsigned long long>(outcome->not_steered),
		    static_cast<unsigned long long>(drops.softnet - drops0.softnet));
	report(outcome->sent, stream.refused(), stream_s, upgrades_s);
}

} // namespace
} // namespace steer::test
