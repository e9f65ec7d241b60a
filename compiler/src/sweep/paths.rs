//! Parameter paths of a `.snn` file and the text edits that set them.
//!
//! Input: a parsed file and its text. Output: every parameter a sweep can
//! set, by path (`optimizer.lr`, `population.hidden.tau_mem`,
//! `projection.input->hidden.init.mean`), with where its value is written or,
//! when it is left at its default, where `name = value` would be inserted.
//!
//! The shapes (which parameters a block or call takes, in which positional
//! order) are the checker's own tables, so a path exists exactly when the
//! checker would accept the parameter at that place.
//!
//! Invariant: an edit never changes the text outside the value it replaces
//! or the place it inserts at; edits are applied one at a time, each on the
//! text the previous one produced (so that two defaulted parameters of one
//! missing call, `loss.xi` and `loss.alpha`, end up in one call).

use crate::check::network as netshapes;
use crate::check::params::Shape;
use crate::check::train as trainshapes;
use crate::network::Span;
use crate::syntax::ast::{Body, Call, File, Item, NetworkEntry, Value, ValueKind};

/// Where a parameter's value is, or where it would go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// Written in the file: the value's span.
    Given(Span),
    /// Left at its default: `prefix VALUE suffix` is inserted at byte `at`.
    Missing { at: usize, prefix: String, suffix: String },
}

/// A parameter a sweep can set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// The canonical path: `train.seed`, `optimizer.lr`, `time.dt`,
    /// `population.hidden.tau_mem`, `projection.input->hidden.init.mean`,
    /// `target.chips`.
    pub path: String,
    pub place: Place,
    /// The value as written, `None` when it is the default.
    pub current: Option<String>,
}

/// The parameters of the `train` block that are reached without `train.`:
/// `data.train`, `loss.xi`, `optimizer.lr`, `schedule.per_epoch`.
const TRAIN_SLOTS: &[&str] = &["data", "loss", "optimizer", "schedule"];

/// The canonical form of a path: `train.optimizer.lr` is `optimizer.lr`.
pub fn canonical(segments: &[String]) -> String {
    match segments {
        [first, second, ..] if first == "train" && TRAIN_SLOTS.contains(&second.as_str()) => segments[1..].join("."),
        _ => segments.join("."),
    }
}

/// The shape of a call of `name` in `slot` (the parameter holding it).
fn shape(slot: &str, name: &str) -> Option<&'static Shape> {
    Some(match (slot, name) {
        ("population", "lif") => &netshapes::LIF,
        ("population", "spike_source") => &netshapes::SPIKE_SOURCE,
        ("encoding", "latency") => &netshapes::LATENCY,
        ("encoding", "events") => &netshapes::EVENTS,
        ("bias", "spike") => &netshapes::SPIKE,
        ("projection", "dense") => &netshapes::DENSE,
        ("init", "normal") => &netshapes::NORMAL,
        ("init", "uniform") => &netshapes::UNIFORM,
        ("init", "constant") => &netshapes::CONSTANT,
        ("data", "yin_yang") => &trainshapes::YIN_YANG,
        ("data", "csv") => &trainshapes::CSV,
        ("data", "synthetic") => &trainshapes::SYNTHETIC,
        ("data", "shd") => &trainshapes::SHD,
        ("data", "ssc") => &trainshapes::SSC,
        ("data", "events") => &trainshapes::EVENTS,
        ("data", "shd_like") => &trainshapes::SHD_LIKE,
        ("data", "order") => &trainshapes::ORDER,
        ("loss", "first_spike_cross_entropy") => &trainshapes::LOSS,
        ("optimizer", "adam") => &trainshapes::ADAM,
        ("optimizer", "sgd") => &trainshapes::SGD,
        ("schedule", "exponential") => &trainshapes::EXPONENTIAL,
        ("schedule", "constant") => &trainshapes::CONSTANT,
        _ => return None,
    })
}

/// The call a defaulted slot stands for (`loss` and `optimizer` have
/// parameters of their own when left out).
fn default_call(slot: &str) -> Option<&'static str> {
    match slot {
        "loss" => Some("first_spike_cross_entropy"),
        "optimizer" => Some("adam"),
        _ => None,
    }
}

struct Walker<'t> {
    text: &'t str,
    out: Vec<Param>,
}

