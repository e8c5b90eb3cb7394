//! Rodas4 over lanes: one integration segment for each of up to `L` subjects at once, the
//! batched method's integrator (docs/solver.md, "Batched method").
//!
//! Why a Rosenbrock method and not BDF: a Rosenbrock step is a fixed sequence of one
//! Jacobian, one LU factorisation and six linear solves, with no Newton iteration whose
//! convergence could differ from subject to subject, so the same instructions serve every
//! lane. Rodas4 (Hairer & Wanner 1996, Solving ODEs II, §VI.4; coefficients as in their
//! RODAS code) is L-stable and stiffly accurate, order 4 with an embedded order-3 estimate.
//!
//! Lane independence: every lane keeps its OWN time, step size, step-size controller,
//! events and outputs. Only the arithmetic of the Jacobian's LU and of the stage solves and
//! combinations is laid out as `[entry][lane]` so that it runs on all lanes at once (the
//! compiler vectorises the lane loops; Rust never contracts `a * b + c` into a fused
//! multiply-add, so a vectorised lane computes exactly what a scalar one does). Where a
//! lane's work is conditional (pivoting, skipping a zero multiplier), the decision is made
//! per lane and a lane that skips keeps its value bit for bit, so no lane's numbers depend
//! on its lane-mates. The right-hand side and the Jacobian are the compiled system's own
//! scalar functions, called lane by lane.

// Index loops over states and lanes say which lane and entry each operation touches, and
// they are the loops the compiler vectorises.
#![allow(clippy::needless_range_loop)]

use super::subject::restart_step;
use crate::dosing::inputs::StateInput;
use crate::model::system::OdeSystem;
use crate::time::same_time;

/// Rodas4 stages.
const STAGES: usize = 6;
/// γ of Rodas4 (the diagonal of the method; W = I/(hγ) − J).
const GAMMA: f64 = 0.25;
/// A(i, j), the stage arguments Y_i = y + Σ_j A(i, j) K_j, row by row (Hairer & Wanner's
/// RODAS coefficients, method 1).
const A: [[f64; STAGES]; STAGES] = [
    [0.0; STAGES],
    [1.544, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.9466785280815826, 0.2557011698983284, 0.0, 0.0, 0.0, 0.0],
    [
        3.314825187068521,
        2.896124015972201,
        0.9986419139977817,
        0.0,
        0.0,
        0.0,
    ],
    [
        1.221224509226641,
        6.019134481288629,
        12.53708332932087,
        -0.687886036105895,
        0.0,
        0.0,
    ],
    [
        1.221224509226641,
        6.019134481288629,
        12.53708332932087,
        -0.687886036105895,
        1.0,
        0.0,
    ],
];
/// C(i, j): the stage equations W K_i = f(Y_i) + Σ_j C(i, j)/h K_j.
const C: [[f64; STAGES]; STAGES] = [
    [0.0; STAGES],
    [-5.6688, 0.0, 0.0, 0.0, 0.0, 0.0],
    [-2.430093356833875, -0.2063599157091915, 0.0, 0.0, 0.0, 0.0],
    [
        -0.1073529058151375,
        -9.594562251023355,
        -20.47028614809616,
        0.0,
        0.0,
        0.0,
    ],
    [
        7.496443313967647,
        -10.24680431464352,
        -33.99990352819905,
        11.7089089320616,
        0.0,
        0.0,
    ],
    [
        8.083246795921522,
        -7.981132988064893,
        -31.52159432874371,
        16.31930543123136,
        -6.058818238834054,
        0.0,
    ],
];
/// The solution y_new = y + Σ M_j K_j (stiffly accurate: y_new is the last stage's argument
/// plus K_6), and the error estimate is K_6 alone.
const M: [f64; STAGES] = [
    1.221224509226641,
    6.019134481288629,
    12.53708332932087,
    -0.687886036105895,
    1.0,
    1.0,
];
/// Order of the error estimate plus one, for the step-size controller.
const ERROR_ORDER: f64 = 4.0;
/// Step-size controller: safety factor and bounds of the change per step (Hairer &
/// Wanner's RODAS defaults).
const SAFETY: f64 = 0.9;
const FAC_MIN: f64 = 0.2;
const FAC_MAX: f64 = 6.0;
/// Steps per lane and segment before the integration is abandoned (a diagnosed failure,
/// not a hang).
const MAX_STEPS: usize = 200_000;

