//! `snnc place` as the CLI runs it: YAML on stdout or in a file, SVG (every
//! PE, or with `--summary` the board overview), the summary form, and a
//! network that does not fit (rejected, exit status 1).

use std::path::PathBuf;

use snnc::cmd::Failure;
use snnc::cmd::place::{Format, PlaceArgs, place, place_text};
use snnc_compiler::ErrorClass;

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)
}

fn args(file: PathBuf, format: Format, summary: bool, output: Option<PathBuf>) -> PlaceArgs {
    PlaceArgs { file, format, summary, output, force: false }
}

#[test]
fn yaml_report_to_a_file_equals_stdout_text() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("yinyang.yaml");
    let text = place_text(&args(example("yinyang.snn"), Format::Yaml, false, None)).unwrap_or_else(|_| panic!("maps"));
    place(args(example("yinyang.snn"), Format::Yaml, false, Some(out.clone()))).unwrap_or_else(|_| panic!("writes"));
    assert_eq!(std::fs::read_to_string(out).unwrap(), text);
    assert!(text.starts_with("# written by snnc: the placement report of network yinyang\nnetwork: yinyang\n"));
}

#[test]
fn summary_leaves_out_the_records() {
    let text = place_text(&args(example("yinyang.snn"), Format::Yaml, true, None)).unwrap_or_else(|_| panic!("maps"));
    assert!(!text.contains("\npes:") && !text.contains("\nrouting:") && text.contains("\ntotals:"));
}

#[test]
fn svg_picture_of_yinyang() {
    let svg = place_text(&args(example("yinyang.snn"), Format::Svg, false, None)).unwrap_or_else(|_| panic!("maps"));
    assert!(
        svg.starts_with("<!-- written by snnc: the placement of network yinyang -->\n<svg ")
            && svg.ends_with("</svg>\n")
    );
    insta::assert_snapshot!("yinyang_svg", svg);
}

#[test]
fn svg_summary_is_the_board_overview() {
    let full = place_text(&args(example("yinyang.snn"), Format::Svg, false, None)).unwrap_or_else(|_| panic!("maps"));
    let overview =
        place_text(&args(example("yinyang.snn"), Format::Svg, true, None)).unwrap_or_else(|_| panic!("maps"));
    assert!(full.contains("yinyang: placement, 89 PEs on 1 chip, 22 batch copies"));
    assert!(overview.contains("yinyang: board overview, 89 PEs on 1 chip, 22 batch copies"));
    assert!(
        full.contains("; slice 0, population input (input), ") && !overview.contains("; slice "),
        "per-PE tooltips only in full"
    );
}

#[test]
fn a_network_that_does_not_fit_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.snn");
    let text = std::fs::read_to_string(example("yinyang.snn")).unwrap().replace("batch     = 22", "batch     = 40");
    std::fs::write(&file, text).unwrap();
    match place_text(&args(file, Format::Yaml, false, None)) {
        Err(Failure { class: ErrorClass::Rejected, report }) => {
            assert_eq!(report.code().map(|c| c.to_string()).as_deref(), Some("snn::place::does_not_fit"));
        }
        Err(f) => panic!("{:?}: {:?}", f.class, f.report),
        Ok(_) => panic!("a batch of 40 does not fit one chip"),
    }
}

fn snnc(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("snnc runs")
}

#[test]
fn the_binary_writes_svg_with_status_0() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("yinyang.svg");
    let o = snnc(&["place", "examples/yinyang.snn", "--format", "svg", "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.is_empty());
    assert!(std::fs::read_to_string(out).unwrap().starts_with("<!-- written by snnc"));
}

#[test]
fn the_binary_rejects_a_network_that_does_not_fit_with_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.snn");
    let text = std::fs::read_to_string(example("yinyang.snn")).unwrap().replace("batch     = 22", "batch     = 40");
    std::fs::write(&file, text).unwrap();
    let o = snnc(&["place", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(err.contains("snn::place::does_not_fit") && err.contains("a batch of at most 36"), "{err}");
    assert!(o.stdout.is_empty());
}
