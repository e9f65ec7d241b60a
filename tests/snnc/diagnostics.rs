//! The diagnostics suite: one malformed `.snn` per line, each with the error
//! code it must produce; the rendered (plain, uncoloured) report is an insta
//! snapshot whose header (`description`) is the input.
//!
//! Inputs are written with a few templates to stay on one line:
//! `{T}` a time block, `{I}` a 4-feature input, `{O}` a 3-neuron lif output,
//! `{P}` the projection `i -> o`, `{NET}` the network made of those (on
//! several lines, so that reports on the blocks after it stay narrow), and
//! `{TR}` the required train parameters (Yin-Yang data, readout `o`);
//! `{EI}` and `{ENET}` are `{I}` and `{NET}` with an event input
//! (`encoding = events()`).

use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource, Report};
use snnc_compiler::check_source;

const CASES: &[(&str, &str, &str)] = &[
    // Syntax.
    ("syntax_unknown_top_keyword", "snn::syntax::unexpected", "netwrk n { {T} }"),
    ("syntax_unclosed_network", "snn::syntax::unexpected", "network n { {T}; {I}"),
    ("syntax_misspelt_population", "snn::syntax::unexpected", "network n { {T}; populaton o = lif(3) }"),
    (
        "syntax_missing_separator",
        "snn::syntax::missing_separator",
        "network n { time { dt = 1 ms steps = 20 }; {I}; {O}; {P} }",
    ),
    ("syntax_unclosed_call", "snn::syntax::unexpected", "network n { {T}; {I}; population o = lif(3 }"),
    (
        "syntax_bad_arrow",
        "snn::syntax::unexpected",
        "network n { {T}; {I}; {O}; projection i => o = dense { init = normal() } }",
    ),
    (
        "syntax_unterminated_string",
        "snn::syntax::unexpected",
        "{NET} train { data = csv(train = \"a.csv); readout = o; batch = 4; epochs = 1 }",
    ),
    ("syntax_unterminated_comment", "snn::syntax::unexpected", "{NET} /* the end"),
    (
        "syntax_number_too_large",
        "snn::syntax::bad_number",
        "network n { time { dt = 1 ms; steps = 1e999 }; {I}; {O}; {P} }",
    ),
    ("syntax_missing_value", "snn::syntax::unexpected", "network n { time { dt = ; steps = 20 }; {I}; {O}; {P} }"),
    (
        "syntax_split_without_seed_word",
        "snn::syntax::unexpected",
        "{NET} train { data = yin_yang(train = 100 @ 3); readout = o; batch = 4; epochs = 1 }",
    ),
    // File structure.
    ("empty_file", "snn::check::missing_network", ""),
    ("no_network_block", "snn::check::missing_network", "train { {TR} }"),
    ("two_network_blocks", "snn::check::duplicate_block", "{NET} network m { {T}; {I}; {O}; {P} }"),
    ("two_train_blocks", "snn::check::duplicate_block", "{NET} train { {TR} } train { {TR} }"),
    (
        "two_sweep_blocks",
        "snn::check::duplicate_block",
        "{NET} sweep { train.seed = 0..2 } sweep { optimizer.lr = 1e-3 }",
    ),
    ("missing_time_block", "snn::check::missing_block", "network n { {I}; {O}; {P} }"),
    ("two_time_blocks", "snn::check::duplicate_block", "network n { {T}; {T}; {I}; {O}; {P} }"),
    // Time grid.
    (
        "time_unknown_parameter",
        "snn::check::unknown_parameter",
        "network n { time { dt = 1 ms; step = 20 }; {I}; {O}; {P} }",
    ),
    ("time_missing_dt", "snn::check::missing_parameter", "network n { time { steps = 20 }; {I}; {O}; {P} }"),
    ("dt_in_steps", "snn::check::wrong_unit", "network n { time { dt = 1 steps; steps = 20 }; {I}; {O}; {P} }"),
    ("dt_zero", "snn::check::out_of_range", "network n { time { dt = 0 ms; steps = 20 }; {I}; {O}; {P} }"),
    ("dt_unknown_unit", "snn::check::unknown_unit", "network n { time { dt = 1 msec; steps = 20 }; {I}; {O}; {P} }"),
    ("steps_below_two", "snn::check::out_of_range", "network n { time { dt = 1 ms; steps = 1 }; {I}; {O}; {P} }"),
    ("steps_in_ms", "snn::check::wrong_unit", "network n { time { dt = 1 ms; steps = 27 ms }; {I}; {O}; {P} }"),
    ("steps_not_integer", "snn::check::type_mismatch", "network n { time { dt = 1 ms; steps = 2.5 }; {I}; {O}; {P} }"),
    // LIF populations.
    (
        "tau_mem_in_steps",
        "snn::check::wrong_unit",
        "network n { {T}; {I}; population o = lif(3) { tau_mem = 20 steps }; {P} }",
    ),
    (
        "tau_syn_without_unit",
        "snn::check::wrong_unit",
        "network n { {T}; {I}; population o = lif(3) { tau_syn = 5 }; {P} }",
    ),
    (
        "tau_mem_negative",
        "snn::check::out_of_range",
        "network n { {T}; {I}; population o = lif(3) { tau_mem = -20 ms }; {P} }",
    ),
    (
        "tau_syn_equals_tau_mem",
        "snn::check::equal_time_constants",
        "network n { {T}; {I}; population o = lif(3) { tau_mem = 5 ms; tau_syn = 5 ms }; {P} }",
    ),
    (
        "threshold_zero",
        "snn::check::out_of_range",
        "network n { {T}; {I}; population o = lif(3) { threshold = 0 }; {P} }",
    ),
    (
        "threshold_with_unit",
        "snn::check::wrong_unit",
        "network n { {T}; {I}; population o = lif(3) { threshold = 1 ms }; {P} }",
    ),
    (
        "reset_unknown",
        "snn::check::unknown_keyword",
        "network n { {T}; {I}; population o = lif(3) { reset = subtract }; {P} }",
    ),
    (
        "integration_unknown",
        "snn::check::unknown_keyword",
        "network n { {T}; {I}; population o = lif(3) { integration = euler }; {P} }",
    ),
    (
        "integration_with_arguments",
        "snn::check::unexpected_argument",
        "network n { {T}; {I}; population o = lif(3) { integration = exact(order = 2) }; {P} }",
    ),
    (
        "integration_a_number",
        "snn::check::type_mismatch",
        "network n { {T}; {I}; population o = li(3) { integration = 1 }; {P} }",
    ),
    ("population_size_zero", "snn::check::out_of_range", "network n { {T}; {I}; population o = lif(0); {P} }"),
    ("population_size_negative", "snn::check::out_of_range", "network n { {T}; {I}; population o = lif(-3); {P} }"),
    (
        "population_size_too_large",
        "snn::check::out_of_range",
        "network n { {T}; {I}; population o = lif(2000000); {P} }",
    ),
    ("population_size_fractional", "snn::check::type_mismatch", "network n { {T}; {I}; population o = lif(2.5); {P} }"),
    (
        "dt_unit_on_the_next_line",
        "snn::check::wrong_unit",
        "network n {\n    time {\n        dt = 1\n        steps = 20\n    }\n    {I}; {O}; {P}\n}",
    ),
    ("population_kind_unknown", "snn::check::unknown_keyword", "network n { {T}; {I}; population o = lfi(3); {P} }"),
    (
        "population_size_missing",
        "snn::check::missing_parameter",
        "network n { {T}; {I}; population o = lif { tau_mem = 20 ms }; {P} }",
    ),
    (
        "population_too_many_arguments",
        "snn::check::unexpected_argument",
        "network n { {T}; {I}; population o = lif(3, 4); {P} }",
    ),
    (
        "lif_unknown_parameter",
        "snn::check::unknown_parameter",
        "network n { {T}; {I}; population o = lif(3) { treshold = 1.0 }; {P} }",
    ),
    (
        "lif_parameter_twice",
        "snn::check::duplicate_parameter",
        "network n { {T}; {I}; population o = lif(3) { tau_mem = 20 ms; tau_mem = 10 ms }; {P} }",
    ),
    (
        "population_declared_twice",
        "snn::check::duplicate_population",
        "network n { {T}; {I}; {O}; population o = lif(5); {P} }",
    ),
    // Spike sources.
    (
        "source_without_encoding",
        "snn::check::missing_parameter",
        "network n { {T}; population i = spike_source(4); {O}; {P} }",
    ),
    (
        "latency_order_unknown",
        "snn::check::unknown_keyword",
        "network n { {T}; population i = spike_source(4) { encoding = latency(order = early) }; {O}; {P} }",
    ),
    (
        "encoding_unknown",
        "snn::check::unknown_keyword",
        "network n { {T}; population i = spike_source(4) { encoding = rate(order = early_high) }; {O}; {P} }",
    ),
    (
        "latency_t_max_beyond_grid",
        "snn::check::out_of_range",
        "network n { {T}; population i = spike_source(4) { encoding = latency(order = late_high, t_max = 30 ms) }; {O}; {P} }",
    ),
    (
        "latency_t_max_before_t_min",
        "snn::check::out_of_range",
        "network n { {T}; population i = spike_source(4) { encoding = latency(order = late_high, t_min = 8 steps, t_max = 4 steps) }; {O}; {P} }",
    ),
    (
        "latency_clip_low_above_one",
        "snn::check::out_of_range",
        "network n { {T}; population i = spike_source(4) { encoding = latency(order = early_high, clip_low = 1.5) }; {O}; {P} }",
    ),
    (
        "bias_time_without_unit",
        "snn::check::wrong_unit",
        "network n { {T}; population i = spike_source(5) { encoding = latency(order = early_high); bias = spike(at = 0) }; {O}; {P} }",
    ),
    (
        "bias_leaves_no_feature",
        "snn::check::out_of_range",
        "network n { {T}; population i = spike_source(1) { encoding = latency(order = early_high); bias = spike() }; {O}; {P} }",
    ),
    // Projections and graph.
    (
        "projection_unknown_population",
        "snn::check::unknown_population",
        "network n { {T}; {I}; {O}; projection i -> out = dense { init = normal() } }",
    ),
    (
        "projection_into_spike_source",
        "snn::check::projection_into_source",
        "network n { {T}; {I}; {O}; {P}; projection o -> i = dense { init = normal() } }",
    ),
    ("projection_declared_twice", "snn::check::duplicate_projection", "network n { {T}; {I}; {O}; {P}; {P} }"),
    // Leaky integrators, delays, delay lines (cycles and self-projections are legal).
    (
        "li_with_threshold",
        "snn::check::not_for_li",
        "network n { {T}; {I}; population o = li(3) { threshold = 1.0 }; {P} }",
    ),
    ("li_with_reset", "snn::check::not_for_li", "network n { {T}; {I}; population o = li(3) { reset = zero }; {P} }"),
    (
        "li_equal_time_constants",
        "snn::check::equal_time_constants",
        "network n { {T}; {I}; population o = li(3) { tau_mem = 5 ms; tau_syn = 5 ms }; {P} }",
    ),
    (
        "li_projects",
        "snn::check::li_projects",
        "network n { {T}; {I}; population h = li(8); {O}; projection i -> h = dense { init = normal() }; projection h -> o = dense { init = normal() } }",
    ),
    ("population_kind_typo_li", "snn::check::unknown_keyword", "network n { {T}; {I}; population o = ly(3); {P} }"),
    (
        "delay_off_grid",
        "snn::check::off_grid",
        "network n { {T}; {I}; {O}; projection i -> o = dense { init = normal(); delay = 1.5 ms } }",
    ),
    (
        "delay_negative",
        "snn::check::out_of_range",
        "network n { {T}; {I}; {O}; projection i -> o = dense { init = normal(); delay = -1 steps } }",
    ),
    (
        "delay_without_unit",
        "snn::check::wrong_unit",
        "network n { {T}; {I}; {O}; projection i -> o = dense { init = normal(); delay = 3 } }",
    ),
    (
        "delay_longer_than_trial",
        "snn::check::delay_too_long",
        "network n { {T}; {I}; {O}; projection i -> o = dense { init = normal(); delay = 19 steps } }",
    ),
    (
        "delay_and_delays",
        "snn::check::conflicting_parameters",
        "network n { {T}; {I}; {O}; projection i -> o = dense { init = normal(); delay = 1 ms; delays = 0 ms .. 2 ms step 1 ms } }",
    ),
    (
        "delays_not_a_range",
        "snn::check::type_mismatch",
        "network n { {T}; {I}; {O}; projection i -> o = dense { init = normal(); delays = 3 ms } }",
    ),
    (
        "delays_without_step",
        "snn::check::missing_parameter",
        "network n { {T}; {I}; {O}; projection i -> o = dense { init = normal(); delays = 0 ms .. 6 ms } }",
    ),
    (
        "delays_zero_step",
        "snn::check::out_of_range",
        "network n { {T}; {I}; {O}; projection i -> o = dense { init = normal(); delays = 0 ms .. 6 ms step 0 ms } }",
    ),
    (
        "delays_backwards",
        "snn::check::out_of_range",
        "network n { {T}; {I}; {O}; projection i -> o = dense { init = normal(); delays = 6 ms .. 0 ms step 3 ms } }",
    ),
    (
        "delays_miss_their_end",
        "snn::check::out_of_range",
        "network n { {T}; {I}; {O}; projection i -> o = dense { init = normal(); delays = 0 ms .. 7 ms step 3 ms } }",
    ),
    (
        "delays_off_grid",
        "snn::check::off_grid",
        "network n { {T}; {I}; {O}; projection i -> o = dense { init = normal(); delays = 0 ms .. 4.5 ms step 1.5 ms } }",
    ),
    (
        "delay_line_longer_than_trial",
        "snn::check::delay_too_long",
        "network n { {T}; {I}; {O}; projection i -> o = dense { init = normal(); delays = 0 ms .. 30 ms step 10 ms } }",
    ),
    (
        "range_for_a_time_constant",
        "snn::check::type_mismatch",
        "network n { {T}; {I}; population o = lif(3) { tau_mem = 10 ms .. 20 ms }; {P} }",
    ),
    // Off-grid times are errors, never rounded.
    (
        "bias_off_grid",
        "snn::check::off_grid",
        "network n { {T}; population i = spike_source(5) { encoding = latency(order = early_high); bias = spike(at = 0.5 ms) }; {O}; {P} }",
    ),
    (
        "latency_t_max_off_grid",
        "snn::check::off_grid",
        "network n { {T}; population i = spike_source(4) { encoding = latency(order = late_high, t_max = 10.5 ms) }; {O}; {P} }",
    ),
    (
        "latency_window_finer_than_dt",
        "snn::check::off_grid",
        "network n { time { dt = 100 ms; steps = 20 }; population i = spike_source(4) { encoding = latency(order = late_high, t_max = 30 ms) }; {O}; {P} }",
    ),
    (
        "time_constant_in_megahertz",
        "snn::check::wrong_unit",
        "network n { {T}; {I}; population o = lif(3) { tau_mem = 20 MHz }; {P} }",
    ),
    (
        "projection_connectivity_unknown",
        "snn::check::unknown_keyword",
        "network n { {T}; {I}; {O}; projection i -> o = sparse { init = normal() } }",
    ),
    (
        "projection_dense_with_arguments",
        "snn::check::unexpected_argument",
        "network n { {T}; {I}; {O}; projection i -> o = dense(3) { init = normal() } }",
    ),
    (
        "projection_without_init",
        "snn::check::missing_parameter",
        "network n { {T}; {I}; {O}; projection i -> o = dense }",
    ),
    (
        "init_unknown",
        "snn::check::unknown_keyword",
        "network n { {T}; {I}; {O}; projection i -> o = dense { init = gaussian(mean = 1) } }",
    ),
    (
        "init_scale_unknown",
        "snn::check::unknown_keyword",
        "network n { {T}; {I}; {O}; projection i -> o = dense { init = normal(scale = fan_in_sqr) } }",
    ),
    (
        "init_uniform_empty_range",
        "snn::check::out_of_range",
        "network n { {T}; {I}; {O}; projection i -> o = dense { init = uniform(low = 1, high = 0) } }",
    ),
    (
        "init_positional_after_named",
        "snn::check::unexpected_argument",
        "network n { {T}; {I}; {O}; projection i -> o = dense { init = normal(mean = 1, 2) } }",
    ),
    (
        "init_negative_std",
        "snn::check::out_of_range",
        "network n { {T}; {I}; {O}; projection i -> o = dense { init = normal(std = -1) } }",
    ),
    (
        "lif_without_input",
        "snn::check::unreachable_population",
        "network n { {T}; {I}; population h = lif(8); {O}; {P} }",
    ),
    (
        "spike_source_feeding_nothing",
        "snn::check::unused_population",
        "network n { {T}; {I}; population j = spike_source(2) { encoding = latency(order = early_high) }; {O}; {P} }",
    ),
    ("network_without_spike_source", "snn::check::missing_population", "network n { {T}; {O} }"),
    ("network_without_lif", "snn::check::missing_population", "network n { {T}; {I} }"),
    // Train block.
    (
        "train_missing_readout",
        "snn::check::missing_parameter",
        "{NET} train { data = yin_yang(); batch = 4; epochs = 1 }",
    ),
    (
        "train_unknown_parameter",
        "snn::check::unknown_parameter",
        "{NET} train { data = yin_yang(); readout = o; batch = 4; epoch = 1 }",
    ),
    (
        "readout_unknown",
        "snn::check::unknown_population",
        "{NET} train { data = yin_yang(); readout = oo; batch = 4; epochs = 1 }",
    ),
    (
        "readout_is_spike_source",
        "snn::check::readout_not_lif",
        "{NET} train { data = yin_yang(); readout = i; batch = 4; epochs = 1 }",
    ),
    (
        "readout_has_outgoing_projection",
        "snn::check::readout_not_sink",
        "network n { {T}; {I}; population h = lif(3); {O}; projection i -> h = dense { init = normal() }; projection h -> o = dense { init = normal() } } train { data = yin_yang(); readout = h; batch = 4; epochs = 1 }",
    ),
    (
        "class_count_mismatch",
        "snn::check::class_count_mismatch",
        "network n { {T}; {I}; population o = lif(2); {P} } train { {TR} }",
    ),
    (
        "feature_count_mismatch",
        "snn::check::feature_count_mismatch",
        "network n { {T}; population i = spike_source(3) { encoding = latency(order = early_high) }; {O}; {P} } train { {TR} }",
    ),
    (
        "feature_count_mismatch_with_bias",
        "snn::check::feature_count_mismatch",
        "network n { {T}; population i = spike_source(4) { encoding = latency(order = early_high); bias = spike() }; {O}; {P} } train { {TR} }",
    ),
    (
        "synthetic_class_mismatch",
        "snn::check::class_count_mismatch",
        "{NET} train { data = synthetic(features = 4, classes = 10); readout = o; batch = 4; epochs = 1 }",
    ),
    (
        "data_set_unknown",
        "snn::check::unknown_keyword",
        "{NET} train { data = yinyang(); readout = o; batch = 4; epochs = 1 }",
    ),
    (
        "csv_path_not_a_string",
        "snn::check::type_mismatch",
        "{NET} train { data = csv(train = 3); readout = o; batch = 4; epochs = 1 }",
    ),
    (
        "training_with_two_inputs",
        "snn::check::multiple_inputs",
        "network n { {T}; {I}; population j = spike_source(4) { encoding = latency(order = early_high) }; {O}; {P}; projection j -> o = dense { init = normal() } } train { {TR} }",
    ),
    // Event data: encodings, data sets, augmentation.
    (
        "events_pool_zero",
        "snn::check::out_of_range",
        "network n { {T}; population i = spike_source(4) { encoding = events(pool = 0) }; {O}; {P} }",
    ),
    (
        "events_duration_off_grid",
        "snn::check::off_grid",
        "network n { {T}; population i = spike_source(4) { encoding = events(duration = 2.5 ms) }; {O}; {P} }",
    ),
    (
        "events_duration_past_the_trial",
        "snn::check::out_of_range",
        "network n { {T}; population i = spike_source(4) { encoding = events(duration = 21 ms) }; {O}; {P} }",
    ),
    (
        "events_encoding_unknown",
        "snn::check::unknown_keyword",
        "network n { {T}; population i = spike_source(4) { encoding = event() }; {O}; {P} }",
    ),
    (
        "event_data_with_a_latency_input",
        "snn::check::encoding_data_mismatch",
        "{NET} train { data = events(train = \"a.h5\"); readout = o; batch = 4; epochs = 1 }",
    ),
    ("feature_data_with_an_events_input", "snn::check::encoding_data_mismatch", "{ENET} train { {TR} }"),
    (
        "shd_channels_and_pool_mismatch",
        "snn::check::channel_count_mismatch",
        "network n { {T}; population i = spike_source(100) { encoding = events(pool = 5) }; population o = lif(20); {P} } train { data = shd(train = \"shd_train.h5\"); readout = o; batch = 4; epochs = 1 }",
    ),
    (
        "shd_channels_without_pool",
        "snn::check::channel_count_mismatch",
        "network n { {T}; population i = spike_source(140) { encoding = events() }; population o = lif(20); {P} } train { data = shd(train = \"shd_train.h5\"); readout = o; batch = 4; epochs = 1 }",
    ),
    (
        "ssc_class_count",
        "snn::check::class_count_mismatch",
        "network n { {T}; population i = spike_source(700) { encoding = events() }; {O}; {P} } train { data = ssc(train = \"ssc_train.h5\"); readout = o; batch = 4; epochs = 1 }",
    ),
    (
        "shd_missing_train",
        "snn::check::missing_parameter",
        "{ENET} train { data = events(test = \"t.h5\"); readout = o; batch = 4; epochs = 1 }",
    ),
    (
        "validation_fraction_out_of_range",
        "snn::check::out_of_range",
        "{ENET} train { data = events(train = \"a.h5\", validation = 1.5); readout = o; batch = 4; epochs = 1 }",
    ),
    (
        "validation_fraction_seed_out_of_range",
        "snn::check::out_of_range",
        "{ENET} train { data = events(train = \"a.h5\", validation = 0.1 @ seed 5000000000); readout = o; batch = 4; epochs = 1 }",
    ),
    (
        "validation_speakers_as_a_tuple",
        "snn::check::type_mismatch",
        "{ENET} train { data = events(train = \"a.h5\", validation = (4, 5)); readout = o; batch = 4; epochs = 1 }",
    ),
    (
        "validation_speakers_empty",
        "snn::check::missing_parameter",
        "{ENET} train { data = events(train = \"a.h5\", validation = speakers()); readout = o; batch = 4; epochs = 1 }",
    ),
    (
        "validation_speaker_negative",
        "snn::check::out_of_range",
        "{ENET} train { data = events(train = \"a.h5\", validation = speakers(4, -1)); readout = o; batch = 4; epochs = 1 }",
    ),
    (
        "order_too_short_for_its_gap",
        "snn::check::out_of_range",
        "network n { {T}; population i = spike_source(20) { encoding = events() }; population o = lif(2); {P} } train { data = order(duration = 150 ms); readout = o; batch = 4; epochs = 1 }",
    ),
    (
        "order_odd_channels",
        "snn::check::out_of_range",
        "network n { {T}; population i = spike_source(5) { encoding = events() }; population o = lif(2); {P} } train { data = order(channels = 5); readout = o; batch = 4; epochs = 1 }",
    ),
    (
        "order_burst_longer_than_gap",
        "snn::check::out_of_range",
        "network n { {T}; population i = spike_source(20) { encoding = events() }; population o = lif(2); {P} } train { data = order(gap = 10 ms, burst = 20 ms); readout = o; batch = 4; epochs = 1 }",
    ),
    (
        "shd_like_duration_in_steps",
        "snn::check::wrong_unit",
        "{ENET} train { data = shd_like(classes = 3, channels = 4, duration = 100 steps); readout = o; batch = 4; epochs = 1 }",
    ),
    ("augment_feature_data", "snn::check::augment_needs_events", "{NET} train { {TR}; augment = shift(2) }"),
    (
        "augment_twice",
        "snn::check::duplicate_augment",
        "{ENET} train { data = shd_like(classes = 3, channels = 4); readout = o; batch = 4; epochs = 1; augment = (shift(2), jitter(1 ms), shift(1)) }",
    ),
    (
        "augment_unknown",
        "snn::check::unknown_keyword",
        "{ENET} train { data = shd_like(classes = 3, channels = 4); readout = o; batch = 4; epochs = 1; augment = (shift(2), stretch(1.1)) }",
    ),
    (
        "augment_dilate_not_a_range",
        "snn::check::type_mismatch",
        "{ENET} train { data = shd_like(classes = 3, channels = 4); readout = o; batch = 4; epochs = 1; augment = dilate(0.9) }",
    ),
    (
        "augment_jitter_in_steps",
        "snn::check::wrong_unit",
        "{ENET} train { data = shd_like(classes = 3, channels = 4); readout = o; batch = 4; epochs = 1; augment = jitter(2 steps) }",
    ),
    (
        "augment_blend_keep_above_one",
        "snn::check::out_of_range",
        "{ENET} train { data = shd_like(classes = 3, channels = 4); readout = o; batch = 4; epochs = 1; augment = blend(p = 0.5, keep = 2) }",
    ),
    // Readout losses and the regulariser.
    (
        "voltage_loss_on_lif_readout",
        "snn::check::loss_readout_mismatch",
        "{NET} train { {TR}; loss = max_voltage_cross_entropy() }",
    ),
    (
        "first_spike_loss_on_li_readout",
        "snn::check::loss_readout_mismatch",
        "network n { {T}; {I}; population o = li(3); {P} } train { {TR} }",
    ),
    (
        "loss_unknown_with_suggestion",
        "snn::check::unknown_keyword",
        "network n { {T}; {I}; population o = li(3); {P} } train { {TR}; loss = max_voltage_crossentropy() }",
    ),
    (
        "exp_window_not_a_range",
        "snn::check::type_mismatch",
        "network n { {T}; {I}; population o = li(3); {P} } train { {TR}; loss = exp_weighted_voltage_cross_entropy(window = 5 ms) }",
    ),
    (
        "exp_window_with_step",
        "snn::check::unexpected_argument",
        "network n { {T}; {I}; population o = li(3); {P} } train { {TR}; loss = exp_weighted_voltage_cross_entropy(window = 0 ms .. 10 ms step 1 ms) }",
    ),
    (
        "exp_window_backwards",
        "snn::check::out_of_range",
        "network n { {T}; {I}; population o = li(3); {P} } train { {TR}; loss = exp_weighted_voltage_cross_entropy(window = 10 ms .. 5 ms) }",
    ),
    (
        "exp_window_beyond_trial",
        "snn::check::out_of_range",
        "network n { {T}; {I}; population o = li(3); {P} } train { {TR}; loss = exp_weighted_voltage_cross_entropy(window = 0 ms .. 50 ms) }",
    ),
    (
        "exp_window_off_grid",
        "snn::check::off_grid",
        "network n { {T}; {I}; population o = li(3); {P} } train { {TR}; loss = exp_weighted_voltage_cross_entropy(window = 0 ms .. 5.5 ms) }",
    ),
    (
        "sum_voltage_loss_with_arguments",
        "snn::check::unexpected_argument",
        "network n { {T}; {I}; population o = li(3); {P} } train { {TR}; loss = sum_voltage_cross_entropy(window = 0 ms .. 5 ms) }",
    ),
    (
        "regularizer_on_li",
        "snn::check::regularizer_not_lif",
        "network n { {T}; {I}; population o = li(3); {P} } train { {TR}; loss = sum_voltage_cross_entropy(); regularizer = spike_count(populations = o, strength = 1e-3, target = 2) }",
    ),
    (
        "regularizer_on_input",
        "snn::check::regularizer_not_lif",
        "{NET} train { {TR}; regularizer = spike_count(populations = (o, i), strength = 1e-3, target = 2) }",
    ),
    (
        "regularizer_unknown_population",
        "snn::check::unknown_population",
        "{NET} train { {TR}; regularizer = spike_count(populations = hiden, strength = 1e-3, target = 2) }",
    ),
    (
        "regularizer_without_target",
        "snn::check::missing_parameter",
        "{NET} train { {TR}; regularizer = spike_count(populations = o, strength = 1e-3) }",
    ),
    (
        "regularizer_negative_strength",
        "snn::check::out_of_range",
        "{NET} train { {TR}; regularizer = spike_count(populations = o, strength = -1, target = 2) }",
    ),
    (
        "regularizer_unknown",
        "snn::check::unknown_keyword",
        "{NET} train { {TR}; regularizer = spike_rate(populations = o, strength = 1, target = 2) }",
    ),
    ("learning_rate_zero", "snn::check::out_of_range", "{NET} train { {TR}; optimizer = adam(lr = 0) }"),
    ("adam_beta_of_one", "snn::check::out_of_range", "{NET} train { {TR}; optimizer = adam(betas = (0.9, 1.0)) }"),
    ("adam_betas_not_a_pair", "snn::check::type_mismatch", "{NET} train { {TR}; optimizer = adam(betas = 0.9) }"),
    ("optimizer_unknown", "snn::check::unknown_keyword", "{NET} train { {TR}; optimizer = adamw(lr = 1e-3) }"),
    (
        "sgd_unknown_argument",
        "snn::check::unknown_parameter",
        "{NET} train { {TR}; optimizer = sgd(lr = 0.1, nesterov = 0.9) }",
    ),
    ("batch_zero", "snn::check::out_of_range", "{NET} train { data = yin_yang(); readout = o; batch = 0; epochs = 1 }"),
    (
        "batch_larger_than_training_set",
        "snn::check::out_of_range",
        "{NET} train { data = yin_yang(train = 10 @ seed 1); readout = o; batch = 32; epochs = 1 }",
    ),
    ("train_parameter_twice", "snn::check::duplicate_parameter", "{NET} train { {TR}; batch = 8 }"),
    (
        "loss_xi_in_megahertz",
        "snn::check::wrong_unit",
        "{NET} train { {TR}; loss = first_spike_cross_entropy(xi = 5 MHz) }",
    ),
    (
        "loss_alpha_with_unit",
        "snn::check::wrong_unit",
        "{NET} train { {TR}; loss = first_spike_cross_entropy(alpha = 1 ms) }",
    ),
    ("loss_beta_zero", "snn::check::out_of_range", "{NET} train { {TR}; loss = first_spike_cross_entropy(beta = 0) }"),
    ("schedule_missing_factor", "snn::check::missing_parameter", "{NET} train { {TR}; schedule = exponential() }"),
    (
        "schedule_factor_above_one",
        "snn::check::out_of_range",
        "{NET} train { {TR}; schedule = exponential(per_epoch = 1.5) }",
    ),
    ("filter_ambiguous_not_boolean", "snn::check::unknown_keyword", "{NET} train { {TR}; filter_ambiguous = yes }"),
    ("seed_negative", "snn::check::out_of_range", "{NET} train { {TR}; seed = -1 }"),
    ("seed_above_32_bits", "snn::check::out_of_range", "{NET} train { {TR}; seed = 4294967296 }"),
    (
        "split_seed_above_32_bits",
        "snn::check::out_of_range",
        "{NET} train { readout = o; batch = 4; epochs = 1; data = yin_yang(train = 100 @ seed 5000000000) }",
    ),
    // Target block.
    ("target_unknown_machine", "snn::check::unknown_keyword", "{NET} target spinaker2 { chips = 1 }"),
    ("clock_in_milliseconds", "snn::check::wrong_unit", "{NET} target spinnaker2 { clock = 5 ms }"),
    ("clock_unsupported_frequency", "snn::check::out_of_range", "{NET} target spinnaker2 { clock = 200 MHz }"),
    ("chips_and_board", "snn::check::conflicting_parameters", "{NET} target spinnaker2 { chips = 2; board = 48 }"),
    ("board_not_48", "snn::check::out_of_range", "{NET} target spinnaker2 { board = 24 }"),
    ("chips_zero", "snn::check::out_of_range", "{NET} target spinnaker2 { chips = 0 }"),
    ("mapping_unknown", "snn::check::unknown_keyword", "{NET} target spinnaker2 { mapping = batch_paralel }"),
    ("gradients_unknown", "snn::check::unknown_keyword", "{NET} target spinnaker2 { gradients = chained }"),
    (
        "copies_not_dividing_the_batch",
        "snn::check::out_of_range",
        "{NET} train { {TR} } target spinnaker2 { copies = 3 }",
    ),
    ("copies_above_the_batch", "snn::check::out_of_range", "{NET} train { {TR} } target spinnaker2 { copies = 8 }"),
    (
        "copies_with_single_copy",
        "snn::check::out_of_range",
        "{NET} train { {TR} } target spinnaker2 { mapping = single_copy; copies = 2 }",
    ),
    (
        "copies_with_direct_gradients",
        "snn::check::out_of_range",
        "{NET} train { {TR} } target spinnaker2 { copies = 2; gradients = direct }",
    ),
    ("copies_without_training", "snn::check::out_of_range", "{NET} target spinnaker2 { copies = 2 }"),
    (
        "two_target_blocks",
        "snn::check::duplicate_block",
        "{NET} target spinnaker2 { chips = 1 } target spinnaker2 { chips = 2 }",
    ),
    // Several errors at once: all are reported.
    (
        "collects_every_error",
        "snn::check::unknown_population",
        "network n { time { dt = 0 ms; steps = 20 }; {I}; population o = lif(3) { tau_mem = 20 steps }; projection i -> x = dense { init = normal() } } train { {TR}; batch = 0 }",
    ),
];

