# Thin wrapper: every target installs what it needs first (deploy/install-deps.sh is idempotent).
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
JOBS ?= $(shell nproc)
CTEST_JOBS ?= 2

.PHONY: all deps build test test-asan demo fuzz fuzz-long clean

all: build

deps:
	./deploy/install-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOUROBOROS_WERROR=ON
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Every test: unit, integration against a real PostgreSQL 15, client library, fuzz smoke.
test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(CTEST_JOBS)

# The same suite built with AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DOUROBOROS_SANITIZE=ON
	cmake --build $(ASAN_DIR) -j $(JOBS)
	ctest --test-dir $(ASAN_DIR) --output-on-failure -j $(CTEST_JOBS)

demo: build
	./deploy/demo.sh $(BUILD_DIR)/src/app/ouroboros

fuzz: deps
	./tests/fuzz/smoke.sh

# Every fuzz target for 10 million executions (inputs up to 64 KiB); the corpora grow in
# /tmp/ouroboros-fuzz (FUZZ_WORK_DIR), outside the repository. Prints the table for docs/testing.md.
fuzz-long: deps
	./tests/fuzz/long_run.sh

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) .demo
