//! The `.snn` text of an imported network.
//!
//! Input: an [`Imported`] network, the name and time grid, and optionally a
//! template spec (`--template`, or the spec an snnc export carries). Output:
//! the spec's text: a `network` block (populations and projections in the
//! imported order, every value written so that it parses back to the value
//! intended), and the template's `train` and `target` blocks as written.
//!
//! What NIR does not describe comes from the template when it has it: the
//! spike source's encoding and bias (its population of the same name, or its
//! only spike source), a population's `integration` (same name), each
//! projection's initialiser (same `pre -> post`),
//! the readout. A value the template gives that rounds to the same float32
//! as the file's (NIR stores float32) is written as the template has it, so
//! export then import gives back the spec's own numbers; otherwise the
//! shortest decimal of the stored value. Without a template: `latency(order
//! = early_high)` encoding, `normal(mean = 0, std = 1, scale = fan_in_sqrt)`
//! initialisers, no `train` block.

use std::fmt::Write as _;

use snnc_compiler::ValidNetwork;
use snnc_compiler::network::{Init, InitScale, Integration, TimeValue};
use snnc_compiler::syntax::ast::{File, Item, NetworkEntry};

use super::import::{Imported, Kind};

/// A template spec: its text, its parse and its checked network.
pub struct Template<'a> {
    pub text: &'a str,
    pub ast: &'a File,
    pub net: &'a ValidNetwork,
}

pub struct SpecHeader<'a> {
    /// The first comment line(s), e.g. where the file came from.
    pub comment: &'a str,
    pub name: &'a str,
    pub dt: f64,
    pub steps: u32,
}

/// `; integration = ..` when the template's population of the same name
/// steps its membrane otherwise than by default (NIR describes the
/// continuous model, not how a simulator steps it).
fn integration(t: Option<Integration>) -> String {
    match t {
        Some(i) if i != Integration::default() => format!("; integration = {}", i.word()),
        _ => String::new(),
    }
}

/// The spec's text, and notes on what the template supplied or what was
/// changed in its blocks.
pub fn write_spec(imp: &Imported, head: &SpecHeader<'_>, template: Option<&Template<'_>>) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let mut s = String::new();
    let _ = writeln!(s, "/* written by snnc: {} */", head.comment);
    let _ = writeln!(s, "network {} {{", head.name);
    let _ = writeln!(s, "    time {{ dt = {}; steps = {} }}", fmt_seconds(head.dt), head.steps);
    let _ = writeln!(s);
    let tpl_pop = |name: &str| template.and_then(|t| t.net.population_by_name(name).map(|i| &t.net.graph[i]));
    for p in &imp.populations {
        let body = match p.kind {
            Kind::Source => source_body(&p.name, template),
            Kind::Lif { tau_mem, tau_syn, threshold } => {
                let t = tpl_pop(&p.name).and_then(|q| q.lif());
                format!(
                    "{{ tau_mem = {}; tau_syn = {}; threshold = {}{} }}",
                    fmt_seconds(snap(tau_mem, t.map(|t| t.tau_mem))),
                    fmt_seconds(snap(tau_syn, t.map(|t| t.tau_syn))),
                    fmt_num(snap(threshold, t.map(|t| t.threshold))),
                    integration(t.map(|t| t.integration))
                )
            }
            Kind::Li { tau_mem, tau_syn } => {
                let t = tpl_pop(&p.name).and_then(|q| q.li());
                format!(
                    "{{ tau_mem = {}; tau_syn = {}{} }}",
                    fmt_seconds(snap(tau_mem, t.map(|t| t.tau_mem))),
                    fmt_seconds(snap(tau_syn, t.map(|t| t.tau_syn))),
                    integration(t.map(|t| t.integration))
                )
            }
        };
        let kind = match p.kind {
            Kind::Source => "spike_source",
            Kind::Lif { .. } => "lif",
            Kind::Li { .. } => "li",
        };
        let _ = writeln!(s, "    population {} = {kind}({}) {body}", p.name, p.size);
    }
    let _ = writeln!(s);
    for q in &imp.projections {
        let tpl = template.and_then(|t| {
            let (a, b) = (t.net.population_by_name(&q.pre)?, t.net.population_by_name(&q.post)?);
            let e = t.net.graph.find_edge(a, b)?;
            Some((&t.net.graph[e], t.net.time.dt))
        });
        let init = match tpl {
            Some((p, _)) => p.init,
            None => Init::Normal { mean: 0.0, std: 1.0, scale: InitScale::FanInSqrt },
        };
        // The template's delays when they are the same steps on this grid.
        let tpl_delays = tpl.map(|(p, _)| p.delays.clone()).filter(|d| {
            d.len() == q.delays.len()
                && d.iter().zip(&q.delays).all(|(t, &n)| {
                    let steps = t.in_steps(head.dt);
                    (steps - f64::from(n)).abs() < 1e-9
                })
        });
        let delays: Vec<TimeValue> =
            tpl_delays.unwrap_or_else(|| q.delays.iter().map(|&n| TimeValue::Steps(f64::from(n))).collect());
        let delay = match delays.as_slice() {
            [TimeValue::Steps(z)] if *z == 0.0 && tpl.is_none_or(|(p, _)| p.delays == [TimeValue::Steps(0.0)]) => {
                String::new()
            }
            [one] => format!("; delay = {}", fmt_time(*one)),
            [first, .., last] => {
                let step = match (first, &delays[1]) {
                    (TimeValue::Seconds(a), TimeValue::Seconds(b)) => TimeValue::Seconds(b - a),
                    (a, b) => TimeValue::Steps(b.in_steps(head.dt) - a.in_steps(head.dt)),
                };
                format!("; delays = {} .. {} step {}", fmt_time(*first), fmt_time(*last), fmt_time(step))
            }
            [] => String::new(),
        };
        let _ = writeln!(s, "    projection {} -> {} = dense {{ init = {}{delay} }}", q.pre, q.post, fmt_init(init));
    }
    let _ = writeln!(s, "}}");

    if let Some(t) = template {
        for item in &t.ast.items {
            match item {
                Item::Train { keyword, body } => {
                    let mut text = t.text[keyword.start..body.span.end].to_string();
                    if let Some(param) = body.params.iter().find(|p| p.name.text == "readout") {
                        let named = &t.text[param.value.span.start..param.value.span.end];
                        if !imp.populations.iter().any(|p| p.name == named)
                            && let [only] = imp.readouts.as_slice()
                        {
                            let (a, b) = (param.value.span.start - keyword.start, param.value.span.end - keyword.start);
                            text.replace_range(a..b, only);
                            notes.push(format!(
                                "the template's readout `{named}` is not a population here; the readout is `{only}`, which feeds the Output"
                            ));
                        }
                    }
                    let _ = writeln!(s, "\n{text}");
                }
                Item::Target { keyword, body, .. } => {
                    let _ = writeln!(s, "\n{}", &t.text[keyword.start..body.span.end]);
                }
                Item::Network(_) | Item::Sweep(_) => {}
            }
        }
    }
    (s, notes)
}

