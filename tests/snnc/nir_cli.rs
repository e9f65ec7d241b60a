//! `snnc export` and `snnc import` through the binary (`docs/nir.md`).
//!
//! - Round trips: a spec and its weights, exported and imported back, give
//!   the same checked network and bit-identical weights (the seed network
//!   after training, and `runtime/tests/runtime/support/temporal.snn` with delay
//!   lines, recurrence, a cycle and an `li` readout); the NIR data alone
//!   (without the spec the file carries) give the same populations and
//!   delays.
//! - Files the `nir` package wrote (`tests/fixtures/nir/`, made by its
//!   `make_fixtures.py`), by nir 1.0.8 and by the older releases nir 1.0
//!   still reads (0.1.0, 0.2.0, 1.0.0, 1.0.4): each imports to the weights
//!   `expected.json` lists (bit for bit), checks, places and trains; files of
//!   nir 0.0.5 and 0.0.6, which nir 1.0 cannot read, are refused naming the
//!   release.
//! - Files snnc writes load in `nir.read` with its type check, and have the
//!   HDF5 layout `nir.write` gives the same graph (variable-length UTF-8
//!   strings, scalar or `[N, 2]`; gzip arrays; no attributes), when a
//!   Python with `nir` and `h5py` is found (`python3`, else the venv
//!   `.ci/run` makes); without one the test prints `SKIPPED: ...`, and
//!   with `CI=true` it fails instead.
//! - Bad and unsupported files: each is a diagnostic (exit 1) that names the
//!   node, the parameter and the value, never a panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use snnc_runtime::h5io::H5Builder;

