//! The machine model: SpiNNaker2 chips, their QPEs and PEs, their routers and
//! the chip-to-chip links. Every constant of the machine lives in [`SPINNAKER2`].
//!
//! Input: a [`TargetSpec`] (the `target spinnaker2 { ... }` block).
//! Output: a [`Machine`]: the chips in placement order, the application PEs of
//! each chip in placement order, the links between chips, shortest-path trees.
//!
//! Geometry (from `docs/machine.md`; "(model)" marks this project's choices):
//! - a chip has 38 QPEs on a 7 x 6 grid (`qx` 1..=7, `qy` 1..=6) with holes at
//!   (4,3), (4,4), (7,3), (7,4) where the chip router sits; 4 PEs per QPE; the
//!   PE id on the chip is `qx << 5 | qy << 2 | pe`;
//! - 148 PEs per chip run applications: the 4 PEs of QPE (1,1) are kept by the
//!   system software (model: the public record says 4 PEs, not which);
//! - a PE has 128 KiB SRAM: 32 KiB code, 96 KiB data (stack at the top of data);
//! - a chip has 2 GiB of LPDDR4 DRAM, about 6.4 GB/s, which its PEs reach by
//!   DMA; a transfer costs a PE `dma_setup_cycles` plus one cycle per
//!   `dma_bytes_per_cycle` bytes (model: no public per-transfer figure; see
//!   [`ChipSpec::dma_cycles`]);
//! - one router per chip with 16,384 key/mask entries, first match wins;
//! - chips of a board sit on SpiNNaker1's 48-chip board: the chips `(x, y)`
//!   with `0 <= x, y < 8` and `-3 <= x - y <= 4`, 6 links each
//!   (E, NE, N, W, SW, S). A full board wraps into a hexagonal torus: a link
//!   leaving the hexagon re-enters it shifted by a multiple of (8, 4) and
//!   (4, 8) (model: the tiling that three boards use to form a 12 x 12 torus).
//! - `chips = N` (1..=48) is the first `N` chips of the board in row-major
//!   order (by `y`, then `x`) with the board's links between them;
//!   `board = 48` is the full board.
//!
//! Placement order: chips in row-major order; on a chip, QPEs row by row in a
//! serpentine (row `qy` odd left to right, even right to left) so that
//! neighbours in the order are neighbours on the mesh; PEs 0..3 in a QPE.
//!
//! Invariants: chip ids are dense `0..chips`; a link from chip `a` to chip `b`
//! in direction `d` implies a link from `b` to `a` in the opposite direction;
//! the application PE list holds no reserved PE and no hole.

use std::collections::VecDeque;

use crate::network::{MachineSize, TargetSpec};

/// The constants of one SpiNNaker2 chip and of the board it sits on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChipSpec {
    /// QPE grid columns (`qx` runs 1..=columns).
    pub qpe_columns: u8,
    /// QPE grid rows (`qy` runs 1..=rows).
    pub qpe_rows: u8,
    /// Grid positions without a QPE (the chip router sits there).
    pub holes: [(u8, u8); 4],
    /// Where the chip router attaches to the QPE mesh, for hop counting (model).
    pub router_qpe: (u8, u8),
    pub pes_per_qpe: u8,
    /// QPEs whose PEs are kept by the system software (model).
    pub reserved_qpes: [(u8, u8); 1],
    /// Code region of a PE's SRAM, bytes.
    pub code_bytes: u32,
    /// Data region of a PE's SRAM (stack included), bytes.
    pub data_bytes: u32,
    /// Key/mask entries of one chip router.
    pub router_entries: usize,
    /// Clock frequencies a PE can run at (DVFS), hertz.
    pub clocks_hz: [f64; 2],
    /// Chips on one board.
    pub board_chips: u32,
    /// DRAM of one chip, bytes (`docs/machine.md`: LPDDR4, "2 GB per chip on
    /// shipped boards", taken as 2 GiB).
    pub dram_bytes: u64,
    /// The chip's DRAM bandwidth, bytes per second (`docs/machine.md`:
    /// "about 6.4 GB/s"), shared by its PEs.
    pub dram_bytes_per_second: f64,
    /// Cycles a PE's DMA transfer costs before its first byte (model: the
    /// public record gives no figure; SpiNNaker1's DMA controller needs some
    /// tens of cycles to read a descriptor and open the SDRAM burst).
    pub dma_setup_cycles: u64,
    /// Bytes a PE's DMA transfer moves per PE cycle (model: one 128-bit NoC
    /// flit per cycle; the chip's 6.4 GB/s is about 43 bytes per 150 MHz
    /// cycle, so one transfer is bound by the PE's port, not by the DRAM).
    pub dma_bytes_per_cycle: u64,
    /// Cycles of the sender per multicast packet (`docs/machine.md`: "packet
    /// send about 10 cycles").
    pub packet_send_cycles: u64,
    /// NoC cycles per router hop (`docs/machine.md`: "about 5").
    pub hop_cycles: u64,
    /// Cycles of an optimiser's packet handler for a gradient, besides its
    /// receive table search: the key/mask match, the index range, the tag
    /// test, the add and the count (model: the lowered handler's operations
    /// under the emulator's cost model, `runtime/src/emu/counters.rs`;
    /// `runtime/tests/runtime/emu_chain.rs` compares them).
    pub packet_handler_cycles: u64,
    /// Cycles of one round of a handler's binary search of its receive
    /// table (model, as above: a halving, which counts as an integer
    /// division, a load, a compare, a branch).
    pub rx_search_round_cycles: u64,
    /// What a layer's handler of a chain's partial sum costs beyond an
    /// optimiser's (model, as above: the layer's other tag tests and the
    /// index split into neuron and position, two integer divisions).
    pub chain_add_cycles: u64,
}

