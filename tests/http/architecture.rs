//! The code's own shape, read from the sources: one writer of each table that many would
//! otherwise write (`events`, `outbox`), no import cycle between the server's modules, files
//! small enough to read, and the catalogue entry (`publiccode.yml`) complete.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`, with its path relative to the repository.
fn rust_files(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path
                    .strip_prefix(root())
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                found.push((relative, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    found.sort();
    found
}

fn production_sources() -> Vec<(String, String)> {
    let mut files = rust_files(&root().join("crates"));
    files.extend(rust_files(&root().join("projections")));
    files
}

/// The files whose text writes `table` (an INSERT, REPLACE or LOAD into it), SQL folded to one
/// line so a statement split over lines is still seen.
fn writers_of(table: &str) -> BTreeSet<String> {
    production_sources()
        .into_iter()
        .filter(|(_, text)| {
            let folded: String = text
                .to_uppercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let table = table.to_uppercase();
            [
                format!("INSERT INTO {table} "),
                format!("INSERT IGNORE INTO {table} "),
                format!("REPLACE INTO {table} "),
                format!("INTO TABLE {table} "),
            ]
            .iter()
            .any(|needle| folded.contains(needle))
        })
        .map(|(path, _)| path)
        .collect()
}

#[test]
fn events_are_written_by_the_one_append_path_only() {
    assert_eq!(
        writers_of("events"),
        BTreeSet::from(["crates/server/src/event_store/append.rs".to_string()])
    );
}

#[test]
fn mail_is_queued_by_the_one_outbox_function_only() {
    assert_eq!(
        writers_of("outbox"),
        BTreeSet::from(["projections/src/outbox.rs".to_string()])
    );
}

/// `crate::a::b` paths a file of the server names, as module files.
fn imports(path: &str, text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let own = module_of(path);
    for piece in text.split("crate::").skip(1) {
        let segments: Vec<&str> = piece
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .next()
            .unwrap_or("")
            .split("::")
            .filter(|s| !s.is_empty())
            .collect();
        // The longest prefix that is a module of ours.
        for length in (1..=segments.len()).rev() {
            let candidate = segments[..length].join("::");
            if modules.contains(&candidate) {
                if candidate != own {
                    found.insert(candidate);
                }
                break;
            }
        }
    }
    // `super::x` from a submodule names a sibling.
    if let Some(parent) = own.rsplit_once("::").map(|(parent, _)| parent.to_string()) {
        for piece in text.split("super::").skip(1) {
            let name: String = piece
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let candidate = format!("{parent}::{name}");
            if modules.contains(&candidate) && candidate != own {
                found.insert(candidate);
            }
        }
    }
    found
}

/// `crates/server/src/web/auth.rs` → `web::auth`; `…/web/mod.rs` → `web`.
fn module_of(path: &str) -> String {
    let inner = path
        .trim_start_matches("crates/server/src/")
        .trim_end_matches(".rs")
        .trim_end_matches("/mod");
    inner.replace('/', "::")
}

#[test]
fn the_servers_modules_import_each_other_without_a_cycle() {
    let files: Vec<(String, String)> = rust_files(&root().join("crates/server/src"))
        .into_iter()
        .filter(|(path, _)| !path.ends_with("main.rs") && !path.ends_with("lib.rs"))
        .collect();
    let modules: BTreeSet<String> = files.iter().map(|(path, _)| module_of(path)).collect();
    // A module's own `mod.rs` declaring its children is not an import of them.
    let graph: BTreeMap<String, BTreeSet<String>> = files
        .iter()
        .map(|(path, text)| {
            let module = module_of(path);
            let uses: String = text
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .filter(|line| {
                    let line = line.trim_start();
                    !(line.starts_with("mod ")
                        || line.starts_with("pub mod ")
                        || line.starts_with("pub(crate) mod "))
                })
                .collect::<Vec<_>>()
                .join("\n");
            let mut targets = imports(path, &uses, &modules);
            // A parent re-exporting its children (`pub use child::X`) is not a cycle with them.
            targets.retain(|target| !target.starts_with(&format!("{module}::")));
            (module, targets)
        })
        .collect();
    // Depth-first search for a back edge.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let start = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, state, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node) {
            let cycle = visit(node, &graph, &mut state, &mut Vec::new());
            assert!(
                cycle.is_none(),
                "import cycle: {}",
                cycle.unwrap().join(" → ")
            );
        }
    }
}

/// The server's feature folders: each offers the others only what its `mod.rs` exports.
const FEATURES: [&str; 12] = [
    "admin",
    "api",
    "backoffice",
    "citizens",
    "documents",
    "faq",
    "frontoffice",
    "intake",
    "open311",
    "statistics",
    "tracking",
    "webhooks",
];

#[test]
fn no_feature_reaches_into_another_features_files() {
    let src = root().join("crates/server/src");
    let mut reaching = Vec::new();
    for (path, text) in rust_files(&src) {
        let own = module_of(&path)
            .split("::")
            .next()
            .unwrap_or("")
            .to_string();
        for piece in text.split("crate::").skip(1) {
            let mut segments = piece
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap_or("")
                .split("::");
            let (Some(feature), Some(inner)) = (segments.next(), segments.next()) else {
                continue;
            };
            if inner.is_empty() {
                continue;
            }
            let is_file = src.join(feature).join(format!("{inner}.rs")).exists()
                || src.join(feature).join(inner).is_dir();
            if FEATURES.contains(&feature) && feature != own && is_file {
                reaching.push(format!("{path} uses crate::{feature}::{inner}"));
            }
        }
    }
    assert!(reaching.is_empty(), "{reaching:#?}");
}

#[test]
fn no_source_file_is_over_600_lines_and_no_test_file_over_800() {
    let too_long: Vec<String> = production_sources()
        .into_iter()
        .map(|(path, text)| (path, text.lines().count(), 600))
        .chain(
            rust_files(&root().join("tests"))
                .into_iter()
                .map(|(path, text)| (path, text.lines().count(), 800)),
        )
        .filter(|(_, lines, limit)| lines > limit)
        .map(|(path, lines, limit)| format!("{path}: {lines} lines (at most {limit})"))
        .collect();
    assert!(too_long.is_empty(), "{too_long:#?}");
}

#[test]
fn publiccode_yml_has_the_keys_the_catalogue_requires() {
    let text = std::fs::read_to_string(root().join("publiccode.yml")).unwrap();
    let top: BTreeSet<&str> = text
        .lines()
        .filter(|line| !line.starts_with(' ') && !line.starts_with('#') && line.contains(':'))
        .map(|line| line.split(':').next().unwrap())
        .collect();
    for key in [
        "publiccodeYmlVersion",
        "name",
        "url",
        "platforms",
        "categories",
        "developmentStatus",
        "softwareType",
        "description",
        "legal",
        "maintenance",
        "localisation",
    ] {
        assert!(top.contains(key), "publiccode.yml lacks {key}");
    }
    assert!(text.contains("publiccodeYmlVersion: \"0.4\""));
    for nested in [
        "  license: EUPL-1.2",
        "  type: ",
        "  localisationReady: true",
        "  availableLanguages:",
        "    shortDescription: ",
        "    longDescription: ",
        "    features:",
    ] {
        assert!(text.contains(nested), "publiccode.yml lacks {nested:?}");
    }
    let long = text
        .split("longDescription: ")
        .nth(1)
        .unwrap()
        .split("\n    features:")
        .next()
        .unwrap();
    assert!(
        long.len() >= 150,
        "the long description has at least 150 characters"
    );
    assert!(root().join("LICENSE").exists());
}
