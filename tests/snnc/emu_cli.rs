//! `snnc build`, `snnc run` and `snnc train --backend emulator` through the
//! real binary: a deterministic program directory, a refused stale build,
//! the kernel IR on stdout, and an emulated epoch equal to the reference's.

use crate::cli_check::snnc;

fn ok(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn build_writes_the_same_program_twice_and_run_refuses_an_edited_one() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let stdout = ok(&snnc(&["build", "examples/yinyang.snn", "-o", a.to_str().unwrap()]));
    assert!(
        stdout.starts_with("built yinyang: 89 PEs (22 batch copies of 4 PEs, 1 optimiser PE) on 1 chip, 5 kernels"),
        "{stdout}"
    );
    ok(&snnc(&["build", "examples/yinyang.snn", "-o", b.to_str().unwrap()]));
    for f in ["spec.snn", "program.yaml", "data.safetensors", "kernels/layer_hidden.kir", "kernels/optimiser_0.kir"] {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f}");
    }
    // The manifest names every PE's place and kernel; the data holds its buffers.
    let yaml = std::fs::read_to_string(a.join("program.yaml")).unwrap();
    assert!(yaml.starts_with("# written by snnc: the manifest of program yinyang\nformat: snnc-program-3\n"), "{yaml}");
    assert_eq!(yaml.matches("\n- slice: ").count(), 89, "a core entry per PE");
    // An edited data file is refused too.
    let data = std::fs::read(b.join("data.safetensors")).unwrap();
    let mut edited = data.clone();
    *edited.last_mut().unwrap() ^= 1;
    std::fs::write(b.join("data.safetensors"), edited).unwrap();
    let out = snnc(&["run", b.to_str().unwrap(), "--epochs", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("data.safetensors differs from what `snnc build` makes"));
    let kir = a.join("kernels/loss.kir");
    let text = std::fs::read_to_string(&kir).unwrap();
    std::fs::write(&kir, text.replace("1.5", "2.5")).unwrap();
    let out = snnc(&["run", a.to_str().unwrap(), "--epochs", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loss.kir differs from what `snnc build` makes"));
}

#[test]
fn emit_kernel_ir_prints_every_template() {
    let stdout = ok(&snnc(&["build", "examples/deep.snn", "--emit", "kernel-ir"]));
    let kernels: Vec<&str> =
        stdout.lines().filter(|l| l.starts_with("kernel ")).map(|l| l.split(' ').nth(1).unwrap()).collect();
    assert_eq!(kernels, ["input_input", "layer_h1", "layer_h2", "layer_h3", "layer_output", "loss", "optimiser_0"]);
}

#[test]
fn an_emulated_epoch_equals_the_reference_epoch() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut lines = Vec::new();
    for backend in ["emulator", "reference"] {
        let dir = tmp.path().join(backend);
        let out = ok(&snnc(&[
            "train",
            "examples/yinyang.snn",
            "--backend",
            backend,
            "--epochs",
            "1",
            "--json",
            "--out",
            dir.to_str().unwrap(),
        ]));
        let mut v: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        for x in &mut v {
            x.as_object_mut().unwrap().retain(|k, _| k != "seconds" && k != "run_dir" && k != "emulator");
        }
        lines.push(v);
        lines.push(vec![serde_json::Value::from(std::fs::read(dir.join("weights.safetensors")).unwrap())]);
    }
    assert_eq!(lines[0], lines[2], "metrics");
    assert_eq!(lines[1], lines[3], "weights");
    // The gradient at the trained weights, on both backends: of one batch
    // (its copies), and of five samples (not a batch: one PE group, errors
    // divided by 5).
    let weights = tmp.path().join("emulator/weights.safetensors");
    for samples in ["22..44", "0..5"] {
        let grads: Vec<(String, Vec<u8>)> = ["emulator", "reference"]
            .iter()
            .map(|backend| {
                let out = tmp.path().join(format!("{backend}.{samples}.safetensors"));
                let args =
                    ["grad", "examples/yinyang.snn", "--weights", weights.to_str().unwrap(), "--samples", samples];
                let stdout = ok(&snnc(&[&args[..], &["--backend", backend, "--out", out.to_str().unwrap()]].concat()));
                (stdout.lines().next().unwrap().to_string(), std::fs::read(out).unwrap())
            })
            .collect();
        assert_eq!(grads[0], grads[1], "samples {samples}");
    }
}
