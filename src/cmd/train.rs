//! `snnc train`, `snnc grad`, `snnc bench`, `snnc gradcheck`.
//!
//! Input: a `.snn` file with a `train` block (and flags). Output: a run
//! directory (see `snnc_runtime::train::run`), per-epoch lines or JSON objects
//! on stdout, progress bars on stderr (only on a terminal, never with
//! `--json`). The numerics live in `snnc_runtime::train`; this module only
//! wires files, flags and rendering.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressStyle};
use miette::Report;
use snnc_runtime::emu::SampleInput;
use snnc_runtime::emu::train::EmuRunner;
use snnc_runtime::train::batch::batch_gradient;
use snnc_runtime::train::batch::evaluate;
use snnc_runtime::train::eventprop::untranspose;
use snnc_runtime::train::init::init_weights;
use snnc_runtime::train::run::{
    CHECKPOINT, Event, RunError, create_run_dir, load_checkpoint, read_weights, train_in_dir, train_in_dir_with,
    weights_bytes, write_atomic,
};
use snnc_runtime::train::trainer::{Prepared, TrainError, TrainState, prepare, train_batches};

use super::{CmdResult, Failure, load_network};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The dense EventProp reference trainer on the host.
    Reference,
    /// The SpiNNaker2 emulator: the lowered per-PE kernels, JIT-compiled,
    /// every packet routed (bit-identical to the reference).
    Emulator,
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// The .snn file whose network and `train` block to use.
    pub file: PathBuf,
    /// Which implementation trains the network.
    #[arg(long, value_enum, default_value_t = Backend::Emulator)]
    pub backend: Backend,
    /// Number of epochs (default: the spec's `epochs`).
    #[arg(long)]
    pub epochs: Option<u32>,
    /// Run directory (default: `runs/<spec-name>-<UTC timestamp>`).
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
    /// One JSON object per epoch, then a summary object; nothing else on stdout.
    #[arg(long)]
    pub json: bool,
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
    /// Where to write the mean gradient (safetensors, same names and shapes as weights).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// The .snn file.
    pub file: PathBuf,
    /// Epochs to time per thread count (the fastest is reported).
    #[arg(long, default_value_t = 5)]
    pub epochs: u32,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct GradcheckArgs {
    /// The .snn file.
    pub file: PathBuf,
    /// Weights to check at (default: the spec's initialisers with its seed).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Number of training samples (the first N of the train split).
    #[arg(long, default_value_t = 8)]
    pub samples: usize,
}

fn rejected(e: impl miette::Diagnostic + Send + Sync + 'static) -> Failure {
    Failure::Rejected(Report::new(e))
}

fn run_failure(e: RunError) -> Failure {
    match e {
        RunError::Io { .. } | RunError::Emulator(_) => Failure::Internal(Report::new(e)),
        other => rejected(other),
    }
}

