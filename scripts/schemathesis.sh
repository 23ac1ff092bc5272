#!/usr/bin/env bash
# Property-based API tests with schemathesis (PyPI) against a started flowd: both OpenAPI
# documents (admin, WSO2 flow execution), checks `not_a_server_error` and response schema
# conformance, bounded by a max example count (docs/reliability.md). Needs python3 and the
# package registry; the venv lives in target/ (ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-25}"
VENV="${SCHEMATHESIS_VENV:-target/schemathesis-venv}"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet 'schemathesis>=4,<5'
fi

work="$(mktemp -d)"
port="${SCHEMATHESIS_PORT:-18089}"
token="schemathesis-admin-token-0123456789"
[ -n "${SCHEMATHESIS_NO_BUILD:-}" ] || cargo build --quiet -p flowd
FLOWD_LISTEN="127.0.0.1:$port" \
FLOWD_DATABASE_URL="sqlite://$work/flowd.db" \
FLOWD_ADMIN_TOKEN="$token" \
FLOWD_OUTBOX_DIR="$work/outbox" \
FLOWD_RATE_LIMIT_PER_MINUTE=0 \
FLOWD_LOG=warn \
  target/debug/flowd serve > "$work/flowd.log" 2>&1 &
flowd_pid=$!
cleanup() {
  kill "$flowd_pid" 2>/dev/null || true
  wait "$flowd_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  if curl -fsS "$base/healthz" > /dev/null 2>&1; then break; fi
  sleep 0.2
done
curl -fsS "$base/healthz" > /dev/null

status=0
run() {
  local name="$1" document="$2"
  shift 2
  echo "== schemathesis: $name ($document)"
  "$VENV/bin/schemathesis" run "$base$document" --url "$base" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "$MAX_EXAMPLES" --no-color "$@" || status=1
}
run "admin API" /api/admin/openapi.json --header "Authorization: Bearer $token"
run "WSO2 flow execution API" /api/server/v1/flow/openapi.json
if [ "$status" -ne 0 ]; then
  echo "== flowd's log"
  tail -n 50 "$work/flowd.log"
fi
exit "$status"
