//! The gradient check's report as text (the `gradcheck` command), as a
//! Markdown section (`docs/gradcheck.md`) and as per-sample CSV rows.
//!
//! Input: a [`Report`]. Output: strings. The numbers are summarised once
//! ([`Summary`]) and both renderings print the same summary.

use std::fmt::Write;

use super::stats::{Evidence, Verdict, log_slope, median, quantile, verdict};
use super::{COSINE_GOAL, GradcheckReport, Report, SEED_GOAL, Unit, VERDICT_REFINEMENT};
use snnc_compiler::network::Integration;

/// Samples whose margin is below this are counted as grazing in the
/// per-sample statistics when no `exclude_grazing` was given.
pub const GRAZING: f64 = 1e-3;

/// Rates are fitted on this many of the finest grids (0.1 to 0.01 ms for
/// the default refinements of a 1 ms network).
pub const FIT_GRIDS: usize = 4;

/// One projection on one grid, over the seeds.
#[derive(Clone, Debug)]
pub struct Row {
    pub dt_ms: f64,
    pub steps: u32,
    pub cosine: [f64; 3],
    pub relative_error: f64,
    pub top_share: f64,
    pub passed: usize,
    /// Without the grazing samples: cosine quartiles and seeds passing.
    pub non_grazing: Option<([f64; 3], usize)>,
    /// Median per-sample relative error (all seeds pooled, samples whose
    /// exact and discrete gradients both vanish left out) of the samples
    /// whose spike counts agree with the exact model on this grid, of those
    /// among them whose order gap is at least this grid's step (the grid
    /// orders their events as the exact model does), of the non-grazing and
    /// of the grazing samples.
    pub sample_error: [f64; 4],
    /// Local order: slope of log batch error (median over seeds) against
    /// log dt from the previous, coarser grid.
    pub order: Option<f64>,
}

/// One grid's per-sample statistics (all seeds and samples pooled).
#[derive(Clone, Debug)]
pub struct SampleRow {
    pub dt_ms: f64,
    /// Fraction of samples with a spike count change / a silence change /
    /// an order gap below the step ([`super::SampleReport::order_gap`]).
    pub count_changes: f64,
    pub silence_changes: f64,
    pub unordered: f64,
}

#[derive(Clone, Debug)]
pub struct Summary {
    pub grazing: f64,
    /// Fraction of samples (all seeds) whose margin is below `grazing`.
    pub grazing_fraction: f64,
    pub samples_total: usize,
    /// Per projection, per grid.
    pub rows: Vec<Vec<Row>>,
    pub samples: Vec<SampleRow>,
    /// Per projection.
    pub verdicts: Vec<Verdict>,
    pub batch_slope: Vec<Option<f64>>,
    pub sample_slope: Vec<Option<f64>>,
    /// The median margin of the grazing samples and of all samples.
    pub margin_quartiles: [f64; 3],
}

fn quartiles(v: &[f64]) -> [f64; 3] {
    [quantile(v, 0.25), median(v), quantile(v, 0.75)]
}

fn ms(dt: f64) -> f64 {
    (dt * 1e3 * 1e6).round() / 1e6
}