fn expand(input: &str) -> String {
    input
        .replace("{ENET}", "network n {\n    {T}\n    {EI}\n    {O}\n    {P}\n}\n")
        .replace("{NET}", "network n {\n    {T}\n    {I}\n    {O}\n    {P}\n}\n")
        .replace("{TR}", "data = yin_yang(); readout = o; batch = 4; epochs = 1")
        .replace("{T}", "time { dt = 1 ms; steps = 20 }")
        .replace("{I}", "population i = spike_source(4) { encoding = latency(order = early_high) }")
        .replace("{EI}", "population i = spike_source(4) { encoding = events() }")
        .replace("{O}", "population o = lif(3)")
        .replace("{P}", "projection i -> o = dense { init = normal() }")
}

fn render(report: &Report) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .with_links(false)
        .render_report(&mut out, report.as_ref())
        .expect("rendering into a String cannot fail");
    out
}

#[test]
fn the_table_is_large_and_its_names_unique() {
    assert!(CASES.len() >= 40, "only {} cases", CASES.len());
    let mut names: Vec<&str> = CASES.iter().map(|c| c.0).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), CASES.len(), "duplicate case names");
}

#[test]
fn templates_alone_check_clean() {
    for base in [
        "{NET}",
        "{NET} train { {TR} }",
        "{NET} train { {TR} } target spinnaker2 { chips = 2 }",
        "{ENET} train { data = shd_like(classes = 3, channels = 4); readout = o; batch = 4; epochs = 1; augment = (jitter(1 ms), blend(p = 0.5), shift(2), dilate(0.9 .. 1.1)) }",
        "{ENET} train { data = events(train = \"a.h5\", test = \"b.h5\", validation = speakers(4, 5)); readout = o; batch = 4; epochs = 1 }",
    ] {
        let text = expand(base);
        if let Err(d) = check_source("case.snn", &text) {
            panic!("{text}: {:#?}", d.errors());
        }
    }
}

