//! The input PE of an event-stream input (`encoding = events(..)`): its
//! sample's events live in the chip's DRAM and reach the PE by DMA.
//!
//! Input: the slice's size `n` (its inputs, each event's channel below it),
//! the receive-table length, whether its spikes go anywhere.
//! Output: the kernel template. Its host interface (the emulator's
//! `emu::dram`, the firmware's event loop `s2_run.c`):
//! - DRAM holds, per sample, the slice's events as words `step << 16 |
//!   channel` (channel relative to the slice), sorted by step, then channel,
//!   at most one per channel and step: the reference's per-sample CSR event
//!   lists (`runtime/src/data/encode.rs`) restricted to the slice, in the
//!   order the reference delivers them (`docs/contract.md` section 9);
//! - per sample the host writes `ev_next` (DRAM word address of the first
//!   event), `ev_left` (events), `ev_have = 0` and the descriptor `dma`
//!   of the first transfer ([`first_transfer`]);
//! - `dma = [src, dst, words]`: a pending transfer of `words` 32-bit words
//!   from DRAM word address `src` into data-memory word `dst`; the DMA engine
//!   (the emulator, `s2_run.c` through the HAL's `s2_dma_read`) completes it
//!   before the PE's next forward tick and sets `words` to 0.
//!
//! Forward tick `n`: the window `ev_win` (`n` words) holds the sample's next
//! unsent events in order; every event of step `n` is a prefix of it (at
//! most one per channel and step, so at most `n` of them, and every earlier
//! step was sent): each is sent (`tx[spike] | channel`, in window order),
//! the rest moves to the front, and a transfer refills the window from DRAM
//! (`min(room, ev_left)` words), so the next tick finds its step's events.
//!
//! Invariant: the spikes sent at tick `n` are exactly the sample's events of
//! step `n`, in ascending channel order: the latency input's
//! (`kernels::input`) packets for one-spike data.

use crate::ir::program::{SLOT_SPIKE, buffers};
use crate::kernel::{EntryPoint, Expr, FunctionBuilder, Kernel, KernelBuilder, Ty};

/// Words of each DMA descriptor: source, destination, length.
pub const DESCRIPTOR_WORDS: u32 = 3;

/// The event word of `(step, channel)` (channel relative to the slice).
pub fn event_word(step: u32, channel: u32) -> u32 {
    step << 16 | channel
}

/// Whether a slice of `n` inputs over `steps` steps fits the event word.
pub fn fits_event_word(n: u32, steps: u32) -> bool {
    n <= 1 << 16 && steps <= 1 << 16
}

/// The words the host writes into an event-input PE to start a sample whose
/// `events` events start at DRAM word address `src`, for a window of
/// `window` words at data-memory word `window_word`: `(ev_next, ev_left,
/// ev_have, dma)`, the first transfer pending.
pub fn first_transfer(src: u32, events: u32, window: u32, window_word: u32) -> (u32, u32, u32, [u32; 3]) {
    let words = events.min(window);
    (src + words, events - words, words, [src, window_word, words])
}

/// The kernel of an event-input slice of `n` inputs.
pub fn input_events(name: &str, n: u32, rx_len: u32, sends: bool) -> Kernel {
    let mut k = KernelBuilder::new(&format!("input_events_{name}"));
    let tx = k.buffer(buffers::TX, Ty::U32, 4);
    // The receive table every kernel has (an input PE receives nothing).
    for b in ["rx_key", "rx_mask", "rx_lo", "rx_hi"] {
        k.buffer(b, Ty::U32, rx_len);
    }
    k.buffer(buffers::RX_OFF, Ty::I32, rx_len);
    k.buffer(buffers::RX_TAG, Ty::I32, rx_len);
    k.buffer("step", Ty::I32, 1);
    let next = k.buffer(buffers::EV_NEXT, Ty::U32, 1);
    let left = k.buffer(buffers::EV_LEFT, Ty::U32, 1);
    let have = k.buffer(buffers::EV_HAVE, Ty::U32, 1);
    let dma = k.buffer(buffers::DMA, Ty::U32, DESCRIPTOR_WORDS);
    let window_word = (k.next_offset() / 4) as u32;
    let win = k.buffer(buffers::EV_WIN, Ty::U32, n);
    if !sends {
        return k.finish();
    }
    let mut f = FunctionBuilder::new(EntryPoint::TickForward);
    let step = f.params()[0];
    let zero = || Expr::u32(0);
    let now = f.let_("now", step.get().convert(crate::kernel::ConvertOp::I32AsU32));
    let had = f.let_("had", have.at(zero()));
    let sent = f.let_("sent", zero());
    f.for_range("i", zero(), Expr::u32(n), |f, i| {
        let due = i.get().lt(had.get()) & (win.at(i.get()) >> Expr::u32(16)).equals(now.get());
        f.if_(due, |f| {
            f.send(tx.at(Expr::u32(SLOT_SPIKE)) | (win.at(i.get()) & Expr::u32(0xffff)));
            f.assign(sent, sent.get() + Expr::u32(1));
        });
    });
    f.if_(sent.get().gt(zero()), |f| {
        f.for_range("j", zero(), Expr::u32(n), |f, j| {
            f.if_((j.get() + sent.get()).lt(had.get()), |f| {
                f.store(win, j.get(), win.at(j.get() + sent.get()));
            });
        });
        f.store(have, zero(), had.get() - sent.get());
    });
    let kept = f.let_("kept", have.at(zero()));
    let words = f.let_("words", (Expr::u32(n) - kept.get()).min(left.at(zero())));
    f.if_(words.get().gt(zero()), |f| {
        f.store(dma, Expr::u32(0), next.at(zero()));
        f.store(dma, Expr::u32(1), Expr::u32(window_word) + kept.get());
        f.store(dma, Expr::u32(2), words.get());
        f.store(next, zero(), next.at(zero()) + words.get());
        f.store(left, zero(), left.at(zero()) - words.get());
        f.store(have, zero(), kept.get() + words.get());
    });
    k.define(f.finish());
    k.finish()
}

/// The data-memory word of an event-input kernel's window.
pub fn window_word(kernel: &Kernel) -> Option<u32> {
    kernel.buffers.iter().find(|b| b.name == buffers::EV_WIN).map(|b| b.offset / 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{DEFAULT_DATA_BUDGET, verify};

    /// SHD's 700 channels on one PE: the kernel verifies within the data
    /// budget, its window is the last buffer, and the first transfer of a
    /// sample fills the window or takes every event.
    #[test]
    fn the_event_input_kernel_verifies_and_its_first_transfer_fills_the_window() {
        let k = input_events("input", 700, 1, true);
        assert!(k.buffers.iter().map(|b| b.end()).max().unwrap() <= u64::from(DEFAULT_DATA_BUDGET));
        let v = verify(&k).expect("verifies");
        let (_, win) = v.buffer_named(buffers::EV_WIN).unwrap();
        assert_eq!((win.len, window_word(&v)), (700, Some(win.offset / 4)));
        assert_eq!(first_transfer(100, 5000, 700, 40), (800, 4300, 700, [100, 40, 700]));
        assert_eq!(first_transfer(100, 3, 700, 40), (103, 0, 3, [100, 40, 3]));
        assert_eq!(event_word(999, 699), 999 << 16 | 699);
        assert!(fits_event_word(700, 1000) && !fits_event_word(70_000, 10));
    }
}
