//! `snnc sweep`: train a spec at every point of a search space.
//!
//! Input: a `.snn` file with a `train` block, and the search space as
//! `--set PATH=VALUES` flags or the spec's `sweep { .. }` block. Output: a
//! sweep directory (`crate::sweep::plan` lists its files) whose trials run
//! here in parallel (child `snnc train` processes) or as a Slurm job array
//! (`--slurm`; `--trial K` runs one task, `--collect DIR` gathers the
//! table), then `results.csv`, `results.json`, `accuracy.svg` and a printed
//! table. The machinery is in `crate::sweep`; this module wires flags,
//! checks and rendering.
//!
//! Exit status: 0 when every trial finished; 1 when the sweep was rejected
//! (a spec, path or value error), or when a trial failed or did not finish
//! (each listed with its log); 3 when an output cannot be written; 70 on an
//! internal error of the sweep itself (the table of `snnc --help`).

use std::io::IsTerminal;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use miette::{NamedSource, Report};
use snnc_compiler::ErrorClass;
use snnc_compiler::sweep::{self as space, Flags, Origin};
use snnc_runtime::fsio::write_atomic;

use super::session::Backend;
use super::{CmdResult, Failure, Source, check};
use crate::sweep::exec::{Outcome, TrialFiles, run_local, run_trial};
use crate::sweep::plan::{self, Definition, DirError, show};
use crate::sweep::results::{self, Row};
use crate::sweep::slurm::{self, Resources};

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  snnc sweep examples/yinyang.snn --set optimizer.lr=1e-3,2e-3,4e-3 --set train.seed=0..5
  snnc sweep spec.snn --set optimizer.lr='log_uniform(1e-4,1e-2)' --trials 20 --draw-seed 1
  snnc sweep spec.snn --list-paths
  snnc sweep spec.snn --set train.seed=0..8 --slurm --slurm-time 00:30:00 --slurm-partition cpu
  snnc sweep --collect sweeps/spec

Exit status:
  0  every trial finished
  1  the sweep was rejected (spec, path or value), or a trial failed or did not finish
     (each is listed with its log; rerun the same command to complete them)
 70  an internal error (the statuses of `snnc --help`)")]
pub struct SweepArgs {
    /// The .snn file: its network, its `train` block, and its `sweep { .. }` block unless --set is given.
    #[arg(required_unless_present_any = ["trial", "collect"])]
    pub file: Option<PathBuf>,
    /// A swept parameter, `PATH=VALUES`: a list `optimizer.lr=1e-3,2e-3,4e-3`, an integer range
    /// `train.seed=0..5` (the end is exclusive: 0 to 4), values with units where the parameter has
    /// them (`population.hidden.tau_mem=10ms,20ms`); with --trials also `uniform(a,b)`,
    /// `log_uniform(a,b)` or `choice(x,y,..)`. Repeat it for a grid over several parameters. Given,
    /// it replaces the spec's `sweep` block. `--list-paths` shows the paths of a spec.
    #[arg(long = "set", value_name = "PATH=VALUES", conflicts_with_all = ["trial", "collect"])]
    pub sets: Vec<String>,
    /// A random sweep: N draws of the --set distributions, each run with every combination of the
    /// --set lists.
    #[arg(long, value_name = "N", requires = "sets")]
    pub trials: Option<u32>,
    /// The seed of the random draws (numpy's `RandomState(seed)`; default 0).
    #[arg(long, value_name = "S", requires = "trials")]
    pub draw_seed: Option<u32>,
    /// The sweep's directory (default: `sweeps/<spec file name>`). Running the same sweep again
    /// skips its finished trials and completes the others.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Which implementation trains each trial (as in `snnc train`).
    #[arg(long, value_enum, default_value_t = Backend::Emulator)]
    pub backend: Backend,
    /// Epochs of every trial (default: the spec's `epochs`), written into each trial's spec.
    #[arg(long)]
    pub epochs: Option<u32>,
    /// Trials run at once here (default: the number of cores); each gets cores/N threads.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Use --dir even though it holds a different sweep: its trials are deleted first.
    #[arg(long)]
    pub force: bool,
    /// Print every parameter path of the spec with its value (or `(default)`), and exit.
    #[arg(long, conflicts_with_all = ["sets", "trial", "collect", "slurm"])]
    pub list_paths: bool,
    /// Run trial K of the sweep in --dir, and nothing else (what each Slurm array task runs).
    #[arg(long, value_name = "K", requires = "dir", conflicts_with_all = ["file", "collect", "slurm"])]
    pub trial: Option<u32>,
    /// Gather the table of the sweep in DIR (after a Slurm run): results.csv, results.json,
    /// accuracy.svg; list the failed and unfinished trials with their logs.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["file", "slurm"])]
    pub collect: Option<PathBuf>,
    /// Submit the trials that are not finished as one Slurm job array (`sbatch`), one trial per
    /// task, instead of running them here. The binary and --dir must be on a shared file system.
    #[arg(long)]
    pub slurm: bool,
    /// CPUs per array task (`--cpus-per-task`; also its number of threads).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "slurm")]
    pub slurm_cpus: u32,
    /// Time limit per array task (`--time`), e.g. `00:30:00`.
    #[arg(long, value_name = "TIME", requires = "slurm")]
    pub slurm_time: Option<String>,
    /// Partition (`--partition`).
    #[arg(long, value_name = "NAME", requires = "slurm")]
    pub slurm_partition: Option<String>,
    /// At most K array tasks at once (`--array=..%K`).
    #[arg(long, value_name = "K", requires = "slurm")]
    pub slurm_max_parallel: Option<u32>,
    /// One more `#SBATCH` option, as sbatch takes it: `--slurm-extra=--mem=4G` (repeatable).
    #[arg(long, value_name = "OPTION", allow_hyphen_values = true, requires = "slurm")]
    pub slurm_extra: Vec<String>,
    /// With --slurm: write the sbatch script, do not submit it.
    #[arg(long, requires = "slurm")]
    pub dry_run: bool,
}

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Reference => "reference",
        Backend::Emulator => "emulator",
    }
}