/// Summarises a report.
pub fn summarize(r: &Report) -> Summary {
    let grazing = r.exclude_grazing.unwrap_or(GRAZING);
    let samples: Vec<_> = r.seeds.iter().flat_map(|s| &s.samples).collect();
    let is_grazing = |m: f64| m < grazing;
    let ng = samples.iter().filter(|s| is_grazing(s.margin)).count();
    let grids = r.refinements.len();
    // Each grid's step, seconds (every seed has the same grids).
    let step = |g: usize| r.seeds.first().map_or(f64::NAN, |s| s.grids[g].dt);
    let seeds = r.seeds.len();
    let fit_from = grids.saturating_sub(FIT_GRIDS);
    let verdict_grid = r.refinements.iter().position(|&k| k == VERDICT_REFINEMENT).unwrap_or(grids.saturating_sub(1));
    let mut rows = Vec::new();
    let mut verdicts = Vec::new();
    let (mut batch_slope, mut sample_slope) = (Vec::new(), Vec::new());
    for p in 0..r.projections.len() {
        let mut pr = Vec::new();
        for g in 0..grids {
            let cos: Vec<f64> = r.seeds.iter().map(|s| s.grids[g].layers[p].cosine).collect();
            let rel: Vec<f64> = r.seeds.iter().map(|s| s.grids[g].layers[p].relative_error).collect();
            let top: Vec<f64> = r.seeds.iter().map(|s| s.grids[g].layers[p].top_share).collect();
            let non_grazing = r.exclude_grazing.map(|_| {
                let c: Vec<f64> = r
                    .seeds
                    .iter()
                    .filter_map(|s| s.non_grazing.as_ref().map(|(_, gs)| gs[g].layers[p].cosine))
                    .collect();
                (quartiles(&c), c.iter().filter(|&&x| x >= COSINE_GOAL).count())
            });
            let err = |keep: &dyn Fn(&super::SampleReport) -> bool| -> f64 {
                // Samples where both gradients vanish (a silent readout in
                // both models) say nothing about convergence.
                let v: Vec<f64> = samples
                    .iter()
                    .filter(|s| keep(s) && (s.exact_norm[p] > 0.0 || s.error_norm[g][p] > 0.0))
                    .map(|s| s.grids[g].layers[p].relative_error)
                    .collect();
                median(&v)
            };
            let agree = |s: &super::SampleReport| s.grids[g].count_changes == 0 && s.grids[g].silence_changes == 0;
            let first = r.seeds.first().map(|s| &s.grids[g]);
            pr.push(Row {
                dt_ms: first.map_or(f64::NAN, |x| ms(x.dt)),
                steps: first.map_or(0, |x| x.steps),
                cosine: quartiles(&cos),
                relative_error: median(&rel),
                top_share: median(&top),
                passed: cos.iter().filter(|&&x| x >= COSINE_GOAL).count(),
                non_grazing,
                sample_error: [
                    err(&agree),
                    err(&|s| agree(s) && s.order_gap >= step(g)),
                    err(&|s| !is_grazing(s.margin)),
                    err(&|s| is_grazing(s.margin)),
                ],
                order: pr.last().and_then(|prev: &Row| {
                    log_slope(&[(prev.dt_ms, prev.relative_error), (ms(first?.dt), median(&rel))])
                }),
            });
        }
        let per_seed: Vec<f64> = r
            .seeds
            .iter()
            .filter_map(|s| {
                let pts: Vec<(f64, f64)> =
                    s.grids[fit_from..].iter().map(|g| (g.dt, g.layers[p].relative_error)).collect();
                log_slope(&pts)
            })
            .collect();
        let bs = (!per_seed.is_empty()).then(|| median(&per_seed));
        let ss = log_slope(&pr[fit_from..].iter().map(|row| (row.dt_ms, row.sample_error[0])).collect::<Vec<_>>());
        let enough = |row: &Row| seeds > 0 && row.passed as f64 >= SEED_GOAL * seeds as f64;
        let tail = pr.iter().rev().take_while(|row| enough(row)).count();
        let ev = Evidence {
            dt_ms: pr.get(verdict_grid).map_or(f64::NAN, |row| row.dt_ms),
            cosines: r.seeds.iter().map(|s| s.grids.get(verdict_grid).map_or(0.0, |g| g.layers[p].cosine)).collect(),
            non_grazing: r.exclude_grazing.map(|eps| {
                (
                    eps,
                    r.seeds
                        .iter()
                        .filter_map(|s| s.non_grazing.as_ref().map(|(_, gs)| gs[verdict_grid].layers[p].cosine))
                        .collect(),
                )
            }),
            batch_slope: bs,
            sample_slope: ss,
            converged_from: (tail > 0).then(|| pr[pr.len() - tail].dt_ms),
            finest_ms: pr.last().map_or(f64::NAN, |row| row.dt_ms),
        };
        verdicts.push(verdict(&ev));
        batch_slope.push(bs);
        sample_slope.push(ss);
        rows.push(pr);
    }
    let n = samples.len().max(1) as f64;
    let sample_rows = (0..grids)
        .map(|g| SampleRow {
            dt_ms: rows.first().map_or(f64::NAN, |p| p[g].dt_ms),
            count_changes: samples.iter().filter(|s| s.grids[g].count_changes > 0).count() as f64 / n,
            silence_changes: samples.iter().filter(|s| s.grids[g].silence_changes > 0).count() as f64 / n,
            unordered: samples.iter().filter(|s| s.order_gap < step(g)).count() as f64 / n,
        })
        .collect();
    let margins: Vec<f64> = samples.iter().map(|s| s.margin).collect();
    Summary {
        grazing,
        grazing_fraction: ng as f64 / n,
        samples_total: samples.len(),
        rows,
        samples: sample_rows,
        verdicts,
        batch_slope,
        sample_slope,
        margin_quartiles: quartiles(&margins),
    }
}

