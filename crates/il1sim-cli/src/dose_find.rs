//! `il1sim dose-find`: the regimens the label allows, for one patient or a population, ranked
//! by probability of attaining the file's targets, then exposure, then injections per week.
//! The grid, the evaluation and the ranking are the core's (`clinical::dose_find`); this
//! module reads the file, prints the table, writes the CSV and the chart.

use crate::dose_response::{describe_cohort, load_table, progress_bar, sig, with_unit, RunArgs};
use crate::output::{csv_text, ensure_dir, num, write_set_atomic};
use crate::plot::dose::{ranking_png, ranking_svg, RankBar};
use il1sim_core::clinical::dose_find::{DoseFind, Ranked, Schedule};
use il1sim_core::clinical::files::parse_dose_find;
use il1sim_core::dosing::regimen::HOURS_PER_DAY;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Bars in the chart (the best ones).
const CHART_BARS: usize = 40;

#[derive(clap::Args, Debug)]
pub struct DoseFindArgs {
    /// Dose-finding file: [scenario], [patient] or [population], [dose_find] (targets, grid,
    /// optional [dose_find.parameters]) and [[regimens]] (the current regimen, ranked too)
    pub file: PathBuf,
    /// Output directory
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Regimens printed (all are written to dose_find.csv)
    #[arg(long, value_name = "N", default_value_t = 15)]
    pub top: usize,
    #[command(flatten)]
    pub run: RunArgs,
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", 100.0 * x)
    } else {
        "—".into()
    }
}

fn schedule_of(r: &Ranked) -> &'static str {
    match r.candidate.map(|c| c.schedule) {
        Some(s) => s.label(),
        None => "file's regimen",
    }
}

pub fn run(args: DoseFindArgs) -> Result<ExitCode, String> {
    let model = crate::model_file::load_model(args.run.model.as_deref())?;
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let mut study = parse_dose_find(&text, &args.file.display().to_string(), &model)
        .map_err(|e| e.to_string())?;
    load_table(&args.file, &mut study.cohort)?;
    args.run.apply(&mut study.cohort)?;
    let options = args.run.solver.options()?;
    let pool = args.run.pool()?;
    ensure_dir(&args.out)?;
    let candidates = study.candidates();
    println!("{}: {}", study.name, study.description);
    println!(
        "{}; {} days; {} regimens ({} from the label's grid: {}–{} mg/kg/day in {} mg/kg steps{}{}{}, plus {} of the file)",
        describe_cohort(&study.cohort),
        sig(study.duration_h / HOURS_PER_DAY),
        candidates.len() + study.current.len(),
        candidates.len(),
        sig(study.grid.min_mg_per_kg_per_day),
        sig(study.grid.max_mg_per_kg_per_day.min(8.0)),
        sig(study.grid.step_mg_per_kg),
        if study.grid.twice_daily { ", once or twice daily" } else { ", once daily" },
        if candidates.iter().any(|c| c.schedule == Schedule::EveryOtherDay) {
            ", every other day (CrCl < 30 mL/min)"
        } else {
            ""
        },
        if study.grid.loading_dose {
            format!(
                ", with or without a first dose {} × the dose (assumption)",
                sig(study.grid.loading_factor)
            )
        } else {
            String::new()
        },
        study.current.len()
    );
    println!(
        "targets (all must be met): {}",
        study
            .targets
            .iter()
            .map(|t| format!("{} [{}, {}]", t.text, t.label, t.unit))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let bar = progress_bar(study.cohort.size())?;
    let started = Instant::now();
    let (ranked, _) = pool.install(|| study.run(&model, options, &|| bar.inc(1)));
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    print_table(&study, &ranked, args.top);
    if let Some(m) = ranked.iter().find_map(|r| r.summary.first_failure.clone()) {
        let n: u64 = ranked.iter().map(|r| r.summary.failures).sum();
        println!("{n} simulations failed and count as not evaluated; the first: {m}");
    }
    println!(
        "ranked by probability of attaining all targets (higher first), then median AUC over the {} days (lower first; AUCs within a factor {} count as equal), then injections per week (fewer first) ({elapsed:.1} s)",
        sig(study.duration_h / HOURS_PER_DAY),
        il1sim_core::clinical::dose_find::EXPOSURE_CLASS_FACTOR
    );
    write_outputs(&args.out, &study, &ranked, args.run.no_plot)?;
    Ok(ExitCode::SUCCESS)
}

fn print_table(study: &DoseFind, ranked: &[Ranked], top: usize) {
    println!();
    print!(
        "{:>4} {:<46} {:>10} {:>15} {:>16} {:>11}",
        "rank", "regimen", "attainment", "95% CI", "median AUC", "injections"
    );
    for t in &study.targets {
        print!(" {:>30}", truncate(&format!("median {}", t.label), 30));
    }
    println!();
    for (i, r) in ranked.iter().enumerate().take(top) {
        let s = &r.summary;
        print!(
            "{:>4} {:<46} {:>10} {:>15} {:>16} {:>11}",
            i + 1,
            truncate(&r.regimen.name, 46),
            pct(s.all.fraction),
            s.all
                .interval
                .map(|(a, b)| format!("{}–{}", pct(a), pct(b)))
                .unwrap_or_else(|| "—".into()),
            with_unit(s.auc_median, "ng·h/mL"),
            format!("{}/week", sig(r.injections_per_week)),
        );
        for (k, t) in study.targets.iter().enumerate() {
            print!(" {:>30}", with_unit(s.targets[k].percentiles[2], &t.unit));
        }
        println!();
    }
    if ranked.len() > top {
        println!("     … {} more in dose_find.csv", ranked.len() - top);
    }
    println!();
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    } else {
        s.to_string()
    }
}

