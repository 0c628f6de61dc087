#!/usr/bin/env bash
# scripts/check_dist.sh — the release tarball works where nothing of the build is (the test_dist
# test of `make test`).
#
#   scripts/check_dist.sh [TARBALL]     (default: make it with scripts/make_dist.sh, which builds
#                                        in DIST_BUILD_DIR, or reuses it when up to date)
#
# Unpacks TARBALL into an empty temporary folder and checks, with no build tree and an empty
# LD_LIBRARY_PATH:
#   1. every ELF file shipped (bin/, tests/, lib/) needs only libraries of the allow-list (glibc's
#      and libgcc_s, libgomp, the NVIDIA driver's libcuda, cuBLAS, cuBLASLt, NCCL, and MPI's in an
#      MPI build) or libraries shipped in lib/, and those resolve to lib/, not to the system's
#      copies; and no glibc symbol version newer than 2.34 is needed (Ubuntu 22.04, RHEL 9);
#   2. bin/ssmlab --version runs and says it was built the way BUILD_INFO.txt says;
#   3. a 5-step CPU training of configs/mamba2_s128.yaml runs from the unpacked folder, and
#      `ssmlab info` reads its checkpoint;
#   4. device cuda on a machine without a GPU is a one-line error, exit code 2.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "check_dist.sh: $*" >&2
  exit 1
}

tarball=${1:-}
if [ -z "$tarball" ]; then
  bash "$root/scripts/make_dist.sh" "$work/out"
  tarball=$(ls "$work"/out/ssmlab-*.tar.gz)
fi
mkdir "$work/unpacked"
tar -C "$work/unpacked" -xzf "$tarball"
dist=$(ls -d "$work"/unpacked/ssmlab-*)
echo "unpacked $(basename "$tarball"): $(du -sh "$dist" | cut -f1) in $(find "$dist" -type f | wc -l) files"
[ -x "$dist/bin/ssmlab" ] || fail "no bin/ssmlab in the tarball"
[ -f "$dist/BUILD_INFO.txt" ] || fail "no BUILD_INFO.txt in the tarball"

# 1. NEEDED entries against the allow-list and lib/.
allowed='^(ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libutil\.so\.1|libresolv\.so\.2|libgcc_s\.so\.1|libgomp\.so\.1|libcuda\.so\.1|libcublas\.so\.[0-9]+|libcublasLt\.so\.[0-9]+|libnccl\.so\.2)$'
if grep -q '^MPI: built with' "$dist/BUILD_INFO.txt"; then
  allowed="${allowed%)\$}|libmpi\\.so\\.[0-9]+)\$"
fi
checked=0
while IFS= read -r file; do
  head -c 4 "$file" | grep -q 'ELF' || continue
  checked=$((checked + 1))
  for needed in $(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    if [[ "$needed" =~ $allowed ]] || [ -f "$dist/lib/$needed" ]; then continue; fi
    fail "${file#"$dist"/} needs $needed, which is neither on the allow-list nor shipped in lib/"
  done
done < <(find "$dist/bin" "$dist/lib" "$dist/tests" -type f 2>/dev/null)
[ "$checked" -gt 0 ] || fail "no ELF files found"
echo "NEEDED libraries of $checked ELF files: allow-list or lib/"
glibc=$(sed -n 's/^needs: Linux x86_64 with glibc \([0-9.]*\) .*/\1/p' "$dist/BUILD_INFO.txt")
[ -n "$glibc" ] || fail "BUILD_INFO.txt does not name the glibc it needs"
[ "$(printf '%s\n' "$glibc" 2.34 | sort -V | tail -1)" = 2.34 ] ||
  fail "the tarball needs glibc $glibc; it must run on 2.34 (core/portable/glibc_floor.cpp)"
echo "needs glibc $glibc"
# The shipped copies are the ones loaded (the RPATH $ORIGIN/../lib comes before the system's).
for lib in "$dist"/lib/*; do
  name=$(basename "$lib")
  if readelf -d "$dist/bin/ssmlab" | grep -q "\[$name\]"; then
    resolved=$(env -i LD_LIBRARY_PATH= ldd "$dist/bin/ssmlab" | awk -v n="$name" '$1 == n {print $3}')
    [ -n "$resolved" ] && [ "$(realpath "$resolved")" = "$(realpath "$dist/lib/$name")" ] || fail "bin/ssmlab loads $name from '$resolved', not from lib/"
  fi
done
env -i LD_LIBRARY_PATH= ldd "$dist/bin/ssmlab" | grep -q 'not found' && fail "bin/ssmlab has unresolved libraries"

# 2-4. Run from the unpacked folder: no build tree, no LD_LIBRARY_PATH, a bare environment.
cd "$dist"
run() { env -i PATH=/usr/bin:/bin HOME="$work" LD_LIBRARY_PATH= OMP_NUM_THREADS=1 "$@"; }
version=$(run bin/ssmlab --version)
echo "$version"
grep -q "^$(head -1 BUILD_INFO.txt | sed 's/[][\.*^$]/\\&/g')$" <<<"$version" ||
  fail "bin/ssmlab --version does not match BUILD_INFO.txt's first line"
[ -d data/kjv ] || fail "the tarball has no data/kjv corpus (run make corpus before make dist)"
run bin/ssmlab train configs/mamba2_s128.yaml --set train.steps=5 --set train.eval_every=5 \
  --set train.ckpt_every=5 --run-dir "$work/run" --quiet || fail "the 5-step training failed"
[ "$(grep -c '"step"' "$work/run/metrics.jsonl")" -ge 5 ] || fail "metrics.jsonl has fewer than 5 steps"
info=$(run bin/ssmlab info --model "$work/run/ckpt") || fail "ssmlab info failed on the checkpoint"
grep -q mamba2 <<<"$info" || fail "ssmlab info does not name the architecture: $info"
echo "trained 5 steps and read the checkpoint back from the unpacked tarball"
if grep -q '^device: CPU only (no CUDA device' <<<"$version"; then
  set +e
  err=$(run bin/ssmlab train configs/mamba2_s128.yaml --set run.device=cuda --run-dir "$work/run_cuda" 2>&1 >/dev/null)
  code=$?
  set -e
  [ "$code" -eq 2 ] || fail "device cuda without a GPU: exit code $code, not 2"
  [ "$(grep -c . <<<"$err")" -eq 1 ] || fail "device cuda without a GPU: not one line: $err"
  grep -q "no CUDA device is visible" <<<"$err" || fail "device cuda without a GPU: unclear message: $err"
  echo "device cuda without a GPU: $err"
fi
echo "check_dist.sh: all checks passed"
