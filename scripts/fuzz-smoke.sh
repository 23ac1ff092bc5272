#!/usr/bin/env bash
# A bounded run of every fuzz target (docs/reliability.md): installs cargo-fuzz if missing,
# builds the targets on stable without a sanitizer, seeds each corpus from fixtures/ and
# fuzz/seeds/, and runs each target for FUZZ_SECONDS (default 30); a crash fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-30}"
if ! cargo fuzz --version > /dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

cd fuzz
targets=(graph expression wso2_body authentik_body execution_record session import)
cargo fuzz build -s none

# The directories each target reads seeds from (never written to).
seeds() {
  case "$1" in
    graph | import) echo ../fixtures/flows ../fixtures/broken seeds/"$1" ;;
    *) echo seeds/"$1" ;;
  esac
}

for target in "${targets[@]}"; do
  echo "== fuzz $target (${seconds}s)"
  mkdir -p "corpus/$target"
  # shellcheck disable=SC2046
  cargo fuzz run -s none "$target" "corpus/$target" $(seeds "$target") -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
