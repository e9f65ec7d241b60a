//! The search space of a spec: paths, lists, ranges, distributions, and the
//! text of trial specs. The rendered diagnostics are snapshots in the CLI
//! tests (`tests/snnc/sweep_cli.rs`).

use std::path::Path;

use super::*;

const NET: &str = "network n {\n    time { dt = 1 ms; steps = 20 }\n    population i = spike_source(4) { encoding = latency(order = early_high) }\n    population h = lif(8) { tau_mem = 20 ms }\n    population o = lif(3)\n    projection i -> h = dense { init = normal(mean = 1, std = 2) }\n    projection h -> o = dense { init = normal() }\n}\ntrain {\n    data = yin_yang(train = 40 @ seed 1)\n    readout = o\n    optimizer = adam(lr = 1e-3)\n    batch = 4\n    epochs = 1\n}\n";

fn sets(list: &[&str]) -> Flags {
    Flags { sets: list.iter().map(|s| s.to_string()).collect(), ..Flags::default() }
}

fn codes(r: Result<SearchSpace, SweepDiagnostics>) -> Vec<String> {
    use miette::Diagnostic;
    match r {
        Ok(s) => panic!("accepted: {s:?}"),
        Err(d) => d.errors.iter().map(|e| e.code().map(|c| c.to_string()).unwrap_or_default()).collect(),
    }
}

#[test]
fn lists_and_ranges_from_the_command_line() {
    let s =
        read("n.snn", NET, &sets(&["optimizer.lr=1e-3,2e-3", "train.seed=0..3", "population.h.tau_mem=10ms, 30 ms"]))
            .unwrap();
    assert_eq!(s.mode, Mode::Grid);
    assert_eq!(s.origin, Origin::CommandLine);
    let values: Vec<_> = s.axes.iter().map(|a| (a.path.as_str(), a.values.clone())).collect();
    assert_eq!(
        values,
        [
            ("optimizer.lr", Values::List(vec!["1e-3".into(), "2e-3".into()])),
            ("train.seed", Values::List(vec!["0".into(), "1".into(), "2".into()])),
            ("population.h.tau_mem", Values::List(vec!["10ms".into(), "30 ms".into()])),
        ]
    );
    assert_eq!(s.trial_count(), 12);
    assert_eq!(
        s.describe(),
        "grid over optimizer.lr (2 values) x train.seed (3 values) x population.h.tau_mem (2 values)"
    );
}

#[test]
fn a_block_with_a_random_mode() {
    let text = format!(
        "{NET}sweep random(trials = 5, seed = 3) {{\n    train.optimizer.lr = log_uniform(1e-4, 1e-2)\n    loss.xi = uniform(1 steps, 2 steps)\n    train.seed = 0, 1\n    projection.i -> h.init = choice(normal(), uniform(low = -1, high = 1))\n}}\n"
    );
    let s = read("n.snn", &text, &Flags::default()).unwrap();
    assert_eq!(s.mode, Mode::Random { trials: 5, seed: 3 });
    assert_eq!(s.axes[0].path, "optimizer.lr");
    assert_eq!(s.axes[0].values, Values::LogUniform { low: 1e-4, high: 1e-2, unit: None });
    assert_eq!(s.axes[1].values, Values::Uniform { low: 1.0, high: 2.0, unit: Some("steps".into()) });
    assert_eq!(s.axes[3].path, "projection.i->h.init");
    assert_eq!(s.axes[3].values, Values::Choice(vec!["normal()".into(), "uniform(low = -1, high = 1)".into()]));
    assert_eq!(s.trial_count(), 10);
    // The command line replaces the block.
    let s = read("n.snn", &text, &sets(&["train.batch=2,8"])).unwrap();
    assert_eq!(s.axes.len(), 1);
}

