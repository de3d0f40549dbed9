# Thin wrapper: every target installs what it needs first (deploy/install-deps.sh is idempotent).
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
JOBS ?= $(shell nproc)
CTEST_JOBS ?= 2
# The sanitizer pass repeats unit, integration and client-library tests, not the fuzz smoke run
# or the packaging/package checks (labels fuzz, packaging, package).
ASAN_CTEST_ARGS ?= -LE "fuzz|packag"

.PHONY: all deps build test test-asan demo fuzz clean

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

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) .demo