fn f4(x: f64) -> String {
    if x.is_nan() {
        "n/a".to_string()
    } else if x.is_finite() {
        format!("{x:.4}")
    } else {
        format!("{x}")
    }
}

fn f3(x: f64) -> String {
    if x.is_nan() { "n/a".to_string() } else { format!("{x:.3}") }
}

fn rate(s: Option<f64>) -> String {
    s.map_or("n/a".to_string(), |s| format!("{s:.2}"))
}

fn seeds_line(r: &Report) -> String {
    match (r.seeds.first().and_then(|s| s.seed), r.seeds.last().and_then(|s| s.seed)) {
        (Some(a), Some(b)) if r.seeds.len() > 1 => {
            format!("{} seeds of the initial weights ({a}..={b})", r.seeds.len())
        }
        (Some(a), _) => format!("the initial weights of seed {a}"),
        _ => "the given weights".to_string(),
    }
}

/// `; membrane stepped by integration = exact (hidden, output)` for the
/// populations not stepped by the default scheme; empty when all are.
fn integration_line(r: &Report) -> String {
    let mut o = String::new();
    for scheme in Integration::ALL {
        let pops: Vec<&str> = r.integration.iter().filter(|(_, i)| *i == scheme).map(|(n, _)| n.as_str()).collect();
        if !pops.is_empty() {
            let _ = write!(o, "; membrane stepped by `integration = {}` ({})", scheme.word(), pops.join(", "));
        }
    }
    o
}

