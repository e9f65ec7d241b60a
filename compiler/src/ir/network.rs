//! The checked network: the IR that every stage after `check` consumes.
//!
//! Input: produced only by [`crate::check`] (or by the programmatic
//! [`NetworkBuilder`] in tests and tools).
//! Output: read by the partitioner, the placer, the lowering and the runtime.
//!
//! Invariants (established by `check`, relied on everywhere downstream):
//! - every quantity is in SI units (seconds, hertz) or in explicit steps, with
//!   every default filled in; every time that must lie on the grid does
//!   (delays, windows, spike times): a whole number of steps;
//! - every projection goes from an existing population to a layer (`lif` or
//!   `li`); spike sources have no incoming projections, `li` populations no
//!   outgoing ones; the graph may have cycles (every projection delays by at
//!   least one step, `docs/contract.md` section 1);
//! - every projection has at least one delay, ascending, each `< steps - 1`;
//! - every population has `size >= 1`, `tau_mem > 0`, `tau_syn > 0`,
//!   `tau_mem != tau_syn`, `threshold > 0`; `steps >= 2`, `dt > 0`;
//! - `train.readout` (when present) names a layer with no outgoing
//!   projections whose kind fits the loss (`lif` for first-spike losses,
//!   `li` for voltage losses), and the data's class count equals its size;
//!   a regulariser names `lif` populations.
//!
//! Node and edge indices are stable: they are the declaration order in the
//! source, and downstream code iterates populations in index order (never in
//! petgraph's neighbour order, which is reverse insertion order).

use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};

// Each neuron model's parameters live in its folder (`compiler/src/models/`).
#[path = "../models/li/params.rs"]
mod li_params;
#[path = "../models/lif/params.rs"]
mod lif_params;
pub use li_params::LiParams;
pub use lif_params::{LifParams, Reset};

/// A byte range into the source text, kept so that later stages (the placer's
/// does-not-fit error) can point back at the declaration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        (s.start, s.end.saturating_sub(s.start)).into()
    }
}

/// A whole, checked `.snn` file.
#[derive(Clone, Debug)]
pub struct ValidNetwork {
    pub name: String,
    pub time: TimeGrid,
    /// Populations are nodes, projections are edges (pre -> post).
    pub graph: DiGraph<Population, Projection>,
    /// Present when the file has a `train` block.
    pub train: Option<TrainSpec>,
    /// The `target spinnaker2` block, defaults filled in when absent.
    pub target: TargetSpec,
}

/// The simulation time grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeGrid {
    /// Step length in seconds.
    pub dt: f64,
    /// Number of steps `T` (steps `0 .. T-1`).
    pub steps: u32,
}

/// A time that the user gave either in time units or in steps. Resolved
/// against a grid only when needed, so that a spec can be re-simulated at
/// another `dt` (the gradient check does) with constants fixed in time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeValue {
    Seconds(f64),
    Steps(f64),
}

