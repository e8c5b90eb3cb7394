//! `il1sim compare`: several regimens or drugs for the same patient, side by side — a
//! self-contained HTML report (figures inline) and the same table as CSV.

use crate::output::{csv_text, ensure_dir, write_atomic};
use crate::plot::timecourse::{timecourse_svg, DoseMarks, Panel, Series};
use il1sim_core::dosing::regimen::HOURS_PER_DAY;
use il1sim_core::exchange::scenario::parse_scenario;
use il1sim_core::validation::targets::fmt_num;
use std::path::PathBuf;
use std::process::ExitCode;

/// CRP above which inflammation is called active: the healthy 99th percentile, 10 mg/L
/// (468 blood donors, Clin Chem hs-CRP immunoassay paper); the same threshold as the
/// validation targets.
pub const CRP_ACTIVE_MG_L: f64 = 10.0;
/// Days in an average month, for injections per month.
const DAYS_PER_MONTH: f64 = 365.25 / 12.0;

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Scenario file whose regimens (of one or several drugs) are compared
    pub scenario: PathBuf,
    /// Output directory: compare.html and compare.csv
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub solver: crate::simulate::SolverArgs,
    /// Model file [default: the bundled models/il1.toml]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

/// Observables shown in the comparison (when the model has them).
const SHOWN: [&str; 10] = [
    "anakinra_plasma",
    "canakinumab_plasma",
    "rilonacept_plasma",
    "receptor_occupancy_antagonist",
    "il1b_free_plasma",
    "il1b_total_plasma",
    "il1a_free_plasma",
    "il1_signal_relative",
    "crp",
    "saa",
];

