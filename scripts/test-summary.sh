#!/usr/bin/env bash
# Sums the `test result:` lines of a `cargo test` log: tests passed, failed and ignored, and
# how many test binaries ran; lists every `SKIPPED:` line. Fails when the log shows no test
# at all or any failure, so that a run that executed nothing cannot pass.
set -euo pipefail
log="${1:?usage: test-summary.sh CARGO_TEST_LOG}"

grep -E '^SKIPPED: ' "$log" || true
awk '
  /^test result: / {
    binaries++
    for (i = 1; i <= NF; i++) {
      if ($(i + 1) ~ /^passed;?$/) passed += $i
      if ($(i + 1) ~ /^failed;?$/) failed += $i
      if ($(i + 1) ~ /^ignored;?$/) ignored += $i
    }
  }
  END {
    printf "tests: %d passed, %d failed, %d ignored, in %d test binaries\n", passed, failed, ignored, binaries
    if (binaries == 0 || passed == 0 || failed > 0) exit 1
  }
' "$log"