/// SpiNNaker2, as described in `docs/machine.md`.
pub const SPINNAKER2: ChipSpec = ChipSpec {
    qpe_columns: 7,
    qpe_rows: 6,
    holes: [(4, 3), (4, 4), (7, 3), (7, 4)],
    router_qpe: (4, 3),
    pes_per_qpe: 4,
    reserved_qpes: [(1, 1)],
    code_bytes: 32 * 1024,
    data_bytes: 96 * 1024,
    router_entries: 16_384,
    clocks_hz: [150e6, 300e6],
    board_chips: 48,
    dram_bytes: 2 << 30,
    dram_bytes_per_second: 6.4e9,
    dma_setup_cycles: 50,
    dma_bytes_per_cycle: 16,
    packet_send_cycles: 10,
    hop_cycles: 5,
    packet_handler_cycles: 51,
    rx_search_round_cycles: 22,
    chain_add_cycles: 30,
};

impl ChipSpec {
    pub fn is_hole(&self, q: Qpe) -> bool {
        self.holes.contains(&(q.x, q.y))
    }
    pub fn is_reserved(&self, q: Qpe) -> bool {
        self.reserved_qpes.contains(&(q.x, q.y))
    }
    /// Every QPE of the chip, in placement (serpentine) order, reserved ones included.
    pub fn qpes(&self) -> Vec<Qpe> {
        let mut out = Vec::new();
        for y in 1..=self.qpe_rows {
            let xs: Vec<u8> =
                if y % 2 == 1 { (1..=self.qpe_columns).collect() } else { (1..=self.qpe_columns).rev().collect() };
            for x in xs {
                let q = Qpe { x, y };
                if !self.is_hole(q) {
                    out.push(q);
                }
            }
        }
        out
    }
    /// QPEs that run applications, in placement order.
    pub fn app_qpes(&self) -> Vec<Qpe> {
        self.qpes().into_iter().filter(|&q| !self.is_reserved(q)).collect()
    }
    /// Estimated PE cycles of one DMA transfer of `bytes` bytes between DRAM
    /// and SRAM: the setup, then `dma_bytes_per_cycle` bytes per cycle
    /// (rounded up). A transfer of nothing costs nothing.
    pub fn dma_cycles(&self, bytes: u64) -> u64 {
        if bytes == 0 {
            return 0;
        }
        self.dma_setup_cycles + bytes.div_ceil(self.dma_bytes_per_cycle)
    }
    /// Application PEs per chip.
    pub fn app_pes_per_chip(&self) -> u32 {
        self.app_qpes().len() as u32 * u32::from(self.pes_per_qpe)
    }
    /// Estimated cycles of a PE's handler for one packet that its receive
    /// table of `rx_len` entries matches: the binary search's rounds, then
    /// the match and the add.
    pub fn handler_cycles(&self, rx_len: u64) -> u64 {
        let rounds = u64::from(u64::BITS - rx_len.saturating_sub(1).leading_zeros());
        self.packet_handler_cycles + rounds * self.rx_search_round_cycles
    }
    /// Estimated NoC cycles of one packet's route across a chip's mesh (its
    /// diameter, an upper bound).
    pub fn route_cycles(&self) -> u64 {
        u64::from(self.qpe_columns + self.qpe_rows - 2) * self.hop_cycles
    }
    /// The modelled end-of-batch cycles of both gradient schemes
    /// (`docs/machine.md`, "Gradient traffic"), from the copies' gradient
    /// traffic. Both are pipelined: a PE handles packets while its sources
    /// still send, so a scheme takes its busiest PE's packet work plus the
    /// time the first packet needs to reach the end.
    ///
    /// - direct: every layer slice sends its weights' gradients; an
    ///   optimiser PE handles `copies x held` of them;
    /// - chain: a slice of copy `c > 0` handles and sends each of its
    ///   weights once (copy 0 only sends), an optimiser handles `held`
    ///   (from the last copy only: a shorter receive table); the first
    ///   packet passes `copies` stages. With several samples per copy a
    ///   stage adds each of its `slots` gradients (their reads by DMA, in
    ///   DRAM mode, are not counted).
    pub fn gradient_cycles(&self, t: &GradientTraffic) -> GradientCycles {
        let send = self.packet_send_cycles;
        let route = self.route_cycles();
        let copies = t.copies.max(1);
        let senders = t.slices.iter().map(|&(w, _)| w * send).max().unwrap_or(0);
        let direct_opt =
            t.optimisers.iter().map(|&(held, rx)| copies * held * self.handler_cycles(rx)).max().unwrap_or(0);
        // A chain stage also matches the previous copy's key range.
        let stage = |rx: u64| self.handler_cycles(rx + 1) + t.slots.max(1) * self.chain_add_cycles + send;
        let chain_pe = t.slices.iter().map(|&(w, rx)| w * stage(rx)).max().unwrap_or(0);
        let chain_opt =
            t.optimisers.iter().map(|&(held, rx)| held * self.handler_cycles(rx.div_ceil(copies))).max().unwrap_or(0);
        let fill = t.slices.iter().map(|&(_, rx)| stage(rx) + route).max().unwrap_or(0);
        GradientCycles {
            direct: senders.max(direct_opt) + route,
            chain: senders.max(chain_pe).max(chain_opt) + copies * fill,
        }
    }
}

