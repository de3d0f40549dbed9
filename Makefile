# Thin wrapper: every target installs what it needs first (deploy/install-deps.sh is idempotent).
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
JOBS ?= $(shell nproc)
CTEST_JOBS ?= 2
# The sanitizer pass repeats unit, integration, faults and client-library tests, not the fuzz smoke
# run, the packaging/package checks or the container test (labels fuzz, packaging, package,
# container).
ASAN_CTEST_ARGS ?= -LE "fuzz|packag|container"

.PHONY: all deps build test test-asan demo fuzz fuzz-long image clean

all: build

deps:
	./deploy/install-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOUROBOROS_WERROR=ON
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Every test: unit, integration against a real PostgreSQL 15, client library, packaging, fuzz
# smoke. With CI=true a skipped test fails the run (tests/support/run_ctest.sh).
test: build
	./tests/support/run_ctest.sh $(BUILD_DIR) -j $(CTEST_JOBS)

# Unit, integration and client-library tests built with AddressSanitizer + UBSan.
test-asan: deps
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DOUROBOROS_SANITIZE=ON
	cmake --build $(ASAN_DIR) -j $(JOBS)
	./tests/support/run_ctest.sh $(ASAN_DIR) -j $(CTEST_JOBS) $(ASAN_CTEST_ARGS)

demo: build
	./deploy/demo.sh $(BUILD_DIR)/src/app/ouroboros

fuzz: deps
	./tests/fuzz/smoke.sh

# The container image (default tag ouroboros:VERSION; IMAGE=name:tag for another), without a
# registry: starts dockerd (no bridge network) if none runs, makes the debian:bookworm base images
# with debootstrap if missing, then docker build --network host. docs/deployment.md.
image:
	./deploy/install-deps.sh --container
	./deploy/docker/image.sh $(IMAGE)

# Every fuzz target for 10 million executions (inputs up to 64 KiB, less where the input kind is
# bounded: tests/fuzz/long_run.sh); the corpora grow in /tmp/ouroboros-fuzz (FUZZ_WORK_DIR),
# outside the repository. Prints the table for docs/testing.md.
fuzz-long: deps
	./tests/fuzz/long_run.sh

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) .demo
