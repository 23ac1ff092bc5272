//! Architecture and hygiene checks over the whole workspace.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Which of our crates each crate may depend on (normal dependencies): the crate table of
/// docs/ARCHITECTURE.md, between its `crate-table` markers, is the one source of truth.
fn allowed_edges() -> BTreeMap<String, BTreeSet<String>> {
    let path = workspace_root().join("docs/ARCHITECTURE.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text
        .find("<!-- crate-table: start -->")
        .expect("the crate table's start marker");
    let end = text
        .find("<!-- crate-table: end -->")
        .expect("the crate table's end marker");
    let mut allowed = BTreeMap::new();
    for line in text[start..end]
        .lines()
        .filter(|line| line.starts_with("| `"))
    {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 2, "a crate-table row has two cells: {line}");
        let names = |cell: &str| -> BTreeSet<String> {
            cell.split(',')
                .map(|name| name.trim().trim_matches('`').to_owned())
                .filter(|name| !name.is_empty())
                .collect()
        };
        let krate = names(cells[0]).into_iter().next().unwrap();
        let previous = allowed.insert(krate.clone(), names(cells[1]));
        assert!(
            previous.is_none(),
            "{krate} has two rows in the crate table"
        );
    }
    assert!(!allowed.is_empty(), "the crate table has no rows");
    allowed
}

/// Crates that must know nothing of HTTP or SQL, and the package-name prefixes they may never
/// reach, even transitively.
const PURE: &[&str] = &["flow-model", "flow-compiler", "flow-engine"];
const FORBIDDEN_IN_PURE: &[&str] = &[
    "actix",
    "diesel",
    "libsqlite3-sys",
    "pq-sys",
    "reqwest",
    "lettre",
    "hyper",
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn workspace_crates_depend_only_as_drawn() {
    let metadata = metadata();
    let members: BTreeSet<String> = metadata["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    let allowed = allowed_edges();
    let mut used: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for package in metadata["packages"].as_array().unwrap() {
        if !members.contains(package["id"].as_str().unwrap()) {
            continue;
        }
        let name = package["name"].as_str().unwrap();
        let Some(permitted) = allowed.get(name) else {
            panic!("crate {name} has no row in the crate table of docs/ARCHITECTURE.md");
        };
        let edges = used.entry(name.to_owned()).or_default();
        for dependency in package["dependencies"].as_array().unwrap() {
            let is_ours = dependency["path"].is_string();
            let is_normal = dependency["kind"].is_null();
            let dep = dependency["name"].as_str().unwrap();
            if is_ours && is_normal {
                assert!(
                    permitted.contains(dep),
                    "{name} may not depend on {dep} (docs/ARCHITECTURE.md)"
                );
                edges.insert(dep.to_owned());
            }
        }
    }
    // The table says no more than the code does: every row is a crate, every edge is used.
    for (name, permitted) in &allowed {
        let Some(edges) = used.get(name) else {
            panic!("docs/ARCHITECTURE.md has a row for {name}, which is not a workspace crate");
        };
        let unused: Vec<&String> = permitted.difference(edges).collect();
        assert!(
            unused.is_empty(),
            "docs/ARCHITECTURE.md lets {name} depend on {unused:?}, which it does not"
        );
    }
}

#[test]
fn pure_crates_never_reach_http_or_sql() {
    let metadata = metadata();
    let names: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    // Normal (non-dev, non-build) dependency edges of the resolved graph.
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for node in metadata["resolve"]["nodes"].as_array().unwrap() {
        let targets = node["deps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|dep| {
                dep["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|kind| kind["kind"].is_null())
            })
            .map(|dep| dep["pkg"].as_str().unwrap())
            .collect();
        edges.insert(node["id"].as_str().unwrap(), targets);
    }
    for pure in PURE {
        let Some(root) = names
            .iter()
            .find(|(_, name)| *name == pure)
            .map(|(id, _)| *id)
        else {
            panic!(
                "the pure crate {pure} is not in the workspace: update PURE and docs/ARCHITECTURE.md"
            );
        };
        let mut stack = vec![root];
        let mut seen = BTreeSet::new();
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            let name = names[id];
            assert!(
                !FORBIDDEN_IN_PURE
                    .iter()
                    .any(|prefix| name.starts_with(prefix)),
                "{pure} reaches {name}: the model, compiler and engine must know nothing of HTTP or SQL"
            );
            stack.extend(edges.get(id).into_iter().flatten());
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_says_what_it_is_for() {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    rust_files(&root.join("bins"), &mut files);
    assert!(files.len() > 5, "found only {} Rust files", files.len());
    let undocumented: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            let first = text
                .lines()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("");
            !(first.starts_with("//!") || first.starts_with("#![doc = include_str!"))
        })
        .map(|path| path.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    assert!(
        undocumented.is_empty(),
        "files without a `//!` opening: {undocumented:?}"
    );
}

/// The SQL store never binds `LIMIT ?` through diesel's `first()`: SQLite (3.53, with STAT4)
/// reads a bound LIMIT while planning, so every execution of such a statement re-prepares it
/// (14 % of a step's CPU in the issue-16 profile). Lookups use `get_result`, which steps once.
#[test]
fn the_sql_store_never_binds_a_limit_of_one() {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("crates/flow-store/src"), &mut files);
    assert!(files.len() > 5, "found only {} Rust files", files.len());
    let offenders: Vec<String> = files
        .iter()
        .flat_map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            let shown = path.strip_prefix(&root).unwrap().display().to_string();
            text.lines()
                .enumerate()
                .filter(|(_, line)| line.contains(".first(") || line.contains(".first::<"))
                .map(|(index, _)| format!("{shown}:{}", index + 1))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "use get_result instead of first: {offenders:?}"
    );
}
