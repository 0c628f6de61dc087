#!/usr/bin/env bash
# gpu_check.sh — everything ssmlab can prove on a GPU machine, in one run of a few minutes, with no
# network and no build tree (it runs from the unpacked `make dist` tarball, or from a repository
# with build/). Each step's output goes to OUTDIR; OUTDIR/summary.md lists every step with its
# result, time and key figure. One failing step does not stop the others; a step whose tool is
# missing (compute-sanitizer, PyTorch) is skipped, not failed. Exit status 0: every step run passed.
#
#   scripts/gpu_check.sh OUTDIR
#
# Steps, most important first, each with a time limit so the whole fits in 8 minutes on one H100:
#   device       nvidia-smi, and ssmlab --version (its device line: the GPU and the cuBLAS it found)
#   cuda-tests   every CUDA test program: CUDA == CPU for each op forward and backward, the three
#                scans, a training run's losses (tests/run_gpu_tests.sh)
#   train        configs/mamba2_s128.yaml for 200 steps on the GPU and on the CPU (fp32 both), and
#                their loss curves compared step by step
#   bench        ssmlab bench --device cuda (full preset, JSON); each kernel's version 2 against its
#                version 1 (bench/compare_versions.py: versions.md); the training steps again with
#                every version 2 (--kernels all=2); then bench/torch_peer.py against it when
#                python3 can import torch
#   sanitizer    the scan tests under compute-sanitizer memcheck and racecheck, when installed
set -uo pipefail
if [ $# -ne 1 ]; then
  echo "usage: gpu_check.sh OUTDIR" >&2
  exit 2
fi
mkdir -p "$1" || exit 2
out=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -x "$root/bin/ssmlab" ]; then  # the tarball
  ssmlab=$root/bin/ssmlab
  runner=$root/tests/run_gpu_tests.sh
  test_bin=$root/tests
else                               # a repository with a build
  ssmlab=$root/${BUILD_DIR:-build}/cli/ssmlab
  runner=$root/scripts/run_gpu_tests.sh
  test_bin=$root/${BUILD_DIR:-build}/tests
fi
deadline=$(($(date +%s) + ${GPU_CHECK_SECONDS:-480}))
summary=$out/summary.md
all_passed=1
{
  echo "# ssmlab GPU check"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(hostname), from $root"
  echo
  echo "| step | result | seconds | detail |"
  echo "|---|---|---|---|"
} >"$summary"

# record STEP RESULT SECONDS DETAIL
record() {
  echo "| $1 | $2 | $3 | $4 |" >>"$summary"
  printf '== %-16s %-8s %5ss  %s\n' "$1" "$2" "$3" "$4"
  if [ "$2" = FAILED ]; then all_passed=0; fi
}

# run STEP LIMIT_S LOG COMMAND...: runs COMMAND with its output in LOG, within LIMIT_S and what is
# left of the whole budget; sets $status (0 = passed, 124 = out of time) and $seconds.
run() {
  local step=$1 limit=$2 log=$3
  shift 3
  local left=$((deadline - $(date +%s)))
  if [ "$left" -lt "$limit" ]; then limit=$left; fi
  if [ "$limit" -le 5 ]; then
    status=124 seconds=0
    return
  fi
  local start
  start=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
  status=$?
  seconds=$(($(date +%s) - start))
}

result_of() { if [ "$status" -eq 0 ]; then echo passed; else echo FAILED; fi; }
why() { if [ "$status" -eq 124 ]; then echo "out of time; "; elif [ "$status" -ne 0 ]; then echo "exit $status; "; fi; }

# 1. device
if command -v nvidia-smi >/dev/null 2>&1; then
  run nvidia-smi 20 "$out/nvidia-smi.txt" nvidia-smi
  cat "$out/nvidia-smi.txt"
  record nvidia-smi "$(result_of)" "$seconds" "$(why)$(grep -m1 -o 'Driver Version: [0-9.]*' "$out/nvidia-smi.txt")"
else
  record nvidia-smi FAILED 0 "nvidia-smi not found: no NVIDIA driver on this machine"
fi
run version 20 "$out/version.txt" "$ssmlab" --version
cat "$out/version.txt"
device_line=$(grep '^device:' "$out/version.txt")
if [ "$status" -eq 0 ] && grep -q '^device: CPU only' "$out/version.txt"; then
  record "ssmlab device" FAILED "$seconds" "$device_line"
else
  record "ssmlab device" "$(result_of)" "$seconds" "$(why)${device_line:-no device line}"
fi

# 2. the CUDA tests
run cuda-tests 240 "$out/cuda-tests.txt" bash "$runner" "$out/cuda-tests"
cat "$out/cuda-tests.txt"
# Without a usable GPU the test cases skip themselves: count them, a pass with skips proves nothing.
skipped=$(cat "$out"/cuda-tests/*.log 2>/dev/null | sed -n 's/^\[doctest\] test cases:.*| *\([0-9]*\) skipped.*/\1/p' |
          awk '{n += $1} END {print n + 0}')
record cuda-tests "$(result_of)" "$seconds" "$(why)$(grep -c ' passed ' "$out/cuda-tests.txt") of $(grep -c . "$out/cuda-tests.txt") programs passed, $skipped test cases skipped (logs in cuda-tests/)"

