//! Every error of a sweep's definition. Codes are stable (`snn::sweep::*`);
//! each error carries the text it points into (the spec's `sweep` block or
//! one `--set` flag), so that errors from several sources render together.

use std::fmt;

use miette::{NamedSource, SourceSpan};

use crate::syntax::SyntaxError;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SweepError {
    #[error("`{text}` is not a sweep entry `PATH=VALUES`")]
    #[diagnostic(code(snn::sweep::bad_set))]
    BadSet {
        text: String,
        #[source_code]
        src: NamedSource<String>,
        #[related]
        errors: Vec<SyntaxError>,
    },

    #[error("unknown parameter path `{path}`")]
    #[diagnostic(code(snn::sweep::unknown_path))]
    UnknownPath {
        path: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("{label}")]
        span: SourceSpan,
        label: String,
        #[help]
        help: String,
    },

    #[error("`{path}` is swept twice")]
    #[diagnostic(code(snn::sweep::duplicate_path), help("give all of its values in one entry: `{path} = a, b, c`"))]
    DuplicatePath {
        path: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("swept again here")]
        span: SourceSpan,
    },

    #[error("{message}")]
    #[diagnostic(code(snn::sweep::bad_range))]
    BadRange {
        message: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("{label}")]
        span: SourceSpan,
        label: String,
        #[help]
        help: String,
    },

    #[error("{message}")]
    #[diagnostic(code(snn::sweep::bad_distribution))]
    BadDistribution {
        message: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("{label}")]
        span: SourceSpan,
        label: String,
        #[help]
        help: String,
    },

    #[error("{message}")]
    #[diagnostic(code(snn::sweep::bad_mode))]
    BadMode {
        message: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("{label}")]
        span: SourceSpan,
        label: String,
        #[help]
        help: String,
    },

    #[error("the sweep has {trials} trials, more than the {max} allowed")]
    #[diagnostic(
        code(snn::sweep::too_many_trials),
        help("sweep fewer values, or draw a sample of the space with `sweep random(trials = N, seed = S)`")
    )]
    TooManyTrials {
        trials: u128,
        max: u32,
        #[source_code]
        src: NamedSource<String>,
        #[label("this sweep")]
        span: SourceSpan,
    },

    #[error("{file} has nothing to sweep")]
    #[diagnostic(
        code(snn::sweep::empty),
        help(
            "give the values on the command line (`--set optimizer.lr=1e-3,2e-3 --set train.seed=0..3`) or in a `sweep {{ .. }}` block of the spec"
        )
    )]
    Empty { file: String },
}

/// Every error of one sweep definition.
#[derive(Debug)]
pub struct SweepDiagnostics {
    pub errors: Vec<SweepError>,
}

impl fmt::Display for SweepDiagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(f, "the sweep was rejected: {n} error{}", if n == 1 { "" } else { "s" })
    }
}

impl std::error::Error for SweepDiagnostics {}

impl miette::Diagnostic for SweepDiagnostics {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("snn::sweep::rejected"))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        Some(Box::new(self.errors.iter().map(|e| e as &dyn miette::Diagnostic)))
    }
}
