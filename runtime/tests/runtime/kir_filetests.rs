//! Kernel-IR filetests: every `*.kir` file under `tests/kir/` (at the
//! workspace root) is a kernel in the IR's text form whose `;` comments say
//! what to check. The runner is this one test:
//!
//! ```text
//! cargo test -p snnc-runtime --test runtime kir_filetests                    # every file
//! SNNC_KIR_FILTER=run/i32_div cargo test -p snnc-runtime --test runtime kir_filetests  # paths containing it
//! SNNC_BLESS=1 cargo test -p snnc-runtime --test runtime kir_filetests       # rewrite the emit-c expectations
//! ```
//!
//! A file starts with the checks it runs, one per line:
//!
//! - `; test verify`: the kernel parses and verifies with exactly the
//!   errors marked in the file. An error is marked on the line the
//!   verifier's [`Site`](snnc_compiler::kernel::Site) points at (the `kernel` line, a `buffer` line, a
//!   `fn` line, a parameter's `fn` line or a `var` line, or the first line
//!   of a statement) by a trailing comment `; error: CODE` or
//!   `; error: CODE "text"` (the message must contain `text`), several
//!   separated by commas; a file without marks must verify. A syntax error
//!   is marked `; error: snn::kernel::parse` on the line it points at.
//! - `; test print`: the printed kernel parses back to a kernel that prints
//!   the same (the text form round-trips).
//! - `; test run`: every `; run:` line (below) runs on the interpreter (the
//!   reference), whose outcome must meet the line's expectations; on the
//!   Cranelift JIT, which must give the same memory, packets, traps and
//!   operation counts; and as host C (the emitted code built with `cc`),
//!   which must give the same packets, traps and memory. Host C is skipped,
//!   saying why, without a `cc`.
//! - `; test emit-c`: the C the backend emits for the kernel, with the
//!   `; data:` image, equals the file next to it with the extension `.c`,
//!   and compiles without warnings. `SNNC_BLESS=1` writes the file instead.
//!
//! A run line is one fresh PE: its memory and its private DRAM region (a
//! kernel's `dram WORDS`) are zero, then the `; data:` values, then its
//! `with` values; it runs the invocations in order and is checked after the
//! last:
//!
//! ```text
//! ; data: weights = [0.5, -0.25], dram = [1u, 2.5]   (the image of emit-c and every run)
//! ; run: CALL, CALL, ... [with BUF = [V, ...], dram = [V, ...], ...] -> EXPECT, EXPECT, ...
//! CALL    init | packet(KEY) | packet(KEY, PAYLOAD) | tick_forward(STEP) | tick_backward(STEP)
//!         | end_of_sample | end_of_batch             (`init` only first)
//! EXPECT  BUF == [V, ...]        the whole buffer
//!         BUF[I] == V            one element
//!         dram == [V, ...]       the whole private DRAM region (values of any type but
//!         dram[I] == V           bool, compared by their bits); one word of it
//!         sends == [(KEY), (KEY, PAYLOAD), ...]   every packet sent, in order
//!         counts == [CLASS N, ...]   operations executed (OpClass names; others 0)
//!         trap division_by_zero | trap division_overflow | trap out_of_bounds(BUF, INDEX)
//!         | trap dma_out_of_bounds(BUF, INDEX, WORDS) | trap dram_out_of_bounds(ADDRESS, WORDS)
//!         ok                     nothing more than: no invocation traps
//! ```
//!
//! Values are constants of the text form, typed: `1.5`, `-0.0`, `inf`,
//! `nan(0x7fa00001)` (f32), `-3i` (i32), `3u`, `0x10000u` (u32), `true`
//! (bool); a buffer value has the buffer's element type, a key and STEP
//! their parameter's (`u32`, `i32`), a payload any non-bool type (its bits
//! are sent); `dram = [..]` sets the region's words from word 0, of any type
//! but bool (their bits), and the host C checks the region at the end too.
//! Without a `trap` expectation no invocation may trap; with one,
//! the last must trap so and no other. The host C program always starts
//! with `init`; a run that does not is built from a copy of the kernel
//! whose `init` is empty. Other `;` comments are free text, but may not
//! start with `test`, `run`, `data` or `error` followed by a space or `:`.

use crate::c_harness;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use c_harness::{Case, build_host, expected_transcript, first_difference, host_script, run, split_transcripts, tool};
use snnc_compiler::emit::c::{emit_kernel, support_files};
use snnc_compiler::kernel::{
    EntryPoint, Invocation, Kernel, OpClass, OpCounts, Packet, SourceMap, Trap, Ty, Value, VerifiedKernel,
    parse_kernel, parse_kernel_with_map, parse_value, print_kernel, verify,
};
use snnc_runtime::interp::Interpreter;
use snnc_runtime::jit::JitKernel;

