//! Test support for the C backend: a case (kernel, initial memory,
//! invocations), its expected transcript from the interpreter, the emitted
//! sources of a batch of cases, and the tools to build and run them.
//!
//! A transcript is what the C harnesses print for one program (see
//! `compiler/src/emit/c/files/s2_hal_host.c`): `program N`, then per
//! invocation (numbered from 0, `init`) its `send` lines and its `trap` line,
//! then `memory WORDS W...` (the program's data memory at the end) and, for
//! a kernel with a private DRAM region, `dram WORDS W...` (the region).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use snnc_compiler::emit::c::{emit_kernel, host_program_table, memory_words, program_symbol, support_files};
use snnc_compiler::kernel::{Invocation, Kernel, OpCounts, Trap, VerifiedKernel};
use snnc_runtime::interp::Interpreter;

/// One program run: a kernel (with a name unique in its batch), its initial
/// data memory (at least `memory_words()` long), its private DRAM region
/// (`dram_words` long) and its invocations (`Init` first).
pub struct Case {
    pub kernel: VerifiedKernel,
    pub memory: Vec<u32>,
    pub dram: Vec<u32>,
    pub calls: Vec<Invocation>,
}

/// The transcript the interpreter produces for `case` as program `number`.
pub fn expected_transcript(case: &Case, number: usize) -> String {
    let interp = Interpreter::new(&case.kernel);
    let mut memory = case.memory.clone();
    let mut dram = case.dram.clone();
    let mut out = format!("program {number}\n");
    for (event, &call) in case.calls.iter().enumerate() {
        let mut packets = Vec::new();
        let result = interp.run(call, &mut memory, &mut dram, &mut packets, &mut OpCounts::default());
        for p in packets {
            match p.payload {
                None => writeln!(out, "send {event} {:08x}", p.key),
                Some(payload) => writeln!(out, "send {event} {:08x} {payload:08x}", p.key),
            }
            .expect("string");
        }
        let trap = match result {
            Ok(()) => None,
            Err(Trap::OutOfBounds { buffer, index, .. }) => {
                let (id, _) = case.kernel.buffer_named(&buffer).expect("buffer");
                Some((1, id.0, index))
            }
            Err(Trap::IntegerDivisionByZero { .. }) => Some((2, 0, 0)),
            Err(Trap::IntegerDivisionOverflow { .. }) => Some((3, 0, 0)),
            Err(Trap::DmaOutOfBounds { buffer, index, .. }) => {
                let (id, _) = case.kernel.buffer_named(&buffer).expect("buffer");
                Some((5, id.0, index))
            }
            Err(Trap::DramOutOfBounds { address, .. }) => Some((6, 0, address)),
            Err(e @ (Trap::MemoryTooSmall { .. } | Trap::DramTooSmall { .. })) => panic!("{e}"),
        };
        if let Some((kind, buffer, index)) = trap {
            writeln!(out, "trap {event} {kind} {buffer} {index}").expect("string");
        }
    }
    let words = memory_words(&case.kernel);
    out.push_str(&format!("memory {words}"));
    for w in &memory[..words] {
        out.push_str(&format!(" {w:08x}"));
    }
    out.push('\n');
    if !dram.is_empty() {
        out.push_str(&format!("dram {}", dram.len()));
        for w in &dram {
            out.push_str(&format!(" {w:08x}"));
        }
        out.push('\n');
    }
    out
}

/// The host harness script line of an invocation.
fn script_line(call: Invocation) -> String {
    match call {
        Invocation::Init => "init".to_string(),
        Invocation::Packet { key, payload } => format!("packet {key:x} {payload:x}"),
        Invocation::TickForward { step } => format!("forward {step}"),
        Invocation::TickBackward { step } => format!("backward {step}"),
        Invocation::EndOfSample => "end_of_sample".to_string(),
        Invocation::EndOfBatch => "end_of_batch".to_string(),
    }
}

/// The host harness's stdin for a batch.
pub fn host_script(cases: &[Case]) -> String {
    let mut s = String::new();
    for (i, case) in cases.iter().enumerate() {
        s.push_str(&format!("program {i}\n"));
        if !case.dram.is_empty() {
            s.push_str(&format!("region {}\n", case.dram.len()));
            for (a, w) in case.dram.iter().enumerate().filter(|(_, w)| **w != 0) {
                s.push_str(&format!("region_word {a} {w:x}\n"));
            }
        }
        for &call in &case.calls {
            s.push_str(&script_line(call));
            s.push('\n');
        }
        s.push_str("run\n");
    }
    s
}

