//! A sweep's trials and its directory.
//!
//! Input: a checked [`SearchSpace`]. Output: the trials (each an ordered list
//! of `(path, value text)`), random draws made with numpy's
//! `RandomState(seed)`; and the sweep directory:
//!
//! ```text
//! DIR/sweep.json             the definition: backend, epochs, axes, every trial's values
//! DIR/spec.snn               the spec the sweep was made from
//! DIR/trials/0003/spec.snn   trial 3's spec (`snnc train` reproduces it)
//! DIR/trials/0003/run/       its run directory (`snnc train --out`)
//! DIR/trials/0003/train.log  what its `snnc train` printed (every attempt, appended)
//! DIR/trials/0003/status.json  the exit status of its last attempt
//! DIR/results.csv, results.json, accuracy.svg
//! DIR/slurm/sweep.sbatch, DIR/slurm/logs/
//! ```
//!
//! Invariants: the directory appears whole (written under a temporary name,
//! then renamed); an existing directory is reused only for the same
//! definition; trial `k`'s values depend only on the space and `k`, never on
//! which trials ran or in what order.

use std::path::{Path, PathBuf};

use snnc_compiler::sweep::{Mode, SearchSpace, Values};
use snnc_runtime::fsio::write_atomic;
use snnc_runtime::rng::RandomState;

pub const DEFINITION: &str = "sweep.json";
pub const SPEC: &str = "spec.snn";
const FORMAT: &str = "snnc-sweep-1";

/// One swept parameter, as recorded.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AxisDef {
    pub path: String,
    /// The values as written: `1e-3, 2e-3`, `0..5`, `log_uniform(1e-4, 1e-2)`.
    pub values: String,
    /// Plot on a log axis: a `log_uniform` draw, or a geometric list.
    pub log: bool,
}

/// One trial: its number and its values, in the axes' order.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialDef {
    pub trial: u32,
    pub params: Vec<(String, String)>,
}

/// `sweep.json`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub format: String,
    /// The spec file as given on the command line (not compared).
    pub spec: String,
    pub network: String,
    /// `reference` or `emulator`.
    pub backend: String,
    /// `--epochs`, written into every trial's spec.
    pub epochs: Option<u32>,
    /// `grid` or `random(trials = N, seed = S)`.
    pub mode: String,
    pub axes: Vec<AxisDef>,
    pub trials: Vec<TrialDef>,
}

impl Definition {
    pub fn new(spec: &str, network: &str, backend: &str, epochs: Option<u32>, space: &SearchSpace) -> Definition {
        let mode = match space.mode {
            Mode::Grid => "grid".to_string(),
            Mode::Random { trials, seed } => format!("random(trials = {trials}, seed = {seed})"),
        };
        let trials = trials(space);
        let axes = space
            .axes
            .iter()
            .enumerate()
            .map(|(i, a)| AxisDef {
                path: a.path.clone(),
                values: a.written.clone(),
                log: match &a.values {
                    Values::LogUniform { .. } => true,
                    Values::List(_) => geometric(trials.iter().map(|t| t.params[i].1.as_str())),
                    _ => false,
                },
            })
            .collect();
        Definition {
            format: FORMAT.to_string(),
            spec: spec.to_string(),
            network: network.to_string(),
            backend: backend.to_string(),
            epochs,
            mode,
            axes,
            trials,
        }
    }

    /// What differs between this definition and `other` (the one on disk),
    /// in words; `None` when they define the same trials.
    fn difference(&self, other: &Definition) -> Option<String> {
        if self.backend != other.backend {
            return Some(format!("the backend is {} here, {} there", self.backend, other.backend));
        }
        if self.epochs != other.epochs {
            let e = |x: Option<u32>| x.map_or("the spec's".to_string(), |e| e.to_string());
            return Some(format!("--epochs is {} here, {} there", e(self.epochs), e(other.epochs)));
        }
        if self.mode != other.mode {
            return Some(format!("the sweep is {} here, {} there", self.mode, other.mode));
        }
        let paths = |d: &Definition| d.axes.iter().map(|a| a.path.clone()).collect::<Vec<_>>().join(", ");
        if paths(self) != paths(other) {
            return Some(format!("the swept parameters are {} here, {} there", paths(self), paths(other)));
        }
        if self.trials.len() != other.trials.len() {
            return Some(format!("{} trials here, {} there", self.trials.len(), other.trials.len()));
        }
        let t = self.trials.iter().zip(&other.trials).find(|(a, b)| a != b)?;
        Some(format!("trial {} is {} here, {} there", t.0.trial, show(&t.0.params), show(&t.1.params)))
    }
}

