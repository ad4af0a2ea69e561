// BPF_PROG_RUN harness: steer_ingress loaded with record_decisions on, in
// a private network namespace of the test process (root namespace never
// touched), frames run one at a time with a chosen ingress ifindex.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bpf_steer.hpp"

namespace steer::test {

struct ProgDecision {
	int verdict = 0;       // the program's return value (TC_ACT_*)
	steer_decision recorded{};
};

class ProgHarness {
public:
	// Loads the object; returns nullptr with a reason when it cannot.
	static std::unique_ptr<ProgHarness> create(uint32_t stats_gateways, std::string &why,
						   bool gateway_cache = true);

	ProgDecision run(std::span<const uint8_t> frame, uint32_t ifindex);
	// nullopt with errno set when BPF_PROG_RUN refuses the frame (it
	// refuses some frames too short for their ethertype).
	std::optional<ProgDecision> try_run(std::span<const uint8_t> frame, uint32_t ifindex);
	SteerObject &object() { return *obj_; }
	void clear_frags();
	void clear_stats();

private:
	explicit ProgHarness(std::unique_ptr<SteerObject> obj) : obj_(std::move(obj)) {}
	std::unique_ptr<SteerObject> obj_;
	uint32_t stats_entries_ = 0;
};

// CI=true: a missing capability fails a test instead of skipping it.
bool ci_mode();

// Moves the whole test process into a fresh network namespace (call from
// main before any thread exists) and creates `veths` veth pairs there, so
// ifindexes 2.. exist for ctx.ifindex. Returns false with a reason.
bool enter_private_netns(int veths, std::string &why);

// main() of a BPF_PROG_RUN test binary: gtest's flags, then (as root) a
// private netns with `veths` veth pairs, then every test. one_cpu: the
// process stays on the CPU it started on, so every run shares one CPU's
// per-CPU maps (the gateway cache).
int run_bpf_tests(int argc, char **argv, int veths, bool one_cpu = false);

} // namespace steer::test

// Skips the test (or fails it when CI=true) unless running as root.
#define STEER_REQUIRE_ROOT()                                                                       \
	do {                                                                                       \
		if (::geteuid() != 0) {                                                            \
			if (::steer::test::ci_mode())                                              \
				FAIL() << "needs root, and CI=true forbids skipping";              \
			GTEST_SKIP() << "needs root: BPF programs and network namespaces";         \
		}                                                                                  \
	} while (0)
