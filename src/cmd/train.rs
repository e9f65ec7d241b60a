//! `snnc train`, `snnc grad`, `snnc bench`, `snnc gradcheck`.
//!
//! Input: a `.snn` file with a `train` block (and flags). Output: a run
//! directory (see `snnc_runtime::train::run`), per-epoch lines or JSON objects
//! on stdout, progress bars on stderr (only on a terminal, never with
//! `--json`). The work is `snnc_runtime::session`'s; this module only wires
//! flags and rendering.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use snnc_compiler::ErrorClass;
use snnc_runtime::fsio;
use snnc_runtime::session::{self, RunTarget};
use snnc_runtime::train::batch::evaluate;
use snnc_runtime::train::run::{read_weights, weights_bytes};
use snnc_runtime::train::trainer::{Prepared, TrainState, prepare, train_batches};

use super::session::{Backend, TrainRequest, batch_bar, data_dir, epochs_arg, session_failure, train_session};
use super::{CmdResult, Failure, Out, load_network};

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// The .snn file whose network and `train` block to use.
    pub file: PathBuf,
    /// Which implementation trains the network.
    #[arg(long, value_enum, default_value_t = Backend::Emulator)]
    pub backend: Backend,
    /// Number of epochs to complete (default: the spec's `epochs`).
    #[arg(long, value_parser = epochs_arg)]
    pub epochs: Option<u32>,
    /// Run directory, created if missing (default: a new `runs/<spec-name>-<UTC timestamp>`).
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Start from these weights (safetensors, `<pre>-><post>` tensors of shape [post, pre]).
    #[arg(long, conflicts_with = "resume")]
    pub init_weights: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Override the spec's seed (initialisation and shuffling).
    #[arg(long, conflicts_with = "resume")]
    pub seed: Option<u32>,
    /// Start a new run in `--out` even over another run or files snnc did not write.
    #[arg(long, requires = "out")]
    pub force: bool,
    /// One JSON object per epoch, then a summary object; nothing else on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `--integration`: how every `lif` and `li` population steps its membrane
/// (the spec's `integration = ..`, docs/contract.md section 2).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntegrationArg {
    /// `V = beta V + (1 - beta) I` (the default, the seed paper's).
    #[value(name = "exponential_euler")]
    ExponentialEuler,
    /// The exact step of the two linear equations.
    Exact,
}