#[test]
fn kir_filetests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/kir");
    let filter = std::env::var("SNNC_KIR_FILTER").unwrap_or_default();
    let bless = std::env::var("SNNC_BLESS").is_ok_and(|v| v == "1");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no .kir files under {}", root.display());
    let mut runner = Runner { bless, ..Runner::default() };
    for file in &files {
        let name = file.strip_prefix(&root).unwrap_or(file).display().to_string();
        if name.contains(&filter) {
            runner.file(file, &name);
        }
    }
    runner.host_c();
    if filter.is_empty() {
        runner.every_verifier_error_has_a_file();
    }
    let counts: Vec<String> = runner.checks.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!("{} files: {}", runner.files, counts.join(", "));
    assert!(runner.files > 0, "SNNC_KIR_FILTER={filter} matches no file");
    if !runner.failures.is_empty() {
        panic!("{} failure(s):\n\n{}", runner.failures.len(), runner.failures.join("\n\n"));
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "kir") {
            out.push(path);
        } else if path.extension().is_some_and(|e| e == "c") && !path.with_extension("kir").is_file() {
            panic!("{}: an emit-c expectation without its .kir file", path.display());
        }
    }
}

/// The state of a whole run: failures, counts, and the host C programs
/// collected from every file (built and run together at the end).
#[derive(Default)]
struct Runner {
    bless: bool,
    files: usize,
    checks: BTreeMap<&'static str, usize>,
    failures: Vec<String>,
    /// Run lines for host C: (file:line, case).
    c_runs: Vec<(String, Case)>,
    /// emit-c outputs to compile: (file, C source).
    c_emitted: Vec<(String, String)>,
    /// The error codes marked in the files.
    marked: std::collections::BTreeSet<String>,
}

/// The directives of one file.
#[derive(Default)]
struct Directives {
    tests: Vec<String>,
    /// `; error:` marks: (line, code, message substring).
    errors: Vec<(usize, String, Option<String>)>,
    data: Option<(usize, String)>,
    runs: Vec<(usize, String)>,
}

const TESTS: [&str; 4] = ["verify", "print", "run", "emit-c"];

/// Reads the `;` directives of a file; `Err` for a malformed one.
fn directives(text: &str) -> Result<Directives, String> {
    let mut d = Directives::default();
    let mut header = true;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let Some(at) = line.find(';') else {
            header &= line.trim().is_empty() && d.tests.is_empty();
            continue;
        };
        let code = line[..at].trim();
        let comment = line[at + 1..].trim();
        let word = comment.split([' ', ':']).next().unwrap_or("");
        let is_directive = ["test", "run", "data", "error"].contains(&word) && comment.len() > word.len();
        if !code.is_empty() {
            header = false;
            let Some(marks) = comment.strip_prefix("error:") else {
                if is_directive {
                    return Err(format!("line {n}: only `; error:` may follow code"));
                }
                continue;
            };
            for (code, text) in error_marks(marks).map_err(|e| format!("line {n}: {e}"))? {
                d.errors.push((n, code, text));
            }
            continue;
        }
        if !is_directive {
            header = false;
            continue;
        }
        if let Some(test) = comment.strip_prefix("test ") {
            let test = test.trim();
            if !header {
                return Err(format!("line {n}: `; test` lines come first"));
            }
            if !TESTS.contains(&test) {
                return Err(format!("line {n}: unknown test `{test}` (tests: {})", TESTS.join(", ")));
            }
            d.tests.push(test.to_string());
            continue;
        }
        header = false;
        if let Some(run) = comment.strip_prefix("run:") {
            d.runs.push((n, run.trim().to_string()));
        } else if let Some(data) = comment.strip_prefix("data:") {
            if d.data.is_some() {
                return Err(format!("line {n}: a second `; data:` line"));
            }
            d.data = Some((n, data.trim().to_string()));
        } else if comment.starts_with("error:") {
            return Err(format!("line {n}: `; error:` goes at the end of the offending line"));
        } else {
            return Err(format!("line {n}: malformed directive `;{}`", &line[at + 1..]));
        }
    }
    if d.tests.is_empty() {
        return Err("the file does not start with `; test` lines".to_string());
    }
    let has = |t: &str| d.tests.iter().any(|x| x == t);
    if !d.errors.is_empty() && !has("verify") {
        return Err("`; error:` marks without `; test verify`".to_string());
    }
    if has("run") == d.runs.is_empty() {
        return Err("`; test run` needs `; run:` lines and they need it".to_string());
    }
    if d.data.is_some() && !has("run") && !has("emit-c") {
        return Err("`; data:` without `; test run` or `; test emit-c`".to_string());
    }
    Ok(d)
}

