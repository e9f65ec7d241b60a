//! The README's shown outputs are current. Every `$ snnc ...` line of a
//! ```` ```text ```` block whose output is deterministic (`check`, `graph`,
//! `place`, `build`, `emit`, `export`, `import`) is run in a scratch
//! directory (beside `examples/`, `tests/fixtures/nir/` and the README's
//! `demo.snn`, `tests/fixtures/readme/`), in the README's order, and
//! its output (stdout, then stderr) must equal the lines the README shows
//! under it; a block marked `# excerpt` must show a subsequence of them.
//! Commands that print timings (`train`, `grad`, `bench`, `sweep`,
//! `gradcheck`) are real runs pasted by hand and are not compared.
//!
//! `SNNC_BLESS=1 cargo test --test snnc readme` rewrites the compared
//! outputs in README.md from the runs.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One shown command: its line in the README, its text, and the output
/// lines under it (`first..end`, line indices).
struct Shown {
    line: usize,
    command: String,
    excerpt: bool,
    output: std::ops::Range<usize>,
}

fn shown_commands(lines: &[&str]) -> Vec<Shown> {
    let mut out = Vec::new();
    let mut in_text = false;
    let mut current: Option<Shown> = None;
    for (i, l) in lines.iter().enumerate() {
        if !in_text {
            in_text = *l == "```text";
            continue;
        }
        let end = *l == "```";
        if (end || l.starts_with("$ "))
            && let Some(mut s) = current.take()
        {
            s.output.end = i;
            out.push(s);
        }
        if end {
            in_text = false;
        } else if let Some(cmd) = l.strip_prefix("$ ") {
            let (command, comment) = cmd.split_once("  #").map_or((cmd, ""), |(c, k)| (c, k));
            current = Some(Shown {
                line: i + 1,
                command: command.trim().to_string(),
                excerpt: comment.trim_start().starts_with("excerpt"),
                output: i + 1..i + 1,
            });
        }
    }
    out
}

/// The arguments of a shown `snnc` command that this test runs, or `None`.
fn runnable(command: &str) -> Option<Vec<String>> {
    // What is piped or redirected is shown as snnc prints it.
    let command = command.split(['|', '>']).next()?.trim();
    let words: Vec<String> = command.split_whitespace().map(str::to_string).collect();
    let deterministic = ["check", "graph", "place", "build", "emit", "export", "import"];
    (words.first()? == "snnc" && deterministic.contains(&words.get(1)?.as_str())).then(|| words[1..].to_vec())
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snnc-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(root().join("examples"), dir.join("examples")).unwrap();
    std::fs::create_dir_all(dir.join("tests/fixtures")).unwrap();
    std::os::unix::fs::symlink(root().join("tests/fixtures/nir"), dir.join("tests/fixtures/nir")).unwrap();
    for f in std::fs::read_dir(root().join("tests/fixtures/readme")).unwrap().flatten() {
        std::fs::copy(f.path(), dir.join(f.file_name())).unwrap();
    }
    dir
}

fn run(dir: &Path, args: &[String]) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_snnc")).args(args).current_dir(dir).output().expect("running snnc");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text += &String::from_utf8_lossy(&out.stderr);
    text.lines().map(|l| l.trim_end().to_string()).collect()
}

/// Whether `shown` is `actual` with lines left out (an excerpt may start
/// and end with `...`).
fn is_excerpt(shown: &[&str], actual: &[String]) -> bool {
    let mut it = actual.iter();
    shown.iter().filter(|l| l.trim() != "...").all(|l| it.any(|a| a == l.trim_end()))
}

#[test]
fn readme_outputs_are_current() {
    let path = root().join("README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let bless = std::env::var("SNNC_BLESS").is_ok_and(|v| v == "1");
    let dir = scratch();
    let mut stale = Vec::new();
    let mut replaced: Vec<(std::ops::Range<usize>, Vec<String>)> = Vec::new();
    let mut compared = 0;
    for s in shown_commands(&lines) {
        let Some(args) = runnable(&s.command) else { continue };
        if s.output.is_empty() {
            continue; // nothing shown (a command the text explains)
        }
        let actual = run(&dir, &args);
        let shown = &lines[s.output.clone()];
        compared += 1;
        let ok = if s.excerpt {
            is_excerpt(shown, &actual)
        } else {
            shown.iter().copied().eq(actual.iter().map(String::as_str))
        };
        if !ok {
            if bless && !s.excerpt {
                replaced.push((s.output.clone(), actual));
            } else {
                stale.push(format!("README.md:{}: `{}` now prints:\n{}", s.line, s.command, actual.join("\n")));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if !replaced.is_empty() {
        let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        for (range, actual) in replaced.into_iter().rev() {
            out.splice(range, actual);
        }
        std::fs::write(&path, out.join("\n") + "\n").unwrap();
    }
    assert!(compared >= 6, "only {compared} shown outputs compared: did the README's blocks change shape?");
    assert!(stale.is_empty(), "stale README outputs (SNNC_BLESS=1 rewrites them):\n\n{}", stale.join("\n\n"));
}
