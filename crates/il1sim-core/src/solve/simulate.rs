//! Simulating a regimen from the untreated state, or from its periodic steady state when
//! the regimen asks for it: the top of the solving layer, above the subject's integrator
//! (`subject.rs`) and the periodic steady state (`periodic.rs`), so that the integrator does
//! not depend on the steady state that is computed with it.

use super::periodic::{self, PeriodicSteadyState};
use super::subject::Subject;
use super::trajectory::{Observer, Trajectory};
use crate::dosing::regimen::Regimen;
use crate::error::SimError;

impl<'m> Subject<'m> {
    /// Simulate a regimen from the untreated state (or from its periodic steady state when
    /// the regimen asks for it) and record all states at `output_times`.
    pub fn simulate(
        &self,
        regimen: &Regimen,
        horizon_h: f64,
        output_times: &[f64],
    ) -> Result<(Trajectory, Option<PeriodicSteadyState>), SimError> {
        let mut traj = Trajectory {
            times_h: Vec::with_capacity(output_times.len()),
            states: Vec::with_capacity(output_times.len()),
        };
        let ss = self.simulate_observing(
            regimen,
            horizon_h,
            output_times,
            &mut |t: f64, y: &[f64]| {
                traj.times_h.push(t);
                traj.states.push(y.to_vec());
            },
        )?;
        Ok((traj, ss))
    }

    /// As [`Subject::simulate`], handing each output to `observe` instead of keeping it.
    pub fn simulate_observing<'p>(
        &self,
        regimen: &Regimen,
        horizon_h: f64,
        output_times: &[f64],
        observe: &mut dyn Observer<'p>,
    ) -> Result<Option<PeriodicSteadyState>, SimError> {
        self.simulate_observing_from(regimen, regimen, horizon_h, output_times, observe)
    }

    /// As [`Subject::simulate_observing`], but a steady-state start is the periodic steady
    /// state of `steady` alone: `regimen` with the regimens given with it left out (a
    /// dataset's steady-state dose followed by other dose records, which then act from 0 h on
    /// that state). `simulate_observing` passes the regimen itself, whose steady state
    /// refuses co-administered regimens.
    pub fn simulate_observing_from<'p>(
        &self,
        regimen: &Regimen,
        steady: &Regimen,
        horizon_h: f64,
        output_times: &[f64],
        observe: &mut dyn Observer<'p>,
    ) -> Result<Option<PeriodicSteadyState>, SimError> {
        let mut inputs = self.regimen_inputs(regimen, horizon_h)?;
        let (y0, rates, ss) = if regimen.steady_state {
            let ss = periodic::periodic(self, steady)?;
            let start = periodic::state_at_start(self, steady, &ss)?;
            inputs.extend(start.pending);
            inputs.sort_by(|a, b| a.time_h().total_cmp(&b.time_h()));
            (start.state, start.rates, Some(ss))
        } else {
            (self.baseline.clone(), vec![0.0; self.system.n], None)
        };
        self.integrate(&y0, &rates, 0.0, horizon_h, &inputs, output_times, observe)
            .map_err(|e| e.with_context(format!("regimen '{}'", regimen.name)))?;
        Ok(ss)
    }
}