/// `CODE ["text"], ...`.
fn error_marks(marks: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    let mut rest = marks.trim();
    while !rest.is_empty() {
        let end = rest.find([' ', ',', '"']).unwrap_or(rest.len());
        let code = rest[..end].to_string();
        if !code.starts_with("snn::") {
            return Err(format!("`{code}` is not an error code (snn::kernel::...)"));
        }
        rest = rest[end..].trim_start();
        let mut text = None;
        if let Some(quoted) = rest.strip_prefix('"') {
            let close = quoted.find('"').ok_or("an unclosed \"")?;
            text = Some(quoted[..close].to_string());
            rest = quoted[close + 1..].trim_start();
        }
        out.push((code, text));
        match rest.strip_prefix(',') {
            Some(r) => rest = r.trim_start(),
            None if rest.is_empty() => {}
            None => return Err(format!("expected `,` before `{rest}`")),
        }
    }
    if out.is_empty() {
        return Err("`; error:` without a code".to_string());
    }
    Ok(out)
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Runner {
    fn fail(&mut self, name: &str, what: impl std::fmt::Display) {
        self.failures.push(format!("{name}: {what}"));
    }

    fn count(&mut self, check: &'static str) {
        *self.checks.entry(check).or_default() += 1;
    }

    fn file(&mut self, path: &Path, name: &str) {
        self.files += 1;
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let d = match directives(&text) {
            Ok(d) => d,
            Err(e) => return self.fail(name, e),
        };
        let has = |t: &str| d.tests.iter().any(|x| x == t);
        let parsed = parse_kernel_with_map(&text);
        self.marked.extend(d.errors.iter().map(|(_, code, _)| code.clone()));
        if has("verify") {
            self.count("verify");
            if let Err(e) = check_verify(&text, &parsed, &d) {
                self.fail(name, e);
            }
        }
        let Ok((kernel, _)) = parsed else {
            if !has("verify") {
                self.fail(name, format!("does not parse: {:?}", parsed.err()));
            }
            return;
        };
        if has("print") {
            self.count("print");
            if let Err(e) = check_print(&kernel) {
                self.fail(name, e);
            }
        }
        if !has("run") && !has("emit-c") {
            return;
        }
        let verified = match verify(&kernel) {
            Ok(v) => v,
            Err(e) => {
                let errors: Vec<String> = e.errors.iter().map(|e| e.to_string()).collect();
                return self
                    .fail(name, format!("run and emit-c need a kernel that verifies:\n  {}", errors.join("\n  ")));
            }
        };
        let mut image =
            Image { memory: vec![0u32; kernel.memory_words()], dram: vec![0u32; kernel.dram_words as usize] };
        if let Some((line, text)) = &d.data
            && let Err(e) = Tokens::new(text).inits(&verified, &mut image)
        {
            return self.fail(name, format!("line {line}: {e}"));
        }
        if has("emit-c") {
            self.count("emit-c");
            self.emit_c(path, name, &verified, &image.memory);
        }
        if has("run") {
            let jit = match JitKernel::compile(&verified) {
                Ok(j) => j,
                Err(e) => return self.fail(name, format!("the JIT fails: {e}")),
            };
            for (line, spec) in &d.runs {
                self.count("run");
                let at = format!("{name}:{line}");
                if let Err(e) = self.run_line(&at, &verified, &jit, &image, spec) {
                    self.fail(&at, e);
                }
            }
        }
    }

    fn emit_c(&mut self, path: &Path, name: &str, kernel: &VerifiedKernel, data: &[u32]) {
        let c = match emit_kernel(kernel, data) {
            Ok(c) => c,
            Err(e) => return self.fail(name, format!("emit-c: {e}")),
        };
        let expected_path = path.with_extension("c");
        let expected = std::fs::read_to_string(&expected_path).ok();
        if self.bless {
            if expected.as_deref() != Some(c.as_str()) {
                std::fs::write(&expected_path, &c).expect("write the expectation");
                println!("blessed {}", expected_path.display());
            }
        } else {
            match expected {
                None => self.fail(name, "emit-c: no expectation file; bless it with SNNC_BLESS=1".to_string()),
                Some(e) if e != c => {
                    let diff = first_line_difference(&e, &c);
                    self.fail(
                        name,
                        format!(
                            "emit-c differs from {} ({diff}); if intended, bless it with SNNC_BLESS=1",
                            expected_path.display()
                        ),
                    )
                }
                Some(_) => {}
            }
        }
        self.c_emitted.push((name.to_string(), c));
    }

    /// One run line: interpreter against the expectations, JIT against the
    /// interpreter; the host C case is queued.
    fn run_line(
        &mut self,
        at: &str,
        kernel: &VerifiedKernel,
        jit: &JitKernel,
        data: &Image,
        spec: &str,
    ) -> Result<(), String> {
        let run = Tokens::new(spec).run(kernel, data)?;
        let interp = Interpreter::new(kernel);
        let want = outcome(&run.calls, &run.image, |c, m, d, o, n| interp.run(c, m, d, o, n));
        check_expectations(kernel, &run.expects, &want)?;
        let got = outcome(&run.calls, &run.image, |c, m, d, o, n| jit.run(c, m, d, o, n));
        if got != want {
            return Err(format!(
                "the JIT differs from the interpreter:\n  interpreter {want:?}\n  jit         {got:?}"
            ));
        }
        let mut c_kernel = kernel.kernel().clone();
        c_kernel.name = format!("kir{}", self.c_runs.len());
        let mut calls = run.calls.clone();
        if calls.first() != Some(&Invocation::Init) {
            let init = c_kernel.functions.iter_mut().find(|f| f.entry == EntryPoint::Init).expect("verified");
            init.body.clear();
            init.locals.clear();
            calls.insert(0, Invocation::Init);
        }
        let c_kernel = verify(&c_kernel).map_err(|e| format!("the host C copy does not verify: {e:?}"))?;
        let Image { memory, dram } = run.image;
        self.c_runs.push((at.to_string(), Case { kernel: c_kernel, memory, dram, calls }));
        Ok(())
    }

    /// Builds every queued run as one host C program and compares each
    /// transcript with the interpreter's; compiles every emit-c output.
    fn host_c(&mut self) {
        if self.c_runs.is_empty() && self.c_emitted.is_empty() {
            return;
        }
        let Some(cc) = tool("cc", "the run checks' host C and the emit-c outputs are not compiled") else {
            return;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in support_files() {
            std::fs::write(dir.path().join(name), text).expect("write a support file");
        }
        let mut emitted = Vec::new();
        for (i, (_, c)) in self.c_emitted.iter().enumerate() {
            let file = format!("emitted_{i}.c");
            std::fs::write(dir.path().join(&file), c).expect("write");
            emitted.push(file);
        }
        if !emitted.is_empty() {
            let out = Command::new(&cc)
                .current_dir(dir.path())
                .args(c_harness::HOST_CFLAGS)
                .arg("-c")
                .args(&emitted)
                .output()
                .expect("cc starts");
            if !out.status.success() {
                let names: Vec<&str> = self.c_emitted.iter().map(|(n, _)| n.as_str()).collect();
                let message = format!(
                    "emit-c outputs ({}) do not compile without warnings:\n{}",
                    names.join(", "),
                    String::from_utf8_lossy(&out.stderr)
                );
                self.fail("host C", message);
            }
        }
        if self.c_runs.is_empty() {
            return;
        }
        let (ats, cases): (Vec<String>, Vec<Case>) = std::mem::take(&mut self.c_runs).into_iter().unzip();
        let files = c_harness::write_sources(dir.path(), &cases);
        build_host(dir.path(), &cc, &files);
        std::fs::write(dir.path().join("script.txt"), host_script(&cases)).expect("script");
        let output = run(Command::new("sh").current_dir(dir.path()).args(["-c", "./host < script.txt"]));
        let actual = split_transcripts(&output);
        assert_eq!(actual.len(), cases.len(), "one transcript per program");
        for (i, ((at, case), actual)) in ats.iter().zip(&cases).zip(&actual).enumerate() {
            let expected = expected_transcript(case, i);
            if &expected != actual {
                let message = format!("host C differs from the interpreter, {}", first_difference(&expected, actual));
                self.failures.push(format!("{at}: {message}"));
            }
        }
        self.count_n("run on host C", cases.len());
    }

    /// Every code of the verifier's errors (`KernelError` in
    /// `compiler/src/kernel/verify.rs`) is marked in some file.
    fn every_verifier_error_has_a_file(&mut self) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../compiler/src/kernel/verify.rs");
        let source = std::fs::read_to_string(&path).expect("the verifier's source");
        let codes: Vec<String> = source
            .split("code(snn::kernel::")
            .skip(1)
            .filter_map(|rest| rest.split(')').next())
            .filter(|code| *code != "invalid")
            .map(|code| format!("snn::kernel::{code}"))
            .collect();
        assert!(codes.len() > 10, "found the verifier's codes in {}", path.display());
        for code in codes {
            if !self.marked.contains(&code) {
                self.fail("tests/kir", format!("no file marks the verifier error `{code}`"));
            }
        }
    }

    fn count_n(&mut self, check: &'static str, n: usize) {
        *self.checks.entry(check).or_default() += n;
    }
}

fn first_line_difference(expected: &str, actual: &str) -> String {
    for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        if e != a {
            return format!("line {}: expected `{e}`, emitted `{a}`", i + 1);
        }
    }
    format!("{} lines expected, {} emitted", expected.lines().count(), actual.lines().count())
}

