//! Fast-path prototype (issue #3), kept as research evidence: it meets the accuracy but not
//! the cost, and the fast method (`src/solve/fast.rs`, repeating the periodic orbit) replaced it
//! (docs/solver.md, "Earlier research"). It prints, for `subjects` subjects of
//! scenarios/ra-renal-population.toml (disease ra, then the same draws with disease caps),
//! both regimens, the largest relative error against the exact path at rtol = atol = 1e-10
//! on occupancy, IL-1 signal and CRP at the band times and on the per-subject figures
//! (errors below 1e-4 of the series' peak are measured against that floor), and the cost
//! per subject-regimen (simulation and summary, untreated state excluded), with step counts.
//!   cargo run --release -p il1sim-core --example fast_prototype [subjects, default 50]
use fast::{simulate, FastStats};
use il1sim_core::exchange::population_file::parse_population;
use il1sim_core::metrics::{summarise_trajectory, summarise_with_days, summary_times};
use il1sim_core::population::definition::PopulationScenario;
use il1sim_core::population::sampling::draw_subject;
use il1sim_core::solve::options::SolverOptions;
use il1sim_core::solve::subject::Subject;
use std::time::Instant;

const OBS: [&str; 3] = [
    "receptor_occupancy_antagonist",
    "il1_signal_relative",
    "crp",
];
const FIGS: [&str; 5] = [
    "occupancy_antagonist_trough",
    "il1_signal_relative_trough",
    "crp_day_7",
    "crp_day_28",
    "cmax",
];
const RTOLS: [f64; 3] = [1e-4, 3e-5, 1e-5];

struct Out {
    bands: Vec<Vec<f64>>,
    figs: Vec<f64>,
}

fn pack(
    s: &Subject,
    states: &[Vec<f64>],
    sum: &il1sim_core::metrics::RegimenSummary,
    idx: &[usize],
) -> Out {
    let mut bands = vec![vec![]; idx.len()];
    for y in states {
        let o = s.observe(y);
        for (k, &i) in idx.iter().enumerate() {
            bands[k].push(o[i]);
        }
    }
    Out {
        bands,
        figs: FIGS.iter().map(|f| sum.get(f).unwrap()).collect(),
    }
}

fn run_exact(s: &Subject, pop: &PopulationScenario, ri: usize, idx: &[usize]) -> (Out, f64) {
    let t0 = Instant::now();
    let (traj, sum) = summarise_with_days(
        s,
        &pop.regimens[ri],
        pop.duration_h,
        &pop.band_times_h,
        &pop.crp_days,
    )
    .unwrap();
    let dt = t0.elapsed().as_secs_f64();
    (pack(s, &traj.states, &sum, idx), dt)
}

fn run_fast(
    s: &Subject,
    pop: &PopulationScenario,
    ri: usize,
    idx: &[usize],
    o: &SolverOptions,
) -> (Out, FastStats, f64) {
    let r = &pop.regimens[ri];
    let t0 = Instant::now();
    let (peak, report) = summary_times(s, r, pop.duration_h, &pop.crp_days).unwrap();
    let mut land = pop.band_times_h.clone();
    land.extend(report);
    let (all, st) = simulate(s, r, pop.duration_h, &land, &peak, o).unwrap();
    let (traj, sum) = summarise_trajectory(
        s,
        r,
        pop.duration_h,
        &pop.band_times_h,
        &pop.crp_days,
        &all,
        None,
    )
    .unwrap();
    let dt = t0.elapsed().as_secs_f64();
    (pack(s, &traj.states, &sum, idx), st, dt)
}

/// Relative error with a floor at 1e-4 of the reference series' peak (as docs/solver.md).
fn err(a: &[f64], b: &[f64]) -> f64 {
    let peak = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1e-4 * peak))
        .fold(0.0, f64::max)
}

#[derive(Default, Clone)]
struct Row {
    worst: [f64; 3 + FIGS.len()],
    seconds: f64,
    steps: usize,
    after_dose: usize,
    rejected: usize,
    count: usize,
}

