//! `il1sim plan`: an injection calendar for a patient file: dose days and times, the
//! injection site rotated, the neutrophil-count visits the label asks for, every other day in
//! severe renal impairment; written as `plan.ics` (iCalendar, floating local times) and
//! `plan.html` (printable), atomically as one set.

use crate::check::{load, num, patient_line, regimen_line, safety_rows, CaseArgs, DISCLAIMER};
use clap::Args;
use il1sim_core::clinical::calendar::{fmt_mg, plan, site_area, to_ics, Date, Plan};
use il1sim_core::clinical::check::{evaluate, Verdict};
use il1sim_core::clinical::rules::Outcome;
use il1sim_core::clinical::safety::SafetyTable;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub case: CaseArgs,
    /// Date of the first dose (YYYY-MM-DD)
    #[arg(long, value_name = "DATE")]
    pub start: String,
    /// Weeks the calendar covers (1 to 104)
    #[arg(long, default_value_t = 12, value_name = "WEEKS")]
    pub weeks: u32,
    /// Local time of the first dose (HH:MM; floating: no time zone)
    #[arg(long, default_value = "08:00", value_name = "HH:MM")]
    pub time: String,
    /// Keep the regimen's interval even when a renal rule suggests every other day
    #[arg(long)]
    pub as_prescribed: bool,
    /// Output directory: plan.ics and plan.html
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