impl From<IntegrationArg> for snnc_compiler::network::Integration {
    fn from(a: IntegrationArg) -> Self {
        match a {
            IntegrationArg::ExponentialEuler => Self::ExponentialEuler,
            IntegrationArg::Exact => Self::Exact,
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitName {
    Train,
    Validation,
    Test,
}

#[derive(clap::Args, Debug)]
pub struct GradArgs {
    /// The .snn file.
    pub file: PathBuf,
    /// Weights (safetensors, `<pre>-><post>` tensors of shape [post, pre]).
    #[arg(long)]
    pub weights: PathBuf,
    /// Which split the samples come from.
    #[arg(long, value_enum, default_value_t = SplitName::Train)]
    pub split: SplitName,
    /// Sample range `A..B` (B exclusive).
    #[arg(long)]
    pub samples: String,
    /// Which implementation computes the gradient (the emulator runs one
    /// batch on its batch copies, any other count on one copy).
    #[arg(long, value_enum, default_value_t = Backend::Reference)]
    pub backend: Backend,
    /// Where to write the mean gradient (safetensors, same names and shapes
    /// as weights; missing folders are created).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace `--out` even when snnc did not write it.
    #[arg(long)]
    pub force: bool,
}

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// The .snn file.
    pub file: PathBuf,
    /// Epochs to time per thread count (the fastest is reported).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub epochs: u32,
    /// `reference` times the reference trainer on each thread count;
    /// `emulator` times the emulator (and how much of its epoch the batch
    /// ends take) and, side by side, the reference.
    #[arg(long, value_enum, default_value_t = Backend::Reference)]
    pub backend: Backend,
    /// Thread counts to time, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2], value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024))]
    pub threads: Vec<usize>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct GradcheckArgs {
    /// The .snn file.
    pub file: PathBuf,
    /// Weights to check at (default: the spec's initialisers with its seed).
    #[arg(long, conflicts_with = "seeds")]
    pub weights: Option<PathBuf>,
    /// Number of training samples (the first N of the train split; default: the spec's batch size).
    #[arg(long)]
    pub samples: Option<usize>,
    /// Check N initial weights, drawn with the spec's seed + 0, 1, .., N-1 (no picking), and report per
    /// projection how many reach cosine 0.99 at dt / 20.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub seeds: Option<u32>,
    /// Also report the batch gradient without the samples whose closest voltage peak is within EPS
    /// (relative) of the threshold in the exact model ("grazing" samples), labelled as such.
    #[arg(long, value_name = "EPS")]
    pub exclude_grazing: Option<f64>,
    /// Grid refinements k (dt / k), comma-separated, coarsest first.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,10,20,50,100")]
    pub refine: Vec<u32>,
    /// Compare each grid with an exact model whose projections delay every spike by one more dt of
    /// that grid (the discrete forward's one-step latency per projection) instead of the exact model
    /// without it.
    #[arg(long)]
    pub delay_per_step: bool,
    /// Step every lif and li population's membrane by this scheme instead of the spec's
    /// `integration` (default: as the spec says).
    #[arg(long, value_enum)]
    pub integration: Option<IntegrationArg>,
    /// Print the report as a Markdown section (the format of docs/gradcheck.md).
    #[arg(long)]
    pub markdown: bool,
    /// Write one CSV row per seed, sample, grid and projection (margins, errors) to this file.
    #[arg(long, value_name = "FILE")]
    pub samples_csv: Option<PathBuf>,
    /// Overwrite --samples-csv even if snnc did not write it.
    #[arg(long)]
    pub force: bool,
}

fn pipeline_failure(e: snnc_runtime::pipeline::PipelineError) -> Failure {
    Failure::of(e.class(), e)
}

fn prepare_for(file: &Path, net: &snnc_compiler::ValidNetwork) -> Result<Prepared, Failure> {
    prepare(net, data_dir(file)).map_err(Failure::from)
}

/// `YYYYMMDD-HHMMSS` in UTC.
fn timestamp() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}-{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

pub fn train(args: TrainArgs) -> CmdResult {
    let file = args.file.display().to_string();
    let (target, resume_hint) = match (&args.resume, &args.out) {
        (Some(dir), _) => (RunTarget::Resume(dir.clone()), String::new()),
        (None, Some(dir)) => (
            RunTarget::Dir(dir.clone()),
            format!(
                "continue it with `snnc train {file} --resume {d}`, start over with `--force`, or choose another `--out`",
                d = dir.display()
            ),
        ),
        (None, None) => (RunTarget::Unique { base: PathBuf::from("runs"), stamp: timestamp() }, String::new()),
    };
    train_session(TrainRequest {
        file: &args.file,
        data_dir: data_dir(&args.file),
        backend: args.backend,
        target,
        epochs: args.epochs,
        seed: args.seed,
        init_weights: args.init_weights.as_deref(),
        force: args.force,
        json: args.json,
        resume_hint,
    })
}

fn parse_range(s: &str) -> Option<(usize, usize)> {
    let (a, b) = s.split_once("..")?;
    let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a < b).then_some((a, b))
}

pub fn grad(args: GradArgs) -> CmdResult {
    let (_src, net) = load_network(&args.file)?;
    fsio::check_output_file(&args.out, &[&args.file, &args.weights], args.force)?;
    let p = prepare_for(&args.file, &net)?;
    let weights = read_weights(&args.weights, &p.plan)?;
    let (data, name) = match args.split {
        SplitName::Train => (Some(&p.train), "train"),
        SplitName::Validation => (p.validation.as_ref(), "validation"),
        SplitName::Test => (p.test.as_ref(), "test"),
    };
    let data = data.ok_or_else(|| Failure::rejected(format!("the data set has no {name} split")))?;
    let (a, b) = parse_range(&args.samples)
        .ok_or_else(|| Failure::rejected(format!("--samples `{}` is not a range A..B with A < B", args.samples)))?;
    if b > data.len() {
        return Err(Failure::rejected(format!(
            "--samples {a}..{b} is out of range: the {name} split has {} samples",
            data.len()
        )));
    }
    let idx: Vec<usize> = (a..b).collect();
    let (loss_sum, grad) =
        session::gradient(&net, &p, &weights, data, &idx, args.backend.into()).map_err(session_failure)?;
    fsio::write_output_file(&args.out, &[&args.file, &args.weights], args.force, &weights_bytes(&p.plan, &grad))?;
    let mut out = Out::new();
    out.line(format!("mean loss over {name} samples {a}..{b}: {}", loss_sum / idx.len() as f32));
    for group in &p.plan.groups {
        let max = grad[group.members.clone()].iter().flatten().fold(0.0f32, |m, x| m.max(x.abs()));
        let shape = match group.members.len() {
            1 => format!("[{}, {}]", group.n_post, group.n_pre),
            d => format!("[{d}, {}, {}]", group.n_post, group.n_pre),
        };
        out.line(format!("  {:<24} {shape}  max |grad| {max:e}", group.name));
    }
    out.line(format!("gradient written to {}", args.out.display()));
    out.finish()
}

/// Peak resident memory of this process in KiB (`VmHWM`), when the OS says.
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time (user + system) of this process in seconds, from `/proc/self/stat`.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// One timed configuration of `snnc bench`.
struct BenchRow {
    backend: &'static str,
    threads: usize,
    /// Fastest epoch, wall seconds.
    best: f64,
    /// Mean CPU seconds per epoch.
    cpu: Option<f64>,
    /// One validation pass, wall seconds.
    validation: Option<f64>,
    /// Mean training loss of the last timed epoch.
    loss: f64,
    /// The emulator's batch ends (gradients, optimiser steps, weights
    /// back), wall seconds per epoch (mean).
    batch_ends: Option<f64>,
}

impl BenchRow {
    fn json(&self, samples: usize) -> serde_json::Value {
        serde_json::json!({
            "backend": self.backend,
            "threads": self.threads,
            "epoch_seconds": self.best,
            "epoch_cpu_seconds": self.cpu,
            "samples_per_second": samples as f64 / self.best,
            "validation_seconds": self.validation,
            "train_loss": self.loss,
            "batch_end_seconds": self.batch_ends,
        })
    }
}

/// Mean spikes per sample of each `lif` layer with `weights`, over the
/// first 64 training samples.
fn lif_activity(p: &Prepared, weights: &[Vec<f32>]) -> Vec<(String, f64)> {
    use snnc_runtime::train::eventprop::{Scratch, forward, transpose};
    use snnc_runtime::train::plan::LayerKind;
    let wt = transpose(&p.plan, weights);
    let samples = p.train.len().min(64);
    let mut totals = vec![0usize; p.plan.layers.len()];
    let mut scratch = Scratch::default();
    for s in 0..samples {
        forward(&p.plan, &wt, p.train.events(s), &mut scratch);
        for (t, layer) in totals.iter_mut().zip(&scratch.layers) {
            *t += layer.len();
        }
    }
    p.plan
        .layers
        .iter()
        .zip(totals)
        .filter(|(l, _)| l.kind == LayerKind::Lif)
        .map(|(l, t)| (l.name.clone(), t as f64 / samples.max(1) as f64))
        .collect()
}

/// Times `epochs` epochs of `one_epoch` on a pool of `threads` threads.
fn time_epochs(
    threads: usize,
    epochs: u32,
    mut one_epoch: impl FnMut() -> Result<(), Failure> + Send,
) -> Result<(f64, Option<f64>), Failure> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Failure::internal(format!("cannot start {threads} threads: {e}")))?;
    let mut best = f64::INFINITY;
    let cpu0 = cpu_seconds();
    for _ in 0..epochs {
        let t = Instant::now();
        pool.install(&mut one_epoch)?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    let cpu = cpu0.zip(cpu_seconds()).map(|(a, b)| (b - a) / f64::from(epochs));
    Ok((best, cpu))
}

/// `bench`'s progress on stderr (a terminal only): one bar per timed row,
/// over its epochs' batches, with the time left.
struct BenchBar {
    bar: Option<indicatif::ProgressBar>,
    /// Batches of the epochs already timed.
    before: std::sync::atomic::AtomicU64,
    /// Batches per epoch, known after the first batch.
    per_epoch: std::sync::atomic::AtomicU64,
    epochs: u32,
}

impl BenchBar {
    fn new(show: bool, backend: &str, threads: usize, epochs: u32) -> BenchBar {
        let bar = show.then(|| batch_bar(0, format!("{backend} {threads} thread(s)")));
        BenchBar { bar, before: 0.into(), per_epoch: 0.into(), epochs }
    }