/// The report as the `gradcheck` command prints it.
pub fn summary(r: &Report) -> String {
    let s = summarize(r);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "gradient check of {}: {} training samples, {}{}; exact gradient of the exact continuous-time model (event-driven, f64){}",
        r.network,
        r.samples,
        seeds_line(r),
        integration_line(r),
        if r.delay_per_step { ", every projection delayed by one more dt of each grid" } else { "" }
    );
    let _ = writeln!(
        o,
        "{} against the exact gradient, batch = mean over the samples; cosine: median [25 %, 75 %] over seeds; rel. error = |g_disc{} - g_exact| / |g_exact| (median); order: slope of log rel. error against log dt from the coarser grid; top: the largest share of one sample in the squared error (median)",
        r.unit.describe(),
        if r.unit == Unit::Dt { "/dt" } else { "" }
    );
    let _ = writeln!(
        o,
        "{:>7} {:>5}  {:<16} {:>27} {:>10} {:>5} {:>5} {:>7}{}",
        "dt (ms)",
        "steps",
        "projection",
        "cosine median [IQR]",
        "rel. error",
        "order",
        "top",
        ">=0.99",
        if r.exclude_grazing.is_some() { "   without grazing samples: cosine [IQR], >=0.99" } else { "" }
    );
    let seeds = r.seeds.len();
    for g in 0..r.refinements.len() {
        for (p, name) in r.projections.iter().enumerate() {
            let row = &s.rows[p][g];
            let _ = write!(
                o,
                "{:>7} {:>5}  {:<16} {:>8} [{:>7}, {:>7}] {:>10.4} {:>5} {:>5.2} {:>7}",
                row.dt_ms,
                row.steps,
                name,
                f4(row.cosine[1]),
                f4(row.cosine[0]),
                f4(row.cosine[2]),
                row.relative_error,
                row.order.map_or("".to_string(), |x| format!("{x:.2}")),
                row.top_share,
                format!("{}/{seeds}", row.passed)
            );
            if let Some((c, n)) = row.non_grazing {
                let _ = write!(o, "   {} [{}, {}], {n}/{seeds}", f4(c[1]), f4(c[0]), f4(c[2]));
            }
            o.push('\n');
        }
    }
    let _ = writeln!(
        o,
        "per sample ({} samples over all seeds): margin (closest voltage peak to the threshold, relative) median {:.3} [{:.3}, {:.3}]; {:.1} % grazing (margin < {})",
        s.samples_total,
        s.margin_quartiles[1],
        s.margin_quartiles[0],
        s.margin_quartiles[2],
        100.0 * s.grazing_fraction,
        s.grazing
    );
    let _ = writeln!(
        o,
        "{:>7}  {:>13} {:>15} {:>15}  median per-sample rel. error per projection: samples whose spike counts agree | those ordered alike | non-grazing | grazing",
        "dt (ms)", "count changes", "silence changes", "order gap < dt"
    );
    for (g, sr) in s.samples.iter().enumerate() {
        let errs: Vec<String> = (0..r.projections.len())
            .map(|p| {
                let e = s.rows[p][g].sample_error;
                format!("{} | {} | {} | {}", f4(e[0]), f4(e[1]), f4(e[2]), f4(e[3]))
            })
            .collect();
        let _ = writeln!(
            o,
            "{:>7}  {:>12.1}% {:>14.1}% {:>14.1}%  {}",
            sr.dt_ms,
            100.0 * sr.count_changes,
            100.0 * sr.silence_changes,
            100.0 * sr.unordered,
            errs.join("   ")
        );
    }
    let _ = writeln!(o, "verdict (rates: slope of log error against log dt over the {FIT_GRIDS} finest grids):");
    for (p, name) in r.projections.iter().enumerate() {
        let _ = writeln!(o, "  {name}: {}", s.verdicts[p].text);
    }
    o
}

/// The report as a Markdown section; `command` is the command line that
/// produced it.
pub fn markdown(r: &Report, command: &str) -> String {
    let s = summarize(r);
    let seeds = r.seeds.len();
    let mut o = String::new();
    let _ = writeln!(o, "## {}\n", r.network);
    let _ = writeln!(o, "```sh\n{command}\n```\n");
    let _ = writeln!(
        o,
        "{} training samples, {}{}{}.\n",
        r.samples,
        seeds_line(r),
        integration_line(r),
        if r.delay_per_step { "; exact model with every projection delayed by one more dt of the grid" } else { "" }
    );
    let ng_head = if r.exclude_grazing.is_some() {
        format!(" cosine without grazing samples (margin < {}) | >= 0.99 |", s.grazing)
    } else {
        String::new()
    };
    let _ = writeln!(
        o,
        "| projection | dt (ms) | cosine median | cosine IQR | rel. error (median) | order | top sample share | seeds with cosine >= 0.99 |{ng_head}"
    );
    let _ = writeln!(
        o,
        "|---|---:|---:|---:|---:|---:|---:|{}",
        if r.exclude_grazing.is_some() { "---:|---:|" } else { "" }
    );
    for (p, name) in r.projections.iter().enumerate() {
        for row in &s.rows[p] {
            let _ = write!(
                o,
                "| {name} | {} | {} | {} – {} | {:.3} | {} | {:.2} | {}/{seeds} |",
                row.dt_ms,
                f4(row.cosine[1]),
                f4(row.cosine[0]),
                f4(row.cosine[2]),
                row.relative_error,
                row.order.map_or("".to_string(), |x| format!("{x:.2}")),
                row.top_share,
                row.passed
            );
            if let Some((c, n)) = row.non_grazing {
                let _ = write!(o, " {} ({} – {}) | {n}/{seeds} |", f4(c[1]), f4(c[0]), f4(c[2]));
            }
            o.push('\n');
        }
    }
    let _ = writeln!(
        o,
        "\nRates (slope of log relative error against log dt over the {FIT_GRIDS} finest grids) and verdicts:\n"
    );
    let _ = writeln!(
        o,
        "| projection | batch error (median over seeds) | samples whose spike counts agree (median error) | verdict |"
    );
    let _ = writeln!(o, "|---|---:|---:|---|");
    for (p, name) in r.projections.iter().enumerate() {
        let _ = writeln!(
            o,
            "| {name} | dt^{} | dt^{} | {} |",
            rate(s.batch_slope[p]),
            rate(s.sample_slope[p]),
            s.verdicts[p].text
        );
    }
    let _ = writeln!(
        o,
        "\nPer sample ({} samples over all seeds): margin median {:.3} (IQR {:.3} – {:.3}); {:.1} % grazing (margin < {}). Median relative error of the samples whose spike counts agree with the exact model on that grid (every neuron spikes as often before the readout's last first spike), of those among them that the grid orders as the exact model does (no arrival of a layer's spike within one step of a spike of the layer it reaches: order gap >= dt), of the non-grazing and of the grazing samples:\n",
        s.samples_total,
        s.margin_quartiles[1],
        s.margin_quartiles[0],
        s.margin_quartiles[2],
        100.0 * s.grazing_fraction,
        s.grazing
    );
    let heads: Vec<String> =
        r.projections.iter().map(|p| format!("{p}: agreeing / ordered alike / non-grazing / grazing")).collect();
    let _ = writeln!(
        o,
        "| dt (ms) | samples with a spike-count change | with a silence change | with an order gap < dt | {} |",
        heads.join(" | ")
    );
    let _ = writeln!(o, "|---:|---:|---:|---:|{}", "---:|".repeat(heads.len()));
    for (g, sr) in s.samples.iter().enumerate() {
        let errs: Vec<String> = (0..r.projections.len())
            .map(|p| {
                let e = s.rows[p][g].sample_error;
                format!("{} / {} / {} / {}", f3(e[0]), f3(e[1]), f3(e[2]), f3(e[3]))
            })
            .collect();
        let _ = writeln!(
            o,
            "| {} | {:.1} % | {:.1} % | {:.1} % | {} |",
            sr.dt_ms,
            100.0 * sr.count_changes,
            100.0 * sr.silence_changes,
            100.0 * sr.unordered,
            errs.join(" | ")
        );
    }
    o
}

