# The everyday commands. `just` lists them; each is also a plain cargo command.

default:
    @just --list

# Build every crate.
build:
    cargo build --workspace

# Run the whole test suite (the README's test command).
test:
    cargo test --workspace

# Fetch authentik's OpenAPI schema (npm), against which the executor tests validate challenges.
authentik-schema:
    bash scripts/fetch-authentik-schema.sh

# Formatting and lints, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Everything CI runs.
check:
    bash .ci/run

# Criterion benchmarks: validate + compile, the engine on memory and on SQLite.
bench:
    cargo bench -p flow-compiler --bench compile
    cargo bench -p flow-engine --bench engine
    cargo bench -p flow-store --bench engine_sqlite

# Run the server (embedded SQLite in the working directory).
run:
    cargo run --release -p flowd
