//! Data sets: CSV parsing and its errors (file:line), the synthetic blobs,
//! and the Yin-Yang source behind the `DataSource` trait.

use std::path::Path;

use snnc_compiler::network::{DataSpec, SplitSpec};
use snnc_runtime::data::csv::parse_csv;
use snnc_runtime::data::source;

/// (CSV text, expected error message or `ok:<rows>`), 2 features, 3 classes.
const CASES: &[(&str, &str)] = &[
    ("a,b,label\n0.1,0.2,0\n0.3,0.4,2\n", "ok:2"),
    ("a,b,label\n0.1,0.2,0\n\n0.3, 0.4 , 1\n", "ok:2"),
    ("a,b,label\n0,1,1.0\n", "ok:1"),
    ("a,b,label\n0.1,0.2,0\n0.3,0.4\n", "d.csv:3: expected 3 columns (2 features and a label), found 2"),
    ("a,b,label\n0.1,0.2,0,7\n", "d.csv:2: expected 3 columns (2 features and a label), found 4"),
    ("a,b,label\n0.1,x,0\n", "d.csv:2: column 2 is not a number: `x`"),
    ("a,b,label\n0.1,inf,0\n", "d.csv:2: column 2 is not a number: `inf`"),
    ("a,b,label\n0.1,255,0\n", "d.csv:2: feature 2 is 255, outside 0..1"),
    ("a,b,label\n-0.5,0.2,0\n", "d.csv:2: feature 1 is -0.5, outside 0..1"),
    ("a,b,label\n0.1,0.2,1.5\n", "d.csv:2: the label `1.5` is not a whole number"),
    ("a,b,label\n0.1,0.2,-1\n", "d.csv:2: the label `-1` is negative"),
    ("a,b,label\n0.1,0.2,cat\n", "d.csv:2: the label `cat` is not a number"),
    ("a,b,label\n0.1,0.2,3\n", "d.csv:2: label 3 is out of range: the readout has 3 classes, labelled 0 to 2"),
    (
        "0.1,0.2,0\n0.3,0.4,1\n",
        "d.csv:1: the first line `0.1,0.2,0` holds only numbers: it looks like data, not a header",
    ),
    ("a,b,label\n", "d.csv holds no data rows"),
];

#[test]
fn csv_cases() {
    for (text, want) in CASES {
        let got = match parse_csv(text, Path::new("d.csv"), 2, 3) {
            Ok(split) => format!("ok:{}", split.len()),
            Err(e) => e.to_string(),
        };
        assert_eq!(&got, want, "input:\n{text}");
    }
}

#[test]
fn csv_values_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("train.csv"), "x,y,l\n0.25,1e-3,1\n").unwrap();
    std::fs::write(dir.path().join("latin1.csv"), b"x,y,l\n0.25,0.5,1\n0.5,0.5,0 \xe9t\xe9\n").unwrap();
    let err = snnc_runtime::data::csv::read_csv(&dir.path().join("latin1.csv"), 2, 2).unwrap_err();
    assert!(err.to_string().ends_with("latin1.csv:3: the file is not UTF-8 text"), "{err}");
    let spec = DataSpec::Csv {
        train: "train.csv".into(),
        validation: None,
        test: Some("nope.csv".into()),
        features: 2,
        classes: 2,
    };
    let err = source(&spec, dir.path()).load().unwrap_err().to_string();
    assert!(err.starts_with("cannot read data file") && err.contains("nope.csv"), "{err}");
    let spec = DataSpec::Csv { train: "train.csv".into(), validation: None, test: None, features: 2, classes: 2 };
    let s = source(&spec, dir.path()).load().unwrap();
    assert_eq!(s.train.features, vec![0.25, 1e-3]);
    assert_eq!(s.train.labels, vec![1]);
    assert!(s.validation.is_none() && s.test.is_none());
}

#[test]
fn synthetic_blobs_are_seeded_and_separable() {
    let split = |size, seed| SplitSpec { size, seed };
    let spec = DataSpec::Synthetic {
        features: 6,
        classes: 4,
        train: split(400, 1),
        validation: split(100, 2),
        test: split(100, 3),
    };
    let a = source(&spec, Path::new(".")).load().unwrap();
    let b = source(&spec, Path::new(".")).load().unwrap();
    assert_eq!(a.train, b.train);
    assert_ne!(a.train.features[..6], a.validation.as_ref().unwrap().features[..6]);
    assert_eq!(a.class_count, 4);
    assert!(a.train.labels.iter().all(|&l| l < 4));
    // Nearest class mean (from train) classifies the test split well.
    let mut means = [0.0f64; 24];
    let mut counts = [0usize; 4];
    for (i, &label) in a.train.labels.iter().enumerate() {
        let l = label as usize;
        counts[l] += 1;
        for f in 0..6 {
            means[l * 6 + f] += a.train.row(i)[f];
        }
    }
    for l in 0..4 {
        for f in 0..6 {
            means[l * 6 + f] /= counts[l] as f64;
        }
    }
    let test = a.test.unwrap();
    let correct = (0..test.len())
        .filter(|&i| {
            let d = |l: usize| (0..6).map(|f| (test.row(i)[f] - means[l * 6 + f]).powi(2)).sum::<f64>();
            (0..4).min_by(|&x, &y| d(x).total_cmp(&d(y))).unwrap() == test.labels[i] as usize
        })
        .count();
    assert!(correct > 90, "{correct}/100");
}

#[test]
fn yinyang_source_generates_the_three_splits() {
    let split = |size, seed| SplitSpec { size, seed };
    let spec = DataSpec::YinYang { train: split(50, 42), validation: split(20, 41), test: split(10, 40) };
    let s = source(&spec, Path::new(".")).load().unwrap();
    assert_eq!((s.train.len(), s.validation.unwrap().len(), s.test.unwrap().len()), (50, 20, 10));
    assert_eq!(s.train.row(0)[0], 0.6803075385877797);
}