/// What the gradient schemes' cost model reads: the batch copies, each
/// layer slice of a copy (its weights and its receive-table entries under
/// the direct scheme) and each optimiser PE (the weights it holds and its
/// receive-table entries under the direct scheme: one per copy and slice
/// that sends to it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GradientTraffic {
    pub copies: u64,
    /// Gradients each layer slice keeps apart (samples per copy; 1 with a
    /// copy per sample).
    pub slots: u64,
    pub slices: Vec<(u64, u64)>,
    pub optimisers: Vec<(u64, u64)>,
}

/// The modelled end-of-batch cycles of the two gradient schemes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GradientCycles {
    pub direct: u64,
    pub chain: u64,
}

/// A chip, by its index in the machine (dense, in placement order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChipId(pub u16);

/// A chip's position on the board.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChipCoord {
    pub x: u8,
    pub y: u8,
}

/// A QPE's position on the chip's grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Qpe {
    pub x: u8,
    pub y: u8,
}

/// One processing element of the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeAddr {
    pub chip: ChipId,
    pub qpe: Qpe,
    /// PE within the QPE, 0..=3.
    pub pe: u8,
}

impl PeAddr {
    /// The PE id on its chip: `qx << 5 | qy << 2 | pe`.
    pub fn pe_id(self) -> u8 {
        self.qpe.x << 5 | self.qpe.y << 2 | self.pe
    }
}

/// A chip-to-chip link direction (SpiNNaker numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Link {
    East = 0,
    NorthEast = 1,
    North = 2,
    West = 3,
    SouthWest = 4,
    South = 5,
}

impl Link {
    pub const ALL: [Link; 6] = [Link::East, Link::NorthEast, Link::North, Link::West, Link::SouthWest, Link::South];