#[test]
fn errors_are_collected_with_their_codes() {
    let c = codes(read("n.snn", NET, &sets(&["optimizer.l=1", "train.seed=3..1", "train.batch=0.5..2", "x=1,"])));
    assert_eq!(
        c,
        ["snn::sweep::bad_set", "snn::sweep::unknown_path", "snn::sweep::bad_range", "snn::sweep::bad_range"]
    );
    let c = codes(read("n.snn", NET, &sets(&["train.seed=1", "train.seed=2"])));
    assert_eq!(c, ["snn::sweep::duplicate_path"]);
    assert_eq!(codes(read("n.snn", NET, &sets(&["optimizer.lr=log_uniform(1, 2)"]))), ["snn::sweep::bad_distribution"]);
    let random = Flags { trials: Some(3), ..sets(&["optimizer.lr=log_uniform(0, 2)"]) };
    assert_eq!(codes(read("n.snn", NET, &random)), ["snn::sweep::bad_distribution"]);
    let random = Flags { trials: Some(3), ..sets(&["optimizer.lr=1e-3,2e-3"]) };
    assert_eq!(codes(read("n.snn", NET, &random)), ["snn::sweep::bad_mode"]);
    assert_eq!(codes(read("n.snn", NET, &Flags::default())), ["snn::sweep::empty"]);
    let big = sets(&["train.seed=0..1000", "train.batch=0..1000"]);
    assert_eq!(codes(read("n.snn", NET, &big)), ["snn::sweep::too_many_trials"]);
    let block = format!("{NET}sweep rand(trials = 2) {{ train.seed = 0..2 }}\n");
    assert_eq!(codes(read("n.snn", &block, &Flags::default())), ["snn::sweep::bad_mode"]);
}

#[test]
fn unknown_paths_suggest_what_exists() {
    use miette::Diagnostic;
    let help = |path: &str| match read("n.snn", NET, &sets(&[&format!("{path}=1")])) {
        Err(d) => d.errors[0].help().map(|h| h.to_string()).unwrap_or_default(),
        Ok(_) => panic!("{path} accepted"),
    };
    assert_eq!(help("optimizer.learning_rate"), "`optimizer` has: lr, betas, eps, weight_decay");
    assert_eq!(help("optimiser.lr"), "did you mean `optimizer.lr`?");
    assert_eq!(help("tau_syn"), "did you mean `population.h.tau_syn` or `population.o.tau_syn`?");
    assert_eq!(help("population.hidden.tau_mem"), "did you mean `population.h.tau_mem`?");
    assert_eq!(help("optimizer.momentum"), "`optimizer` has: lr, betas, eps, weight_decay");
}

#[test]
fn trial_texts_are_plain_specs() {
    let text = format!("{NET}\nsweep {{ train.seed = 0..2 }}\n");
    let a = [
        ("optimizer.lr".to_string(), "2e-3".to_string()),
        ("loss.xi".into(), "2".into()),
        ("loss.alpha".into(), "0".into()),
    ];
    let t = trial_text(&text, &a, Path::new(".")).unwrap();
    assert!(t.contains("optimizer = adam(lr = 2e-3)"), "{t}");
    assert!(t.contains("    loss = first_spike_cross_entropy(xi = 2, alpha = 0)\n}"), "{t}");
    assert!(!t.contains("sweep"), "{t}");
    assert!(t.ends_with("}\n") && !t.ends_with("\n\n"), "{t:?}");
    assert!(crate::check_source("t.snn", &t).is_ok());
    // A value that removes a later path.
    let a = [("optimizer".to_string(), "sgd()".to_string()), ("optimizer.betas".into(), "(0.8, 0.9)".into())];
    assert_eq!(trial_text(NET, &a, Path::new(".")), Err("optimizer.betas".to_string()));
}

#[test]
fn relative_event_file_paths_become_absolute() {
    let text = NET.replace(
        "yin_yang(train = 40 @ seed 1)",
        "ssc(train = \"d/ssc_train.h5\", test = \"/abs/t.h5\", validation = \"d/ssc_valid.h5\")",
    );
    let t = trial_text(&text, &[], Path::new("/work/specs")).unwrap();
    assert!(
        t.contains(
            "ssc(train = \"/work/specs/d/ssc_train.h5\", test = \"/abs/t.h5\", validation = \"/work/specs/d/ssc_valid.h5\")"
        ),
        "{t}"
    );
    // A validation fraction stays a number.
    let text = NET.replace("yin_yang(train = 40 @ seed 1)", "shd(train = \"shd_train.h5\", validation = 0.1 @ seed 3)");
    let t = trial_text(&text, &[], Path::new("/work/specs")).unwrap();
    assert!(t.contains("shd(train = \"/work/specs/shd_train.h5\", validation = 0.1 @ seed 3)"), "{t}");
}

#[test]
fn relative_csv_paths_become_absolute() {
    let text = NET.replace("yin_yang(train = 40 @ seed 1)", "csv(train = \"d/train.csv\", test = \"/abs/t.csv\")");
    let t = trial_text(&text, &[], Path::new("/work/specs")).unwrap();
    assert!(t.contains("csv(train = \"/work/specs/d/train.csv\", test = \"/abs/t.csv\")"), "{t}");
}