/// One lane's segment: the contract of `Subject::integrate_with` with owned inputs.
#[derive(Debug, Clone)]
pub struct LaneRequest {
    /// The subject's whole compiled system.
    pub system: OdeSystem,
    /// Absolute tolerance of every state.
    pub atol: Vec<f64>,
    pub rtol: f64,
    pub y0: Vec<f64>,
    pub rates: Vec<f64>,
    pub t0: f64,
    pub t_end: f64,
    /// Sorted by time (those outside [t0, t_end) are ignored).
    pub inputs: Vec<StateInput>,
    /// Sorted; whole states are reported at those in [t0, t_end].
    pub output_times: Vec<f64>,
    /// One species (whole-system index) and its sorted sample times.
    pub probe: Option<(usize, Vec<f64>)>,
}

/// What one lane's segment gives back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LaneOutput {
    pub state: Vec<f64>,
    pub rates: Vec<f64>,
    /// Whole states at the output times, in time order.
    pub observed: Vec<(f64, Vec<f64>)>,
    /// Probe samples, in time order.
    pub samples: Vec<(f64, f64)>,
    /// Accepted and rejected steps.
    pub accepted: usize,
    pub rejected: usize,
}

/// Why a lane's segment failed: where, the whole state there, and the message.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneFailure {
    pub time_h: f64,
    pub state: Vec<f64>,
    pub message: String,
}

/// Integrate every request, `L` lanes at a time (lanes are grouped by the number of states
/// they integrate; a group's last batch runs with idle lanes). Results are in request order
/// and each is what a batch of that request alone would give.
pub fn integrate_lanes<const L: usize>(
    requests: Vec<LaneRequest>,
) -> Vec<Result<LaneOutput, LaneFailure>> {
    let count = requests.len();
    let mut results: Vec<Option<Result<LaneOutput, LaneFailure>>> = vec![None; count];
    let mut prepared: Vec<(usize, Lane)> = Vec::with_capacity(count);
    for (i, r) in requests.into_iter().enumerate() {
        match Lane::prepare(r) {
            Prepared::Done(out) => results[i] = Some(Ok(out)),
            Prepared::Lane(lane) => prepared.push((i, *lane)),
        }
    }
    // Group by dimension (stable, so the grouping depends only on the requests).
    prepared.sort_by_key(|(_, l)| l.sys.n);
    let mut start = 0;
    while start < prepared.len() {
        let n = prepared[start].1.sys.n;
        let mut end = start;
        while end < prepared.len() && prepared[end].1.sys.n == n && end - start < L {
            end += 1;
        }
        let chunk = &mut prepared[start..end];
        run_batch::<L>(chunk);
        for (i, lane) in chunk.iter_mut() {
            results[*i] = Some(lane.result());
        }
        start = end;
    }
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(LaneFailure {
                    time_h: f64::NAN,
                    state: vec![],
                    message: "internal error: a lane was not integrated (please report it)".into(),
                })
            })
        })
        .collect()
}

enum Prepared {
    Done(LaneOutput),
    Lane(Box<Lane>),
}

/// One lane's integration state (on the states it can change, `keep`).
struct Lane {
    sys: OdeSystem,
    keep: Vec<usize>,
    n_full: usize,
    atol: Vec<f64>,
    rtol: f64,
    y: Vec<f64>,
    rates: Vec<f64>,
    /// f(y) at the current time.
    f0: Vec<f64>,
    t: f64,
    h: f64,
    t_end: f64,
    /// The next stop: an input time or the end.
    t_next: f64,
    inputs: Vec<StateInput>,
    next_in: usize,
    output_times: Vec<f64>,
    next_out: usize,
    /// Probe species (restricted index) and times.
    probe: Option<(usize, Vec<f64>)>,
    next_probe: usize,
    /// The step after a rejection may not grow.
    rejected_last: bool,
    done: bool,
    failure: Option<LaneFailure>,
    out: LaneOutput,
}

