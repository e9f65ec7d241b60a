//! `curves.svg`: loss and accuracy per epoch, drawn as plain SVG text.
//!
//! Input: the epoch history. Output: an SVG document with two panels (loss:
//! train and validation; accuracy: train and validation). Invariant:
//! deterministic text for a given history.

use super::trainer::EpochMetrics;

const W: f64 = 420.0;
const H: f64 = 300.0;
const PAD: f64 = 50.0;

fn panel(x0: f64, title: &str, series: &[(&str, &str, Vec<f64>)]) -> String {
    let all: Vec<f64> = series.iter().flat_map(|s| s.2.iter().copied()).filter(|v| v.is_finite()).collect();
    let (mut lo, mut hi) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        hi = lo + 1.0;
    }
    let n = series.iter().map(|s| s.2.len()).max().unwrap_or(0).max(2);
    let px = |i: usize| x0 + PAD + (W - 1.5 * PAD) * i as f64 / (n - 1) as f64;
    let py = |v: f64| H - PAD - (H - 2.0 * PAD) * (v - lo) / (hi - lo);
    let mut s = format!(
        "<g><rect x=\"{:.1}\" y=\"{PAD:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#888\"/>\n",
        x0 + PAD,
        W - 1.5 * PAD,
        H - 2.0 * PAD
    );
    s += &format!("<text x=\"{:.1}\" y=\"30\" font-size=\"14\">{title}</text>\n", x0 + PAD);
    s += &format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{hi:.4}</text>\n",
        x0 + PAD - 4.0,
        PAD + 4.0
    );
    s += &format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{lo:.4}</text>\n",
        x0 + PAD - 4.0,
        H - PAD
    );
    s += &format!("<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">epoch 1</text>\n", x0 + PAD, H - PAD + 14.0);
    s += &format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">epoch {n}</text>\n",
        x0 + W - 0.5 * PAD,
        H - PAD + 14.0
    );
    for (k, (label, colour, values)) in series.iter().enumerate() {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| format!("{:.1},{:.1}", px(i), py(v)))
            .collect();
        s += &format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"/>\n",
            points.join(" ")
        );
        s += &format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"{colour}\">{label}</text>\n",
            x0 + PAD + 8.0,
            PAD + 16.0 + 14.0 * k as f64
        );
    }
    s + "</g>\n"
}

pub fn curves(name: &str, history: &[EpochMetrics]) -> String {
    let col = |f: &dyn Fn(&EpochMetrics) -> Option<f64>| history.iter().map(|m| f(m).unwrap_or(f64::NAN)).collect();
    let loss = panel(
        0.0,
        &format!("{name}: loss"),
        &[("train", "#1f77b4", col(&|m| Some(m.train_loss))), ("validation", "#d62728", col(&|m| m.validation_loss))],
    );
    let acc = panel(
        W,
        "accuracy",
        &[
            ("train", "#1f77b4", col(&|m| Some(m.train_accuracy))),
            ("validation", "#d62728", col(&|m| m.validation_accuracy)),
        ],
    );
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{H}\" font-family=\"sans-serif\">\n{loss}{acc}</svg>\n",
        2.0 * W
    )
}