    pub fn delta(self) -> (i32, i32) {
        match self {
            Link::East => (1, 0),
            Link::NorthEast => (1, 1),
            Link::North => (0, 1),
            Link::West => (-1, 0),
            Link::SouthWest => (-1, -1),
            Link::South => (0, -1),
        }
    }
    pub fn opposite(self) -> Link {
        Link::ALL[(self as usize + 3) % 6]
    }
    pub fn name(self) -> &'static str {
        match self {
            Link::East => "E",
            Link::NorthEast => "NE",
            Link::North => "N",
            Link::West => "W",
            Link::SouthWest => "SW",
            Link::South => "S",
        }
    }
}

/// A target that does not describe a machine snnc can map onto.
#[derive(Debug, Clone, PartialEq, thiserror::Error, miette::Diagnostic)]
pub enum TargetError {
    #[error("a machine of {chips} chips is not supported")]
    #[diagnostic(
        code(snn::target::chips),
        help("use `chips = N` with 1 <= N <= 48, or `board = 48`; several boards are not yet supported")
    )]
    Chips {
        chips: u32,
        #[label("this target")]
        span: miette::SourceSpan,
    },
    #[error("clock {mhz} MHz is not a SpiNNaker2 PE clock")]
    #[diagnostic(code(snn::target::clock), help("a PE runs at 150 MHz (0.5 V) or 300 MHz (0.8 V)"))]
    Clock {
        mhz: f64,
        #[label("this target")]
        span: miette::SourceSpan,
    },
    #[error("`neurons_per_core = 0` leaves no room for any neuron")]
    #[diagnostic(code(snn::target::neurons_per_core), help("use `neurons_per_core = N` with N >= 1, or leave it out"))]
    NeuronsPerCore {
        #[label("this target")]
        span: miette::SourceSpan,
    },
}

/// The machine a network is mapped onto.
#[derive(Clone, Debug, PartialEq)]
pub struct Machine {
    pub spec: ChipSpec,
    pub size: MachineSize,
    pub clock_hz: f64,
    /// Board position of each chip, indexed by [`ChipId`].
    pub chips: Vec<ChipCoord>,
    /// `links[chip][direction]`: the chip at the other end, if connected.
    links: Vec<[Option<ChipId>; 6]>,
    /// Application QPEs of one chip, in placement order.
    app_qpes: Vec<Qpe>,
}

/// The chips of a 48-chip board, in row-major order (by `y`, then `x`).
pub fn board_coords() -> Vec<ChipCoord> {
    let mut out = Vec::new();
    for y in 0..8u8 {
        for x in 0..8u8 {
            if on_board(i32::from(x), i32::from(y)) {
                out.push(ChipCoord { x, y });
            }
        }
    }
    out
}

fn on_board(x: i32, y: i32) -> bool {
    (0..8).contains(&x) && (0..8).contains(&y) && (-3..=4).contains(&(x - y))
}

/// The board position that `(x, y)` wraps to on the hexagonal torus of one board.
fn wrap_on_board(x: i32, y: i32) -> Option<ChipCoord> {
    for a in -2..=2 {
        for b in -2..=2 {
            let (wx, wy) = (x + 8 * a + 4 * b, y + 4 * a + 8 * b);
            if on_board(wx, wy) {
                return Some(ChipCoord { x: wx as u8, y: wy as u8 });
            }
        }
    }
    None
}

impl Machine {
    /// The machine a target block describes.
    pub fn from_target(target: &TargetSpec) -> Result<Machine, TargetError> {
        let spec = SPINNAKER2;
        let span: miette::SourceSpan = target.span.into();
        let chips = match target.machine {
            MachineSize::Chips(n) => n,
            MachineSize::Board48 => spec.board_chips,
        };
        if chips == 0 || chips > spec.board_chips {
            return Err(TargetError::Chips { chips, span });
        }
        if !spec.clocks_hz.contains(&target.clock_hz) {
            return Err(TargetError::Clock { mhz: target.clock_hz / 1e6, span });
        }
        if target.neurons_per_core == Some(0) {
            return Err(TargetError::NeuronsPerCore { span });
        }
        let coords: Vec<ChipCoord> = board_coords().into_iter().take(chips as usize).collect();
        let index_of = |c: ChipCoord| coords.iter().position(|&d| d == c).map(|i| ChipId(i as u16));
        let links = coords
            .iter()
            .map(|c| {
                Link::ALL.map(|l| {
                    let (dx, dy) = l.delta();
                    wrap_on_board(i32::from(c.x) + dx, i32::from(c.y) + dy).and_then(index_of)
                })
            })
            .collect();
        Ok(Machine {
            spec,
            size: target.machine,
            clock_hz: target.clock_hz,
            chips: coords,
            links,
            app_qpes: spec.app_qpes(),
        })
    }