/// The verifier's errors (or the parse error) against the file's marks.
fn check_verify(
    text: &str,
    parsed: &Result<(Kernel, SourceMap), snnc_compiler::kernel::ParseError>,
    d: &Directives,
) -> Result<(), String> {
    // (line, code, message)
    let mut actual: Vec<(usize, String, String)> = Vec::new();
    match parsed {
        Err(e) => actual.push((line_of(text, e.span.offset()), "snn::kernel::parse".to_string(), e.to_string())),
        Ok((kernel, map)) => {
            if let Err(errors) = verify(kernel) {
                for (error, site) in errors.errors.iter().zip(&errors.sites) {
                    let code = miette::Diagnostic::code(error).map(|c| c.to_string()).unwrap_or_default();
                    let line = map.offset(*site).map_or(0, |o| line_of(text, o));
                    actual.push((line, code, error.to_string()));
                }
            }
        }
    }
    let mut unmatched_marks = Vec::new();
    // Marks with a text first, so that a bare mark does not take their error.
    let mut marks: Vec<&(usize, String, Option<String>)> = d.errors.iter().collect();
    marks.sort_by_key(|(_, _, t)| t.is_none());
    for mark @ (line, code, want) in marks {
        let hit = actual
            .iter()
            .position(|(l, c, m)| l == line && c == code && want.as_ref().is_none_or(|w| m.contains(w.as_str())));
        match hit {
            Some(i) => {
                actual.remove(i);
            }
            None => unmatched_marks.push(mark),
        }
    }
    if actual.is_empty() && unmatched_marks.is_empty() {
        return Ok(());
    }
    let mut report = String::new();
    for (line, code, message) in &actual {
        let _ = write!(report, "\n  line {line}: unexpected [{code}] {message}");
    }
    for (line, code, text) in unmatched_marks {
        let text = text.as_ref().map_or(String::new(), |t| format!(" \"{t}\""));
        let _ = write!(report, "\n  line {line}: expected [{code}]{text}, not reported");
    }
    Err(format!("verify:{report}"))
}