impl Row {
    fn add(&mut self, f: &Out, e: &Out, dt: f64, st: Option<FastStats>) {
        for k in 0..3 {
            self.worst[k] = self.worst[k].max(err(&f.bands[k], &e.bands[k]));
        }
        // Figures get the floor of their band series (occupancy, signal, CRP); Cmax its own.
        let floor_of = [0, 1, 2, 2];
        for k in 0..FIGS.len() {
            let peak = match floor_of.get(k) {
                Some(&b) => e.bands[b].iter().fold(0.0f64, |m, v| m.max(v.abs())),
                None => e.figs[k].abs(),
            };
            let rel = (f.figs[k] - e.figs[k]).abs() / e.figs[k].abs().max(1e-4 * peak);
            self.worst[3 + k] = self.worst[3 + k].max(rel);
        }
        self.seconds += dt;
        self.count += 1;
        if let Some(st) = st {
            self.steps += st.steps;
            self.after_dose += st.steps_after_dose;
            self.rejected += st.rejected;
        }
    }
    fn print(&self, label: &str) {
        let c = self.count as f64;
        print!("| {label} |");
        for w in &self.worst {
            print!(" {w:.1e} |");
        }
        println!(
            " {:.0} | {:.0} ({:.0} in the hour after a dose, {:.0} rejected) |",
            self.seconds * 1e6 / c,
            self.steps as f64 / c,
            self.after_dose as f64 / c,
            self.rejected as f64 / c
        );
    }
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse().unwrap())
        .unwrap_or(50);
    let model = il1sim_core::il1_model();
    let idx: Vec<usize> = OBS
        .iter()
        .map(|o| model.observable_id(o).unwrap())
        .collect();
    let mut pop = parse_population(
        include_str!("../../../scenarios/ra-renal-population.toml"),
        "ra-renal-population.toml",
        &model,
    )
    .unwrap();
    for (disease, subjects) in [("ra", n), ("caps", n)] {
        pop.disease = disease.into();
        let mut exact_default = Row::default();
        let mut fast = vec![Row::default(); RTOLS.len()];
        let (mut base_s, mut newton_s, mut newton_ok) = (0.0, 0.0, 0usize);
        let mut reference_baseline: Option<Vec<f64>> = None;
        for id in 0..subjects {
            let d = draw_subject(&pop, id).unwrap();
            let t0 = Instant::now();
            let s = Subject::with_variability(
                &model,
                &d.patient,
                &[],
                &d.multipliers,
                SolverOptions::default(),
            )
            .unwrap();
            base_s += t0.elapsed().as_secs_f64();
            let tight = Subject::with_variability(
                &model,
                &d.patient,
                &[],
                &d.multipliers,
                SolverOptions::TIGHT,
            )
            .unwrap();
            // Untreated state by Newton alone, from the first subject's untreated state.
            let nsp = model.species.len();
            match &reference_baseline {
                None => reference_baseline = Some(s.baseline[..nsp].to_vec()),
                Some(guess) => {
                    let scale: Vec<f64> = model.species.iter().map(|x| x.scale).collect();
                    let t0 = Instant::now();
                    let y = il1sim_core::solve::equilibrium::equilibrium(&s.system, guess, &scale);
                    newton_s += t0.elapsed().as_secs_f64();
                    if let Ok(y) = y {
                        let dev = y
                            .iter()
                            .zip(&s.baseline)
                            .map(|(a, b)| (a - b).abs() / b.abs().max(1e-30))
                            .filter(|v| v.is_finite())
                            .fold(0.0, f64::max);
                        newton_ok += (dev < 1e-6) as usize;
                    }
                }
            }
            for ri in 0..pop.regimens.len() {
                let (reference, _) = run_exact(&tight, &pop, ri, &idx);
                let (e, dt) = run_exact(&s, &pop, ri, &idx);
                exact_default.add(&e, &reference, dt, None);
                for (k, &rtol) in RTOLS.iter().enumerate() {
                    let o = SolverOptions {
                        rtol,
                        atol: rtol,
                        ..SolverOptions::DEFAULT
                    };
                    let (f, st, dt) = run_fast(&s, &pop, ri, &idx, &o);
                    fast[k].add(&f, &reference, dt, Some(st));
                }
            }
        }
        println!("\n{disease}: {subjects} subjects of ra-renal-population (disease {disease}) x {} regimens; reference: exact at rtol = atol = 1e-10", pop.regimens.len());
        println!("| method | occupancy (bands) | signal (bands) | CRP (bands) | occupancy trough | signal trough | CRP day 7 | CRP day 28 | Cmax | µs per subject-regimen | steps |");
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
        exact_default.print("exact, BDF 1e-6");
        for (k, r) in fast.iter().enumerate() {
            r.print(&format!("fast prototype, rtol = atol = {:.0e}", RTOLS[k]));
        }
        println!(
            "untreated state: {:.0} µs per subject (100-day run + Newton); Newton alone from subject 0's state: {:.0} µs, converged to 1e-6 in {newton_ok} of {}",
            base_s * 1e6 / subjects as f64,
            newton_s * 1e6 / (subjects - 1) as f64,
            subjects - 1
        );
    }
}