impl Lane {
    fn prepare(r: LaneRequest) -> Prepared {
        let sys_full = &r.system;
        let mut targets: Vec<usize> = r.inputs.iter().map(StateInput::species).collect();
        targets.extend((0..r.rates.len()).filter(|&i| r.rates[i] != 0.0));
        let active = sys_full.reachable(&r.y0, &targets);
        let keep: Vec<usize> = (0..sys_full.n).filter(|&i| active[i]).collect();
        let in_range =
            |t: f64| (t >= r.t0 || same_time(t, r.t0)) && (t <= r.t_end || same_time(t, r.t_end));
        let mut out = LaneOutput {
            state: r.y0.clone(),
            rates: r.rates.clone(),
            ..LaneOutput::default()
        };
        // A probe on a state that cannot change reads its starting value.
        let constant_probe = |out: &mut LaneOutput| {
            if let Some((species, times)) = &r.probe {
                for &t in times.iter().filter(|&&t| in_range(t)) {
                    out.samples.push((t, r.y0[*species]));
                }
            }
        };
        if keep.is_empty() {
            for &t in r
                .output_times
                .iter()
                .filter(|&&t| t >= r.t0 - 1e-12 && t <= r.t_end + 1e-12)
            {
                out.observed.push((t, r.y0.clone()));
            }
            constant_probe(&mut out);
            return Prepared::Done(out);
        }
        let mut map = vec![usize::MAX; sys_full.n];
        for (new, &old) in keep.iter().enumerate() {
            map[old] = new;
        }
        let probe = match &r.probe {
            Some((species, times)) if active[*species] => Some((map[*species], times.clone())),
            Some(_) => {
                constant_probe(&mut out);
                None
            }
            None => None,
        };
        let sys = if keep.len() == sys_full.n {
            sys_full.clone()
        } else {
            sys_full.restrict(&keep)
        };
        let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let inputs: Vec<StateInput> = r
            .inputs
            .iter()
            .filter(|i| {
                i.time_h() >= r.t0 - 1e-12
                    && i.time_h() < r.t_end
                    && !same_time(i.time_h(), r.t_end)
            })
            .map(|i| match *i {
                StateInput::Bolus {
                    time_h,
                    species,
                    amount_nmol,
                } => StateInput::Bolus {
                    time_h,
                    species: map[species],
                    amount_nmol,
                },
                StateInput::RateStep {
                    time_h,
                    species,
                    delta_nmol_per_h,
                } => StateInput::RateStep {
                    time_h,
                    species: map[species],
                    delta_nmol_per_h,
                },
            })
            .collect();
        let next_out = r
            .output_times
            .partition_point(|&t| t < r.t0 && !same_time(t, r.t0));
        let next_probe = probe.as_ref().map_or(0, |(_, ts)| {
            ts.partition_point(|&t| t < r.t0 && !same_time(t, r.t0))
        });
        let n = sys.n;
        let mut lane = Lane {
            atol: pick(&r.atol),
            rtol: r.rtol,
            y: pick(&r.y0),
            rates: pick(&r.rates),
            f0: vec![0.0; n],
            t: r.t0,
            h: 0.0,
            t_end: r.t_end,
            t_next: r.t_end,
            inputs,
            next_in: 0,
            output_times: r.output_times.clone(),
            next_out,
            probe,
            next_probe,
            rejected_last: false,
            done: false,
            failure: None,
            out,
            sys,
            keep,
            n_full: sys_full.n,
        };
        lane.at_stop();
        Prepared::Lane(Box::new(lane))
    }

    fn expand(&self, v: &[f64]) -> Vec<f64> {
        let mut full = vec![0.0; self.n_full];
        for (k, &i) in self.keep.iter().enumerate() {
            full[i] = v[k];
        }
        full
    }

