//! The placement pictures: the full one (`snnc place --format svg`) and the
//! board overview (`--summary`). Each is well-formed XML, its legend lists
//! exactly the colours its PEs are drawn in, no text runs off the canvas, the
//! chips' `(x, y)` and the QPEs' `(qx, qy)` are written, batch copies are told
//! apart and every PE has a tooltip; for the examples on 1 chip, on 2 chips
//! and on a 48-chip board, and for random feed-forward networks.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use roxmltree::{Document, Node};
use snnc_compiler::driver::{Mapped, compile, map_network};
use snnc_compiler::network::{MachineSize, Mapping};
use snnc_compiler::partition::Role;
use snnc_compiler::svg::{board_overview_svg, placement_svg};

fn example(name: &str, edit: impl Fn(String) -> String) -> Mapped {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name);
    let text = edit(std::fs::read_to_string(path).expect("example is readable"));
    match compile(name, &text) {
        Ok((_, m)) => m,
        Err(e) => panic!("{name}: {:?}", miette::Report::new(e)),
    }
}

fn class<'a>(doc: &'a Document, tag: &str, class: &str) -> Vec<Node<'a, 'a>> {
    doc.descendants().filter(|n| n.has_tag_name(tag) && n.attribute("class") == Some(class)).collect()
}

fn num(n: Node, attr: &str) -> f64 {
    n.attribute(attr).unwrap_or_else(|| panic!("{attr} on {n:?}")).parse().expect("a number")
}

/// A text's width as DejaVu Sans sets it, about 0.6 em per character (bold
/// 0.65): an estimate of our own, not the one the pictures use.
fn width(text: &str, size: f64, bold: bool) -> f64 {
    text.chars().count() as f64 * size * if bold { 0.65 } else { 0.6 }
}

/// Every check that holds for both pictures; returns the parsed document's
/// text (for the caller's checks).
fn check_picture(svg: &str) -> Document<'_> {
    let doc = Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed XML: {e}"));
    let root = doc.root_element();
    assert!(root.has_tag_name("svg"));
    let (w, h) = (num(root, "width"), num(root, "height"));
    assert_eq!(root.attribute("viewBox"), Some(format!("0 0 {w} {h}").as_str()));

    // The legend lists exactly the colours drawn, each once.
    let drawn: BTreeSet<&str> = class(&doc, "rect", "pe").iter().map(|n| n.attribute("fill").unwrap()).collect();
    let keys: Vec<&str> = class(&doc, "rect", "key").iter().map(|n| n.attribute("fill").unwrap()).collect();
    let listed: BTreeSet<&str> = keys.iter().copied().collect();
    assert!(!drawn.is_empty());
    assert_eq!(drawn, listed, "PE colours vs legend colours");
    assert_eq!(keys.len(), listed.len(), "a colour is listed twice: {keys:?}");

    // No text leaves the canvas; the title is the first text.
    for t in doc.descendants().filter(|n| n.has_tag_name("text")) {
        let text = t.text().unwrap_or("");
        let size: f64 = t.attribute("font-size").map_or(10.0, |s| s.parse().unwrap());
        let tw = width(text, size, t.attribute("font-weight") == Some("bold"));
        let (x, y) = (num(t, "x"), num(t, "y"));
        let (left, right) = match t.attribute("text-anchor") {
            Some("end") => (x - tw, x),
            Some("middle") => (x - tw / 2.0, x + tw / 2.0),
            _ => (x, x + tw),
        };
        assert!(left >= 0.0 && right <= w && y - size >= 0.0 && y <= h, "{text:?} at ({x}, {y}) leaves {w} x {h}");
    }
    doc
}

fn texts<'a>(doc: &'a Document) -> Vec<&'a str> {
    doc.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text()).collect()
}

