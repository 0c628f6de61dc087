# ssmlab — the two front doors:
#   make demo   install what is missing, build, train configs/mamba2_s128.yaml, run capacity on it
#               (with and without a sliding window of one training length)
#   make test   install what is missing, build, run the whole test suite (CTest)
# Other targets: build, corpus, clean. BUILD_DIR and JOBS can be overridden.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")
SSMLAB := $(BUILD_DIR)/cli/ssmlab

.PHONY: deps build test demo corpus clean

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

demo: build corpus
	$(SSMLAB) train configs/mamba2_s128.yaml --run-dir runs/demo
	$(SSMLAB) capacity --model runs/demo/ckpt --out runs/demo/capacity --window 256 --length 16K

clean:
	rm -rf $(BUILD_DIR)
