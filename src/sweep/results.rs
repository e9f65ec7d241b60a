//! The results of a sweep: one row per trial, read from the trials' run
//! directories, written as `results.csv` and `results.json` and printed as a
//! table.
//!
//! A trial's numbers come from its run directory's `metrics.json` (written
//! by `snnc train`): the last epoch's losses and accuracies, the best
//! validation accuracy and its epoch, the test accuracy of the final
//! weights (the test split is evaluated once, at the end), and the seconds
//! its epochs took (summed over every epoch, also across a resume).
//!
//! Invariants: deterministic text (rows in trial order, paths relative to
//! the sweep directory, numbers in Rust's shortest round-trip form); a row
//! depends only on the trial's run directory.

use std::fmt::Write as _;
use std::path::Path;

use super::exec::{TrialFiles, last_status};
use super::plan::Definition;

/// The numbers of a finished trial.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TrialResult {
    pub epochs: u32,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub validation_loss: Option<f64>,
    pub validation_accuracy: Option<f64>,
    pub best_validation_accuracy: Option<f64>,
    pub best_epoch: Option<u32>,
    pub test_accuracy: Option<f64>,
    /// Test accuracy counting every tie with the label as wrong.
    pub test_strict_accuracy: Option<f64>,
    pub seconds: f64,
}

/// The result of a run directory whose `metrics.json` holds a summary.
pub fn finished(run: &Path) -> Option<TrialResult> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).ok()?).ok()?;
    let summary = v.get("summary").filter(|s| !s.is_null())?;
    let epochs = v.get("epochs")?.as_array()?;
    let last = epochs.last()?;
    let f = |m: &serde_json::Value, k: &str| m.get(k).and_then(serde_json::Value::as_f64);
    let mut best: Option<(f64, u32)> = None;
    for m in epochs {
        if let (Some(a), Some(e)) = (f(m, "validation_accuracy"), m.get("epoch").and_then(serde_json::Value::as_u64))
            && best.is_none_or(|(b, _)| a > b)
        {
            best = Some((a, e as u32));
        }
    }
    Some(TrialResult {
        epochs: summary.get("epochs")?.as_u64()? as u32,
        train_loss: f(last, "train_loss")?,
        train_accuracy: f(last, "train_accuracy")?,
        validation_loss: f(last, "validation_loss"),
        validation_accuracy: f(last, "validation_accuracy"),
        best_validation_accuracy: best.map(|b| b.0),
        best_epoch: best.map(|b| b.1),
        test_accuracy: f(summary, "test_accuracy"),
        test_strict_accuracy: f(summary, "test_strict_accuracy"),
        seconds: epochs.iter().filter_map(|m| f(m, "seconds")).sum(),
    })
}

/// One trial's row of the table.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Row {
    pub trial: u32,
    /// The swept values, in the axes' order.
    #[serde(serialize_with = "ordered_map")]
    pub params: Vec<(String, String)>,
    /// `finished`, `failed` (with `exit`) or `not finished`.
    pub status: String,
    /// How the last attempt ended, when it failed: `exit status 1`.
    pub exit: Option<String>,
    #[serde(flatten)]
    pub result: Option<TrialResult>,
    /// Relative to the sweep directory.
    pub run_dir: String,
    pub log: String,
}

fn ordered_map<S: serde::Serializer>(params: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(params.len()))?;
    for (k, v) in params {
        m.serialize_entry(k, v)?;
    }
    m.end()
}

fn relative(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir).unwrap_or(p).display().to_string()
}

/// The row of every trial, in trial order.
pub fn rows(dir: &Path, def: &Definition) -> Vec<Row> {
    def.trials
        .iter()
        .map(|t| {
            let f = TrialFiles::of(dir, def, t.trial);
            let result = finished(&f.run);
            let last = last_status(&f);
            let failed = result.is_none() && last.as_ref().is_some_and(|s| s.exit_code != Some(0));
            Row {
                trial: t.trial,
                params: t.params.clone(),
                status: if result.is_some() {
                    "finished"
                } else if failed {
                    "failed"
                } else {
                    "not finished"
                }
                .into(),
                exit: if failed { last.map(|s| s.describe()) } else { None },
                result,
                run_dir: relative(dir, &f.run),
                log: relative(dir, &f.log),
            }
        })
        .collect()
}

