//! `snnc export SPEC -o OUT.nir [--weights W]` and `snnc import FILE.nir -o
//! OUT.snn`: NIR files (`docs/nir.md`).
//!
//! Input: a `.snn` spec and its weights (a safetensors file or a run
//! directory; the spec's initial weights without one), or a NIR file with
//! the flags that give what NIR does not describe (`--dt`, `--steps`,
//! `--template`). Output: the `.nir` file, or a `.snn` spec and a weights
//! file next to it, and a summary on stdout. Every refusal is an
//! `snn::nir::*` (or `snn::h5::*`) diagnostic naming the node, the parameter
//! and the value (exit 1); a network of several spike sources is not yet
//! supported (exit 2).

use std::path::{Path, PathBuf};

use miette::Report;
use snnc_compiler::ErrorClass;
use snnc_compiler::network::{LossSpec, PopulationKind};
use snnc_runtime::fsio;
use snnc_runtime::nir::graph::{self, Node};
use snnc_runtime::nir::import::{Imported, Kind, Order, import};
use snnc_runtime::nir::spec::{SpecHeader, Template, decimal, fmt_seconds, write_spec};
use snnc_runtime::nir::{NIR_VERSION, NirError, SPEC_KEY, export};
use snnc_runtime::pipeline::initial_weights;
use snnc_runtime::train::plan::Plan;
use snnc_runtime::train::run::{read_weights, weights_bytes};

use super::{CmdResult, Failure, Out, Source, count, load_network};

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example: snnc export examples/yinyang.snn --weights runs/yinyang-X/weights.safetensors -o yinyang.nir\n\n\
                  Every lif population becomes a CubaLIF node, every li a CubaLI, every projection copy a Linear \
                  (after a Delay when its delay is not 0), with r = 1 and w_in = tau_syn so that the Linear holds \
                  snnc's current jumps; the file carries the spec, so `snnc import` gives it back. The mapping and \
                  its derivation: docs/nir.md."
)]
pub struct ExportArgs {
    /// The .snn spec whose network to export.
    pub file: PathBuf,
    /// The weights: a safetensors file (`snnc train`'s `weights.safetensors`) or a run directory
    /// holding one. Without it, the spec's initial weights (its initialisers and seed).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// The NIR file to write (HDF5, NIR 1.0.x; `nir.read` loads it).
    #[arg(short = 'o', long)]
    pub output: PathBuf,
    /// Replace the output file even when snnc did not write it.
    #[arg(long)]
    pub force: bool,
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  snnc import net.nir -o net.snn --dt 1ms --steps 27 --template examples/yinyang.snn\n  snnc import yinyang.nir -o back.snn        (a file snnc exported carries its spec: no flags needed)\n\n\
                  Imports Input, Output, Linear, Affine (zero bias), Scale, Delay (whole steps), CubaLIF, CubaLI, \
                  an LI feeding a LIF or LI (its synaptic current), nested NIRGraphs and recurrent edges; refuses \
                  anything else naming the node, the parameter and the value. Weights become snnc's current \
                  jumps, W (r w_in / tau_syn): docs/nir.md."
)]
pub struct ImportArgs {
    /// The NIR file (as the `nir` package writes it: 1.0.x, or 0.1/0.2).
    pub file: PathBuf,
    /// The .snn spec to write.
    #[arg(short = 'o', long)]
    pub output: PathBuf,
    /// The weights file to write (safetensors, for `snnc train --init-weights`); default: the
    /// output with the extension `.safetensors`.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// The time step (`1ms`, `0.5 ms`, `1e-3 s`, `500us`); delays must be whole steps of it.
    /// Default: the template's, else 1 ms.
    #[arg(long, value_parser = time_arg)]
    pub dt: Option<f64>,
    /// The number of steps of a trial. Default: the template's (required without one).
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=1_000_000))]
    pub steps: Option<u32>,
    /// The network's name. Default: the template's, else the file's name.
    #[arg(long)]
    pub name: Option<String>,
    /// A .snn spec that supplies what NIR does not describe: the time grid (unless --dt/--steps), the
    /// spike source's encoding and bias, the projections' initialisers (same `pre -> post`), the
    /// `train` and `target` blocks (the readout renamed to the population that feeds the Output when
    /// the template's is not in the graph). Default: the spec a file exported by snnc carries.
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// Do not use the spec a file exported by snnc carries.
    #[arg(long, conflicts_with = "template")]
    pub ignore_embedded: bool,
    /// Replace the output files even when snnc did not write them.
    #[arg(long)]
    pub force: bool,
}