fn write_outputs(
    out: &Path,
    study: &DoseFind,
    ranked: &[Ranked],
    no_plot: bool,
) -> Result<(), String> {
    let mut header: Vec<String> = [
        "rank",
        "regimen",
        "schedule",
        "mg_per_kg_per_day",
        "loading_dose",
        "injections_per_week",
        "n",
        "failures",
        "attainment",
        "ci_low",
        "ci_high",
        "auc_median_ng_h_per_mL",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for t in &study.targets {
        header.push(format!("attainment {}", t.text));
        header.push(format!("median {} ({})", t.label, t.unit));
    }
    let rows: Vec<Vec<String>> = ranked
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let s = &r.summary;
            let mut row = vec![
                (i + 1).to_string(),
                r.regimen.name.clone(),
                schedule_of(r).to_string(),
                r.candidate
                    .map(|c| num(c.mg_per_kg_per_day))
                    .unwrap_or_default(),
                r.candidate
                    .map(|c| c.loading.to_string())
                    .unwrap_or_default(),
                num(r.injections_per_week),
                s.evaluated.to_string(),
                s.failures.to_string(),
                num(s.all.fraction),
                s.all.interval.map(|i| num(i.0)).unwrap_or_default(),
                s.all.interval.map(|i| num(i.1)).unwrap_or_default(),
                num(s.auc_median),
            ];
            for t in &s.targets {
                row.push(num(t.fraction));
                row.push(num(t.percentiles[2]));
            }
            row
        })
        .collect();
    let mut files = vec![(out.join("dose_find.csv"), csv_text(&header, &rows)?)];
    let figures = [out.join("dose_find.svg"), out.join("dose_find.png")];
    let mut remove = Vec::new();
    if no_plot {
        remove.extend(figures.iter().filter(|p| p.exists()).cloned());
    } else {
        let groups: Vec<String> = [
            "file's regimen",
            Schedule::OnceDaily.label(),
            Schedule::TwiceDaily.label(),
            Schedule::EveryOtherDay.label(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let bars: Vec<RankBar> = ranked
            .iter()
            .take(CHART_BARS)
            .enumerate()
            .map(|(i, r)| RankBar {
                label: format!("{}. {}", i + 1, r.regimen.name),
                value: r.summary.all.fraction,
                interval: r.summary.all.interval,
                group: match r.candidate.map(|c| c.schedule) {
                    None => 0,
                    Some(Schedule::OnceDaily) => 1,
                    Some(Schedule::TwiceDaily) => 2,
                    Some(Schedule::EveryOtherDay) => 3,
                },
            })
            .collect();
        let title = format!(
            "{}: attainment by regimen (best {})",
            study.name,
            bars.len()
        );
        let x_label = "probability of attaining all targets";
        files.push((
            figures[0].clone(),
            ranking_svg(&title, x_label, &groups, &bars)?.into_bytes(),
        ));
        files.push((
            figures[1].clone(),
            ranking_png(&title, x_label, &groups, &bars)?,
        ));
    }
    write_set_atomic(&files, &remove)?;
    println!(
        "wrote {}/dose_find.csv{}",
        out.display(),
        if no_plot {
            ""
        } else {
            ", dose_find.svg, dose_find.png"
        }
    );
    Ok(())
}