fn internal(e: impl std::fmt::Display) -> Failure {
    Failure::internal(e)
}

fn dir_failure(e: DirError) -> Failure {
    match e {
        DirError::Differs(what) => Failure::of_report(
            ErrorClass::Rejected,
            miette::miette!(
                code = "snn::sweep::directory_differs",
                help = "rerun the sweep it holds, choose another --dir, or pass --force to delete its trials and start this one",
                "{what}"
            ),
        ),
        DirError::Unusable(m) => {
            Failure::of_report(ErrorClass::Rejected, miette::miette!(code = "snn::sweep::not_a_sweep", "{m}"))
        }
        DirError::Io(m) => Failure::internal(m),
    }
}

pub fn sweep(args: SweepArgs) -> CmdResult {
    if let Some(dir) = &args.collect {
        return collect(dir);
    }
    if let (Some(k), Some(dir)) = (args.trial, &args.dir) {
        return one_trial(dir, k);
    }
    let Some(file) = args.file.clone() else {
        return Err(Failure::rejected("give the .snn file to sweep"));
    };
    let src = Source::read(&file)?;
    let net = check(&src)?;
    if args.list_paths {
        for p in space::parameters(&src.text) {
            crate::say!("{:<40} {}", p.path, p.current.as_deref().unwrap_or("(default)"));
        }
        return Ok(());
    }
    if net.train.is_none() {
        return Err(Failure::rejected(format!(
            "{} has no `train` block: a sweep trains the spec once per trial",
            file.display()
        )));
    }
    let flags = Flags { sets: args.sets.clone(), trials: args.trials, seed: args.draw_seed };
    let space = space::read(&src.name, &src.text, &flags)
        .map_err(|d| Failure::of_report(ErrorClass::Rejected, Report::new(d)))?;
    if args.epochs.is_some() && space.axes.iter().any(|a| a.path == "train.epochs") {
        return Err(Failure::rejected("--epochs cannot be given when `train.epochs` is swept"));
    }
    let def = Definition::new(&src.name, &net.name, backend_name(args.backend), args.epochs, &space);
    let specs = trial_specs(&file, &src, &def)?;

    let dir = args.dir.clone().unwrap_or_else(|| {
        PathBuf::from("sweeps").join(file.file_stem().map_or("sweep".into(), |s| s.to_string_lossy().into_owned()))
    });
    let made = plan::open_or_create(&dir, &def, &src.text, &specs, args.force).map_err(dir_failure)?;
    let from = match space.origin {
        Origin::CommandLine if net_has_sweep_block(&src.text) => "--set (the spec's sweep block is not used)",
        Origin::CommandLine => "--set",
        Origin::Block => "the spec's sweep block",
    };
    let todo: Vec<u32> = def
        .trials
        .iter()
        .map(|t| t.trial)
        .filter(|&k| results::finished(&TrialFiles::of(&dir, &def, k).run).is_none())
        .collect();
    crate::say!(
        "sweep of {} ({}): {} trials, {} from {from}; backend {}, {}; directory {}{}",
        net.name,
        file.display(),
        def.trials.len(),
        space.describe(),
        def.backend,
        def.epochs.map_or("the spec's epochs".into(), |e| format!("{e} epochs per trial")),
        dir.display(),
        if made { "" } else { " (continued)" }
    );
    if todo.len() < def.trials.len() {
        crate::say!("{} of {} trials already finished", def.trials.len() - todo.len(), def.trials.len());
    }
    if args.slurm {
        return submit(&args, &dir, &def, &todo);
    }
    run_here(&args, &dir, &def, &todo)?;
    report(&dir, &def)
}