/// Every parameter of `file` a sweep can set, in file order (for each block
/// or call, in the order its shape lists them).
pub fn params(file: &File, text: &str) -> Vec<Param> {
    let mut w = Walker { text, out: Vec::new() };
    let mut has_target = false;
    for item in &file.items {
        match item {
            Item::Network(n) => {
                for e in &n.entries {
                    match e {
                        NetworkEntry::Time { body, .. } => w.block("time", netshapes::TIME, body, |_| None),
                        NetworkEntry::Population(p) => {
                            w.call(&format!("population.{}", p.name.text), "population", &p.kind)
                        }
                        NetworkEntry::Projection(p) => {
                            w.call(&format!("projection.{}->{}", p.pre.text, p.post.text), "projection", &p.kind)
                        }
                    }
                }
            }
            Item::Train { body, .. } => {
                w.block("train", trainshapes::TRAIN, body, |name| TRAIN_SLOTS.contains(&name).then(|| name.to_string()))
            }
            Item::Target { body, .. } => {
                has_target = true;
                w.block("target", trainshapes::TARGET, body, |_| None);
            }
            Item::Sweep(_) => {}
        }
    }
    if !has_target {
        for name in trainshapes::TARGET {
            w.out.push(Param {
                path: format!("target.{name}"),
                place: Place::Missing {
                    at: text.len(),
                    prefix: format!("\ntarget spinnaker2 {{ {name} = "),
                    suffix: " }\n".into(),
                },
                current: None,
            });
        }
    }
    w.out
}

impl Walker<'_> {
    fn slice(&self, s: Span) -> String {
        self.text[s.start..s.end].to_string()
    }

    /// Where `name = VALUE` goes in `body`: after its last parameter (on a
    /// line of its own when the block spans lines), or just inside `{`.
    fn body_place(&self, body: &Body, name: &str) -> Place {
        match body.params.last() {
            Some(last) => {
                if self.text[body.span.start..body.span.end].contains('\n') {
                    let line = self.text[..last.span.start].rfind('\n').map_or(0, |i| i + 1);
                    let indent: String =
                        self.text[line..last.span.start].chars().take_while(|c| c.is_whitespace()).collect();
                    Place::Missing { at: last.span.end, prefix: format!("\n{indent}{name} = "), suffix: String::new() }
                } else {
                    Place::Missing { at: last.span.end, prefix: format!("; {name} = "), suffix: String::new() }
                }
            }
            None => Place::Missing { at: body.span.start + 1, prefix: format!(" {name} = "), suffix: " ".into() },
        }
    }

    /// A plain block (`time`, `train`, `target`): `slot_of` names the
    /// parameters that are reached without the block's prefix.
    fn block(&mut self, prefix: &str, allowed: &[&str], body: &Body, slot_of: impl Fn(&str) -> Option<String>) {
        for &name in allowed {
            let path = slot_of(name).unwrap_or_else(|| format!("{prefix}.{name}"));
            match body.params.iter().find(|p| p.name.text == name) {
                Some(p) => self.given(&path, name, &p.value),
                None => {
                    let place = self.body_place(body, name);
                    self.missing(&path, name, place);
                }
            }
        }
    }

    /// A parameter written in the file, and the parameters of its value when
    /// that is a call.
    fn given(&mut self, path: &str, slot: &str, value: &Value) {
        self.out.push(Param {
            path: path.to_string(),
            place: Place::Given(value.span),
            current: Some(self.slice(value.span)),
        });
        if let ValueKind::Call(c) = &value.kind {
            self.call(path, slot, c);
        }
    }

    /// A defaulted parameter; when its default is a call with parameters
    /// (`loss`, `optimizer`), those too, inserted with the call around them.
    fn missing(&mut self, path: &str, slot: &str, place: Place) {
        self.out.push(Param { path: path.to_string(), place: place.clone(), current: None });
        let (Some(call), Place::Missing { at, prefix, suffix }) = (default_call(slot), &place) else { return };
        let Some(shape) = shape(slot, call) else { return };
        for arg in shape.args {
            self.out.push(Param {
                path: format!("{path}.{arg}"),
                place: Place::Missing {
                    at: *at,
                    prefix: format!("{prefix}{call}({arg} = "),
                    suffix: format!("){suffix}"),
                },
                current: None,
            });
        }
    }

    /// The parameters of a call in `slot`: its arguments (positional ones
    /// named by the shape's order) and its `{ }` block.
    fn call(&mut self, prefix: &str, slot: &str, call: &Call) {
        let Some(shape) = shape(slot, &call.name.text) else { return };
        let args = call.args.as_ref().map_or(&[][..], |a| &a.args[..]);
        for (k, &name) in shape.args.iter().enumerate() {
            let path = format!("{prefix}.{name}");
            let given = args.iter().enumerate().find(|(i, a)| match &a.name {
                Some(n) => n.text == name,
                None => *i == k,
            });
            match given {
                Some((_, a)) => self.given(&path, name, &a.value),
                None => {
                    let place = match (&call.args, args.last()) {
                        (Some(_), Some(last)) => {
                            Place::Missing { at: last.span.end, prefix: format!(", {name} = "), suffix: String::new() }
                        }
                        (Some(a), None) => {
                            Place::Missing { at: a.span.start + 1, prefix: format!("{name} = "), suffix: String::new() }
                        }
                        (None, _) => {
                            Place::Missing { at: call.name.span.end, prefix: format!("({name} = "), suffix: ")".into() }
                        }
                    };
                    self.missing(&path, name, place);
                }
            }
        }
        for &name in shape.body {
            let path = format!("{prefix}.{name}");
            match call.body.as_ref().and_then(|b| b.params.iter().find(|p| p.name.text == name)) {
                Some(p) => self.given(&path, name, &p.value),
                None => {
                    let place = match &call.body {
                        Some(b) => self.body_place(b, name),
                        None => {
                            Place::Missing { at: call.span.end, prefix: format!(" {{ {name} = "), suffix: " }".into() }
                        }
                    };
                    self.missing(&path, name, place);
                }
            }
        }
    }
}

