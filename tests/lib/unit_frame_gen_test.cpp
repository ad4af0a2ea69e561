// The frame generator and gateway table: reproducible, within the length
// limits, and covering every class of the reference classifier.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "frame_gen.hpp"

namespace steer::test {
namespace {

TEST(GatewaySet, RealisticTable)
{
	GatewaySet set = GatewaySet::realistic({12, 13, 14, 15});
	EXPECT_GE(set.entries().size(), 8u);
	EXPECT_EQ(set.public_ifindexes(), (std::vector<uint32_t>{12, 13, 14}));
	EXPECT_EQ(set.spare_ifindex(), 15u);
	bool v4 = false, v6 = false, plain = false, no_target = false, other_ports = false;
	std::set<uint32_t> ids;
	for (const GatewayEntry &e : set.entries()) {
		v4 |= e.family() == STEER_FAMILY_IPV4;
		v6 |= e.family() == STEER_FAMILY_IPV6;
		plain |= (e.value.flags & STEER_F_REDIRECT_PLAIN) != 0;
		no_target |= e.value.target_ifindex == 0;
		other_ports |= e.value.ike_port != 500 || e.value.natt_port != 4500;
		EXPECT_TRUE(ids.insert(e.value.gateway_id).second) << "ids are unique";
		EXPECT_NE(e.value.gateway_id, 0u);
		EXPECT_EQ(e.key().ifindex, e.ifindex);
	}
	EXPECT_TRUE(v4 && v6 && plain && no_target && other_ports);
	EXPECT_EQ(set.stats_entries(), (set.max_gateway_id() + 1ull) * STEER_CLASS_MAX);

	RefClassifier ref;
	set.load_into(ref);
	EXPECT_EQ(ref.ports_bitmap(), set.ports_bitmap());
	EXPECT_EQ(GatewaySet::realistic({12, 13, 14, 15}, false).entries().size(), set.entries().size() - 1);
}

TEST(FrameGen, SameSeedSameFrames)
{
	GatewaySet set = GatewaySet::realistic();
	FrameGen a(set, {.seed = 42});
	FrameGen b(set, {.seed = 42});
	FrameGen c(set, {.seed = 43});
	bool differs = false;
	for (int i = 0; i < 2000; i++) {
		GeneratedFrame fa = a.next(), fb = b.next(), fc = c.next();
		ASSERT_EQ(fa.bytes, fb.bytes) << i;
		ASSERT_EQ(fa.ifindex, fb.ifindex);
		ASSERT_EQ(fa.recipe, fb.recipe);
		differs |= fa.bytes != fc.bytes;
	}
	EXPECT_TRUE(differs);
}

TEST(FrameGen, LengthLimits)
{
	GatewaySet set = GatewaySet::realistic();
	for (size_t min_len : {size_t{14}, size_t{60}}) {
		FrameGen gen(set, {.seed = 7, .min_len = min_len, .max_len = 1000});
		for (int i = 0; i < 20000; i++) {
			GeneratedFrame f = gen.next();
			ASSERT_GE(f.bytes.size(), min_len) << f.recipe;
			ASSERT_LE(f.bytes.size(), 1000u) << f.recipe;
		}
	}
}

TEST(FrameGen, Truncations)
{
	Bytes frame(20, 1);
	std::vector<Bytes> cuts = FrameGen::truncations(frame, 14);
	ASSERT_EQ(cuts.size(), 6u);
	EXPECT_EQ(cuts.front().size(), 14u);
	EXPECT_EQ(cuts.back().size(), 19u);
}

// Every class, every verdict and every origin show up in a modest run, and
// the reference never reads outside the valid bytes (it would throw).
TEST(FrameGen, CoversEveryClassOfTheReference)
{
	GatewaySet set = GatewaySet::realistic();
	RefClassifier ref;
	set.load_into(ref);
	FrameGen gen(set, {.seed = 1});
	std::map<uint32_t, int> classes;
	std::map<int, int> verdicts;
	std::map<FrameOrigin, int> origins;
	int peer = 0, plain = 0, followed = 0;
	for (int i = 0; i < 100000; i++) {
		GeneratedFrame f = gen.next();
		RefDecision d = ref.classify(f.bytes, f.ifindex);
		classes[d.class_id]++;
		verdicts[d.verdict]++;
		origins[f.origin]++;
		if (d.verdict == kTcActRedirect)
			(d.redirect_peer ? peer : plain)++;
		if (d.class_id == STEER_CLASS_FRAGMENT && f.recipe.find("non-first") != std::string::npos)
			followed++;
	}
	for (uint32_t c = 0; c <= STEER_CLASS_MAX; c++)
		EXPECT_GT(classes[c], 0) << class_name(c);
	EXPECT_GT(verdicts[kTcActUnspec], 0);
	EXPECT_GT(verdicts[kTcActShot], 0);
	EXPECT_GT(verdicts[kTcActRedirect], 0);
	EXPECT_EQ(origins.size(), 4u);
	EXPECT_GT(peer, 0);
	EXPECT_GT(plain, 0);
	EXPECT_GT(followed, 100) << "later fragments follow their first";
	EXPECT_LT(ref.frag_count(), 4096u) << "far below the program's LRU size";
	for (const auto &[c, n] : classes)
		std::printf("  %-16s %6d\n", class_name(c), n);
}

} // namespace
} // namespace steer::test
