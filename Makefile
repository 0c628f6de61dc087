# ssmlab — the two front doors:
#   make demo   install what is missing, build, train configs/mamba2_s128.yaml, run capacity on it
#               (with and without a sliding window of one training length)
#   make test   install what is missing, build, run the whole test suite (CTest)
# Other targets: build, corpus, clean. BUILD_DIR and JOBS can be overridden.
#   make dist           the relocatable release tarball, dist/ssmlab-<version>-linux-x86_64[-cuda<N>].tar.gz
#                       (scripts/make_dist.sh, docs/release.md; DIST_MPI=ON builds MPI in)
#   make bench-cpu      ssmlab bench and its PyTorch peer on this CPU, and their comparison table
#                       (scripts/bench_cpu.sh: bench/out/cpu.md; PyTorch from .venv or $PYTHON)
#   make test-sanitize  the CPU tests again under ASan + UBSan (gcc, build-sanitize/)
#   make fuzz           the libFuzzer harnesses of tests/fuzz/ (clang, build-fuzz/), each for
#                       FUZZ_SECONDS from its seeds; fails when any finds a crash, leak, OOM or hang
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
SANITIZE_DIR ?= build-sanitize
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?=
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")
SSMLAB := $(BUILD_DIR)/cli/ssmlab

.PHONY: deps build test demo corpus clean test-sanitize fuzz fuzz-build fuzz-deps bench-cpu dist

deps:
	@bash scripts/install_deps.sh

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

corpus: deps
	@bash scripts/make_bible_corpus.sh data/kjv

# CTest runs the test programs in parallel, so each runs single-threaded: OpenMP and OpenBLAS
# threads on top of parallel processes only oversubscribe the cores.
test: build corpus
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

dist: deps corpus
	DIST_MPI=$(or $(DIST_MPI),OFF) JOBS=$(JOBS) CMAKE_FLAGS="$(CMAKE_FLAGS)" bash scripts/make_dist.sh dist

bench-cpu: build
	bash scripts/bench_cpu.sh $(BENCH_ARGS)

demo: build corpus
	$(SSMLAB) train configs/mamba2_s128.yaml --run-dir runs/demo
	$(SSMLAB) capacity --model runs/demo/ckpt --out runs/demo/capacity --window 256 --length 16K

# ASan + UBSan (gcc, -O1 -g, every UB report fatal), CUDA off, MPI on: the CPU tests once more.
# The options make the first report end the test with its stack; tests/sanitize/lsan.supp
# silences only Open MPI's own leaks. The *_emulated CUDA tests are included: the host emulator's
# context switches (ucontext) give ASan no false reports, and they are most of the run's time.
SANITIZE_ENV := ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitize/lsan.supp:print_suppressions=0 \
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

$(SANITIZE_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(SANITIZE_DIR) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DSSMLAB_SANITIZE=ON -DSSMLAB_CUDA=OFF -DSSMLAB_MPI=ON \
		$(CMAKE_FLAGS)

test-sanitize: deps corpus $(SANITIZE_DIR)/CMakeCache.txt
	cmake --build $(SANITIZE_DIR) -j $(JOBS)
	$(SANITIZE_ENV) ctest --test-dir $(SANITIZE_DIR) --output-on-failure -j $(JOBS)

# libFuzzer needs clang; the harnesses and every library under them get ASan + UBSan, no CUDA.
$(FUZZ_DIR)/CMakeCache.txt: | fuzz-deps
	cmake -S . -B $(FUZZ_DIR) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSSMLAB_FUZZ=ON -DSSMLAB_CUDA=OFF -DSSMLAB_MPI=OFF \
		$(CMAKE_FLAGS)

fuzz-deps:
	@bash scripts/install_deps.sh fuzz

fuzz-build: fuzz-deps $(FUZZ_DIR)/CMakeCache.txt
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzz_targets

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/run_fuzz.sh $(FUZZ_DIR)

clean:
	rm -rf $(BUILD_DIR) $(SANITIZE_DIR) $(FUZZ_DIR) build-dist dist
