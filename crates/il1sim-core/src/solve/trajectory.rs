//! Recording a simulation's outputs: whole states where a trajectory needs them, one species
//! as a number where only it is needed (the drug concentration on the dense 0.01-h grid that
//! Cmax is read from), so that 2,401 peak-grid points do not become 2,401 state vectors.
//! The [`Trajectory`] a simulation returns, the [`Observer`] an integration reports to and
//! the `Recorder` the summaries use.

use crate::time::{at_cursor, same_time};

/// States at output times (rows), all states (species then per-drug AUC).
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    pub times_h: Vec<f64>,
    pub states: Vec<Vec<f64>>,
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
