//! Every subcommand on random argument combinations and mutated inputs
//! (issue 14): whatever the arguments, snnc never panics, exits with a status
//! of the table in `src/cmd/mod.rs` (0, 1, 2, 3, 4; 70 is a bug), and writes
//! nothing outside the output paths it was given (or its documented
//! defaults, `runs/` and `sweeps/`); its input stays as it was.
//!
//! Each case runs in a fresh scratch directory holding a small Yin-Yang
//! spec (`tiny.snn`, sometimes with a few characters changed) and, for
//! `run`, a program built from it, for `import` its NIR export (`tiny.nir`). `PROPTEST_CASES` sets the number of
//! cases (default 48).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const STATUSES: [i32; 5] = [0, 1, 2, 3, 4];

fn tiny_spec() -> String {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/yinyang.snn")).unwrap();
    let tiny = text
        .replace("lif(120)", "lif(6)")
        .replace("train = 5000", "train = 44")
        .replace("validation = 1000", "validation = 22")
        .replace("test = 1000", "test = 22")
        .replace("epochs    = 40", "epochs    = 1");
    assert_ne!(tiny, text, "examples/yinyang.snn changed shape");
    tiny
}

/// `text` with each `(position, edit)` applied: delete a character, or put
/// one of a few that matter to the grammar in its place.
fn mutate(text: &str, edits: &[(usize, u8)]) -> String {
    const CHARS: &[u8] = b"(){}=;,.0123456789-> @\n\"eaz";
    let mut bytes = text.as_bytes().to_vec();
    for &(at, e) in edits {
        if bytes.is_empty() {
            break;
        }
        let at = at % bytes.len();
        match e % 3 {
            0 => {
                bytes.remove(at);
            }
            1 => bytes[at] = CHARS[usize::from(e) % CHARS.len()],
            _ => bytes.insert(at, CHARS[usize::from(e) % CHARS.len()]),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Every file under `dir` with its contents, relative paths.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, p: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.insert(path.strip_prefix(base).unwrap().to_path_buf(), std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A value for a flag: valid ones, odd ones and wrong ones.
fn value() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "0",
        "1",
        "2",
        "-1",
        "1e300",
        "nan",
        "abc",
        "",
        "0..3",
        "3..1",
        "tiny.snn",
        "missing.snn",
        "out/x",
        ".",
        "/dev/null",
        "test",
        "train",
        "validation",
        "reference",
        "emulator",
        "yaml",
        "svg",
        "kernel-ir",
        "optimizer.lr=1e-3,2e-3",
        "train.seed=0..2",
        "no.such.path=1",
        "1,2,4",
    ])
    .prop_map(str::to_string)
}

/// The flags each command takes: `=V` takes a value, `=V:a|b` one that is
/// usually one of the valid `a`, `b`; and a few it does not take.
fn flags(command: &str) -> &'static [&'static str] {
    match command {
        "check" | "graph" => &["--bogus"],
        "place" => &["--format=V:yaml|svg", "--summary", "-o=out/place", "--force"],
        "build" => &["-o=out/prog", "--emit=V:kernel-ir", "--force"],
        "run" => &["--epochs=V:1|2", "--resume", "--force", "--json"],
        "emit" => &["-o=out/fw", "--force"],
        "train" => &[
            "--backend=V:reference|emulator",
            "--epochs=V:1|2",
            "--out=out/run",
            "--init-weights=V:prog/data.safetensors",
            "--resume=V:out/run",
            "--seed=V:0|3",
            "--force",
            "--json",
        ],
        "grad" => &[
            "--weights=V:prog/data.safetensors",
            "--split=V:train|validation|test",
            "--samples=V:0..3|0..1",
            "--backend=V:reference|emulator",
            "--out=out/g.safetensors",
            "--force",
        ],
        "bench" => &["--epochs=V:1", "--backend=V:reference|emulator", "--json"],
        "gradcheck" => &["--samples=V:1|2", "--seeds=V:1|2", "--exclude-grazing=V:0.01", "--samples-csv=out/s.csv"],
        "export" => &["-o=out/t.nir", "-o=out/t.nir", "--weights=V:prog/data.safetensors", "--force"],
        "import" => &[
            "-o=out/t.snn",
            "-o=out/t.snn",
            "--weights=out/w.safetensors",
            "--dt=V:1ms|0.5 ms",
            "--steps=V:27|10",
            "--name=V:n",
            "--template=V:tiny.snn",
            "--ignore-embedded",
            "--force",
        ],
        "sweep" => &[
            "--set=V:optimizer.lr=1e-3,2e-3|train.seed=0..2",
            "--trials=V:2",
            "--dir=out/sweep",
            "--backend=V:reference|emulator",
            "--epochs=V:1",
            "--jobs=V:1|2",
            "--force",
        ],
        _ => &[],
    }
}

#[derive(Debug, Clone)]
struct Case {
    command: &'static str,
    input: &'static str,
    args: Vec<String>,
    edits: Vec<(usize, u8)>,
}

