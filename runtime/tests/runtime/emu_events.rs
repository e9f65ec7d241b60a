//! Event inputs on the emulated chip: the host writes each epoch's (augmented)
//! event lists into DRAM, every input PE fetches its sample's events by DMA
//! (`snnc_compiler::lower::input_events`), and training is bit-identical to
//! the reference trainer: the order task of `examples/recurrent.snn`
//! (recurrent delay line, `li` readout) with both mappings, and the
//! h5py-written SHD-layout fixture with every augmentation. DMA traffic is
//! counted; a split that does not fit DRAM is refused with its sizes.

use std::path::Path;

use crate::load::load;
use crate::slow;

use snnc_runtime::emu::{EmuError, Emulator, SampleInput};
use snnc_runtime::train::trainer::{Prepared, TrainState, run_epoch};

fn example(name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    std::fs::read_to_string(dir.join(name)).expect("the example")
}

/// Two epochs in the emulator and in the reference trainer: the same
/// metrics, weights and optimiser state, bit for bit.
pub(crate) fn two_epochs_match(p: &Prepared, emu: &mut Emulator, weights: Vec<Vec<f32>>) {
    let mut reference = TrainState::new(p, 0, Some(weights.clone()));
    let mut emulated = TrainState::new(p, 0, Some(weights));
    for _ in 0..2 {
        let want = run_epoch(p, &mut reference, &mut |_, _| {}).unwrap();
        let got = snnc_runtime::emu::train::run_epoch(p, &mut emulated, emu, &mut |_, _| {}).unwrap();
        assert_eq!((got.epoch, got.train_loss, got.train_accuracy), (want.epoch, want.train_loss, want.train_accuracy));
        assert_eq!((got.validation_loss, got.validation_accuracy), (want.validation_loss, want.validation_accuracy));
        assert_eq!(emulated.weights, reference.weights);
        assert_eq!(emulated.optimizer, reference.optimizer);
    }
}

/// `examples/recurrent.snn` on fewer samples and a smaller batch.
pub(crate) fn order_task(mapping: &str) -> String {
    let text = example("recurrent.snn")
        .replace(
            "order(train = 2000 @ seed 42, validation = 500 @ seed 41, test = 500 @ seed 40)",
            "order(train = 48 @ seed 42, validation = 16 @ seed 41, test = 16 @ seed 40)",
        )
        .replace("batch     = 32", "batch     = 8")
        .replace("mapping = single_copy", &format!("mapping = {mapping}"));
    assert!(text.contains("train = 48") && text.contains("batch     = 8"), "the example's lines moved");
    text
}

fn order_task_trains_identically(mapping: &str) -> Emulator {
    let l = load("recurrent.snn", &order_task(mapping), None);
    let mut emu = Emulator::new(l.program, &l.mapped.machine, &l.mapped.routing.tables).unwrap();
    assert!(emu.reads_dram());
    two_epochs_match(&l.p, &mut emu, l.weights);
    emu
}

#[test]
fn the_order_task_trains_bit_identically_from_dram_single_copy() {
    if slow::skip("the_order_task_trains_bit_identically_from_dram_single_copy") {
        return;
    }
    let emu = order_task_trains_identically("single_copy");
    let c = emu.counters();
    // Two epochs of 48 training and 16 validation samples, each sample's
    // events fetched by at least one transfer.
    assert!(c.dma_transfers >= 2 * 64, "{c:?}");
    assert!(c.dma_bytes > 0 && c.dma_cycles > c.dma_transfers * 50, "{c:?}");
    assert!(c.dram_written_bytes > 0, "{c:?}");
}

#[test]
fn the_order_task_trains_bit_identically_from_dram_batch_parallel() {
    if slow::skip("the_order_task_trains_bit_identically_from_dram_batch_parallel") {
        return;
    }
    let emu = order_task_trains_identically("batch_parallel");
    assert_eq!(emu.program().copies, 8);
}