fn net_has_sweep_block(text: &str) -> bool {
    snnc_compiler::syntax::parse(text)
        .is_ok_and(|f| f.items.iter().any(|i| matches!(i, snnc_compiler::syntax::ast::Item::Sweep(_))))
}

/// The spec of every trial, each checked as `snnc check` would: a value out
/// of range is the checker's own error, shown in the trial's text. Values
/// are checked one at a time first (one report per bad value), then whole
/// trials (values that are only wrong together).
fn trial_specs(file: &Path, src: &Source, def: &Definition) -> Result<Vec<String>, Failure> {
    let spec_dir = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let epochs = def.epochs.map(|e| ("train.epochs".to_string(), e.to_string()));
    let text_of = |params: &[(String, String)]| -> Result<String, Failure> {
        let mut a = params.to_vec();
        a.extend(epochs.clone());
        space::trial_text(&src.text, &a, spec_dir).map_err(|path| {
            Failure::rejected(format!(
                "`{path}` is not a parameter of the trial {} (an earlier value removed it)",
                show(params)
            ))
        })
    };
    let check_trial = |params: &[(String, String)], text: &str| -> Option<Report> {
        let name = format!("{} with {}", src.name, show(params));
        let d = snnc_compiler::check_source(&name, text).err()?;
        Some(Report::new(d).with_source_code(NamedSource::new(name, text.to_string())))
    };
    let mut reports = Vec::new();
    // Each value alone.
    let mut seen = std::collections::BTreeSet::new();
    for t in &def.trials {
        for p in &t.params {
            if !seen.insert(p.clone()) {
                continue;
            }
            let one = [p.clone()];
            reports.extend(check_trial(&one, &text_of(&one)?));
        }
    }
    // Whole trials.
    let mut specs = Vec::with_capacity(def.trials.len());
    for t in &def.trials {
        let text = text_of(&t.params)?;
        if reports.is_empty()
            && let Some(r) = check_trial(&t.params, &text)
        {
            reports.push(r);
            if reports.len() == 3 {
                break;
            }
        }
        specs.push(text);
    }
    match reports.pop() {
        None => Ok(specs),
        Some(last) => {
            for r in reports {
                let _ = writeln!(std::io::stderr(), "{r:?}");
            }
            Err(Failure::of_report(ErrorClass::Rejected, last))
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:.2}%", 100.0 * v))
}

/// Runs `todo` here, `--jobs` at a time, reporting each as it ends.
fn run_here(args: &SweepArgs, dir: &Path, def: &Definition, todo: &[u32]) -> Result<(), Failure> {
    if todo.is_empty() {
        return Ok(());
    }
    let jobs = args.jobs.unwrap_or_else(cores).clamp(1, todo.len());
    let threads = (cores() / jobs).max(1);
    crate::say!("running {} trials, {jobs} at a time, {threads} thread(s) each", todo.len());
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new(todo.len() as u64);
        b.set_style(
            ProgressStyle::with_template("trials [{bar:40}] {pos}/{len} {elapsed}, about {eta} left {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        b
    });
    let (mut done, mut failed) = (0usize, 0usize);
    let mut error = None;
    run_local(dir, def, todo, jobs, threads, &mut |k, outcome| {
        done += 1;
        let params = show(&def.trials[k as usize].params);
        let line = match outcome {
            Ok(Outcome::Finished { result: r, .. }) => format!(
                "trial {k} ({done}/{}) {params}: validation {} (best {}), test {}, {:.1} s",
                todo.len(),
                pct(r.validation_accuracy),
                pct(r.best_validation_accuracy),
                pct(r.test_accuracy),
                r.seconds
            ),
            Ok(Outcome::Failed(st)) => {
                failed += 1;
                format!(
                    "trial {k} ({done}/{}) {params}: FAILED ({}), log {}",
                    todo.len(),
                    st.describe(),
                    TrialFiles::of(dir, def, k).log.display()
                )
            }
            Ok(Outcome::Busy) => format!("trial {k} ({done}/{}) {params}: run by another process, skipped", todo.len()),
            Err(e) => {
                error.get_or_insert(e.clone());
                format!("trial {k}: cannot run it: {e}")
            }
        };
        match &bar {
            Some(b) => {
                b.println(&line);
                b.set_message(if failed > 0 { format!("({failed} failed)") } else { String::new() });
                b.inc(1);
            }
            None => crate::say!("{line}"),
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    error.map_or(Ok(()), |e| Err(internal(e)))
}

/// Writes results.csv, results.json and accuracy.svg, prints the table,
/// and fails (exit status 1) when a trial is not finished.
fn report(dir: &Path, def: &Definition) -> CmdResult {
    let rows = results::rows(dir, def);
    let write = |name: &str, text: String| write_atomic(&dir.join(name), text.as_bytes()).map_err(internal);
    write("results.csv", results::csv(def, &rows))?;
    write("results.json", results::json(def, &rows))?;
    write("accuracy.svg", crate::sweep::svg::accuracy(def, &rows))?;
    crate::say!();
    crate::cmd::print_text(&results::table(def, &rows));
    crate::say!("results in {}: results.csv, results.json, accuracy.svg", dir.display());
    let missing: Vec<&Row> = rows.iter().filter(|r| r.result.is_none()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    crate::say!("{} of {} trials did not finish:", missing.len(), rows.len());
    for r in &missing {
        let mut logs = vec![dir.join(&r.log).display().to_string()];
        logs.extend(slurm::task_logs(dir, r.trial).iter().map(|l| l.display().to_string()));
        crate::say!(
            "  trial {} ({}): {}; log {}",
            r.trial,
            show(&r.params),
            r.exit.as_ref().map_or("not finished".into(), |e| format!("failed, {e}")),
            logs.join(", ")
        );
    }
    let msg = format!("{} of {} trials did not finish (listed above, with their logs)", missing.len(), rows.len());
    Err(Failure::of_report(
        ErrorClass::Rejected,
        miette::miette!(
            code = "snn::sweep::trials_failed",
            help = "rerun the same sweep (or resubmit it with --slurm) to run them again: finished trials are kept, interrupted ones continue from their checkpoint",
            "{msg}"
        ),
    ))
}

/// `--trial K --dir DIR`: one trial, as a Slurm array task runs it.
fn one_trial(dir: &Path, k: u32) -> CmdResult {
    let def = plan::read_definition(dir).map_err(dir_failure)?;
    if k as usize >= def.trials.len() {
        return Err(Failure::rejected(format!(
            "the sweep in {} has {} trials (0..{}); there is no trial {k}",
            dir.display(),
            def.trials.len(),
            def.trials.len()
        )));
    }
    let params = show(&def.trials[k as usize].params);
    let log = TrialFiles::of(dir, &def, k).log;
    match run_trial(dir, &def, k, None).map_err(internal)? {
        Outcome::Finished { result, ran } => {
            crate::say!(
                "trial {k} {params}: {}validation {}, test {}; log {}",
                if ran { "" } else { "already finished: " },
                pct(result.validation_accuracy),
                pct(result.test_accuracy),
                log.display()
            );
            Ok(())
        }
        Outcome::Busy => Err(Failure::rejected(format!("trial {k} is being run by another process"))),
        Outcome::Failed(st) => {
            let msg = format!("trial {k} ({params}) failed: {}; log {}", st.describe(), log.display());
            Err(Failure::new(super::class_of_exit(st.exit_code), miette::miette!("{msg}")))
        }
    }
}

/// `--collect DIR`.
fn collect(dir: &Path) -> CmdResult {
    let def = plan::read_definition(dir).map_err(dir_failure)?;
    crate::say!(
        "sweep of {} ({}): {} trials, {}; directory {}",
        def.network,
        def.spec,
        def.trials.len(),
        def.mode,
        dir.display()
    );
    report(dir, &def)
}

/// `--slurm`: writes `slurm/sweep.sbatch` for the unfinished trials and
/// submits it (unless `--dry-run`).
fn submit(args: &SweepArgs, dir: &Path, def: &Definition, todo: &[u32]) -> CmdResult {
    if todo.is_empty() {
        crate::say!("every trial is finished: nothing to submit");
        return report(dir, def);
    }
    let abs = std::path::absolute(dir).map_err(internal)?;
    let exe = std::env::current_exe().map_err(internal)?;
    let r = Resources {
        cpus: args.slurm_cpus,
        time: args.slurm_time.clone(),
        partition: args.slurm_partition.clone(),
        max_parallel: args.slurm_max_parallel,
        extra: args.slurm_extra.clone(),
    };
    std::fs::create_dir_all(slurm::logs_dir(&abs)).map_err(internal)?;
    let script_path = abs.join("slurm").join("sweep.sbatch");
    let name = abs.file_name().map_or("sweep".into(), |n| n.to_string_lossy().into_owned());
    write_atomic(&script_path, slurm::script(&exe, &abs, &name, todo, &r).as_bytes()).map_err(internal)?;
    if args.dry_run {
        crate::say!(
            "wrote {} ({} array tasks); submit it with `sbatch {}`",
            script_path.display(),
            todo.len(),
            script_path.display()
        );
        return Ok(());
    }
    let job = slurm::submit(&script_path).map_err(Failure::internal)?;
    crate::say!(
        "submitted job {job}: {} array tasks ({}); follow it with `squeue -j {job}`, then gather the results with `snnc sweep --collect {}`",
        todo.len(),
        slurm::array_spec(todo),
        dir.display()
    );
    Ok(())
}