/// The full picture's own checks: a panel per used chip named by its
/// coordinates, QPE coordinates, a tooltip per PE naming what it runs, copy
/// numbers on the PEs of each copy.
fn check_full(m: &Mapped, svg: &str) {
    let doc = check_picture(svg);
    let texts = texts(&doc);
    let chips: BTreeSet<_> = m.placement.cores.iter().map(|c| m.machine.chips[usize::from(c.pe.chip.0)]).collect();
    assert_eq!(class(&doc, "g", "chip").len(), chips.len());
    for at in &chips {
        assert!(texts.contains(&format!("chip ({}, {})", at.x, at.y).as_str()), "chip ({}, {})", at.x, at.y);
    }
    for q in ["qx", "qy", "1", "6", "7"] {
        assert!(texts.contains(&q), "axis label {q}");
    }
    // A tooltip per PE drawn: 148 application and 4 reserved PEs per chip.
    let pes = class(&doc, "rect", "pe");
    assert_eq!(pes.len(), chips.len() * 152);
    let tips: Vec<&str> = pes
        .iter()
        .map(|pe| {
            let title = pe.parent().unwrap().children().find(|n| n.has_tag_name("title")).expect("a PE tooltip");
            title.text().unwrap()
        })
        .collect();
    assert!(tips.iter().all(|t| t.starts_with("chip (") && t.contains(" QPE (") && t.contains(" PE ")));
    let slices: Vec<&&str> = tips.iter().filter(|t| t.contains("; slice ")).collect();
    assert_eq!(slices.len(), m.placement.cores.len());
    for core in &m.placement.cores {
        let pop = &m.cores.populations[core.population.index()].name;
        let want = match core.role {
            Role::Input | Role::Layer => {
                format!("; slice {}, population {pop} ({}), neurons ", core.slice, core.role.name())
            }
            Role::Loss => format!("; slice {}, loss of population {pop}, neurons ", core.slice),
            Role::Optimiser => format!("; slice {}, optimiser of ", core.slice),
        };
        let copy = core.batch_copy.map(|c| format!("batch copy {c};"));
        assert!(
            tips.iter().any(|t| t.contains(&want) && copy.as_ref().is_none_or(|c| t.contains(c.as_str()))),
            "no tooltip for slice {}: {want}",
            core.slice
        );
    }
    // Several copies: every PE of copy c shows the number c.
    if m.cores.copies > 1 {
        let mut per_copy: BTreeMap<u32, usize> = BTreeMap::new();
        for core in &m.placement.cores {
            if let Some(c) = core.batch_copy {
                *per_copy.entry(c).or_default() += 1;
            }
        }
        for pe in &pes {
            let label = pe.next_sibling_element().filter(|n| n.has_tag_name("text")).and_then(|n| n.text());
            if let Some(c) = label {
                *per_copy.get_mut(&c.parse().unwrap()).expect("a copy") -= 1;
            }
        }
        assert!(per_copy.values().all(|&n| n == 0), "PEs without their copy number: {per_copy:?}");
    }
}

fn check_overview(m: &Mapped, svg: &str) {
    let doc = check_picture(svg);
    assert_eq!(class(&doc, "g", "chip").len(), m.machine.chips.len(), "a cell per chip of the machine");
    let texts = texts(&doc);
    for at in &m.machine.chips {
        let head = format!("({}, {})", at.x, at.y);
        assert!(texts.iter().any(|t| t.starts_with(&head)), "{head}");
    }
}

fn roles_in_legend(svg: &str) -> Vec<String> {
    let doc = Document::parse(svg).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("class") == Some("key"))
        .map(|n| n.next_sibling_element().unwrap().text().unwrap().to_string())
        .collect()
}

#[test]
fn yinyang_on_one_chip() {
    let m = example("yinyang.snn", |t| t);
    let svg = placement_svg("yinyang", &m);
    check_full(&m, &svg);
    check_overview(&m, &board_overview_svg("yinyang", &m));
    assert_eq!(
        roles_in_legend(&svg),
        [
            "input (input, 5 neurons): 22 PEs",
            "hidden (layer, 120 neurons): 22 PEs",
            "output (layer, 3 neurons): 22 PEs",
            "loss: 22 PEs",
            "optimiser: 1 PE",
            "reserved (system software): 4 PEs",
            "free: 59 PEs",
        ]
    );
    assert!(svg.contains(">89 of 148 PEs used by copies 0-21 and the optimiser<"));
}

