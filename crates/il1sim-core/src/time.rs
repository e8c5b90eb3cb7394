//! Time comparison on sums of user numbers: event and output times are sums of intervals,
//! start times and delays, so two times meant to be equal may differ by rounding. Everything
//! that compares, merges or looks up such times uses these functions (dosing, solving,
//! recording, summaries, exports).

/// Equal within floating-point noise (event and output times are sums of user numbers).
pub(crate) fn same_time(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

/// Strictly before `end`, beyond floating-point noise.
pub(crate) fn before(t: f64, end: f64) -> bool {
    t < end && !same_time(t, end)
}

/// Advance `cursor` over `sorted` to `t`; true when `t` is in the list.
pub(crate) fn at_cursor(sorted: &[f64], cursor: &mut usize, t: f64) -> bool {
    while *cursor < sorted.len() && sorted[*cursor] < t && !same_time(sorted[*cursor], t) {
        *cursor += 1;
    }
    *cursor < sorted.len() && same_time(sorted[*cursor], t)
}

pub(crate) fn contains(sorted: &[f64], t: f64) -> bool {
    let i = sorted.partition_point(|&x| x < t && !same_time(x, t));
    i < sorted.len() && same_time(sorted[i], t)
}

pub(crate) fn union(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut u: Vec<f64> = a.iter().chain(b).copied().collect();
    u.sort_by(f64::total_cmp);
    u.dedup_by(|x, y| same_time(*x, *y));
    u
}
