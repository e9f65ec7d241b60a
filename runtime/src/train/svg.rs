//! `curves.svg`: loss and accuracy per epoch, drawn as plain SVG text.
//!
//! Input: the epoch history and, once the run has evaluated it, the test
//! accuracy. Output: an SVG document with two panels side by side, loss and
//! accuracy (in percent), each with a y axis of about five round ticks and
//! an x axis of whole epochs padded by half an epoch on each side (one
//! epoch is the single tick `1`). Train and validation are lines with a
//! marker per epoch (markers left out beyond 60 epochs), the test accuracy a
//! translucent diamond at the last epoch (a validation marker under it shows
//! through). The legend sits below the panels, never over
//! the curves, and lists only what is drawn: no validation split, no
//! validation series; no test accuracy yet, no test marker. Every marker has
//! a `<title>` tooltip with its value.
//!
//! Invariant: deterministic text for a given history and test accuracy.

use std::fmt::Write;

use super::trainer::EpochMetrics;

/// Plot area of one panel, and where the first starts.
const PLOT_W: f64 = 360.0;
const PLOT_H: f64 = 220.0;
const LEFT: f64 = 64.0;
const TOP: f64 = 62.0;
/// From one panel's plot area to the next.
const PANEL_STEP: f64 = PLOT_W + 90.0;
/// Markers per series are drawn up to this many epochs.
const MAX_MARKERS: usize = 60;

const TRAIN: &str = "#1f77b4";
const VALIDATION: &str = "#ff7f0e";
const TEST: &str = "#2ca02c";

#[derive(Clone, Copy, PartialEq)]
enum Marker {
    Circle,
    Square,
    Diamond,
}

struct Series {
    label: &'static str,
    colour: &'static str,
    marker: Marker,
    /// (epoch, value), values already in the panel's unit.
    points: Vec<(f64, f64)>,
}

/// A round step near `span / count`: 1, 2, 2.5 or 5 times a power of ten
/// (only 1, 2, 5 times one when `whole`, and at least 1).
fn nice_step(span: f64, count: f64, whole: bool) -> f64 {
    let raw = (span / count).max(1e-12);
    let mag = 10f64.powf(raw.log10().floor());
    let steps: &[f64] = if whole { &[1.0, 2.0, 5.0, 10.0] } else { &[1.0, 2.0, 2.5, 5.0, 10.0] };
    let step = steps.iter().map(|m| m * mag).find(|&s| s >= raw * (1.0 - 1e-9)).unwrap_or(10.0 * mag);
    if whole { step.max(1.0) } else { step }
}

/// Digits after the point that `step`'s multiples need.
fn decimals(step: f64) -> usize {
    let mut d = 0;
    while d < 6 && ((step * 10f64.powi(d as i32)).round() - step * 10f64.powi(d as i32)).abs() > 1e-6 {
        d += 1;
    }
    d
}

/// A value axis for data in `lo..=hi` (`lo < hi`): the domain is the data
/// with 6% room on each side (so no marker sits on the frame), the ticks are
/// the multiples of a round step (1, 2, 2.5 or 5 times a power of ten) within
/// the domain and within `limit`, as near five of them as four to seven
/// allow. Returns (ticks, their decimals, domain low, domain high).
fn value_axis(lo: f64, hi: f64, limit: (f64, f64)) -> (Vec<f64>, usize, f64, f64) {
    let room = (hi - lo) * 0.06;
    let (dlo, dhi) = (lo - room, hi + room);
    let (tlo, thi) = (dlo.max(limit.0), dhi.min(limit.1));
    let ticks = |step: f64| -> Vec<f64> {
        let first = (tlo / step - 1e-9).ceil() as i64;
        let last = (thi / step + 1e-9).floor() as i64;
        (first..=last).map(|i| i as f64 * step + 0.0).collect()
    };
    let exp = (hi - lo).log10().floor() as i32;
    let best = (exp - 2..=exp + 1)
        .flat_map(|e| [1.0, 2.0, 2.5, 5.0].map(|m| m * 10f64.powi(e)))
        .map(|step| (ticks(step).len(), step))
        .filter(|&(n, _)| (4..=7).contains(&n))
        .min_by(|a, b| (a.0.abs_diff(5), -a.1).partial_cmp(&(b.0.abs_diff(5), -b.1)).expect("finite"));
    let step = best.map_or_else(|| nice_step(hi - lo, 4.0, false), |b| b.1);
    (ticks(step), decimals(step), dlo, dhi)
}