fn snnc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnc")).args(args).output().expect("snnc runs")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/nir")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs snnc and expects success; returns stdout.
fn ok(args: &[&str]) -> String {
    let out = snnc(args);
    assert!(
        out.status.success(),
        "snnc {}: exit {:?}\n{}{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn checked(path: &Path) -> snnc_compiler::ValidNetwork {
    let text = std::fs::read_to_string(path).unwrap();
    snnc_compiler::check_source(s(path), &text).unwrap_or_else(|e| panic!("{} does not check: {e:?}", path.display()))
}

/// Every tensor of a safetensors file: name -> (shape, raw little-endian bytes).
fn tensors(path: &Path) -> BTreeMap<String, (Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors().into_iter().map(|(name, t)| (name, (t.shape().to_vec(), t.data().to_vec()))).collect()
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

/// `examples/yinyang.snn` shrunk (16 hidden, 110 training samples) into `dir`.
fn small_yinyang(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join("examples/yinyang.snn")).unwrap();
    let text = text.replace("lif(120)", "lif(16)").replace(
        "train = 5000 @ seed 42, validation = 1000 @ seed 41, test = 1000 @ seed 40",
        "train = 110 @ seed 42, validation = 50 @ seed 41, test = 50 @ seed 40",
    );
    assert!(text.contains("lif(16)") && text.contains("110 @ seed 42"), "the example changed shape");
    let path = dir.join("yinyang.snn");
    std::fs::write(&path, text).unwrap();
    path
}

/// Exports `spec` with `weights` (None: its initial weights) and imports the
/// file back, with `extra` import flags; returns (nir, spec, weights) paths.
fn round_trip(dir: &Path, spec: &Path, weights: Option<&Path>, tag: &str, extra: &[&str]) -> [PathBuf; 3] {
    let nir = dir.join(format!("{tag}.nir"));
    let mut args = vec!["export", s(spec), "-o", s(&nir)];
    if let Some(w) = weights {
        args.extend(["--weights", s(w)]);
    }
    ok(&args);
    let back = dir.join(format!("{tag}_back.snn"));
    let back_w = dir.join(format!("{tag}_back.safetensors"));
    let mut args = vec!["import", s(&nir), "-o", s(&back)];
    args.extend(extra);
    ok(&args);
    [nir, back, back_w]
}

#[test]
fn export_then_import_gives_the_same_spec_and_bit_identical_weights() {
    let dir = tempfile::tempdir().unwrap();
    // The seed network, and the whole model class (delay lines, recurrence
    // with a delay, a cycle, an li readout), each after an epoch of training
    // (weights no initialiser draws), and that network with two populations
    // stepped by `integration = exact` (which NIR has no field for: the
    // embedded spec or the template carries it).
    let yinyang = small_yinyang(dir.path());
    let temporal = root().join("runtime/tests/runtime/support/temporal.snn");
    let text = std::fs::read_to_string(&temporal).unwrap();
    let exact_text = text
        .replacen("population h2  = lif(8)", "population h2  = lif(8) { integration = exact }", 1)
        .replacen("population out = li(3)", "population out = li(3) { integration = exact }", 1);
    assert_eq!(exact_text.matches("integration = exact").count(), 2, "temporal.snn changed");
    let temporal_exact = dir.path().join("temporal_exact.snn");
    std::fs::write(&temporal_exact, exact_text).unwrap();
    let mut trained = Vec::new();
    for (spec, tag) in [(&yinyang, "yinyang"), (&temporal, "temporal"), (&temporal_exact, "temporal_exact")] {
        let run = dir.path().join(format!("run_{tag}"));
        ok(&["train", s(spec), "--epochs", "1", "--backend", "reference", "--out", s(&run), "--json"]);
        trained.push((spec, run.join("weights.safetensors"), tag));
    }

    for (spec, weights, tag) in &trained {
        let (spec, weights, tag) = (*spec, weights, *tag);
        let original = checked(spec);
        // The spec the file carries; then the original given as the template.
        let template = ["--template", s(spec)];
        for (how, flags) in [("embedded", &[][..]), ("template", &template[..])] {
            let [_, back, back_w] = round_trip(dir.path(), spec, Some(weights), &format!("{tag}_{how}"), flags);
            let net = checked(&back);
            assert!(
                net.same_as(&original),
                "{tag} ({how}): the imported spec differs:\n{}",
                std::fs::read_to_string(&back).unwrap()
            );
            let (a, b) = (tensors(weights), tensors(&back_w));
            assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{tag}: tensor names");
            for (name, (shape, data)) in &a {
                assert_eq!(&b[name].0, shape, "{tag}: {name} shape");
                assert!(&b[name].1 == data, "{tag}: {name} differs in its bits");
            }
        }
        // From the NIR data alone: the same populations (kinds, sizes, time
        // constants, thresholds; every one stepped by the default scheme)
        // and delays in steps.
        let original = original.with_integration(snnc_compiler::network::Integration::default());
        let steps = original.time.steps.to_string();
        let flags = ["--ignore-embedded", "--steps", &steps];
        let [_, back, back_w] = round_trip(dir.path(), spec, Some(weights), &format!("{tag}_data"), &flags);
        let net = checked(&back);
        let pops = |n: &snnc_compiler::ValidNetwork| {
            n.populations()
                .map(|(_, p)| (p.name.clone(), p.size, p.lif().copied(), p.li().copied()))
                .collect::<Vec<_>>()
        };
        assert_eq!(pops(&net), pops(&original), "{tag}: populations from the NIR data alone");
        let delays = |n: &snnc_compiler::ValidNetwork| {
            let mut d: Vec<_> = n
                .projections()
                .map(|(_, a, b, p)| (n.graph[a].name.clone(), n.graph[b].name.clone(), p.delay_steps(n.time.dt)))
                .collect();
            d.sort();
            d
        };
        assert_eq!(delays(&net), delays(&original), "{tag}: delays from the NIR data alone");
        for (name, (_, data)) in tensors(weights) {
            assert!(tensors(&back_w)[&name].1 == data, "{tag}: {name} from the NIR data alone differs in its bits");
        }
    }
}

/// One NIR fixture's expectations (`expected.json`).
struct Expected {
    version: String,
    populations: Vec<serde_json::Value>,
    projections: Vec<serde_json::Value>,
    readouts: Vec<String>,
}

fn expected() -> BTreeMap<String, Expected> {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["files"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, f)| {
            let list = |k: &str| f[k].as_array().unwrap().clone();
            let e = Expected {
                // nir 0.1 wrote no version.
                version: f["version"].as_str().unwrap_or("0.1 (no version)").to_string(),
                populations: list("populations"),
                projections: list("projections"),
                readouts: list("readouts").iter().map(|r| r.as_str().unwrap().to_string()).collect(),
            };
            (name.clone(), e)
        })
        .collect()
}

/// The template of a fixture: a spiking or a leaky-integrator readout.
fn template_for(e: &Expected) -> PathBuf {
    let readout = e.populations.iter().find(|p| p["name"] == e.readouts[0].as_str()).unwrap();
    fixtures().join(if readout["kind"] == "li" { "voltage.snn" } else { "first_spike.snn" })
}