    pub fn chip_count(&self) -> usize {
        self.chips.len()
    }

    /// The chip at the other end of `link`, if that link is connected.
    pub fn neighbour(&self, chip: ChipId, link: Link) -> Option<ChipId> {
        self.links.get(usize::from(chip.0)).and_then(|l| l[link as usize])
    }

    /// Application QPEs of a chip, in placement order.
    pub fn app_qpes(&self) -> &[Qpe] {
        &self.app_qpes
    }

    /// Application PEs of the whole machine: `app_pes_per_chip * chips`.
    pub fn app_pe_count(&self) -> u32 {
        self.spec.app_pes_per_chip() * self.chips.len() as u32
    }

    /// The `i`-th application PE in placement order (chip, QPE, PE).
    pub fn app_pe(&self, i: u32) -> Option<PeAddr> {
        let per_qpe = u32::from(self.spec.pes_per_qpe);
        let per_chip = self.app_qpes.len() as u32 * per_qpe;
        let chip = i / per_chip;
        if chip as usize >= self.chips.len() {
            return None;
        }
        let within = i % per_chip;
        Some(PeAddr {
            chip: ChipId(chip as u16),
            qpe: self.app_qpes[(within / per_qpe) as usize],
            pe: (within % per_qpe) as u8,
        })
    }

    /// Whether `pe` exists on this machine and may run an application.
    pub fn is_app_pe(&self, pe: PeAddr) -> bool {
        usize::from(pe.chip.0) < self.chips.len() && pe.pe < self.spec.pes_per_qpe && self.app_qpes.contains(&pe.qpe)
    }

    /// A breadth-first shortest-path tree over the chip links, rooted at `root`:
    /// for every chip, the parent chip and the link from the parent to it
    /// (`None` for the root and for unreachable chips). Links are tried in
    /// [`Link::ALL`] order, so the tree is deterministic.
    pub fn chip_tree(&self, root: ChipId) -> Vec<Option<(ChipId, Link)>> {
        let n = self.chips.len();
        let mut parent = vec![None; n];
        let mut seen = vec![false; n];
        seen[usize::from(root.0)] = true;
        let mut queue = VecDeque::from([root]);
        while let Some(c) = queue.pop_front() {
            for l in Link::ALL {
                if let Some(d) = self.neighbour(c, l)
                    && !seen[usize::from(d.0)]
                {
                    seen[usize::from(d.0)] = true;
                    parent[usize::from(d.0)] = Some((c, l));
                    queue.push_back(d);
                }
            }
        }
        parent
    }
}

/// Mesh hops of a dimension-order (x, then y) route between two QPE grid
/// positions (model of the on-chip network).
pub fn mesh_hops(a: (u8, u8), b: (u8, u8)) -> u32 {
    u32::from(a.0.abs_diff(b.0)) + u32::from(a.1.abs_diff(b.1))
}