fn prepare_for(file: &Path, net: &snnc_compiler::ValidNetwork) -> Result<Prepared, Failure> {
    let base = file.parent().unwrap_or(Path::new("."));
    prepare(net, base).map_err(rejected)
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

fn pct(x: Option<f64>) -> String {
    x.map_or("-".to_string(), |v| format!("{:.2}%", 100.0 * v))
}

pub fn train(args: TrainArgs) -> CmdResult {
    let (src, net) = load_network(&args.file)?;
    let p = prepare_for(&args.file, &net)?;
    if args.backend == Backend::Emulator {
        // Refuse what the emulator cannot run before touching the run directory.
        super::build::compile_program(&net, &init_weights(&p.plan, 0))?;
    }
    let (dir, mut state) = match &args.resume {
        Some(dir) => {
            let spec = std::fs::read_to_string(dir.join("spec.snn"))
                .map_err(|e| Failure::rejected(format!("cannot resume from {}: {e}", dir.display())))?;
            if spec != src.text {
                return Err(Failure::rejected(format!(
                    "{} differs from the spec of the run in {} (spec.snn); resume with the same file",
                    args.file.display(),
                    dir.display()
                )));
            }
            (dir.clone(), load_checkpoint(&dir.join(CHECKPOINT), &p).map_err(run_failure)?)
        }
        None => {
            let dir = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("runs/{}-{}", net.name, timestamp())));
            if dir.join(CHECKPOINT).exists() {
                return Err(Failure::rejected(format!(
                    "{} already holds a training run; continue it with `--resume {}` or choose another `--out`",
                    dir.display(),
                    dir.display()
                )));
            }
            let weights = match &args.init_weights {
                Some(f) => Some(read_weights(f, &p.plan).map_err(run_failure)?),
                None => None,
            };
            let seed = args.seed.unwrap_or(p.train_spec.seed);
            create_run_dir(&dir, &src.text).map_err(run_failure)?;
            (dir, TrainState::new(&p, seed, weights))
        }
    };
    let epochs = args.epochs.unwrap_or(p.train_spec.epochs);
    if !args.json {
        println!(
            "training {} ({} trainable weights) on {} samples, seed {}, epochs {}..{epochs}, run directory {}",
            net.name,
            net.trainable_parameters(),
            p.train.len(),
            state.seed,
            state.epoch + 1,
            dir.display()
        );
        if net.train.as_ref().is_some_and(|t| t.filter_ambiguous) {
            println!("ambiguous-point filter removed {} training points", p.filtered);
        }
    }
    let show_bars = !args.json && std::io::stderr().is_terminal();
    let mut bar: Option<ProgressBar> = None;
    let json = args.json;
    let mut on_event = |ev: Event<'_>| match ev {
        Event::Batch { epoch, done, total } => {
            if !show_bars {
                return;
            }
            let b = bar.get_or_insert_with(|| {
                let b = ProgressBar::new(total as u64);
                b.set_style(
                    ProgressStyle::with_template(
                        "epoch {msg} [{bar:40}] {pos}/{len} batches {elapsed}, about {eta} left",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                b.set_message(format!("{epoch}/{epochs}"));
                b
            });
            b.set_position(done as u64);
        }
        Event::Epoch(m) => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            if json {
                println!("{}", serde_json::to_string(m).expect("plain data"));
            } else {
                println!(
                    "epoch {:>3}/{epochs}  loss {:.4}  train {:>7}  validation {:>7}  {:.2} s",
                    m.epoch,
                    m.train_loss,
                    pct(Some(m.train_accuracy)),
                    pct(m.validation_accuracy),
                    m.seconds
                );
            }
        }
    };
    let mut emulated = None;
    let summary = match args.backend {
        Backend::Reference => train_in_dir(&p, &mut state, &dir, &net.name, epochs, &mut on_event),
        Backend::Emulator => {
            let mut emu = super::build::emulator_for(&net, &state.weights)?;
            snnc_runtime::emu::train::write_optimiser_state(&mut emu, &mut state.optimizer)
                .map_err(|e| Failure::Internal(Report::new(e)))?;
            let mut runner = EmuRunner { emu: &mut emu };
            let summary = train_in_dir_with(&p, &mut state, &dir, &net.name, epochs, &mut runner, &mut on_event);
            emulated = Some(EmuReport::of(&emu));
            summary
        }
    }
    .map_err(run_failure)?;
    if args.json {
        let mut v = serde_json::to_value(&summary).expect("plain data");
        v["run_dir"] = serde_json::Value::String(dir.display().to_string());
        if let Some(r) = &emulated {
            v["emulator"] = r.json();
        }
        println!("{v}");
    } else {
        if let Some(r) = &emulated {
            print!("{}", r.text());
        }
        println!(
            "test accuracy {} (ties counted wrong: {}), validation {}, {} epochs, {:.2} s; weights in {}",
            pct(summary.test_accuracy),
            pct(summary.test_strict_accuracy),
            pct(summary.validation_accuracy),
            summary.epochs,
            summary.seconds,
            dir.join("weights.safetensors").display()
        );
    }
    Ok(())
}

fn parse_range(s: &str) -> Option<(usize, usize)> {
    let (a, b) = s.split_once("..")?;
    let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a < b).then_some((a, b))
}

pub fn grad(args: GradArgs) -> CmdResult {
    let (_src, net) = load_network(&args.file)?;
    let p = prepare_for(&args.file, &net)?;
    let weights = read_weights(&args.weights, &p.plan).map_err(run_failure)?;
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
    let (loss_sum, grad) = match args.backend {
        Backend::Reference => {
            let out = batch_gradient(&p.plan, &weights, data, &idx);
            (out.loss_sum, out.grad)
        }
        Backend::Emulator => emulated_gradient(&net, &p, &weights, data, &idx)?,
    };
    write_atomic(&args.out, &weights_bytes(&p.plan, &grad)).map_err(run_failure)?;
    println!("mean loss over {name} samples {a}..{b}: {}", loss_sum / idx.len() as f32);
    for (proj, g) in p.plan.projections.iter().zip(&grad) {
        let max = g.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        println!("  {:<24} [{}, {}]  max |grad| {max:e}", proj.name, proj.n_post, proj.n_pre);
    }
    println!("gradient written to {}", args.out.display());
    Ok(())
}

/// The emulator's counters and estimates after a run.
struct EmuReport {
    counters: snnc_runtime::emu::Counters,
    cost: snnc_runtime::emu::CostModel,
    jit_seconds: f64,
    pes: usize,
    kernels: usize,
    samples: u64,
    copies: u32,
}

