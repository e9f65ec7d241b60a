//! Statistics of the gradient check: quantiles over seeds, the convergence
//! rate (slope of log error against log dt) and the verdict per layer.
//!
//! Input: numbers from a [`super::Report`]. Output: plain numbers and
//! [`Verdict`]s. Everything here is a pure function.

use super::{COSINE_GOAL, SEED_GOAL};

/// The `q`-quantile (0..1) with linear interpolation between order
/// statistics (numpy's default); NaN for no values. NaNs are ignored.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    if lo == hi || v[lo] == v[hi] { v[lo] } else { v[lo] + (pos - lo as f64) * (v[hi] - v[lo]) }
}

pub fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

/// Least-squares slope of `ln y` against `ln x` over the points where both
/// are finite and positive; `None` with fewer than two such points.
pub fn log_slope(points: &[(f64, f64)]) -> Option<f64> {
    let p: Vec<(f64, f64)> = points
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite() && *x > 0.0 && *y > 0.0)
        .map(|(x, y)| (x.ln(), y.ln()))
        .collect();
    if p.len() < 2 {
        return None;
    }
    let n = p.len() as f64;
    let (mx, my) = (p.iter().map(|a| a.0).sum::<f64>() / n, p.iter().map(|a| a.1).sum::<f64>() / n);
    let sxx: f64 = p.iter().map(|a| (a.0 - mx).powi(2)).sum();
    let sxy: f64 = p.iter().map(|a| (a.0 - mx) * (a.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Whether a layer's gradient converges, with the numbers behind it.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub converges: bool,
    /// Seeds whose cosine reaches [`COSINE_GOAL`].
    pub passed: usize,
    pub seeds: usize,
    /// The same without grazing samples, when measured.
    pub passed_non_grazing: Option<usize>,
    /// One line for a person.
    pub text: String,
}

/// The evidence a verdict is drawn from, for one layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    /// `dt` of the verdict's grid in ms.
    pub dt_ms: f64,
    /// The batch cosine of each seed at that grid.
    pub cosines: Vec<f64>,
    /// The same without the grazing samples, and the margin that defines
    /// them.
    pub non_grazing: Option<(f64, Vec<f64>)>,
    /// Median over seeds of the slope of log batch error against log dt.
    pub batch_slope: Option<f64>,
    /// Slope of the median per-sample error of the samples whose spike
    /// counts agree with the exact model.
    pub sample_slope: Option<f64>,
    /// The coarsest measured `dt` (ms) from which on every finer grid has
    /// enough seeds at cosine >= 0.99, and the finest `dt` measured.
    pub converged_from: Option<f64>,
    pub finest_ms: f64,
}

/// A layer converges when at least 90 % of the seeds reach cosine 0.99 at
/// the verdict's grid; otherwise the verdict says whether leaving out the
/// grazing samples would make it converge, and how fast the errors shrink.
pub fn verdict(e: &Evidence) -> Verdict {
    let seeds = e.cosines.len();
    let count = |c: &[f64]| c.iter().filter(|&&x| x >= COSINE_GOAL).count();
    let enough = |n: usize| seeds > 0 && n as f64 >= SEED_GOAL * seeds as f64;
    let passed = count(&e.cosines);
    let passed_non_grazing = e.non_grazing.as_ref().map(|(_, c)| count(c));
    let converges = enough(passed);
    let rate = |s: Option<f64>| s.map_or("n/a".to_string(), |s| format!("dt^{s:.2}"));
    let head = format!(
        "cosine >= {COSINE_GOAL} at dt = {} ms for {passed} of {seeds} seed{}",
        e.dt_ms,
        if seeds == 1 { "" } else { "s" }
    );
    let text = if converges {
        format!("converges: {head}")
    } else {
        let mut t = format!("does not converge by dt = {} ms: {head}", e.dt_ms);
        if let (Some((eps, _)), Some(n)) = (&e.non_grazing, passed_non_grazing) {
            if enough(n) {
                t += &format!(
                    "; without the grazing samples (margin < {eps}) {n} of {seeds}: the failures come from samples whose voltage peaks graze the threshold"
                );
            } else {
                t += &format!("; without the grazing samples (margin < {eps}) still only {n} of {seeds}");
            }
        }
        t += &format!(
            "; batch error falls like {}, per-sample error where the spike counts agree like {}",
            rate(e.batch_slope),
            rate(e.sample_slope)
        );
        t += &match e.converged_from {
            Some(dt) => {
                format!("; >= {:.0} % of the seeds reach {COSINE_GOAL} from dt = {dt} ms on", 100.0 * SEED_GOAL)
            }
            None => format!("; not reached on any grid down to dt = {} ms", e.finest_ms),
        };
        t
    };
    Verdict { converges, passed, seeds, passed_non_grazing, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(c: &[f64], ng: Option<&[f64]>) -> Evidence {
        Evidence {
            dt_ms: 0.05,
            cosines: c.to_vec(),
            non_grazing: ng.map(|n| (0.01, n.to_vec())),
            batch_slope: Some(0.52),
            sample_slope: Some(1.01),
            converged_from: Some(0.002),
            finest_ms: 0.001,
        }
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(median(&v), 2.5);
        assert_eq!(quantile(&v, 0.25), 1.75);
        assert_eq!(quantile(&v, 0.75), 3.25);
        assert!(median(&[]).is_nan());
        assert_eq!(median(&[f64::NAN, 7.0]), 7.0);
    }

    #[test]
    fn the_slope_of_a_power_law_is_its_exponent() {
        let p: Vec<(f64, f64)> = [1.0, 0.5, 0.1, 0.01].iter().map(|&x: &f64| (x, 3.0 * x.powf(0.5))).collect();
        assert!((log_slope(&p).unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(log_slope(&[(1.0, 0.0), (0.5, 1.0)]), None, "a zero error has no logarithm");
    }

    #[test]
    fn ninety_percent_of_the_seeds_must_pass() {
        let mut c = vec![0.995; 18];
        c.extend([0.5, 0.98]);
        let v = verdict(&evidence(&c, None));
        assert!(v.converges && v.passed == 18, "{v:?}");
        assert_eq!(v.text, "converges: cosine >= 0.99 at dt = 0.05 ms for 18 of 20 seeds");
        c[0] = 0.989;
        let v = verdict(&evidence(&c, None));
        assert!(!v.converges && v.passed == 17, "{v:?}");
        assert!(v.text.starts_with("does not converge by dt = 0.05 ms: cosine >= 0.99 at dt = 0.05 ms for 17 of 20"));
        assert!(v.text.contains("dt^0.52") && v.text.contains("dt^1.01"), "{}", v.text);
        assert!(v.text.ends_with(">= 90 % of the seeds reach 0.99 from dt = 0.002 ms on"), "{}", v.text);
        let mut e = evidence(&c, None);
        e.converged_from = None;
        assert!(verdict(&e).text.ends_with("not reached on any grid down to dt = 0.001 ms"));
    }

    #[test]
    fn the_verdict_names_grazing_samples_when_they_explain_the_failures() {
        let c = vec![0.9; 20];
        let v = verdict(&evidence(&c, Some(&[0.999; 20])));
        assert!(!v.converges && v.passed_non_grazing == Some(20));
        assert!(v.text.contains("the failures come from samples whose voltage peaks graze"), "{}", v.text);
        let v = verdict(&evidence(&c, Some(&[0.9; 20])));
        assert!(v.text.contains("still only 0 of 20"), "{}", v.text);
        assert!(!verdict(&evidence(&[], None)).converges, "no seed is no evidence");
    }
}
