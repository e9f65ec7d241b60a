//! Slow tests (tens of seconds on two cores: the 7 GB `large.snn` batch, every
//! PE replayed through C, QEMU runs) run by default and always in CI;
//! `SNNC_SKIP_SLOW=1` skips them locally, saying so.

/// True (after printing why) when `SNNC_SKIP_SLOW=1` asks to skip `test`;
/// under `CI=true` a slow test always runs.
pub fn skip(test: &str) -> bool {
    let asked = std::env::var("SNNC_SKIP_SLOW").is_ok_and(|v| v == "1");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if asked && !ci {
        eprintln!("{test}: skipped (slow; SNNC_SKIP_SLOW=1)");
    }
    asked && !ci
}