/// The undirected mesh edges of the x-then-y route from `a` to `b`, as indices
/// into a bitset of the grid's edges (for counting the edges of a multicast tree).
pub fn mesh_route_edges(spec: &ChipSpec, a: (u8, u8), b: (u8, u8)) -> u128 {
    let cols = u32::from(spec.qpe_columns);
    // Horizontal edge (x, y)-(x+1, y): index (y-1)*(cols-1) + (x-1).
    // Vertical edge (x, y)-(x, y+1): offset + (y-1)*cols + (x-1).
    let horizontal = (cols - 1) * u32::from(spec.qpe_rows);
    let mut bits = 0u128;
    let (mut x, y0) = (a.0, a.1);
    while x != b.0 {
        let lo = x.min(if x < b.0 { x + 1 } else { x - 1 });
        bits |= 1u128 << ((u32::from(y0) - 1) * (cols - 1) + u32::from(lo) - 1);
        x = if x < b.0 { x + 1 } else { x - 1 };
    }
    let mut y = y0;
    while y != b.1 {
        let lo = y.min(if y < b.1 { y + 1 } else { y - 1 });
        bits |= 1u128 << (horizontal + (u32::from(lo) - 1) * cols + u32::from(x) - 1);
        y = if y < b.1 { y + 1 } else { y - 1 };
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Mapping, Span};

    fn target(machine: MachineSize) -> TargetSpec {
        TargetSpec {
            machine,
            clock_hz: 300e6,
            mapping: Mapping::BatchParallel,
            copies: None,
            gradients: crate::network::GradientScheme::Auto,
            neurons_per_core: None,
            synapses: None,
            span: Span::default(),
        }
    }

    #[test]
    fn chip_has_38_qpes_and_148_application_pes() {
        assert_eq!(SPINNAKER2.qpes().len(), 38);
        assert_eq!(SPINNAKER2.app_pes_per_chip(), 148);
        assert_eq!(SPINNAKER2.dram_bytes, 2_147_483_648);
        assert_eq!(SPINNAKER2.dma_cycles(0), 0);
        assert_eq!(SPINNAKER2.dma_cycles(4), 51);
        assert_eq!(SPINNAKER2.dma_cycles(2800), 50 + 175);
        let m = Machine::from_target(&target(MachineSize::Chips(1))).unwrap();
        assert_eq!(m.app_pe_count(), 148);
        let all: Vec<PeAddr> = (0..148).map(|i| m.app_pe(i).unwrap()).collect();
        let mut ids: Vec<u8> = all.iter().map(|p| p.pe_id()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 148, "PE ids are distinct");
        assert!(all.iter().all(|&p| m.is_app_pe(p)));
        assert_eq!(m.app_pe(148), None);
    }

    #[test]
    fn pe_id_follows_the_chip_layout() {
        let p = PeAddr { chip: ChipId(0), qpe: Qpe { x: 2, y: 1 }, pe: 3 };
        assert_eq!(p.pe_id(), 2 << 5 | 1 << 2 | 3);
    }

    #[test]
    fn serpentine_order_steps_between_mesh_neighbours_or_over_holes() {
        let q = SPINNAKER2.qpes();
        for w in q.windows(2) {
            let d = mesh_hops((w[0].x, w[0].y), (w[1].x, w[1].y));
            assert!(d == 1 || d == 2, "{w:?}");
        }
    }

    #[test]
    fn board_has_48_chips_and_a_consistent_torus() {
        let m = Machine::from_target(&target(MachineSize::Board48)).unwrap();
        assert_eq!(m.chip_count(), 48);
        for c in 0..48u16 {
            let mut seen = Vec::new();
            for l in Link::ALL {
                let d = m.neighbour(ChipId(c), l).expect("a full board wraps");
                assert_eq!(m.neighbour(d, l.opposite()), Some(ChipId(c)));
                assert_ne!(d, ChipId(c));
                seen.push(d);
            }
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), 6, "six distinct neighbours of chip {c}");
        }
    }

    #[test]
    fn the_board_tiles_the_plane() {
        // Every point of the plane wraps to exactly one chip: the torus is well defined.
        for x in -12..20 {
            for y in -12..20 {
                let mut hits = 0;
                for a in -4..=4 {
                    for b in -4..=4 {
                        if on_board(x + 8 * a + 4 * b, y + 4 * a + 8 * b) {
                            hits += 1;
                        }
                    }
                }
                assert_eq!(hits, 1, "({x}, {y})");
            }
        }
    }

    #[test]
    fn partial_boards_are_connected() {
        for n in 1..=48 {
            let m = Machine::from_target(&target(MachineSize::Chips(n))).unwrap();
            let tree = m.chip_tree(ChipId(0));
            let reached = tree.iter().filter(|p| p.is_some()).count() + 1;
            assert_eq!(reached, n as usize);
        }
    }

    #[test]
    fn invalid_targets_are_rejected() {
        assert!(matches!(Machine::from_target(&target(MachineSize::Chips(0))), Err(TargetError::Chips { .. })));
        assert!(matches!(Machine::from_target(&target(MachineSize::Chips(49))), Err(TargetError::Chips { .. })));
        let mut t = target(MachineSize::Chips(1));
        t.clock_hz = 250e6;
        assert!(matches!(Machine::from_target(&t), Err(TargetError::Clock { .. })));
        let mut t = target(MachineSize::Chips(1));
        t.neurons_per_core = Some(0);
        assert!(matches!(Machine::from_target(&t), Err(TargetError::NeuronsPerCore { .. })));
    }

    /// The two gradient schemes' modelled end-of-batch cycles
    /// ([`ChipSpec::gradient_cycles`]): an optimiser's handler of a table of
    /// `r` entries costs `51 + 22 ceil(log2 r)`, a chain stage 30 more and a
    /// send 10, a route across the mesh 55.
    #[test]
    fn gradient_schemes_on_yinyang_and_shd_sized_traffic() {
        let s = SPINNAKER2;
        assert_eq!((s.handler_cycles(1), s.handler_cycles(2), s.handler_cycles(44)), (51, 73, 183));
        assert_eq!(s.route_cycles(), 55);
        // Yin-Yang: 22 copies; the hidden slice's 600 weights and the
        // output's 360, each slice with 3 receive entries (spikes, errors or
        // the loss's, weights); one optimiser of all 960, 44 entries.
        let yinyang =
            GradientTraffic { copies: 22, slots: 1, slices: vec![(600, 3), (360, 3)], optimisers: vec![(960, 44)] };
        let c = s.gradient_cycles(&yinyang);
        // Direct: the optimiser handles 22 x 960 packets at 183 cycles.
        // Chain: the hidden slice's 600 at 95 + 30 + 10 (4 entries) are the
        // busiest stage (the optimiser's 960 at 73 less); the first packet
        // passes 22 stages of 135 + 55.
        assert_eq!(c, GradientCycles { direct: 22 * 960 * 183 + 55, chain: 600 * 135 + 22 * (135 + 55) });
        assert_eq!((c.direct, c.chain), (3_865_015, 85_180));
        // shd.snn-sized (1,862,656 weights, 32 copies; it does not place yet,
        // so the slicing is assumed): the hidden 256 neurons (fan-in 7,256)
        // in 32 slices of 8, 40 receive entries each, the readout's 5,120
        // weights in one slice of 4 entries; 321 Adam optimisers of 5,803
        // weights (their SRAM's capacity), each fed by 2 slices of every copy.
        let mut slices = vec![(8 * 7_256, 40); 32];
        slices.push((5_120, 4));
        assert_eq!(slices.iter().map(|s| s.0).sum::<u64>(), 1_862_656);
        let shd = GradientTraffic { copies: 32, slots: 1, slices, optimisers: vec![(5_803, 64); 321] };
        let c = s.gradient_cycles(&shd);
        // Direct: 32 x 5,803 packets at 183 cycles into each optimiser.
        // Chain: a hidden slice handles and sends its 58,048 weights at
        // 183 + 30 + 10 cycles (41 entries); the first packet passes 32 stages.
        assert_eq!(c, GradientCycles { direct: 32 * 5_803 * 183 + 55, chain: 58_048 * 223 + 32 * (223 + 55) });
        assert_eq!((c.direct, c.chain), (33_982_423, 12_953_600));
        // One copy: the chain is never cheaper.
        let one = GradientTraffic { copies: 1, ..yinyang };
        let c = s.gradient_cycles(&one);
        assert!(c.chain >= c.direct, "{c:?}");
    }

    #[test]
    fn mesh_route_edges_count_hops() {
        let e = mesh_route_edges(&SPINNAKER2, (1, 1), (7, 6));
        assert_eq!(e.count_ones(), 11);
        let e2 = mesh_route_edges(&SPINNAKER2, (7, 6), (1, 1));
        assert_eq!(e2.count_ones(), 11);
        assert_eq!(mesh_route_edges(&SPINNAKER2, (3, 3), (3, 3)), 0);
        // Two routes that share their first leg share its edges.
        let a = mesh_route_edges(&SPINNAKER2, (1, 1), (5, 1));
        let b = mesh_route_edges(&SPINNAKER2, (1, 1), (5, 2));
        assert_eq!((a | b).count_ones(), 5);
    }
}