/// `optimizer.lr = 1e-3, train.seed = 0`.
pub fn show(params: &[(String, String)]) -> String {
    params.iter().map(|(p, v)| format!("{p} = {v}")).collect::<Vec<_>>().join(", ")
}

/// Positive numbers a decade or more apart, or at least three whose sorted
/// distinct values grow by about one factor (within 25%) of 1.5 or more.
fn geometric<'a>(values: impl Iterator<Item = &'a str>) -> bool {
    let mut v: Vec<f64> = Vec::new();
    for s in values {
        match leading_number(s) {
            Some(x) if x > 0.0 => v.push(x),
            _ => return false,
        }
    }
    v.sort_by(f64::total_cmp);
    v.dedup();
    if v.len() < 2 {
        return false;
    }
    let r: Vec<f64> = v.windows(2).map(|w| w[1] / w[0]).collect();
    v[v.len() - 1] / v[0] >= 10.0 || (v.len() >= 3 && r[0] >= 1.5 && r.iter().all(|x| (x / r[0] - 1.0).abs() < 0.25))
}

/// The number a value text starts with (`20 ms` -> 20), if it is one.
pub fn leading_number(s: &str) -> Option<f64> {
    let s = s.trim();
    let end =
        s.find(|c: char| c.is_whitespace() || (c.is_ascii_alphabetic() && c != 'e' && c != 'E')).unwrap_or(s.len());
    let (num, rest) = s.split_at(end);
    let rest = rest.trim();
    if !rest.is_empty() && !rest.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    num.parse().ok()
}

/// A drawn number as the spec's text: shortest round-trip decimal, then the unit.
fn number_text(v: f64, unit: &Option<String>) -> String {
    match unit {
        Some(u) => format!("{v} {u}"),
        None => format!("{v}"),
    }
}

/// Every trial of `space`, numbered from 0: for each draw (one in a grid),
/// every combination of the lists' values, the first list varying slowest.
/// The values of each trial are in the axes' order.
pub fn trials(space: &SearchSpace) -> Vec<TrialDef> {
    let draws: Vec<Vec<Option<String>>> = match space.mode {
        Mode::Grid => vec![vec![None; space.axes.len()]],
        Mode::Random { trials, seed } => {
            let mut rng = RandomState::new(seed);
            (0..trials)
                .map(|_| {
                    space
                        .axes
                        .iter()
                        .map(|a| match &a.values {
                            Values::List(_) => None,
                            Values::Uniform { low, high, unit } => Some(number_text(rng.uniform(*low, *high), unit)),
                            Values::LogUniform { low, high, unit } => {
                                Some(number_text(rng.uniform(low.ln(), high.ln()).exp(), unit))
                            }
                            Values::Choice(options) => {
                                Some(options[rng.randint(options.len() as u64) as usize].clone())
                            }
                        })
                        .collect()
                })
                .collect()
        }
    };
    let lists: Vec<(usize, &Vec<String>)> = space
        .axes
        .iter()
        .enumerate()
        .filter_map(|(i, a)| match &a.values {
            Values::List(v) => Some((i, v)),
            _ => None,
        })
        .collect();
    let combos: usize = lists.iter().map(|(_, v)| v.len()).product();
    let mut out = Vec::new();
    for draw in &draws {
        for c in 0..combos {
            let mut values = draw.clone();
            let mut rest = c;
            for (i, list) in lists.iter().rev() {
                values[*i] = Some(list[rest % list.len()].clone());
                rest /= list.len();
            }
            let params = space.axes.iter().zip(values).map(|(a, v)| (a.path.clone(), v.unwrap_or_default())).collect();
            out.push(TrialDef { trial: out.len() as u32, params });
        }
    }
    out
}

