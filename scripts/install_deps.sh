#!/usr/bin/env bash
# scripts/install_deps.sh — installs the Debian packages ssmlab builds and runs with, if missing.
# Needs root or sudo when something is missing; does nothing when all are present.
# `install_deps.sh fuzz` adds what `make fuzz` needs: clang, its libFuzzer and sanitizer runtimes
# (libclang-rt-dev) and clang's OpenMP (libomp-dev).
set -euo pipefail
# libopenmpi-dev + openmpi-bin: data-parallel training (`mpirun -np N ssmlab train`) and its test.
# libopenblas-openmp-dev: OpenBLAS on ssmlab's own OpenMP threads (CMakeLists.txt says why).
packages=(build-essential cmake ninja-build libabsl-dev libyaml-cpp-dev doctest-dev
          libopenblas-dev libopenblas-openmp-dev nlohmann-json3-dev bible-kjv libopenmpi-dev openmpi-bin)
if [ "${1:-}" = fuzz ]; then packages+=(clang libclang-rt-dev libomp-dev); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
