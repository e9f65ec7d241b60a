//! The house rules, checked (after rust-analyzer's `xtask/src/tidy.rs`).
//!
//! Every Rust source file opens with a `//!` comment that says what it is;
//! every repository path a document or a comment names exists; no build
//! output is tracked; every `#[ignore]` gives its reason; no compiler stage
//! imports a sibling stage (they share the IR types in `compiler/src/ir`
//! and the machine model, never each other; a file in a neuron model's or a
//! loss's folder, `compiler/src/models/` and `compiler/src/losses/`, counts
//! as part of the stage that declares it), and the modules of each crate
//! import each other without a cycle; the sources are formatted as
//! `rustfmt.toml` says. Each check names the file and line it objects to.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Files under `dir` (relative to the root) whose names end in one of
/// `exts`, skipping build output and hidden folders, sorted.
fn files(dir: &str, exts: &[&str]) -> Vec<PathBuf> {
    fn walk(p: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
        let Ok(rd) = fs::read_dir(p) else { return };
        for e in rd.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "target" || name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                walk(&path, exts, out);
            } else if exts.iter().any(|x| name.ends_with(x)) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join(dir), exts, &mut out);
    out.sort();
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const SOURCE_DIRS: [&str; 6] = ["compiler/src", "runtime/src", "src", "tests", "compiler/tests", "runtime/tests"];

#[test]
fn every_rust_file_says_what_it_is() {
    let mut missing = Vec::new();
    for dir in SOURCE_DIRS {
        for f in files(dir, &[".rs"]) {
            let text = read(&f);
            let first = text.lines().find(|l| !l.trim().is_empty() && !l.starts_with("#!["));
            if !first.is_some_and(|l| l.starts_with("//!")) {
                missing.push(rel(&f));
            }
        }
    }
    assert!(missing.is_empty(), "files without a leading `//!` comment:\n  {}", missing.join("\n  "));
}

/// Paths into the repository named in a text (a word starting with `docs/`,
/// `compiler/`, `runtime/`, `tests/`, ... that has a dot in it), and the
/// targets of relative Markdown links. Placeholders (`examples/X.snn`, a
/// stem in capitals) and deliberately missing files (`no_such_...`) are
/// not paths.
fn named_paths(text: &str, md_dir: Option<&Path>) -> Vec<(usize, String)> {
    const PREFIXES: [&str; 10] =
        ["docs/", "compiler/", "runtime/", "src/", "tests/", "examples/", "scripts/", ".ci/", "benches/", "support/"];
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < line.len() {
            if !line.is_char_boundary(i) {
                i += 1;
                continue;
            }
            let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || b"_-./:~$".contains(&bytes[i - 1]));
            if boundary && let Some(p) = PREFIXES.iter().find(|p| line[i..].starts_with(**p)) {
                let end = line[i..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "_-./".contains(c)))
                    .map_or(line.len(), |k| i + k);
                let path = line[i..end].trim_end_matches(['.', '/']);
                // Globs, brace lists and placeholders name families, not files.
                let family = matches!(line[end..].chars().next(), Some('*' | '{' | '<' | '$'));
                let stem = Path::new(path).file_stem().map_or(String::new(), |s| s.to_string_lossy().into_owned());
                let placeholder = stem.chars().all(|c| c.is_ascii_uppercase()) || stem.starts_with("no_such");
                if !family && !placeholder && path.len() > p.len() && path.contains('.') {
                    out.push((n + 1, path.to_string()));
                }
                i = end.max(i + 1);
                continue;
            }
            i += 1;
        }
        if let Some(dir) = md_dir {
            for target in line.split("](").skip(1).filter_map(|s| s.split(')').next()) {
                let target = target.split('#').next().unwrap_or("");
                if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let joined = dir.join(target);
                out.push((n + 1, rel(&joined)));
            }
        }
    }
    out
}

#[test]
fn every_path_a_document_or_comment_names_exists() {
    let mut docs: Vec<PathBuf> = files("docs", &[".md"]);
    docs.extend(["README.md", "ARCHITECTURE.md"].map(|f| root().join(f)));
    docs.extend(files("examples", &[".snn", ".md"]));
    let mut sources = Vec::new();
    for dir in SOURCE_DIRS {
        sources.extend(files(dir, &[".rs"]));
    }
    sources.extend(files(".ci", &[""]).into_iter().filter(|p| p.is_file()));
    let mut broken = Vec::new();
    for f in docs.iter().chain(&sources) {
        let md_dir = f.extension().is_some_and(|e| e == "md").then(|| f.parent().unwrap().to_path_buf());
        for (line, path) in named_paths(&read(f), md_dir.as_deref()) {
            // A path is relative to the repository, or to the file naming it
            // (a `support` module beside the tests that include it).
            if !root().join(&path).exists() && !f.parent().unwrap().join(&path).exists() {
                broken.push(format!("{}:{line}: {path}", rel(f)));
            }
        }
    }
    assert!(broken.is_empty(), "paths that do not exist in the repository:\n  {}", broken.join("\n  "));
}

#[test]
fn no_build_output_is_tracked() {
    let out = match Command::new("git").arg("-C").arg(root()).args(["ls-files", "-z"]).output() {
        Ok(o) if o.status.success() => o,
        // A source tarball has no index to check; a clone (CI's) always has.
        other => {
            assert!(std::env::var_os("CI").is_none(), "CI runs on a clone, but `git ls-files` failed: {other:?}");
            eprintln!("not a git checkout: skipping the tracked-files check");
            return;
        }
    };
    let tracked = String::from_utf8_lossy(&out.stdout);
    let bad: Vec<&str> = tracked
        .split('\0')
        .filter(|p| {
            p.split('/').any(|c| c == "target")
                || p.ends_with(".pending-snap")
                || p.ends_with(".snap.new")
                || p.contains("__pycache__/")
                || p.starts_with("runs/")
                || p.starts_with("sweeps/")
        })
        .collect();
    assert!(bad.is_empty(), "build or run output tracked by git:\n  {}", bad.join("\n  "));
}