/// One CSV row per seed, sample, grid and projection.
pub fn samples_csv(r: &Report) -> String {
    let mut o = String::from(
        "seed,sample,loss,margin,margin_layer,spike_margin,peak_margin,peak_gap,moving_kinks,end_gap_ms,order_gap_ms,dt_ms,projection,exact_norm,error_norm,cosine,relative_error,count_changes,silence_changes\n",
    );
    for s in &r.seeds {
        let seed = s.seed.map_or(String::new(), |x| x.to_string());
        for smp in &s.samples {
            for (g, sg) in smp.grids.iter().enumerate() {
                for (p, c) in sg.layers.iter().enumerate() {
                    let _ = writeln!(
                        o,
                        "{seed},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                        smp.index,
                        smp.loss,
                        smp.margin,
                        r.layers.get(smp.margin_layer).map_or("", String::as_str),
                        smp.spike_margin,
                        smp.peak_margin,
                        smp.peak_gap,
                        smp.moving_kinks,
                        smp.end_gap * 1e3,
                        smp.order_gap * 1e3,
                        ms(s.grids[g].dt),
                        r.projections[p],
                        smp.exact_norm[p],
                        smp.error_norm[g][p],
                        c.cosine,
                        c.relative_error,
                        sg.count_changes,
                        sg.silence_changes
                    );
                }
            }
        }
    }
    o
}

/// The single-set report as a plain-text table.
pub fn table(r: &GradcheckReport) -> String {
    let mut s =
        format!("{:>8}  {:>5}  {:<24} {:>9}  {:>10}\n", "dt (ms)", "steps", "projection", "cosine", "rel. error");
    for g in &r.grids {
        for l in &g.layers {
            let _ = writeln!(
                s,
                "{:>8}  {:>5}  {:<24} {:>9.5}  {:>10.4}",
                ms(g.dt),
                g.steps,
                l.projection,
                l.cosine,
                l.relative_error
            );
        }
    }
    s
}
