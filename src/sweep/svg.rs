//! `accuracy.svg`: the final validation and test accuracy of every finished
//! trial against each swept parameter, one panel per parameter.
//!
//! A parameter whose values are all numbers (units allowed) gets a numeric
//! axis (logarithmic for `log_uniform` draws and geometric lists), any other
//! a categorical one with the values as written. Each trial is a dot; a line
//! joins the mean of the trials at each value. Invariant: deterministic text
//! for a given definition and rows.

use std::fmt::Write as _;

use super::plan::{Definition, leading_number};
use super::results::Row;

const PW: f64 = 380.0;
const PH: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 18.0;
const TOP: f64 = 46.0;
const BOTTOM: f64 = 58.0;
const COLUMNS: usize = 3;
const SERIES: [(&str, &str); 2] = [("validation", "#1f77b4"), ("test", "#ff7f0e")];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A tick label: at most 4 significant digits, exponent form when tiny or huge.
fn tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e4).contains(&a) {
        let s = format!("{v:.2e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        return format!("{m}e{e}");
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// The unit word after the number of a value text (`20 ms` -> `ms`).
fn unit_of(s: &str) -> Option<String> {
    let s = s.trim();
    let i = s.find(|c: char| c.is_whitespace() || (c.is_ascii_alphabetic() && c != 'e' && c != 'E'))?;
    let u = s[i..].trim();
    (!u.is_empty()).then(|| u.to_string())
}

struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Scale {
    fn t(&self, v: f64) -> f64 {
        if self.log { v.log10() } else { v }
    }
    /// 0..1 across the axis.
    fn frac(&self, v: f64) -> f64 {
        (self.t(v) - self.t(self.lo)) / (self.t(self.hi) - self.t(self.lo))
    }
}

fn panel(
    out: &mut String,
    (x0, y0): (f64, f64),
    path: &str,
    log: bool,
    values: &[&str],
    ys: &[[Option<f64>; 2]],
    ylim: (f64, f64),
) {
    let (pl, pr, pt, pb) = (x0 + LEFT, x0 + PW - RIGHT, y0 + TOP, y0 + PH - BOTTOM);
    let numbers: Option<Vec<f64>> = values.iter().map(|v| leading_number(v)).collect();
    let numeric = numbers.as_ref().filter(|n| !log || n.iter().all(|&x| x > 0.0));
    // Distinct x values, in order, with their labels.
    let (xs, ticks): (Vec<f64>, Vec<(f64, String)>) = match numeric {
        Some(n) => {
            let mut d: Vec<f64> = n.clone();
            d.sort_by(f64::total_cmp);
            d.dedup();
            let (lo, hi) = (d[0], d[d.len() - 1]);
            let scale = if hi > lo {
                let pad = if log { (hi / lo).powf(0.06) } else { (hi - lo) * 0.06 };
                if log { Scale { lo: lo / pad, hi: hi * pad, log } } else { Scale { lo: lo - pad, hi: hi + pad, log } }
            } else if log {
                Scale { lo: lo / 2.0, hi: hi * 2.0, log }
            } else {
                Scale { lo: lo - 1.0, hi: hi + 1.0, log }
            };
            let label_of = |x: f64| -> String {
                values
                    .iter()
                    .zip(n)
                    .find(|(_, v)| **v == x)
                    .map_or_else(|| tick(x), |(s, _)| s.split_whitespace().next().unwrap_or(s).to_string())
            };
            let ticks: Vec<(f64, String)> = if d.len() <= 8 {
                d.iter().map(|&x| (scale.frac(x), label_of(x))).collect()
            } else {
                (0..5)
                    .map(|i| {
                        let f = i as f64 / 4.0;
                        let x = if log {
                            10f64.powf(scale.t(lo) + f * (scale.t(hi) - scale.t(lo)))
                        } else {
                            lo + f * (hi - lo)
                        };
                        (scale.frac(x), tick(x))
                    })
                    .collect()
            };
            (n.iter().map(|&x| scale.frac(x)).collect(), ticks)
        }
        None => {
            let mut distinct: Vec<&str> = Vec::new();
            for v in values {
                if !distinct.contains(v) {
                    distinct.push(v);
                }
            }
            let pos =
                |v: &str| (distinct.iter().position(|d| *d == v).unwrap_or(0) as f64 + 0.5) / distinct.len() as f64;
            let ticks = distinct.iter().map(|d| (pos(d), d.chars().take(16).collect())).collect();
            (values.iter().map(|v| pos(v)).collect(), ticks)
        }
    };
    let px = |f: f64| pl + (pr - pl) * f;
    let py = |a: f64| pb - (pb - pt) * (a - ylim.0) / (ylim.1 - ylim.0);
    let _ = writeln!(
        out,
        "<rect x=\"{pl:.1}\" y=\"{pt:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#444\"/>",
        pr - pl,
        pb - pt
    );
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"middle\" font-weight=\"bold\">accuracy vs {}</text>",
        (pl + pr) / 2.0,
        y0 + 24.0,
        esc(path)
    );
    // y grid and labels.
    let step = if ylim.1 - ylim.0 > 40.0 {
        20.0
    } else if ylim.1 - ylim.0 > 15.0 {
        5.0
    } else {
        2.0
    };
    let mut g = (ylim.0 / step).ceil() * step;
    while g <= ylim.1 + 1e-9 {
        let y = py(g);
        let _ = writeln!(out, "<line x1=\"{pl:.1}\" y1=\"{y:.1}\" x2=\"{pr:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>");
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{g}</text>",
            pl - 5.0,
            y + 4.0
        );
        g += step;
    }
    for (f, label) in &ticks {
        let x = px(*f);
        let _ =
            writeln!(out, "<line x1=\"{x:.1}\" y1=\"{pb:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#444\"/>", pb + 4.0);
        let _ = writeln!(
            out,
            "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            pb + 17.0,
            esc(label)
        );
    }
    let unit = values.first().and_then(|v| unit_of(v)).filter(|_| numeric.is_some());
    let xlabel = match (unit, numeric.is_some() && log) {
        (Some(u), true) => format!("{path} ({u}, log scale)"),
        (Some(u), false) => format!("{path} ({u})"),
        (None, true) => format!("{path} (log scale)"),
        (None, false) => path.to_string(),
    };
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\">{}</text>",
        (pl + pr) / 2.0,
        pb + 38.0,
        esc(&xlabel)
    );
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 {:.1} {:.1})\">accuracy (%)</text>",
        x0 + 16.0,
        (pt + pb) / 2.0,
        x0 + 16.0,
        (pt + pb) / 2.0
    );
    for (s, (_, colour)) in SERIES.iter().enumerate() {
        let dx = if s == 0 { -3.0 } else { 3.0 };
        // The mean at each x, joined left to right.
        let mut means: Vec<(f64, f64, usize)> = Vec::new();
        for (x, y) in xs.iter().zip(ys) {
            let Some(a) = y[s] else { continue };
            match means.iter_mut().find(|m| m.0 == *x) {
                Some(m) => {
                    m.1 += a;
                    m.2 += 1;
                }
                None => means.push((*x, a, 1)),
            }
            let _ = writeln!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.2\" fill=\"{colour}\" fill-opacity=\"0.75\"/>",
                px(*x) + dx,
                py(a)
            );
        }
        means.sort_by(|a, b| a.0.total_cmp(&b.0));
        if means.len() > 1 {
            let points: Vec<String> =
                means.iter().map(|(x, a, n)| format!("{:.1},{:.1}", px(*x) + dx, py(a / *n as f64))).collect();
            let _ = writeln!(
                out,
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"/>",
                points.join(" ")
            );
        }
    }
}

