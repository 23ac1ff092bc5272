#!/usr/bin/env bash
# Fetches authentik's OpenAPI schema, `schema.yml` from the npm package @goauthentik/api, into
# target/authentik-schema/. flowd's executor tests validate every challenge against it, so a
# drift from authentik's shapes fails CI. Prints the schema's path.
set -euo pipefail

version="${AUTHENTIK_API_VERSION:-2026.8.3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/target/authentik-schema"
schema="$dest/schema-$version.yml"

if [ ! -s "$schema" ]; then
    mkdir -p "$dest"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack --silent "@goauthentik/api@$version" >/dev/null)
    tar -xzf "$work"/goauthentik-api-*.tgz -C "$work" package/schema.yml
    mv "$work/package/schema.yml" "$schema"
fi
echo "$schema"
