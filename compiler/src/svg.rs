//! Pictures of a placement as plain SVG text.
//!
//! Input: a [`Mapped`] network. Output: one of two SVG documents.
//! - [`placement_svg`], the full picture: one panel per used chip at its
//!   board position (chip `x` to the right, `y` up), each panel titled with
//!   the chip's `(x, y)` and the copies it holds, its 7 x 6 QPE grid labelled
//!   with QPE coordinates (`qx` across, `qy` up), the router's place marked.
//!   Every PE is a square coloured by role: the input and each layer
//!   population in a colour of its own, loss, optimiser, reserved for the
//!   system software, free. When there are several batch copies, a PE shows
//!   its copy number and each copy's PEs within a QPE are outlined. Every PE
//!   has a `<title>` tooltip: its address, slice, population, neurons, copy
//!   and data SRAM use.
//! - [`board_overview_svg`] (`snnc place --summary`): one small cell per chip
//!   of the machine at its board position, each a map of its PEs in the same
//!   colours, titled with the chip's `(x, y)`, PE count and copies, with a
//!   tooltip per chip. It stays small for a full board.
//!
//! Both have a title and a legend beside the picture that lists exactly the
//! colours drawn. Every text's width is estimated (generously, from its
//! length) and the canvas and panels are sized from it, so no text is clipped.
//!
//! Invariant: the text is a pure function of the mapping (no timestamps, no
//! randomness), so it can be snapshot-tested.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::ir::Mapped;
use crate::ir::cores::Role;
use crate::ir::placement::PlacedCore;
use crate::machine::{ChipCoord, ChipId, PeAddr, Qpe};
use crate::network::Mapping;

/// Colours of the first populations; later ones get generated hues.
const PALETTE: [&str; 8] = ["#4e79a7", "#f28e2b", "#59a14f", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"];
const LOSS: &str = "#2f2f2f";
const OPTIMISER: &str = "#e15759";
const RESERVED: &str = "#bdbdbd";
const FREE: &str = "#ffffff";

/// Space around the picture.
const MARGIN: u32 = 12;
/// Gap between chip panels.
const GAP: u32 = 12;
/// Top of the panels: below the title and the subtitle.
const TOP: u32 = 54;
/// Text width per character, in font sizes: above the mean of common sans
/// fonts (DejaVu Sans, the widest common default, averages about 0.6).
const CHAR_W: f64 = 0.62;

/// The estimated width of `text` at `size` pixels (bold 8% wider).
pub fn text_width(text: &str, size: f64, bold: bool) -> f64 {
    text.chars().count() as f64 * size * CHAR_W * if bold { 1.08 } else { 1.0 }
}

fn width_of(text: &str, size: f64, bold: bool) -> u32 {
    text_width(text, size, bold).ceil() as u32
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// What a PE position shows, in legend order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Population(usize),
    Loss,
    Optimiser,
    Reserved,
    Free,
}

fn kind(core: &PlacedCore) -> Kind {
    match core.role {
        Role::Input | Role::Layer => Kind::Population(core.population.index()),
        Role::Loss => Kind::Loss,
        Role::Optimiser => Kind::Optimiser,
    }
}

fn hsl_hex(h: f64, s: f64, l: f64) -> String {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let hp = h / 60.0;
    let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
    let (r, g, b) = match hp as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    format!("#{:02x}{:02x}{:02x}", byte(r), byte(g), byte(b))
}

fn colour(k: Kind) -> String {
    match k {
        Kind::Population(i) if i < PALETTE.len() => PALETTE[i].to_string(),
        // Golden-angle hues, mid lightness: distinct from the palette's first
        // entries and from the greys and the red below.
        Kind::Population(i) => hsl_hex((i as f64 * 137.508 + 20.0) % 360.0, 0.45, 0.6),
        Kind::Loss => LOSS.to_string(),
        Kind::Optimiser => OPTIMISER.to_string(),
        Kind::Reserved => RESERVED.to_string(),
        Kind::Free => FREE.to_string(),
    }
}

/// Black or white, whichever reads better on `fill` (`#rrggbb`).
fn ink_on(fill: &str) -> &'static str {
    let c = |i: usize| f64::from(u8::from_str_radix(&fill[i..i + 2], 16).unwrap_or(0)) / 255.0;
    let luminance = 0.299 * c(1) + 0.587 * c(3) + 0.114 * c(5);
    if luminance < 0.5 { "#ffffff" } else { "#000000" }
}

