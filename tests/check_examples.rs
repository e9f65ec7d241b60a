//! Every `examples/*.snn` checks clean; its `snnc check` summary and DOT
//! graph are snapshots. The Yin-Yang example must equal the network built in
//! code by `yinyang_network`, an independent statement of the seed paper.

use snnc::cmd::check::{dot, summary};
use snnc_compiler::network::{Span, yinyang_network};
use snnc_compiler::{ValidNetwork, check_source};

fn load(path: &std::path::Path) -> ValidNetwork {
    let text = std::fs::read_to_string(path).expect("example is readable");
    let name = path.file_name().expect("file name").to_string_lossy().to_string();
    match check_source(&name, &text) {
        Ok(net) => net,
        Err(d) => panic!("{name} was rejected: {:#?}", d.errors()),
    }
}

#[test]
fn examples_check_clean() {
    insta::glob!("../examples", "*.snn", |path| {
        let net = load(path);
        insta::assert_snapshot!("summary", summary(&net));
        insta::assert_snapshot!("dot", dot(&net));
    });
}

#[test]
fn yinyang_example_equals_the_network_built_in_code() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let parsed = load(&root.join("examples/yinyang.snn"));
    let built = yinyang_network(120);
    assert_eq!(parsed.name, built.name);
    assert_eq!(parsed.time, built.time);
    let pops = |n: &ValidNetwork| n.populations().map(|(_, p)| (p.name.clone(), p.size, p.kind.clone())).collect::<Vec<_>>();
    assert_eq!(pops(&parsed), pops(&built));
    let projs =
        |n: &ValidNetwork| n.projections().map(|(_, a, b, p)| (a, b, p.kind, p.init)).collect::<Vec<_>>();
    assert_eq!(projs(&parsed), projs(&built));
    let mut train = parsed.train.clone().expect("the example trains");
    train.span = Span::default();
    assert_eq!(Some(train), built.train);
    let mut target = parsed.target.clone();
    target.span = Span::default();
    assert_eq!(target, built.target);
}

#[test]
fn every_population_and_projection_has_a_span_on_its_declaration() {
    insta::glob!("../examples", "*.snn", |path| {
        let text = std::fs::read_to_string(path).expect("readable");
        let net = load(path);
        for (_, p) in net.populations() {
            let decl = &text[p.span.start..p.span.end];
            assert!(decl.starts_with("population") && (decl.ends_with('}') || decl.ends_with(')')), "{decl}");
            assert!(decl.contains(&p.name));
        }
        for (e, _, _, p) in net.projections() {
            let decl = &text[p.span.start..p.span.end];
            assert!(decl.starts_with("projection") && decl.ends_with('}'), "{decl}");
            let name = net.projection_name(e).replace("->", " ");
            let words: Vec<&str> = name.split(' ').collect();
            assert!(words.iter().all(|w| decl.contains(w)), "{decl}");
        }
    });
}