    /// At a stop (the start, an input time or the end): observations at this time come
    /// before the events at it (trough semantics), then the events, then a fresh start.
    fn at_stop(&mut self) {
        let t = self.t;
        while self.next_out < self.output_times.len()
            && (self.output_times[self.next_out] <= t
                || same_time(self.output_times[self.next_out], t))
        {
            let full = self.expand(&self.y);
            self.out
                .observed
                .push((self.output_times[self.next_out], full));
            self.next_out += 1;
        }
        if let Some((species, times)) = &self.probe {
            while self.next_probe < times.len()
                && (times[self.next_probe] <= t || same_time(times[self.next_probe], t))
            {
                self.out
                    .samples
                    .push((times[self.next_probe], self.y[*species]));
                self.next_probe += 1;
            }
        }
        if t >= self.t_end || same_time(t, self.t_end) {
            self.done = true;
            return;
        }
        while self.next_in < self.inputs.len()
            && (self.inputs[self.next_in].time_h() <= t
                || same_time(self.inputs[self.next_in].time_h(), t))
        {
            match self.inputs[self.next_in] {
                StateInput::Bolus {
                    species,
                    amount_nmol,
                    ..
                } => self.y[species] += amount_nmol / self.sys.volume[species],
                StateInput::RateStep {
                    species,
                    delta_nmol_per_h,
                    ..
                } => {
                    let r = &mut self.rates[species];
                    *r += delta_nmol_per_h;
                    // Switching an infusion off must leave exactly zero, not rounding noise.
                    if r.abs() < 1e-12 * delta_nmol_per_h.abs() {
                        *r = 0.0;
                    }
                }
            }
            self.next_in += 1;
        }
        self.sys.rhs(&self.y, &self.rates, &mut self.f0);
        self.h = restart_step(
            &self.sys,
            &self.rates,
            &self.y,
            &self.f0,
            &self.atol,
            self.rtol,
        );
        self.rejected_last = false;
        self.t_next = if self.next_in < self.inputs.len() {
            self.inputs[self.next_in].time_h().min(self.t_end)
        } else {
            self.t_end
        };
    }

    /// The step to attempt: the controller's, cut to land exactly on the next stop.
    fn step_size(&self) -> (f64, bool) {
        let left = self.t_next - self.t;
        if self.h >= left || same_time(self.t + self.h, self.t_next) {
            (left, true)
        } else {
            (self.h, false)
        }
    }

    fn fail(&mut self, message: String) {
        self.failure = Some(LaneFailure {
            time_h: self.t,
            state: self.expand(&self.y),
            message,
        });
        self.done = true;
    }

    /// An accepted step from (t, y, f0) to (t + h, y1, f1): outputs inside it from the cubic
    /// Hermite interpolant (order 3, the embedded estimate's), then the stop if it lands.
    fn accept(&mut self, h: f64, lands: bool, y1: Vec<f64>, f1: Vec<f64>) {
        let (t0, t1) = (self.t, if lands { self.t_next } else { self.t + h });
        let t_next = self.t_next;
        let inside = |ot: f64| ot <= t1 && ot < t_next && !same_time(ot, t_next);
        let hermite = |y0: f64, f0: f64, y1: f64, f1: f64, t: f64| -> f64 {
            let th = (t - t0) / h;
            (1.0 - th) * y0
                + th * y1
                + th * (th - 1.0)
                    * ((1.0 - 2.0 * th) * (y1 - y0) + (th - 1.0) * h * f0 + th * h * f1)
        };
        while self.next_out < self.output_times.len() && inside(self.output_times[self.next_out]) {
            let ot = self.output_times[self.next_out];
            let y: Vec<f64> = (0..self.sys.n)
                .map(|i| hermite(self.y[i], self.f0[i], y1[i], f1[i], ot))
                .collect();
            let full = self.expand(&y);
            self.out.observed.push((ot, full));
            self.next_out += 1;
        }
        if let Some((s, times)) = &self.probe {
            let s = *s;
            while self.next_probe < times.len() && inside(times[self.next_probe]) {
                let pt = times[self.next_probe];
                self.out
                    .samples
                    .push((pt, hermite(self.y[s], self.f0[s], y1[s], f1[s], pt)));
                self.next_probe += 1;
            }
        }
        self.t = t1;
        self.y = y1;
        self.f0 = f1;
        self.out.accepted += 1;
        if lands {
            self.at_stop();
        }
    }