// The prototype integrator (not part of the library: see docs/solver.md, "Fast path").
// Dense linear algebra indexes several arrays in lockstep, hence the range loops.
#[allow(clippy::needless_range_loop)]
mod fast {
    //! Prototype fast path. Two reductions of the exact formulation:
    //! * the drug's linear disposition (states reached from the route targets through linear
    //!   terms: depot, central, tissue and AUC for anakinra) is solved in closed form by the
    //!   eigen-decomposition of its matrix; the integrator carries only z = y − y_lin, the
    //!   deviation caused by target binding (exact: nothing is neglected). Doses change
    //!   y_lin, never z, so the kink the SC absorption puts into the central concentration
    //!   no longer has to be resolved by the integrator;
    //! * a one-step linearly implicit Rosenbrock-W method (ROS34PW2, non-autonomous form,
    //!   with the time derivative of y_lin exact) replaces BDF, so a dose costs one step
    //!   boundary instead of a restart at order 1, on the states the regimen can reach,
    //!   with a dense LU of that size.
    //!
    //! Observables at `land` times are reached exactly; the dense Cmax grid is cubic Hermite
    //! interpolation of z plus the exact y_lin.

    use il1sim_core::dosing::inputs::StateInput;
    use il1sim_core::dosing::regimen::Regimen;
    use il1sim_core::error::{InputError, SimError};
    use il1sim_core::model::system::OdeSystem;
    use il1sim_core::solve::options::SolverOptions;
    use il1sim_core::solve::subject::Subject;
    use il1sim_core::solve::trajectory::Trajectory;

    /// ROS34PW2 (Rang & Angermann 2005, BIT 45:761): 4 stages, order 3, embedded order 2,
    /// L-stable, stiffly accurate, W-method (tolerates an approximate Jacobian).
    const GAMMA: f64 = 4.358_665_215_084_59e-1;
    const A: [[f64; 4]; 4] = [
        [0.0, 0.0, 0.0, 0.0],
        [8.717_330_430_169_18e-1, 0.0, 0.0, 0.0],
        [
            8.445_706_001_536_942e-1,
            -1.129_906_423_648_418_5e-1,
            0.0,
            0.0,
        ],
        [0.0, 0.0, 1.0, 0.0],
    ];
    const G: [[f64; 4]; 4] = [
        [0.0, 0.0, 0.0, 0.0],
        [-8.717_330_430_169_18e-1, 0.0, 0.0, 0.0],
        [
            -9.033_805_701_304_408e-1,
            5.418_067_238_809_533e-2,
            0.0,
            0.0,
        ],
        [
            2.421_238_070_609_535e-1,
            -1.223_250_583_904_514_7,
            5.452_602_553_351_021e-1,
            0.0,
        ],
    ];
    const B: [f64; 4] = [
        2.421_238_070_609_535e-1,
        -1.223_250_583_904_514_7,
        1.545_260_255_335_102,
        4.358_665_215_084_59e-1,
    ];
    const BHAT: [f64; 4] = [
        3.781_090_314_581_937e-1,
        -9.604_229_221_242_318e-2,
        0.5,
        2.179_332_607_542_295e-1,
    ];