#[test]
fn yinyang_on_two_chips() {
    let m =
        example("yinyang.snn", |t| t.replace("batch     = 22", "batch     = 40").replace("chips    = 1", "chips = 2"));
    assert_eq!(m.placement.chips_used(), 2);
    let svg = placement_svg("yinyang", &m);
    check_full(&m, &svg);
    check_overview(&m, &board_overview_svg("yinyang", &m));
    assert!(svg.contains(">chip (0, 0)<") && svg.contains(">chip (1, 0)<"));
    assert!(svg.contains(">13 of 148 PEs used by copies 37-39 and the optimiser<"), "the second chip's header");
}

#[test]
fn large_on_a_board() {
    let m = example("large.snn", |t| t);
    assert_eq!(m.placement.chips_used(), 43);
    let full = placement_svg("large", &m);
    check_full(&m, &full);
    let overview = board_overview_svg("large", &m);
    check_overview(&m, &overview);
    // The overview of a 48-chip board stays small: a screen, well under a megabyte.
    let doc = Document::parse(&overview).unwrap();
    let (w, h) = (num(doc.root_element(), "width"), num(doc.root_element(), "height"));
    assert!(w <= 1600.0 && h <= 1200.0, "{w} x {h}");
    assert!(overview.len() < 1 << 20, "{} bytes", overview.len());
    assert!(overview.contains(">unused<"), "the board's 5 unused chips are drawn as such");
}

#[test]
fn a_long_name_widens_the_canvas() {
    let m = example("yinyang.snn", |t| t);
    let name = "a_network_with_a_name_much_longer_than_one_chip_panel_is_wide_".repeat(3);
    for svg in [placement_svg(&name, &m), board_overview_svg(&name, &m)] {
        check_picture(&svg);
    }
}

#[test]
fn many_populations_get_distinct_colours() {
    let sizes: Vec<u32> = std::iter::once(4).chain(std::iter::repeat_n(6, 13)).collect();
    let net = common::feed_forward(&sizes, Some(2), MachineSize::Chips(1), Mapping::BatchParallel);
    let m = map_network(&net).expect("maps");
    let svg = placement_svg(&net.name, &m);
    check_full(&m, &svg);
    let roles = roles_in_legend(&svg);
    assert_eq!(roles.iter().filter(|r| r.contains("neurons)")).count(), 14, "{roles:?}");
}

#[test]
fn a_forward_only_network_shows_no_copy_numbers() {
    let net = common::feed_forward(&[5, 40, 3], None, MachineSize::Chips(1), Mapping::BatchParallel);
    let m = map_network(&net).expect("maps");
    assert!(m.placement.cores.iter().all(|c| c.role != Role::Loss && c.role != Role::Optimiser));
    let svg = placement_svg(&net.name, &m);
    check_full(&m, &svg);
    assert!(!svg.contains("number in a PE") && !svg.contains("batch copies"), "no copies to tell apart");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_networks_draw_checked_pictures(
        sizes in (2u32..64, prop::collection::vec(1u32..300, 1..=4)).prop_map(|(i, mut l)| { l.insert(0, i); l }),
        batch in prop_oneof![1 => Just(None), 4 => (1u32..=30).prop_map(Some)],
        chips in 1u32..=3,
        single in any::<bool>(),
    ) {
        let mapping = if single { Mapping::SingleCopy } else { Mapping::BatchParallel };
        let net = common::feed_forward(&sizes, batch, MachineSize::Chips(chips), mapping);
        if let Ok(m) = map_network(&net) {
            check_full(&m, &placement_svg(&net.name, &m));
            check_overview(&m, &board_overview_svg(&net.name, &m));
        }
    }
}