/// Trial `k`'s folder: `trials/0003` (at least four digits).
pub fn trial_dir(dir: &Path, k: u32, count: usize) -> PathBuf {
    let width = count.saturating_sub(1).to_string().len().max(4);
    dir.join("trials").join(format!("{k:0width$}"))
}

/// Why a sweep directory cannot be used.
#[derive(Debug)]
pub enum DirError {
    /// Another sweep lives there: what differs.
    Differs(String),
    /// Not a sweep directory, or unreadable.
    Unusable(String),
    Io(String),
}

fn io(path: &Path, e: impl std::fmt::Display) -> DirError {
    DirError::Io(format!("{}: {e}", path.display()))
}

/// Reads `DIR/sweep.json`.
pub fn read_definition(dir: &Path) -> Result<Definition, DirError> {
    let path = dir.join(DEFINITION);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        DirError::Unusable(format!("{} is not a sweep directory (no {DEFINITION}: {e})", dir.display()))
    })?;
    let def: Definition = serde_json::from_str(&text)
        .map_err(|e| DirError::Unusable(format!("{} is not a sweep definition: {e}", path.display())))?;
    if def.format != FORMAT {
        return Err(DirError::Unusable(format!("{}: unknown format `{}`", path.display(), def.format)));
    }
    Ok(def)
}

/// The first line where two texts differ, for "the spec differs" messages.
fn first_difference(a: &str, b: &str) -> String {
    let (mut la, mut lb) = (a.lines(), b.lines());
    let mut n = 1;
    loop {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => n += 1,
            (x, y) => {
                return format!(
                    "line {n} is `{}` here, `{}` there",
                    x.unwrap_or("(end of file)").trim(),
                    y.unwrap_or("(end of file)").trim()
                );
            }
        }
    }
}