    /// Work counters of one fast simulation.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct FastStats {
        pub steps: usize,
        /// Accepted steps that end within [`AFTER_DOSE_H`] of the latest bolus.
        pub steps_after_dose: usize,
        pub rejected: usize,
        pub rhs: usize,
        pub factorisations: usize,
    }

    /// In-place LU with partial pivoting of the n×n row-major matrix `a`.
    fn lu_factor(a: &mut [f64], n: usize, piv: &mut [usize]) -> bool {
        for k in 0..n {
            let mut p = k;
            let mut best = a[k * n + k].abs();
            for r in k + 1..n {
                let v = a[r * n + k].abs();
                if v > best {
                    best = v;
                    p = r;
                }
            }
            if best == 0.0 || !best.is_finite() {
                return false;
            }
            piv[k] = p;
            if p != k {
                for c in 0..n {
                    a.swap(k * n + c, p * n + c);
                }
            }
            let inv = 1.0 / a[k * n + k];
            for r in k + 1..n {
                let l = a[r * n + k] * inv;
                if l != 0.0 {
                    a[r * n + k] = l;
                    for c in k + 1..n {
                        a[r * n + c] -= l * a[k * n + c];
                    }
                } else {
                    a[r * n + k] = 0.0;
                }
            }
        }
        true
    }

    fn lu_solve(a: &[f64], n: usize, piv: &[usize], b: &mut [f64]) {
        for k in 0..n {
            b.swap(k, piv[k]);
        }
        for r in 0..n {
            let mut s = b[r];
            for c in 0..r {
                s -= a[r * n + c] * b[c];
            }
            b[r] = s;
        }
        for r in (0..n).rev() {
            let mut s = b[r];
            for c in r + 1..n {
                s -= a[r * n + c] * b[c];
            }
            b[r] = s / a[r * n + r];
        }
    }

    /// The drug's linear disposition: the states reached from the route targets through linear
    /// terms (depot, central, tissue, AUC for anakinra), with the linear terms among them, solved
    /// in closed form through the eigen-decomposition of their matrix.
    struct LinearPk {
        /// Indices (in the integrated system) of the linear states.
        idx: Vec<usize>,
        /// Their linear matrix (row-major, ns × ns).
        l: Vec<f64>,
        lambda: Vec<f64>,
        v: Vec<f64>,
        vinv: Vec<f64>,
    }

    impl LinearPk {
        fn new(sys: &OdeSystem, targets: &[usize]) -> Result<LinearPk, String> {
            let mut inside = vec![false; sys.n];
            for &t in targets {
                inside[t] = true;
            }
            loop {
                let mut changed = false;
                for &(r, c, _) in &sys.linear {
                    if inside[c] && !inside[r] {
                        inside[r] = true;
                        changed = true;
                    }
                }
                if !changed {
                    break;
                }
            }
            let idx: Vec<usize> = (0..sys.n).filter(|&i| inside[i]).collect();
            let ns = idx.len();
            let pos = |i: usize| idx.iter().position(|&j| j == i);
            let mut l = vec![0.0; ns * ns];
            for &(r, c, k) in &sys.linear {
                if let (Some(a), Some(b)) = (pos(r), pos(c)) {
                    l[a * ns + b] += k;
                }
            }
            let m = nalgebra::DMatrix::from_row_slice(ns, ns, &l);
            let lambda: Vec<f64> = m
                .clone()
                .eigenvalues()
                .ok_or("the drug's linear disposition has complex eigenvalues")?
                .iter()
                .copied()
                .collect();
            let mut v = nalgebra::DMatrix::<f64>::zeros(ns, ns);
            for (k, &lam) in lambda.iter().enumerate() {
                let shifted = &m - nalgebra::DMatrix::<f64>::identity(ns, ns) * lam;
                let svd = shifted.svd(false, true);
                let vt = svd.v_t.ok_or("eigenvector decomposition failed")?;
                let (imin, _) = svd.singular_values.iter().enumerate().fold(
                    (0, f64::INFINITY),
                    |b, (i, &x)| if x < b.1 { (i, x) } else { b },
                );
                for r in 0..ns {
                    v[(r, k)] = vt[(imin, r)];
                }
            }
            let vinv = v
                .clone()
                .try_inverse()
                .ok_or("the drug's linear disposition is not diagonalisable")?;
            // Check the decomposition reproduces the matrix (repeated eigenvalues would not).
            let back = &v
                * nalgebra::DMatrix::from_diagonal(&nalgebra::DVector::from_vec(lambda.clone()))
                * &vinv;
            let scale = m.abs().max().max(f64::MIN_POSITIVE);
            if (&back - &m).abs().max() > EIGEN_CHECK * scale {
                return Err(
                    "the drug's linear disposition is not diagonalisable (repeated eigenvalues)"
                        .into(),
                );
            }
            let rows = |a: &nalgebra::DMatrix<f64>| {
                (0..ns)
                    .flat_map(|r| (0..ns).map(move |c| (r, c)))
                    .map(|(r, c)| a[(r, c)])
                    .collect::<Vec<f64>>()
            };
            Ok(LinearPk {
                v: rows(&v),
                vinv: rows(&vinv),
                idx,
                l,
                lambda,
            })
        }

        fn ns(&self) -> usize {
            self.idx.len()
        }

        /// Modal coordinates of a linear state and of an input vector.
        fn modal(&self, x: &[f64], out: &mut [f64]) {
            let ns = self.ns();
            for r in 0..ns {
                out[r] = (0..ns).map(|c| self.vinv[r * ns + c] * x[c]).sum();
            }
        }

        /// State after `tau` from modal state `w` with constant modal input `um`.
        fn advance(&self, w: &[f64], um: &[f64], tau: f64, out: &mut [f64]) {
            let ns = self.ns();
            let mut e = [0.0; MAX_LINEAR];
            for k in 0..ns {
                let lt = self.lambda[k] * tau;
                let ex = lt.exp();
                let phi = if lt.abs() < 1e-8 {
                    tau * (1.0 + 0.5 * lt)
                } else {
                    (ex - 1.0) / self.lambda[k]
                };
                e[k] = ex * w[k] + phi * um[k];
            }
            for r in 0..ns {
                out[r] = (0..ns).map(|c| self.v[r * ns + c] * e[c]).sum();
            }
        }

        /// L·x + u.
        fn derivative(&self, x: &[f64], u: &[f64], out: &mut [f64]) {
            let ns = self.ns();
            for r in 0..ns {
                out[r] = u[r] + (0..ns).map(|c| self.l[r * ns + c] * x[c]).sum::<f64>();
            }
        }
    }

    /// Most linear-disposition states handled in closed form.
    const MAX_LINEAR: usize = 8;
    /// Relative tolerance of the eigen-decomposition check V Λ V⁻¹ = L.
    const EIGEN_CHECK: f64 = 1e-9;

    /// Simulate `regimen` from the untreated state, recording all states at `land` (reached
    /// exactly by the integrator) and at `interp` (cubic Hermite interpolation inside steps).
    /// Returns the union of both, sorted.
    pub fn simulate(
        subject: &Subject,
        regimen: &Regimen,
        horizon_h: f64,
        land: &[f64],
        interp: &[f64],
        options: &SolverOptions,
    ) -> Result<(Trajectory, FastStats), SimError> {
        if regimen.steady_state {
            return Err(InputError::new(
                "steady_state",
                "true",
                "the fast method starts from the untreated state; use method = \"exact\"",
            )
            .into());
        }
        let inputs = subject.regimen_inputs(regimen, horizon_h)?;
        let full = &subject.system;
        let mut targets: Vec<usize> = inputs.iter().map(StateInput::species).collect();
        targets.sort_unstable();
        targets.dedup();
        let active = full.reachable(&subject.baseline, &targets);
        let keep: Vec<usize> = (0..full.n).filter(|&i| active[i]).collect();
        let mut map = vec![usize::MAX; full.n];
        for (k, &i) in keep.iter().enumerate() {
            map[i] = k;
        }
        let sys = full.restrict(&keep);
        let n = sys.n;
        let atol_full = subject.atol(options);
        let atol: Vec<f64> = keep.iter().map(|&i| atol_full[i]).collect();
        let rtol = options.rtol;
        let targets_r: Vec<usize> = targets.iter().map(|&i| map[i]).collect();
        let pk = LinearPk::new(&sys, &targets_r).map_err(|m| {
            InputError::new("method", "fast", format!("{m}; use method = \"exact\""))
        })?;
        let ns = pk.ns();
        if ns > MAX_LINEAR {
            return Err(InputError::new(
                "method",
                "fast",
                format!("the drug's linear disposition has {ns} states (at most {MAX_LINEAR}); use method = \"exact\""),
            )
            .into());
        }
        let is_lin: Vec<Option<usize>> = (0..n)
            .map(|i| pk.idx.iter().position(|&j| j == i))
            .collect();

        // y = embed(ylin) + z; ylin starts at the untreated values of the linear states.
        let mut z: Vec<f64> = keep.iter().map(|&i| subject.baseline[i]).collect();
        let mut ylin: Vec<f64> = pk.idx.iter().map(|&i| z[i]).collect();
        for &i in &pk.idx {
            z[i] = 0.0;
        }
        let mut u = vec![0.0; ns];
        let mut rates = vec![0.0; n];
        let expand = |v: &[f64]| {
            let mut out = vec![0.0; full.n];
            for (k, &i) in keep.iter().enumerate() {
                out[i] = v[k];
            }
            out
        };
        let compose = |zz: &[f64], yl: &[f64], out: &mut [f64]| {
            out.copy_from_slice(zz);
            for (k, &i) in pk.idx.iter().enumerate() {
                out[i] += yl[k];
            }
        };
        // F(z) = f(ylin + z) − (L ylin + u) on the linear states.
        let big_f = |yfull: &[f64], yl: &[f64], uu: &[f64], rates: &[f64], out: &mut [f64]| {
            sys.rhs(yfull, rates, out);
            let mut d = [0.0; MAX_LINEAR];
            pk.derivative(yl, uu, &mut d);
            for (k, &i) in pk.idx.iter().enumerate() {
                out[i] -= d[k];
            }
        };

        // Stops: landing times and input times, sorted; interpolation points sorted.
        let mut stops: Vec<f64> = land
            .iter()
            .copied()
            .chain(inputs.iter().map(StateInput::time_h))
            .filter(|&t| (0.0..=horizon_h).contains(&t))
            .chain(std::iter::once(horizon_h))
            .collect();
        stops.sort_by(f64::total_cmp);
        stops.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        let mut interp: Vec<f64> = interp.to_vec();
        interp.sort_by(f64::total_cmp);
        let mut land_sorted: Vec<f64> = land.to_vec();
        land_sorted.sort_by(f64::total_cmp);

        let mut out: Vec<(f64, Vec<f64>)> = Vec::with_capacity(land.len() + interp.len());
        let mut stats = FastStats::default();
        let mut next_in = 0usize;
        let mut next_interp = 0usize;
        let mut next_land = 0usize;
        let mut t = 0.0;
        let mut h = INITIAL_STEP_H;
        let mut last_bolus = f64::NEG_INFINITY;

        let alpha: [f64; 4] = std::array::from_fn(|i| A[i].iter().sum());
        let gam: [f64; 4] = std::array::from_fn(|i| GAMMA + G[i].iter().sum::<f64>());
        let mut f0 = vec![0.0; n];
        let mut f1 = vec![0.0; n];
        let mut fs = vec![0.0; n];
        let mut ft = vec![0.0; n];
        let mut jm = vec![0.0; n * n];
        let mut jac = vec![0.0; n * n];
        let mut piv = vec![0usize; n];
        let mut k = vec![vec![0.0; n]; 4];
        let mut zs = vec![0.0; n];
        let mut yfull = vec![0.0; n];
        let mut gsum = vec![0.0; n];
        let mut jg = vec![0.0; n];
        let mut z1 = vec![0.0; n];
        let mut w = [0.0; MAX_LINEAR];
        let mut um = [0.0; MAX_LINEAR];
        let mut yl_s = [0.0; MAX_LINEAR];
        let mut yl1 = [0.0; MAX_LINEAR];
        let mut dyl = [0.0; MAX_LINEAR];
        let mut ddyl = [0.0; MAX_LINEAR];

        for &stop in &stops {
            while stop - t > 1e-9 {
                let hh = h.min(stop - t);
                let hh = if stop - t - hh < 1e-9 { stop - t } else { hh };
                pk.modal(&ylin, &mut w);
                pk.modal(&u, &mut um);
                compose(&z, &ylin, &mut yfull);
                big_f(&yfull, &ylin, &u, &rates, &mut f0);
                stats.rhs += 1;
                sys.jacobian_into(&yfull, &mut jac);
                // F_t = J · ylin' − L ylin' on the linear states (ylin'' = L ylin').
                pk.derivative(&ylin, &u, &mut dyl);
                pk.derivative(&dyl[..ns], &[0.0; MAX_LINEAR][..ns], &mut ddyl);
                for r in 0..n {
                    ft[r] = pk
                        .idx
                        .iter()
                        .enumerate()
                        .map(|(kk, &c)| jac[r * n + c] * dyl[kk])
                        .sum();
                    if let Some(kk) = is_lin[r] {
                        ft[r] -= ddyl[kk];
                    }
                }
                for (m, j) in jm.iter_mut().zip(&jac) {
                    *m = -hh * GAMMA * j;
                }
                for r in 0..n {
                    jm[r * n + r] += 1.0;
                }
                stats.factorisations += 1;
                if !lu_factor(&mut jm, n, &mut piv) {
                    return Err(fail(
                        subject,
                        t,
                        &expand(&yfull),
                        "singular iteration matrix",
                    ));
                }
                for i in 0..4 {
                    zs.copy_from_slice(&z);
                    gsum.iter_mut().for_each(|g| *g = 0.0);
                    for j in 0..i {
                        for m in 0..n {
                            zs[m] += A[i][j] * k[j][m];
                            gsum[m] += G[i][j] * k[j][m];
                        }
                    }
                    if i == 0 {
                        fs.copy_from_slice(&f0);
                    } else {
                        pk.advance(&w, &um, alpha[i] * hh, &mut yl_s);
                        compose(&zs, &yl_s[..ns], &mut yfull);
                        big_f(&yfull, &yl_s[..ns], &u, &rates, &mut fs);
                        stats.rhs += 1;
                    }
                    for r in 0..n {
                        jg[r] = jac[r * n..(r + 1) * n]
                            .iter()
                            .zip(&gsum)
                            .map(|(a, b)| a * b)
                            .sum();
                    }
                    for m in 0..n {
                        k[i][m] = hh * (fs[m] + jg[m]) + gam[i] * hh * hh * ft[m];
                    }
                    lu_solve(&jm, n, &piv, &mut k[i]);
                }
                pk.advance(&w, &um, hh, &mut yl1);
                let mut err = 0.0;
                for m in 0..n {
                    let mut inc = 0.0;
                    let mut e = 0.0;
                    for i in 0..4 {
                        inc += B[i] * k[i][m];
                        e += (B[i] - BHAT[i]) * k[i][m];
                    }
                    z1[m] = z[m] + inc;
                    let lin = is_lin[m].map_or(0.0, |kk| ylin[kk]);
                    let lin1 = is_lin[m].map_or(0.0, |kk| yl1[kk]);
                    let sc = atol[m] + rtol * (z[m] + lin).abs().max((z1[m] + lin1).abs());
                    err += (e / sc) * (e / sc);
                }
                let err = (err / n as f64).sqrt();
                if !err.is_finite() {
                    return Err(fail(subject, t, &expand(&yfull), "non-finite step"));
                }
                let factor = (SAFETY * err.powf(-1.0 / 3.0)).clamp(MIN_FACTOR, MAX_FACTOR);
                if err <= 1.0 {
                    stats.steps += 1;
                    let t1 = t + hh;
                    if t1 - last_bolus <= AFTER_DOSE_H {
                        stats.steps_after_dose += 1;
                    }
                    if next_interp < interp.len() && interp[next_interp] < t1 + 1e-9 {
                        compose(&z1, &yl1[..ns], &mut yfull);
                        big_f(&yfull, &yl1[..ns], &u, &rates, &mut f1);
                        stats.rhs += 1;
                        while next_interp < interp.len() && interp[next_interp] < t1 + 1e-9 {
                            let ti = interp[next_interp];
                            if ti >= t - 1e-9 {
                                let s = ((ti - t) / hh).clamp(0.0, 1.0);
                                let (s2, s3) = (s * s, s * s * s);
                                let h00 = 2.0 * s3 - 3.0 * s2 + 1.0;
                                let h10 = s3 - 2.0 * s2 + s;
                                let h01 = -2.0 * s3 + 3.0 * s2;
                                let h11 = s3 - s2;
                                let zi: Vec<f64> = (0..n)
                                    .map(|m| {
                                        h00 * z[m]
                                            + h10 * hh * f0[m]
                                            + h01 * z1[m]
                                            + h11 * hh * f1[m]
                                    })
                                    .collect();
                                let mut yli = [0.0; MAX_LINEAR];
                                pk.advance(&w, &um, ti - t, &mut yli);
                                let mut yi = vec![0.0; n];
                                compose(&zi, &yli[..ns], &mut yi);
                                out.push((ti, expand(&yi)));
                            }
                            next_interp += 1;
                        }
                    }
                    z.copy_from_slice(&z1);
                    ylin.copy_from_slice(&yl1[..ns]);
                    t = t1;
                    h = (hh * factor).min(MAX_STEP_H);
                } else {
                    stats.rejected += 1;
                    h = hh * factor;
                }
            }
            t = stop;
            compose(&z, &ylin, &mut yfull);
            // Observe before the events at this time.
            while next_land < land_sorted.len() && land_sorted[next_land] <= t + 1e-9 {
                if land_sorted[next_land] >= -1e-9 {
                    out.push((land_sorted[next_land], expand(&yfull)));
                }
                next_land += 1;
            }
            while next_interp < interp.len() && interp[next_interp] <= t + 1e-9 {
                out.push((interp[next_interp], expand(&yfull)));
                next_interp += 1;
            }
            while next_in < inputs.len() && inputs[next_in].time_h() <= t + 1e-9 {
                let sp = map[inputs[next_in].species()];
                let kk = is_lin[sp].expect("route targets are linear states");
                match inputs[next_in] {
                    StateInput::Bolus { amount_nmol, .. } => {
                        ylin[kk] += amount_nmol / sys.volume[sp];
                        last_bolus = t;
                        // The free receptor falls fast once the drug arrives: start small
                        // rather than reject the long step that ended at the trough.
                        h = h.min(INITIAL_STEP_H);
                    }
                    StateInput::RateStep {
                        delta_nmol_per_h, ..
                    } => {
                        rates[sp] += delta_nmol_per_h;
                        if rates[sp].abs() < 1e-12 * delta_nmol_per_h.abs() {
                            rates[sp] = 0.0;
                        }
                        u[kk] = rates[sp] / sys.volume[sp];
                    }
                }
                next_in += 1;
            }
        }
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out.dedup_by(|a, b| (a.0 - b.0).abs() < 1e-9);
        let traj = Trajectory {
            times_h: out.iter().map(|o| o.0).collect(),
            states: out.into_iter().map(|o| o.1).collect(),
        };
        Ok((traj, stats))
    }

    /// Window after a bolus over which steps are counted separately (h): the free receptor's
    /// fall as the drug arrives.
    pub const AFTER_DOSE_H: f64 = 1.0;
    /// First trial step after the start (h); the controller adapts it at once.
    const INITIAL_STEP_H: f64 = 0.05;
    /// Largest step (h): keeps the PK absorption phase (t½ 5 h) resolved by the error control.
    const MAX_STEP_H: f64 = 4.0;
    /// Step-size controller: safety factor and limits on the change per step (standard values,
    /// Hairer & Wanner, Solving ODEs II, IV.8).
    const SAFETY: f64 = 0.9;
    const MIN_FACTOR: f64 = 0.2;
    const MAX_FACTOR: f64 = 4.0;

    fn fail(subject: &Subject, t: f64, y: &[f64], message: &str) -> SimError {
        il1sim_core::error::SolveError {
            context: " (fast method)".into(),
            time_h: t,
            message: message.into(),
            state: subject.describe(y),
        }
        .into()
    }
}
