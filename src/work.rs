//! Work units: how many bytes and items the text pipeline touched on this thread. Tests use
//! the count to check that cost grows linearly with the input (doubling an input at most
//! about doubles the work) without timing anything; see `tests/linear_work.rs`.
//!
//! Every loop whose length depends on the input adds what it examined: the haystack of each
//! regex search, the bytes compared, the items scanned. The count costs one thread-local add
//! per line or per search, never per byte.

use std::cell::Cell;

thread_local! {
    static UNITS: Cell<u64> = const { Cell::new(0) };
}

/// Records `n` units of work on this thread.
#[inline]
pub fn add(n: usize) {
    UNITS.with(|u| u.set(u.get().wrapping_add(n as u64)));
}

/// The units recorded on this thread since it started (or since the last [`reset`]).
pub fn units() -> u64 {
    UNITS.with(Cell::get)
}

pub fn reset() {
    UNITS.with(|u| u.set(0));
}

/// Runs `f` and returns its result with the units it recorded.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = units();
    let r = f();
    (r, units().wrapping_sub(before))
}