/// The `{ .. }` of a spike source: the template's, or a latency code.
fn source_body(name: &str, template: Option<&Template<'_>>) -> String {
    let default = "{ encoding = latency(order = early_high) }".to_string();
    let Some(t) = template else { return default };
    let Some(net) = t.ast.items.iter().find_map(|i| if let Item::Network(n) = i { Some(n) } else { None }) else {
        return default;
    };
    let sources: Vec<_> = net
        .entries
        .iter()
        .filter_map(|e| match e {
            NetworkEntry::Population(p) if p.kind.name.text == "spike_source" => Some(p),
            _ => None,
        })
        .collect();
    let pick = sources.iter().find(|p| p.name.text == name).or(if sources.len() == 1 { sources.first() } else { None });
    match pick.and_then(|p| p.kind.body.as_ref()) {
        Some(body) => t.text[body.span.start..body.span.end].to_string(),
        None => default,
    }
}

/// The value to write for a stored one: the template's when it is the same
/// float32; for a float32 value, the double of its shortest decimal (`0.02`
/// for float32's 0.0199999995...); a float64 value as it is.
fn snap(stored: f64, template: Option<f64>) -> f64 {
    match template {
        Some(t) if (t as f32) == (stored as f32) => t,
        _ if f64::from(stored as f32) == stored => format!("{:?}", stored as f32).parse().unwrap_or(stored),
        _ => stored,
    }
}

/// A stored value as the double of its float32's shortest decimal when it
/// is a float32 (`0.02` for 0.0199999995...), for messages and the spec.
pub fn decimal(stored: f64) -> f64 {
    snap(stored, None)
}

/// A double as the shortest text that parses back to it (no `.0`).
pub fn fmt_num(v: f64) -> String {
    let s = format!("{v:?}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// Seconds as `N ms` when that reads back to the same double, else `N s`.
pub fn fmt_seconds(v: f64) -> String {
    let ms = v * 1e3;
    let text = format!("{ms:?}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    if text.parse::<f64>().is_ok_and(|m| m / 1e3 == v) && !text.contains('e') {
        format!("{text} ms")
    } else {
        format!("{} s", fmt_num(v))
    }
}

fn fmt_time(t: TimeValue) -> String {
    match t {
        TimeValue::Seconds(s) => fmt_seconds(s),
        TimeValue::Steps(n) => format!("{} steps", fmt_num(n)),
    }
}

fn fmt_init(init: Init) -> String {
    let scale = |s: InitScale| match s {
        InitScale::None => String::new(),
        InitScale::FanInSqrt => ", scale = fan_in_sqrt".into(),
        InitScale::FanIn => ", scale = fan_in".into(),
    };
    match init {
        Init::Normal { mean, std, scale: s } => {
            format!("normal(mean = {}, std = {}{})", fmt_num(mean), fmt_num(std), scale(s))
        }
        Init::Uniform { low, high, scale: s } => {
            format!("uniform(low = {}, high = {}{})", fmt_num(low), fmt_num(high), scale(s))
        }
        Init::Constant { value, scale: s } => format!("constant(value = {}{})", fmt_num(value), scale(s)),
    }
}