impl TimeValue {
    /// The value in steps of the given grid (not rounded).
    pub fn in_steps(self, dt: f64) -> f64 {
        match self {
            TimeValue::Seconds(s) => s / dt,
            TimeValue::Steps(n) => n,
        }
    }
    /// The value in seconds on the given grid.
    pub fn in_seconds(self, dt: f64) -> f64 {
        match self {
            TimeValue::Seconds(s) => s,
            TimeValue::Steps(n) => n * dt,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Population {
    pub name: String,
    /// Number of neurons (for a spike source: inputs, including the bias input).
    pub size: u32,
    pub kind: PopulationKind,
    /// The whole `population ... = ...` declaration.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PopulationKind {
    SpikeSource(SpikeSource),
    Lif(LifParams),
    Li(LiParams),
}

impl Population {
    /// The LIF parameters, when this is a `lif` population.
    pub fn lif(&self) -> Option<&LifParams> {
        match &self.kind {
            PopulationKind::Lif(p) => Some(p),
            _ => None,
        }
    }
    /// The leaky-integrator parameters, when this is an `li` population.
    pub fn li(&self) -> Option<&LiParams> {
        match &self.kind {
            PopulationKind::Li(p) => Some(p),
            _ => None,
        }
    }
    /// How a `lif` or `li` population steps its membrane (`None` for a
    /// spike source).
    pub fn integration(&self) -> Option<Integration> {
        match &self.kind {
            PopulationKind::Lif(p) => Some(p.integration),
            PopulationKind::Li(p) => Some(p.integration),
            PopulationKind::SpikeSource(_) => None,
        }
    }
    pub fn spike_source(&self) -> Option<&SpikeSource> {
        match &self.kind {
            PopulationKind::SpikeSource(s) => Some(s),
            _ => None,
        }
    }
    /// Whether this is a layer: neurons with state (`lif` or `li`), which
    /// receive projections, hold weights and run on layer PEs.
    pub fn is_layer(&self) -> bool {
        !matches!(self.kind, PopulationKind::SpikeSource(_))
    }
    /// Whether its neurons emit spikes (a spike source or `lif`).
    pub fn spikes(&self) -> bool {
        !matches!(self.kind, PopulationKind::Li(_))
    }
    /// A layer's `f32` constants on a grid of step `dt` (`None` for a spike source).
    pub fn layer_consts(&self, dt: f64) -> Option<LayerConsts> {
        match &self.kind {
            PopulationKind::Lif(p) => Some(p.f32_consts(dt)),
            PopulationKind::Li(p) => Some(p.f32_consts(dt)),
            PopulationKind::SpikeSource(_) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SpikeSource {
    pub encoding: Encoding,
    /// The bias input: the last neuron of the population spikes once at this time.
    pub bias: Option<TimeValue>,
}

impl SpikeSource {
    /// The seed paper's input code: `early_high` latency, `t_min` = 2 steps,
    /// clipped below at 0.01, with a bias spike at step 0.
    pub fn seed_latency() -> SpikeSource {
        SpikeSource {
            encoding: Encoding::Latency(LatencyEncoding {
                order: LatencyOrder::EarlyHigh,
                t_min: TimeValue::Steps(2.0),
                t_max: None,
                clip_low: 0.01,
            }),
            bias: Some(TimeValue::Steps(0.0)),
        }
    }

    /// Number of data features this source encodes (its size minus the bias input).
    pub fn feature_count(&self, size: u32) -> u32 {
        size - u32::from(self.bias.is_some())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Encoding {
    /// One spike per feature; see `docs/contract.md` section 8.
    Latency(LatencyEncoding),
    /// Event streams (spike times and channels) binned onto the grid; see
    /// `docs/contract.md` section 9.
    Events(EventEncoding),
}

/// `events(pool, duration)`: how event streams become input spikes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EventEncoding {
    /// Adjacent channels merged into one input: input `i` takes channels
    /// `pool * i .. pool * (i + 1)`.
    pub pool: u32,
    /// The input window: events at or past it are dropped (counted). `None`:
    /// the whole trial. On the grid, at most the trial.
    pub duration: Option<TimeValue>,
}

impl EventEncoding {
    /// The window in steps of a grid of step `dt` and `steps` steps.
    pub fn window_steps(&self, dt: f64, steps: u32) -> u32 {
        self.duration.map_or(steps, |d| (d.in_steps(dt).round() as u32).min(steps))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LatencyEncoding {
    pub order: LatencyOrder,
    /// Earliest spike time.
    pub t_min: TimeValue,
    /// Latest spike time; `None` means the last step `T-1` (early_high's default).
    pub t_max: Option<TimeValue>,
    /// Feature values are clipped below at this value before encoding.
    pub clip_low: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LatencyOrder {
    /// High values spike early: step = round(t_min + (T-1-t_min)(1-v)).
    EarlyHigh,
    /// High values spike late: time = t_min + v (t_max - t_min).
    LateHigh,
}

/// How a population's membrane equation is stepped from one grid point to
/// the next (`integration = ..` in `lif` and `li`; `docs/contract.md`
/// section 2). Both step the current exactly (`I[n] = alpha I[n-1] +
/// acc[n]`) and differ only in the current's weight `gamma` in `V[n] = beta
/// V[n-1] + gamma I[n]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Integration {
    /// `gamma = 1 - beta`: the current held at its end-of-step value over
    /// the step (the seed paper's scheme; a PSP's peak is about 10 % x dt/ms
    /// too high for `tau_syn = 5 ms`, `tau_mem = 20 ms`).
    #[default]
    ExponentialEuler,
    /// `gamma = tau_syn / (tau_syn - tau_mem) (alpha - beta)`: the exact
    /// solution of the two linear equations over one step for an input that
    /// arrives at the step's start, so that `V[n]` equals the continuous
    /// model's `V(n dt)` between spikes (exact integration, Rotter &
    /// Diesmann 1999).
    Exact,
}

impl Integration {
    /// The word a spec writes after `integration =`.
    pub fn word(self) -> &'static str {
        match self {
            Integration::ExponentialEuler => "exponential_euler",
            Integration::Exact => "exact",
        }
    }

    /// Every scheme, in the order the checker lists them.
    pub const ALL: [Integration; 2] = [Integration::ExponentialEuler, Integration::Exact];
}

/// The `f32` constants of one layer on a time grid, computed in `f64` and
/// rounded to `f32` once. Every backend (reference trainer, lowering) takes
/// them from [`LayerConsts::new`], so that they are the same bits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerConsts {
    /// `exp(-dt / tau_syn)`.
    pub alpha: f32,
    /// `exp(-dt / tau_mem)`.
    pub beta: f32,
    pub one_minus_alpha: f32,
    /// The current's weight in the membrane update, `V[n] = beta V[n-1] +
    /// gamma I[n]`: `1 - beta`, or the exact step's (see [`Integration`]).
    pub gamma: f32,
    pub theta: f32,
    /// `-tau_syn` in seconds: the gradient scale of section 4 of the contract.
    pub neg_tau_syn: f32,
    /// `-gamma / ((1 - alpha) tau_syn)`: the scale of a loss' direct term in
    /// `lambda_V` (section 4.1 of the contract).
    pub kappa: f32,
}

impl LayerConsts {
    /// The constants of a layer with these time constants (seconds, distinct)
    /// and threshold (`+inf` for a leaky integrator), stepped by
    /// `integration` on a grid of step `dt`.
    pub fn new(tau_mem: f64, tau_syn: f64, threshold: f64, integration: Integration, dt: f64) -> LayerConsts {
        let alpha = (-dt / tau_syn).exp();
        let beta = (-dt / tau_mem).exp();
        let gamma = match integration {
            Integration::ExponentialEuler => 1.0 - beta,
            // V(dt) for V(0) = 0, I(0) = 1: tau_syn / (tau_syn - tau_mem)
            // (e^{-dt/tau_syn} - e^{-dt/tau_mem}); `exp_m1` keeps the
            // difference's digits at small dt.
            Integration::Exact => tau_syn / (tau_syn - tau_mem) * ((-dt / tau_syn).exp_m1() - (-dt / tau_mem).exp_m1()),
        };
        LayerConsts {
            alpha: alpha as f32,
            beta: beta as f32,
            one_minus_alpha: (1.0 - alpha) as f32,
            gamma: gamma as f32,
            theta: threshold as f32,
            neg_tau_syn: (-tau_syn) as f32,
            kappa: (-gamma / ((1.0 - alpha) * tau_syn)) as f32,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    pub kind: Connectivity,
    pub init: Init,
    /// The delays of its copies, ascending (one for a plain projection,
    /// `0 steps` by default; several for a delay line). Each copy has its own
    /// weights; all lie on the grid.
    pub delays: Vec<TimeValue>,
    pub span: Span,
}

impl Projection {
    /// The delays in steps of a grid of step `dt` (whole numbers on the
    /// network's grid, by the checker; on a finer grid, a delay in time
    /// units scales with it and one in steps stays).
    pub fn delay_steps(&self, dt: f64) -> Vec<u32> {
        self.delays.iter().map(|d| d.in_steps(dt).round() as u32).collect()
    }
    /// Whether it is a delay line (several copies).
    pub fn copies(&self) -> usize {
        self.delays.len()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connectivity {
    /// All-to-all, weights of shape `[post, pre]`.
    Dense,
}

/// Weight initialiser. Parameters are divided by the scale factor
/// (`sqrt(fan_in)` for `FanInSqrt`) before sampling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    Normal { mean: f64, std: f64, scale: InitScale },
    Uniform { low: f64, high: f64, scale: InitScale },
    Constant { value: f64, scale: InitScale },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitScale {
    None,
    /// Divide by `sqrt(fan_in)`.
    FanInSqrt,
    /// Divide by `fan_in`.
    FanIn,
}

impl InitScale {
    pub fn factor(self, fan_in: u32) -> f64 {
        match self {
            InitScale::None => 1.0,
            InitScale::FanInSqrt => (fan_in as f64).sqrt(),
            InitScale::FanIn => fan_in as f64,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TrainSpec {
    pub data: DataSpec,
    /// The layer whose first spikes (`lif`) or voltages (`li`) are the class scores.
    pub readout: NodeIndex,
    pub loss: LossSpec,
    /// The spike-count regulariser, when given.
    pub regularizer: Option<SpikeCountRegularizer>,
    pub optimizer: OptimizerSpec,
    pub schedule: Schedule,
    pub batch: u32,
    pub epochs: u32,
    /// Seed of the initialisers and the shuffle (numpy `RandomState` seeds
    /// are 32-bit).
    pub seed: u32,
    /// Drop training points whose encoded spike pattern is identical to that of
    /// a point with another label (off by default).
    pub filter_ambiguous: bool,
    /// Augmentations of event data, applied every epoch in the order
    /// blend, shift, dilate, jitter (at most one of each).
    pub augment: Vec<Augment>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DataSpec {
    YinYang {
        train: SplitSpec,
        validation: SplitSpec,
        test: SplitSpec,
    },
    /// Features then an integer label per row, with a header line.
    /// Paths are as written in the spec (relative to the spec file's folder).
    Csv {
        train: String,
        validation: Option<String>,
        test: Option<String>,
        /// Number of feature columns; the checker compares it with the input
        /// population's feature count.
        features: u32,
        classes: u32,
    },
    /// A seeded synthetic classification set (for networks with no real data
    /// yet, e.g. `examples/large.snn`): Gaussian blobs, one per class.
    Synthetic {
        features: u32,
        classes: u32,
        train: SplitSpec,
        validation: SplitSpec,
        test: SplitSpec,
    },
    /// Event files in the Zenke lab's layout (`spikes/times`, `spikes/units`,
    /// `labels`, `extra/speaker`): the Spiking Heidelberg Digits, the Spiking
    /// Speech Commands, or the user's own. Paths are as written in the spec
    /// (relative to the spec file's folder).
    EventFiles {
        set: EventSet,
        train: String,
        validation: Option<EventValidation>,
        test: Option<String>,
        /// The data's channel count: 700 for SHD and SSC; for `events(..)`
        /// the input's inputs times the pool.
        channels: u32,
        classes: u32,
    },
    /// Seeded synthetic event data with the shape and statistics of SHD.
    ShdLike {
        classes: u32,
        channels: u32,
        splits: [SplitSpec; 3],
        duration: f64,
        seed: u32,
    },
    /// A seeded two-class temporal task: the order of two bursts.
    Order(OrderTask),
}

/// Which event data set a `DataSpec::EventFiles` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventSet {
    /// `shd(..)`: 700 channels, 20 classes.
    Shd,
    /// `ssc(..)`: 700 channels, 35 classes.
    Ssc,
    /// `events(..)`: channels and classes from the network.
    Custom,
}

impl EventSet {
    /// Its name in the language.
    pub fn name(self) -> &'static str {
        match self {
            EventSet::Shd => "shd",
            EventSet::Ssc => "ssc",
            EventSet::Custom => "events",
        }
    }
}

/// Where the validation samples of an event data set come from.
#[derive(Clone, Debug, PartialEq)]
pub enum EventValidation {
    /// A file of its own (SSC publishes one).
    File(String),
    /// A seeded fraction of the training file.
    Fraction { fraction: f64, seed: u32 },
    /// The training file's samples of these speakers (`extra/speaker`).
    Speakers(Vec<u32>),
}

/// `order(..)`: two bursts on two channel groups, `gap` apart; the class is
/// which group bursts first (`docs/language.md`, "Event data sets").
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrderTask {
    /// Even; group A is channels `0 .. channels/2`, group B the rest.
    pub channels: u32,
    pub splits: [SplitSpec; 3],
    /// Seconds: the sample's length, the onset gap, a burst's length.
    pub duration: f64,
    pub gap: f64,
    pub burst: f64,
    /// Background Poisson rate per channel, hertz.
    pub noise: f64,
}

impl DataSpec {
    /// The number of feature columns (feature data) or channels (event data).
    pub fn feature_count(&self) -> u32 {
        match self {
            DataSpec::YinYang { .. } => 4,
            DataSpec::Csv { features, .. } | DataSpec::Synthetic { features, .. } => *features,
            DataSpec::EventFiles { channels, .. } | DataSpec::ShdLike { channels, .. } => *channels,
            DataSpec::Order(o) => o.channels,
        }
    }
    pub fn class_count(&self) -> u32 {
        match self {
            DataSpec::YinYang { .. } => 3,
            DataSpec::Csv { classes, .. }
            | DataSpec::Synthetic { classes, .. }
            | DataSpec::EventFiles { classes, .. }
            | DataSpec::ShdLike { classes, .. } => *classes,
            DataSpec::Order(_) => 2,
        }
    }
    /// Whether it holds event streams (fed through `encoding = events(..)`)
    /// rather than feature rows (fed through a latency code).
    pub fn is_events(&self) -> bool {
        matches!(self, DataSpec::EventFiles { .. } | DataSpec::ShdLike { .. } | DataSpec::Order(_))
    }
    /// Its name in the language (`yin_yang`, `shd`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            DataSpec::YinYang { .. } => "yin_yang",
            DataSpec::Csv { .. } => "csv",
            DataSpec::Synthetic { .. } => "synthetic",
            DataSpec::EventFiles { set, .. } => set.name(),
            DataSpec::ShdLike { .. } => "shd_like",
            DataSpec::Order(_) => "order",
        }
    }
}

fn seconds_text(s: f64) -> String {
    crate::check::fmt_time(s)
}

impl DataSpec {
    /// How `snnc check` shows an event data set (`None` for feature data).
    pub fn event_summary(&self) -> Option<String> {
        let split = |s: &SplitSpec| format!("{} @ seed {}", s.size, s.seed);
        match self {
            DataSpec::EventFiles { set, train, validation, test, channels, classes } => {
                let mut s = format!("{}(train = {train:?}", set.name());
                if let Some(t) = test {
                    s += &format!(", test = {t:?}");
                }
                match validation {
                    None => {}
                    Some(EventValidation::File(f)) => s += &format!(", validation = {f:?}"),
                    Some(EventValidation::Fraction { fraction, seed }) => {
                        s += &format!(", validation = {} @ seed {seed}", crate::check::fmt_plain(*fraction))
                    }
                    Some(EventValidation::Speakers(v)) => {
                        let list: Vec<String> = v.iter().map(u32::to_string).collect();
                        s += &format!(", validation = speakers({})", list.join(", "));
                    }
                }
                Some(s + &format!("), {channels} channels, {classes} classes"))
            }
            DataSpec::ShdLike { classes, channels, splits, duration, seed } => Some(format!(
                "shd_like(classes = {classes}, channels = {channels}, train = {}, validation = {}, test = {}, duration = {}, seed = {seed})",
                split(&splits[0]),
                split(&splits[1]),
                split(&splits[2]),
                seconds_text(*duration)
            )),
            DataSpec::Order(o) => Some(format!(
                "order(channels = {}, train = {}, validation = {}, test = {}, duration = {}, gap = {}, burst = {}, noise = {} Hz), 2 classes",
                o.channels,
                split(&o.splits[0]),
                split(&o.splits[1]),
                split(&o.splits[2]),
                seconds_text(o.duration),
                seconds_text(o.gap),
                seconds_text(o.burst),
                crate::check::fmt_plain(o.noise)
            )),
            _ => None,
        }
    }
}

impl EventEncoding {
    /// How `snnc check` shows it, on a grid of step `dt` and `steps` steps.
    pub fn summary(&self, dt: f64, steps: u32) -> String {
        let window = self.window_steps(dt, steps);
        let pool = if self.pool == 1 {
            "one channel per input".to_string()
        } else {
            format!("pool {} channels per input", self.pool)
        };
        format!("events, {pool}, window {window} steps ({})", seconds_text(f64::from(window) * dt))
    }
}

/// How `snnc check` shows a list of augmentations (empty: none).
pub fn augment_summary(list: &[Augment]) -> String {
    let items: Vec<String> = list
        .iter()
        .map(|a| match a {
            Augment::Shift { max } => format!("shift({max})"),
            Augment::Blend { p, keep } => {
                format!("blend(p = {}, keep = {})", crate::check::fmt_plain(*p), crate::check::fmt_plain(*keep))
            }
            Augment::Dilate { low, high } => {
                format!("dilate({} .. {})", crate::check::fmt_plain(*low), crate::check::fmt_plain(*high))
            }
            Augment::Jitter { sigma } => format!("jitter({})", seconds_text(*sigma)),
        })
        .collect();
    items.join(", ")
}

/// A training-time augmentation of event data (mlGeNN's SHD recipe), drawn
/// anew every epoch from the run's seed and the epoch
/// (`docs/contract.md` section 9).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Augment {
    /// Every channel of a sample moved by `trunc(uniform(-max, max))`.
    Shift { max: u32 },
    /// `round(p n)` extra samples per epoch, each two training samples of
    /// one class mixed, every event kept with probability `keep`.
    Blend { p: f64, keep: f64 },
    /// Every time of a sample multiplied by `exp(uniform(ln low, ln high))`.
    Dilate { low: f64, high: f64 },
    /// Every event's time moved by `normal(0, sigma)` (seconds).
    Jitter { sigma: f64 },
}

impl Augment {
    /// Its name in the language.
    pub fn name(&self) -> &'static str {
        match self {
            Augment::Shift { .. } => "shift",
            Augment::Blend { .. } => "blend",
            Augment::Dilate { .. } => "dilate",
            Augment::Jitter { .. } => "jitter",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitSpec {
    pub size: u32,
    pub seed: u32,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LossSpec {
    /// `L = -log softmax(-t/xi)[l] + alpha (exp(t_l / beta) - 1)`, t in steps
    /// (or in seconds, converted on the grid in use). On a `lif` readout.
    FirstSpikeCrossEntropy { xi: TimeValue, alpha: f64, beta: TimeValue },
    /// Softmax cross-entropy on `y_k = max_n V_k[n]` of an `li` readout.
    MaxVoltageCrossEntropy,
    /// Softmax cross-entropy on `y_k = sum_n V_k[n] dt / T` of an `li` readout.
    SumVoltageCrossEntropy,
    /// Softmax cross-entropy on `y_k = sum_{n in [A, B)} exp(-(t_n - A)/(B - A))
    /// dt/(B - A) V_k[n]` of an `li` readout; `None`: the whole trial.
    ExpWeightedVoltageCrossEntropy { window: Option<(TimeValue, TimeValue)> },
}

impl LossSpec {
    /// Its name in the language.
    pub fn name(&self) -> &'static str {
        match self {
            LossSpec::FirstSpikeCrossEntropy { .. } => "first_spike_cross_entropy",
            LossSpec::MaxVoltageCrossEntropy => "max_voltage_cross_entropy",
            LossSpec::SumVoltageCrossEntropy => "sum_voltage_cross_entropy",
            LossSpec::ExpWeightedVoltageCrossEntropy { .. } => "exp_weighted_voltage_cross_entropy",
        }
    }
    /// Whether it reads voltages (an `li` readout) rather than spikes.
    pub fn on_voltage(&self) -> bool {
        !matches!(self, LossSpec::FirstSpikeCrossEntropy { .. })
    }
}

/// The steps `first .. end` of an exp-weighted voltage loss' window on
/// `grid` (`n >= 1` and `A <= t_n < B`, `docs/contract.md` section 6) and
/// the weight `w[n] = f32(exp(-(t_n - A)/(B - A)) dt/(B - A))` of each step
/// `0 .. T` (`None` outside the window). The window's ends are whole steps
/// of the grid it was checked on; on a finer grid a window in time units
/// scales with it.
pub fn exp_window(grid: TimeGrid, window: Option<(TimeValue, TimeValue)>) -> (u32, u32, Vec<Option<f32>>) {
    let steps = grid.steps as usize;
    let (a, b) = match window {
        Some((a, b)) => (a.in_steps(grid.dt).round() as i64, b.in_steps(grid.dt).round() as i64),
        None => (0, steps as i64),
    };
    let span = (b - a) as f64 * grid.dt;
    let w = (0..steps)
        .map(|n| {
            let n = n as i64;
            (n >= 1 && n >= a && n < b).then(|| {
                let t = (n - a) as f64 * grid.dt;
                ((-t / span).exp() * grid.dt / span) as f32
            })
        })
        .collect();
    (a.max(1) as u32, b as u32, w)
}

/// mlGeNN's spike-count regulariser (`docs/contract.md` section 7).
#[derive(Clone, Debug, PartialEq)]
pub struct SpikeCountRegularizer {
    /// The `lif` populations it applies to, in the order written.
    pub populations: Vec<NodeIndex>,
    /// `s_up`: the strength when a neuron spikes more than `target` times.
    pub strength: f64,
    /// `s_lo`: the strength otherwise.
    pub strength_below: f64,
    /// `nu`: the spike count per neuron and sample aimed at.
    pub target: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerSpec {
    /// PyTorch `Adam(weight_decay=...)`: L2 decay added to the gradient.
    Adam { lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64 },
    /// PyTorch `SGD(momentum=..., weight_decay=...)`.
    Sgd { lr: f64, momentum: f64, weight_decay: f64 },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    Constant,
    /// lr multiplied by `per_epoch` every epoch, applied per batch as
    /// `per_epoch^(1/batches_per_epoch)`.
    Exponential {
        per_epoch: f64,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct TargetSpec {
    pub machine: MachineSize,
    /// Clock in hertz.
    pub clock_hz: f64,
    pub mapping: Mapping,
    /// Batch copies with `mapping = batch_parallel` (`copies = N`, a divisor
    /// of the batch): each runs `batch / N` samples one after another.
    /// `None`: one copy per sample.
    pub copies: Option<u32>,
    /// How the batch copies' gradients reach the optimiser (`gradients = ..`).
    pub gradients: GradientScheme,
    /// Optional cap on neurons per PE (`neurons_per_core = N`).
    pub neurons_per_core: Option<u32>,
    /// Where every layer slice keeps its synapses (`synapses = sram | dram`);
    /// `None` (`auto`, the default): the partitioner's rule (`crate::resources`).
    pub synapses: Option<Synapses>,
    /// The block's span, or an empty span at 0 when the block is absent.
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MachineSize {
    Chips(u32),
    /// A 48-chip board.
    Board48,
}

/// Where a layer slice keeps its weights, its gradients and its input-spike
/// record: in the PE's SRAM, or in its chip's DRAM (read and written by DMA
/// through SRAM row buffers and an input-record window).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Synapses {
    #[default]
    Sram,
    Dram,
}

impl Synapses {
    pub fn name(self) -> &'static str {
        match self {
            Synapses::Sram => "sram",
            Synapses::Dram => "dram",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapping {
    /// One copy of the network per sample of the batch (the seed paper).
    BatchParallel,
    /// One copy; the batch is processed sample after sample.
    SingleCopy,
}

/// How the batch copies' gradients reach the optimiser PEs
/// (`docs/machine.md`, "Gradient traffic"): the spec's choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GradientScheme {
    /// The partitioner's cost model picks `Direct` or `Chain`.
    Auto,
    /// Every copy sends each gradient to the optimiser.
    Direct,
    /// Copy `c` adds its gradients to copy `c - 1`'s partial sums and
    /// passes them on; only the last copy's sums reach the optimiser.
    Chain,
}

impl GradientScheme {
    pub fn name(self) -> &'static str {
        match self {
            GradientScheme::Auto => "auto",
            GradientScheme::Direct => "direct",
            GradientScheme::Chain => "chain",
        }
    }
}

impl Default for TargetSpec {
    fn default() -> Self {
        TargetSpec {
            machine: MachineSize::Chips(1),
            clock_hz: 300e6,
            mapping: Mapping::BatchParallel,
            copies: None,
            gradients: GradientScheme::Auto,
            neurons_per_core: None,
            synapses: None,
            span: Span::default(),
        }
    }
}

impl ValidNetwork {
    /// Whether each layer slice keeps the sum of the batch's gradients
    /// itself: one copy for a training batch of several samples (`mapping =
    /// single_copy`), whose samples run one after another. Each sample's
    /// gradient is added to the slice's batch sum at `end_of_sample`, in
    /// sample order (the contract's `((0 + g_0) + g_1) + ...`), and only the
    /// sums travel to the optimiser at the batch's end.
    pub fn layers_sum_the_batch(&self) -> bool {
        self.batch_copies() == 1 && self.train.as_ref().is_some_and(|t| t.batch > 1)
    }

    /// The batch copies the mapping runs: one per sample of the batch
    /// (`batch_parallel`), `copies = N` of them, or one (`single_copy`, or a
    /// network without training).
    pub fn batch_copies(&self) -> u32 {
        match (self.target.mapping, &self.train) {
            (Mapping::BatchParallel, Some(t)) => self.target.copies.unwrap_or(t.batch).clamp(1, t.batch.max(1)),
            _ => 1,
        }
    }

    /// The gradients each layer slice keeps apart, one per sample it runs
    /// in a batch: `batch / copies` with several copies that each run
    /// several samples (`copies = N`; the chain adds them in sample order
    /// onto the previous copy's sums), else 1.
    pub fn gradient_slots(&self) -> u32 {
        let copies = self.batch_copies();
        match &self.train {
            Some(t) if copies > 1 => t.batch / copies,
            _ => 1,
        }
    }

    /// Populations in declaration order.
    pub fn populations(&self) -> impl Iterator<Item = (NodeIndex, &Population)> {
        self.graph.node_indices().map(move |i| (i, &self.graph[i]))
    }

    /// Projections in declaration order, as (edge, pre, post, projection).
    pub fn projections(&self) -> impl Iterator<Item = (EdgeIndex, NodeIndex, NodeIndex, &Projection)> {
        self.graph.edge_indices().map(move |e| {
            let (a, b) = self.graph.edge_endpoints(e).expect("edge index from this graph");
            (e, a, b, &self.graph[e])
        })
    }

    /// Projections into `post`, in declaration order.
    pub fn incoming(&self, post: NodeIndex) -> Vec<(EdgeIndex, NodeIndex)> {
        self.projections().filter(|p| p.2 == post).map(|p| (p.0, p.1)).collect()
    }

    /// Projections out of `pre`, in declaration order.
    pub fn outgoing(&self, pre: NodeIndex) -> Vec<(EdgeIndex, NodeIndex)> {
        self.projections().filter(|p| p.1 == pre).map(|p| (p.0, p.2)).collect()
    }

    /// Total fan-in of a population: its fan-in positions, the sum over its
    /// incoming projections of pre size times copies (`docs/contract.md` section 1).
    pub fn fan_in(&self, post: NodeIndex) -> u32 {
        self.incoming(post).iter().map(|(e, pre)| self.graph[*pre].size * self.graph[*e].copies() as u32).sum()
    }

    /// Populations in a topological order that is stable: among ready
    /// populations, the lowest declaration index comes first; where a cycle
    /// leaves none ready, the lowest undone index goes next (so a
    /// feed-forward network gets its topological order, and every network a
    /// deterministic one).
    pub fn topological_order(&self) -> Vec<NodeIndex> {
        let n = self.graph.node_count();
        let mut indegree = vec![0usize; n];
        for (_, _, post, _) in self.projections() {
            indegree[post.index()] += 1;
        }
        let mut done = vec![false; n];
        let mut order = Vec::with_capacity(n);
        while order.len() < n {
            let Some(next) = (0..n).find(|&i| !done[i] && indegree[i] == 0).or_else(|| (0..n).find(|&i| !done[i]))
            else {
                break;
            };
            done[next] = true;
            order.push(NodeIndex::new(next));
            for (_, post) in self.outgoing(NodeIndex::new(next)) {
                indegree[post.index()] = indegree[post.index()].saturating_sub(1);
            }
        }
        order
    }

    /// The projection name used in weight files: `<pre>-><post>`.
    pub fn projection_name(&self, e: EdgeIndex) -> String {
        let (a, b) = self.graph.edge_endpoints(e).expect("edge index from this graph");
        format!("{}->{}", self.graph[a].name, self.graph[b].name)
    }

    /// This network with every `lif` and `li` population stepped by
    /// `integration` (`snnc gradcheck --integration`).
    pub fn with_integration(&self, integration: Integration) -> ValidNetwork {
        let mut net = self.clone();
        for p in net.graph.node_weights_mut() {
            match &mut p.kind {
                PopulationKind::Lif(l) => l.integration = integration,
                PopulationKind::Li(l) => l.integration = integration,
                PopulationKind::SpikeSource(_) => {}
            }
        }
        net
    }

    pub fn population_by_name(&self, name: &str) -> Option<NodeIndex> {
        self.graph.node_indices().find(|&i| self.graph[i].name == name)
    }

    /// Whether `other` is the same network, trained and mapped the same
    /// way: everything equal but the source spans (so two files that differ
    /// only in comments, spacing or order of entries are the same).
    pub fn same_as(&self, other: &ValidNetwork) -> bool {
        let pops = |n: &ValidNetwork| -> Vec<Population> {
            n.graph.node_weights().map(|p| Population { span: Span::default(), ..p.clone() }).collect()
        };
        let projs = |n: &ValidNetwork| -> Vec<(usize, usize, Projection)> {
            n.projections()
                .map(|(_, a, b, p)| (a.index(), b.index(), Projection { span: Span::default(), ..p.clone() }))
                .collect()
        };
        let train = |n: &ValidNetwork| n.train.clone().map(|t| TrainSpec { span: Span::default(), ..t });
        let target = |n: &ValidNetwork| TargetSpec { span: Span::default(), ..n.target.clone() };
        self.name == other.name
            && self.time == other.time
            && pops(self) == pops(other)
            && projs(self) == projs(other)
            && train(self) == train(other)
            && target(self) == target(other)
    }

    /// Number of trainable weights (every copy of a delay line counts).
    pub fn trainable_parameters(&self) -> u64 {
        self.projections()
            .map(|(_, a, b, p)| u64::from(self.graph[a].size) * u64::from(self.graph[b].size) * p.copies() as u64)
            .sum()
    }
}

/// Builds a [`ValidNetwork`] in code, for tests and tools that do not start from
/// text. It does not check anything: callers must respect the invariants above.
pub struct NetworkBuilder {
    net: ValidNetwork,
}

impl NetworkBuilder {
    pub fn new(name: &str, dt: f64, steps: u32) -> Self {
        NetworkBuilder {
            net: ValidNetwork {
                name: name.to_string(),
                time: TimeGrid { dt, steps },
                graph: DiGraph::new(),
                train: None,
                target: TargetSpec::default(),
            },
        }
    }

    pub fn population(&mut self, name: &str, size: u32, kind: PopulationKind) -> NodeIndex {
        self.net.graph.add_node(Population { name: name.to_string(), size, kind, span: Span::default() })
    }

    pub fn dense(&mut self, pre: NodeIndex, post: NodeIndex, init: Init) -> EdgeIndex {
        self.dense_delayed(pre, post, init, vec![TimeValue::Steps(0.0)])
    }

    /// A projection with the given delays (a delay line when several).
    pub fn dense_delayed(&mut self, pre: NodeIndex, post: NodeIndex, init: Init, delays: Vec<TimeValue>) -> EdgeIndex {
        self.net.graph.add_edge(
            pre,
            post,
            Projection { kind: Connectivity::Dense, init, delays, span: Span::default() },
        )
    }

    pub fn train(&mut self, train: TrainSpec) -> &mut Self {
        self.net.train = Some(train);
        self
    }

    pub fn target(&mut self, target: TargetSpec) -> &mut Self {
        self.net.target = target;
        self
    }

    pub fn build(self) -> ValidNetwork {
        self.net
    }
}

/// The seed paper's Yin-Yang network (`examples/yinyang.snn`), built in code,
/// with a hidden layer of `hidden` neurons.
pub fn yinyang_network(hidden: u32) -> ValidNetwork {
    let lif = PopulationKind::Lif(LifParams::default());
    let mut b = NetworkBuilder::new("yinyang", 1e-3, 27);
    let input = b.population("input", 5, PopulationKind::SpikeSource(SpikeSource::seed_latency()));
    let h = b.population("hidden", hidden, lif.clone());
    let out = b.population("output", 3, lif);
    b.dense(input, h, Init::Normal { mean: 3.2, std: 3.2, scale: InitScale::FanInSqrt });
    b.dense(h, out, Init::Normal { mean: 5.2, std: 2.8, scale: InitScale::FanInSqrt });
    b.train(TrainSpec {
        data: DataSpec::YinYang {
            train: SplitSpec { size: 5000, seed: 42 },
            validation: SplitSpec { size: 1000, seed: 41 },
            test: SplitSpec { size: 1000, seed: 40 },
        },
        readout: out,
        regularizer: None,
        loss: LossSpec::FirstSpikeCrossEntropy {
            xi: TimeValue::Steps(1.5),
            alpha: 1e-2,
            beta: TimeValue::Steps(100.0),
        },
        optimizer: OptimizerSpec::Adam { lr: 0.0019, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 6.5e-7 },
        schedule: Schedule::Exponential { per_epoch: 0.95 },
        batch: 22,
        epochs: 40,
        seed: 0,
        filter_ambiguous: false,
        augment: Vec::new(),
        span: Span::default(),
    });
    b.build()
}

/// One weight matrix into a layer: a plain projection, or one copy of a
/// delay line (`docs/contract.md` section 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputCopy {
    pub edge: EdgeIndex,
    pub pre: NodeIndex,
    /// Its place among its projection's copies (ascending delay).
    pub copy: u32,
    /// Its delay in steps of the network's grid.
    pub delay: u32,
    pub n_pre: u32,
    /// Its first fan-in (weight) position: weights `W[j][weight_offset + i]`.
    pub weight_offset: u32,
    /// Its projection's first raw input position: the receiving PE records
    /// the pre neurons' spikes once per projection (`raw_offset + i`), every
    /// copy reads them at its own delay.
    pub raw_offset: u32,
    /// Its index among every projection copy of the network (declaration
    /// order, copies ascending): the order of weight tensors in memory.
    pub expanded: usize,
}

/// A delayed projection from a spiking layer into this one: in the backward
/// pass the errors of its copies are summed per presynaptic spike in a ring
/// of `max delay + 1` slots and sent when the backward pass reaches the
/// spike's step (`docs/contract.md` section 4.2, the errors `E`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingProjection {
    pub edge: EdgeIndex,
    pub n_pre: u32,
    pub raw_offset: u32,
    /// Its first position in a ring slot.
    pub ring_offset: u32,
    /// Its smallest delay (copy 0's).
    pub min_delay: u32,
}

/// How a layer's inputs are laid out: weight positions, raw spike-record
/// positions and the error ring (all in declaration order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynapseLayout {
    pub copies: Vec<InputCopy>,
    /// Weight positions: `sum |pre| x copies` (the fan-in).
    pub fan_in: u32,
    /// Raw input positions: `sum |pre|`.
    pub raw_fan_in: u32,
    pub ring: Vec<RingProjection>,
    /// Positions per ring slot.
    pub ring_width: u32,
    /// Slots of the ring: the largest delay of a ring projection plus one
    /// (0 without ring projections).
    pub ring_slots: u32,
}

impl SynapseLayout {
    /// Whether every projection into the layer is one copy without delay
    /// (weight and raw positions coincide; no ring).
    pub fn plain(&self) -> bool {
        self.copies.iter().all(|c| c.delay == 0) && self.fan_in == self.raw_fan_in
    }

    /// The ring projection of `edge`, if its errors go through the ring.
    pub fn ring_of(&self, edge: EdgeIndex) -> Option<&RingProjection> {
        self.ring.iter().find(|r| r.edge == edge)
    }
}

impl ValidNetwork {
    /// The layout of the inputs of layer `post`.
    pub fn synapse_layout(&self, post: NodeIndex) -> SynapseLayout {
        let dt = self.time.dt;
        let mut expanded = 0usize;
        let mut first_of = std::collections::BTreeMap::new();
        for (e, _, _, p) in self.projections() {
            first_of.insert(e, expanded);
            expanded += p.copies();
        }
        let (mut copies, mut ring) = (Vec::new(), Vec::new());
        let (mut w, mut raw, mut width, mut slots) = (0u32, 0u32, 0u32, 0u32);
        for (e, pre) in self.incoming(post) {
            let proj = &self.graph[e];
            let n_pre = self.graph[pre].size;
            let delays = proj.delay_steps(dt);
            for (k, &d) in delays.iter().enumerate() {
                copies.push(InputCopy {
                    edge: e,
                    pre,
                    copy: k as u32,
                    delay: d,
                    n_pre,
                    weight_offset: w,
                    raw_offset: raw,
                    expanded: first_of[&e] + k,
                });
                w += n_pre;
            }
            let delayed = delays.len() > 1 || delays.iter().any(|&d| d > 0);
            if delayed && self.graph[pre].lif().is_some() {
                ring.push(RingProjection { edge: e, n_pre, raw_offset: raw, ring_offset: width, min_delay: delays[0] });
                width += n_pre;
                slots = slots.max(delays.last().copied().unwrap_or(0) + 1);
            }
            raw += n_pre;
        }
        SynapseLayout { copies, fan_in: w, raw_fan_in: raw, ring, ring_width: width, ring_slots: slots }
    }
}

#[cfg(test)]
mod tests {
    use super::{Integration, LayerConsts};

    /// The unit PSP of a neuron with `tau_syn = 5 ms`, `tau_mem = 20 ms` on
    /// a grid of `dt` seconds, stepped with `integration`'s constants (the
    /// contract's `I[1] = 1` for an input at step 0, then `V[n] = beta
    /// V[n-1] + gamma I[n]`, `I[n+1] = alpha I[n]`), against the exact
    /// `psi(n dt) = k (e^{-t/tau_syn} - e^{-t/tau_mem})`: the largest error
    /// relative to the exact peak over 40 ms.
    fn psp_error(integration: Integration, dt: f64) -> f64 {
        let (tau_mem, tau_syn) = (20e-3, 5e-3);
        let c = LayerConsts::new(tau_mem, tau_syn, 1.0, integration, dt);
        let k = tau_syn / (tau_syn - tau_mem);
        let psi = |t: f64| k * ((-t / tau_syn).exp() - (-t / tau_mem).exp());
        let peak_t = tau_syn * tau_mem / (tau_mem - tau_syn) * (tau_mem / tau_syn).ln();
        let (mut i, mut v, mut worst) = (1.0f64, 0.0f64, 0.0f64);
        for n in 1..=(40e-3 / dt).round() as usize {
            v = f64::from(c.beta) * v + f64::from(c.gamma) * i;
            i *= f64::from(c.alpha);
            worst = worst.max((v - psi(n as f64 * dt)).abs());
        }
        worst / psi(peak_t)
    }

    #[test]
    fn the_exact_integration_steps_a_psp_exactly_and_the_default_does_not() {
        for dt in [1e-3, 0.1e-3, 0.01e-3] {
            let exact = psp_error(Integration::Exact, dt);
            let euler = psp_error(Integration::ExponentialEuler, dt);
            // `f32` constants: a relative error near 1e-7 per step, summed
            // over at most 4000 steps.
            assert!(exact < 1e-4, "exact integration at dt = {dt}: PSP off by {exact}");
            // The default's first-order bias: about 10 % x dt/ms at the peak.
            assert!(euler > 0.05 * dt / 1e-3, "exponential Euler at dt = {dt}: PSP off by only {euler}");
        }
    }

    #[test]
    fn the_default_integration_keeps_the_seed_constants() {
        let c = LayerConsts::new(20e-3, 5e-3, 1.0, Integration::ExponentialEuler, 1e-3);
        assert_eq!(c.gamma, (1.0 - (-1e-3f64 / 20e-3).exp()) as f32);
        assert_eq!(c.kappa, (-(1.0 - (-1e-3f64 / 20e-3).exp()) / ((1.0 - (-1e-3f64 / 5e-3).exp()) * 5e-3)) as f32);
    }
}
