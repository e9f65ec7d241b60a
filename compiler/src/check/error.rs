//! Every error the front end can report. Codes are stable (`snn::check::*`,
//! `snn::syntax::*`): tests and users may rely on them.

use miette::SourceSpan;

use crate::syntax::SyntaxError;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum CheckError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Syntax(#[from] SyntaxError),

    #[error("the file has no `network` block")]
    #[diagnostic(
        code(snn::check::missing_network),
        help("start the file with `network NAME {{ time {{ dt = 1 ms; steps = 20 }} population .. }}`")
    )]
    MissingNetwork {
        #[label("expected a `network` block in this file")]
        span: SourceSpan,
    },

    #[error("{what} is missing")]
    #[diagnostic(code(snn::check::missing_block))]
    MissingBlock {
        what: String,
        #[label("{what} is required here")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("{what} is given twice")]
    #[diagnostic(code(snn::check::duplicate_block), help("merge the two blocks into one"))]
    DuplicateBlock {
        what: String,
        #[label("given again here")]
        span: SourceSpan,
        #[label("first given here")]
        first: SourceSpan,
    },

    #[error("unknown parameter `{name}` {context}")]
    #[diagnostic(code(snn::check::unknown_parameter))]
    UnknownParameter {
        name: String,
        context: String,
        #[label("unknown parameter")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("unknown {what} `{name}`")]
    #[diagnostic(code(snn::check::unknown_keyword))]
    UnknownKeyword {
        what: String,
        name: String,
        #[label("not a known {what}")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("unknown unit `{unit}`")]
    #[diagnostic(code(snn::check::unknown_unit))]
    UnknownUnit {
        unit: String,
        #[label("not a unit")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("unknown population `{name}`")]
    #[diagnostic(code(snn::check::unknown_population))]
    UnknownPopulation {
        name: String,
        #[label("no population of this name is declared")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("missing parameter `{name}` {context}")]
    #[diagnostic(code(snn::check::missing_parameter))]
    MissingParameter {
        name: String,
        context: String,
        #[label("`{name}` is required here")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("parameter `{name}` is given twice")]
    #[diagnostic(code(snn::check::duplicate_parameter), help("remove one of the two"))]
    DuplicateParameter {
        name: String,
        #[label("second `{name}`")]
        span: SourceSpan,
        #[label("first given here")]
        first: SourceSpan,
    },

    #[error("{message}")]
    #[diagnostic(code(snn::check::unexpected_argument))]
    UnexpectedArgument {
        message: String,
        #[label("not allowed here")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("`{name}` is {found}, but it must be {expected}")]
    #[diagnostic(code(snn::check::wrong_unit))]
    WrongUnit {
        name: String,
        expected: String,
        found: String,
        #[label("{found}")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("`{name}` must be {expected}")]
    #[diagnostic(code(snn::check::type_mismatch))]
    TypeMismatch {
        name: String,
        expected: String,
        #[label("this is {found}")]
        span: SourceSpan,
        found: String,
        #[help]
        help: String,
    },

    #[error("`{name}` is out of range: {message}")]
    #[diagnostic(code(snn::check::out_of_range))]
    OutOfRange {
        name: String,
        message: String,
        #[label("{message}")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("`tau_mem` and `tau_syn` are equal")]
    #[diagnostic(
        code(snn::check::equal_time_constants),
        help("the LIF solution divides by tau_mem - tau_syn: make them differ, e.g. tau_mem = 20 ms, tau_syn = 5 ms")
    )]
    EqualTimeConstants {
        #[label("tau_syn")]
        span: SourceSpan,
        #[label("equals tau_mem")]
        other: SourceSpan,
    },

    #[error("`{first}` and `{second}` cannot both be given")]
    #[diagnostic(code(snn::check::conflicting_parameters))]
    ConflictingParameters {
        first: String,
        second: String,
        #[label("`{second}` given here")]
        span: SourceSpan,
        #[label("`{first}` given here")]
        other: SourceSpan,
        #[help]
        help: String,
    },

    #[error("population `{name}` is declared twice")]
    #[diagnostic(code(snn::check::duplicate_population), help("give each population its own name"))]
    DuplicatePopulation {
        name: String,
        #[label("second declaration")]
        span: SourceSpan,
        #[label("first declared here")]
        first: SourceSpan,
    },

    #[error("projection `{pre} -> {post}` is declared twice")]
    #[diagnostic(
        code(snn::check::duplicate_projection),
        help("two populations are joined by at most one projection; merge the two")
    )]
    DuplicateProjection {
        pre: String,
        post: String,
        #[label("second projection")]
        span: SourceSpan,
        #[label("first declared here")]
        first: SourceSpan,
    },

    #[error("projection into spike source `{name}`")]
    #[diagnostic(
        code(snn::check::projection_into_source),
        help("a spike_source only emits the encoded input; project into a `lif` population instead")
    )]
    ProjectionIntoSource {
        name: String,
        #[label("`{name}` is a spike_source")]
        span: SourceSpan,
        #[label("declared here")]
        decl: SourceSpan,
    },

    #[error("`{name}` is an `li` population: it does not spike, so it has no `{param}`")]
    #[diagnostic(
        code(snn::check::not_for_li),
        help("a leaky integrator takes `tau_mem` and `tau_syn`; for a spiking population use `lif`")
    )]
    NotForLi {
        name: String,
        param: String,
        #[label("`li` takes no `{param}`")]
        span: SourceSpan,
    },

    #[error("`{name}` is an `li` population and cannot project to `{post}`")]
    #[diagnostic(
        code(snn::check::li_projects),
        help(
            "a leaky integrator emits no spikes: it is a readout; make `{name}` a `lif` population to project from it"
        )
    )]
    LiProjects {
        name: String,
        post: String,
        #[label("a projection from an `li` population")]
        span: SourceSpan,
        #[label("`{name}` is declared `li` here")]
        decl: SourceSpan,
    },

    #[error("`{name}` is {value}, which is not on the time grid ({steps} steps of {dt})")]
    #[diagnostic(code(snn::check::off_grid))]
    OffGrid {
        name: String,
        value: String,
        steps: String,
        dt: String,
        #[label("not a whole number of steps")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("a delay of {delay} steps is longer than the trial of {steps} steps")]
    #[diagnostic(code(snn::check::delay_too_long))]
    DelayTooLong {
        delay: u64,
        steps: u32,
        #[label("no spike delayed this much lands within the trial")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("`{loss}` does not fit `{readout}`, {article} `{kind}` readout")]
    #[diagnostic(code(snn::check::loss_readout_mismatch))]
    LossReadoutMismatch {
        article: String,
        loss: String,
        readout: String,
        kind: String,
        #[label("this loss reads {reads}")]
        span: SourceSpan,
        reads: String,
        #[label("`{readout}` is declared here")]
        decl: SourceSpan,
        #[help]
        help: String,
    },

    #[error("the spike-count regulariser applies to `lif` populations; `{name}` is a `{kind}`")]
    #[diagnostic(
        code(snn::check::regularizer_not_lif),
        help("name the spiking layers whose spike counts to regularise")
    )]
    RegularizerNotLif {
        name: String,
        kind: String,
        #[label("not a `lif` population")]
        span: SourceSpan,
    },

    #[error("population `{name}` receives no input")]
    #[diagnostic(code(snn::check::unreachable_population))]
    Unreachable {
        name: String,
        #[label("no projection leads into `{name}`")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("spike source `{name}` feeds nothing")]
    #[diagnostic(
        code(snn::check::unused_population),
        help("add a projection from `{name}` to a lif population, or remove it")
    )]
    UnusedSource {
        name: String,
        #[label("no projection leaves `{name}`")]
        span: SourceSpan,
    },

    #[error("network `{name}` has no {what} population")]
    #[diagnostic(code(snn::check::missing_population))]
    MissingPopulation {
        name: String,
        what: String,
        #[label("needs a {what} population")]
        span: SourceSpan,
        #[help]
        help: String,
    },

    #[error("training needs exactly one spike_source, found a second: `{name}`")]
    #[diagnostic(
        code(snn::check::multiple_inputs),
        help("the data set feeds one input population; merge the spike sources into one")
    )]
    MultipleInputs {
        name: String,
        #[label("second spike_source")]
        span: SourceSpan,
        #[label("first spike_source")]
        first: SourceSpan,
    },

    #[error("readout `{name}` is a spike source, not a layer")]
    #[diagnostic(
        code(snn::check::readout_not_lif),
        help("the readout's first spikes (`lif`) or voltages (`li`) are the class scores: name a layer")
    )]
    ReadoutNotLif {
        name: String,
        #[label("this is a spike_source")]
        span: SourceSpan,
        #[label("declared here")]
        decl: SourceSpan,
    },

    #[error("readout `{name}` has outgoing projections")]
    #[diagnostic(
        code(snn::check::readout_not_sink),
        help("the readout must be a last layer: name a population that projects nowhere")
    )]
    ReadoutNotSink {
        name: String,
        #[label("readout")]
        span: SourceSpan,
        #[label("projection out of `{name}`")]
        projection: SourceSpan,
    },

    #[error("the data set has {data} classes but readout `{name}` has {size} neurons")]
    #[diagnostic(
        code(snn::check::class_count_mismatch),
        help("the loss needs one readout neuron per class: make `{name}` lif({data}) or change the data set")
    )]
    ClassCountMismatch {
        name: String,
        data: u32,
        size: u32,
        #[label("{data} classes")]
        span: SourceSpan,
        #[label("{size} neurons")]
        readout: SourceSpan,
    },

    #[error("the data set has {data} features but input `{name}` encodes {features}")]
    #[diagnostic(code(snn::check::feature_count_mismatch))]
    FeatureCountMismatch {
        name: String,
        data: u32,
        features: u32,
        #[label("{data} features")]
        span: SourceSpan,
        #[label("{input_label}")]
        input: SourceSpan,
        input_label: String,
        #[help]
        help: String,
    },

    #[error("{data} is {kind} data, but input `{name}` has {encoding}")]
    #[diagnostic(code(snn::check::encoding_data_mismatch))]
    EncodingDataMismatch {
        name: String,
        data: String,
        kind: String,
        encoding: String,
        #[label("{kind} data")]
        span: SourceSpan,
        #[label("{encoding}")]
        input: SourceSpan,
        #[help]
        help: String,
    },

    #[error("the data set has {channels} channels, but input `{name}` takes {takes}")]
    #[diagnostic(code(snn::check::channel_count_mismatch))]
    ChannelCountMismatch {
        name: String,
        channels: u32,
        takes: String,
        #[label("{channels} channels")]
        span: SourceSpan,
        #[label("{takes}")]
        input: SourceSpan,
        #[help]
        help: String,
    },

    #[error("augmentation needs event data, but `{data}` holds feature rows")]
    #[diagnostic(
        code(snn::check::augment_needs_events),
        help(
            "shift, blend, dilate and jitter act on event streams: use them with shd(..), ssc(..), events(..), shd_like(..) or order(..)"
        )
    )]
    AugmentNeedsEvents {
        data: String,
        #[label("augments event streams")]
        span: SourceSpan,
        #[label("a feature data set")]
        data_span: SourceSpan,
    },

    #[error("`{name}` is given twice in `augment`")]
    #[diagnostic(
        code(snn::check::duplicate_augment),
        help("give each augmentation once; they apply in the order blend, shift, dilate, jitter")
    )]
    DuplicateAugment {
        name: String,
        #[label("second `{name}`")]
        span: SourceSpan,
        #[label("first given here")]
        first: SourceSpan,
    },
}
