#!/usr/bin/env bash
# A long fuzz campaign (docs/reliability.md): runs each named target (default: all) to
# FUZZ_RUNS executions (default 10,000,000) at `nice -n 19`, one at a time, and prints one
# row of the figures table per target. Logs go to target/fuzz-long/<target>.log; a crash
# stops the campaign and prints the end of its log.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

runs="${FUZZ_RUNS:-10000000}"
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=(graph expression wso2_body authentik_body execution_record session import)
fi
seeds() {
  case "$1" in
    graph | import) echo ../fixtures/flows ../fixtures/broken seeds/"$1" ;;
    *) echo seeds/"$1" ;;
  esac
}
logs=../target/fuzz-long
mkdir -p "$logs"
nice -n 19 cargo fuzz build -s none > "$logs/build.log" 2>&1 || { tail -n 40 "$logs/build.log"; exit 1; }
echo "| target | runs | exec/s | cov | ft | corpus | result |"
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  # shellcheck disable=SC2046
  if ! nice -n 19 cargo fuzz run -s none "$target" "corpus/$target" $(seeds "$target") -- \
    -runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    > "$logs/$target.log" 2>&1; then
    echo "== fuzz $target FAILED; the end of $logs/$target.log:"
    tail -n 60 "$logs/$target.log"
    exit 1
  fi
  stat() { sed -n "s/^stat::$1: *//p" "$logs/$target.log"; }
  # The last progress line ("#N DONE cov: C ft: F corp: K/...") carries coverage and corpus.
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$logs/$target.log" | tail -n 1)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<< "$done_line")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<< "$done_line")
  corp=$(sed -n 's/.*corp: \([0-9]*\).*/\1/p' <<< "$done_line")
  echo "| \`$target\` | $(stat number_of_executed_units) | $(stat average_exec_per_sec) | $cov | $ft | $corp | clean |"
done
