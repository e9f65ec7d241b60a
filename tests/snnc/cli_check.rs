//! The real `snnc` binary: exit codes of `check` and `graph`, `--help` on
//! every command, and the DOT output rendered by Graphviz when installed.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs the real binary in the repository's root.
pub fn snnc(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the snnc binary runs")
}

#[test]
fn check_accepts_an_example_with_status_0() {
    let out = snnc(&["check", "examples/yinyang.snn"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("network yinyang: dt = 1 ms, 27 steps"), "{stdout}");
    assert!(stdout.contains("960 trainable parameters"), "{stdout}");
    assert!(!stdout.contains("integration"), "the default membrane step is not named: {stdout}");
}

/// A population stepped by the exact integration says so; the others
/// (the default) do not.
#[test]
fn check_names_a_population_stepped_by_the_exact_integration() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let text = std::fs::read_to_string("examples/yinyang.snn").expect("the example");
    let text =
        text.replacen("threshold = 1.0; reset = zero }", "threshold = 1.0; reset = zero; integration = exact }", 1);
    let path = dir.path().join("exact.snn");
    std::fs::write(&path, text).expect("written");
    let out = snnc(&["check", path.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| l.contains("integration exact")).collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(lines[0].trim_start().starts_with("hidden"), "{stdout}");
}

#[test]
fn check_rejects_a_malformed_file_with_status_1_and_a_diagnostic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.snn");
    std::fs::write(
        &path,
        "network n {\n    time { dt = 1 ms; steps = 20 }\n    population o = lif(3) { tau_mem = 20 steps }\n}\n",
    )
    .expect("write");
    let out = snnc(&["check", path.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("snn::check::wrong_unit"), "{stderr}");
    assert!(stderr.contains("bad.snn:3:"), "the report points into the file: {stderr}");
}

#[test]
fn a_missing_file_is_rejected_with_status_1() {
    let out = snnc(&["check", "examples/no_such_file.snn"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[test]
fn every_command_has_help() {
    for cmd in [&["--help"][..], &["check", "--help"], &["graph", "--help"], &["train", "--help"], &["place", "--help"]]
    {
        let out = snnc(cmd);
        assert_eq!(out.status.code(), Some(0), "{cmd:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage:"), "{cmd:?}");
    }
}

#[test]
fn graph_of_deep_renders_with_graphviz() {
    let out = snnc(&["graph", "examples/deep.snn"]);
    assert_eq!(out.status.code(), Some(0));
    let dot_src = out.stdout;
    assert!(String::from_utf8_lossy(&dot_src).starts_with("digraph \"deep\" {"));
    let Ok(mut child) = Command::new("dot").arg("-Tsvg").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn() else {
        eprintln!("skipped: Graphviz `dot` is not installed (apt-get install graphviz)");
        return;
    };
    child.stdin.take().expect("stdin").write_all(&dot_src).expect("pipe to dot");
    let svg = child.wait_with_output().expect("dot finishes");
    assert!(svg.status.success(), "dot failed: {}", String::from_utf8_lossy(&svg.stderr));
    let svg = String::from_utf8_lossy(&svg.stdout);
    assert!(svg.contains("<svg"));
    for name in ["input", "h1", "h2", "h3", "output"] {
        assert!(svg.contains(&format!("<title>{name}</title>")), "node {name} missing from the SVG");
    }
}