impl EmuReport {
    fn of(emu: &snnc_runtime::emu::Emulator) -> EmuReport {
        let counters = emu.counters();
        let per_sample = 2 * u64::from(emu.program().steps) - 1;
        EmuReport {
            samples: counters.ticks / per_sample.max(1),
            counters,
            cost: *emu.cost_model(),
            jit_seconds: emu.jit_seconds(),
            pes: emu.program().cores.len(),
            kernels: emu.program().kernels.len(),
            copies: emu.program().copies,
        }
    }

    fn json(&self) -> serde_json::Value {
        let c = &self.counters;
        let ops: serde_json::Map<String, serde_json::Value> = snnc_compiler::kernel::OpClass::ALL
            .iter()
            .map(|&k| (k.name().to_string(), serde_json::Value::from(c.ops.get(k))))
            .collect();
        let t = c.seconds_per_sample(self.samples, &self.cost);
        let e = c.joules(self.samples, self.copies, self.pes, &self.cost);
        serde_json::json!({
            "pes": self.pes,
            "kernels": self.kernels,
            "jit_seconds": self.jit_seconds,
            "samples": self.samples,
            "packets_sent": {
                "spike": c.packets_sent[0], "error": c.packets_sent[1],
                "gradient": c.packets_sent[2], "weight": c.packets_sent[3],
            },
            "packets_received": c.packets_received,
            "router_lookups": c.router_lookups,
            "chip_hops": c.chip_hops,
            "invocations": c.invocations,
            "operations": ops,
            "estimate": {
                "cycles_per_sample": c.tick_cycles / self.samples.max(1),
                "max_tick_cycles": c.max_tick_cycles,
                "seconds_per_sample_150mhz": t[0],
                "seconds_per_sample_300mhz": t[1],
                "tick_overruns_150mhz": c.overruns[0],
                "tick_overruns_300mhz": c.overruns[1],
                "joules_150mhz": e[0],
                "joules_300mhz": e[1],
            },
        })
    }

    fn text(&self) -> String {
        let c = &self.counters;
        let t = c.seconds_per_sample(self.samples, &self.cost);
        let e = c.joules(self.samples, self.copies, self.pes, &self.cost);
        let ops: u64 = c.ops.0.iter().sum();
        format!(
            "emulator: {} PEs, {} kernels JIT-compiled in {:.0} ms; {} samples; packets sent: {} spike, {} error, {} gradient, {} weight; {} router lookups, {} chip-to-chip hops; {} kernel operations\n\
             ESTIMATES (cost model of docs/spinnaker2.md, Cortex-M4F cycles; SpiNNaker1 energy figures): on-chip compute {:.1} us per sample at 150 MHz, {:.1} us at 300 MHz (busiest PE per 1 ms tick, summed); busiest PE tick {} cycles; 1 ms tick overruns: {} at 150 MHz, {} at 300 MHz; energy {:.3} J at 150 MHz, {:.3} J at 300 MHz\n",
            self.pes,
            self.kernels,
            self.jit_seconds * 1000.0,
            self.samples,
            c.packets_sent[0],
            c.packets_sent[1],
            c.packets_sent[2],
            c.packets_sent[3],
            c.router_lookups,
            c.chip_hops,
            ops,
            t[0] * 1e6,
            t[1] * 1e6,
            c.max_tick_cycles,
            c.overruns[0],
            c.overruns[1],
            e[0],
            e[1],
        )
    }
}