fn case() -> impl Strategy<Value = Case> {
    let commands = vec![
        "check",
        "graph",
        "place",
        "build",
        "run",
        "emit",
        "train",
        "grad",
        "bench",
        "gradcheck",
        "sweep",
        "export",
        "import",
    ];
    (
        prop::sample::select(commands),
        prop::sample::select(vec![
            "tiny.snn",
            "tiny.snn",
            "tiny.snn",
            "tiny.snn",
            "tiny.snn",
            "missing.snn",
            "prog",
            ".",
        ]),
        prop::collection::vec((0usize..16, value(), prop::bool::weighted(0.7), 0usize..4), 0..4),
        prop::option::weighted(0.2, prop::collection::vec((any::<usize>(), any::<u8>()), 1..4)),
    )
        .prop_map(|(command, input, picks, edits)| {
            let pool = flags(command);
            let mut args = Vec::new();
            for (k, v, valid, which) in picks {
                if pool.is_empty() {
                    break;
                }
                let flag = pool[k % pool.len()];
                match flag.split_once('=') {
                    Some((f, spec)) if spec.starts_with('V') => {
                        let good: Vec<&str> = spec.strip_prefix("V:").map_or(Vec::new(), |g| g.split('|').collect());
                        let v = if valid && !good.is_empty() { good[which % good.len()].to_string() } else { v };
                        args.extend([f.to_string(), v]);
                    }
                    Some((f, fixed)) => args.extend([f.to_string(), fixed.to_string()]),
                    None => args.push(flag.to_string()),
                }
            }
            // Short runs only: epochs and trials from the spec unless given.
            if matches!(command, "train" | "bench" | "run") && !args.iter().any(|a| a == "--epochs") {
                args.extend(["--epochs".into(), "1".into()]);
            }
            if command == "gradcheck" && !args.iter().any(|a| a == "--refine") {
                args.extend(["--refine".into(), "1,2".into(), "--samples".into(), "2".into()]);
            }
            if command == "sweep" && !args.iter().any(|a| a == "--set") {
                args.extend(["--set".into(), "train.seed=0..2".into()]);
            }
            // import reads a NIR file: tiny.nir, exported from the unmutated spec.
            let input = if command == "import" && input == "tiny.snn" { "tiny.nir" } else { input };
            Case { command, input, args, edits: edits.unwrap_or_default() }
        })
}

/// May `path` (relative) be written by this case?
fn allowed(path: &Path, c: &Case) -> bool {
    let first = path.components().next().map(|p| p.as_os_str().to_string_lossy().into_owned()).unwrap_or_default();
    // `out/` holds every output path a case names; `runs/` and `sweeps/` are
    // train's and sweep's default directories; `prog/run` is run's.
    first == "out"
        || (first == "runs" && c.command == "train")
        || (first == "sweeps" && c.command == "sweep")
        || (path.starts_with("prog/run") && c.command == "run")
}

fn run_case(bin: &Path, tiny: &str, prog: &Path, c: &Case) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.snn"), mutate(tiny, &c.edits)).unwrap();
    std::fs::copy(prog.with_file_name("tiny.nir"), dir.path().join("tiny.nir")).unwrap();
    copy_dir(prog, &dir.path().join("prog"));
    let before = snapshot(dir.path());
    let mut argv = vec![c.command.to_string()];
    if c.command != "sweep" || !c.args.is_empty() {
        argv.push(c.input.to_string());
    }
    argv.extend(c.args.iter().cloned());
    let out = Command::new(bin).args(&argv).current_dir(dir.path()).env("NO_COLOR", "1").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let status = out.status.code();
    prop_assert!(
        status.is_some_and(|s| STATUSES.contains(&s)),
        "snnc {} exited {status:?} (not in the table):\n{stderr}",
        argv.join(" ")
    );
    prop_assert!(!stderr.contains("panicked"), "snnc {} panicked:\n{stderr}", argv.join(" "));
    let after = snapshot(dir.path());
    for (path, bytes) in &after {
        if before.get(path) != Some(bytes) {
            prop_assert!(allowed(path, c), "snnc {} wrote {} outside its outputs", argv.join(" "), path.display());
        }
    }
    for path in before.keys() {
        prop_assert!(after.contains_key(path), "snnc {} removed {}", argv.join(" "), path.display());
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn every_subcommand_on_random_arguments_exits_by_the_table_and_writes_only_its_outputs() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_snnc"));
    let tiny = tiny_spec();
    // A program built once from the unmutated spec, copied into each case.
    let base = tempfile::tempdir().unwrap();
    std::fs::write(base.path().join("tiny.snn"), &tiny).unwrap();
    let built = Command::new(&bin).args(["build", "tiny.snn", "-o", "prog"]).current_dir(base.path()).output().unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let prog = base.path().join("prog");
    let exported =
        Command::new(&bin).args(["export", "tiny.snn", "-o", "tiny.nir"]).current_dir(base.path()).output().unwrap();
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    runner.run(&case(), |c| run_case(&bin, &tiny, &prog, &c)).unwrap();
}