#[test]
fn files_the_nir_package_wrote_import_check_place_and_train() {
    let dir = tempfile::tempdir().unwrap();
    let all = expected();
    assert_eq!(
        all.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "delay.nir",
            "feedforward.nir",
            "li_readout.nir",
            "old_v0.1.0.nir",
            "old_v0.2.0.nir",
            "old_v1.0.0.nir",
            "old_v1.0.4.nir",
            "recurrent.nir"
        ]
    );
    for (file, e) in &all {
        let stem = file.trim_end_matches(".nir");
        let spec = dir.path().join(format!("{stem}.snn"));
        let weights = dir.path().join(format!("{stem}.safetensors"));
        let template = template_for(e);
        let summary = ok(&["import", s(&fixtures().join(file)), "-o", s(&spec), "--template", s(&template)]);
        assert!(summary.contains(&format!("(NIR {})", e.version)), "{file}: {summary}");

        // The network: populations in order, kinds, sizes, parameters as stored.
        let net = checked(&spec);
        let pops: Vec<_> = net.populations().map(|(_, p)| p).collect();
        assert_eq!(pops.len(), e.populations.len(), "{file}");
        for (p, want) in pops.iter().zip(&e.populations) {
            assert_eq!(p.name, want["name"].as_str().unwrap(), "{file}");
            assert_eq!(u64::from(p.size), want["size"].as_u64().unwrap(), "{file}: {}", p.name);
            let f32_of = |k: &str| want[k].as_f64().unwrap() as f32;
            match want["kind"].as_str().unwrap() {
                "spike_source" => assert!(p.spike_source().is_some(), "{file}: {}", p.name),
                "lif" => {
                    let l = p.lif().unwrap_or_else(|| panic!("{file}: {} is not lif", p.name));
                    assert_eq!(l.tau_mem as f32, f32_of("tau_mem"), "{file}: {}", p.name);
                    assert_eq!(l.tau_syn as f32, f32_of("tau_syn"), "{file}: {}", p.name);
                    assert_eq!(l.threshold as f32, f32_of("threshold"), "{file}: {}", p.name);
                }
                "li" => {
                    let l = p.li().unwrap_or_else(|| panic!("{file}: {} is not li", p.name));
                    assert_eq!(l.tau_mem as f32, f32_of("tau_mem"), "{file}: {}", p.name);
                    assert_eq!(l.tau_syn as f32, f32_of("tau_syn"), "{file}: {}", p.name);
                }
                k => panic!("{k}"),
            }
        }
        let train = net.train.as_ref().unwrap();
        assert_eq!(net.graph[train.readout].name, e.readouts[0], "{file}: the readout feeds the Output");

        // The weights, bit for bit: one tensor per projection ([copies, post, pre] for a delay line).
        let t = tensors(&weights);
        assert_eq!(t.len(), e.projections.len(), "{file}");
        for q in &e.projections {
            let name = format!("{}->{}", q["pre"].as_str().unwrap(), q["post"].as_str().unwrap());
            let proj = net
                .projections()
                .find(|(_, a, b, _)| format!("{}->{}", net.graph[*a].name, net.graph[*b].name) == name)
                .unwrap_or_else(|| panic!("{file}: no projection {name}"));
            let want_delays: Vec<u32> =
                q["delays"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as u32).collect();
            assert_eq!(proj.3.delay_steps(net.time.dt), want_delays, "{file}: {name} delays");
            let want: Vec<u32> = q["weights"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|m| m.as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap().clone()))
                .map(|v| (v.as_f64().unwrap() as f32).to_bits())
                .collect();
            let got: Vec<u32> = f32s(&t[&name].1).iter().map(|v| v.to_bits()).collect();
            assert_eq!(got.len(), want.len(), "{file}: {name} size");
            assert!(got == want, "{file}: {name} differs from what the nir package's values give");
        }

        // check, place, train (two epochs: finite losses, and the second lower).
        ok(&["check", s(&spec)]);
        let placed = ok(&["place", s(&spec), "--summary"]);
        assert!(placed.contains("chips"), "{file}: {placed}");
        let run = dir.path().join(format!("run_{stem}"));
        let out = ok(&["train", s(&spec), "--init-weights", s(&weights), "--out", s(&run), "--json"]);
        let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let loss = |k: usize| lines[k]["train_loss"].as_f64().unwrap();
        assert!(loss(0).is_finite() && loss(1).is_finite(), "{file}: {out}");
        assert!(loss(1) < loss(0), "{file}: the loss did not fall: {} then {}", loss(0), loss(1));
        eprintln!("{file}: train loss {:.4} -> {:.4}", loss(0), loss(1));
    }
}

/// A Python that imports `nir`, `h5py` and `numpy`: `python3` on the PATH,
/// else the venv `.ci/run` makes. None (and a `SKIPPED` line) without one;
/// with `CI=true` that is a failure.
fn python_with_nir() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    let mut candidates = vec![PathBuf::from("python3")];
    candidates.extend(cache.map(|c| c.join("snnc-ci-python/bin/python3")));
    for py in &candidates {
        if Command::new(py).args(["-c", "import nir, h5py, numpy"]).output().is_ok_and(|o| o.status.success()) {
            return Some(py.clone());
        }
    }
    let reason = format!(
        "no Python with nir, h5py and numpy (tried {})",
        candidates.iter().map(|c| c.display().to_string()).collect::<Vec<_>>().join(", ")
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{reason}; CI must run the nir.read check (.ci/run installs them)");
    }
    eprintln!("SKIPPED: {reason}");
    None
}

/// `nir.read` (which type-checks the graph) of every file; prints each
/// graph as JSON: version, node types, parameters, edges, metadata keys.
const NIR_READ: &str = r#"
import json, sys
import nir, numpy as np