/// The mean gradient of `idx` computed in the emulator: one sample per batch
/// copy (in waves when there are fewer copies than samples; for other than
/// one batch, one copy whose loss divides by `idx.len()`), each copy's layer
/// PEs hold its sample's gradient (errors already divided); the host sums
/// them in sample order, as the optimiser PE does.
fn emulated_gradient(
    net: &snnc_compiler::ValidNetwork,
    p: &Prepared,
    weights: &[Vec<f32>],
    data: &snnc_runtime::data::encode::Encoded,
    idx: &[usize],
) -> Result<(f32, Vec<Vec<f32>>), Failure> {
    let internal = |e: snnc_runtime::emu::EmuError| Failure::Internal(Report::new(e));
    // Other than one batch: one PE group runs the samples one after another,
    // each loss error divided by their number (the reference's mean).
    let mut net = net.clone();
    if idx.len() != p.train_spec.batch as usize
        && let Some(t) = net.train.as_mut()
    {
        t.batch = u32::try_from(idx.len()).map_err(|_| Failure::rejected("too many samples"))?;
        net.target.mapping = snnc_compiler::network::Mapping::SingleCopy;
    }
    let mut emu = super::build::emulator_for(&net, weights)?;
    let copies = emu.program().copies as usize;
    let mut loss_sum = 0.0f32;
    let mut sum: Vec<Vec<f32>> = p.plan.projections.iter().map(|q| vec![0.0; q.n_pre * q.n_post]).collect();
    // Waves of one sample per copy (one wave with a copy per sample).
    for wave in idx.chunks(copies.max(1)) {
        let samples: Vec<SampleInput> =
            wave.iter().map(|&s| SampleInput { steps: data.sample(s), label: data.labels[s] }).collect();
        for r in emu.run_batch(&samples, None).map_err(internal)? {
            loss_sum += r.loss;
        }
        for copy in 0..wave.len() as u32 {
            for layer in &p.plan.layers {
                let grad = emu.layer_buffer(copy, layer.node, "grad").map_err(internal)?;
                let mut at = 0;
                for &q in &layer.incoming {
                    let len = sum[q].len();
                    for (acc, &g) in sum[q].iter_mut().zip(&grad[at..at + len]) {
                        *acc += f32::from_bits(g);
                    }
                    at += len;
                }
            }
        }
    }
    Ok((loss_sum, untranspose(&p.plan, &sum)))
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

pub fn bench(args: BenchArgs) -> CmdResult {
    let (_src, net) = load_network(&args.file)?;
    let p = prepare_for(&args.file, &net)?;
    let epochs = args.epochs.max(1);
    let mut rows = Vec::new();
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Failure::internal(format!("cannot start {threads} threads: {e}")))?;
        let mut state = TrainState::new(&p, p.train_spec.seed, None);
        let mut best = f64::INFINITY;
        let cpu0 = cpu_seconds();
        for _ in 0..epochs {
            let t = Instant::now();
            pool.install(|| train_batches(&p, &mut state, &mut |_, _| {})).map_err(|e: TrainError| rejected(e))?;
            state.epoch += 1;
            best = best.min(t.elapsed().as_secs_f64());
        }
        let cpu = cpu0.zip(cpu_seconds()).map(|(a, b)| (b - a) / f64::from(epochs));
        let t = Instant::now();
        if let Some(v) = &p.validation {
            pool.install(|| evaluate(&p.plan, &state.weights, v));
        }
        rows.push((threads, best, cpu, t.elapsed().as_secs_f64()));
    }
    let batch = p.train_spec.batch as usize;
    let samples = p.train.len() / batch * batch;
    let peak = peak_memory_kib();
    if args.json {
        let v = serde_json::json!({
            "spec": net.name,
            "samples_per_epoch": samples,
            "batch": batch,
            "epoch_seconds_1_thread": rows[0].1,
            "epoch_cpu_seconds_1_thread": rows[0].2,
            "epoch_seconds_2_threads": rows[1].1,
            "samples_per_second_1_thread": samples as f64 / rows[0].1,
            "samples_per_second_2_threads": samples as f64 / rows[1].1,
            "validation_seconds_1_thread": rows[0].3,
            "peak_memory_kib": peak,
        });
        println!("{v}");
    } else {
        println!(
            "{}: one training epoch (forward + backward + optimiser, no validation), {samples} samples, batch {batch}",
            net.name
        );
        for (threads, s, cpu, val) in &rows {
            println!(
                "  {threads} thread(s): {s:.4} s/epoch wall (best of {epochs}), {} CPU s/epoch (mean), {:.0} samples/s; validation pass {val:.4} s",
                cpu.map_or("?".to_string(), |c| format!("{c:.4}")),
                samples as f64 / s,
            );
        }
        println!("  peak memory: {}", peak.map_or("unknown".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0)));
    }
    Ok(())
}

pub fn gradcheck(args: GradcheckArgs) -> CmdResult {
    let (_src, net) = load_network(&args.file)?;
    let p = prepare_for(&args.file, &net)?;
    let weights = match &args.weights {
        Some(f) => read_weights(f, &p.plan).map_err(run_failure)?,
        None => init_weights(&p.plan, p.train_spec.seed),
    };
    if args.samples == 0 || args.samples > p.train.len() {
        return Err(Failure::rejected(format!(
            "--samples {} must be between 1 and the training set size {}",
            args.samples,
            p.train.len()
        )));
    }
    let idx: Vec<usize> = (0..args.samples).collect();
    let data = p.train.select(&idx);
    let report = snnc_runtime::train::gradcheck::gradcheck(&net, &weights, &data).map_err(rejected)?;
    println!(
        "gradient check of {}: {} training samples; continuous gradient by central differences (h = {:e}) of the exact continuous-time model",
        net.name,
        report.samples,
        snnc_runtime::train::gradcheck::FD_STEP
    );
    println!(
        "discrete gradient ~= dt (in seconds) x continuous gradient; rel. error = |g_disc/dt - g_cont| / |g_cont|"
    );
    print!("{}", snnc_runtime::train::gradcheck::table(&report));
    Ok(())
}
