//! `il1sim check`: is this regimen right for this patient, and why. Reads a patient file (or
//! the quick form's options), evaluates the rules (`il1sim_core::clinical::check`), and prints
//! the verdict, every rule that fired with its source, the label regimen for the patient and
//! the expected adverse events week by week; `--json` for machines.

use clap::Args;
use il1sim_core::clinical::case::ClinicalCase;
use il1sim_core::clinical::check::{evaluate, Verdict};
use il1sim_core::clinical::patient_file::parse_patient_file;
use il1sim_core::clinical::rules::RuleSet;
use il1sim_core::clinical::safety::{SafetyData, SafetyTable};
use il1sim_core::dosing::regimen::{Administration, Regimen};
use il1sim_core::model::patient::{Patient, Sex};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The disclaimer every clinical output carries.
pub const DISCLAIMER: &str = "il1sim supports and does not replace clinical judgement; the \
label's advice (Kineret US PI, EU SmPC) comes first.";

/// Where the case, the rules and the safety data come from (shared by `check` and `plan`).
#[derive(Args, Debug, Clone)]
pub struct CaseArgs {
    /// Patient file (a scenario file with a [clinical] table, e.g. patients/nomid-child.toml);
    /// or give the patient with the options below
    #[arg(value_name = "PATIENT_FILE")]
    pub patient: Option<PathBuf>,
    /// Indication: ra, nomid, mws, fcas, caps, dira, stills, sjia, aosd (labelled); mas, sepsis
    /// (not labelled); common spellings work ("rheumatoid arthritis", "Still's disease")
    #[arg(long, value_name = "NAME")]
    pub indication: Option<String>,
    /// Body weight (kg)
    #[arg(long, value_name = "KG")]
    pub weight: Option<f64>,
    /// Age (years) [default: 50, said in the output]
    #[arg(long, value_name = "YEARS")]
    pub age: Option<f64>,
    /// Sex (female, male; used by the model only) [default: female]
    #[arg(long, value_name = "SEX")]
    pub sex: Option<String>,
    /// Creatinine clearance (mL/min; children: mL/min/1.73 m²) [default: 100, said in the output]
    #[arg(long, value_name = "ML_MIN")]
    pub crcl: Option<f64>,
    /// Co-medications, comma-separated; generic or brand names (methotrexate, MTX, Enbrel, ...)
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub comedication: Vec<String>,
    /// Yes/no conditions that apply, comma-separated (active_infection, tb_screened, pregnant,
    /// haemodialysis, continuing, ...; an unknown name lists them)
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub condition: Vec<String>,
    /// Absolute neutrophil count (10⁹/L)
    #[arg(long, value_name = "1E9_PER_L")]
    pub anc: Option<f64>,
    /// Drug (anakinra, or Kineret) [default: anakinra]
    #[arg(long, value_name = "NAME")]
    pub drug: Option<String>,
    /// Dose with its unit: 100mg, 2mg/kg
    #[arg(long, value_name = "DOSE")]
    pub dose: Option<String>,
    /// Dosing interval with its unit: 24h, 12h, 2d [default: 24h]
    #[arg(long, value_name = "INTERVAL")]
    pub every: Option<String>,
    /// Route: sc or iv [default: sc]
    #[arg(long, value_name = "ROUTE")]
    pub route: Option<String>,
    /// Rules file [default: the bundled rules/kineret.toml]
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Safety-over-time file [default: the bundled rules/kineret-safety.toml]
    #[arg(long, value_name = "FILE")]
    pub safety: Option<PathBuf>,
    /// Model file [default: the bundled models/il1.toml]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub case: CaseArgs,
    /// Weeks of expected adverse events to show
    #[arg(long, default_value_t = 12, value_name = "WEEKS")]
    pub weeks: u32,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

/// A loaded case with its rules and safety data, and notes on defaults taken.
pub struct Loaded {
    pub rules: RuleSet,
    pub safety: SafetyData,
    pub case: ClinicalCase,
    /// Where the case came from (the file, or "command line").
    pub origin: String,
    pub notes: Vec<String>,
}

fn read(path: &Path, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

/// Load rules, safety data and the case from a patient file or the quick-form options.
pub fn load(a: &CaseArgs) -> Result<Loaded, String> {
    let model = crate::model_file::load_model(a.model.as_deref())?;
    let rules = match &a.rules {
        None => RuleSet::kineret(),
        Some(p) => RuleSet::parse(&read(p, "rules file")?, &p.display().to_string())
            .map_err(|e| e.to_string())?,
    };
    let safety = match &a.safety {
        None => SafetyData::parse(
            il1sim_core::clinical::safety::KINERET_SAFETY_TOML,
            "rules/kineret-safety.toml (bundled)",
            &rules,
        )
        .map_err(|e| e.to_string())?,
        Some(p) => SafetyData::parse(&read(p, "safety file")?, &p.display().to_string(), &rules)
            .map_err(|e| e.to_string())?,
    };
    let mut notes = Vec::new();
    let quick_given: Vec<&str> = [
        ("--indication", a.indication.is_some()),
        ("--weight", a.weight.is_some()),
        ("--age", a.age.is_some()),
        ("--sex", a.sex.is_some()),
        ("--crcl", a.crcl.is_some()),
        ("--comedication", !a.comedication.is_empty()),
        ("--condition", !a.condition.is_empty()),
        ("--anc", a.anc.is_some()),
        ("--drug", a.drug.is_some()),
        ("--dose", a.dose.is_some()),
        ("--every", a.every.is_some()),
        ("--route", a.route.is_some()),
    ]
    .iter()
    .filter(|(_, g)| *g)
    .map(|(f, _)| *f)
    .collect();
    let (case, origin) = if let Some(path) = &a.patient {
        if !quick_given.is_empty() {
            return Err(format!(
                "give a patient file or the patient options, not both ({} with {})",
                quick_given.join(", "),
                path.display()
            ));
        }
        let text = read(path, "patient file")?;
        let origin = path.display().to_string();
        let case = parse_patient_file(&text, &origin, &model, &rules).map_err(|e| e.to_string())?;
        (case, origin)
    } else {
        let need = |v: bool, flag: &str| {
            if v {
                Ok(())
            } else {
                Err(format!(
                    "{flag} is needed: give a patient file (patients/ra-adult.toml) or at least \
                     --indication, --weight and --dose"
                ))
            }
        };
        need(a.indication.is_some(), "--indication")?;
        need(a.weight.is_some(), "--weight")?;
        need(a.dose.is_some(), "--dose")?;
        let indication = rules
            .indication(a.indication.as_deref().unwrap_or_default())
            .map_err(|e| format!("--indication: {e}"))?
            .clone();
        let drug = rules
            .drug_name(a.drug.as_deref().unwrap_or("anakinra"))
            .map_err(|e| format!("--drug: {e}"))?
            .to_string();
        let sex = match &a.sex {
            None => Sex::Female,
            Some(s) => Sex::parse(s)
                .ok_or_else(|| format!("--sex '{s}': not allowed; allowed: female, male"))?,
        };
        let age = a.age.unwrap_or_else(|| {
            notes.push("age not given: taken as 50 years (the age rules use it)".into());
            50.0
        });
        let crcl = a.crcl.unwrap_or_else(|| {
            notes.push("CrCl not given: taken as 100 mL/min (the renal rules use it)".into());
            100.0
        });
        let patient = Patient {
            weight_kg: a.weight.unwrap_or_default(),
            age_y: age,
            sex,
            crcl_ml_min: crcl,
            disease: indication.model_disease.clone(),
        };
        patient.check(&model, "patient").map_err(|e| {
            let flag = match e.field.as_str() {
                "patient.weight" => "--weight",
                "patient.age" => "--age",
                "patient.crcl" => "--crcl",
                _ => "--indication",
            };
            format!("{flag} {}: not allowed; {}", e.value, e.allowed)
        })?;
        let dose = crate::quick::parse_amount("--dose", a.dose.as_deref().unwrap_or_default())?;
        let every = match &a.every {
            Some(t) => crate::quick::parse_duration("--every", t)?,
            None => 24.0,
        };
        let administration = match a.route.as_deref().unwrap_or("sc") {
            "sc" => Administration::Subcutaneous,
            "iv" => Administration::IvBolus,
            other => return Err(format!("--route '{other}': not allowed; allowed: sc, iv")),
        };
        // Four weeks of doses: the check is about the regimen, not its length.
        let count = ((28.0 * 24.0) / every).ceil().max(1.0) as u32;
        let regimen = Regimen::repeated(
            &format!("{} every {} h", dose.label(), num(every, 3)),
            &drug,
            dose,
            administration,
            every,
            count,
        );
        regimen
            .check("regimen")
            .map_err(|e| format!("--dose/--every: {} is not allowed; {}", e.value, e.allowed))?;
        let mut comedications = Vec::new();
        for m in &a.comedication {
            let med = rules
                .medicine(m)
                .map_err(|e| format!("--comedication: {e}"))?;
            if !comedications.contains(&med.name) {
                comedications.push(med.name.clone());
            }
        }
        let mut conditions = BTreeMap::new();
        for c in &a.condition {
            let c = c.trim();
            if !rules.conditions.contains_key(c) {
                let known: Vec<&str> = rules.conditions.keys().map(String::as_str).collect();
                return Err(format!(
                    "--condition '{c}': not allowed; allowed: {}",
                    known.join(", ")
                ));
            }
            conditions.insert(c.to_string(), true);
        }
        if let Some(v) = a.anc {
            let max = il1sim_core::clinical::patient_file::MAX_ANC_1E9_PER_L;
            if !(v.is_finite() && (0.0..=max).contains(&v)) {
                return Err(format!(
                    "--anc {v}: not allowed; an absolute neutrophil count in 10⁹/L is 0 to {max} \
                     (1500 cells/µL is 1.5)"
                ));
            }
        }
        let case = ClinicalCase {
            patient,
            indication: indication.name.clone(),
            comedications,
            conditions,
            anc_1e9_per_l: a.anc,
            regimen,
        };
        (case, "command line".to_string())
    };
    Ok(Loaded {
        rules,
        safety,
        case,
        origin,
        notes,
    })
}

/// A number with at most `digits` decimals and no needless zeros.
pub fn num(x: f64, digits: usize) -> String {
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The regimen in words: `2 mg/kg SC every 24 h (40 mg on a dosing day, 2 mg/kg)`.
pub fn regimen_line(case: &ClinicalCase) -> String {
    format!(
        "{} {} every {} h = {} mg on a dosing day ({} mg/kg)",
        case.regimen.dose.label(),
        case.regimen.administration.label(),
        num(case.regimen.interval_h, 2),
        num(case.day_mg(), 1),
        num(case.day_mg_per_kg(), 2)
    )
}

pub fn patient_line(case: &ClinicalCase) -> String {
    let p = &case.patient;
    format!(
        "{} kg, {} y, {}, CrCl {} mL/min",
        num(p.weight_kg, 1),
        num(p.age_y, 1),
        p.sex.label(),
        num(p.crcl_ml_min, 1)
    )
}

fn pct(x: Option<f64>) -> String {
    match x {
        None => "–".into(),
        Some(v) if v < 0.995 => format!("{v:.2}"),
        Some(v) => format!("{v:.1}"),
    }
}

/// The weekly safety table as text rows (a header, then one row a week).
pub fn safety_rows(t: &SafetyTable) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header = vec!["week".to_string()];
    for (e, _) in &t.events {
        header.push(format!("{} new (placebo)", e.short));
        if e.duration_days.is_some() {
            header.push(format!("{} ongoing", e.short));
        }
    }
    let rows = t
        .weeks
        .iter()
        .enumerate()
        .map(|(w, figs)| {
            let mut row = vec![(w + 1).to_string()];
            for ((e, _), f) in t.events.iter().zip(figs) {
                row.push(format!("{} ({})", pct(f.new_pct), pct(f.new_placebo_pct)));
                if e.duration_days.is_some() {
                    row.push(pct(f.ongoing_pct));
                }
            }
            row
        })
        .collect();
    (header, rows)
}

fn table_text(header: &[String], rows: &[Vec<String>]) -> String {
    let n = header.len();
    let mut width = vec![0usize; n];
    for r in std::iter::once(header).chain(rows.iter().map(|r| r.as_slice())) {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |r: &[String]| {
        r.iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = width[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut s = String::new();
    s.push_str(&format!("  {}\n", line(header)));
    for r in rows {
        s.push_str(&format!("  {}\n", line(r)));
    }
    s
}

/// The check as text.
pub fn text(l: &Loaded, v: &Verdict, t: &SafetyTable) -> String {
    let c = &l.case;
    let mut s = String::new();
    s.push_str(&format!("il1sim check: {}\n", l.origin));
    s.push_str(&format!("  patient         {}\n", patient_line(c)));
    s.push_str(&format!(
        "  indication      {} ({})\n",
        v.indication.name, v.indication.title
    ));
    s.push_str(&format!(
        "  regimen         {} {}\n",
        l.rules.drug,
        regimen_line(c)
    ));
    s.push_str(&format!(
        "  co-medications  {}\n",
        if c.comedications.is_empty() {
            "none".into()
        } else {
            c.comedications.join(", ")
        }
    ));
    let yes: Vec<&str> = c
        .conditions
        .iter()
        .filter(|(_, v)| **v)
        .map(|(k, _)| k.as_str())
        .collect();
    s.push_str(&format!(
        "  conditions      {}; ANC {}\n",
        if yes.is_empty() {
            "none".into()
        } else {
            yes.join(", ")
        },
        c.anc_1e9_per_l
            .map_or("not given".into(), |a| format!("{} × 10⁹/L", num(a, 2)))
    ));
    for n in &l.notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    s.push_str(&format!(
        "\nVERDICT: {}\n",
        v.outcome.label().to_uppercase()
    ));
    let worst: Vec<&str> = v
        .fired
        .iter()
        .filter(|r| {
            r.outcome == v.outcome && v.outcome != il1sim_core::clinical::rules::Outcome::Fine
        })
        .map(|r| r.title.as_str())
        .collect();
    if !worst.is_empty() {
        s.push_str(&format!("  because: {}\n", worst.join("; ")));
    }
    s.push_str(&format!(
        "\nRules that fired ({} of {}), worst first:\n",
        v.fired.len(),
        l.rules.rules.len()
    ));
    let mut fired: Vec<_> = v.fired.iter().collect();
    fired.sort_by_key(|r| std::cmp::Reverse(r.outcome));
    for r in fired {
        s.push_str(&format!(
            "  [{}] {} ({})\n",
            r.outcome.label(),
            r.title,
            r.id
        ));
        s.push_str(&format!("      {}\n", r.reason));
        s.push_str(&format!(
            "      source: {} [{}]\n",
            r.source,
            r.status.label()
        ));
    }
    match &v.suggestion {
        Some(sg) => {
            s.push_str(&format!(
                "\nLabel regimen for this patient ({}):\n",
                sg.source
            ));
            for line in &sg.lines {
                s.push_str(&format!("  {line}\n"));
            }
        }
        None => s.push_str("\nLabel regimen: none (not a labelled indication).\n"),
    }
    let (header, rows) = safety_rows(t);
    s.push_str(&format!(
        "\nExpected adverse events, % of patients with a new event in each week of therapy \
         (placebo in brackets; – = no data):\n{}",
        table_text(&header, &rows)
    ));
    s.push_str("  Curves (rules/kineret-safety.toml):\n");
    for (e, curve) in &t.events {
        s.push_str(&format!(
            "    {}: {} [{}]; assumption: {}\n",
            e.name,
            curve.source,
            curve.status.label(),
            curve.assumption
        ));
    }
    s.push_str("  All curves are from adults with RA on 100 mg/day; elsewhere they are an approximation (assumption).\n");
    s.push_str(&format!("\n{DISCLAIMER}\n"));
    s
}

/// The check as JSON.
pub fn to_json(l: &Loaded, v: &Verdict, t: &SafetyTable) -> serde_json::Value {
    let c = &l.case;
    let events: Vec<_> = t
        .events
        .iter()
        .enumerate()
        .map(|(k, (e, curve))| {
            json!({
                "key": e.key,
                "name": e.name,
                "source": curve.source,
                "status": curve.status.label(),
                "assumption": curve.assumption,
                "weeks": t.weeks.iter().enumerate().map(|(w, f)| json!({
                    "week": w + 1,
                    "new_pct": f[k].new_pct,
                    "new_placebo_pct": f[k].new_placebo_pct,
                    "ongoing_pct": f[k].ongoing_pct,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "origin": l.origin,
        "verdict": v.outcome.key(),
        "patient": {
            "weight_kg": c.patient.weight_kg,
            "age_y": c.patient.age_y,
            "sex": c.patient.sex.label(),
            "crcl_ml_min": c.patient.crcl_ml_min,
        },
        "indication": v.indication.name,
        "comedications": c.comedications,
        "conditions": c.conditions,
        "anc_1e9_per_l": c.anc_1e9_per_l,
        "regimen": {
            "drug": l.rules.drug,
            "dose": c.regimen.dose.label(),
            "route": c.route(),
            "interval_h": c.regimen.interval_h,
            "day_mg": v.day_mg,
            "day_mg_per_kg": v.day_mg_per_kg,
        },
        "fired": v.fired.iter().map(|r| json!({
            "id": r.id,
            "title": r.title,
            "outcome": r.outcome.key(),
            "reason": r.reason,
            "source": r.source,
            "status": r.status.label(),
        })).collect::<Vec<_>>(),
        "suggestion": v.suggestion.as_ref().map(|s| json!({
            "start_day_mg": s.start_day_mg,
            "interval_h": s.interval_h,
            "max_day_mg": s.max_day_mg,
            "lines": s.lines,
            "source": s.source,
        })),
        "safety": events,
        "notes": l.notes,
        "disclaimer": DISCLAIMER,
    })
}

pub fn run(args: CheckArgs) -> Result<ExitCode, String> {
    if !(1..=il1sim_core::clinical::calendar::MAX_PLAN_WEEKS).contains(&args.weeks) {
        return Err(format!(
            "--weeks {}: not allowed; 1 to {} weeks",
            args.weeks,
            il1sim_core::clinical::calendar::MAX_PLAN_WEEKS
        ));
    }
    let l = load(&args.case)?;
    let v = evaluate(&l.rules, &l.case)?;
    let t = l.safety.table(&l.case, &l.rules, args.weeks);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&l, &v, &t)).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", text(&l, &v, &t));
    }
    Ok(ExitCode::SUCCESS)
}
