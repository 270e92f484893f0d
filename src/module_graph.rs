//! A test that the crate's top-level modules (`src/X.rs` with `src/X/`) depend on each other
//! without cycles: a cycle means two modules that can only be understood, changed and tested
//! together. A module depends on another when its non-test code names it: `use crate::X`,
//! `crate::X::f()` inline, or `crate::{X, Y}` (comments, `#[cfg(test)] mod tests` blocks and
//! `tests.rs` / `*_tests.rs` files do not count).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// module -> module it names -> where (file:line), first few.
type Graph = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file under `src` belongs to (`None`: the crate root, main.rs).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

fn is_test_file(file: &str) -> bool {
    let name = file.rsplit('/').next().unwrap_or(file);
    name == "tests.rs" || name.ends_with("_tests.rs")
}

/// The module names a piece of code refers to through `crate::`, with their line numbers.
fn references(code: &str, modules: &BTreeSet<String>) -> Vec<(String, usize)> {
    let code = code
        .split_once("#[cfg(test)]\nmod tests")
        .map_or(code, |(before, _)| before);
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let line = line.split_once(" //").map_or(line, |(code, _)| code);
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                // `crate::{a::X, b, c::{Y, Z}}`: the names at the group's first level.
                let mut depth = 1;
                let mut start = true;
                let mut names = Vec::new();
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        ',' if depth == 1 => start = true,
                        c if start && depth == 1 && (c.is_alphanumeric() || c == '_') => {
                            let end = group[i..]
                                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                                .map_or(group.len(), |e| i + e);
                            names.push(&group[i..end]);
                            start = false;
                        }
                        _ => {}
                    }
                }
                names
            } else {
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                vec![&rest[..end]]
            };
            for name in names {
                if modules.contains(name) {
                    found.push((name.to_string(), n + 1));
                }
            }
        }
    }
    found
}

/// The graph of `files` ((module, file name, text)) over `modules`.
fn graph_of(files: &[(String, String, String)], modules: &BTreeSet<String>) -> Graph {
    let mut g = Graph::new();
    for (module, file, text) in files {
        if is_test_file(file) {
            continue;
        }
        for (to, line) in references(text, modules) {
            if &to != module {
                let at = g.entry(module.clone()).or_default().entry(to).or_default();
                if at.len() < 3 {
                    at.push(format!("{file}:{line}"));
                }
            }
        }
    }
    g
}

/// One cycle of `g` (its modules in order, the first repeated at the end), if any.
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        g: &Graph,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in g.get(node).into_iter().flat_map(|e| e.keys()) {
            if let Some(c) = visit(g, next, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|n| visit(g, n, &mut Vec::new(), &mut done))
}

#[test]
fn top_level_modules_have_no_import_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    let files: Vec<(String, String, String)> = paths
        .iter()
        .filter_map(|p| {
            let module = module_of(&src, p)?;
            let name = p.strip_prefix(&src).ok()?.display().to_string();
            let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{name}: {e}"));
            Some((module, name, text))
        })
        .collect();
    let modules: BTreeSet<String> = files.iter().map(|(m, _, _)| m.clone()).collect();
    assert!(
        modules.contains("daemon") && modules.contains("http"),
        "{modules:?}"
    );
    let g = graph_of(&files, &modules);
    // The listener and the daemon, the knowledge base and the operator's commands, the
    // configuration and the responder it configures: once a cycle, now one way.
    for (from, to) in [
        ("daemon", "http"),
        ("http", "daemon"),
        ("knowledge", "ops"),
        ("config", "responder"),
    ] {
        assert!(
            !g.get(from).is_some_and(|e| e.contains_key(to)),
            "{from} depends on {to} again: {:?}",
            g[from][to]
        );
    }
    if let Some(cycle) = find_cycle(&g) {
        let edges: Vec<String> = cycle
            .windows(2)
            .map(|w| format!("{} -> {} ({})", w[0], w[1], g[&w[0]][&w[1]].join(", ")))
            .collect();
        panic!("module cycle {}:\n{}", cycle.join(" -> "), edges.join("\n"));
    }
}

#[test]
fn the_check_sees_inline_paths_and_groups_and_skips_comments_and_tests() {
    let modules: BTreeSet<String> = ["a", "b", "c", "d"].map(String::from).into();
    let file =
        |m: &str, name: &str, text: &str| (m.to_string(), name.to_string(), text.to_string());
    let files = vec![
        file("a", "a.rs", "use crate::{b::X, c::{Y, Z}};\n// crate::d\n"),
        file(
            "b",
            "b/mod.rs",
            "fn f() { crate::c::g() } // crate::d::h()\n",
        ),
        file(
            "c",
            "c.rs",
            "fn g() {}\n#[cfg(test)]\nmod tests {\n    use crate::a;\n}\n",
        ),
        file("d", "d/x_tests.rs", "use crate::a;\n"),
    ];
    let g = graph_of(&files, &modules);
    let names = |m: &str| g.get(m).map(|e| e.keys().cloned().collect::<Vec<_>>());
    assert_eq!(names("a"), Some(vec!["b".to_string(), "c".to_string()]));
    assert_eq!(names("b"), Some(vec!["c".to_string()]));
    assert_eq!(names("c"), None);
    assert_eq!(names("d"), None);
    assert_eq!(find_cycle(&g), None);

    let mut files = files;
    files.push(file("c", "c/inner.rs", "pub fn h() { crate::a::k(); }\n"));
    let cycle = find_cycle(&graph_of(&files, &modules)).expect("a cycle");
    assert_eq!(cycle.first(), cycle.last());
    assert!(cycle.contains(&"c".to_string()) && cycle.contains(&"a".to_string()));
}
