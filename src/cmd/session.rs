//! Training sessions as the CLI shows them (`snnc train`, `snnc run`):
//! flags to a `snnc_runtime::session::Session`, progress bars on stderr,
//! per-epoch lines or JSON objects and the summary on stdout.

use std::io::IsTerminal;
use std::io::Write;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use snnc_compiler::check::EPOCHS;
use snnc_runtime::session::{self, RunTarget, Session, SessionSpec};
use snnc_runtime::train::run::{Event, Summary};

use super::{CmdResult, Failure, Out, count, load_network};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The dense EventProp reference trainer on the host.
    Reference,
    /// The SpiNNaker2 emulator: the lowered per-PE kernels, JIT-compiled,
    /// every packet routed (bit-identical to the reference).
    Emulator,
}

impl From<Backend> for session::Backend {
    fn from(b: Backend) -> Self {
        match b {
            Backend::Reference => session::Backend::Reference,
            Backend::Emulator => session::Backend::Emulator,
        }
    }
}

/// `--epochs`: the range the language allows for `epochs`.
pub fn epochs_arg(s: &str) -> Result<u32, String> {
    let n: u64 = s.parse().map_err(|_| format!("`{s}` is not a whole number"))?;
    if !EPOCHS.contains(&n) {
        return Err(format!("{n} is outside {}..={}, the range of `epochs`", EPOCHS.start(), EPOCHS.end()));
    }
    Ok(n as u32)
}

pub fn pct(x: Option<f64>) -> String {
    x.map_or("-".to_string(), |v| format!("{:.2}%", 100.0 * v))
}

/// How `train` and `run` start or continue a session.
pub struct TrainRequest<'a> {
    pub file: &'a Path,
    /// The folder data paths are relative to (the spec's, or the one a
    /// program directory recorded).
    pub data_dir: &'a Path,
    pub backend: Backend,
    pub target: RunTarget,
    pub epochs: Option<u32>,
    pub seed: Option<u32>,
    pub init_weights: Option<&'a Path>,
    pub force: bool,
    pub json: bool,
    /// What "already holds a run" suggests.
    pub resume_hint: String,
}

/// Opens a session, trains it with progress and per-epoch lines, prints
/// the summary (shared by `snnc train` and `snnc run`).
pub fn train_session(req: TrainRequest<'_>) -> CmdResult {
    let (src, net) = load_network(req.file)?;
    let mut session = Session::open(SessionSpec {
        net: &net,
        spec_text: &src.text,
        spec_path: req.file,
        data_dir: req.data_dir,
        backend: req.backend.into(),
        target: req.target,
        epochs: req.epochs,
        seed: req.seed,
        init_weights: req.init_weights,
        force: req.force,
        resume_hint: &req.resume_hint,
    })
    .map_err(session_failure)?;
    let mut out = Out::new();
    let dir = session.dir.path().to_path_buf();
    let epochs = session.epochs;
    if session.finished()
        && let Some(summary) = session.stored_summary()
    {
        // A finished run: report it, train and test nothing again.
        if req.json {
            out.line(summary_json(&summary, &dir, None));
        } else {
            out.line(format!(
                "the run in {} has completed {} (asked for {epochs}); nothing to train",
                dir.display(),
                count(session.state.epoch, "epoch", "epochs"),
            ));
            out.line(summary_line(&summary, &dir));
        }
        return out.finish();
    }
    if !req.json {
        let p = &session.prepared;
        out.line(format!(
            "training {} ({} trainable weights) on {} samples, seed {}, epochs {}..={epochs}, run directory {}",
            net.name,
            net.trainable_parameters(),
            p.train.len(),
            session.state.seed,
            (session.state.epoch + 1).min(epochs),
            dir.display()
        ));
        if net.train.as_ref().is_some_and(|t| t.filter_ambiguous) {
            out.line(format!("ambiguous-point filter removed {} training points", p.filtered));
        }
        for note in &p.data_notes {
            out.line(format!("data {note}"));
        }
    }
    let show_bars = !req.json && std::io::stderr().is_terminal();
    let mut bar: Option<ProgressBar> = None;
    let json = req.json;
    let mut on_event = |ev: Event<'_>| match ev {
        Event::Batch { epoch, done, total } => {
            if !show_bars {
                return;
            }
            let b = bar.get_or_insert_with(|| batch_bar(total as u64, format!("epoch {epoch}/{epochs}")));
            b.set_position(done as u64);
        }
        Event::Epoch(m) => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            if json {
                out.line(serde_json::to_string(m).expect("plain data"));
            } else {
                out.line(format!(
                    "epoch {:>3}/{epochs}  loss {:.4}  train {:>7}  validation {:>7}  {:.2} s",
                    m.epoch,
                    m.train_loss,
                    pct(Some(m.train_accuracy)),
                    pct(m.validation_accuracy),
                    m.seconds
                ));
            }
        }
        Event::Silent { epoch, layers, samples } => {
            // On stderr: `--json` keeps stdout to its objects.
            for l in layers {
                let _ = writeln!(
                    std::io::stderr(),
                    "warning: layer `{l}` fired no spike on any of the {samples} training samples after epoch {epoch}: \
                     no error passes through it, so the layers before it do not learn; check dt, tau_mem, the \
                     threshold and the initial weights"
                );
            }
        }
    };
    let summary = session.run(&mut on_event).map_err(Failure::from)?;
    let report = session.emulator_report();
    if req.json {
        out.line(summary_json(&summary, &dir, report.as_ref().map(|r| r.json())));
    } else {
        if let Some(r) = &report {
            out.text(&r.text());
        }
        out.line(summary_line(&summary, &dir));
    }
    out.finish()
}

fn summary_json(summary: &Summary, dir: &Path, emulator: Option<serde_json::Value>) -> String {
    let mut v = serde_json::to_value(summary).expect("plain data");
    v["run_dir"] = serde_json::Value::String(dir.display().to_string());
    if let Some(e) = emulator {
        v["emulator"] = e;
    }
    v.to_string()
}

fn summary_line(summary: &Summary, dir: &Path) -> String {
    let test = match summary.test_accuracy {
        Some(_) => format!(
            "test accuracy {} (ties counted wrong: {})",
            pct(summary.test_accuracy),
            pct(summary.test_strict_accuracy)
        ),
        None => "no test split".to_string(),
    };
    let validation = summary
        .validation_accuracy
        .map_or("no validation split".to_string(), |v| format!("validation {}", pct(Some(v))));
    format!(
        "{test}, {validation}, {}, {:.2} s; weights in {}",
        count(summary.epochs, "epoch", "epochs"),
        summary.seconds,
        dir.join(snnc_runtime::train::run::WEIGHTS).display()
    )
}

/// The folder a spec's data paths are relative to.
/// A progress bar over `len` batches on stderr, led by `label`, with the
/// time left (`train`, `run` and `bench`).
pub fn batch_bar(len: u64, label: String) -> ProgressBar {
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} batches {elapsed}, about {eta} left")
            .expect("valid template")
            .progress_chars("=> "),
    );
    b.set_message(label);
    b
}

pub fn data_dir(file: &Path) -> &Path {
    file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// A session failure with its class.
pub fn session_failure(e: session::SessionError) -> Failure {
    Failure::of(e.class(), e)
}
