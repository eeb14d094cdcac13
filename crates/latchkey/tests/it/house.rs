//! The rules of the house that the compiler does not check, checked over the
//! workspace's sources (formatted by rustfmt, which these readings rely on): no
//! function outside tests runs over [`MAX_LINES`] lines, no two files of a crate import
//! each other, and no HTTP handler of the org server reaches around its services to
//! the store.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a non-test function may be, signature and closing brace included.
const MAX_LINES: usize = 80;

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`, sorted.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The `src` folders of the workspace's crates.
fn crate_sources() -> Vec<(String, PathBuf)> {
    let mut out: Vec<_> = std::fs::read_dir(crates_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("src").is_dir())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p.join("src")))
        .collect();
    out.sort();
    out
}

/// The lines of `text` outside `#[cfg(test)]` items (a test module is skipped to its
/// closing brace at its own indentation), with their numbers.
fn non_test_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            let indent = &line[..line.len() - line.trim_start().len()];
            let close = format!("{indent}}}");
            let item_is_one_line = lines.peek().is_some_and(|(_, next)| next.trim_end().ends_with(';'));
            if item_is_one_line {
                lines.next();
                continue;
            }
            for (_, inner) in lines.by_ref() {
                if inner == close {
                    break;
                }
            }
            continue;
        }
        out.push((n + 1, line));
    }
    out
}