/// `text` with the value at `place` set to `value`.
pub fn set(text: &str, place: &Place, value: &str) -> String {
    let mut t = text.to_string();
    match place {
        Place::Given(s) => t.replace_range(s.start..s.end, value),
        Place::Missing { at, prefix, suffix } => t.insert_str(*at, &format!("{prefix}{value}{suffix}")),
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    const SPEC: &str = "network n {\n    time { dt = 1 ms; steps = 20 }\n    population i = spike_source(4) { encoding = latency(order = early_high) }\n    population o = lif(3)\n    projection i -> o = dense { init = normal(1, 2) }\n}\ntrain {\n    data = yin_yang()\n    readout = o\n    batch = 4\n    epochs = 1\n}\n";

    fn find(path: &str) -> Param {
        let file = parse(SPEC).unwrap();
        params(&file, SPEC).into_iter().find(|p| p.path == path).unwrap_or_else(|| panic!("no {path}"))
    }

    fn with(path: &str, value: &str) -> String {
        set(SPEC, &find(path).place, value)
    }

    #[test]
    fn given_values_are_replaced_in_place() {
        assert_eq!(find("time.dt").current.as_deref(), Some("1 ms"));
        assert!(with("time.dt", "0.5 ms").contains("time { dt = 0.5 ms; steps = 20 }"));
        // Positional arguments are named by the shape's order.
        assert_eq!(find("projection.i->o.init.std").current.as_deref(), Some("2"));
        assert!(with("projection.i->o.init.std", "3").contains("init = normal(1, 3)"));
        assert!(with("population.o.size", "5").contains("population o = lif(5)\n"));
    }

    #[test]
    fn defaults_are_inserted_where_the_checker_reads_them() {
        assert!(with("train.seed", "7").contains("    epochs = 1\n    seed = 7\n}"));
        assert!(with("population.o.tau_mem", "10 ms").contains("population o = lif(3) { tau_mem = 10 ms }\n"));
        assert!(with("projection.i->o.init.scale", "fan_in").contains("normal(1, 2, scale = fan_in)"));
        assert!(with("optimizer.lr", "0.01").contains("    epochs = 1\n    optimizer = adam(lr = 0.01)\n}"));
        assert!(with("loss.xi", "2").contains("loss = first_spike_cross_entropy(xi = 2)"));
        assert!(with("target.chips", "2").ends_with("}\n\ntarget spinnaker2 { chips = 2 }\n"));
        assert!(
            with("population.i.encoding.t_min", "3 steps").contains("latency(order = early_high, t_min = 3 steps)")
        );
    }

    #[test]
    fn every_edit_parses() {
        let file = parse(SPEC).unwrap();
        for p in params(&file, SPEC) {
            let text = set(SPEC, &p.place, "1");
            assert!(parse(&text).is_ok(), "{}: {text}", p.path);
        }
    }
}