/// The text form round-trips: print, parse, print again.
fn check_print(kernel: &Kernel) -> Result<(), String> {
    let text = print_kernel(kernel);
    let again = parse_kernel(&text).map_err(|e| format!("print: the printed kernel does not parse: {e}\n{text}"))?;
    let twice = print_kernel(&again);
    if twice != text {
        return Err(format!("print: not a fixpoint, {}", first_line_difference(&text, &twice)));
    }
    if verify(kernel).is_ok() != verify(&again).is_ok() {
        return Err("print: the printed kernel verifies differently".to_string());
    }
    Ok(())
}

/// What one backend did with a run.
#[derive(Debug, PartialEq)]
struct Outcome {
    memory: Vec<u32>,
    dram: Vec<u32>,
    packets: Vec<Packet>,
    /// Per invocation: its operation counts, or its trap (counts after a
    /// trap are unspecified).
    results: Vec<Result<OpCounts, Trap>>,
}

/// A PE's memory image and its private DRAM region.
#[derive(Clone)]
struct Image {
    memory: Vec<u32>,
    dram: Vec<u32>,
}

fn outcome(
    calls: &[Invocation],
    image: &Image,
    mut run: impl FnMut(Invocation, &mut [u32], &mut [u32], &mut Vec<Packet>, &mut OpCounts) -> Result<(), Trap>,
) -> Outcome {
    let Image { mut memory, mut dram } = image.clone();
    let mut packets = Vec::new();
    let results = calls
        .iter()
        .map(|&c| {
            let mut counts = OpCounts::default();
            run(c, &mut memory, &mut dram, &mut packets, &mut counts).map(|()| counts)
        })
        .collect();
    Outcome { memory, dram, packets, results }
}

/// A parsed run line.
struct Run {
    calls: Vec<Invocation>,
    image: Image,
    expects: Vec<Expect>,
}

enum Expect {
    Buffer { name: String, values: Vec<u32> },
    Element { name: String, index: u32, value: u32 },
    Dram(Vec<u32>),
    DramWord { index: u32, value: u32 },
    Sends(Vec<Packet>),
    Counts(OpCounts),
    Trap(ExpectedTrap),
    Ok,
}

#[derive(Debug, PartialEq)]
enum ExpectedTrap {
    DivisionByZero,
    DivisionOverflow,
    OutOfBounds { buffer: String, index: i64 },
    DmaOutOfBounds { buffer: String, index: i64, words: i64 },
    DramOutOfBounds { address: i64, words: i64 },
}