/// The whole figure.
pub fn accuracy(def: &Definition, rows: &[Row]) -> String {
    let done: Vec<&Row> = rows.iter().filter(|r| r.result.is_some()).collect();
    let ys: Vec<[Option<f64>; 2]> = done
        .iter()
        .map(|r| {
            let x = r.result.as_ref().expect("finished rows");
            [x.validation_accuracy.map(|a| 100.0 * a), x.test_accuracy.map(|a| 100.0 * a)]
        })
        .collect();
    let all: Vec<f64> = ys.iter().flatten().flatten().copied().collect();
    let (lo, hi) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let ylim = if lo.is_finite() {
        let pad = ((hi - lo) * 0.1).max(1.0);
        (((lo - pad) / 5.0).floor().max(0.0) * 5.0, ((hi + pad) / 5.0).ceil().min(20.0) * 5.0)
    } else {
        (0.0, 100.0)
    };
    let n = def.axes.len().max(1);
    let cols = n.min(COLUMNS);
    let rows_n = n.div_ceil(COLUMNS);
    let (w, h) = (PW * cols as f64, 36.0 + PH * rows_n as f64);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\">\n<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n"
    );
    let _ = writeln!(
        out,
        "<text x=\"12\" y=\"22\" font-size=\"14\">{}: {} of {} trials finished ({}, {})</text>",
        esc(&def.network),
        done.len(),
        rows.len(),
        esc(&def.mode),
        esc(&def.backend)
    );
    for (k, (label, colour)) in SERIES.iter().enumerate() {
        let x = w - 250.0 + 110.0 * k as f64;
        let _ = writeln!(out, "<circle cx=\"{x:.1}\" cy=\"18\" r=\"4\" fill=\"{colour}\"/>");
        let _ = writeln!(out, "<text x=\"{:.1}\" y=\"22\" font-size=\"12\">{label}</text>", x + 8.0);
    }
    for (i, a) in def.axes.iter().enumerate() {
        let values: Vec<&str> = done.iter().map(|r| r.params[i].1.as_str()).collect();
        let (x0, y0) = (PW * (i % COLUMNS) as f64, 36.0 + PH * (i / COLUMNS) as f64);
        if values.is_empty() {
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\">{}: no finished trial yet</text>",
                x0 + LEFT,
                y0 + PH / 2.0,
                esc(&a.path)
            );
            continue;
        }
        panel(&mut out, (x0, y0), &a.path, a.log, &values, &ys, ylim);
    }
    out + "</svg>\n"
}

#[cfg(test)]
mod tests {
    use super::tick;

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(0.0019), "0.0019");
        assert_eq!(tick(12.5), "12.5");
        assert_eq!(tick(1e-5), "1e-5");
        assert_eq!(tick(0.1234567), "0.1235");
    }
}