fn parse_time(text: &str) -> Result<u32, String> {
    let bad =
        || format!("--time '{text}': not a time; allowed: HH:MM from 00:00 to 23:59, e.g. 08:00");
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 || text.trim().len() != 5 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn hhmm(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// The printable calendar: a heading with patient, regimen, verdict and the label regimen,
/// one row per week (Monday first), the visits, the weekly adverse-event table and the notes.
fn html(
    title: &str,
    p: &Plan,
    v: &Verdict,
    t: &SafetyTable,
    facts: &[(String, String)],
    notes: &[String],
) -> String {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str(&format!("<title>{}</title>\n", escape(title)));
    s.push_str(
        "<style>\n\
         @page { size: A4 landscape; margin: 12mm; }\n\
         body { font-family: 'DejaVu Sans', Arial, sans-serif; font-size: 11px; color: #222; margin: 16px; }\n\
         h1 { font-size: 18px; margin: 0 0 6px 0; }\n\
         h2 { font-size: 14px; margin: 14px 0 4px 0; }\n\
         table { border-collapse: collapse; }\n\
         .facts td { padding: 1px 10px 1px 0; vertical-align: top; }\n\
         .cal { width: 100%; table-layout: fixed; }\n\
         .cal th, .cal td { border: 1px solid #999; padding: 3px; vertical-align: top; }\n\
         .cal th { background: #eee; }\n\
         .cal td { height: 46px; }\n\
         .cal td.out { background: #f6f6f6; color: #aaa; }\n\
         .date { font-weight: bold; }\n\
         .inj { margin-top: 2px; }\n\
         .site-abdomen { color: #1f5fa8; } .site-thigh { color: #2e7d32; }\n\
         .site-upper { color: #8e3ab0; } .site-buttock { color: #b35c00; }\n\
         .visit { margin-top: 2px; background: #ffe9a8; padding: 1px 2px; font-weight: bold; }\n\
         .verdict-fine { color: #2e7d32; font-weight: bold; }\n\
         .verdict-caution { color: #b35c00; font-weight: bold; }\n\
         .verdict-do_not_give { color: #b00020; font-weight: bold; }\n\
         .safety td, .safety th { border: 1px solid #bbb; padding: 1px 5px; text-align: right; }\n\
         .notes { font-size: 10px; color: #444; }\n\
         .check-box { display: inline-block; width: 9px; height: 9px; border: 1px solid #555; margin-right: 3px; vertical-align: -1px; }\n\
         @media print { .cal { page-break-inside: auto; } .cal tr { page-break-inside: avoid; } }\n\
         </style>\n</head>\n<body>\n",
    );
    s.push_str(&format!(
        "<h1>{}</h1>\n<table class=\"facts\">\n",
        escape(title)
    ));
    for (k, val) in facts {
        s.push_str(&format!(
            "<tr><td><b>{}</b></td><td>{}</td></tr>\n",
            escape(k),
            escape(val)
        ));
    }
    s.push_str(&format!(
        "<tr><td><b>verdict</b></td><td class=\"verdict-{}\">{}</td></tr>\n",
        v.outcome.key(),
        escape(&v.outcome.label().to_uppercase())
    ));
    if let Some(sg) = &v.suggestion {
        s.push_str(&format!(
            "<tr><td><b>label regimen</b></td><td>{} <i>({})</i></td></tr>\n",
            escape(&sg.lines.join("; ")),
            escape(&sg.source)
        ));
    }
    s.push_str("</table>\n");
    // Calendar from the Monday of the first week to the Sunday after the last day.
    let first = p.start.add_days(-(p.start.weekday() as i64));
    let end = p.start.add_days(p.weeks as i64 * 7);
    let last = end.add_days(-1);
    let last = last.add_days(6 - last.weekday() as i64);
    s.push_str("<h2>Injections and blood tests</h2>\n<table class=\"cal\">\n<tr><th style=\"width:48px\">week</th>");
    for d in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] {
        s.push_str(&format!("<th>{d}</th>"));
    }
    s.push_str("</tr>\n");
    let mut day = first;
    while day <= last {
        let week_of_therapy =
            (day.days_since_epoch() - p.start.days_since_epoch()).div_euclid(7) + 1;
        s.push_str(&format!(
            "<tr><td><b>{}</b></td>",
            if week_of_therapy >= 1 {
                week_of_therapy.to_string()
            } else {
                String::new()
            }
        ));
        for _ in 0..7 {
            let inside = day >= p.start && day < end;
            s.push_str(&format!(
                "<td{}>",
                if inside { "" } else { " class=\"out\"" }
            ));
            s.push_str(&format!(
                "<div class=\"date\">{} {}</div>",
                day.day,
                month_abbr(day.month)
            ));
            if inside {
                for visit in p.visits.iter().filter(|x| x.date == day) {
                    let short = if visit.what.contains("before") {
                        "ANC before 1st dose"
                    } else {
                        "blood test: ANC"
                    };
                    s.push_str(&format!("<div class=\"visit\">{short}</div>"));
                }
                for i in p.injections.iter().filter(|i| i.date == day) {
                    let class = site_area(i.site).split(' ').next().unwrap_or("");
                    s.push_str(&format!(
                        "<div class=\"inj\"><span class=\"check-box\"></span>{} {} mg <span class=\"site-{class}\">{}</span></div>",
                        hhmm(i.minute_of_day),
                        fmt_mg(i.dose_mg),
                        escape(i.site)
                    ));
                }
            }
            s.push_str("</td>");
            day = day.add_days(1);
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
    s.push_str("<h2>Blood tests (neutrophil count)</h2>\n<ul>\n");
    for visit in &p.visits {
        s.push_str(&format!(
            "<li>{} ({}): {}</li>\n",
            visit.date,
            visit.date.weekday_name(),
            escape(&visit.what)
        ));
    }
    for visit in &p.later_visits {
        s.push_str(&format!(
            "<li>{} ({}): {} <i>(after this plan)</i></li>\n",
            visit.date,
            visit.date.weekday_name(),
            escape(&visit.what)
        ));
    }
    s.push_str(&format!(
        "</ul>\n<p class=\"notes\">Source: {}</p>\n",
        escape(il1sim_core::clinical::calendar::ANC_SOURCE)
    ));
    let (header, rows) = safety_rows(t);
    s.push_str("<h2>Expected adverse events: % of patients with a new event in the week (placebo in brackets)</h2>\n<table class=\"safety\">\n<tr>");
    for h in &header {
        s.push_str(&format!("<th>{}</th>", escape(h)));
    }
    s.push_str("</tr>\n");
    for r in &rows {
        s.push_str("<tr>");
        for c in r {
            s.push_str(&format!("<td>{}</td>", escape(c)));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n<div class=\"notes\"><ul>\n");
    for (e, curve) in &t.events {
        s.push_str(&format!(
            "<li>{}: {} [{}]; assumption: {}</li>\n",
            escape(&e.name),
            escape(&curve.source),
            curve.status.label(),
            escape(&curve.assumption)
        ));
    }
    for n in notes {
        s.push_str(&format!("<li>{}</li>\n", escape(n)));
    }
    s.push_str(&format!(
        "</ul>\n<p><b>{}</b></p>\n</div>\n</body>\n</html>\n",
        escape(DISCLAIMER)
    ));
    s
}

fn month_abbr(m: u32) -> &'static str {
    [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(m - 1) as usize]
}

pub fn run(args: PlanArgs) -> Result<ExitCode, String> {
    let start = Date::parse(&args.start).map_err(|e| format!("--start {e}"))?;
    let minute = parse_time(&args.time)?;
    let l = load(&args.case)?;
    let v = evaluate(&l.rules, &l.case)?;
    if v.outcome == Outcome::DoNotGive {
        let why: Vec<String> = v
            .fired
            .iter()
            .filter(|r| r.outcome == Outcome::DoNotGive)
            .map(|r| format!("{} ({}): {}", r.title, r.source, r.reason))
            .collect();
        return Err(format!(
            "no plan: the rules say do not give this regimen:\n  {}\n(run `il1sim check` for the whole verdict)",
            why.join("\n  ")
        ));
    }
    let mut regimen = l.case.regimen.clone();
    let mut notes = l.notes.clone();
    notes.push("Times are floating local times (no time zone): the calendar shows them at that clock time wherever it is opened.".into());
    if let Some(sg) = &v.suggestion {
        if sg.interval_h > regimen.interval_h && !args.as_prescribed {
            notes.push(format!(
                "CrCl {} mL/min: doses every other day as the label suggests in severe renal impairment (Kineret US PI §2.4); the regimen was every {} h (--as-prescribed keeps it)",
                num(l.case.patient.crcl_ml_min, 1),
                num(regimen.interval_h, 2)
            ));
            regimen.interval_h = sg.interval_h;
        }
    }
    let p = plan(&l.case, &regimen, start, args.weeks, minute)
        .map_err(|e| format!("{}: {} is not allowed; {}", e.field, e.value, e.allowed))?;
    let t = l.safety.table(&l.case, &l.rules, args.weeks);
    let title = format!("Kineret ({}) injection plan: {}", l.rules.drug, l.origin);
    let mut plan_case = l.case.clone();
    plan_case.regimen = regimen;
    let facts = vec![
        ("patient".to_string(), format!("{}; {}", patient_line(&l.case), v.indication.title)),
        ("regimen".to_string(), regimen_line(&plan_case)),
        (
            "plan".to_string(),
            format!(
                "{} injections from {} ({}) for {} weeks, first at {} (floating local time); sites rotate: abdomen, thigh, upper arm, buttock, alternating sides",
                p.injections.len(),
                p.start,
                p.start.weekday_name(),
                p.weeks,
                hhmm(minute)
            ),
        ),
    ];
    let ics = to_ics(&p, "Kineret", &l.origin);
    let page = html(&title, &p, &v, &t, &facts, &notes);
    crate::output::ensure_dir(&args.out)?;
    let files = vec![
        (args.out.join("plan.ics"), ics.into_bytes()),
        (args.out.join("plan.html"), page.into_bytes()),
    ];
    crate::output::write_set_atomic(&files, &[])?;
    println!("il1sim plan: {}", l.origin);
    println!("  verdict     {}", v.outcome.label().to_uppercase());
    println!("  regimen     {}", regimen_line(&plan_case));
    println!(
        "  injections  {} from {} ({}) to {}, first at {}",
        p.injections.len(),
        p.start,
        p.start.weekday_name(),
        p.injections
            .last()
            .map_or("-".into(), |i| i.date.to_string()),
        hhmm(minute)
    );
    for i in p.injections.iter().take(4) {
        println!(
            "    {} {} {} {} mg  {}",
            i.date,
            i.date.weekday_name(),
            hhmm(i.minute_of_day),
            fmt_mg(i.dose_mg),
            i.site
        );
    }
    if p.injections.len() > 4 {
        println!("    ...");
    }
    println!("  blood tests (ANC):");
    for visit in &p.visits {
        println!(
            "    {} {}  {}",
            visit.date,
            visit.date.weekday_name(),
            visit.what
        );
    }
    for visit in &p.later_visits {
        println!(
            "    {} {}  {} (after this plan)",
            visit.date,
            visit.date.weekday_name(),
            visit.what
        );
    }
    for n in &notes {
        println!("  note: {n}");
    }
    for (path, _) in &files {
        println!("  wrote {}", path.display());
    }
    println!("{DISCLAIMER}");
    Ok(ExitCode::SUCCESS)
}
