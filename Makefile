# Entry points (run as root on Debian 12): `make demo`, `make test`.
BUILD ?= build
JOBS ?= $(shell nproc)
CTEST_LABELS ?= unit|bpf|netns

.PHONY: all deps build test demo bench clean

all: build

deps:
	tools/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

# Every tier; ctest prints its summary line ("100% tests passed, ...").
test: build
	cd $(BUILD) && ctest --output-on-failure -L '$(CTEST_LABELS)' -j 1

demo: build
	tools/demo/demo.sh $(BUILD)

# BPF_PROG_RUN cost of steer_ingress against an empty TC program.
bench: build
	$(BUILD)/bench/prog_run_bench

clean:
	rm -rf $(BUILD)