/// The name of the function whose signature starts on `line`, if one does.
fn function_named(line: &str) -> Option<String> {
    let mut rest = line.trim_start();
    for qualifier in ["pub(crate) ", "pub(super) ", "pub ", "const ", "async ", "unsafe "] {
        rest = rest.strip_prefix(qualifier).unwrap_or(rest);
    }
    let name: String = rest
        .strip_prefix("fn ")?
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Functions longer than [`MAX_LINES`] in `text`: (first line, name, length).
fn long_functions(text: &str) -> Vec<(usize, String, usize)> {
    let lines = non_test_lines(text);
    let mut out = Vec::new();
    for (i, (first, line)) in lines.iter().enumerate() {
        let Some(name) = function_named(line) else {
            continue;
        };
        // A declaration without a body (in a trait) ends in `;` before any `{`.
        let opens = lines[i..]
            .iter()
            .find(|(_, l)| l.trim_end().ends_with('{') || l.trim_end().ends_with(';'));
        if opens.is_none_or(|(_, l)| l.trim_end().ends_with(';')) {
            continue;
        }
        let indent = &line[..line.len() - line.trim_start().len()];
        let close = format!("{indent}}}");
        if let Some((last, _)) = lines[i..].iter().find(|(_, l)| *l == close) {
            let length = last - first + 1;
            if length > MAX_LINES {
                out.push((*first, name, length));
            }
        }
    }
    out
}

#[test]
fn no_function_outside_tests_is_longer_than_eighty_lines() {
    let mut long = Vec::new();
    for (_, src) in crate_sources() {
        for file in sources(&src) {
            if file.file_name().is_some_and(|f| f == "tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for (line, name, length) in long_functions(&text) {
                long.push(format!("{}:{line} {name} ({length} lines)", file.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_length_rule_reads_functions_as_rustfmt_writes_them() {
    let body: String = (0..MAX_LINES).map(|n| format!("    let x{n} = {n};\n")).collect();
    let text = format!(
        "fn short() {{\n    1;\n}}\n\npub async fn long() {{\n{body}}}\n\n#[cfg(test)]\nmod tests {{\n    fn in_a_test() {{\n{body}    }}\n}}\n"
    );
    let found = long_functions(&text);
    assert_eq!(found, vec![(5, "long".to_owned(), MAX_LINES + 2)]);
}

/// The files of a crate's `src` that one file names, by module path (`crate::a::b`,
/// `super::c`, `self::d`), resolved to the longest prefix that is a file.
fn imports(src: &Path, file: &Path, modules: &BTreeMap<Vec<String>, PathBuf>) -> BTreeSet<PathBuf> {
    let own = module_of(src, file);
    let text = std::fs::read_to_string(file).unwrap();
    let code: String = non_test_lines(&text)
        .into_iter()
        .map(|(_, l)| l)
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let bytes = code.as_bytes();
    for base in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(base) {
            let start = from + at;
            from = start + base.len();
            if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
                continue;
            }
            for path in expand_use_tree(use_tree_at(&code[start..])) {
                if let Some(target) = resolve(&path, &own, modules) {
                    if target != *file {
                        out.insert(target);
                    }
                }
            }
        }
    }
    out
}

/// The path that starts `code`, with its braced groups (`super::{a, b::{c, d}}`).
fn use_tree_at(code: &str) -> &str {
    let mut depth = 0usize;
    for (i, c) in code.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return &code[..i],
            '}' => depth -= 1,
            c if c.is_alphanumeric() || c == '_' || c == ':' => {}
            c if depth > 0 && (c == ',' || c.is_whitespace()) => {}
            _ => return &code[..i],
        }
    }
    code
}

/// Every path a use tree names: `a::{b, c::{d, self}}` → `a::b`, `a::c::d`, `a::c`.
fn expand_use_tree(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.trim_end_matches("::self").to_owned()];
    };
    let prefix = &tree[..open];
    let inner = tree[open + 1..].strip_suffix('}').unwrap_or(&tree[open + 1..]);
    let (mut parts, mut depth, mut from) = (Vec::new(), 0usize, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&inner[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[from..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand_use_tree(&format!("{prefix}{}", p.trim())))
        .collect()
}

/// The file a module path (`crate::a::b`, `super::c`, `self::d`) seen from module `own`
/// names: the longest prefix that is a file.
fn resolve(path: &str, own: &[String], modules: &BTreeMap<Vec<String>, PathBuf>) -> Option<PathBuf> {
    let path: Vec<String> = path.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let mut segments = path.into_iter();
    let first = segments.next().unwrap_or_default();
    let mut current: Vec<String> = match first.as_str() {
        "crate" => Vec::new(),
        "super" => {
            // `super` of `a/b.rs` is `a`; of `a/b/mod.rs`, too, is `a`.
            let mut m = own.to_vec();
            m.pop();
            m
        }
        _ => own.to_vec(),
    };
    let mut rest: Vec<String> = segments.collect();
    while rest.first().is_some_and(|s| s == "super") {
        current.pop();
        rest.remove(0);
    }
    (1..=rest.len()).rev().find_map(|k| {
        let mut candidate = current.clone();
        candidate.extend(rest[..k].iter().cloned());
        modules.get(&candidate).cloned()
    })
}

#[test]
fn the_import_rule_reads_braced_groups() {
    let code = "super::{bench_records, Failure, x::{y, self}};\nfn f() {}";
    assert_eq!(use_tree_at(code), "super::{bench_records, Failure, x::{y, self}}");
    assert_eq!(
        expand_use_tree(use_tree_at(code)),
        ["super::bench_records", "super::Failure", "super::x::y", "super::x"]
    );
    assert_eq!(use_tree_at("crate::a::B { x: 1 }"), "crate::a::B");
}

/// `a/b.rs` → `[a, b]`; `a/mod.rs` → `[a]`; `lib.rs` → `[]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|l| l == "mod" || l == "lib" || l == "main") {
        parts.pop();
    }
    parts
}

#[test]
fn no_two_files_of_a_crate_import_each_other() {
    let mut cycles = Vec::new();
    for (name, src) in crate_sources() {
        let files = sources(&src);
        let modules: BTreeMap<_, _> = files.iter().map(|f| (module_of(&src, f), f.clone())).collect();
        let graph: BTreeMap<_, _> = files.iter().map(|f| (f.clone(), imports(&src, f, &modules))).collect();
        for (a, deps) in &graph {
            for b in deps {
                if a < b && graph[b].contains(a) {
                    cycles.push(format!(
                        "{name}: {} <-> {}",
                        a.strip_prefix(&src).unwrap().display(),
                        b.strip_prefix(&src).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "files that import each other:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn org_handlers_go_through_the_services_not_around_them() {
    let http = crates_dir().join("org/src/http");
    let mut reaching = Vec::new();
    for file in sources(&http) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in non_test_lines(&text) {
            let around = [
                ".store.",
                ".store)",
                ".hasher.",
                ".caches.",
                "latchkey_store::Write",
                "::conn()",
            ];
            if around.iter().any(|a| line.contains(a)) {
                reaching.push(format!("{}:{n}: {}", file.display(), line.trim()));
            }
        }
    }
    assert!(
        reaching.is_empty(),
        "handlers reaching the store:\n{}",
        reaching.join("\n")
    );
}