/// A time flag: a number and a unit (`s`, `ms`, `us`), spaces allowed.
fn time_arg(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).ok_or("give a unit: s, ms or us (e.g. 1ms)")?;
    let (num, unit) = (t[..split].trim(), t[split..].trim());
    let v: f64 = num.parse().map_err(|_| format!("`{num}` is not a number"))?;
    let exp = match unit {
        "s" => 0,
        "ms" => 3,
        "us" => 6,
        _ => return Err(format!("unknown unit `{unit}`: use s, ms or us")),
    };
    let v = v / 10f64.powi(exp);
    if v > 0.0 && v.is_finite() { Ok(v) } else { Err("the time step must be above 0".into()) }
}

fn rejected(e: NirError) -> Failure {
    Failure::of(ErrorClass::Rejected, e)
}

pub fn export(args: ExportArgs) -> CmdResult {
    let weights_file =
        args.weights.as_ref().map(|w| if w.is_dir() { w.join("weights.safetensors") } else { w.clone() });
    let mut inputs: Vec<&Path> = vec![&args.file];
    if let Some(w) = &weights_file {
        inputs.push(w);
    }
    let ours = graph::written_by_snnc(&args.output);
    fsio::check_output_file(&args.output, &inputs, args.force || ours)?;
    let (src, net) = load_network(&args.file)?;
    let plan = Plan::new(&net).map_err(|e| Failure::of(ErrorClass::NotYetSupported, e))?;
    let weights = match &weights_file {
        Some(w) => read_weights(w, &plan)?,
        None => initial_weights(&net).map_err(|e| Failure::of(e.class(), e))?,
    };
    let g = export::export(&net, &plan, &weights, &src.text).map_err(|e| Failure::of(ErrorClass::Internal, e))?;
    let bytes = graph::write_bytes(&g).map_err(|e| Failure::of(ErrorClass::Output, e))?;
    fsio::write_output_file(&args.output, &inputs, true, &bytes)?;

    let mut out = Out::new();
    let from =
        weights_file.as_ref().map_or("its initial weights".to_string(), |w| format!("the weights {}", w.display()));
    out.line(format!(
        "exported network {} with {from} to {} (NIR {NIR_VERSION}): {}, {}",
        net.name,
        args.output.display(),
        count(g.nodes.len() as u64, "node", "nodes"),
        count(g.edges.len() as u64, "edge", "edges")
    ));
    for (name, node) in &g.nodes {
        let what = match node {
            Node::Input { shape } | Node::Output { shape } => format!("{shape:?}"),
            Node::Linear { weight } => format!("weight {:?}", weight.shape),
            Node::Delay { delay } => format!("{} for {} inputs", fmt_seconds(decimal(delay.data[0])), delay.data.len()),
            Node::Neuron { params, .. } => {
                let first = |p: &str| params.get(p).map(|a| decimal(a.data[0]));
                let mut s = format!(
                    "{} neurons, tau_syn {}, tau_mem {}",
                    params["tau_syn"].data.len(),
                    fmt_seconds(first("tau_syn").unwrap_or(f64::NAN)),
                    fmt_seconds(first("tau_mem").unwrap_or(f64::NAN))
                );
                if let Some(t) = first("v_threshold") {
                    s += &format!(", v_threshold {t}");
                }
                s + ", r 1, w_in = tau_syn (the weights are the current jumps)"
            }
            _ => String::new(),
        };
        out.line(format!("  {name:<24} {:<8} {what}", node.kind()));
    }
    out.finish()
}

