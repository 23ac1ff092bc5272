# The everyday commands. `just` lists them; each is also a plain cargo command.

default:
    @just --list

# Build every crate.
build:
    cargo build --workspace

# Run the whole test suite (the README's test command).
test:
    cargo test --workspace

# Formatting and lints, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Everything CI runs.
check:
    bash .ci/run

# Criterion benchmarks (validate + compile of generated graphs).
bench:
    cargo bench -p flow-compiler --bench compile