pub fn run(args: CompareArgs) -> Result<ExitCode, String> {
    let model = crate::model_file::load_model(args.model.as_deref())?;
    let text = std::fs::read_to_string(&args.scenario)
        .map_err(|e| format!("cannot read scenario {}: {e}", args.scenario.display()))?;
    let scenario = parse_scenario(&text, &args.scenario.display().to_string(), &model)
        .map_err(|e| e.to_string())?;
    let options = args.solver.options()?;
    let (subject, runs) = crate::simulate::run_scenario(
        &model,
        &scenario,
        options,
        il1sim_core::population::definition::SimulationMethod::Exact,
    )?;
    let obs = |name: &str| model.observable_id(name);
    let i_crp = obs("crp").ok_or("the model has no 'crp' observable")?;

    let mut header: Vec<String> = vec!["figure".into(), "unit".into()];
    header.extend(runs.iter().map(|(_, s)| s.regimen.clone()));
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut push = |label: &str, unit: &str, values: Vec<String>| {
        let mut r = vec![label.to_string(), unit.to_string()];
        r.extend(values);
        rows.push(r);
    };
    push(
        "drug",
        "",
        scenario.regimens.iter().map(|r| r.drug.clone()).collect(),
    );
    push(
        "injections per month on treatment",
        "1/month",
        scenario
            .regimens
            .iter()
            .map(|r| injections_per_month(r, scenario.patient.weight_kg, scenario.duration_h))
            .collect::<Result<Vec<_>, _>>()?,
    );
    for (key, label) in [
        ("cmax", "Cmax, last interval"),
        ("trough", "trough"),
        ("c_average", "average concentration, last interval"),
    ] {
        push(
            label,
            "ng/mL",
            runs.iter()
                .map(|(_, s)| s.get(key).map(fmt_num).unwrap_or_default())
                .collect(),
        );
    }
    push(
        "IL-1RI occupancy by antagonist at trough",
        "fraction",
        runs.iter()
            .map(|(_, s)| {
                s.get("occupancy_antagonist_trough")
                    .map(fmt_num)
                    .unwrap_or_default()
            })
            .collect(),
    );
    push(
        "IL-1 signal at trough",
        "ratio to untreated",
        runs.iter()
            .map(|(_, s)| {
                s.get("il1_signal_relative_trough")
                    .map(fmt_num)
                    .unwrap_or_default()
            })
            .collect(),
    );
    for name in [
        "il1b_free_plasma",
        "il1b_total_plasma",
        "il1a_free_plasma",
        "crp",
        "saa",
    ] {
        if let Some(k) = obs(name) {
            let o = &model.observables[k];
            push(
                &format!("{} at the end", o.description),
                &o.unit,
                runs.iter()
                    .map(|(t, _)| {
                        t.states
                            .last()
                            .map(|y| fmt_num(subject.observe(y)[k]))
                            .unwrap_or_default()
                    })
                    .collect(),
            );
        }
    }
    let untreated_crp = subject.observe(&subject.baseline)[i_crp];
    let mut remission = Vec::new();
    let mut flare = Vec::new();
    let mut missed_flare = Vec::new();
    for ((traj, _), r) in runs.iter().zip(&scenario.regimens) {
        let crp: Vec<(f64, f64)> = traj
            .times_h
            .iter()
            .zip(&traj.states)
            .map(|(t, y)| (*t, subject.observe(y)[i_crp]))
            .collect();
        // Time to remission: first output with CRP below the threshold (when it starts above).
        let rem = if untreated_crp < CRP_ACTIVE_MG_L {
            None
        } else {
            crp.iter()
                .find(|(_, c)| *c < CRP_ACTIVE_MG_L)
                .map(|(t, _)| *t)
        };
        remission.push(match (untreated_crp < CRP_ACTIVE_MG_L, rem) {
            (true, _) => "not active untreated".to_string(),
            (false, Some(t)) => fmt_num(t / HOURS_PER_DAY),
            (false, None) => "not reached".to_string(),
        });
        // Time to flare: after the last dose, the first output back above the threshold.
        let last = r
            .dose_events(scenario.patient.weight_kg, scenario.duration_h)
            .ok()
            .and_then(|d| d.last().map(|e| e.time_h))
            .unwrap_or(0.0);
        let flare_t = rem.and_then(|_| {
            crp.iter()
                .find(|(t, c)| *t > last && *c >= CRP_ACTIVE_MG_L)
                .map(|(t, _)| (t - last) / HOURS_PER_DAY)
        });
        flare.push(
            flare_t
                .map(fmt_num)
                .unwrap_or_else(|| "none in the simulated time".into()),
        );
        // Time to flare after a missed dose: from the first dose left out, the first output
        // back above the threshold (only when CRP was below it when the dose was missed).
        missed_flare.push(match r.first_missed_dose_h(scenario.duration_h) {
            None => "no missed dose".to_string(),
            Some(tm) => {
                let at_miss = crp.iter().find(|(t, _)| *t >= tm).map(|(_, c)| *c);
                match at_miss {
                    // Up to the last dose: a flare after it belongs to stopping.
                    Some(c) if c < CRP_ACTIVE_MG_L => crp
                        .iter()
                        .find(|(t, c)| *t > tm && *t <= last && *c >= CRP_ACTIVE_MG_L)
                        .map(|(t, _)| fmt_num((t - tm) / HOURS_PER_DAY))
                        .unwrap_or_else(|| {
                            let peak = crp
                                .iter()
                                .filter(|(t, _)| *t > tm && *t <= last)
                                .map(|(_, c)| *c)
                                .fold(0.0, f64::max);
                            format!("no flare (CRP peak {} mg/L)", fmt_num(peak))
                        }),
                    _ => "not in remission when missed".into(),
                }
            }
        });
    }
    push("time to remission (CRP < 10 mg/L)", "days", remission);
    push(
        "time to flare after the last dose (CRP >= 10 mg/L)",
        "days",
        flare,
    );
    push(
        "time to flare after the first missed dose (CRP >= 10 mg/L)",
        "days",
        missed_flare,
    );

    // Figure: the compared observables, every regimen on each panel.
    let panels: Vec<Panel> = SHOWN
        .iter()
        .filter_map(|n| obs(n))
        .map(|k| {
            let o = &model.observables[k];
            Panel {
                title: o.description.clone(),
                y_label: format!("{} ({})", o.name, o.unit),
                series: runs
                    .iter()
                    .map(|(t, s)| Series {
                        label: s.regimen.clone(),
                        points: t
                            .times_h
                            .iter()
                            .zip(&t.states)
                            .map(|(h, y)| (h / HOURS_PER_DAY, subject.observe(y)[k]))
                            .collect(),
                    })
                    .collect(),
                log_y: matches!(
                    o.name.as_str(),
                    "il1b_free_plasma"
                        | "il1b_total_plasma"
                        | "il1a_free_plasma"
                        | "il1_signal_relative"
                ),
            }
        })
        .collect();
    let marks: Vec<DoseMarks> = scenario
        .regimens
        .iter()
        .map(|r| DoseMarks {
            label: r.name.clone(),
            times_days: r
                .dose_events(scenario.patient.weight_kg, scenario.duration_h)
                .map(|d| d.iter().map(|e| e.time_h / HOURS_PER_DAY).collect())
                .unwrap_or_default(),
        })
        .collect();
    let svg = timecourse_svg(&scenario.name, &panels, &marks)?;

    ensure_dir(&args.out)?;
    write_atomic(&args.out.join("compare.csv"), &csv_text(&header, &rows)?)?;
    write_atomic(
        &args.out.join("compare.html"),
        html(&scenario, &header, &rows, &svg).as_bytes(),
    )?;
    for r in &rows {
        println!(
            "{:<52.52} {:<20.20}{}",
            r[0],
            r[1],
            r[2..]
                .iter()
                .map(|v| format!("  {v:>26}"))
                .collect::<String>()
        );
    }
    println!(
        "\nwrote {}, {}",
        args.out.join("compare.html").display(),
        args.out.join("compare.csv").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// What the injections-per-month cell shows when no rate applies.
const NOT_APPLICABLE: &str = "—";

/// Injections per month while on treatment, from the doses the regimen (with the regimens
/// given with it) actually gives within the simulation: SC injections and IV boluses count,
/// an infusion is not an injection. "On treatment" runs from the first injection to one
/// dosing interval after the last (the time that injection covers, even past the end of the
/// simulation), so missed doses lower the rate and a stop followed by weeks without treatment
/// does not. With fewer than two injections there is no rate, and "—" is shown (with the
/// count when there is one).
fn injections_per_month(
    regimen: &il1sim_core::dosing::regimen::Regimen,
    weight_kg: f64,
    horizon_h: f64,
) -> Result<String, String> {
    use il1sim_core::dosing::regimen::Administration;
    let mut times = Vec::new();
    let mut end_h: f64 = 0.0;
    for r in std::iter::once(regimen).chain(&regimen.with) {
        let events = r
            .dose_events(weight_kg, horizon_h)
            .map_err(|e| format!("regimen '{}': {e}", r.name))?;
        for e in events.iter().filter(|e| {
            matches!(
                e.administration,
                Administration::Subcutaneous | Administration::IvBolus
            )
        }) {
            times.push(e.time_h);
            // On treatment until one interval after the last injection, even past the end of
            // the simulation (q8w canakinumab in 84 days: 2 injections per 112 days).
            end_h = end_h.max(e.time_h + r.interval_h);
        }
    }
    let start_h = times.iter().copied().fold(f64::INFINITY, f64::min);
    Ok(match times.len() {
        0 => NOT_APPLICABLE.to_string(),
        1 => format!("{NOT_APPLICABLE} (1 injection)"),
        n => fmt_num(n as f64 * DAYS_PER_MONTH * HOURS_PER_DAY / (end_h - start_h)),
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html(
    scenario: &il1sim_core::exchange::scenario::Scenario,
    header: &[String],
    rows: &[Vec<String>],
    svg: &str,
) -> String {
    let p = &scenario.patient;
    let mut t = String::new();
    t.push_str("<table><thead><tr>");
    for h in header {
        t.push_str(&format!("<th>{}</th>", escape(h)));
    }
    t.push_str("</tr></thead><tbody>");
    for r in rows {
        t.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let tag = if i == 0 { "th" } else { "td" };
            t.push_str(&format!("<{tag}>{}</{tag}>", escape(c)));
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>");
    // The SVG is produced by our own plotter (no scripts); its XML declaration is dropped.
    let svg = svg
        .trim_start_matches(|c| c != '<')
        .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n<style>body{{font-family:sans-serif;margin:2em;max-width:1250px}}table{{border-collapse:collapse}}th,td{{border:1px solid #ccc;padding:4px 8px;text-align:right}}th:first-child{{text-align:left}}caption{{text-align:left}}</style></head>\n<body><h1>{title}</h1>\n<p>{desc}</p>\n<p>Patient: {w} kg, {a} years, {sex}, CrCl {c} mL/min, disease {d}; {days} days. Generated by il1sim {v}.</p>\n<h2>Comparison</h2>\n{table}\n<p>Remission and flare use CRP 10 mg/L, the 99th percentile of healthy blood donors. Figures at the end refer to the last output time; exposure figures to each regimen's last dosing interval.</p>\n<h2>Time courses</h2>\n{svg}\n</body></html>\n",
        title = escape(&format!("il1sim comparison: {}", scenario.name)),
        desc = escape(&scenario.description),
        w = p.weight_kg,
        a = p.age_y,
        sex = p.sex.label(),
        c = p.crcl_ml_min,
        d = escape(&p.disease),
        days = scenario.duration_h / HOURS_PER_DAY,
        v = env!("CARGO_PKG_VERSION"),
        table = t,
        svg = svg,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use il1sim_core::dosing::regimen::{Administration, DoseAmount, Regimen};

    fn daily(doses: u32) -> Regimen {
        Regimen::repeated(
            "daily",
            "anakinra",
            DoseAmount::Mg(100.0),
            Administration::Subcutaneous,
            24.0,
            doses,
        )
    }

    /// From the doses given: daily is 30.4 a month, every 8 weeks 0.54, a missed dose lowers
    /// it, a stop followed by untreated weeks does not; a single infusion, a single injection
    /// and a regimen without injections show "—".
    #[test]
    fn injections_per_month_come_from_the_doses_given() {
        let month = DAYS_PER_MONTH * HOURS_PER_DAY;
        assert_eq!(
            injections_per_month(&daily(28), 70.0, 28.0 * 24.0).unwrap(),
            fmt_num(28.0 * month / (28.0 * 24.0))
        );
        // 28 daily doses in a 90-day run: still daily while on treatment.
        assert_eq!(
            injections_per_month(&daily(28), 70.0, 90.0 * 24.0).unwrap(),
            fmt_num(DAYS_PER_MONTH)
        );
        // Two injections 8 weeks apart in 84 days: on treatment for 16 weeks, not 12.
        let mut q8w = daily(2);
        q8w.interval_h = 56.0 * 24.0;
        assert_eq!(
            injections_per_month(&q8w, 70.0, 84.0 * 24.0).unwrap(),
            fmt_num(2.0 * month / (112.0 * 24.0))
        );
        let mut missed = daily(28);
        missed.missed_days = vec![5, 6];
        assert_eq!(
            injections_per_month(&missed, 70.0, 28.0 * 24.0).unwrap(),
            fmt_num(26.0 * DAYS_PER_MONTH / 28.0)
        );
        let q8w = Regimen {
            interval_h: 56.0 * 24.0,
            ..daily(3)
        };
        assert_eq!(
            injections_per_month(&q8w, 70.0, 168.0 * 24.0).unwrap(),
            fmt_num(3.0 * DAYS_PER_MONTH / 168.0)
        );
        // The sepsis arm: one 72-h infusion with a 100 mg IV load given with it.
        let mut sepsis = Regimen::repeated(
            "infusion",
            "anakinra",
            DoseAmount::MgPerKg {
                mg_per_kg: 144.0,
                max_mg: None,
            },
            Administration::IvInfusion { duration_h: 72.0 },
            24.0,
            1,
        );
        assert_eq!(
            injections_per_month(&sepsis, 70.0, 7.0 * 24.0).unwrap(),
            NOT_APPLICABLE
        );
        sepsis.with.push(Regimen {
            administration: Administration::IvBolus,
            ..daily(1)
        });
        assert_eq!(
            injections_per_month(&sepsis, 70.0, 7.0 * 24.0).unwrap(),
            "— (1 injection)"
        );
    }
}