def dump(g):
    nodes = {}
    for name, n in g.nodes.items():
        if isinstance(n, nir.NIRGraph):
            nodes[name] = {"type": "NIRGraph", "graph": dump(n)}
            continue
        params = {}
        for k, v in vars(n).items():
            if isinstance(v, np.ndarray):
                params[k] = {"dtype": str(v.dtype), "shape": list(v.shape), "data": v.reshape(-1).tolist()}
        nodes[name] = {"type": type(n).__name__, "params": params}
    return {"nodes": nodes, "edges": [list(e) for e in g.edges], "metadata": sorted(g.metadata)}

out = {}
for path in sys.argv[1:]:
    g = nir.read(path)
    g.infer_types()
    assert g.check_types()
    out[path] = {"version": nir.serialization.read_version(path), "graph": dump(g)}
print(json.dumps(out))
"#;

/// The NIR files snnc writes, with the weights each was exported with: the
/// seed network and the whole model class (`temporal.snn`), and each fixture
/// imported and exported again.
fn files_snnc_writes(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut files: Vec<(PathBuf, PathBuf)> = Vec::new();
    for spec in [small_yinyang(dir), root().join("runtime/tests/runtime/support/temporal.snn")] {
        let stem = spec.file_stem().unwrap().to_str().unwrap().to_string();
        let [nir, back, back_w] = round_trip(dir, &spec, None, &stem, &[]);
        files.push((nir, back_w));
        assert!(back.exists());
    }
    for (file, e) in expected() {
        let stem = file.trim_end_matches(".nir");
        let spec = dir.join(format!("{stem}.snn"));
        ok(&["import", s(&fixtures().join(&file)), "-o", s(&spec), "--template", s(&template_for(&e))]);
        let weights = dir.join(format!("{stem}.safetensors"));
        let nir = dir.join(format!("{stem}_again.nir"));
        ok(&["export", s(&spec), "--weights", s(&weights), "-o", s(&nir)]);
        files.push((nir, weights));
    }
    files
}

