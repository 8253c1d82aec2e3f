//! The shape of the code, as ARCHITECTURE.md states it: no long functions,
//! no huge files, sled named only in the store crate.

use std::path::{Path, PathBuf};

/// Most lines in one function outside tests.
const FUNCTION_LINES_MAX: usize = 120;
/// Most lines in one source file.
const FILE_LINES_MAX: usize = 800;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn workspace_sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("crates"),
        &mut files,
    );
    files.sort();
    files
}

/// The functions of `text` outside `#[cfg(test)]` modules that are longer
/// than `max` lines: (first line, name, lines). rustfmt's layout is relied
/// on: a function's closing brace is the first line after its signature
/// that is exactly its indentation and `}`.
fn long_functions(text: &str, max: usize) -> Vec<(usize, String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim_start() == "#[cfg(test)]" {
            break; // test modules close every file that has one
        }
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let signature = [
            "pub ",
            "pub(crate) ",
            "pub(super) ",
            "async ",
            "const ",
            "unsafe ",
        ]
        .iter()
        .fold(trimmed, |t, prefix| t.strip_prefix(prefix).unwrap_or(t));
        let Some(rest) = signature.strip_prefix("fn ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let close = format!("{}}}", " ".repeat(indent));
        if let Some(end) = lines[i..].iter().position(|l| *l == close) {
            if end + 1 > max {
                found.push((i + 1, name, end + 1));
            }
        }
    }
    found
}

#[test]
fn no_function_outside_tests_is_longer_than_the_limit() {
    let mut long = Vec::new();
    for path in workspace_sources() {
        if path.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (line, name, lines) in long_functions(&text, FUNCTION_LINES_MAX) {
            long.push(format!("{}:{line} {name}: {lines} lines", path.display()));
        }
    }
    assert!(
        long.is_empty(),
        "functions over {FUNCTION_LINES_MAX} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checker_finds_a_long_function() {
    let body = "    let x = 1;\n".repeat(FUNCTION_LINES_MAX);
    let text = format!("fn short() {{\n}}\n\npub(crate) fn long() {{\n{body}}}\n");
    assert_eq!(
        long_functions(&text, FUNCTION_LINES_MAX),
        vec![(4, "long".to_string(), FUNCTION_LINES_MAX + 2)]
    );
    let in_tests = format!("#[cfg(test)]\nmod tests {{\n{text}}}\n");
    assert!(long_functions(&in_tests, FUNCTION_LINES_MAX).is_empty());
}

#[test]
fn no_source_file_is_longer_than_the_limit() {
    let long: Vec<String> = workspace_sources()
        .into_iter()
        .filter_map(|path| {
            let lines = std::fs::read_to_string(&path).unwrap().lines().count();
            (lines > FILE_LINES_MAX).then(|| format!("{}: {lines} lines", path.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "files over {FILE_LINES_MAX} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn only_the_store_crate_names_sled() {
    let store = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/store");
    let naming: Vec<String> = workspace_sources()
        .into_iter()
        .filter(|path| !path.starts_with(&store))
        .filter(|path| std::fs::read_to_string(path).unwrap().contains("sled"))
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        naming.is_empty(),
        "sled is named outside crates/store: {naming:?}"
    );
}