/// A batch's end with several optimiser PEs, which drain the copies'
/// gradients side by side when there is a second thread: an epoch of the
/// order task on 8 copies gives the same metrics, weights, optimiser state
/// and counters on one thread and on two.
#[test]
fn the_order_task_does_not_depend_on_the_thread_count() {
    if slow::skip("the_order_task_does_not_depend_on_the_thread_count") {
        return;
    }
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let l = load("recurrent.snn", &order_task("batch_parallel"), None);
            let optimisers =
                l.program.cores.iter().filter(|c| c.role == snnc_compiler::partition::Role::Optimiser).count();
            assert!(optimisers > 1, "{optimisers} optimiser PEs");
            let mut emu = Emulator::new(l.program, &l.mapped.machine, &l.mapped.routing.tables).unwrap();
            let mut state = TrainState::new(&l.p, 0, Some(l.weights));
            let m = snnc_runtime::emu::train::run_epoch(&l.p, &mut state, &mut emu, &mut |_, _| {}).unwrap();
            let metrics = (m.train_loss, m.train_accuracy, m.validation_loss, m.validation_accuracy);
            (metrics, state.weights, state.optimizer, format!("{:?}", emu.counters()))
        })
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(one.0, two.0, "metrics");
    assert!(one.1 == two.1, "weights differ");
    assert!(one.2 == two.2, "optimiser states differ");
    assert_eq!(one.3, two.3, "counters");
}

/// The SHD-layout fixture (h5py-written, 60 training samples, 700 channels
/// pooled to 140 inputs over two input PEs) with shift, blend, dilation and
/// jitter: each epoch's augmented samples are written into DRAM, and both
/// backends see the same inputs.
fn shd_fixture() -> String {
    "network n {
    time { dt = 1 ms; steps = 500 }
    population i = spike_source(140) { encoding = events(pool = 5) }
    population h = lif(16)
    population o = li(20)
    projection i -> h = dense { init = normal(mean = 0.5, std = 0.5, scale = fan_in_sqrt) }
    projection h -> o = dense { init = normal(mean = 0, std = 1, scale = fan_in_sqrt) }
}
train {
    data = shd(train = \"../tests/fixtures/h5/shd_small_train.h5\", test = \"../tests/fixtures/h5/shd_small_test.h5\", validation = speakers(3))
    readout = o
    loss = sum_voltage_cross_entropy()
    augment = (shift(40), blend(p = 0.5), dilate(0.9 .. 1.1), jitter(1 ms))
    batch = 8
    epochs = 2
}
target spinnaker2 { neurons_per_core = 70 }
"
    .to_string()
}

#[test]
fn the_shd_fixture_with_augmentation_trains_bit_identically_from_dram() {
    if slow::skip("the_shd_fixture_with_augmentation_trains_bit_identically_from_dram") {
        return;
    }
    let l = load("shd_fixture.snn", &shd_fixture(), None);
    let inputs = l.program.cores.iter().filter(|c| c.population_name == "i").count();
    assert_eq!(inputs, 2 * 8, "two input PEs per batch copy");
    let mut emu = Emulator::new(l.program, &l.mapped.machine, &l.mapped.routing.tables).unwrap();
    two_epochs_match(&l.p, &mut emu, l.weights);
    let c = emu.counters();
    assert!(c.dma_transfers > 0 && c.dma_bytes > 0 && c.dram_written_bytes > 0, "{c:?}");
    eprintln!(
        "shd fixture, 2 epochs: {} bytes written into DRAM, {} DMA transfers, {} bytes, {} cycles",
        c.dram_written_bytes, c.dma_transfers, c.dma_bytes, c.dma_cycles
    );
}

/// A chip whose DRAM is too small for the split: refused before anything
/// runs, naming the chip, the bytes needed and the capacity.
#[test]
fn a_split_that_does_not_fit_dram_is_refused_with_its_sizes() {
    let mut l = load("recurrent.snn", &order_task("single_copy"), None);
    l.mapped.machine.spec.dram_bytes = 1024;
    let mut emu = Emulator::new(l.program, &l.mapped.machine, &l.mapped.routing.tables).unwrap();
    let events = l.p.train.event_count() as u64;
    let err = emu.load_inputs(&l.p.train).unwrap_err();
    assert!(matches!(err, EmuError::DramFull { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("the input event lists of 48 samples need {} bytes of DRAM on chip (0, 0), which has 1024", 4 * events)
    );
    assert_eq!(miette::Diagnostic::code(&err).unwrap().to_string(), "snn::emu::dram_full");
    // Without the split in DRAM a sample cannot start.
    let err = emu.run_batch(&[SampleInput::of(&l.p.train, 0)], None).unwrap_err();
    assert!(matches!(err, EmuError::NoInputData { sample: 0, loaded: 0 }), "{err:?}");
}