/// The host compiler's flags for emitted C: C99, no contraction, warnings
/// are errors.
pub const HOST_CFLAGS: [&str; 6] = ["-std=c99", "-O2", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror"];

/// Runs `elf` under `qemu-system-arm -M mps2-an386` in `work` (where the
/// HAL reads `s2_events.bin`), stopped after `seconds`; returns the exit
/// status, the transcript and stderr. QEMU's stdio is non-blocking: into a
/// pipe, a long line can be cut when the pipe is full, so the transcript
/// goes to `work/transcript.txt`.
pub fn run_qemu(work: &Path, elf: &Path, seconds: u32) -> (std::process::ExitStatus, String, String) {
    let transcript = work.join("transcript.txt");
    let out = Command::new("timeout")
        .current_dir(work)
        .arg(seconds.to_string())
        .args(["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native", "-kernel"])
        .arg(elf)
        .stdout(std::fs::File::create(&transcript).expect("transcript file"))
        .output()
        .expect("qemu starts");
    let stdout = std::fs::read_to_string(&transcript).expect("transcript").replace('\r', "");
    (out.status, stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The QEMU HAL's record kinds of a private DRAM region: its size, a word.
pub const REC_REGION: u32 = 8;
pub const REC_REGION_WORD: u32 = 9;

/// A call as the QEMU HAL's event record `(kind, a, b)`.
pub fn call_record(call: Invocation) -> [u32; 3] {
    match call {
        Invocation::Init => [0, 0, 0],
        Invocation::Packet { key, payload } => [1, key, payload],
        Invocation::TickForward { step } => [2, step as u32, 0],
        Invocation::TickBackward { step } => [3, step as u32, 0],
        Invocation::EndOfSample => [4, 0, 0],
        Invocation::EndOfBatch => [5, 0, 0],
    }
}

/// The QEMU HAL's `s2_events.bin` for a case.
pub fn qemu_trace(case: &Case) -> Vec<u8> {
    let mut records = Vec::new();
    if !case.dram.is_empty() {
        records.push([REC_REGION, case.dram.len() as u32, 0]);
        let words = case.dram.iter().enumerate().filter(|(_, w)| **w != 0);
        records.extend(words.map(|(a, &w)| [REC_REGION_WORD, a as u32, w]));
    }
    records.extend(case.calls.iter().map(|&call| call_record(call)));
    let mut bytes = Vec::new();
    for record in records {
        for w in record {
            bytes.extend_from_slice(&w.to_le_bytes());
        }
    }
    bytes
}

/// Writes the support files, every case's `<prefix>.c`, the host program
/// table and `programs.mk` into `dir`; returns the C file names of the cases.
pub fn write_sources(dir: &Path, cases: &[Case]) -> Vec<String> {
    for (name, text) in support_files() {
        std::fs::write(dir.join(name), text).expect("write support file");
    }
    let mut files = Vec::new();
    let mut programs = Vec::new();
    for case in cases {
        let c = emit_kernel(&case.kernel, &case.memory).expect("emits");
        let symbol = program_symbol(&case.kernel);
        let stem = symbol.trim_end_matches("_program").to_string();
        let file = format!("{stem}.c");
        std::fs::write(dir.join(&file), c).expect("write kernel");
        files.push(file);
        programs.push(stem);
    }
    let kernels: Vec<&Kernel> = cases.iter().map(|c| c.kernel.kernel()).collect();
    std::fs::write(dir.join("s2_host_programs.c"), host_program_table(&kernels)).expect("write table");
    std::fs::write(dir.join("programs.mk"), format!("PROGRAMS = {}\n", programs.join(" "))).expect("write programs.mk");
    files
}

/// Builds the host harness `dir/host` from the case sources `files` (see
/// [`write_sources`]) and the host HAL: compiled with [`HOST_CFLAGS`] in
/// two halves in parallel (two cores), then linked. Panics with the
/// compiler's messages if a file does not compile without warnings.
pub fn build_host(dir: &Path, cc: &Path, files: &[String]) {
    let mut sources: Vec<String> = files.to_vec();
    sources.extend(["s2_run.c", "s2_hal_host.c", "s2_host_programs.c"].map(String::from));
    let half = sources.len() / 2;
    let compiles: Vec<_> = [&sources[..half], &sources[half..]]
        .iter()
        .map(|chunk| {
            Command::new(cc)
                .current_dir(dir)
                .args(HOST_CFLAGS)
                .arg("-c")
                .args(chunk.iter())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("cc starts")
        })
        .collect();
    for child in compiles {
        let out = child.wait_with_output().expect("cc runs");
        assert!(
            out.status.success(),
            "cc failed (emitted C must compile without warnings):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let objects: Vec<String> = sources.iter().map(|s| s.replace(".c", ".o")).collect();
    run(Command::new(cc).current_dir(dir).args(&objects).args(["-o", "host", "-lm"]));
}

/// The path of a tool if `tool --version` runs, else `None` after printing
/// why the test skips.
pub fn tool(name: &str, why: &str) -> Option<PathBuf> {
    match Command::new(name).arg("--version").output() {
        Ok(o) if o.status.success() => Some(PathBuf::from(name)),
        _ => {
            eprintln!("SKIPPED: `{name}` is not installed ({why})");
            None
        }
    }
}

/// Runs a command; panics with its output if it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("command starts");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Splits harness output into one transcript per program.
pub fn split_transcripts(output: &str) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    for line in output.lines() {
        if line.starts_with("program ") || blocks.is_empty() {
            blocks.push(String::new());
        }
        if let Some(b) = blocks.last_mut() {
            b.push_str(line);
            b.push('\n');
        }
    }
    blocks
}

/// The first line where two transcripts differ, for failure messages.
pub fn first_difference(expected: &str, actual: &str) -> String {
    for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        if e != a {
            return format!("line {}:\n  interpreter: {e}\n  C:           {a}", i + 1);
        }
    }
    format!("lengths differ: interpreter {} lines, C {} lines", expected.lines().count(), actual.lines().count())
}
