//! Progress on long work: a bar on stderr when stderr is a terminal and the input is large
//! enough to take noticeable time. Never on a pipe or a file, so scripts and logs stay clean.

use std::io::{IsTerminal, Read};
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

/// Reads `reader` to the end (at most `limit` bytes), advancing `bar` as it goes.
pub fn read_all(
    mut reader: impl Read,
    size_hint: u64,
    limit: u64,
    bar: Option<&ProgressBar>,
) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(usize::try_from(size_hint.min(limit)).unwrap_or(0));
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        buf.extend_from_slice(&chunk[..n]);
        if let Some(b) = bar {
            b.inc(n as u64);
        }
        if buf.len() as u64 > limit {
            break;
        }
    }
    Ok(buf)
}