/// Opens the sweep directory `dir` for `def`, creating it whole when it does
/// not exist: the definition, the spec and every trial's spec
/// (`trial_specs[k]`). An existing directory must hold the same definition
/// and spec; with `force` one that differs is deleted and made anew.
/// Returns whether the directory was made now.
pub fn open_or_create(
    dir: &Path,
    def: &Definition,
    spec_text: &str,
    trial_specs: &[String],
    force: bool,
) -> Result<bool, DirError> {
    if dir.join(DEFINITION).exists() {
        let old = read_definition(dir)?;
        let old_spec = std::fs::read_to_string(dir.join(SPEC)).map_err(|e| io(&dir.join(SPEC), e))?;
        let differs = if old_spec != spec_text {
            Some(format!(
                "the spec differs from {}: {}",
                dir.join(SPEC).display(),
                first_difference(spec_text, &old_spec)
            ))
        } else {
            def.difference(&old)
        };
        match differs {
            None => return Ok(false),
            Some(what) if !force => {
                return Err(DirError::Differs(format!("{} holds another sweep: {what}", dir.display())));
            }
            Some(_) => std::fs::remove_dir_all(dir).map_err(|e| io(dir, e))?,
        }
    } else if dir.exists() && std::fs::read_dir(dir).map_err(|e| io(dir, e))?.next().is_some() {
        return Err(DirError::Unusable(format!(
            "{} exists and is not a sweep directory (it has no {DEFINITION}); choose another --dir",
            dir.display()
        )));
    }
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    let name = dir.file_name().map_or("sweep".into(), |n| n.to_string_lossy().into_owned());
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let tmp = parent.join(format!(".{name}.tmp-{}-{nanos}", std::process::id()));
    let write = |path: PathBuf, bytes: &[u8]| write_atomic(&path, bytes).map_err(|e| io(&path, e));
    let made = (|| {
        std::fs::create_dir_all(tmp.join("trials")).map_err(|e| io(&tmp, e))?;
        write(tmp.join(SPEC), spec_text.as_bytes())?;
        for (t, text) in def.trials.iter().zip(trial_specs) {
            let d = trial_dir(&tmp, t.trial, def.trials.len());
            std::fs::create_dir_all(&d).map_err(|e| io(&d, e))?;
            write(d.join(SPEC), text.as_bytes())?;
        }
        let json = serde_json::to_string_pretty(def).expect("plain data") + "\n";
        write(tmp.join(DEFINITION), json.as_bytes())?;
        if dir.exists() {
            // An empty directory the user made: replace it.
            std::fs::remove_dir(dir).map_err(|e| io(dir, e))?;
        }
        std::fs::rename(&tmp, dir).map_err(|e| io(dir, e))
    })();
    if made.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
        // Another sweep made the same directory at the same time: use it if it matches.
        if dir.join(DEFINITION).exists() {
            return open_or_create(dir, def, spec_text, trial_specs, false);
        }
    }
    made.map(|()| true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use snnc_compiler::sweep::{Axis, Origin};

    fn axis(path: &str, values: Values) -> Axis {
        Axis { path: path.into(), values, written: String::new() }
    }

    #[test]
    fn grid_order_is_first_axis_slowest() {
        let space = SearchSpace {
            mode: Mode::Grid,
            axes: vec![
                axis("a", Values::List(vec!["1".into(), "2".into()])),
                axis("b", Values::List(vec!["x".into(), "y".into(), "z".into()])),
            ],
            origin: Origin::CommandLine,
        };
        let t: Vec<String> = trials(&space).iter().map(|t| show(&t.params)).collect();
        assert_eq!(t, ["a = 1, b = x", "a = 1, b = y", "a = 1, b = z", "a = 2, b = x", "a = 2, b = y", "a = 2, b = z"]);
    }

    #[test]
    fn random_draws_are_numpy_uniforms_per_draw_then_the_grid() {
        let space = SearchSpace {
            mode: Mode::Random { trials: 2, seed: 3 },
            axes: vec![
                axis("u", Values::Uniform { low: -1.5, high: 2.5, unit: Some("ms".into()) }),
                axis("s", Values::List(vec!["0".into(), "1".into()])),
                axis("l", Values::LogUniform { low: 1e-4, high: 1e-2, unit: None }),
            ],
            origin: Origin::Block,
        };
        let t = trials(&space);
        assert_eq!(t.len(), 4);
        // RandomState(3).uniform(-1.5, 2.5) == 0.703191610298302 (numpy), then the log draw.
        assert_eq!(t[0].params[0].1, "0.703191610298302 ms");
        assert_eq!(t[1].params[0].1, t[0].params[0].1, "one draw serves every grid value");
        assert_eq!((t[0].params[1].1.as_str(), t[1].params[1].1.as_str()), ("0", "1"));
        let mut rng = RandomState::new(3);
        rng.uniform(-1.5, 2.5);
        let l = rng.uniform(1e-4f64.ln(), 1e-2f64.ln()).exp();
        assert_eq!(t[0].params[2].1, format!("{l}"));
        // The second draw: numpy's third uniform (the second went to the log draw).
        assert_eq!(t[2].params[0].1, "-0.3363810443482227 ms");
    }

    #[test]
    fn log_axes_for_geometric_lists() {
        assert!(geometric(["1e-3", "2e-3", "4e-3"].into_iter()));
        assert!(geometric(["1e-4", "1e-2"].into_iter()));
        assert!(!geometric(["0", "1", "2"].into_iter()));
        assert!(!geometric(["1", "2", "3"].into_iter()));
        assert!(geometric(["1e-3", "3e-3", "1e-2"].into_iter()));
        assert!(!geometric(["10 ms", "20 ms"].into_iter()));
        assert!(geometric(["10 ms", "100 ms", "1000 ms"].into_iter()));
        assert_eq!(leading_number("20 ms"), Some(20.0));
        assert_eq!(leading_number("2e-3"), Some(2e-3));
        assert_eq!(leading_number("adam()"), None);
    }
}
