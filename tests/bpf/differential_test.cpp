// Differential test: steer_ingress (BPF_PROG_RUN) and the C++ reference
// classifier written from the RFCs (tests/lib/ref_classifier) judge the
// same seeded stream of valid, near-miss, mutated and random frames and
// must agree on every one: verdict, class, gateway, target, redirect kind,
// and in the end every counter.
//
// STEER_DIFF_SEED and STEER_DIFF_FRAMES override the seed (default: fixed)
// and the number of frames (default 1,000,000). A failure prints the seed,
// the frame's index, its recipe and its bytes.
#include <net/if.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "frame_gen.hpp"
#include "harness.hpp"
#include "ref_classifier.hpp"

namespace steer::test {
namespace {

uint64_t env_or(const char *name, uint64_t fallback)
{
	const char *v = std::getenv(name);
	return v ? std::strtoull(v, nullptr, 0) : fallback;
}

std::string hex(const Bytes &b)
{
	std::ostringstream out;
	char buf[4];
	for (uint8_t c : b) {
		std::snprintf(buf, sizeof(buf), "%02x", c);
		out << buf;
	}
	return out.str();
}

std::string describe(const steer_decision &d, int verdict)
{
	std::ostringstream out;
	out << "verdict " << verdict << " class " << class_name(d.class_id) << " gw " << d.gateway_id
	    << " target " << d.target_ifindex << " peer " << d.redirect_peer;
	return out.str();
}

bool same(const ProgDecision &p, const RefDecision &r)
{
	return p.verdict == r.verdict && p.recorded.class_id == r.class_id &&
	       p.recorded.gateway_id == r.gateway_id && p.recorded.target_ifindex == r.target_ifindex &&
	       p.recorded.redirect_peer == r.redirect_peer;
}

GatewaySet test_gateways()
{
	std::array<uint32_t, 4> idx{};
	for (int i = 0; i < 4; i++)
		idx[i] = if_nametoindex(("t" + std::to_string(i) + "a").c_str());
	return GatewaySet::realistic(idx);
}

TEST(Differential, BpfAgreesWithReferenceOnEveryFrame)
{
	STEER_REQUIRE_ROOT();
	const uint64_t seed = env_or("STEER_DIFF_SEED", 0x15ec5eed);
	const uint64_t frames = env_or("STEER_DIFF_FRAMES", 1000000);
	GatewaySet gateways = test_gateways();
	std::string why;
	auto h = ProgHarness::create(gateways.max_gateway_id() + 1, why);
	ASSERT_TRUE(h) << why;
	for (const auto &e : gateways.entries())
		ASSERT_TRUE(put_gateway(h->object().gateways_fd(), h->object().ports_fd(), e.key(), e.value).ok());
	RefClassifier ref;
	gateways.load_into(ref);
	ref.set_stats_entries(gateways.stats_entries());
	FrameGen gen(gateways, {.seed = seed});
	uint64_t mismatches = 0, refused = 0;
	for (uint64_t i = 0; i < frames && mismatches < 10; i++) {
		// Both frags tables restart together, far below the LRU's size,
		// so LRU eviction never makes the two differ.
		if (i % 4096 == 0) {
			h->clear_frags();
			ref.clear_frags();
		}
		GeneratedFrame f = gen.next();
		auto got = h->try_run(f.bytes, f.ifindex);
		if (!got) {
			ASSERT_LT(f.bytes.size(), 54u) << "BPF_PROG_RUN refused a frame: " << hex(f.bytes);
			refused++;
			continue;
		}
		RefDecision want = ref.classify(f.bytes, f.ifindex);
		if (!same(*got, want)) {
			mismatches++;
			ADD_FAILURE() << "seed " << seed << " frame " << i << " (" << origin_name(f.origin)
				      << " " << f.recipe << ", ifindex " << f.ifindex << ")\n  bpf: "
				      << describe(got->recorded, got->verdict) << "\n  ref: verdict "
				      << want.verdict << " class " << class_name(want.class_id) << " gw "
				      << want.gateway_id << " target " << want.target_ifindex << " peer "
				      << want.redirect_peer << "\n  frame: " << hex(f.bytes);
		}
	}
	std::printf("differential: seed %#llx, %llu frames, %llu refused by BPF_PROG_RUN (short)\n",
		    static_cast<unsigned long long>(seed), static_cast<unsigned long long>(frames),
		    static_cast<unsigned long long>(refused));
	ASSERT_EQ(mismatches, 0u) << "re-run with STEER_DIFF_SEED=" << seed;
	for (uint32_t gw = 0; gw <= gateways.max_gateway_id(); gw++) {
		auto have = read_counters(h->object().stats_fd(), gw);
		ASSERT_TRUE(have);
		for (uint32_t c = 0; c < STEER_CLASS_MAX; c++) {
			steer_counter want = ref.counter(gw, c);
			EXPECT_EQ((*have)[c].packets, want.packets) << "gw " << gw << " " << class_name(c);
			EXPECT_EQ((*have)[c].bytes, want.bytes) << "gw " << gw << " " << class_name(c);
		}
	}
}

} // namespace
} // namespace steer::test

int main(int argc, char **argv)
{
	return steer::test::run_bpf_tests(argc, argv, 4);
}
