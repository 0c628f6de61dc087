#!/usr/bin/env bash
# scripts/run_fuzz.sh — `make fuzz`: runs each libFuzzer harness of tests/fuzz/ for FUZZ_SECONDS
# (default 60), one after the other, and prints executions and coverage per target.
#
# usage: scripts/run_fuzz.sh [BUILD_DIR=build-fuzz] [target...]   (default: every target)
# Each target starts from its seeds (tests/fuzz/corpus/<t>/) and past findings
# (tests/fuzz/regressions/<t>/), copied into a scratch corpus, BUILD_DIR/fuzz/corpus/<t>/, which is
# all libFuzzer is given and writes to: the repository stays clean, and a second run resumes
# from what the first learned. Fork mode (-fork=1: one worker process, restarted
# after each finding) keeps fuzzing past a finding, so one run reports all it meets; the inputs
# that crash, leak, run out of memory (-rss_limit_mb) or hang (-timeout) are written to
# BUILD_DIR/fuzz/findings/<t>/ (the previous run's in findings-previous/<t>/). Exit 1 when any target has a finding: copy each input into
# tests/fuzz/regressions/<t>/ with the fix, and the replay test keeps it fixed.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors config config_set pretrained tokenizer_json token_file trainer_state sweep)
seconds=${FUZZ_SECONDS:-60}
work=$build/fuzz
# halt_on_error: the first report ends the input (a crash libFuzzer records); leaks are findings.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
status=0
summary=()
for t in "${targets[@]}"; do
  exe=$build/tests/fuzz/fuzz_$t
  [ -x "$exe" ] || { echo "run_fuzz.sh: $exe is not built (make fuzz-build)"; exit 2; }
  corpus=$work/corpus/$t findings=$work/findings/$t log=$work/$t.log
  # A run reports what it finds itself; the last run's findings move to findings-previous/.
  rm -rf "$work/findings-previous/$t"
  if [ -d "$findings" ]; then mkdir -p "$work/findings-previous" && mv "$findings" "$work/findings-previous/$t"; fi
  mkdir -p "$corpus" "$findings"
  # Seeds and past findings are copied in: libFuzzer is only ever given the scratch folder.
  cp -n tests/fuzz/corpus/"$t"/* "$corpus"/
  if [ -d tests/fuzz/regressions/"$t" ]; then cp -n tests/fuzz/regressions/"$t"/* "$corpus"/; fi
  # A dictionary of the format's keys, names and edge numbers (tests/fuzz/dict/) lets mutations
  # reach valid-but-hostile inputs (head_dim: 0) that byte flips rarely do.
  dict=()
  [ -f tests/fuzz/dict/"$t".dict ] && dict=(-dict=tests/fuzz/dict/"$t".dict)
  echo "== fuzz_$t for ${seconds}s (log: $log)"
  "$exe" "${dict[@]}" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 -max_total_time="$seconds" \
    -timeout=25 -rss_limit_mb=2048 -artifact_prefix="$findings/" "$corpus" >"$log" 2>&1
  rc=$?
  # Fork mode's progress lines: "#<execs>: cov: <edges> ft: <features> corp: <n> exec/s: <r> ...".
  last=$(grep -E '^#[0-9]+: cov: ' "$log" | tail -1)
  execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
  cov=$(sed -E 's/.* cov: ([0-9]+).*/\1/' <<<"$last")
  ft=$(sed -E 's/.* ft: ([0-9]+).*/\1/' <<<"$last")
  found=$(find "$findings" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'oom-*' -o -name 'timeout-*' \) | wc -l)
  line=$(printf '%-15s execs %-10s cov %-6s ft %-7s findings %s' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$found")
  summary+=("$line")
  echo "$line"
  if [ "$found" -gt 0 ] || [ -z "$last" ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; }; then
    status=1
    find "$findings" -type f | sed 's/^/  finding: /'
  fi
done
echo "== fuzzing summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
exit $status