/// Whole-epoch ticks from `first` to `last`.
fn epoch_ticks(first: u32, last: u32) -> Vec<u32> {
    let step = nice_step(f64::from(last - first), 6.0, true) as u32;
    let mut ticks: Vec<u32> = (first..=last).filter(|e| e % step == 0).collect();
    if ticks.first().is_none_or(|&t| t - first >= step.div_ceil(2)) {
        ticks.insert(0, first);
    }
    ticks
}

fn fmt_value(v: f64, percent: bool) -> String {
    if percent { format!("{v:.2}%") } else { format!("{v:.4}") }
}

fn marker(s: &mut String, m: Marker, x: f64, y: f64, colour: &str, tip: &str) {
    let _ = match m {
        Marker::Circle => write!(
            s,
            r#"<circle class="marker" cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{colour}" stroke="white" stroke-width="0.8"><title>{tip}</title></circle>"#
        ),
        Marker::Square => write!(
            s,
            r#"<rect class="marker" x="{:.1}" y="{:.1}" width="7" height="7" fill="{colour}" stroke="white" stroke-width="0.8"><title>{tip}</title></rect>"#,
            x - 3.5,
            y - 3.5
        ),
        Marker::Diamond => write!(
            s,
            r#"<path class="marker" d="M{x:.1},{:.1} L{:.1},{y:.1} L{x:.1},{:.1} L{:.1},{y:.1} Z" fill="{colour}" fill-opacity="0.35" stroke="{colour}" stroke-width="2"><title>{tip}</title></path>"#,
            y - 7.0,
            x + 7.0,
            y + 7.0,
            x - 7.0
        ),
    };
    s.push('\n');
}

/// One panel: frame, grid, ticks, series. `x0` is the left of its plot area.
fn panel(s: &mut String, x0: f64, title: &str, series: &[Series], epochs: (u32, u32), percent: bool, markers: bool) {
    let values: Vec<f64> = series.iter().flat_map(|se| se.points.iter().map(|p| p.1)).collect();
    let (mut lo, mut hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        (lo, hi) = if percent { (0.0, 100.0) } else { (0.0, 1.0) };
    }
    if hi - lo < 1e-9 {
        let pad = if percent { 1.0 } else { (hi.abs() * 0.05).max(0.01) };
        (lo, hi) = (lo - pad, hi + pad);
        if percent {
            (lo, hi) = (lo.max(0.0), hi.min(100.0));
        }
    }
    let limit = if percent { (0.0, 100.0) } else { (f64::NEG_INFINITY, f64::INFINITY) };
    let (ticks, dec, lo, hi) = value_axis(lo, hi, limit);
    let (first, last) = epochs;
    let (xa, xb) = (f64::from(first) - 0.5, f64::from(last) + 0.5);
    let px = |e: f64| x0 + PLOT_W * (e - xa) / (xb - xa);
    let py = |v: f64| TOP + PLOT_H - PLOT_H * (v - lo) / (hi - lo);
    let _ = writeln!(
        s,
        r#"<g class="panel"><text x="{x0:.1}" y="{:.1}" font-size="13" font-weight="bold">{title}</text>"#,
        TOP - 10.0
    );
    let _ = writeln!(
        s,
        r##"<rect x="{x0:.1}" y="{TOP:.1}" width="{PLOT_W:.1}" height="{PLOT_H:.1}" fill="#ffffff" stroke="#888"/>"##
    );
    for &t in &ticks {
        let y = py(t);
        let label = format!("{t:.dec$}{}", if percent { "%" } else { "" });
        let _ = writeln!(
            s,
            r##"<line x1="{x0:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e4e4e4"/><text class="ytick" x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{label}</text>"##,
            x0 + PLOT_W,
            x0 - 6.0,
            y + 4.0
        );
    }
    for e in epoch_ticks(first, last) {
        let x = px(f64::from(e));
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#888"/><text class="xtick" x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle">{e}</text>"##,
            TOP + PLOT_H,
            TOP + PLOT_H + 5.0,
            TOP + PLOT_H + 18.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">epoch</text>"#,
        x0 + PLOT_W / 2.0,
        TOP + PLOT_H + 34.0
    );
    for se in series {
        // Lines join consecutive epochs; a missing value breaks the line.
        let mut run: Vec<String> = Vec::new();
        let mut prev: Option<f64> = None;
        let flush = |run: &mut Vec<String>, s: &mut String| {
            if run.len() > 1 {
                let _ = writeln!(
                    s,
                    r#"<polyline fill="none" stroke="{}" stroke-width="1.8" points="{}"/>"#,
                    se.colour,
                    run.join(" ")
                );
            }
            run.clear();
        };
        for &(e, v) in &se.points {
            if prev.is_some_and(|p| e - p > 1.5) {
                flush(&mut run, s);
            }
            run.push(format!("{:.1},{:.1}", px(e), py(v)));
            prev = Some(e);
        }
        flush(&mut run, s);
        if markers || se.marker == Marker::Diamond {
            for &(e, v) in &se.points {
                let tip = format!("epoch {e}: {} {}", se.label, fmt_value(v, percent));
                marker(s, se.marker, px(e), py(v), se.colour, &tip);
            }
        }
    }
    s.push_str("</g>\n");
}