#[test]
fn malformed_specs_are_rejected_with_snapshot_tested_diagnostics() {
    for (name, code, input) in CASES {
        let text = expand(input);
        let diags = match check_source("case.snn", &text) {
            Ok(_) => panic!("case {name} was accepted: {text}"),
            Err(d) => d,
        };
        let codes: Vec<String> = diags
            .errors()
            .iter()
            .map(|e| miette::Diagnostic::code(e).map(|c| c.to_string()).unwrap_or_default())
            .collect();
        assert!(codes.iter().any(|c| c == code), "case {name}: expected {code}, got {codes:?}");
        for e in diags.errors() {
            let labels: Vec<_> = miette::Diagnostic::labels(e).map(|l| l.collect()).unwrap_or_else(Vec::new);
            assert!(!labels.is_empty(), "case {name}: an error without a label: {e}");
            for l in labels {
                assert!(l.offset() + l.len() <= text.len(), "case {name}: label outside the input");
            }
            assert!(miette::Diagnostic::help(e).is_some(), "case {name}: an error without help: {e}");
        }
        let report = Report::new(diags).with_source_code(NamedSource::new("case.snn", text.clone()));
        insta::with_settings!({ description => text.as_str(), omit_expression => true, prepend_module_to_snapshot => false, snapshot_path => "snapshots/diagnostics" }, {
            insta::assert_snapshot!(*name, render(&report));
        });
    }
}
