//! `il1sim trial`: a virtual clinical trial. A population file with a `[trial]` table (arms,
//! assessment day, published figures) is run through the mechanistic model and the RA
//! response model (models/ra-acr-response.toml); per arm and response level the command
//! prints and writes the responder percentage with its 95% Wilson interval.

use crate::output::{csv_text, ensure_dir, num, write_atomic};
use crate::plot::attainment::{attainment_png, attainment_svg, AttainmentChart, AttainmentGroup};
use il1sim_core::exchange::trial_file::parse_trial;
use il1sim_core::response::acr::ResponseModel;
use il1sim_core::response::trial::{run_trial, wilson_interval_p, Z_95};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct TrialArgs {
    /// Trial file (a population file with a [trial] table and [[trial.arms]])
    pub file: PathBuf,
    /// Output directory
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Random seed (overrides the file's population seed)
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Worker threads [default: all cores]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub solver: crate::simulate::SolverArgs,
    /// Model file [default: the bundled models/il1.toml]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

pub fn run(args: TrialArgs) -> Result<ExitCode, String> {
    let model = crate::model_file::load_model(args.model.as_deref())?;
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let response = ResponseModel::ra_acr();
    let mut trial = parse_trial(&text, &args.file.display().to_string(), &model, &response)
        .map_err(|e| e.to_string())?;
    crate::population::run::load_covariate_table(&args.file, &mut trial.population)?;
    if let Some(s) = args.seed {
        trial.population.seed = s;
    }
    let options = args.solver.options()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .map_err(|e| e.to_string())?;
    ensure_dir(&args.out)?;
    let started = Instant::now();
    let (subjects, arms) = pool.install(|| run_trial(&model, &trial, options));
    let elapsed = started.elapsed().as_secs_f64();
    let levels = &trial.response.levels;

    println!(
        "{}: {} ({} patients, assessment on day {}, seed {}, response model '{}')",
        trial.population.name,
        trial.population.description,
        subjects.len(),
        num(trial.assessment_h / 24.0),
        trial.population.seed,
        trial.response.name
    );
    if !trial.source.is_empty() {
        println!("published: {}", trial.source);
    }
    println!(
        "{:<28} {:>4} {:<6} {:>8} {:>15} {:>9} {:>10} {:>15} {:>7}",
        "arm", "n", "level", "virtual", "95% CI", "expected", "published", "published CI", "inside"
    );
    let mut rows = Vec::new();
    let mut any_outside = false;
    for (a, arm) in arms.iter().enumerate() {
        for (k, level) in levels.iter().enumerate() {
            let (lo, hi) = arm.ci_percent(k);
            let published = trial.arms[a].published[k];
            let pub_ci = published.map(|p| {
                let (l, h) = wilson_interval_p(p / 100.0, arm.n, Z_95);
                (100.0 * l, 100.0 * h)
            });
            let inside = pub_ci.map(|(l, h)| arm.percent(k) >= l && arm.percent(k) <= h);
            any_outside |= inside == Some(false);
            println!(
                "{:<28} {:>4} {:<6} {:>7.1}% {:>15} {:>8.1}% {:>10} {:>15} {:>7}",
                arm.name,
                arm.n,
                level.name,
                arm.percent(k),
                format!("{lo:.1}–{hi:.1}%"),
                100.0 * arm.expected[k],
                published.map(|p| format!("{p:.0}%")).unwrap_or_default(),
                pub_ci
                    .map(|(l, h)| format!("{l:.1}–{h:.1}%"))
                    .unwrap_or_default(),
                inside
                    .map(|b| if b { "yes" } else { "NO" })
                    .unwrap_or("")
                    .to_string()
            );
            rows.push(vec![
                arm.name.clone(),
                level.name.clone(),
                arm.n.to_string(),
                arm.responders[k].to_string(),
                num(arm.percent(k)),
                num(lo),
                num(hi),
                num(100.0 * arm.expected[k]),
                published.map(num).unwrap_or_default(),
                pub_ci.map(|c| num(c.0)).unwrap_or_default(),
                pub_ci.map(|c| num(c.1)).unwrap_or_default(),
                inside.map(|b| b.to_string()).unwrap_or_default(),
                arm.failures.to_string(),
            ]);
        }
    }
    let failures: u64 = arms.iter().map(|a| a.failures).sum();
    if failures > 0 {
        println!("{failures} patients failed to simulate and count as non-responders (subjects.csv has the reasons)");
    }
    println!(
        "virtual: responders in this trial; expected: mean of the patients' probabilities; published CI: 95% Wilson interval of the published percentage with the arm's n ({elapsed:.1} s)"
    );
    let header: Vec<String> = [
        "arm",
        "level",
        "n",
        "responders",
        "percent",
        "ci_low_percent",
        "ci_high_percent",
        "expected_percent",
        "published_percent",
        "published_ci_low_percent",
        "published_ci_high_percent",
        "inside_published_ci",
        "failures",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    write_atomic(&args.out.join("acr.csv"), &csv_text(&header, &rows)?)?;

    // Per-patient table.
    let mut header: Vec<String> = [
        "id",
        "arm",
        "weight_kg",
        "age_y",
        "sex",
        "crcl_ml_min",
        "mean_driver_fraction",
        "latent",
        "eta",
        "uniform",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for l in levels {
        header.push(format!("probability_{}", l.name));
    }
    for l in levels {
        header.push(l.name.clone());
    }
    header.push("failure".into());
    let rows: Vec<Vec<String>> = subjects
        .iter()
        .map(|s| {
            let mut r = vec![s.id.to_string(), trial.arms[s.arm].name.clone()];
            match &s.draw {
                Some(d) => r.extend([
                    num(d.patient.weight_kg),
                    num(d.patient.age_y),
                    d.patient.sex.label().to_string(),
                    num(d.patient.crcl_ml_min),
                ]),
                None => r.extend(std::iter::repeat_n(String::new(), 4)),
            }
            r.extend([
                num(s.mean_driver),
                num(s.latent),
                num(s.eta),
                num(s.uniform),
            ]);
            r.extend(s.probabilities.iter().map(|&p| num(p)));
            r.extend(s.responder.iter().map(|&b| u8::from(b).to_string()));
            r.push(s.failure.clone().unwrap_or_default());
            r
        })
        .collect();
    write_atomic(&args.out.join("subjects.csv"), &csv_text(&header, &rows)?)?;

    // Bar chart: per level, the virtual arms and (when given) the published ones.
    let charts: Vec<AttainmentChart> = levels
        .iter()
        .enumerate()
        .map(|(k, l)| {
            let mut groups = vec![AttainmentGroup {
                label: "virtual trial".into(),
                values: arms.iter().map(|a| Some((a.responders[k], a.n))).collect(),
            }];
            if trial.arms.iter().any(|a| a.published[k].is_some()) {
                groups.push(AttainmentGroup {
                    label: "published".into(),
                    values: trial
                        .arms
                        .iter()
                        .zip(&arms)
                        .map(|(a, r)| {
                            a.published[k].map(|p| ((p / 100.0 * r.n as f64).round() as u64, r.n))
                        })
                        .collect(),
                });
            }
            AttainmentChart {
                target: format!(
                    "{} responders at day {}",
                    l.name,
                    num(trial.assessment_h / 24.0)
                ),
                regimens: arms.iter().map(|a| a.name.clone()).collect(),
                groups,
            }
        })
        .collect();
    let title = format!("{}: ACR response", trial.population.name);
    write_atomic(
        &args.out.join("acr.svg"),
        attainment_svg(&title, &charts)?.as_bytes(),
    )?;
    write_atomic(&args.out.join("acr.png"), &attainment_png(&title, &charts)?)?;
    println!(
        "wrote {}/acr.csv, subjects.csv, acr.svg, acr.png",
        args.out.display()
    );
    if any_outside {
        println!("some virtual percentages fall outside the published 95% intervals (inside = NO)");
    }
    Ok(ExitCode::SUCCESS)
}