    fn result(&mut self) -> Result<LaneOutput, LaneFailure> {
        if let Some(f) = self.failure.take() {
            return Err(f);
        }
        let mut out = std::mem::take(&mut self.out);
        out.state = self.expand(&self.y);
        out.rates = self.expand(&self.rates);
        Ok(out)
    }
}

/// The lanes of one batch (same dimension) to their ends.
fn run_batch<const L: usize>(lanes: &mut [(usize, Lane)]) {
    let n = lanes[0].1.sys.n;
    let width = lanes.len();
    // [entry][lane] work arrays: W (n × n row-major), its pivots, stages, right-hand sides.
    let mut w = vec![[0.0f64; L]; n * n];
    let mut perm = vec![[0usize; L]; n];
    let mut k = vec![vec![[0.0f64; L]; n]; STAGES];
    let mut rhs = vec![[0.0f64; L]; n];
    let mut jac = vec![0.0f64; n * n];
    let mut y_stage = vec![0.0f64; n];
    let mut f_stage = vec![0.0f64; n];
    let mut steps = [(0.0f64, false); L];
    let mut active = [false; L];
    loop {
        let mut any = false;
        for (l, (_, lane)) in lanes.iter().enumerate() {
            active[l] = !lane.done;
            any |= active[l];
            if active[l] && lane.out.accepted + lane.out.rejected >= MAX_STEPS {
                active[l] = false;
            }
        }
        for (l, (_, lane)) in lanes.iter_mut().enumerate() {
            if !lane.done && !active[l] {
                lane.fail(format!("more than {MAX_STEPS} steps in one segment"));
            }
        }
        if !any {
            return;
        }
        // W = I/(hγ) − J, lane by lane (an idle lane repeats its last numbers; unused).
        for (l, (_, lane)) in lanes.iter().enumerate() {
            steps[l] = lane.step_size();
            lane.sys.jacobian_into(&lane.y, &mut jac);
            let diag = 1.0 / (steps[l].0 * GAMMA);
            for r in 0..n {
                for c in 0..n {
                    w[r * n + c][l] = -jac[r * n + c];
                }
                w[r * n + r][l] += diag;
            }
        }
        let singular = factorise::<L>(n, width, &mut w, &mut perm);
        // Stages.
        for s in 0..STAGES {
            for (l, (_, lane)) in lanes.iter().enumerate() {
                let h = steps[l].0;
                if s == 0 {
                    for i in 0..n {
                        rhs[i][l] = lane.f0[i];
                    }
                    continue;
                }
                for i in 0..n {
                    let mut v = lane.y[i];
                    for (j, kj) in k.iter().enumerate().take(s) {
                        v += A[s][j] * kj[i][l];
                    }
                    y_stage[i] = v;
                }
                lane.sys.rhs(&y_stage, &lane.rates, &mut f_stage);
                for i in 0..n {
                    let mut v = f_stage[i];
                    for (j, kj) in k.iter().enumerate().take(s) {
                        v += (C[s][j] / h) * kj[i][l];
                    }
                    rhs[i][l] = v;
                }
            }
            solve::<L>(n, &w, &perm, &mut rhs);
            k[s].copy_from_slice(&rhs);
        }
        // Per lane: error test, outputs, controller.
        for (l, (_, lane)) in lanes.iter_mut().enumerate() {
            if !active[l] {
                continue;
            }
            let (h, lands) = steps[l];
            if singular[l] {
                lane.out.rejected += 1;
                lane.h = 0.5 * h;
                lane.rejected_last = true;
                continue;
            }
            let mut y1 = vec![0.0; n];
            let mut sum = 0.0;
            for i in 0..n {
                let mut v = lane.y[i];
                for (j, kj) in k.iter().enumerate() {
                    v += M[j] * kj[i][l];
                }
                y1[i] = v;
                let scale = lane.atol[i] + lane.rtol * lane.y[i].abs().max(v.abs());
                let e = k[STAGES - 1][i][l] / scale;
                sum += e * e;
            }
            let err = (sum / n as f64).sqrt().max(1e-10);
            let finite = err.is_finite() && y1.iter().all(|v| v.is_finite());
            let fac_max = if lane.rejected_last { 1.0 } else { FAC_MAX };
            if finite && err <= 1.0 {
                let grow = (SAFETY / err.powf(1.0 / ERROR_ORDER)).clamp(FAC_MIN, fac_max);
                let mut f1 = vec![0.0; n];
                lane.sys.rhs(&y1, &lane.rates, &mut f1);
                // After landing on a stop, `at_stop` chooses the next step afresh.
                lane.h = h * grow;
                lane.rejected_last = false;
                lane.accept(h, lands, y1, f1);
            } else {
                lane.out.rejected += 1;
                lane.rejected_last = true;
                lane.h = if finite {
                    h * (SAFETY / err.powf(1.0 / ERROR_ORDER)).clamp(FAC_MIN, 1.0)
                } else {
                    h * FAC_MIN
                };
                if lane.h <= 1e-14 * lane.t.abs().max(1.0) {
                    lane.fail(format!("step size {:.3e} h became too small", lane.h));
                }
            }
        }
    }
}