fn check_expectations(kernel: &Kernel, expects: &[Expect], got: &Outcome) -> Result<(), String> {
    let trap = expects.iter().find_map(|e| if let Expect::Trap(t) = e { Some(t) } else { None });
    let last = got.results.len() - 1;
    for (i, r) in got.results.iter().enumerate() {
        match (r, trap) {
            (Ok(_), Some(want)) if i == last => {
                return Err(format!("expected trap {want:?}, the last invocation returned"));
            }
            (Ok(_), _) => {}
            (Err(t), Some(want)) if i == last => {
                let same = match (t, want) {
                    (Trap::IntegerDivisionByZero { .. }, ExpectedTrap::DivisionByZero) => true,
                    (Trap::IntegerDivisionOverflow { .. }, ExpectedTrap::DivisionOverflow) => true,
                    (Trap::OutOfBounds { buffer, index, .. }, ExpectedTrap::OutOfBounds { buffer: b, index: n }) => {
                        buffer == b && index == n
                    }
                    (
                        Trap::DmaOutOfBounds { buffer, index, words, .. },
                        ExpectedTrap::DmaOutOfBounds { buffer: b, index: n, words: w },
                    ) => buffer == b && index == n && words == w,
                    (
                        Trap::DramOutOfBounds { address, words, .. },
                        ExpectedTrap::DramOutOfBounds { address: a, words: w },
                    ) => address == a && words == w,
                    _ => false,
                };
                if !same {
                    return Err(format!("expected trap {want:?}, got {t}"));
                }
            }
            (Err(t), _) => return Err(format!("invocation {} traps: {t}", i + 1)),
        }
    }
    let mut problems = Vec::new();
    for e in expects {
        match e {
            Expect::Buffer { name, values } => {
                let (_, b) = kernel.buffer_named(name).expect("checked when parsed");
                let start = (b.offset / 4) as usize;
                let have = &got.memory[start..start + b.len as usize];
                if have != values.as_slice() {
                    problems.push(format!(
                        "{name} == {}, expected {}",
                        show_words(b.elem, have),
                        show_words(b.elem, values)
                    ));
                }
            }
            Expect::Element { name, index, value } => {
                let (_, b) = kernel.buffer_named(name).expect("checked when parsed");
                let have = got.memory[(b.offset / 4 + index) as usize];
                if have != *value {
                    problems.push(format!(
                        "{name}[{index}] == {}, expected {}",
                        show(b.elem, have),
                        show(b.elem, *value)
                    ));
                }
            }
            Expect::Dram(want) => {
                if &got.dram != want {
                    problems.push(format!(
                        "dram == {}, expected {}",
                        show_words(Ty::U32, &got.dram),
                        show_words(Ty::U32, want)
                    ));
                }
            }
            Expect::DramWord { index, value } => {
                let have = got.dram[*index as usize];
                if have != *value {
                    problems.push(format!(
                        "dram[{index}] == {}, expected {}",
                        show(Ty::U32, have),
                        show(Ty::U32, *value)
                    ));
                }
            }
            Expect::Sends(want) => {
                if &got.packets != want {
                    problems.push(format!("sends == {}, expected {}", show_packets(&got.packets), show_packets(want)));
                }
            }
            Expect::Counts(want) => {
                let mut total = OpCounts::default();
                for r in got.results.iter().flatten() {
                    total.absorb(r);
                }
                if &total != want {
                    problems.push(format!("counts == {}, expected {}", show_counts(&total), show_counts(want)));
                }
            }
            Expect::Trap(_) | Expect::Ok => {}
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(format!("the interpreter gives {}", problems.join("; "))) }
}

fn show(ty: Ty, w: u32) -> String {
    let v = Value::from_bits(ty, w);
    match v {
        Value::F32(x) if x.is_nan() => format!("nan({w:#010x})"),
        Value::F32(x) if x.is_infinite() => if x > 0.0 { "inf" } else { "-inf" }.to_string(),
        Value::F32(x) => format!("{x:?}"),
        Value::I32(x) => format!("{x}i"),
        Value::U32(x) if x >= 0x1_0000 => format!("{x:#x}u"),
        Value::U32(x) => format!("{x}u"),
        Value::Bool(b) => b.to_string(),
    }
}

fn show_words(ty: Ty, ws: &[u32]) -> String {
    let parts: Vec<String> = ws.iter().map(|&w| show(ty, w)).collect();
    format!("[{}]", parts.join(", "))
}

fn show_packets(ps: &[Packet]) -> String {
    let parts: Vec<String> = ps
        .iter()
        .map(|p| match p.payload {
            None => format!("({})", show(Ty::U32, p.key)),
            Some(w) => format!("({}, {})", show(Ty::U32, p.key), show(Ty::U32, w)),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

fn show_counts(c: &OpCounts) -> String {
    let parts: Vec<String> =
        OpClass::ALL.iter().filter(|&&k| c.get(k) != 0).map(|&k| format!("{} {}", k.name(), c.get(k))).collect();
    format!("[{}]", parts.join(", "))
}

/// The tokens of a run or data line.
struct Tokens {
    tokens: Vec<String>,
    pos: usize,
}

impl Tokens {
    fn new(text: &str) -> Tokens {
        let mut tokens = Vec::new();
        let mut rest = text.trim_start();
        while !rest.is_empty() {
            let len = if rest.starts_with("->") || rest.starts_with("==") {
                2
            } else if rest.starts_with(['(', ')', '[', ']', ',', '=']) {
                1
            } else {
                let mut end = rest.len();
                for (i, c) in rest.char_indices() {
                    if c.is_whitespace() || "()[],=".contains(c) || rest[i..].starts_with("->") {
                        end = i;
                        break;
                    }
                }
                end
            };
            tokens.push(rest[..len].to_string());
            rest = rest[len..].trim_start();
        }
        Tokens { tokens, pos: 0 }
    }

    fn peek(&self) -> &str {
        self.tokens.get(self.pos).map_or("", String::as_str)
    }

    fn next(&mut self) -> String {
        let t = self.peek().to_string();
        self.pos += 1;
        t
    }

    fn eat(&mut self, t: &str) -> bool {
        let hit = self.peek() == t;
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect(&mut self, t: &str) -> Result<(), String> {
        if self.eat(t) { Ok(()) } else { Err(format!("expected `{t}`, found `{}`", self.peek())) }
    }

    /// A constant: a text-form literal, or `nan(0x...)`.
    fn value(&mut self) -> Result<Value, String> {
        let mut text = self.next();
        if text == "nan" && self.peek() == "(" {
            self.pos += 1;
            let bits = self.next();
            self.expect(")")?;
            text = format!("nan({bits})");
        }
        parse_value(&text).ok_or_else(|| format!("`{text}` is not a constant (1.5, -3i, 7u, nan(0x7fc00000), true)"))
    }

    fn typed(&mut self, ty: Ty, what: &str) -> Result<u32, String> {
        let v = self.value()?;
        if v.ty() != ty {
            return Err(format!("{what} is {}, but `{v:?}` is {}", ty.name(), v.ty().name()));
        }
        Ok(v.bits())
    }

    /// A plain integer (a trap's index, address or word count).
    fn integer(&mut self) -> Result<i64, String> {
        self.next().parse().map_err(|_| "an index, address or word count is a plain integer".to_string())
    }

    /// A payload: any type but bool.
    fn payload(&mut self) -> Result<u32, String> {
        let v = self.value()?;
        if v.ty() == Ty::Bool {
            return Err("a payload is not a bool".to_string());
        }
        Ok(v.bits())
    }

    fn list<T>(&mut self, mut item: impl FnMut(&mut Tokens) -> Result<T, String>) -> Result<Vec<T>, String> {
        self.expect("[")?;
        let mut out = Vec::new();
        while !self.eat("]") {
            if !out.is_empty() {
                self.expect(",")?;
            }
            out.push(item(self)?);
        }
        Ok(out)
    }

    fn buffer<'k>(&mut self, kernel: &'k Kernel) -> Result<(String, &'k snnc_compiler::kernel::Buffer), String> {
        let name = self.next();
        let (_, b) = kernel.buffer_named(&name).ok_or_else(|| format!("no buffer `{name}`"))?;
        Ok((name, b))
    }

    /// `BUF = [..], dram = [..], ...` into `image`, up to `->` or the end.
    fn inits(&mut self, kernel: &VerifiedKernel, image: &mut Image) -> Result<(), String> {
        loop {
            if self.eat("dram") {
                self.expect("=")?;
                let values = self.list(|t| t.payload())?;
                if values.len() > image.dram.len() {
                    return Err(format!("{} values for a DRAM region of {} words", values.len(), image.dram.len()));
                }
                image.dram[..values.len()].copy_from_slice(&values);
                if !self.eat(",") {
                    break;
                }
                continue;
            }
            let memory = &mut image.memory;
            let (name, b) = self.buffer(kernel)?;
            self.expect("=")?;
            let what = format!("`{name}`");
            let values = self.list(|t| t.typed(b.elem, &what))?;
            if values.len() > b.len as usize {
                return Err(format!("{} values for `{name}` of length {}", values.len(), b.len));
            }
            let start = (b.offset / 4) as usize;
            memory[start..start + values.len()].copy_from_slice(&values);
            if !self.eat(",") {
                break;
            }
        }
        if self.pos < self.tokens.len() && self.peek() != "->" {
            return Err(format!("unexpected `{}`", self.peek()));
        }
        Ok(())
    }

    fn call(&mut self) -> Result<Invocation, String> {
        let name = self.next();
        let args = |t: &mut Tokens, n: usize| -> Result<Vec<Value>, String> {
            let mut out = Vec::new();
            if n > 0 {
                t.expect("(")?;
                while !t.eat(")") {
                    if !out.is_empty() {
                        t.expect(",")?;
                    }
                    out.push(t.value()?);
                }
            }
            Ok(out)
        };
        Ok(match name.as_str() {
            "init" => Invocation::Init,
            "end_of_sample" => Invocation::EndOfSample,
            "end_of_batch" => Invocation::EndOfBatch,
            "packet" => {
                self.expect("(")?;
                let key = self.typed(Ty::U32, "a key")?;
                let payload = if self.eat(",") { self.payload()? } else { 0 };
                self.expect(")")?;
                Invocation::Packet { key, payload }
            }
            "tick_forward" | "tick_backward" => {
                let a = args(self, 1)?;
                let [Value::I32(step)] = a.as_slice() else {
                    return Err(format!("`{name}` takes one i32 step, e.g. {name}(3i)"));
                };
                if name == "tick_forward" {
                    Invocation::TickForward { step: *step }
                } else {
                    Invocation::TickBackward { step: *step }
                }
            }
            _ => return Err(format!("`{name}` is not an entry point")),
        })
    }

    fn run(mut self, kernel: &VerifiedKernel, data: &Image) -> Result<Run, String> {
        let mut calls = vec![self.call()?];
        while self.eat(",") {
            calls.push(self.call()?);
        }
        if calls[1..].contains(&Invocation::Init) {
            return Err("`init` may only be the first invocation".to_string());
        }
        let mut image = data.clone();
        if self.eat("with") {
            self.inits(kernel, &mut image)?;
        }
        self.expect("->")?;
        let mut expects = Vec::new();
        loop {
            expects.push(self.expect_one(kernel)?);
            if !self.eat(",") {
                break;
            }
        }
        if self.pos < self.tokens.len() {
            return Err(format!("unexpected `{}`", self.peek()));
        }
        let traps = expects.iter().filter(|e| matches!(e, Expect::Trap(_))).count();
        let counts = expects.iter().any(|e| matches!(e, Expect::Counts(_)));
        if traps > 1 || (traps == 1 && counts) {
            return Err("one trap at most, and no counts with a trap (they are unspecified)".to_string());
        }
        Ok(Run { calls, image, expects })
    }

    fn expect_one(&mut self, kernel: &Kernel) -> Result<Expect, String> {
        match self.peek() {
            "ok" => {
                self.pos += 1;
                Ok(Expect::Ok)
            }
            "trap" => {
                self.pos += 1;
                let kind = self.next();
                Ok(Expect::Trap(match kind.as_str() {
                    "division_by_zero" => ExpectedTrap::DivisionByZero,
                    "division_overflow" => ExpectedTrap::DivisionOverflow,
                    "out_of_bounds" => {
                        self.expect("(")?;
                        let (buffer, _) = self.buffer(kernel)?;
                        self.expect(",")?;
                        let index = self.next().parse().map_err(|_| "an index is a plain integer".to_string())?;
                        self.expect(")")?;
                        ExpectedTrap::OutOfBounds { buffer, index }
                    }
                    "dma_out_of_bounds" => {
                        self.expect("(")?;
                        let (buffer, _) = self.buffer(kernel)?;
                        self.expect(",")?;
                        let index = self.integer()?;
                        self.expect(",")?;
                        let words = self.integer()?;
                        self.expect(")")?;
                        ExpectedTrap::DmaOutOfBounds { buffer, index, words }
                    }
                    "dram_out_of_bounds" => {
                        self.expect("(")?;
                        let address = self.integer()?;
                        self.expect(",")?;
                        let words = self.integer()?;
                        self.expect(")")?;
                        ExpectedTrap::DramOutOfBounds { address, words }
                    }
                    _ => return Err(format!("unknown trap `{kind}`")),
                }))
            }
            "sends" => {
                self.pos += 1;
                self.expect("==")?;
                let packets = self.list(|t| {
                    t.expect("(")?;
                    let key = t.typed(Ty::U32, "a key")?;
                    let payload = if t.eat(",") { Some(t.payload()?) } else { None };
                    t.expect(")")?;
                    Ok(Packet { key, payload })
                })?;
                Ok(Expect::Sends(packets))
            }
            "counts" => {
                self.pos += 1;
                self.expect("==")?;
                let pairs = self.list(|t| {
                    let name = t.next();
                    let class = OpClass::ALL
                        .into_iter()
                        .find(|c| c.name() == name)
                        .ok_or_else(|| format!("`{name}` is not an operation class"))?;
                    let n: u64 = t.next().parse().map_err(|_| "a count is a plain integer".to_string())?;
                    Ok((class, n))
                })?;
                let mut counts = OpCounts::default();
                for (class, n) in pairs {
                    counts.add(class, n);
                }
                Ok(Expect::Counts(counts))
            }
            "dram" => {
                self.pos += 1;
                let words = kernel.dram_words;
                if self.eat("[") {
                    let index: u32 = self.next().parse().map_err(|_| "an index is a plain integer".to_string())?;
                    self.expect("]")?;
                    if index >= words {
                        return Err(format!("`dram[{index}]` is outside the DRAM region of {words} words"));
                    }
                    self.expect("==")?;
                    return Ok(Expect::DramWord { index, value: self.payload()? });
                }
                self.expect("==")?;
                let values = self.list(|t| t.payload())?;
                if values.len() != words as usize {
                    return Err(format!("the DRAM region has {words} words, the expectation {}", values.len()));
                }
                Ok(Expect::Dram(values))
            }
            _ => {
                let (name, b) = self.buffer(kernel)?;
                let what = format!("`{name}`");
                if self.eat("[") {
                    let index: u32 = self.next().parse().map_err(|_| "an index is a plain integer".to_string())?;
                    self.expect("]")?;
                    if index >= b.len {
                        return Err(format!("`{name}[{index}]` is outside the buffer"));
                    }
                    self.expect("==")?;
                    let value = self.typed(b.elem, &what)?;
                    return Ok(Expect::Element { name, index, value });
                }
                self.expect("==")?;
                let values = self.list(|t| t.typed(b.elem, &what))?;
                if values.len() != b.len as usize {
                    return Err(format!("`{name}` has {} elements, the expectation {}", b.len, values.len()));
                }
                Ok(Expect::Buffer { name, values })
            }
        }
    }
}

/// The runner refuses malformed directives rather than skipping them.
#[test]
fn malformed_directives_are_refused() {
    let kernel = "kernel k budget 64\n";
    let cases = [
        ("no test line", format!("; a comment\n{kernel}")),
        ("unknown test", format!("; test compile\n{kernel}")),
        ("test after other lines", format!("; test print\n; text\n; test verify\n{kernel}")),
        ("error mark on its own line", format!("; test verify\n; error: snn::kernel::bad_name\n{kernel}")),
        ("error mark without verify", "; test print\nkernel k budget 64  ; error: snn::kernel::bad_name\n".to_string()),
        ("error mark without a code", "; test verify\nkernel k budget 64  ; error: bad_name\n".to_string()),
        ("run lines without the run test", format!("; test print\n; run: init -> ok\n{kernel}")),
        ("the run test without run lines", format!("; test run\n{kernel}")),
        ("two data lines", format!("; test run\n; data: a = [1u]\n; data: a = [2u]\n; run: init -> ok\n{kernel}")),
        ("a misspelt directive", format!("; test run\n; run init -> ok\n{kernel}")),
    ];
    for (what, text) in cases {
        assert!(directives(&text).is_err(), "{what} is accepted");
    }
    let ok = directives("; test verify\n; test print\n;\n; free text\nkernel k budget 64  ; error: snn::kernel::missing_entry \"`init`\", snn::kernel::missing_entry\n").expect("valid");
    assert_eq!(ok.tests, ["verify", "print"]);
    assert_eq!(ok.errors.len(), 2);
    assert_eq!(ok.errors[0], (5, "snn::kernel::missing_entry".to_string(), Some("`init`".to_string())));
}
