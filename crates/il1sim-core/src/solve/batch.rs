//! The batched method: the fast method ([`super::fast`]) for many subjects at once, every
//! integration segment done by the lane integrator ([`super::rodas`]) `L` subjects at a time.
//!
//! How the subjects move in lockstep without sharing anything that changes their numbers:
//! each subject runs the fast method's own logic as a future whose segments are answered
//! by the batch ([`LaneSegments`]): the future posts its segment and waits; once every
//! subject of the batch waits (or has finished), all posted segments are integrated
//! together and each future resumes with its own result. A subject's decisions (periodic
//! yet? extrapolate?) read only its own numbers, and the lane integrator keeps every lane's
//! step sizes, events and arithmetic its own, so a subject's result is the same whatever
//! its lane-mates, its lane, the batch width, the thread count or the shard (tested).
//! Subjects whose dose times differ (mg/kg caps give different amounts, renal regimens
//! different intervals) need no grouping: lanes have their own event lists, and a lane
//! that reaches its segment's end early is idle until the others have finished theirs.

use super::fast::{simulate_with, FastRun, Segments};
use super::options::SolverOptions;
use super::rodas::{integrate_lanes, LaneOutput, LaneRequest};
use super::subject::{SegmentEnd, Subject};
use super::trajectory::{Observer, Probe};
use crate::dosing::inputs::StateInput;
use crate::dosing::regimen::Regimen;
use crate::error::{SimError, SolveError};
use crate::time::same_time;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Lanes per batch by default: four doubles fill an AVX2 register (measured in
/// docs/solver.md against 1, 8 and 16).
pub const DEFAULT_LANES: usize = 4;
/// Batch widths `simulate_lanes` is compiled for.
pub const WIDTHS: [usize; 4] = [1, 4, 8, 16];

/// One subject's fast simulation of one regimen, as [`super::fast::simulate_with_probe`]
/// takes it.
#[derive(Clone, Copy)]
pub struct LaneJob<'a> {
    pub subject: &'a Subject<'a>,
    pub regimen: &'a Regimen,
    pub horizon_h: f64,
    pub output_times: &'a [f64],
    pub probe: Option<Probe<'a>>,
}

/// What a lane's segment future and the batch pass each other.
enum Slot {
    Idle,
    Asked(Box<LaneRequest>),
    Answered(Result<LaneOutput, SolveError>),
}

/// A lane's segments, answered by the batch.
struct LaneSegments<'s> {
    slot: &'s RefCell<Slot>,
}

/// Resolves once the batch has answered the lane's segment.
struct Answer<'a> {
    slot: &'a RefCell<Slot>,
}

impl Future for Answer<'_> {
    type Output = Result<LaneOutput, SolveError>;
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.borrow_mut();
        match std::mem::replace(&mut *slot, Slot::Idle) {
            Slot::Answered(out) => Poll::Ready(out),
            other => {
                *slot = other;
                Poll::Pending
            }
        }
    }
}

impl Segments for LaneSegments<'_> {
    async fn integrate(
        &self,
        subject: &Subject<'_>,
        options: &SolverOptions,
        y0: &[f64],
        rates: &[f64],
        t0: f64,
        t_end: f64,
        inputs: &[StateInput],
        output_times: &[f64],
        observe: &mut dyn Observer<'_>,
    ) -> Result<SegmentEnd, SolveError> {
        let in_range =
            |t: &f64| (*t >= t0 || same_time(*t, t0)) && (*t <= t_end || same_time(*t, t_end));
        let request = LaneRequest {
            system: subject.system.clone(),
            atol: subject.atol(options),
            rtol: options.rtol,
            y0: y0.to_vec(),
            rates: rates.to_vec(),
            t0,
            t_end,
            inputs: inputs.to_vec(),
            output_times: output_times.iter().copied().filter(in_range).collect(),
            probe: observe.probe().map(|p| {
                (
                    p.species,
                    p.times.iter().copied().filter(in_range).collect(),
                )
            }),
        };
        *self.slot.borrow_mut() = Slot::Asked(Box::new(request));
        let out = Answer { slot: self.slot }.await?;
        for (t, y) in &out.observed {
            observe.observe(*t, y);
        }
        for &(t, v) in &out.samples {
            observe.sample(t, v);
        }
        Ok(SegmentEnd {
            state: out.state,
            rates: out.rates,
        })
    }
}

/// Simulate every job with the batched method, `lanes` subjects per batch (one of
/// [`WIDTHS`]; others run at the default width). Results are in job order.
pub fn simulate_lanes(jobs: &[LaneJob], lanes: usize) -> Vec<Result<FastRun, SimError>> {
    match lanes {
        1 => simulate_width::<1>(jobs),
        8 => simulate_width::<8>(jobs),
        16 => simulate_width::<16>(jobs),
        _ => simulate_width::<DEFAULT_LANES>(jobs),
    }
}

fn simulate_width<const L: usize>(jobs: &[LaneJob]) -> Vec<Result<FastRun, SimError>> {
    let mut results = Vec::with_capacity(jobs.len());
    for chunk in jobs.chunks(L) {
        results.extend(run_batch::<L>(chunk));
    }
    results
}

/// One batch: every job's fast method as a future, stepped together.
fn run_batch<const L: usize>(jobs: &[LaneJob]) -> Vec<Result<FastRun, SimError>> {
    let slots: Vec<RefCell<Slot>> = jobs.iter().map(|_| RefCell::new(Slot::Idle)).collect();
    let segments: Vec<LaneSegments> = slots.iter().map(|slot| LaneSegments { slot }).collect();
    type Run<'f> = Pin<Box<dyn Future<Output = Result<FastRun, SimError>> + 'f>>;
    let mut futures: Vec<Option<Run>> = jobs
        .iter()
        .zip(&segments)
        .map(|(j, s)| {
            Some(Box::pin(simulate_with(
                j.subject,
                j.regimen,
                j.horizon_h,
                j.output_times,
                j.probe,
                s,
            )) as Run)
        })
        .collect();
    let mut results: Vec<Option<Result<FastRun, SimError>>> = jobs.iter().map(|_| None).collect();
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        for (f, r) in futures.iter_mut().zip(results.iter_mut()) {
            if let Some(future) = f {
                if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                    *r = Some(out);
                    *f = None;
                }
            }
        }
        let mut asked = Vec::new();
        let mut requests = Vec::new();
        for (i, slot) in slots.iter().enumerate() {
            let mut s = slot.borrow_mut();
            if let Slot::Asked(_) = &*s {
                if let Slot::Asked(r) = std::mem::replace(&mut *s, Slot::Idle) {
                    asked.push(i);
                    requests.push(*r);
                }
            }
        }
        if asked.is_empty() {
            break;
        }
        let outputs = integrate_lanes::<L>(requests);
        for (&i, out) in asked.iter().zip(outputs) {
            let job = &jobs[i];
            *slots[i].borrow_mut() = Slot::Answered(out.map_err(|f| SolveError {
                context: String::new(),
                time_h: f.time_h,
                message: f.message,
                state: job.subject.describe(&f.state),
            }));
        }
    }
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(SolveError {
                    context: " (batched method)".into(),
                    time_h: f64::NAN,
                    message: "internal error: a lane stopped without a result (please report it)"
                        .into(),
                    state: String::new(),
                }
                .into())
            })
        })
        .collect()
}
