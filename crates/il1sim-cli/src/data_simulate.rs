//! `il1sim simulate --data FILE`: every subject of a NONMEM-style dataset simulated with its
//! own doses, covariates and sampling times (exact method), written as a NONMEM-style table
//! (table.csv, table.parquet: PRED = IPRED, the subject's covariates and no ETAs; RES = IRES =
//! DV − PRED) and a figure of observed DV and predictions against time per observable
//! (predictions.svg, .png).

use crate::data_table::{table_csv, table_parquet};
use crate::dataset_file::{given_doses, load, notes, PatientDefaults};
use crate::output::{ensure_dir, write_set_atomic};
use crate::plot::timecourse::{timecourse_png, timecourse_svg, DoseMarks, Panel, Series};
use il1sim_core::dosing::regimen::HOURS_PER_DAY;
use il1sim_core::exchange::dataset::predict::SubjectDesign;
use il1sim_core::exchange::dataset::subjects::{DataSubject, Observation, TableRow};
use il1sim_core::model::definition::Model;
use il1sim_core::solve::options::SolverOptions;
use il1sim_core::solve::subject::Subject;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Subjects drawn in the figure (the table has them all): more would make the legend
/// unreadable.
const FIGURE_SUBJECTS: usize = 6;
/// Points per occasion of each prediction curve in the figure.
const CURVE_POINTS: usize = 240;

/// The predictions of one subject: at its observations, and on a grid for the figure.
struct SubjectRun {
    at_observations: Vec<f64>,
    curve: Option<(DataSubject, Vec<f64>)>,
}

/// The subject with prediction-only observations of `observables` on a grid over each
/// occasion (from its start to its last observation) added to its own.
pub fn with_grid(s: &DataSubject, observables: &[usize]) -> DataSubject {
    let mut out = s.clone();
    out.observations.clear();
    for (k, occasion) in s.occasions.iter().enumerate() {
        let own = &s.observations[occasion.observations.clone()];
        let start = out.observations.len();
        let mut all: Vec<Observation> = own.to_vec();
        if let Some(last) = own.iter().map(|o| o.time_h).reduce(f64::max) {
            let span = last - occasion.start_h;
            for i in 0..=CURVE_POINTS {
                let t = occasion.start_h + span * i as f64 / CURVE_POINTS as f64;
                for &o in observables {
                    all.push(Observation {
                        time_h: t,
                        observable: o,
                        value: None,
                        lloq: None,
                        below_lloq: false,
                        line: 0,
                    });
                }
            }
        }
        all.sort_by(|a, b| a.time_h.total_cmp(&b.time_h));
        out.observations.extend(all);
        out.occasions[k].observations = start..out.observations.len();
    }
    out
}

fn run_subject(
    model: &Model,
    s: &DataSubject,
    options: SolverOptions,
    curve_of: Option<&[usize]>,
) -> Result<SubjectRun, String> {
    let subject = Subject::new(model, &s.patient, &[], options)
        .map_err(|e| format!("dataset ID {}: {e}", s.id))?;
    let at_observations = SubjectDesign::new(s)
        .predict(&subject)
        .map_err(|e| format!("dataset ID {}: {e}", s.id))?;
    let curve = match curve_of {
        None => None,
        Some(obs) => {
            let g = with_grid(s, obs);
            let v = SubjectDesign::new(&g)
                .predict(&subject)
                .map_err(|e| format!("dataset ID {}: {e}", s.id))?;
            Some((g, v))
        }
    };
    Ok(SubjectRun {
        at_observations,
        curve,
    })
}

