#!/usr/bin/env bash
# Runs the shell examples of README.md and docs/*.md against a real flowd, so that the docs
# stay executable as written.
#
# - Builds flowd (debug, as the tests do) unless FLOWD_BIN names a binary, and starts it on a
#   free port (FLOWD_LISTEN=127.0.0.1:0) with a fresh SQLite file, a chosen admin token, the
#   outbox in a temporary directory and no rate limit.
# - Takes every ```sh block of README.md, then of docs/*.md (sorted; new pages join on their
#   own), in order. A block right after a line `<!-- not-run: reason -->` is skipped
#   (`cargo run`, long-running or destructive commands). Other fences (```bash, ```sql, ```)
#   are never run.
# - Runs each page's blocks in one fresh shell (`set -euo pipefail`), in a temporary working
#   directory, with FLOWD (base URL), TOKEN (admin token) and OUTBOX (the server's mail
#   directory) exported: pages define them in a first block with these as the defaults.
# - Fails on a non-zero exit. Every `curl` of a runnable block must use `-f`/`--fail` (a 4xx or
#   5xx is then an error) or write `%{http_code}` for an explicit check.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

command -v jq >/dev/null || { { apt-get update -qq && apt-get install -y -qq jq; } >/dev/null 2>&1 || { echo "run-doc-examples: jq is needed" >&2; exit 1; }; }
command -v curl >/dev/null || { echo "run-doc-examples: curl is needed" >&2; exit 1; }

if [ -z "${FLOWD_BIN:-}" ]; then
    cargo build --quiet -p flowd
    FLOWD_BIN="$root/target/debug/flowd"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

export TOKEN="doc-examples-admin-token-$RANDOM$RANDOM"
export OUTBOX="$work/outbox"
mkdir -p "$work/server"
(
    cd "$work/server"
    FLOWD_LISTEN=127.0.0.1:0 FLOWD_DATABASE_URL="sqlite://$work/server/flowd.db" \
        FLOWD_ADMIN_TOKEN="$TOKEN" FLOWD_OUTBOX_DIR="$OUTBOX" FLOWD_RATE_LIMIT_PER_MINUTE=0 \
        FLOWD_LOG=warn exec "$FLOWD_BIN" serve
) 2>"$work/server.log" &
server_pid=$!
FLOWD=""
for _ in $(seq 1 600); do
    FLOWD="$(sed -n 's/^flowd listening on \(http:[^ ]*\).*/\1/p' "$work/server.log" | head -n1)"
    [ -n "$FLOWD" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "run-doc-examples: flowd did not start" >&2; exit 1; }
    sleep 0.1
done
[ -n "$FLOWD" ] || { cat "$work/server.log" >&2; echo "run-doc-examples: flowd did not start" >&2; exit 1; }
export FLOWD
echo "run-doc-examples: flowd at $FLOWD"

# Writes the runnable blocks of page $1 as one script to stdout, each preceded by a comment
# naming its page and line.
extract() {
    awk -v page="$1" '
        /^<!-- not-run:/ { skip = 1; next }
        !inblock && /^```sh[[:space:]]*$/ { inblock = 1; run = !skip; skip = 0; if (run) printf "# --- %s:%d\n", page, NR + 1; next }
        inblock && /^```/ { inblock = 0; next }
        inblock { if (run) print; next }
        /[^[:space:]]/ { skip = 0 }
    ' "$1"
}

failed=0
for page in README.md docs/*.md; do
    script="$work/$(echo "$page" | tr '/' '_').sh"
    { echo 'set -euo pipefail'; extract "$page"; } >"$script"
    blocks="$(grep -c '^# --- ' "$script" || true)"
    [ "$blocks" -gt 0 ] || continue
    # Every curl checks its status: -f/--fail, or an explicit %{http_code}.
    if unchecked="$(grep -nE '(^|[(;|&[:space:]])curl ' "$script" | grep -vE -- '(-[a-zA-Z]*f[a-zA-Z]*( |$)|--fail|http_code)')"; then
        echo "run-doc-examples: $page: curl without -f or an http_code check:" >&2
        echo "$unchecked" >&2
        failed=1
        continue
    fi
    pagedir="$work/run-$(echo "$page" | tr '/' '_')"
    mkdir -p "$pagedir"
    echo "== $page ($blocks blocks)"
    if ! (cd "$pagedir" && bash "$script" >"$pagedir.out" 2>&1); then
        echo "run-doc-examples: $page FAILED; its output:" >&2
        tail -n 40 "$pagedir.out" >&2
        echo "-- the script that ran (block markers name page:line):" >&2
        cat -n "$script" >&2
        failed=1
    fi
done

if [ "$failed" -ne 0 ]; then
    echo "-- server log:" >&2
    tail -n 40 "$work/server.log" >&2
    exit 1
fi
echo "run-doc-examples: all examples ran"