/// The finished trial with the highest final validation accuracy (the
/// first of equals); test accuracy never selects.
pub fn best(rows: &[Row]) -> Option<u32> {
    let mut best: Option<(f64, u32)> = None;
    for r in rows {
        if let Some(a) = r.result.as_ref().and_then(|x| x.validation_accuracy)
            && best.is_none_or(|(b, _)| a > b)
        {
            best = Some((a, r.trial));
        }
    }
    best.map(|b| b.1)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

fn num(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| format!("{v}"))
}

/// `results.csv`: one line per trial; empty fields where a trial has no number.
pub fn csv(def: &Definition, rows: &[Row]) -> String {
    let mut s = String::from("trial");
    for a in &def.axes {
        s += &format!(",{}", csv_field(&a.path));
    }
    s += ",status,epochs,train_loss,train_accuracy,validation_loss,validation_accuracy,best_validation_accuracy,best_epoch,test_accuracy,test_strict_accuracy,seconds,run_dir,log\n";
    for r in rows {
        let x = r.result.as_ref();
        s += &r.trial.to_string();
        for (_, v) in &r.params {
            s += &format!(",{}", csv_field(v));
        }
        let status = match &r.exit {
            Some(e) => format!("failed ({e})"),
            None => r.status.clone(),
        };
        let _ = writeln!(
            s,
            ",{},{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_field(&status),
            x.map_or(String::new(), |x| x.epochs.to_string()),
            num(x.map(|x| x.train_loss)),
            num(x.map(|x| x.train_accuracy)),
            num(x.and_then(|x| x.validation_loss)),
            num(x.and_then(|x| x.validation_accuracy)),
            num(x.and_then(|x| x.best_validation_accuracy)),
            x.and_then(|x| x.best_epoch).map_or(String::new(), |e| e.to_string()),
            num(x.and_then(|x| x.test_accuracy)),
            num(x.and_then(|x| x.test_strict_accuracy)),
            num(x.map(|x| x.seconds)),
            csv_field(&r.run_dir),
            csv_field(&r.log),
        );
    }
    s
}

/// `results.json`: the definition's summary and every row.
pub fn json(def: &Definition, rows: &[Row]) -> String {
    let v = serde_json::json!({
        "network": def.network,
        "spec": def.spec,
        "backend": def.backend,
        "epochs": def.epochs,
        "mode": def.mode,
        "axes": def.axes,
        "best_trial": best(rows),
        "trials": rows,
    });
    serde_json::to_string_pretty(&v).expect("plain data") + "\n"
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:.2}%", 100.0 * v))
}

/// The printed table: trials in order, the best marked with `*`.
pub fn table(def: &Definition, rows: &[Row]) -> String {
    let best = best(rows);
    let mut header: Vec<String> = vec!["trial".into()];
    header.extend(def.axes.iter().map(|a| a.path.clone()));
    header.extend(["train loss", "validation", "best (epoch)", "test", "seconds"].map(String::from));
    let mut lines: Vec<Vec<String>> = vec![header];
    for r in rows {
        let mark = if Some(r.trial) == best { "*" } else { " " };
        let mut line = vec![format!("{mark}{}", r.trial)];
        line.extend(r.params.iter().map(|(_, v)| v.clone()));
        match &r.result {
            Some(x) => line.extend([
                format!("{:.4}", x.train_loss),
                pct(x.validation_accuracy),
                match (x.best_validation_accuracy, x.best_epoch) {
                    (Some(a), Some(e)) => format!("{} ({e})", pct(Some(a))),
                    _ => "-".into(),
                },
                pct(x.test_accuracy),
                format!("{:.1}", x.seconds),
            ]),
            None => line.push(match &r.exit {
                Some(e) => format!("failed ({e}): {}", r.log),
                None => "not finished".into(),
            }),
        }
        lines.push(line);
    }
    let cols = lines.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| lines.iter().filter_map(|l| l.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut s = String::new();
    for l in &lines {
        let cells: Vec<String> = l
            .iter()
            .enumerate()
            .map(|(c, v)| {
                // The trial number and the numbers right-aligned; values left.
                if c == 0 || c > def.axes.len() {
                    format!("{v:>w$}", w = width[c])
                } else {
                    format!("{v:<w$}", w = width[c])
                }
            })
            .collect();
        s += cells.join("  ").trim_end();
        s.push('\n');
    }
    if let Some(b) = best {
        let _ = writeln!(s, "* best validation accuracy: trial {b}");
    }
    s
}
