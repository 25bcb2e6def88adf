# Convenience entry points; the build itself is CMake (./build).
.PHONY: all setup test bench install clean

all: setup

setup:
	@./scripts/setup.sh

test: setup
	@cd build && ctest --output-on-failure -j2
	@./scripts/test-sanitizers.sh

bench:
	@./scripts/setup.sh --bench
	@cmake --build build --target bench -j2 >/dev/null && ./bench/run.sh

install: setup
	@cmake --install build

clean:
	rm -rf build build-asan build-fuzz
