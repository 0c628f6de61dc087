#!/usr/bin/env bash
# scripts/make_dist.sh — `make dist`: the relocatable release tarball (docs/release.md).
#
#   scripts/make_dist.sh [OUT_DIR]      (default OUT_DIR: dist/)
#
# Configures and builds build-dist/ (Release, portable: C++ runtime, Abseil and yaml-cpp static,
# the CUDA runtime static, cuBLAS and NCCL opened at run time; MPI off unless DIST_MPI=ON), installs
# bin/ssmlab and the CUDA test programs, copies the shared libraries the host need not have
# (OpenBLAS and what it pulls in: libgfortran, libquadmath; and libgomp) into lib/, adds
# configs/, the corpus data/kjv (when built), the docs, bench/torch_peer.py and
# bench/compare_versions.py, scripts/gpu_check.sh and a BUILD_INFO.txt, and packs
# ssmlab-<version>-linux-x86_64[-cuda<major>].tar.gz.
# Environment: DIST_BUILD_DIR (build-dist), DIST_MPI (OFF), DIST_CUDA_ARCHS (CMake's
# CMAKE_CUDA_ARCHITECTURES, default 90), JOBS, CMAKE_FLAGS (more -D options).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out_dir=$(mkdir -p "${1:-$root/dist}" && cd "${1:-$root/dist}" && pwd)
build=${DIST_BUILD_DIR:-$root/build-dist}
mpi=${DIST_MPI:-OFF}
jobs=${JOBS:-$(nproc)}
generator=$(command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")

arch_flag=()
if [ -n "${DIST_CUDA_ARCHS:-}" ]; then arch_flag=(-DCMAKE_CUDA_ARCHITECTURES="$DIST_CUDA_ARCHS"); fi
# shellcheck disable=SC2086
cmake -S "$root" -B "$build" -G "$generator" -DCMAKE_BUILD_TYPE=Release -DSSMLAB_PORTABLE=ON \
  -DSSMLAB_SANITIZE=OFF -DSSMLAB_FUZZ=OFF -DSSMLAB_MPI="$mpi" "${arch_flag[@]}" ${CMAKE_FLAGS:-} >/dev/null
cuda=$(sed -n 's/^SSMLAB_BUILT_CUDA:INTERNAL=//p' "$build/CMakeCache.txt")
have_mpi=$(sed -n 's/^SSMLAB_BUILT_MPI:INTERNAL=//p' "$build/CMakeCache.txt")
targets=(ssmlab)
if [ "$cuda" = ON ]; then
  for src in "$root"/tests/cuda/test_cuda*.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi
cmake --build "$build" -j "$jobs" --target "${targets[@]}"

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
name="ssmlab-$version-linux-x86_64"
if [ "$cuda" = ON ]; then
  cuda_major=$("$build"/cli/ssmlab --version | sed -n 's/.*GPU: CUDA \([0-9]*\)\..*/\1/p')
  name="$name-cuda$cuda_major"
fi
stage_root=$(mktemp -d)
trap 'rm -rf "$stage_root"' EXIT
stage="$stage_root/$name"
mkdir -p "$stage/lib"
# bin/ssmlab and, in a CUDA build, tests/test_cuda*, with the RPATH $ORIGIN/../lib.
cmake --install "$build" --prefix "$stage" --strip >/dev/null

# The shared libraries to ship: every library the build-tree binaries load (their build RPATH
# finds the same ones the link used) that the host provides by itself is left out: glibc's,
# libgcc_s (CMakeLists.txt says why), the NVIDIA driver's, and in an MPI build the MPI library and
# everything only it pulls in.
host_provided='^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|libpthread|librt|libutil|libresolv|libgcc_s|libcuda)\.so'
mpi_closure=""
if [ "$have_mpi" = ON ]; then
  mpi_lib=$(ldd "$build/cli/ssmlab" | awk '/libmpi\.so/ {print $3}')
  mpi_closure=$( (echo "$mpi_lib"; ldd "$mpi_lib" | awk '$3 ~ /^\// {print $3}') | xargs -n1 basename | sort -u)
fi
binaries=("$build/cli/ssmlab")
for t in "${targets[@]:1}"; do binaries+=("$build/tests/$t"); done
ldd "${binaries[@]}" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
  while read -r soname path; do
    if [[ "$soname" =~ $host_provided ]]; then continue; fi
    if [ -n "$mpi_closure" ] && grep -qx "$soname" <<<"$mpi_closure"; then continue; fi
    cp -L "$path" "$stage/lib/$soname"
  done
chmod 644 "$stage"/lib/*

# What a user needs beside the binary.
cp "$root/README.md" "$stage/"
cp -r "$root/configs" "$stage/configs"
mkdir -p "$stage/docs" "$stage/bench" "$stage/scripts" "$stage/data"
cp "$root"/docs/*.md "$stage/docs/"
cp "$root/bench/torch_peer.py" "$root/bench/compare_versions.py" "$stage/bench/"
cp "$root/scripts/gpu_check.sh" "$stage/scripts/"
if [ "$cuda" = ON ]; then cp "$root/scripts/run_gpu_tests.sh" "$stage/tests/"; fi
if [ -d "$root/data/kjv" ] && [ -n "$(ls -A "$root/data/kjv")" ]; then cp -r "$root/data/kjv" "$stage/data/kjv"; fi

# The newest glibc symbol version any shipped file needs: the oldest Linux the tarball runs on.
glibc=$(for f in $(find "$stage/bin" "$stage/lib" "$stage/tests" -type f 2>/dev/null); do
          if head -c 4 "$f" | grep -q ELF; then objdump -T "$f"; fi
        done | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -1)
{
  "$build/cli/ssmlab" --version | grep -v '^device:'
  echo "built on: $(. /etc/os-release && echo "$PRETTY_NAME"), $(uname -m), $(date -u +%Y-%m-%d)"
  echo "needs: Linux x86_64 with glibc ${glibc#GLIBC_} or newer (and its libgcc_s.so.1)"
  if [ "$cuda" = ON ]; then
    echo "GPU: an NVIDIA driver for CUDA $cuda_major; cuBLAS $cuda_major and (multi-GPU only) NCCL 2 from the host's"
    echo "     CUDA toolkit or PyTorch's nvidia-* packages, found at run time (docs/release.md)"
  fi
  if [ "$have_mpi" = ON ]; then
    echo "MPI: built with $(ldd "$build/cli/ssmlab" | awk '/libmpi\.so/ {print $1}') (Open MPI 4): the host must provide it"
  else
    echo "MPI: not built in: one process per run (multi-GPU data parallelism needs a build with MPI)"
  fi
  echo "shipped in lib/: $(cd "$stage/lib" && ls | tr '\n' ' ')"
} >"$stage/BUILD_INFO.txt"

tarball="$out_dir/$name.tar.gz"
tar -C "$stage_root" -czf "$tarball" "$name"
size=$(stat -c %s "$tarball")
limit=$((60 * 1024 * 1024))
echo "wrote $tarball ($((size / 1024 / 1024)) MiB)"
if [ "$size" -gt "$limit" ]; then
  echo "make_dist.sh: $tarball is $size bytes, over the 60 MiB limit" >&2
  exit 1
fi
