//! A picture of a placement as plain SVG text.
//!
//! Input: a [`Mapped`] network. Output: an SVG document: every used chip at
//! its board position, its 7 x 6 QPE grid (holes left blank, reserved QPEs
//! hatched grey), each PE a square coloured by population (loss and
//! optimiser PEs in their own colours) and filled in proportion to its data
//! SRAM use, and each batch copy outlined within each QPE it occupies.
//!
//! Invariant: the text is a pure function of the mapping (no timestamps, no
//! randomness), so it can be snapshot-tested.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::driver::Mapped;
use crate::machine::{ChipId, Qpe};
use crate::partition::Role;

const PE: u32 = 10;
const QPE: u32 = 2 * PE + 4;
const MARGIN: u32 = 12;
const PALETTE: [&str; 10] =
    ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
const LOSS: &str = "#222222";
const OPTIMISER: &str = "#d62728";

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The SVG picture of a mapping.
pub fn placement_svg(name: &str, m: &Mapped) -> String {
    let spec = &m.machine.spec;
    let chip_w = u32::from(spec.qpe_columns) * QPE + 2 * MARGIN;
    let chip_h = u32::from(spec.qpe_rows) * QPE + 2 * MARGIN + 12;
    let mut used: Vec<ChipId> = m.placement.cores.iter().map(|c| c.pe.chip).collect();
    used.sort_unstable();
    used.dedup();
    let max_x = used.iter().map(|c| u32::from(m.machine.chips[usize::from(c.0)].x)).max().unwrap_or(0);
    let max_y = used.iter().map(|c| u32::from(m.machine.chips[usize::from(c.0)].y)).max().unwrap_or(0);
    let legend_h = 20 * (m.cores.populations.len() as u32 + 3);
    let width = (max_x + 1) * chip_w + 220;
    let height = ((max_y + 1) * chip_h).max(legend_h) + 40;
    // Chip (x, y) origin: north up, so y grows downwards from the top row.
    let origin = |c: ChipId| {
        let at = m.machine.chips[usize::from(c.0)];
        (u32::from(at.x) * chip_w, (max_y - u32::from(at.y)) * chip_h + 30)
    };
    let qpe_origin = |c: ChipId, q: Qpe| {
        let (ox, oy) = origin(c);
        (ox + MARGIN + u32::from(q.x - 1) * QPE, oy + MARGIN + 12 + (u32::from(spec.qpe_rows) - u32::from(q.y)) * QPE)
    };
    let pe_origin = |c: ChipId, q: Qpe, pe: u8| {
        let (x, y) = qpe_origin(c, q);
        (x + 2 + u32::from(pe % 2) * PE, y + 2 + u32::from(1 - pe / 2) * PE)
    };

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="10">"#
    );
    let _ = writeln!(
        s,
        r#"<text x="4" y="16" font-size="14">{}: {} PEs on {} chip(s), {} batch cop{}</text>"#,
        escape(name),
        m.placement.cores.len(),
        used.len(),
        m.cores.copies,
        if m.cores.copies == 1 { "y" } else { "ies" }
    );
    for &c in &used {
        let (ox, oy) = origin(c);
        let at = m.machine.chips[usize::from(c.0)];
        let _ = writeln!(
            s,
            r##"<rect x="{ox}" y="{oy}" width="{}" height="{}" fill="#f7f7f7" stroke="#555"/><text x="{}" y="{}">chip ({}, {})</text>"##,
            chip_w - 4,
            chip_h - 4,
            ox + 4,
            oy + 14,
            at.x,
            at.y
        );
        for q in spec.qpes() {
            let (x, y) = qpe_origin(c, q);
            let fill = if spec.is_reserved(q) { "#cccccc" } else { "#ffffff" };
            let _ = writeln!(
                s,
                r##"<rect x="{x}" y="{y}" width="{}" height="{}" fill="{fill}" stroke="#999"/>"##,
                QPE - 2,
                QPE - 2
            );
        }
    }
    let budget = f64::from(spec.data_bytes);
    for core in &m.placement.cores {
        let colour = match core.role {
            Role::Loss => LOSS,
            Role::Optimiser => OPTIMISER,
            _ => PALETTE[core.population.index() % PALETTE.len()],
        };
        let (x, y) = pe_origin(core.pe.chip, core.pe.qpe, core.pe.pe);
        let used_frac = (core.sram.data() as f64 / budget).clamp(0.0, 1.0);
        let fill_h = (f64::from(PE - 2) * used_frac).round() as u32;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{y}" width="{w}" height="{w}" fill="white" stroke="{colour}"><title>{} {} [{}, {}] copy {} data {} B</title></rect><rect x="{x}" y="{}" width="{w}" height="{fill_h}" fill="{colour}"/>"#,
            core.role.name(),
            escape(&m.cores.populations[core.population.index()].name),
            core.neurons.start,
            core.neurons.end.saturating_sub(1),
            core.batch_copy.map_or("-".to_string(), |c| c.to_string()),
            core.sram.data(),
            y + (PE - 2) - fill_h,
            w = PE - 2,
        );
    }
    // Batch copies: outline the PEs of each copy within each QPE.
    type Corners = (u32, u32, u32, u32);
    let mut boxes: BTreeMap<(u32, ChipId, Qpe), Corners> = BTreeMap::new();
    for core in &m.placement.cores {
        let Some(copy) = core.batch_copy else { continue };
        let (x, y) = pe_origin(core.pe.chip, core.pe.qpe, core.pe.pe);
        let b = boxes.entry((copy, core.pe.chip, core.pe.qpe)).or_insert((x, y, x, y));
        *b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
    }
    for ((copy, _, _), (x0, y0, x1, y1)) in boxes {
        let _ = writeln!(
            s,
            r##"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#000" stroke-width="1"><title>batch copy {copy}</title></rect>"##,
            x0 - 1,
            y0 - 1,
            x1 - x0 + PE,
            y1 - y0 + PE
        );
    }
    // Legend.
    let lx = (max_x + 1) * chip_w + 10;
    let mut ly = 40;
    let mut legend = |label: &str, colour: &str, s: &mut String| {
        let _ = writeln!(
            s,
            r#"<rect x="{lx}" y="{}" width="10" height="10" fill="{colour}"/><text x="{}" y="{}">{}</text>"#,
            ly - 9,
            lx + 14,
            ly,
            escape(label)
        );
        ly += 20;
    };
    for (i, p) in m.cores.populations.iter().enumerate() {
        legend(&p.name, PALETTE[i % PALETTE.len()], &mut s);
    }
    if m.cores.training {
        legend("loss", LOSS, &mut s);
        legend("optimiser", OPTIMISER, &mut s);
    }
    let _ = writeln!(s, r#"<text x="{lx}" y="{ly}">fill: data SRAM used</text>"#);
    s.push_str("</svg>\n");
    s
}
