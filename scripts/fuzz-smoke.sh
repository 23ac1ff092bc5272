#!/usr/bin/env bash
# A bounded run of every fuzz target (docs/reliability.md): installs cargo-fuzz if missing,
# builds the targets on stable without a sanitizer, seeds each corpus from fixtures/ and
# fuzz/seeds/, and runs each target for FUZZ_SECONDS (default 20); a crash fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-20}"
if ! cargo fuzz --version > /dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

cd fuzz
targets=(graph expression wso2_body authentik_body execution_record session import passkey_credential)
# The smoke run needs coverage, not speed: opt-level 1 builds in about half the time of the
# release default (3). Long runs (docs/reliability.md) leave FUZZ_OPT_LEVEL unset in their own
# shell and get the default.
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${FUZZ_OPT_LEVEL:-1}"
mkdir -p ../target/ci
if ! cargo fuzz build -s none > ../target/ci/fuzz-build.log 2>&1; then
  tail -n 60 ../target/ci/fuzz-build.log
  exit 1
fi

# The directories each target reads seeds from (never written to).
seeds() {
  case "$1" in
    graph | import) echo ../fixtures/flows ../fixtures/broken seeds/"$1" ;;
    *) echo seeds/"$1" ;;
  esac
}

# libFuzzer's progress goes to a log per target (it runs to megabytes); the console gets one
# line per target, and the log's tail when a target fails.
logs=../target/ci/fuzz
mkdir -p "$logs"
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  # shellcheck disable=SC2046
  if ! cargo fuzz run -s none "$target" "corpus/$target" $(seeds "$target") -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    > "$logs/$target.log" 2>&1; then
    echo "== fuzz $target FAILED; the end of $logs/$target.log:"
    tail -n 60 "$logs/$target.log"
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$target.log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$target.log")
  echo "== fuzz $target: ${runs:-?} runs in ${seconds}s (${rate:-?}/s), no crash"
done