pub fn import_cmd(args: ImportArgs) -> CmdResult {
    let weights_out = args.weights.clone().unwrap_or_else(|| args.output.with_extension("safetensors"));
    let mut inputs: Vec<&Path> = vec![&args.file];
    if let Some(t) = &args.template {
        inputs.push(t);
    }
    if fsio::same_file(&args.output, &weights_out) || args.output == weights_out {
        return Err(Failure::rejected("the spec and the weights would be the same file: give --weights another path"));
    }
    fsio::check_output_file(&args.output, &inputs, args.force)?;
    fsio::check_output_file(&weights_out, &inputs, args.force)?;

    let file = graph::read(&args.file).map_err(rejected)?;
    let mut notes = Vec::new();

    // The template: --template, or the spec an snnc export carries.
    let (tpl_name, tpl_text) = match &args.template {
        Some(t) => (t.display().to_string(), Some(Source::read(t)?.text)),
        None if !args.ignore_embedded => match file.graph.metadata.get(SPEC_KEY) {
            Some(text) => (format!("the spec carried by {}", args.file.display()), Some(text.clone())),
            None => (String::new(), None),
        },
        None => (String::new(), None),
    };
    let tpl_parsed = match &tpl_text {
        Some(text) => match (snnc_compiler::check_source(&tpl_name, text), snnc_compiler::syntax::parse(text)) {
            (Ok(net), Ok(ast)) => Some((net, ast)),
            (Err(diags), _) if args.template.is_some() => {
                let src = Source { name: tpl_name.clone(), text: text.clone() };
                return Err(Failure::new(ErrorClass::Rejected, Report::new(diags).with_source_code(src.named())));
            }
            _ => {
                notes.push(format!("{tpl_name} does not check; it is ignored"));
                None
            }
        },
        None => None,
    };
    let template = match (&tpl_text, &tpl_parsed) {
        (Some(text), Some((net, ast))) => Some(Template { text, ast, net }),
        _ => None,
    };

    let dt = args.dt.or(template.as_ref().map(|t| t.net.time.dt)).unwrap_or(1e-3);
    let steps = match args.steps.or(template.as_ref().map(|t| t.net.time.steps)) {
        Some(s) => s,
        None => {
            return Err(Failure::new(
                ErrorClass::Rejected,
                miette::miette!(
                    code = "snn::nir::missing_flag",
                    help =
                        "NIR describes no trial length: give --steps N, or --template SPEC.snn to take its time block",
                    "{} needs --steps (the number of steps of a trial)",
                    args.file.display()
                ),
            ));
        }
    };
    let order = template.as_ref().map_or_else(Order::default, |t| Order {
        populations: t.net.populations().map(|(_, p)| p.name.clone()).collect(),
        projections: t
            .net
            .projections()
            .map(|(_, a, b, _)| (t.net.graph[a].name.clone(), t.net.graph[b].name.clone()))
            .collect(),
    });
    let imp = import(&file.graph, dt, &order).map_err(rejected)?;
    if imp.populations.iter().filter(|p| p.kind == Kind::Source).count() != 1 {
        let inputs: Vec<&str> =
            imp.populations.iter().filter(|p| p.kind == Kind::Source).map(|p| p.nir.as_str()).collect();
        return Err(Failure::of(
            ErrorClass::NotYetSupported,
            NirError::Structure {
                reason: format!(
                    "the graph has {} Input nodes ({}); snnc's weights files and trainer take one spike source",
                    inputs.len(),
                    inputs.join(", ")
                ),
                help: "merge the inputs into one Input node".into(),
            },
        ));
    }
    let stem = args.file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "imported".into());
    let name = args
        .name
        .clone()
        .or(template.as_ref().map(|t| t.net.name.clone()))
        .unwrap_or_else(|| snnc_runtime::nir::import::identifier(&stem, &Default::default()));
    let version = file.version.clone().unwrap_or_else(|| "0.1 (no version)".into());
    let comment = format!("imported from {} (NIR {version})", args.file.display());
    let head = SpecHeader { comment: &comment, name: &name, dt, steps };
    let (text, spec_notes) = write_spec(&imp, &head, template.as_ref());
    notes.extend(spec_notes);

    let out_name = args.output.display().to_string();
    let src = Source { name: out_name.clone(), text: text.clone() };
    let net = snnc_compiler::check_source(&out_name, &text)
        .map_err(|diags| Failure::new(ErrorClass::Rejected, Report::new(diags).with_source_code(src.named())))?;
    let plan = Plan::new(&net).map_err(|e| Failure::of(ErrorClass::NotYetSupported, e))?;
    let mut weights = Vec::with_capacity(plan.projections.len());
    for p in &plan.projections {
        let group = &plan.groups[p.group];
        let q = imp.projections.iter().find(|q| format!("{}->{}", q.pre, q.post) == group.name).ok_or_else(|| {
            Failure::internal(format!("the imported spec has a projection {} the graph has not", group.name))
        })?;
        weights.push(q.weights[p.copy].clone());
    }
    fsio::write_output_file(&args.output, &inputs, args.force, text.as_bytes())?;
    fsio::write_output_file(&weights_out, &inputs, args.force, &weights_bytes(&plan, &weights))?;

    let template = template.map(|_| tpl_name);
    summary(&args, &imp, &net, &Context { template, version, weights_out, notes })
}

