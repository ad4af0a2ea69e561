# Entry points (run as root on Debian 12): `make demo`, `make test`.
BUILD ?= build
JOBS ?= $(shell nproc)
CTEST_LABELS ?= unit|bpf|netns|vm

.PHONY: all deps build test test-quick demo bench clean install deb

all: build

deps:
	tools/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

# Every tier: first the sanitizer build (unit + netns under ASan/UBSan) and
# the bounded fuzz runs, then unit, bpf, netns and vm of the normal build;
# ctest's summary line of those comes last ("100% tests passed, ...").
# `make test-quick` is the last step alone.
test: test-asan fuzz-short test-quick

test-quick: build
	cd $(BUILD) && ctest --output-on-failure -L '$(CTEST_LABELS)' -j 1

demo: build
	tools/demo/demo.sh $(BUILD)

# Every benchmark of issue 7 (datapath, non-IPsec, scale, return path,
# control plane, lifecycle), variants interleaved over shuffled rounds;
# results in bench/results/latest.{json,md} and PNGs (bench/README.md).
bench: build
	bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD)

# The binary, its BPF object, man pages, bash completion, an example
# config and the systemd units, under /usr (DESTDIR= for a staging root).
install: build
	cmake --install $(BUILD) --prefix /usr

# ipsec-steer_<version>_<arch>.deb in $(BUILD), with CPack.
deb: build
	cd $(BUILD) && cpack -G DEB

# --- Sanitizers and fuzzing (issue 6 items 6 and 7) -----------------------
# ASan+UBSan build of all user-space code in build-asan/, unit and netns
# tiers (netns needs root). The BPF object is compiled as usual.
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_CXX ?= clang++-14
FUZZ_CC ?= clang-14
# Seconds each fuzzer runs in `make fuzz` (ctest -L fuzz uses 20 s each).
FUZZ_SECONDS ?= 60
# Frames of the BPF differential test in `make fuzz` (make test uses 1,000,000).
DIFF_FRAMES ?= 10000000

.PHONY: test-asan fuzz fuzz-build fuzz-short

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTEER_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		ctest -L 'unit|netns' --output-on-failure -j 1

# libFuzzer needs clang: a separate configure in build-fuzz/ that builds only
# the fuzz targets (tests/fuzz/) with -fsanitize=fuzzer,address,undefined.
fuzz-build: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTEER_FUZZ=ON \
		-DCMAKE_CXX_COMPILER=$(FUZZ_CXX) -DCMAKE_C_COMPILER=$(FUZZ_CC)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_config fuzz_ref_classifier

# 20 s per fuzzer (ctest label fuzz), part of `make test`.
fuzz-short: fuzz-build
	cd $(FUZZ_BUILD) && ctest -L fuzz --output-on-failure -j 1

# Each fuzzer for FUZZ_SECONDS; crashes land in $(FUZZ_BUILD)/tests/fuzz/artifacts/.
fuzz: fuzz-build build
	tests/fuzz/run_fuzzer.sh $(FUZZ_BUILD)/tests/fuzz/fuzz_config $(FUZZ_SECONDS) $(CURDIR)/tests/unit/data
	tests/fuzz/run_fuzzer.sh $(FUZZ_BUILD)/tests/fuzz/fuzz_ref_classifier $(FUZZ_SECONDS) \
		$(FUZZ_BUILD)/tests/fuzz/seeds/ref_classifier
	# The nightly-size differential run: 10,000,000 frames (root; a few minutes).
	STEER_DIFF_FRAMES=$(DIFF_FRAMES) $(BUILD)/tests/bpf/bpf_differential_test

# docs/architecture.svg from its source (the test docs_check compares them).
.PHONY: docs
docs:
	dot -Tsvg docs/architecture.dot -o docs/architecture.svg