#[test]
fn files_snnc_writes_load_in_nir_read() {
    let Some(python) = python_with_nir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let files = files_snnc_writes(dir.path());
    let mut cmd = Command::new(&python);
    cmd.arg("-c").arg(NIR_READ);
    for (nir, _) in &files {
        cmd.arg(nir);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "nir.read refused a file snnc wrote:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (nir, weights) in &files {
        let f = &json[s(nir)];
        assert_eq!(f["version"], "1.0.8", "{}", nir.display());
        let g = &f["graph"];
        assert!(g["metadata"].as_array().unwrap().iter().any(|k| k == "snnc_spec"), "{}", nir.display());
        // Every Linear holds the weights of one projection copy, bit for bit;
        // every neuron has r = 1, v_leak = 0, v_reset = 0 and w_in = tau_syn.
        let mut linear = Vec::new();
        for (name, node) in g["nodes"].as_object().unwrap() {
            let p = &node["params"];
            let data = |k: &str| -> Vec<f64> {
                p[k]["data"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{name}: no {k}"))
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect()
            };
            match node["type"].as_str().unwrap() {
                "Linear" => {
                    assert_eq!(p["weight"]["dtype"], "float32", "{name}");
                    let bits: Vec<u32> = data("weight").iter().map(|&v| (v as f32).to_bits()).collect();
                    linear.push(bits);
                }
                "CubaLIF" | "CubaLI" => {
                    assert_eq!(data("w_in"), data("tau_syn"), "{name}: w_in = tau_syn");
                    assert!(data("r").iter().all(|&r| r == 1.0) && data("v_leak").iter().all(|&v| v == 0.0), "{name}");
                    if node["type"] == "CubaLIF" {
                        assert!(data("v_reset").iter().all(|&v| v == 0.0), "{name}");
                    }
                }
                "Input" | "Output" | "Delay" => {}
                t => panic!("{name}: snnc wrote a {t}"),
            }
        }
        // The weights file's matrices (a delay line's copies one by one) are the Linears'.
        let mut want: Vec<Vec<u32>> = Vec::new();
        for (_, (shape, data)) in tensors(weights) {
            let per = shape[shape.len() - 2] * shape[shape.len() - 1];
            for m in f32s(&data).chunks(per) {
                want.push(m.iter().map(|v| v.to_bits()).collect());
            }
        }
        linear.sort();
        want.sort();
        assert!(linear == want, "{}: the Linear weights are not the weights file's", nir.display());
    }
    eprintln!("nir.read loaded and type-checked {} files snnc wrote", files.len());
}

/// For each file: the HDF5 layout of every object (dataset shapes, dtype
/// kind and size, string encoding and whether variable-length, compression
/// filters, attributes) as h5py reports it, of the file itself and of the
/// file `nir.write` makes of the graph `nir.read` gives (the same graph,
/// written by the package).
const NIR_LAYOUT: &str = r#"
import json, os, sys, tempfile
import h5py, nir

def layout(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            attrs = sorted(obj.attrs)
            if isinstance(obj, h5py.Dataset):
                sd = h5py.check_string_dtype(obj.dtype)
                out[name] = {
                    "shape": list(obj.shape),
                    "kind": obj.dtype.kind,
                    "itemsize": obj.dtype.itemsize,
                    "string": None if sd is None else {"encoding": sd.encoding, "vlen": sd.length is None},
                    "compression": obj.compression,
                    "filters": sorted(obj._filters),
                    "attrs": attrs,
                }
            else:
                out[name + "/"] = {"attrs": attrs}
        f.visititems(visit)
        out["/"] = {"attrs": sorted(f.attrs), "superblock": f.id.get_create_plist().get_version()[0]}
    return out

out = {}
with tempfile.TemporaryDirectory() as tmp:
    for i, path in enumerate(sys.argv[1:]):
        g = nir.read(path)
        g.infer_types()
        assert g.check_types()
        ref = os.path.join(tmp, f"{i}.nir")
        nir.write(ref, g)
        out[path] = {"snnc": layout(path), "nir": layout(ref)}
print(json.dumps(out))
"#;

#[test]
fn files_snnc_writes_have_the_layout_nir_write_gives() {
    let Some(python) = python_with_nir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let files = files_snnc_writes(dir.path());
    let mut cmd = Command::new(&python);
    cmd.arg("-c").arg(NIR_LAYOUT);
    for (nir, _) in &files {
        cmd.arg(nir);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "h5py or nir refused a file snnc wrote:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let vlen_utf8 = serde_json::json!({"encoding": "utf-8", "vlen": true});
    for (nir, _) in &files {
        let (ours, theirs) = (&json[s(nir)]["snnc"], &json[s(nir)]["nir"]);
        let ours_map = ours.as_object().unwrap();
        // Every string is a variable-length UTF-8 string: `version` and every
        // `type` scalars, `edges` [N, 2].
        let mut strings = 0;
        for (path, l) in ours_map {
            if l.get("shape").is_none() {
                continue;
            }
            let name = path.rsplit('/').next().unwrap();
            if ["version", "type", "edges"].contains(&name) || path.contains("metadata/") {
                assert_eq!(l["string"], vlen_utf8, "{}: {path}: {l}", nir.display());
                assert_eq!(l["kind"], "O", "{}: {path}: {l}", nir.display());
                strings += 1;
                let rank = l["shape"].as_array().unwrap().len();
                if name == "edges" {
                    assert!(rank == 2 && l["shape"][1] == 2, "{}: {path}: {l}", nir.display());
                } else {
                    assert_eq!(rank, 0, "{}: {path}: {l}", nir.display());
                }
            } else {
                assert_eq!(l["string"], serde_json::Value::Null, "{}: {path}: {l}", nir.display());
                assert_eq!(l["compression"], "gzip", "{}: {path}: {l}", nir.display());
            }
            assert_eq!(l["attrs"], serde_json::json!([]), "{}: {path}: no attributes", nir.display());
        }
        assert!(strings >= 4 && ours_map.contains_key("version"), "{}: {ours}", nir.display());
        // And the whole layout is the one nir.write gives the same graph.
        for (path, l) in ours_map {
            assert_eq!(Some(l), theirs.get(path), "{}: `{path}` differs from nir.write's", nir.display());
        }
        assert_eq!(ours, theirs, "{}: nir.write's file has objects snnc's has not", nir.display());
    }
    eprintln!("{} files snnc wrote have nir.write's layout (variable-length UTF-8 strings)", files.len());
}

/// A NIR file as a test writes it: datasets by path.
#[derive(Clone)]
enum D {
    Str(&'static str),
    F32(Vec<usize>, Vec<f32>),
    I64(Vec<usize>, Vec<i64>),
    Edges(Vec<(&'static str, &'static str)>),
}

#[derive(Clone)]
struct Nir(BTreeMap<String, D>);

impl Nir {
    /// input(3) -> fc Linear [4, 3] -> lif CubaLIF(4) -> output, nir 1.0.8's layout.
    fn feedforward() -> Nir {
        let mut m = BTreeMap::new();
        let v = |x: f32| D::F32(vec![4], vec![x; 4]);
        m.insert("version".into(), D::Str("1.0.8"));
        m.insert("node/type".into(), D::Str("NIRGraph"));
        for (k, d) in [
            ("input/type", D::Str("Input")),
            ("input/shape", D::I64(vec![1], vec![3])),
            ("fc/type", D::Str("Linear")),
            ("fc/weight", D::F32(vec![4, 3], (0..12).map(|i| i as f32 * 1e-3).collect())),
            ("lif/type", D::Str("CubaLIF")),
            ("lif/tau_syn", v(5e-3)),
            ("lif/tau_mem", v(2e-2)),
            ("lif/r", v(1.0)),
            ("lif/v_leak", v(0.0)),
            ("lif/v_threshold", v(1.0)),
            ("lif/v_reset", v(0.0)),
            ("lif/w_in", v(1.0)),
            ("output/type", D::Str("Output")),
            ("output/shape", D::I64(vec![1], vec![4])),
        ] {
            m.insert(format!("node/nodes/{k}"), d);
        }
        m.insert("node/edges".into(), D::Edges(vec![("input", "fc"), ("fc", "lif"), ("lif", "output")]));
        Nir(m)
    }

    fn set(mut self, path: &str, d: D) -> Nir {
        self.0.insert(path.into(), d);
        self
    }

    fn node(self, path: &str, d: D) -> Nir {
        self.set(&format!("node/nodes/{path}"), d)
    }

    fn remove(mut self, path: &str) -> Nir {
        assert!(self.0.remove(path).is_some() || self.0.remove(&format!("node/nodes/{path}")).is_some(), "{path}");
        self
    }

    fn edges(self, edges: &[(&'static str, &'static str)]) -> Nir {
        self.set("node/edges", D::Edges(edges.to_vec()))
    }

    /// The graph as the one node `name` of a root graph without edges.
    fn wrapped(self, name: &str) -> Nir {
        let mut m: BTreeMap<String, D> = self
            .0
            .into_iter()
            .map(|(k, d)| match k.strip_prefix("node/") {
                Some(rest) => (format!("node/nodes/{name}/{rest}"), d),
                None => (k, d),
            })
            .collect();
        m.insert("node/type".into(), D::Str("NIRGraph"));
        m.insert("node/edges".into(), D::Edges(vec![]));
        m.insert(format!("node/nodes/{name}/type"), D::Str("NIRGraph"));
        Nir(m)
    }

    fn write(&self, path: &Path) {
        let mut b = H5Builder::new();
        for (k, d) in &self.0 {
            match d {
                D::Str(v) => b.string(k, v),
                D::F32(shape, data) => b.f32_array(k, shape, data),
                D::I64(shape, data) => b.i64_array(k, shape, data),
                D::Edges(e) => {
                    let flat: Vec<&str> = e.iter().flat_map(|(a, c)| [*a, *c]).collect();
                    b.strings(k, &[e.len(), 2], &flat)
                }
            };
        }
        b.write(path).unwrap();
    }
}

/// Text without white space and the renderer's margin (`│`), so that a
/// phrase is found wherever the renderer wrapped it.
fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace() && *c != '│').collect()
}

/// Imports `file`; expects exit `code` and a diagnostic with `diag` whose
/// text holds every one of `says`.
fn refused(dir: &Path, case: &str, file: &Path, code: i32, diag: &str, says: &[&str]) {
    let spec = dir.join(format!("{case}.snn"));
    let out = snnc(&["import", s(file), "-o", s(&spec), "--steps", "20"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{case}: exit status\n{stderr}");
    assert!(stderr.contains(diag), "{case}: wants {diag}\n{stderr}");
    for w in says {
        assert!(squash(&stderr).contains(&squash(w)), "{case}: the diagnostic does not say {w:?}\n{stderr}");
    }
    assert!(!spec.exists(), "{case}: a refused import wrote {}", spec.display());
}

/// nir 0.0.5 and 0.0.6 files (`make_fixtures.py` checks that nir 1.0's
/// `nir.read` fails on them too): a diagnostic that names the release.
#[test]
fn formats_the_nir_package_no_longer_reads_are_refused_naming_the_release() {
    let dir = tempfile::tempdir().unwrap();
    for (file, says) in [
        ("old_v0.0.5.nir", &["nir 0.0.5 or older", "`nodes`, `edges`", "nir.write"][..]),
        ("old_v0.0.6.nir", &["nir 0.0.6", "pairs of node numbers", "nir.write"][..]),
    ] {
        refused(dir.path(), file, &fixtures().join(file), 1, "snn::nir::too_old", says);
    }
}

#[test]
fn the_test_graph_imports_flat_and_wrapped_in_a_nested_graph() {
    let dir = tempfile::tempdir().unwrap();
    for (tag, file, names) in [
        ("flat", Nir::feedforward(), ["input", "lif"]),
        ("wrapped", Nir::feedforward().wrapped("net"), ["net_input", "net_lif"]),
    ] {
        let path = dir.path().join(format!("{tag}.nir"));
        file.write(&path);
        let spec = dir.path().join(format!("{tag}.snn"));
        ok(&["import", s(&path), "-o", s(&spec), "--steps", "20"]);
        let net = checked(&spec);
        assert_eq!(net.populations().map(|(_, p)| p.name.as_str()).collect::<Vec<_>>(), names, "{tag}");
        let w = tensors(&dir.path().join(format!("{tag}.safetensors")));
        let name = format!("{}->{}", names[0], names[1]);
        // 0.001 * i in NIR's units at tau_syn = 5 ms, r = w_in = 1: jumps of W (r w_in) / tau_syn.
        let row = (1.0 * 1.0) / f64::from(5e-3f32);
        let want: Vec<f32> = (0..12).map(|i| (f64::from(i as f32 * 1e-3) * row) as f32).collect();
        assert_eq!(f32s(&w[&name].1), want, "{tag}");
    }
}

#[test]
fn bad_files_are_diagnostics_that_name_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = Nir::feedforward;
    let nan_weight = {
        let mut w: Vec<f32> = (0..12).map(|i| i as f32 * 1e-3).collect();
        w[4] = f32::NAN;
        D::F32(vec![4, 3], w)
    };
    let cases: Vec<(&str, Nir, &str, &[&str])> = vec![
        (
            "missing_dataset",
            good().remove("lif/tau_mem"),
            "snn::nir::missing_parameter",
            &["node `lif` (CubaLIF) has no parameter `tau_mem`", "node/nodes/lif/tau_mem"],
        ),
        ("missing_type", good().remove("fc/type"), "snn::nir::missing_type", &["node `fc`", "node/nodes/fc/type"]),
        (
            "missing_edges",
            good().remove("node/edges"),
            "snn::nir::missing_parameter",
            &["the root graph", "node/edges"],
        ),
        (
            "mismatched_shapes",
            good().node("fc/weight", D::F32(vec![4, 2], vec![0.0; 8])),
            "snn::nir::shape_mismatch",
            &["`input`", "`fc`", "gives 3 values", "takes 2"],
        ),
        (
            "mismatched_parameter_lengths",
            good().node("lif/tau_syn", D::F32(vec![5], vec![5e-3; 5])),
            "snn::nir::bad_parameter",
            &["`lif`", "tau_syn", "5 values"],
        ),
        (
            "edge_to_a_missing_node",
            good().edges(&[("input", "fc"), ("fc", "lif"), ("lif", "ghost"), ("lif", "output")]),
            "snn::nir::missing_node",
            &["`ghost`", "`lif` -> `ghost`"],
        ),
        (
            "unknown_node_type",
            good().node("lif/type", D::Str("Spiky")),
            "snn::nir::unknown_node_type",
            &["`lif`", "Spiky"],
        ),
        (
            "cycle_without_a_linear",
            good().node("gain/type", D::Str("Scale")).node("gain/scale", D::F32(vec![4], vec![0.5; 4])).edges(&[
                ("input", "fc"),
                ("fc", "lif"),
                ("lif", "gain"),
                ("gain", "lif"),
                ("lif", "output"),
            ]),
            "snn::nir::cycle",
            &["`gain` -> `lif` -> `gain`", "Linear"],
        ),
        (
            "nan_weights",
            good().node("fc/weight", nan_weight),
            "snn::nir::bad_parameter",
            &["`fc`", "weight", "NaN", "[1, 1]"],
        ),
        (
            "nan_time_constant",
            good().node("lif/tau_mem", D::F32(vec![4], vec![2e-2, f32::NAN, 2e-2, 2e-2])),
            "snn::nir::bad_parameter",
            &["`lif`", "tau_mem", "NaN", "[1]"],
        ),
        (
            "infinite_scale",
            good()
                .node("gain/type", D::Str("Scale"))
                .node("gain/scale", D::F32(vec![3], vec![1.0, f32::INFINITY, 1.0]))
                .edges(&[("input", "gain"), ("gain", "fc"), ("fc", "lif"), ("lif", "output")]),
            "snn::nir::bad_parameter",
            &["`gain`", "scale", "inf", "[1]"],
        ),
        (
            "edges_not_pairs",
            good().set("node/edges", D::F32(vec![2], vec![0.0, 1.0])),
            "snn::nir::bad_parameter",
            &["edges"],
        ),
        ("newer_version", good().set("version", D::Str("2.0.0")), "snn::nir::version", &["2.0.0"]),
        ("no_graph", good().set("node/type", D::Str("Linear")), "snn::nir::not_nir", &["Linear"]),
    ];
    for (case, file, diag, says) in cases {
        let path = d.join(format!("{case}.nir"));
        file.write(&path);
        refused(d, case, &path, 1, diag, says);
    }

    // Not HDF5 at all, and a NIR file cut short.
    let text = d.join("text.nir");
    std::fs::write(&text, "version = 1.0\n").unwrap();
    refused(d, "not_hdf5", &text, 1, "snn::h5::not_hdf5", &["text.nir"]);
    let whole = d.join("whole.nir");
    good().write(&whole);
    let bytes = std::fs::read(&whole).unwrap();
    for cut in [64, bytes.len() / 3, bytes.len() / 2, bytes.len() - 100] {
        let part = d.join(format!("cut_{cut}.nir"));
        std::fs::write(&part, &bytes[..cut]).unwrap();
        let out = snnc(&["import", s(&part), "-o", s(&d.join("cut.snn")), "--steps", "20"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "cut at {cut}:\n{stderr}");
        assert!(stderr.contains("snn::h5::") && stderr.contains(&format!("cut_{cut}.nir")), "cut at {cut}:\n{stderr}");
    }
}

#[test]
fn what_snnc_cannot_express_is_refused_naming_node_parameter_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = Nir::feedforward;
    let v4 = |x: [f32; 4]| D::F32(vec![4], x.to_vec());
    let cases: Vec<(&str, Nir, &str, &[&str])> =
        vec![
            (
                "convolution",
                good().node("fc/type", D::Str("Conv2d")),
                "snn::nir::unsupported",
                &["`fc`", "Conv2d", "convolution"],
            ),
            (
                "v_leak",
                good().node("lif/v_leak", v4([0.0, 0.0, 0.25, 0.0])),
                "snn::nir::unsupported_value",
                &["`lif`", "v_leak", "0.25"],
            ),
            (
                "v_reset",
                good().node("lif/v_reset", v4([-0.5; 4])),
                "snn::nir::unsupported_value",
                &["`lif`", "v_reset", "-0.5"],
            ),
            (
                "per_neuron_tau_mem",
                good().node("lif/tau_mem", v4([2e-2, 2e-2, 3e-2, 2e-2])),
                "snn::nir::unsupported_value",
                &["`lif`", "tau_mem", "0.03", "[2]"],
            ),
            (
                "per_neuron_threshold",
                good().node("lif/v_threshold", v4([1.0, 1.5, 1.0, 1.0])),
                "snn::nir::unsupported_value",
                &["`lif`", "v_threshold", "1.5", "[1]"],
            ),
            (
                "equal_time_constants",
                good().node("lif/tau_mem", v4([5e-3; 4])),
                "snn::nir::unsupported_value",
                &["`lif`", "tau_mem", "0.005"],
            ),
            (
                "negative_threshold",
                good().node("lif/v_threshold", v4([-1.0; 4])),
                "snn::nir::unsupported_value",
                &["`lif`", "v_threshold", "-1"],
            ),
            (
                "lif_without_synapse",
                good()
                    .remove("lif/tau_syn")
                    .remove("lif/tau_mem")
                    .remove("lif/w_in")
                    .node("lif/type", D::Str("LIF"))
                    .node("lif/tau", v4([2e-2; 4])),
                "snn::nir::unsupported",
                &["`lif`", "LIF", "no synaptic current"],
            ),
            (
                "integrate_and_fire",
                good()
                    .remove("lif/tau_syn")
                    .remove("lif/tau_mem")
                    .remove("lif/w_in")
                    .remove("lif/v_leak")
                    .node("lif/type", D::Str("IF")),
                "snn::nir::unsupported",
                &["`lif`", "IF", "never leaks"],
            ),
            (
                "bias",
                good().node("fc/type", D::Str("Affine")).node("fc/bias", v4([0.0, 0.0, 0.0, 0.125])),
                "snn::nir::unsupported_value",
                &["`fc`", "bias", "0.125", "[3]"],
            ),
            (
                "delay_off_the_grid",
                good()
                    .node("wait/type", D::Str("Delay"))
                    .node("wait/delay", D::F32(vec![3], vec![1.5e-3; 3]))
                    .edges(&[("input", "wait"), ("wait", "fc"), ("fc", "lif"), ("lif", "output")]),
                "snn::nir::unsupported_value",
                &["node `wait`: parameter `delay` = 0.0015 s is 1.500 steps of dt = 0.001 s", "--dt 0.75 ms"],
            ),
            (
                "delay_per_input",
                good()
                    .node("wait/type", D::Str("Delay"))
                    .node("wait/delay", D::F32(vec![3], vec![1e-3, 2e-3, 1e-3]))
                    .edges(&[("input", "wait"), ("wait", "fc"), ("fc", "lif"), ("lif", "output")]),
                "snn::nir::unsupported_value",
                &["`wait`", "delay", "0.002", "[1]", "input to input"],
            ),
            (
                "weights_in_series",
                good()
                    .node("fc2/type", D::Str("Linear"))
                    .node("fc2/weight", D::F32(vec![4, 4], vec![0.0; 16]))
                    .edges(&[("input", "fc"), ("fc", "fc2"), ("fc2", "lif"), ("lif", "output")]),
                "snn::nir::unsupported",
                &["`fc2`", "two weight matrices"],
            ),
        ];
    for (case, file, diag, says) in cases {
        let path = d.join(format!("{case}.nir"));
        file.write(&path);
        refused(d, case, &path, 1, diag, says);
    }
}

#[test]
fn help_documents_export_and_import() {
    let top = ok(&["--help"]);
    assert!(top.contains("export") && top.contains("import"), "{top}");
    let export = ok(&["export", "--help"]);
    for w in ["--weights", "-o, --output", "NIR", "docs/nir.md"] {
        assert!(export.contains(w), "snnc export --help lacks {w}:\n{export}");
    }
    let import = ok(&["import", "--help"]);
    for w in ["--template", "--dt", "--steps", "--weights", "docs/nir.md"] {
        assert!(import.contains(w), "snnc import --help lacks {w}:\n{import}");
    }
}
