//! Recording a simulation's outputs: whole states where a trajectory needs them, one species
//! as a number where only it is needed (the drug concentration on the dense 0.01-h grid that
//! Cmax is read from), so that 2,401 peak-grid points do not become 2,401 state vectors.

use crate::solve::Trajectory;

/// Equal within floating-point noise (event and output times are sums of user numbers).
pub(crate) fn same_time(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

/// Strictly before `end`, beyond floating-point noise.
pub(crate) fn before(t: f64, end: f64) -> bool {
    t < end && !same_time(t, end)
}

/// One species sampled at many times (the concentration on the dense peak grid): recorded
/// as a number, not as a whole state.
#[derive(Debug, Clone, Copy)]
pub struct Probe<'a> {
    pub species: usize,
    /// Sorted.
    pub times: &'a [f64],
}

/// What an integration reports to: whole states at its output times and, when it asks for
/// a probe, one species alone at the probe's times. The integrator reads probe values from
/// each step's interpolating polynomial (at most order + 1 whole-state interpolations per
/// step, not one per probe time: the dense peak grid has thousands of points).
pub trait Observer<'p> {
    /// The whole state at one of the output times.
    fn observe(&mut self, t: f64, y: &[f64]);
    /// One species wanted alone at many (sorted) times.
    fn probe(&self) -> Option<Probe<'p>> {
        None
    }
    /// The probe species' value at one of the probe's times.
    fn sample(&mut self, _t: f64, _value: f64) {}
}

impl<'p, F: FnMut(f64, &[f64])> Observer<'p> for F {
    fn observe(&mut self, t: f64, y: &[f64]) {
        self(t, y)
    }
}

/// Where an integration's outputs go: whole states at `full` times, one number at `probe`
/// times (both sorted; a time may be in both). Outputs arrive in time order (segments share
/// their boundary time), so cursors replace searches.
pub(crate) struct Recorder<'a> {
    full: &'a [f64],
    probe: Option<Probe<'a>>,
    pub(crate) states: Vec<(f64, Vec<f64>)>,
    pub(crate) samples: Vec<(f64, f64)>,
    next_full: usize,
    next_probe: usize,
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

/// Entries are labelled with the recorder's own times, not the caller's: an integration may
/// run on a merged time list whose entry is within `same_time` of them but not equal.
impl<'a> Observer<'a> for Recorder<'a> {
    fn observe(&mut self, t: f64, y: &[f64]) {
        if at_cursor(self.full, &mut self.next_full, t) {
            self.states.push((self.full[self.next_full], y.to_vec()));
        }
    }
    fn probe(&self) -> Option<Probe<'a>> {
        self.probe
    }
    fn sample(&mut self, t: f64, value: f64) {
        if let Some(p) = self.probe {
            if at_cursor(p.times, &mut self.next_probe, t) {
                self.samples.push((p.times[self.next_probe], value));
            }
        }
    }
}

impl<'a> Recorder<'a> {
    pub(crate) fn new(full: &'a [f64], probe: Option<Probe<'a>>) -> Self {
        Recorder {
            full,
            probe,
            states: Vec::with_capacity(full.len()),
            samples: Vec::with_capacity(probe.map_or(0, |p| p.times.len())),
            next_full: 0,
            next_probe: 0,
        }
    }

    /// The whole states as a trajectory and the samples, each sorted by time with one entry
    /// per time (consecutive integration segments both report their shared boundary).
    pub(crate) fn finish(self) -> (Trajectory, Vec<(f64, f64)>) {
        let Recorder {
            mut states,
            mut samples,
            ..
        } = self;
        states.sort_by(|a, b| a.0.total_cmp(&b.0));
        states.dedup_by(|a, b| same_time(a.0, b.0));
        samples.sort_by(|a, b| a.0.total_cmp(&b.0));
        samples.dedup_by(|a, b| same_time(a.0, b.0));
        (
            Trajectory {
                times_h: states.iter().map(|o| o.0).collect(),
                states: states.into_iter().map(|o| o.1).collect(),
            },
            samples,
        )
    }
}
