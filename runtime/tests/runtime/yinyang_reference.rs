//! The Yin-Yang generator against the reference generator's CSV files, value
//! for value and label for label (bit-exact: the CSVs hold shortest round-trip
//! decimals, which parse back to the exact doubles).

use snnc_runtime::data::yinyang::generate;

fn check(file: &str, size: u32, seed: u32) {
    let path = format!("{}/../tests/data/yinyang/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("reference CSV present");
    let split = generate(size, seed);
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), size as usize, "{file}: row count");
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<&str> = row.split(',').collect();
        let want: Vec<f64> = cells[..4].iter().map(|c| c.parse().unwrap()).collect();
        for (c, w) in want.iter().enumerate() {
            assert_eq!(split.row(i)[c].to_bits(), w.to_bits(), "{file} row {i} column {c}");
        }
        assert_eq!(split.labels[i], cells[4].parse::<u32>().unwrap(), "{file} row {i} label");
    }
}

#[test]
fn train_split_matches_reference() {
    check("yinyang_train.csv", 5000, 42);
}

#[test]
fn validation_split_matches_reference() {
    check("yinyang_validation.csv", 1000, 41);
}

#[test]
fn test_split_matches_reference() {
    check("yinyang_test.csv", 1000, 40);
}