/// `0-3, 5, 7-9`: a set of numbers as ranges.
fn ranges(set: &BTreeSet<u32>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut it = set.iter().copied().peekable();
    while let Some(start) = it.next() {
        let mut end = start;
        while it.peek() == Some(&(end + 1)) {
            end += 1;
            it.next();
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
    }
    parts.join(", ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The facts both pictures share.
struct Facts<'a> {
    m: &'a Mapped,
    by_pe: BTreeMap<PeAddr, &'a PlacedCore>,
    used: Vec<ChipId>,
    /// Whether PEs show their copy number (more than one copy).
    numbered: bool,
}

impl<'a> Facts<'a> {
    fn new(m: &'a Mapped) -> Self {
        let by_pe: BTreeMap<PeAddr, &PlacedCore> = m.placement.cores.iter().map(|c| (c.pe, c)).collect();
        let used: BTreeSet<ChipId> = by_pe.keys().map(|pe| pe.chip).collect();
        Facts { m, by_pe, used: used.into_iter().collect(), numbered: m.cores.copies > 1 }
    }

    fn at(&self, c: ChipId) -> ChipCoord {
        self.m.machine.chips[usize::from(c.0)]
    }

    /// Every PE position of chip `c` (holes left out) and what it shows.
    fn pes(&self, c: ChipId) -> Vec<(PeAddr, Kind, Option<&'a PlacedCore>)> {
        let spec = &self.m.machine.spec;
        let mut out = Vec::new();
        for qpe in spec.qpes() {
            for pe in 0..spec.pes_per_qpe {
                let addr = PeAddr { chip: c, qpe, pe };
                let core = self.by_pe.get(&addr).copied();
                let k = match core {
                    Some(core) => kind(core),
                    None if spec.is_reserved(qpe) => Kind::Reserved,
                    None => Kind::Free,
                };
                out.push((addr, k, core));
            }
        }
        out
    }

    /// What chip `c` holds: its PE count and `"copies 0-21, optimiser"`.
    fn chip_contents(&self, c: ChipId) -> (usize, String) {
        let (n, copies, optimiser) = self.chip_parts(c);
        let parts: Vec<String> = copies.into_iter().chain(optimiser.then(|| "optimiser".to_string())).collect();
        (n, parts.join(", "))
    }

    /// A chip's PE count, the batch copies on it (`copies 0-21`, when
    /// copies are numbered) and whether it holds optimiser PEs.
    fn chip_parts(&self, c: ChipId) -> (usize, Option<String>, bool) {
        let cores: Vec<&PlacedCore> = self.by_pe.range(chip_range(c)).map(|(_, core)| *core).collect();
        let copies: BTreeSet<u32> = cores.iter().filter_map(|core| core.batch_copy).collect();
        let copies = (self.numbered && !copies.is_empty())
            .then(|| format!("cop{} {}", if copies.len() == 1 { "y" } else { "ies" }, ranges(&copies)));
        (cores.len(), copies, cores.iter().any(|core| core.role == Role::Optimiser))
    }

    /// A chip panel's second line: `89 of 148 PEs used by copies 0-21 and
    /// the optimiser` (and the DRAM its PEs' synapses use, if any).
    fn chip_header(&self, c: ChipId, app: u32) -> String {
        let (n, copies, optimiser) = self.chip_parts(c);
        let mut line = format!("{n} of {app} PEs used");
        if let Some(copies) = copies {
            line += &format!(" by {copies}");
            if optimiser {
                line += " and the optimiser";
            }
        } else if optimiser {
            line += ", the optimiser among them";
        }
        let dram: u64 =
            self.m.placement.cores.iter().filter(|core| core.pe.chip == c).map(|core| core.dram.total()).sum();
        if dram > 0 {
            line += &format!("; synapses: {:.1} MiB of DRAM", dram as f64 / f64::from(1 << 20));
        }
        line
    }

    /// The bounding box of `chips` on the board: (min x, max y, columns, rows).
    fn board_box(&self, chips: &[ChipId]) -> (u32, u32, u32, u32) {
        let xs = chips.iter().map(|&c| u32::from(self.at(c).x));
        let ys = chips.iter().map(|&c| u32::from(self.at(c).y));
        let (min_x, max_x) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(0));
        let (min_y, max_y) = (ys.clone().min().unwrap_or(0), ys.max().unwrap_or(0));
        (min_x, max_y, max_x - min_x + 1, max_y - min_y + 1)
    }

    fn title(&self, name: &str, what: &str) -> String {
        let copies = self.m.cores.copies as usize;
        let pes = plural(self.m.placement.cores.len(), "PE", "PEs");
        let (used, all) = (self.used.len(), self.m.machine.chips.len());
        let chips = if used == all {
            plural(all, "chip", "chips")
        } else {
            format!("{used} of {}", plural(all, "chip", "chips"))
        };
        let mut t = format!("{name}: {what}, {pes} on {chips}");
        if self.m.cores.training {
            let _ = write!(t, ", {}", plural(copies, "batch copy", "batch copies"));
        }
        t
    }

    /// The legend entries for the colours drawn: (colour, label).
    fn legend_entries(&self, drawn: &BTreeSet<Kind>, counts: &BTreeMap<Kind, usize>) -> Vec<(String, String)> {
        let pops = &self.m.cores.populations;
        drawn
            .iter()
            .map(|&k| {
                let n = counts.get(&k).copied().unwrap_or(0);
                let pes = plural(n, "PE", "PEs");
                let label = match k {
                    Kind::Population(i) => {
                        let role = if self
                            .m
                            .placement
                            .cores
                            .iter()
                            .any(|c| c.population.index() == i && c.role == Role::Input)
                        {
                            "input"
                        } else {
                            "layer"
                        };
                        format!("{} ({role}, {} neurons): {pes}", pops[i].name, pops[i].size)
                    }
                    Kind::Loss => format!("loss: {pes}"),
                    Kind::Optimiser => format!("optimiser: {pes}"),
                    Kind::Reserved => format!("reserved (system software): {pes}"),
                    Kind::Free => format!("free: {pes}"),
                };
                (colour(k), label)
            })
            .collect()
    }
}

fn chip_range(c: ChipId) -> std::ops::RangeInclusive<PeAddr> {
    PeAddr { chip: c, qpe: Qpe { x: 0, y: 0 }, pe: 0 }..=PeAddr {
        chip: c,
        qpe: Qpe { x: u8::MAX, y: u8::MAX },
        pe: u8::MAX,
    }
}

/// Draws the legend at (`x`, `y`): a heading, one swatch per colour, then
/// notes. Returns its width and height.
fn legend(s: &mut String, x: u32, y: u32, entries: &[(String, String)], notes: &[String]) -> (u32, u32) {
    let _ = writeln!(
        s,
        r#"<g class="legend"><text x="{x}" y="{}" font-size="12" font-weight="bold">PE colours</text>"#,
        y + 12
    );
    let mut w = width_of("PE colours", 12.0, true);
    let mut ly = y + 22;
    for (fill, label) in entries {
        let _ = writeln!(
            s,
            r##"<rect class="key" x="{x}" y="{ly}" width="14" height="14" fill="{fill}" stroke="#777"/><text x="{}" y="{}" font-size="11">{}</text>"##,
            x + 20,
            ly + 11,
            escape(label)
        );
        w = w.max(20 + width_of(label, 11.0, false));
        ly += 20;
    }
    ly += 4;
    for note in notes {
        let _ = writeln!(s, r##"<text x="{x}" y="{}" font-size="11" fill="#333">{}</text>"##, ly + 11, escape(note));
        w = w.max(width_of(note, 11.0, false));
        ly += 18;
    }
    s.push_str("</g>\n");
    (w, ly - y)
}

fn open_svg(s: &mut String, width: u32, height: u32, title: &str, subtitle: &str) {
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Verdana, sans-serif" font-size="10">"#
    );
    let _ = writeln!(s, r#"<title>{}</title>"#, escape(title));
    let _ = writeln!(s, r##"<rect width="{width}" height="{height}" fill="#ffffff"/>"##);
    let _ = writeln!(s, r#"<text x="{MARGIN}" y="22" font-size="16" font-weight="bold">{}</text>"#, escape(title));
    let _ = writeln!(s, r##"<text x="{MARGIN}" y="40" font-size="11" fill="#333">{}</text>"##, escape(subtitle));
}

/// Canvas width that fits the title, the subtitle and `content` pixels.
fn canvas_width(title: &str, subtitle: &str, content: u32) -> u32 {
    (width_of(title, 16.0, true) + 2 * MARGIN).max(width_of(subtitle, 11.0, false) + 2 * MARGIN).max(content)
}

// Full picture geometry: a PE square's pitch, a QPE box (2 x 2 PEs and a
// 2-pixel rim) and its pitch, a chip panel's padding, header, label column
// and footer.
const PE: u32 = 16;
const QPE_BOX: u32 = 2 * PE + 4;
const QPE_PITCH: u32 = QPE_BOX + 6;
const PAD: u32 = 8;
const HEADER: u32 = 46;
const LABEL_W: u32 = 18;
const FOOTER: u32 = 18;

/// The full picture of a mapping: every PE of every used chip.
pub fn placement_svg(name: &str, m: &Mapped) -> String {
    let f = Facts::new(m);
    let spec = &m.machine.spec;
    let (cols, rows) = (u32::from(spec.qpe_columns), u32::from(spec.qpe_rows));
    let grid_w = cols * QPE_PITCH - (QPE_PITCH - QPE_BOX);
    let grid_h = rows * QPE_PITCH - (QPE_PITCH - QPE_BOX);
    let app = spec.app_pes_per_chip();
    let headers: Vec<(String, String)> =
        f.used.iter().map(|&c| (format!("chip ({}, {})", f.at(c).x, f.at(c).y), f.chip_header(c, app))).collect();
    let text_w = headers.iter().map(|(a, b)| width_of(a, 12.0, true).max(width_of(b, 10.0, false))).max().unwrap_or(0);
    let panel_w = (PAD + LABEL_W + grid_w + PAD).max(text_w + 2 * PAD);
    let panel_h = HEADER + grid_h + FOOTER + PAD;
    let (min_x, max_y, bcols, brows) = f.board_box(&f.used);
    let panels_w = bcols * (panel_w + GAP) - GAP;
    let panels_h = brows * (panel_h + GAP) - GAP;

    let title = f.title(name, "placement");
    let mapping = match m.cores.mapping {
        Mapping::BatchParallel => "batch_parallel",
        Mapping::SingleCopy => "single_copy",
    };
    let subtitle = format!(
        "mapping = {mapping}, layout: {}; chips at their board positions (x right, y up); hover a PE for its slice",
        m.placement.layout.name()
    );

    let mut body = String::new();
    let mut drawn: BTreeSet<Kind> = BTreeSet::new();
    let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
    let copy_font = if m.cores.copies > 100 { 7 } else { 9 };
    for (&c, (head, line)) in f.used.iter().zip(&headers) {
        let at = f.at(c);
        let px = MARGIN + (u32::from(at.x) - min_x) * (panel_w + GAP);
        let py = TOP + (max_y - u32::from(at.y)) * (panel_h + GAP);
        let (gx, gy) = (px + PAD + LABEL_W, py + HEADER);
        let _ = writeln!(
            body,
            r##"<g class="chip"><rect x="{px}" y="{py}" width="{panel_w}" height="{panel_h}" rx="4" fill="#f6f6f6" stroke="#666"/>"##
        );
        let _ = writeln!(
            body,
            r#"<text x="{}" y="{}" font-size="12" font-weight="bold">{head}</text><text x="{}" y="{}" font-size="10">{}</text>"#,
            px + PAD,
            py + 17,
            px + PAD,
            py + 31,
            escape(line)
        );
        // QPE coordinates: qx under the columns, qy left of the rows.
        let _ = writeln!(
            body,
            r##"<text x="{}" y="{}" font-size="9" fill="#555" text-anchor="end">qy</text><text x="{}" y="{}" font-size="9" fill="#555" text-anchor="end">qx</text>"##,
            gx - 5,
            gy - 4,
            gx - 5,
            gy + grid_h + 13
        );
        for qx in 1..=cols {
            let _ = writeln!(
                body,
                r##"<text x="{}" y="{}" font-size="9" fill="#555" text-anchor="middle">{qx}</text>"##,
                gx + (qx - 1) * QPE_PITCH + QPE_BOX / 2,
                gy + grid_h + 13
            );
        }
        for qy in 1..=rows {
            let _ = writeln!(
                body,
                r##"<text x="{}" y="{}" font-size="9" fill="#555" text-anchor="end">{qy}</text>"##,
                gx - 5,
                gy + (rows - qy) * QPE_PITCH + QPE_BOX / 2 + 3
            );
        }
        let qpe_xy = |q: Qpe| (gx + u32::from(q.x - 1) * QPE_PITCH, gy + (rows - u32::from(q.y)) * QPE_PITCH);
        let (rx, ry) = qpe_xy(Qpe { x: spec.router_qpe.0, y: spec.router_qpe.1 });
        let _ = writeln!(
            body,
            r##"<text x="{}" y="{}" font-size="8" fill="#888" text-anchor="middle">router</text>"##,
            rx + QPE_BOX / 2,
            ry + QPE_BOX / 2 + 3
        );
        for q in spec.qpes() {
            let (x, y) = qpe_xy(q);
            let _ = writeln!(
                body,
                r##"<rect x="{x}" y="{y}" width="{QPE_BOX}" height="{QPE_BOX}" fill="#ffffff" stroke="#aaa"><title>chip ({}, {}) QPE ({}, {})</title></rect>"##,
                at.x, at.y, q.x, q.y
            );
        }
        let pe_xy = |a: PeAddr| {
            let (x, y) = qpe_xy(a.qpe);
            (x + 2 + u32::from(a.pe % 2) * PE + 1, y + 2 + u32::from(a.pe / 2) * PE + 1)
        };
        for (addr, k, core) in f.pes(c) {
            drawn.insert(k);
            *counts.entry(k).or_default() += 1;
            let fill = colour(k);
            let (x, y) = pe_xy(addr);
            let tip = tooltip(&f, at, addr, k, core);
            let _ = write!(
                body,
                r##"<g><title>{}</title><rect class="pe" x="{x}" y="{y}" width="{w}" height="{w}" fill="{fill}" stroke="#888" stroke-width="0.5"/>"##,
                escape(&tip),
                w = PE - 2
            );
            if let Some(copy) = core.and_then(|c| c.batch_copy).filter(|_| f.numbered) {
                let _ = write!(
                    body,
                    r#"<text x="{}" y="{}" font-size="{copy_font}" fill="{}" text-anchor="middle">{copy}</text>"#,
                    x + (PE - 2) / 2,
                    y + (PE - 2) / 2 + 3,
                    ink_on(&fill)
                );
            }
            body.push_str("</g>\n");
        }
        // Batch copies: outline each copy's PEs within each QPE.
        if f.numbered {
            let mut boxes: BTreeMap<(Qpe, u32), (u32, u32, u32, u32)> = BTreeMap::new();
            for (addr, core) in f.by_pe.range(chip_range(c)) {
                let Some(copy) = core.batch_copy else { continue };
                let (x, y) = pe_xy(*addr);
                let b = boxes.entry((addr.qpe, copy)).or_insert((x, y, x, y));
                *b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
            }
            for ((_, copy), (x0, y0, x1, y1)) in boxes {
                let _ = writeln!(
                    body,
                    r##"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#000" stroke-width="1.5"><title>batch copy {copy}</title></rect>"##,
                    x0 - 1,
                    y0 - 1,
                    x1 - x0 + PE,
                    y1 - y0 + PE
                );
            }
        }
        body.push_str("</g>\n");
    }

    let mut notes = Vec::new();
    if f.numbered {
        notes.push("number in a PE: its batch copy".to_string());
        notes.push("black outline: one copy's PEs in a QPE".to_string());
    }
    notes.push("hover a PE: slice, neurons, copy, SRAM".to_string());
    let lx = MARGIN + panels_w + 2 * GAP;
    let mut legend_svg = String::new();
    let (lw, lh) = legend(&mut legend_svg, lx, TOP, &f.legend_entries(&drawn, &counts), &notes);
    let width = canvas_width(&title, &subtitle, lx + lw + MARGIN);
    let height = TOP + panels_h.max(lh) + MARGIN;
    let mut s = String::new();
    open_svg(&mut s, width, height, &title, &subtitle);
    s += &body;
    s += &legend_svg;
    s.push_str("</svg>\n");
    s
}

/// A PE's tooltip: address, then what runs there.
fn tooltip(f: &Facts, at: ChipCoord, a: PeAddr, k: Kind, core: Option<&PlacedCore>) -> String {
    let place = format!("chip ({}, {}) QPE ({}, {}) PE {} (id {})", at.x, at.y, a.qpe.x, a.qpe.y, a.pe, a.pe_id());
    let Some(core) = core else {
        return format!("{place}; {}", if k == Kind::Reserved { "reserved for the system software" } else { "free" });
    };
    let pops = &f.m.cores.populations;
    let pop = &pops[core.population.index()].name;
    let n = core.neurons.end.saturating_sub(core.neurons.start);
    let neurons = format!("neurons {}-{} ({n})", core.neurons.start, core.neurons.end.saturating_sub(1));
    let what = match core.role {
        Role::Input => format!("population {pop} (input), {neurons}"),
        Role::Layer => format!("population {pop} (layer), {neurons}"),
        Role::Loss => format!("loss of population {pop}, {neurons}"),
        Role::Optimiser => {
            let slice = &f.m.cores.slices[core.slice];
            let held: u64 = slice.weights.iter().map(|w| w.range.end - w.range.start).sum();
            let mut into: Vec<&str> = Vec::new();
            for w in &slice.weights {
                let name = pops[w.population.index()].name.as_str();
                if !into.contains(&name) {
                    into.push(name);
                }
            }
            format!("optimiser of {held} weights into {}", into.join(", "))
        }
    };
    let copy = core.batch_copy.map_or(String::new(), |c| format!(", batch copy {c}"));
    let data = core.sram.data();
    let budget = f.m.machine.spec.data_bytes;
    let dram = match core.dram.total() {
        0 => String::new(),
        d => format!("; synapses in DRAM, {d} B"),
    };
    format!(
        "{place}; slice {}, {what}{copy}; data SRAM {data} of {budget} B ({}%){dram}",
        core.slice,
        (data as f64 * 100.0 / f64::from(budget)).round()
    )
}

// Board overview geometry: a PE's pitch, a QPE's pitch, a cell's padding
// and header.
const MINI_PE: u32 = 6;
const MINI_QPE: u32 = 2 * MINI_PE + 2;
const CELL_PAD: u32 = 6;
const CELL_HEADER: u32 = 32;

/// The board overview: one cell per chip of the machine, each a small map
/// of its PEs; the picture `snnc place --summary --format svg` draws.
pub fn board_overview_svg(name: &str, m: &Mapped) -> String {
    let f = Facts::new(m);
    let spec = &m.machine.spec;
    let (cols, rows) = (u32::from(spec.qpe_columns), u32::from(spec.qpe_rows));
    let map_w = cols * MINI_QPE - 2;
    let map_h = rows * MINI_QPE - 2;
    let all: Vec<ChipId> = (0..m.machine.chips.len()).map(|i| ChipId(i as u16)).collect();
    let lines: Vec<(String, String)> = all
        .iter()
        .map(|&c| {
            let (n, holds) = f.chip_contents(c);
            let at = format!("({}, {})", f.at(c).x, f.at(c).y);
            if f.used.contains(&c) {
                (format!("{at}: {}", plural(n, "PE", "PEs")), holds)
            } else {
                (at, "unused".to_string())
            }
        })
        .collect();
    let text_w = lines.iter().map(|(a, b)| width_of(a, 11.0, true).max(width_of(b, 9.0, false))).max().unwrap_or(0);
    let cell_w = (map_w + 2 * CELL_PAD).max(text_w + 2 * CELL_PAD);
    let cell_h = CELL_HEADER + map_h + CELL_PAD;
    let (min_x, max_y, bcols, brows) = f.board_box(&all);
    let cells_w = bcols * (cell_w + 8) - 8;
    let cells_h = brows * (cell_h + 8) - 8;
    let title = f.title(name, "board overview");
    let subtitle = "one cell per chip at its board position (x right, y up); without --summary the picture \
                    draws every PE, with a tooltip each";

    let mut body = String::new();
    let mut drawn: BTreeSet<Kind> = BTreeSet::new();
    let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
    for (&c, (head, line)) in all.iter().zip(&lines) {
        let at = f.at(c);
        let px = MARGIN + (u32::from(at.x) - min_x) * (cell_w + 8);
        let py = TOP + (max_y - u32::from(at.y)) * (cell_h + 8);
        let used = f.used.contains(&c);
        let mut tip = format!("chip {head}");
        if !line.is_empty() {
            let _ = write!(tip, "; {line}");
        }
        if used {
            let mut per: BTreeMap<Kind, usize> = BTreeMap::new();
            for (_, core) in f.by_pe.range(chip_range(c)) {
                *per.entry(kind(core)).or_default() += 1;
            }
            for (k, n) in per {
                let what = match k {
                    Kind::Population(i) => m.cores.populations[i].name.as_str(),
                    Kind::Loss => "loss",
                    _ => "optimiser",
                };
                let _ = write!(tip, "; {what} {n}");
            }
        }
        let (fill, stroke, dash) =
            if used { ("#f6f6f6", "#666", "") } else { ("#fbfbfb", "#bbb", r#" stroke-dasharray="4 3""#) };
        let _ = writeln!(
            body,
            r#"<g class="chip"><title>{}</title><rect x="{px}" y="{py}" width="{cell_w}" height="{cell_h}" rx="3" fill="{fill}" stroke="{stroke}"{dash}/>"#,
            escape(&tip)
        );
        let _ = writeln!(
            body,
            r##"<text x="{}" y="{}" font-size="11" font-weight="bold">{head}</text><text x="{}" y="{}" font-size="9" fill="{}">{}</text>"##,
            px + CELL_PAD,
            py + 13,
            px + CELL_PAD,
            py + 26,
            if used { "#000" } else { "#888" },
            escape(line)
        );
        if used {
            let (gx, gy) = (px + CELL_PAD, py + CELL_HEADER);
            for (addr, k, _) in f.pes(c) {
                drawn.insert(k);
                *counts.entry(k).or_default() += 1;
                let x = gx + u32::from(addr.qpe.x - 1) * MINI_QPE + u32::from(addr.pe % 2) * MINI_PE;
                let y = gy + (rows - u32::from(addr.qpe.y)) * MINI_QPE + u32::from(addr.pe / 2) * MINI_PE;
                let _ = writeln!(
                    body,
                    r##"<rect class="pe" x="{x}" y="{y}" width="{w}" height="{w}" fill="{}" stroke="#999" stroke-width="0.4"/>"##,
                    colour(k),
                    w = MINI_PE - 1
                );
            }
        }
        body.push_str("</g>\n");
    }
    let mut notes = vec![format!("each chip: its {cols} x {rows} QPE grid, qx right, qy up")];
    if f.used.len() < all.len() {
        notes.push("dashed: a chip of the target left unused".to_string());
    }
    notes.push("hover a chip for its PEs by population".to_string());
    let lx = MARGIN + cells_w + 2 * GAP;
    let mut legend_svg = String::new();
    let (lw, lh) = legend(&mut legend_svg, lx, TOP, &f.legend_entries(&drawn, &counts), &notes);
    let width = canvas_width(&title, subtitle, lx + lw + MARGIN);
    let height = TOP + cells_h.max(lh) + MARGIN;
    let mut s = String::new();
    open_svg(&mut s, width, height, &title, subtitle);
    s += &body;
    s += &legend_svg;
    s.push_str("</svg>\n");
    s
}
