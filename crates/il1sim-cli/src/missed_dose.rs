//! `il1sim missed-dose`: a dose is late; compare the options (take it now, skip it, take it
//! and shift the schedule, double the next dose, half now and half with the next) from the
//! regimen's periodic steady state on the local signal, CRP and exposure over the next days,
//! and state the model's choice with its reason after the label's own advice. The options and
//! their simulation are the core's (`clinical::missed_dose`, through the dosing layer's missed,
//! late and extra doses); this module prints, writes JSON and CSV, and draws the courses.

use crate::dose_response::{sig, with_unit};
use crate::output::{csv_text, ensure_dir, num, write_set_atomic};
use crate::plot::timecourse::{timecourse_png, timecourse_svg, DoseMarks, Panel, Series};
use il1sim_core::clinical::missed_dose::{
    MissedDose, MissedDoseReport, OptionOutcome, DEFAULT_PEAK_LIMIT_RATIO,
};
use il1sim_core::dosing::regimen::{Administration, DoseAmount, Regimen};
use il1sim_core::model::patient::{Patient, Sex};
use std::path::PathBuf;
use std::process::ExitCode;

/// What the label says comes first. The wording of the label's missed-dose advice could not be
/// checked against the label text here (README, "Missed dose"), so it is referred to, not
/// quoted.
pub const LABEL_FIRST: &str = "The label's advice comes first: for a forgotten or late Kineret \
dose follow the patient leaflet (EU package leaflet, section 3 \"How to use Kineret\", on a \
forgotten dose; US Patient Information) and the prescriber; the US prescribing information \
(sections 2.1-2.2) asks for the dose at about the same time every day. The comparison below is a \
model's, to inform that advice, not to replace it.";

#[derive(clap::Args, Debug)]
pub struct MissedDoseArgs {
    /// Disease (a disease of the model, e.g. caps, ra, nomid)
    #[arg(long, value_name = "NAME")]
    pub disease: String,
    /// The usual dose with unit (e.g. 100mg or 2mg/kg)
    #[arg(long, value_name = "AMOUNT", allow_hyphen_values = true)]
    pub dose: String,
    /// The day the late dose was due (days counted from 1; at steady state it only names the dose)
    #[arg(long, value_name = "DAY", default_value_t = 10)]
    pub missed_day: u32,
    /// How late the dose is now, in hours (more than 0, less than the interval)
    #[arg(long, value_name = "HOURS", allow_negative_numbers = true)]
    pub hours_late: f64,
    /// Dosing interval with unit (e.g. 24h, 12h) [default: 24h]
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub every: Option<String>,
    /// Drug [default: anakinra]
    #[arg(long, value_name = "NAME")]
    pub drug: Option<String>,
    /// Cap of a weight-based dose in mg (e.g. 100mg)
    #[arg(long, value_name = "AMOUNT", allow_hyphen_values = true)]
    pub max_dose: Option<String>,
    /// Body weight in kg [default: 70]
    #[arg(long, value_name = "KG", allow_negative_numbers = true)]
    pub weight: Option<f64>,
    /// Age in years [default: 50]
    #[arg(long, value_name = "YEARS", allow_negative_numbers = true)]
    pub age: Option<f64>,
    /// Sex: female or male [default: male]
    #[arg(long, value_name = "SEX")]
    pub sex: Option<String>,
    /// Creatinine clearance in mL/min [default: 100]
    #[arg(long, value_name = "ML_MIN", allow_negative_numbers = true)]
    pub crcl: Option<f64>,
    /// Days compared after the scheduled dose
    #[arg(
        long,
        value_name = "DAYS",
        default_value_t = 3.0,
        allow_negative_numbers = true
    )]
    pub window_days: f64,
    /// Observable of the local signal, by model name
    #[arg(long, value_name = "OBSERVABLE", default_value = "il1_signal_relative")]
    pub signal: String,
    /// Observable of CRP, by model name
    #[arg(long, value_name = "OBSERVABLE", default_value = "crp")]
    pub crp: String,
    /// Signal threshold in the signal's unit [default: the highest signal of the on-time schedule in the window]
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub signal_threshold: Option<f64>,
    /// Peak concentration, as a multiple of the on-time peak, that sets an option aside (assumption)
    #[arg(long, value_name = "RATIO", default_value_t = DEFAULT_PEAK_LIMIT_RATIO, allow_negative_numbers = true)]
    pub peak_limit: f64,
    /// Print the comparison as JSON instead of the table
    #[arg(long)]
    pub json: bool,
    /// Also write missed_dose.json, missed_dose.csv and the figure into this directory
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// With --out: do not write the figure
    #[arg(long)]
    pub no_plot: bool,
    #[command(flatten)]
    pub solver: crate::simulate::SolverArgs,
    /// Model file [default: the bundled models/il1.toml]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