#[test]
fn every_ignored_test_says_why() {
    let mut bare = Vec::new();
    for dir in SOURCE_DIRS {
        for f in files(dir, &[".rs"]) {
            for (n, line) in read(&f).lines().enumerate() {
                let t = line.trim();
                if t.starts_with("#[ignore") && !t.starts_with("#[ignore = \"") {
                    bare.push(format!("{}:{}: {t}", rel(&f), n + 1));
                }
            }
        }
    }
    assert!(bare.is_empty(), "`#[ignore]` without a reason (write `#[ignore = \"why\"]`):\n  {}", bare.join("\n  "));
}

/// The compiler's folders of one module per neuron model and per loss
/// (`compiler/src/models/<model>/`, `compiler/src/losses/<loss>/`): their
/// files are not a module of their own but parts of the stage or shared
/// module that declares them (`#[path]`), named after it.
const FOLDERS: [&str; 2] = ["models", "losses"];
/// What each file of a model's or loss's folder is part of, by its name.
const FOLDER_FILES: [(&str, &str); 4] =
    [("params.rs", "ir"), ("check.rs", "check"), ("resources.rs", "resources"), ("lower.rs", "lower")];

/// The module a file of a model's or loss's folder belongs to.
fn folder_host(f: &Path) -> &'static str {
    let name = f.file_name().unwrap_or_default().to_string_lossy();
    let found = FOLDER_FILES.iter().find(|(file, _)| *file == name);
    found.map(|(_, host)| *host).unwrap_or_else(|| {
        panic!("{}: a model's or loss's folder holds only {FOLDER_FILES:?}", rel(f));
    })
}

/// `use crate::m` edges between the top-level modules of a crate's `src`,
/// outside comments and test code (`tests.rs` files and everything after a
/// `#[cfg(test)]` line, where fixtures may reach anywhere). A file of a
/// model's or loss's folder counts as part of its host ([`folder_host`]), so
/// the stage rule holds for it as for the stage's own files.
fn module_imports(src: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for f in files(src, &[".rs"]) {
        let r = f.strip_prefix(root().join(src)).unwrap();
        let mut module =
            r.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" || r.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        if src == "compiler/src" && FOLDERS.contains(&module.as_str()) {
            module = folder_host(&f).to_string();
        }
        let text = read(&f);
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            let code = line.split("//").next().unwrap_or("");
            for (k, _) in code.match_indices("crate::") {
                let name: String =
                    code[k + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if !name.is_empty() && name != module {
                    edges
                        .entry(module.clone())
                        .or_default()
                        .entry(name)
                        .or_insert_with(|| format!("{}:{}", rel(&f), n + 1));
                }
            }
        }
    }
    edges
}

/// A cycle in `edges`, as the modules on it and where each imports the next.
fn find_cycle(edges: &BTreeMap<String, BTreeMap<String, String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeMap<String, String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|s| s == m) {
            let mut cycle: Vec<String> = stack[at..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle.windows(2).map(|w| format!("{} -> {} ({})", w[0], w[1], edges[&w[0]][&w[1]])).collect());
        }
        if !done.insert(m.to_string()) {
            return None;
        }
        stack.push(m.to_string());
        for next in edges.get(m).into_iter().flat_map(|e| e.keys()) {
            if let Some(c) = visit(next, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    edges.keys().find_map(|m| visit(m, edges, &mut Vec::new(), &mut done))
}

#[test]
fn the_modules_of_each_crate_import_each_other_without_a_cycle() {
    for src in ["compiler/src", "runtime/src", "src"] {
        let edges = module_imports(src);
        if let Some(cycle) = find_cycle(&edges) {
            panic!("an import cycle in {src}:\n  {}", cycle.join("\n  "));
        }
    }
}

#[test]
fn no_compiler_stage_imports_a_sibling_stage() {
    // The mapping stages, in pipeline order, and what each may read besides
    // the shared vocabulary: the IR types, the machine model, the resource
    // model, the numerics and the kernel IR (ARCHITECTURE.md, "Invariants").
    const STAGES: [&str; 7] = ["syntax", "check", "partition", "place", "route", "lower", "verify"];
    const SHARED: [&str; 6] = ["ir", "network", "machine", "resources", "numerics", "kernel"];
    // `check` reads the syntax tree, which is the front end's output.
    let extra = |stage: &str| -> &[&str] { if stage == "check" { &["syntax"] } else { &[] } };
    let edges = module_imports("compiler/src");
    let mut bad = Vec::new();
    for stage in STAGES {
        for (to, at) in edges.get(stage).into_iter().flatten() {
            if !SHARED.contains(&to.as_str()) && !extra(stage).contains(&to.as_str()) {
                bad.push(format!("{at}: {stage} imports {to}"));
            }
        }
    }
    assert!(bad.is_empty(), "a stage imports a sibling (move the type into compiler/src/ir):\n  {}", bad.join("\n  "));
}

#[test]
fn the_sources_are_formatted() {
    let out = Command::new(env!("CARGO")).current_dir(root()).args(["fmt", "--all", "--check"]).output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("no such command") && std::env::var_os("CI").is_none() => {
            eprintln!("rustfmt is not installed: skipping the formatting check (.ci/run installs it)");
        }
        Ok(o) => panic!(
            "`cargo fmt --all --check` found unformatted code (run `cargo fmt`):\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("could not run cargo fmt: {e}"),
    }
}