pub fn run(
    path: &Path,
    out: &Path,
    model: &Model,
    defaults: &PatientDefaults,
    options: SolverOptions,
    no_plot: bool,
) -> Result<ExitCode, String> {
    let data = load(path, model, defaults)?;
    for n in notes(&data) {
        eprintln!("{n}");
    }
    // Observables of the dataset, in model order: one panel each.
    let mut observables: Vec<usize> = data
        .subjects
        .iter()
        .flat_map(|s| s.observations.iter().map(|o| o.observable))
        .collect();
    observables.sort_unstable();
    observables.dedup();
    let started = std::time::Instant::now();
    let runs: Vec<SubjectRun> = data
        .subjects
        .par_iter()
        .enumerate()
        .map(|(k, s)| {
            let curve = (!no_plot && k < FIGURE_SUBJECTS).then_some(observables.as_slice());
            run_subject(model, s, options, curve)
        })
        .collect::<Result<_, _>>()?;
    let elapsed = started.elapsed();
    let mut rows = Vec::new();
    for (s, r) in data.subjects.iter().zip(&runs) {
        for (o, &p) in s.observations.iter().zip(&r.at_observations) {
            rows.push(TableRow {
                id: s.id.clone(),
                time_h: o.time_h,
                observable: model.observables[o.observable].name.clone(),
                dv: o.value,
                mdv: o.value.is_none(),
                pred: p,
                ipred: p,
                res: o.value.map(|v| v - p),
                ires: o.value.map(|v| v - p),
                wres: None,
                cwres: None,
                iwres: None,
                etas: vec![],
            });
        }
    }
    let n_obs = rows.iter().filter(|r| !r.mdv).count();
    println!(
        "il1sim {} — dataset {}: {} subjects, {} observations ({} with DV), {} dose records; \
         simulated in {:.2} s",
        env!("CARGO_PKG_VERSION"),
        path.display(),
        data.subjects.len(),
        rows.len(),
        n_obs,
        data.subjects
            .iter()
            .map(|s| s.regimens.len())
            .sum::<usize>(),
        elapsed.as_secs_f64()
    );
    for o in &observables {
        let obs = &model.observables[*o];
        let (mut n, mut sum_sq) = (0usize, 0.0);
        for r in rows.iter().filter(|r| r.observable == obs.name) {
            if let Some(res) = r.res {
                n += 1;
                sum_sq += res * res;
            }
        }
        if n > 0 {
            println!(
                "  {}: {n} observed, root-mean-square DV − PRED {:.4} {}",
                obs.name,
                (sum_sq / n as f64).sqrt(),
                obs.unit
            );
        }
    }
    let mut files = vec![
        ("table.csv", table_csv(&rows, &[])?),
        ("table.parquet", table_parquet(&rows, &[])?),
    ];
    if !no_plot {
        let (svg, png) = figure(model, &data.subjects, &runs, &observables, path)?;
        files.push(("predictions.svg", svg));
        files.push(("predictions.png", png));
    }
    let stale: Vec<PathBuf> = if no_plot {
        ["predictions.svg", "predictions.png"]
            .iter()
            .map(|f| out.join(f))
            .collect()
    } else {
        Vec::new()
    };
    ensure_dir(out)?;
    let files: Vec<(PathBuf, Vec<u8>)> = files.into_iter().map(|(n, b)| (out.join(n), b)).collect();
    write_set_atomic(&files, &stale)?;
    println!(
        "wrote {}",
        files
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// Observed DV (dots) and the prediction curve per subject, one panel per observable.
fn figure(
    model: &Model,
    subjects: &[DataSubject],
    runs: &[SubjectRun],
    observables: &[usize],
    path: &Path,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let shown = subjects.len().min(FIGURE_SUBJECTS);
    let panels: Vec<Panel> = observables
        .iter()
        .map(|&k| {
            let o = &model.observables[k];
            let mut series = Vec::new();
            for (s, r) in subjects.iter().zip(runs).take(shown) {
                let (grid, values) = r.curve.as_ref().expect("curves for the subjects shown");
                let mut line = Vec::new();
                for (k2, occasion) in grid.occasions.iter().enumerate() {
                    if k2 > 0 {
                        line.push((f64::NAN, f64::NAN));
                    }
                    for i in occasion.observations.clone() {
                        let ob = &grid.observations[i];
                        if ob.observable == k && ob.line == 0 {
                            line.push((ob.time_h / HOURS_PER_DAY, values[i]));
                        }
                    }
                }
                series.push(Series {
                    label: format!("ID {} prediction", s.id),
                    points: line,
                });
                series.push(observed_series(s, k, &format!("ID {} observed", s.id)));
            }
            Panel {
                title: o.description.clone(),
                y_label: format!("{} ({})", o.name, o.unit),
                series,
                log_y: false,
            }
        })
        .collect();
    let mut doses = Vec::new();
    for s in subjects.iter().take(shown) {
        let times = given_doses(s)?
            .iter()
            .map(|g| g.event.time_h / HOURS_PER_DAY)
            .collect();
        doses.push(DoseMarks {
            label: format!("ID {} doses", s.id),
            times_days: times,
        });
        // Marks are matched to series by position: the observed series takes none.
        doses.push(DoseMarks::default());
    }
    let more = if subjects.len() > shown {
        format!(" (first {shown} of {} subjects)", subjects.len())
    } else {
        String::new()
    };
    let title = format!("{} — observed and predicted{more}", path.display());
    let svg = timecourse_svg(&title, &panels, &doses)?;
    let png = timecourse_png(&title, &panels, &doses)?;
    Ok((svg.into_bytes(), png))
}

/// The observed values (DV) of observable `k` of one subject as a series of dots (each value
/// alone between breaks), days on the x axis: the figures of `simulate --data` and of the fit
/// commands draw the data so.
pub fn observed_series(s: &DataSubject, k: usize, label: &str) -> Series {
    let mut points = Vec::new();
    for ob in s.observations.iter().filter(|ob| ob.observable == k) {
        if let Some(v) = ob.value {
            points.push((ob.time_h / HOURS_PER_DAY, v));
            points.push((f64::NAN, f64::NAN));
        }
    }
    Series {
        label: label.to_string(),
        points,
    }
}