pub fn run(args: MissedDoseArgs) -> Result<ExitCode, String> {
    let model = crate::model_file::load_model(args.model.as_deref())?;
    if args.missed_day == 0 {
        return Err("--missed-day 0: allowed: days counted from 1".into());
    }
    if !(args.peak_limit.is_finite() && args.peak_limit >= 1.0) {
        return Err(format!(
            "--peak-limit {}: allowed: a ratio >= 1 (1.25: a peak 25% above the on-time peak)",
            args.peak_limit
        ));
    }
    if let Some(t) = args.signal_threshold {
        if !t.is_finite() {
            return Err(format!("--signal-threshold {t}: allowed: a finite number"));
        }
    }
    if !model.diseases.contains_key(&args.disease) {
        return Err(format!(
            "--disease '{}': allowed: {}",
            args.disease,
            model.disease_names().join(", ")
        ));
    }
    let mut patient = Patient::adult(&args.disease);
    if let Some(w) = args.weight {
        patient.weight_kg = w;
    }
    if let Some(a) = args.age {
        patient.age_y = a;
    }
    if let Some(c) = args.crcl {
        patient.crcl_ml_min = c;
    }
    if let Some(s) = &args.sex {
        patient.sex = Sex::parse(s).ok_or_else(|| format!("--sex '{s}': allowed: female, male"))?;
    }
    patient
        .check(&model, "patient")
        .map_err(|e| format!("{e} (--weight, --age, --crcl)"))?;
    let mut dose = crate::quick::parse_amount("--dose", &args.dose)?;
    if let Some(m) = &args.max_dose {
        match (crate::quick::parse_amount("--max-dose", m)?, &mut dose) {
            (DoseAmount::Mg(cap), DoseAmount::MgPerKg { max_mg, .. }) => *max_mg = Some(cap),
            _ => {
                return Err(format!(
                    "--max-dose '{m}': allowed: an amount in mg, with a dose in mg/kg"
                ))
            }
        }
    }
    let interval_h = match &args.every {
        Some(e) => crate::quick::parse_duration("--every", e)?,
        None => 24.0,
    };
    let drug = args.drug.clone().unwrap_or_else(|| "anakinra".into());
    if model.drug(&drug).is_none() {
        let names: Vec<&str> = model.drugs.iter().map(|d| d.name.as_str()).collect();
        return Err(format!("--drug '{drug}': allowed: {}", names.join(", ")));
    }
    let regimen = Regimen::repeated(
        &format!("{} {} SC every {} h", drug, dose.label(), sig(interval_h)),
        &drug,
        dose,
        Administration::Subcutaneous,
        interval_h,
        1,
    );
    regimen.check("--dose").map_err(|e| e.to_string())?;
    let question = MissedDose {
        patient,
        regimen: regimen.clone(),
        day: args.missed_day,
        hours_late: args.hours_late,
        window_days: args.window_days,
        signal: args.signal.clone(),
        crp: args.crp.clone(),
        signal_threshold: args.signal_threshold,
        peak_limit_ratio: args.peak_limit,
    };
    let options = args.solver.options()?;
    let report = question.run(&model, options)?;
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    if args.json {
        println!("{json}");
    } else {
        print_report(&question, &regimen, &report);
    }
    if let Some(out) = &args.out {
        ensure_dir(out)?;
        let mut files = vec![
            (out.join("missed_dose.json"), json.into_bytes()),
            (out.join("missed_dose.csv"), csv(&report)?),
        ];
        let figures = [out.join("missed_dose.svg"), out.join("missed_dose.png")];
        let mut remove = Vec::new();
        if args.no_plot {
            remove.extend(figures.iter().filter(|p| p.exists()).cloned());
        } else {
            let (panels, marks) = figure(&report, &model);
            let title = format!(
                "{}: dose of day {} taken {} h late",
                regimen.name,
                report.day,
                sig(report.hours_late)
            );
            files.push((
                figures[0].clone(),
                timecourse_svg(&title, &panels, &marks)?.into_bytes(),
            ));
            files.push((figures[1].clone(), timecourse_png(&title, &panels, &marks)?));
        }
        write_set_atomic(&files, &remove)?;
        if !args.json {
            println!(
                "wrote {}/missed_dose.json, missed_dose.csv{}",
                out.display(),
                if args.no_plot {
                    ""
                } else {
                    ", missed_dose.svg, missed_dose.png"
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn doses_text(o: &OptionOutcome) -> String {
    o.doses
        .iter()
        .map(|(t, mg)| format!("{} mg at +{} h", sig(*mg), sig(*t)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_report(q: &MissedDose, regimen: &Regimen, r: &MissedDoseReport) {
    println!("{LABEL_FIRST}");
    println!();
    println!(
        "{} ({}, {} kg, CrCl {} mL/min), at its periodic steady state; the dose due on day {} is {} h late. Compared over the {} h from its scheduled time:",
        regimen.name,
        q.patient.disease,
        sig(q.patient.weight_kg),
        sig(q.patient.crcl_ml_min),
        r.day,
        sig(r.hours_late),
        sig(r.window_h)
    );
    let threshold_note = if r.threshold_is_on_schedule_peak {
        " (the highest the on-time schedule reaches)"
    } else {
        ""
    };
    println!(
        "{:<34} {:>16} {:>20} {:>14} {:>14} {:>18} {:>16}",
        "option",
        format!("peak {}", short(&r.signal)),
        "time above threshold",
        "max CRP",
        "CRP at end",
        format!("AUC {} h", sig(r.window_h)),
        "peak drug"
    );
    for o in std::iter::once(&r.reference).chain(&r.options) {
        println!(
            "{:<34} {:>16} {:>20} {:>14} {:>14} {:>18} {:>16}",
            o.name,
            with_unit(o.peak_signal, &r.signal_unit),
            with_unit(o.hours_signal_above_threshold, "h"),
            with_unit(o.max_crp_mg_l, "mg/L"),
            with_unit(o.crp_end_mg_l, "mg/L"),
            with_unit(o.auc_ng_h_ml, "ng·h/mL"),
            with_unit(o.peak_concentration_ng_ml, "ng/mL"),
        );
    }
    println!();
    for o in &r.options {
        println!("  {:<34} doses: {}", o.name, doses_text(o));
    }
    println!();
    println!(
        "threshold: {} = {} {}{threshold_note}; an option whose peak concentration exceeds {} ng/mL ({} × the on-time peak, an assumption) is set aside",
        r.signal,
        sig(r.signal_threshold),
        r.signal_unit,
        sig(r.peak_limit_ng_ml),
        sig(q.peak_limit_ratio)
    );
    let best = r
        .options
        .iter()
        .find(|o| o.option == r.recommended)
        .map(|o| o.name.as_str())
        .unwrap_or("");
    println!("model's choice: {best}: {}", r.reason);
}

fn short(s: &str) -> String {
    if s.chars().count() > 10 {
        format!("{}…", s.chars().take(9).collect::<String>())
    } else {
        s.to_string()
    }
}

fn csv(r: &MissedDoseReport) -> Result<Vec<u8>, String> {
    let header: Vec<String> = [
        "option".to_string(),
        format!("peak_{}_{}", r.signal, r.signal_unit),
        "hours_signal_above_threshold_h".into(),
        "max_crp_mg_per_L".into(),
        "crp_end_mg_per_L".into(),
        "auc_window_ng_h_per_mL".into(),
        "peak_concentration_ng_per_mL".into(),
        "trough_concentration_end_ng_per_mL".into(),
        "doses".into(),
        "recommended".into(),
    ]
    .to_vec();
    let rows: Vec<Vec<String>> = std::iter::once(&r.reference)
        .chain(&r.options)
        .map(|o| {
            vec![
                o.name.clone(),
                num(o.peak_signal),
                num(o.hours_signal_above_threshold),
                num(o.max_crp_mg_l),
                num(o.crp_end_mg_l),
                num(o.auc_ng_h_ml),
                num(o.peak_concentration_ng_ml),
                num(o.trough_concentration_ng_ml),
                doses_text(o),
                (o.option == r.recommended).to_string(),
            ]
        })
        .collect();
    csv_text(&header, &rows)
}

fn figure(
    r: &MissedDoseReport,
    model: &il1sim_core::model::definition::Model,
) -> (Vec<Panel>, Vec<DoseMarks>) {
    let all: Vec<&OptionOutcome> = std::iter::once(&r.reference).chain(&r.options).collect();
    let series = |k: usize| -> Vec<Series> {
        all.iter()
            .map(|o| Series {
                label: o.name.clone(),
                points: o
                    .course
                    .iter()
                    .map(|p| {
                        let v = match k {
                            0 => p.1,
                            1 => p.2,
                            _ => p.3,
                        };
                        (p.0 / 24.0, v)
                    })
                    .collect(),
            })
            .collect()
    };
    let crp_unit = model
        .observable_id(&r.crp)
        .map(|i| model.observables[i].unit.clone())
        .unwrap_or_default();
    let panels = vec![
        Panel {
            title: format!("{} (days from the scheduled dose)", r.signal),
            y_label: format!("{} ({})", r.signal, r.signal_unit),
            series: series(0),
            log_y: true,
        },
        Panel {
            title: r.crp.clone(),
            y_label: format!("{} ({crp_unit})", r.crp),
            series: series(1),
            log_y: false,
        },
        Panel {
            title: "drug concentration".into(),
            y_label: "plasma concentration (ng/mL)".into(),
            series: series(2),
            log_y: false,
        },
    ];
    let marks = all
        .iter()
        .map(|o| DoseMarks {
            label: o.name.clone(),
            times_days: o.doses.iter().map(|d| d.0 / 24.0).collect(),
        })
        .collect();
    (panels, marks)
}