/// Estimated text width (generous, for sans fonts up to DejaVu Sans's width).
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.62
}

/// The picture: `test_accuracy` (a fraction, like the history's accuracies)
/// is the test split's accuracy after the last epoch, when it is known.
pub fn curves(name: &str, history: &[EpochMetrics], test_accuracy: Option<f64>) -> String {
    let first = history.first().map_or(1, |m| m.epoch);
    let last = history.last().map_or(1, |m| m.epoch).max(first);
    let col = |f: &dyn Fn(&EpochMetrics) -> Option<f64>, scale: f64| -> Vec<(f64, f64)> {
        history.iter().filter_map(|m| f(m).filter(|v| v.is_finite()).map(|v| (f64::from(m.epoch), v * scale))).collect()
    };
    let series = |label, colour, marker, points: Vec<(f64, f64)>| Series { label, colour, marker, points };
    let mut loss = vec![series("train", TRAIN, Marker::Circle, col(&|m| Some(m.train_loss), 1.0))];
    let mut acc = vec![series("train", TRAIN, Marker::Circle, col(&|m| Some(m.train_accuracy), 100.0))];
    let validation = history.iter().any(|m| m.validation_loss.is_some() || m.validation_accuracy.is_some());
    if validation {
        loss.push(series("validation", VALIDATION, Marker::Square, col(&|m| m.validation_loss, 1.0)));
        acc.push(series("validation", VALIDATION, Marker::Square, col(&|m| m.validation_accuracy, 100.0)));
    }
    let test = test_accuracy.filter(|v| v.is_finite()).map(|v| v * 100.0);
    if let Some(t) = test {
        acc.push(series("test", TEST, Marker::Diamond, vec![(f64::from(last), t)]));
    }
    let markers = history.len() <= MAX_MARKERS;

    let mut body = String::new();
    panel(&mut body, LEFT, "loss", &loss, (first, last), false, markers);
    panel(&mut body, LEFT + PANEL_STEP, "accuracy (%)", &acc, (first, last), true, markers);

    // The legend, in one row below the panels.
    let last_m = history.last();
    let mut entries: Vec<(&str, Marker, String)> = Vec::new();
    let at_last = |l: Option<f64>, a: Option<f64>| match (l, a) {
        (Some(l), Some(a)) => format!(" (epoch {last}: loss {l:.4}, {:.2}%)", a * 100.0),
        _ => String::new(),
    };
    entries.push((
        TRAIN,
        Marker::Circle,
        format!("train{}", at_last(last_m.map(|m| m.train_loss), last_m.map(|m| m.train_accuracy))),
    ));
    if validation {
        let v = at_last(last_m.and_then(|m| m.validation_loss), last_m.and_then(|m| m.validation_accuracy));
        entries.push((VALIDATION, Marker::Square, format!("validation{v}")));
    }
    if let Some(t) = test {
        entries.push((TEST, Marker::Diamond, format!("test after the last epoch: {t:.2}%")));
    }
    let ly = TOP + PLOT_H + 62.0;
    let mut lx = LEFT;
    let _ = writeln!(body, r#"<g class="legend">"#);
    for (colour, m, label) in &entries {
        if *m != Marker::Diamond {
            let _ = writeln!(
                body,
                r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="1.8"/>"#,
                lx + 28.0
            );
        }
        marker(&mut body, *m, lx + 14.0, ly, colour, label);
        let _ = writeln!(body, r#"<text x="{:.1}" y="{:.1}" font-size="12">{label}</text>"#, lx + 36.0, ly + 4.0);
        lx += 36.0 + text_width(label, 12.0) + 24.0;
    }
    body.push_str("</g>\n");

    let title = match history.len() {
        0 => format!("{}: training curves, no epoch yet", escape(name)),
        1 => format!("{}: training curves, epoch {last}", escape(name)),
        _ => format!("{}: training curves, epochs {first}..{last}", escape(name)),
    };
    let width = (LEFT + PANEL_STEP + PLOT_W + 24.0).max(lx).max(text_width(&title, 15.0) * 1.08 + 24.0).ceil();
    let height = ly + 22.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Verdana, sans-serif">"#
    );
    let _ = writeln!(s, "<title>{title}</title>");
    let _ = writeln!(s, r##"<rect width="{width}" height="{height}" fill="#ffffff"/>"##);
    let _ = writeln!(s, r#"<text x="12" y="24" font-size="15" font-weight="bold">{title}</text>"#);
    s += &body;
    s + "</svg>\n"
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use roxmltree::{Document, Node};

    use super::*;

    fn epoch(epoch: u32, loss: f64, acc: f64, validation: bool) -> EpochMetrics {
        EpochMetrics {
            epoch,
            train_loss: loss,
            train_accuracy: acc,
            validation_loss: validation.then_some(loss * 0.9),
            validation_accuracy: validation.then_some(acc + 0.02),
            seconds: 0.5,
            lr: 1e-3,
        }
    }

    fn history(n: u32, validation: bool) -> Vec<EpochMetrics> {
        (1..=n).map(|e| epoch(e, 0.9 / f64::from(e), 0.5 + 0.45 * (1.0 - 1.0 / f64::from(e)), validation)).collect()
    }

    fn panels<'a>(doc: &'a Document) -> Vec<Node<'a, 'a>> {
        doc.descendants().filter(|n| n.attribute("class") == Some("panel")).collect()
    }

    fn of_class<'a>(n: Node<'a, 'a>, class: &str) -> Vec<Node<'a, 'a>> {
        n.descendants().filter(|d| d.attribute("class") == Some(class)).collect()
    }

    fn text_of<'a>(nodes: &[Node<'a, 'a>]) -> Vec<&'a str> {
        nodes.iter().map(|n| n.text().unwrap()).collect()
    }

    fn parse(svg: &str) -> Document<'_> {
        Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed XML: {e}\n{svg}"))
    }

    #[test]
    fn one_epoch_shows_a_marker_per_series_on_the_single_tick_1() {
        let svg = curves("yinyang", &history(1, true), Some(0.601));
        let doc = parse(&svg);
        let p = panels(&doc);
        assert_eq!(p.len(), 2);
        let markers = |n| of_class(n, "marker").len();
        assert_eq!(markers(p[0]), 2, "loss: train and validation");
        assert_eq!(markers(p[1]), 3, "accuracy: train, validation and test");
        for panel in &p {
            assert_eq!(text_of(&of_class(*panel, "xtick")), ["1"]);
        }
        assert!(!svg.contains("epoch 2") && !svg.contains("epochs"), "{svg}");
    }

    #[test]
    fn accuracy_ticks_are_round_percentages_around_the_data() {
        for n in [1, 2, 5, 40, 200] {
            let h = history(n, true);
            let svg = curves("x", &h, Some(0.9));
            let doc = parse(&svg);
            let ticks = text_of(&of_class(panels(&doc)[1], "ytick"));
            assert!((4..=7).contains(&ticks.len()), "{n} epochs: {ticks:?}");
            let v: Vec<f64> =
                ticks.iter().map(|t| t.strip_suffix('%').expect("a percentage").parse().unwrap()).collect();
            let step = v[1] - v[0];
            let mantissa = step / 10f64.powf(step.log10().floor());
            assert!([1.0, 2.0, 2.5, 5.0].iter().any(|m| (m - mantissa).abs() < 1e-9), "step {step}");
            assert!(v.windows(2).all(|w| (w[1] - w[0] - step).abs() < 1e-9), "{v:?}");
            assert!(v.iter().all(|t| (0.0..=100.0).contains(t) && (t / step - (t / step).round()).abs() < 1e-9));
            // Every marker inside the frame, off its edges.
            for panel in panels(&doc) {
                for m in of_class(panel, "marker") {
                    let y = match m.attribute("cy") {
                        Some(cy) => cy.parse::<f64>().unwrap(),
                        None if m.has_tag_name("rect") => m.attribute("y").unwrap().parse::<f64>().unwrap() + 3.5,
                        None => {
                            let d = m.attribute("d").unwrap();
                            d.split('L').nth(1).unwrap().trim().split(',').nth(1).unwrap().parse().unwrap()
                        }
                    };
                    assert!((TOP + 3.0..=TOP + PLOT_H - 3.0).contains(&y), "{n} epochs: a marker at y = {y}");
                }
            }
        }
    }

    #[test]
    fn epoch_ticks_are_whole_and_few() {
        assert_eq!(epoch_ticks(1, 1), [1]);
        assert_eq!(epoch_ticks(1, 5), [1, 2, 3, 4, 5]);
        assert_eq!(epoch_ticks(1, 40), [1, 10, 20, 30, 40]);
        assert_eq!(epoch_ticks(1, 12), [1, 2, 4, 6, 8, 10, 12]);
        for last in 1..300 {
            let t = epoch_ticks(1, last);
            assert!(t.len() <= 8 && t[0] == 1 && t.windows(2).all(|w| w[0] < w[1]) && t[t.len() - 1] <= last, "{t:?}");
        }
    }

    #[test]
    fn the_legend_is_below_the_plots() {
        let svg = curves("x", &history(5, true), Some(0.9));
        let doc = parse(&svg);
        let plot_bottom = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect") && n.parent().and_then(|p| p.attribute("class")) == Some("panel"))
            .map(|n| {
                n.attribute("y").unwrap().parse::<f64>().unwrap()
                    + n.attribute("height").unwrap().parse::<f64>().unwrap()
            })
            .fold(0.0, f64::max);
        let legend = doc.descendants().find(|n| n.attribute("class") == Some("legend")).unwrap();
        let ys: Vec<f64> = legend
            .descendants()
            .filter_map(|n| n.attribute("y").or(n.attribute("cy")).or(n.attribute("y1")))
            .map(|y| y.parse().unwrap())
            .collect();
        assert!(!ys.is_empty() && ys.iter().all(|&y| y > plot_bottom + 30.0), "{ys:?} vs {plot_bottom}");
        let labels = text_of(&legend.descendants().filter(|n| n.has_tag_name("text")).collect::<Vec<_>>());
        assert_eq!(labels.len(), 3, "{labels:?}");
        assert!(labels[2].contains("90.00%"), "{labels:?}");
    }

    #[test]
    fn missing_validation_and_test_are_left_out() {
        let svg = curves("x", &history(3, false), None);
        let doc = parse(&svg);
        assert!(!svg.contains("validation") && !svg.contains(VALIDATION) && !svg.contains("test"), "{svg}");
        assert_eq!(of_class(panels(&doc)[1], "marker").len(), 3, "train only");
        let with_test = curves("x", &history(3, false), Some(0.8));
        assert!(with_test.contains("80.00%") && !with_test.contains("validation"));
    }

    #[test]
    fn every_history_draws_well_formed_xml_with_the_title_inside() {
        let mut odd = history(5, true);
        odd[2].train_loss = f64::NAN;
        odd[3].validation_accuracy = None;
        let flat = vec![epoch(1, 0.5, 0.5, false), epoch(2, 0.5, 0.5, false)];
        let long = "a&b<c>".repeat(40);
        for (name, h) in [("empty", vec![]), ("odd", odd), ("flat", flat), (long.as_str(), history(100, true))] {
            for test in [None, Some(0.5)] {
                let svg = curves(name, &h, test);
                let doc = parse(&svg);
                let width: f64 = doc.root_element().attribute("width").unwrap().parse().unwrap();
                let title = doc.descendants().find(|n| n.has_tag_name("text")).unwrap();
                let chars = title.text().unwrap().chars().count() as f64;
                assert!(12.0 + chars * 15.0 * 0.65 <= width, "title of {chars} characters in {width}");
                assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
            }
        }
    }
}