# 3. training: GPU and CPU, same config and steps, fp32 both; the CPU run alongside.
train_args=(train configs/mamba2_s128.yaml --set train.steps=200 --set run.precision=fp32 --quiet)
(cd "$root" && OMP_NUM_THREADS=${GPU_CHECK_CPU_THREADS:-8} timeout 300 "$ssmlab" "${train_args[@]}" \
   --set run.device=cpu --run-dir "$out/train-cpu" >"$out/train-cpu.txt" 2>&1) &
cpu_pid=$!
run train-cuda 180 "$out/train-cuda.txt" bash -c "cd '$root' && '$ssmlab' ${train_args[*]} --set run.device=cuda --run-dir '$out/train-cuda'"
record train-cuda "$(result_of)" "$seconds" "$(why)$(tail -1 "$out/train-cuda.txt")"
wait "$cpu_pid"
cpu_status=$?
# step loss pairs from metrics.jsonl (keys are written in sorted order: "loss" before "step")
losses() { sed -n 's/.*"loss":\([^,}]*\).*"step":\([0-9]*\).*/\2 \1/p' "$1"; }
if [ "$cpu_status" -eq 0 ] && [ -s "$out/train-cuda/metrics.jsonl" ] && [ -s "$out/train-cpu/metrics.jsonl" ]; then
  losses "$out/train-cpu/metrics.jsonl" >"$out/loss-cpu.txt"
  losses "$out/train-cuda/metrics.jsonl" >"$out/loss-cuda.txt"
  # Pass: every step within 0.05 nats, and the last 20 steps within 0.02 on average. fp32 on both
  # sides still sums in different orders, so the curves drift apart slowly; a wrong kernel
  # separates them within a few steps.
  verdict=$(awk 'NR == FNR {cpu[$1] = $2; next}
    ($1 in cpu) {
      d = $2 - cpu[$1]; if (d < 0) d = -d
      n++; if (d > max) max = d
      last[n] = d; steps[n] = $1; gpu_final = $2; cpu_final = cpu[$1]
    }
    END {
      if (n < 200) { printf "FAILED %d of 200 steps logged by both", n; exit }
      for (i = n - 19; i <= n; i++) tail += last[i]
      tail /= 20
      printf "%s max |loss diff| %.4f over %d steps, last 20 mean %.4f; final loss GPU %.4f CPU %.4f",
             (max <= 0.05 && tail <= 0.02) ? "passed" : "FAILED", max, n, tail, gpu_final, cpu_final
    }' "$out/loss-cpu.txt" "$out/loss-cuda.txt")
  record "train: GPU vs CPU" "${verdict%% *}" "$seconds" "${verdict#* }"
else
  record "train: GPU vs CPU" FAILED "$seconds" "CPU run exit $cpu_status; see train-cpu.txt, train-cuda.txt"
fi

# 4. benchmarks, and the PyTorch peer on the same GPU
run bench 150 "$out/bench.txt" "$ssmlab" bench --device cuda --preset full --json "$out/bench.json"
cat "$out/bench.txt"
record bench "$(result_of)" "$seconds" "$(why)$(grep -c . "$out/bench.txt") lines; bench.txt, bench.json"
# every version 2 against version 1 in that run: the evidence for changing a default (docs/kernels.md)
if [ -s "$out/bench.json" ]; then
  run versions 10 "$out/versions.md" python3 "$root/bench/compare_versions.py" "$out/bench.json"
  cat "$out/versions.md"
  record "versions: 2 against 1" "$(result_of)" "$seconds" "$(why)speed-ups in versions.md"
fi
# the training steps again with every version 2 (the bench's training rows use the defaults)
run bench-train-v2 100 "$out/bench-train-v2.txt" "$ssmlab" bench --device cuda --preset full --only train \
  --kernels all=2 --json "$out/bench-train-v2.json"
cat "$out/bench-train-v2.txt"
record "bench: training steps, every version 2" "$(result_of)" "$seconds" "$(why)bench-train-v2.txt"
if python3 -c 'import torch; assert torch.cuda.is_available()' >/dev/null 2>&1; then
  if [ -s "$out/bench.json" ]; then
    run torch-peer 150 "$out/torch_peer.txt" python3 "$root/bench/torch_peer.py" --device cuda \
      --ssmlab "$out/bench.json" --json "$out/torch_peer.json"
    cat "$out/torch_peer.txt"
    record torch-peer "$(result_of)" "$seconds" "$(why)ratios in torch_peer.txt"
  else
    record torch-peer FAILED 0 "no bench.json to compare with"
  fi
else
  record torch-peer skipped 0 "python3 cannot import torch with CUDA"
fi

# 5. the scans under compute-sanitizer
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
if [ -n "$sanitizer" ]; then
  for tool in memcheck racecheck; do
    run "$tool" 120 "$out/sanitizer-$tool.txt" "$sanitizer" --tool "$tool" --error-exitcode 3 "$test_bin/test_cuda_scans"
    record "compute-sanitizer $tool" "$(result_of)" "$seconds" \
      "$(why)$(grep -m1 -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$out/sanitizer-$tool.txt")"
  done
else
  record compute-sanitizer skipped 0 "not installed"
fi

echo
cat "$summary"
if [ "$all_passed" -eq 1 ]; then exit 0; else exit 1; fi
