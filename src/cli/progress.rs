//! Progress on long work: a bar on stderr when stderr is a terminal and the input is large
//! enough to take noticeable time. Never on a pipe or a file, so scripts and logs stay clean.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Inputs at least this large get a progress bar (about a tenth of a second of work).
pub const LARGE_INPUT: u64 = 8 * 1024 * 1024;
/// Exports of at least this many cases get one.
pub const MANY_CASES: u64 = 20_000;

fn enabled() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("QNTCBOT_NO_PROGRESS").is_none()
}

/// A bar counting bytes, or `None` when no bar should be shown.
pub fn bytes(total: u64, message: &'static str) -> Option<ProgressBar> {
    if total < LARGE_INPUT || !enabled() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(message);
    Some(bar)
}

/// A bar counting items (cases), or `None`.
pub fn items(total: u64, message: &'static str) -> Option<ProgressBar> {
    if total < MANY_CASES || !enabled() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(message);
    Some(bar)
}

/// A spinner for work of unknown length that follows a large input, or `None`.
pub fn spinner(input_bytes: u64, message: &'static str) -> Option<ProgressBar> {
    if input_bytes < LARGE_INPUT || !enabled() {
        return None;
    }
    let s = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    s.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    s.set_message(message);
    s.enable_steady_tick(Duration::from_millis(100));
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_bar_for_small_inputs_or_without_a_terminal() {
        assert!(bytes(LARGE_INPUT - 1, "x").is_none());
        assert!(items(MANY_CASES - 1, "x").is_none());
        assert!(spinner(0, "x").is_none());
        if !std::io::stderr().is_terminal() {
            // Test runs capture stderr: a large input still draws nothing there.
            assert!(bytes(LARGE_INPUT * 4, "x").is_none());
            assert!(items(MANY_CASES * 4, "x").is_none());
        }
    }
}