    fn batch(&self, done: usize, total: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        if let Some(b) = &self.bar {
            if self.per_epoch.swap(total as u64, Relaxed) != total as u64 {
                b.set_length(total as u64 * u64::from(self.epochs));
            }
            b.set_position(self.before.load(Relaxed) + done as u64);
        }
    }

    fn epoch_done(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        self.before.fetch_add(self.per_epoch.load(Relaxed), Relaxed);
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

pub fn bench(args: BenchArgs) -> CmdResult {
    let (_src, net) = load_network(&args.file)?;
    let start = Instant::now();
    let p = prepare_for(&args.file, &net)?;
    let prepared = start.elapsed().as_secs_f64();
    let mut rows = Vec::new();
    let mut activity = Vec::new();
    let show_bars = !args.json && std::io::stderr().is_terminal();
    for &threads in &args.threads {
        let mut state = TrainState::new(&p, p.train_spec.seed, None);
        let mut loss = f64::NAN;
        let bar = BenchBar::new(show_bars, "reference", threads, args.epochs);
        let (best, cpu) = time_epochs(threads, args.epochs, || {
            let totals = train_batches(&p, &mut state, &mut |done, total| bar.batch(done, total))?;
            loss = totals.loss_sum / totals.samples as f64;
            state.epoch += 1;
            bar.epoch_done();
            Ok(())
        })?;
        bar.finish();
        let t = Instant::now();
        let validation = p.validation.as_ref().map(|v| {
            rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_or(0.0, |pool| {
                pool.install(|| evaluate(&p.plan, &state.weights, v));
                t.elapsed().as_secs_f64()
            })
        });
        rows.push(BenchRow { backend: "reference", threads, best, cpu, validation, loss, batch_ends: None });
        activity = lif_activity(&p, &state.weights);
    }
    // The emulator's cost model: an epoch on the chip (per clock: as fast
    // as the PEs go, with 1 ms timer ticks) and the end-of-batch phase.
    let mut on_chip: Option<([(f64, f64); 2], f64)> = None;
    if args.backend == Backend::Emulator {
        for &threads in &args.threads {
            let mut state = TrainState::new(&p, p.train_spec.seed, None);
            let mut emu = snnc_runtime::pipeline::emulator(&net, &state.weights).map_err(pipeline_failure)?;
            let mut loss = f64::NAN;
            let bar = BenchBar::new(show_bars, "emulator", threads, args.epochs);
            let (best, cpu) = time_epochs(threads, args.epochs, || {
                let totals = snnc_runtime::emu::train::train_batches(&p, &mut state, &mut emu, &mut |done, total| {
                    bar.batch(done, total)
                })?;
                loss = totals.loss_sum / totals.samples as f64;
                state.epoch += 1;
                bar.epoch_done();
                Ok(())
            })?;
            bar.finish();
            let epochs = f64::from(args.epochs);
            let batch_ends = Some(emu.batch_end_seconds() / epochs);
            rows.push(BenchRow { backend: "emulator", threads, best, cpu, validation: None, loss, batch_ends });
            let c = emu.counters();
            let per_epoch = c.training_seconds(emu.cost_model()).map(|(a, b)| (a / epochs, b / epochs));
            let end = c.batch_end_cycles as f64 / c.batches.max(1) as f64 / emu.cost_model().clocks_hz[0];
            on_chip = Some((per_epoch, end));
        }
    }
    let batch = p.train_spec.batch as usize;
    let samples = p.train.len() / batch * batch;
    let peak = peak_memory_kib();
    let ratio = |threads: usize| {
        let of = |b: &str| rows.iter().find(|r| r.backend == b && r.threads == threads).map(|r| r.best);
        of("emulator").zip(of("reference")).map(|(e, r)| e / r)
    };
    let mut out = Out::new();
    if args.json {
        let v = serde_json::json!({
            "spec": net.name,
            "samples_per_epoch": samples,
            "batch": batch,
            "epochs_timed": args.epochs,
            "prepare_seconds": prepared,
            "rows": rows.iter().map(|r| r.json(samples)).collect::<Vec<_>>(),
            "emulator_over_reference_1_thread": ratio(1),
            "emulator_over_reference_2_threads": ratio(2),
            "on_chip_epoch_seconds": on_chip.map(|([a, b], end)| serde_json::json!({
                "150mhz": a.0, "300mhz": b.0, "timer_ticks_150mhz": a.1, "timer_ticks_300mhz": b.1,
                "end_of_batch_150mhz": end,
            })),
            "peak_memory_kib": peak,
            "lif_spikes_per_sample": activity.iter().map(|(name, n)| (name.clone(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
        });
        out.line(v);
    } else {
        out.line(format!(
            "{}: one training epoch (forward + backward + optimiser, no validation), {samples} samples, batch {batch}; data prepared in {prepared:.2} s",
            net.name
        ));
        for r in &rows {
            let validation = r.validation.map_or(String::new(), |v| format!("; validation pass {v:.4} s"));
            let validation = match r.batch_ends {
                Some(e) => {
                    format!("{validation}; batch ends {e:.4} s/epoch (mean: gradients, optimiser steps, weights)")
                }
                None => validation,
            };
            out.line(format!(
                "  {:<9} {} thread(s): {:.4} s/epoch wall (best of {}), {} CPU s/epoch (mean), {:.0} samples/s, train loss {:.4}{validation}",
                r.backend,
                r.threads,
                r.best,
                args.epochs,
                r.cpu.map_or("?".to_string(), |c| format!("{c:.4}")),
                samples as f64 / r.best,
                r.loss,
            ));
        }
        for threads in [1, 2] {
            if let Some(x) = ratio(threads) {
                out.line(format!("  emulator / reference, {threads} thread(s): {x:.1} x"));
            }
        }
        if let Some(([a, b], end)) = on_chip {
            out.line(format!(
                "  on the chip (ESTIMATES, the emulator's cost model): an epoch takes {:.1} s at 150 MHz, {:.1} s at 300 MHz as fast as the PEs go, {:.1} s / {:.1} s with 1 ms timer ticks; an end-of-batch phase {:.2} ms at 150 MHz",
                a.0,
                b.0,
                a.1,
                b.1,
                end * 1e3
            ));
        }
        for (name, spikes) in &activity {
            let size = p.plan.layers.iter().find(|l| &l.name == name).map_or(1, |l| l.size);
            out.line(format!(
                "  {name}: {spikes:.0} spikes per sample ({:.1} per neuron) after the timed epochs",
                spikes / size as f64
            ));
        }
        out.line(format!(
            "  peak memory: {}",
            peak.map_or("unknown".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
        ));
    }
    out.finish()
}

pub fn gradcheck(args: GradcheckArgs) -> CmdResult {
    use snnc_runtime::train::gradcheck::{self as gc, Options, Weights};
    let (_src, net) = load_network(&args.file)?;
    let net = match args.integration {
        Some(i) => net.with_integration(i.into()),
        None => net,
    };
    let p = prepare_for(&args.file, &net)?;
    let weights = match (&args.weights, args.seeds) {
        (Some(f), _) => Weights::Given(read_weights(f, &p.plan)?),
        (None, None) => Weights::Seeds(vec![p.train_spec.seed]),
        (None, Some(n)) => Weights::Seeds((0..n).map(|k| p.train_spec.seed.wrapping_add(k)).collect()),
    };
    let samples = args.samples.unwrap_or(p.train_spec.batch as usize).min(p.train.len());
    if samples == 0 || args.samples.is_some_and(|n| n > p.train.len()) {
        return Err(Failure::rejected(format!(
            "--samples {} must be between 1 and the training set size {}",
            args.samples.unwrap_or(0),
            p.train.len()
        )));
    }
    if args.refine.is_empty() || args.refine.iter().any(|&k| k == 0 || k > 1000) {
        return Err(Failure::rejected("--refine takes refinements between 1 and 1000, e.g. 1,2,4,10,20"));
    }
    if args.exclude_grazing.is_some_and(|e| !(e > 0.0 && e.is_finite())) {
        return Err(Failure::rejected("--exclude-grazing takes a positive margin, e.g. 0.01"));
    }
    if let Some(f) = &args.samples_csv {
        fsio::check_output_file(f, &[&args.file], args.force)?;
    }
    let idx: Vec<usize> = (0..samples).collect();
    let data = p.train.select(&idx);
    let options = Options {
        refinements: args.refine.clone(),
        exclude_grazing: args.exclude_grazing,
        delay_per_step: args.delay_per_step,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(gc::progress_total(&weights, samples, &options));
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "gradcheck [{bar:40}] {pos}/{len} samples x grids x seeds {elapsed}, about {eta} left",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        b
    });
    let tick = || {
        if let Some(b) = &bar {
            b.inc(1);
        }
    };
    let report = gc::check(&net, &weights, &data, &options, &tick).map_err(|e| Failure::of(ErrorClass::Rejected, e))?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Some(f) = &args.samples_csv {
        fsio::write_output_file(f, &[&args.file], args.force, gc::samples_csv(&report).as_bytes())?;
    }
    let mut out = Out::new();
    if args.markdown {
        let mut cmd = format!("snnc gradcheck {}", args.file.display());
        if let Some(n) = args.seeds {
            cmd += &format!(" --seeds {n}");
        }
        if let Some(n) = args.samples {
            cmd += &format!(" --samples {n}");
        }
        if let Some(e) = args.exclude_grazing {
            cmd += &format!(" --exclude-grazing {e}");
        }
        if args.refine != [1, 2, 4, 10, 20, 50, 100] {
            let r: Vec<String> = args.refine.iter().map(u32::to_string).collect();
            cmd += &format!(" --refine {}", r.join(","));
        }
        if args.delay_per_step {
            cmd += " --delay-per-step";
        }
        if let Some(i) = args.integration {
            cmd += &format!(" --integration {}", snnc_compiler::network::Integration::from(i).word());
        }
        cmd += " --markdown";
        out.text(&gc::markdown(&report, &cmd));
    } else {
        out.text(&gc::summary(&report));
    }
    out.finish()
}