/// LU with partial pivoting of each lane's W in place ([entry][lane], row-major); the pivot
/// search and row swaps are per lane, the elimination runs on all lanes, a lane whose
/// multiplier is zero keeping its row unchanged. Returns the lanes with a zero pivot.
fn factorise<const L: usize>(
    n: usize,
    width: usize,
    w: &mut [[f64; L]],
    perm: &mut [[usize; L]],
) -> [bool; L] {
    let mut singular = [false; L];
    for (i, p) in perm.iter_mut().enumerate() {
        *p = [i; L];
    }
    for col in 0..n {
        for l in 0..width {
            let mut best = col;
            let mut best_abs = w[col * n + col][l].abs();
            for r in col + 1..n {
                let a = w[r * n + col][l].abs();
                if a > best_abs {
                    best = r;
                    best_abs = a;
                }
            }
            if best != col {
                for c in 0..n {
                    let tmp = w[col * n + c][l];
                    w[col * n + c][l] = w[best * n + c][l];
                    w[best * n + c][l] = tmp;
                }
                let tmp = perm[col][l];
                perm[col][l] = perm[best][l];
                perm[best][l] = tmp;
            }
            if best_abs == 0.0 {
                singular[l] = true;
            }
        }
        let pivot = w[col * n + col];
        for r in col + 1..n {
            let mut m = [0.0; L];
            let mut any = false;
            for l in 0..L {
                m[l] = if pivot[l] == 0.0 {
                    0.0
                } else {
                    w[r * n + col][l] / pivot[l]
                };
                any |= m[l] != 0.0;
            }
            if !any {
                continue;
            }
            w[r * n + col] = m;
            for c in col + 1..n {
                let upper = w[col * n + c];
                let entry = &mut w[r * n + c];
                for l in 0..L {
                    let updated = entry[l] - m[l] * upper[l];
                    entry[l] = if m[l] == 0.0 { entry[l] } else { updated };
                }
            }
        }
    }
    singular
}

/// Solve W x = b for every lane in place (b permuted per lane, then L and U).
fn solve<const L: usize>(n: usize, w: &[[f64; L]], perm: &[[usize; L]], b: &mut [[f64; L]]) {
    let mut x = vec![[0.0f64; L]; n];
    for i in 0..n {
        for l in 0..L {
            x[i][l] = b[perm[i][l]][l];
        }
    }
    for i in 0..n {
        for j in 0..i {
            let lij = w[i * n + j];
            if lij.iter().all(|&v| v == 0.0) {
                continue;
            }
            let xj = x[j];
            for l in 0..L {
                let updated = x[i][l] - lij[l] * xj[l];
                x[i][l] = if lij[l] == 0.0 { x[i][l] } else { updated };
            }
        }
    }
    for i in (0..n).rev() {
        for j in i + 1..n {
            let uij = w[i * n + j];
            if uij.iter().all(|&v| v == 0.0) {
                continue;
            }
            let xj = x[j];
            for l in 0..L {
                let updated = x[i][l] - uij[l] * xj[l];
                x[i][l] = if uij[l] == 0.0 { x[i][l] } else { updated };
            }
        }
        let d = w[i * n + i];
        for l in 0..L {
            x[i][l] /= d[l];
        }
    }
    b.copy_from_slice(&x);
}