/// What the import's summary says besides the network.
struct Context {
    template: Option<String>,
    version: String,
    weights_out: PathBuf,
    notes: Vec<String>,
}

fn summary(args: &ImportArgs, imp: &Imported, net: &snnc_compiler::ValidNetwork, cx: &Context) -> CmdResult {
    let Context { template, version, weights_out, notes } = cx;
    let (dt, steps) = (net.time.dt, net.time.steps);
    let mut out = Out::new();
    out.line(format!(
        "imported {} (NIR {version}) as network {}: dt = {}, {} steps{}",
        args.file.display(),
        net.name,
        fmt_seconds(dt),
        steps,
        template.as_ref().map_or(String::new(), |t| format!(", with {t} as template"))
    ));
    out.line("populations (NIR node -> population):");
    for p in &imp.populations {
        let what = match p.kind {
            Kind::Source => "spike_source".to_string(),
            Kind::Lif { tau_mem, tau_syn, threshold } => {
                format!(
                    "lif  tau_mem {}, tau_syn {}, threshold {}",
                    fmt_seconds(decimal(tau_mem)),
                    fmt_seconds(decimal(tau_syn)),
                    decimal(threshold)
                )
            }
            Kind::Li { tau_mem, tau_syn } => {
                format!("li   tau_mem {}, tau_syn {}", fmt_seconds(decimal(tau_mem)), fmt_seconds(decimal(tau_syn)))
            }
        };
        out.line(format!("  {:<20} -> {:<16} {:>6}  {what}", p.nir, p.name, p.size));
    }
    out.line("projections:");
    for q in &imp.projections {
        let delays = match q.delays.as_slice() {
            [0] => String::new(),
            [d] => format!(", delay {d} steps"),
            ds => format!(", delay line {:?} steps", ds),
        };
        out.line(format!("  {} -> {}  {}{delays}", q.pre, q.post, count(q.weights.len() as u64, "matrix", "matrices")));
    }
    if !imp.renames.is_empty() {
        out.line("renamed (NIR node -> identifier):");
        for (a, b) in &imp.renames {
            out.line(format!("  {a} -> {b}"));
        }
    }
    for n in imp.notes.iter().chain(notes) {
        out.line(format!("note: {n}"));
    }
    if net.train.is_none() {
        out.line("note: no train block (give --template SPEC.snn to take one)");
    } else if let Some(t) = &net.train {
        let readout = &net.graph[t.readout];
        let fits = matches!((&readout.kind, t.loss), (PopulationKind::Li(_), l) if l.on_voltage())
            || matches!((&readout.kind, t.loss), (PopulationKind::Lif(_), LossSpec::FirstSpikeCrossEntropy { .. }));
        if !fits {
            out.line("note: the readout's kind does not fit the loss");
        }
    }
    out.line(format!("wrote {} and {}", args.output.display(), weights_out.display()));
    out.line(format!(
        "next: snnc check {0}; snnc train {0} --init-weights {1}",
        args.output.display(),
        weights_out.display()
    ));
    out.finish()
}
