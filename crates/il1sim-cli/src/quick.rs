//! The quick form of `simulate`: one regimen and one patient from command-line options,
//! turned into the same `Scenario` a scenario file produces (one set of checks for both).

use il1sim_core::dosing::{Administration, DoseAmount, Regimen, Repeat, HOURS_PER_DAY};
use il1sim_core::model::Model;
use il1sim_core::patient::{Patient, Sex};
use il1sim_core::scenario::Scenario;

/// Defaults of the quick form, shown in `--help` and echoed in the printed summary.
pub const DEFAULT_DAYS: f64 = 28.0;
pub const DEFAULT_WEIGHT_KG: f64 = 70.0;
pub const DEFAULT_AGE_Y: f64 = 50.0;
pub const DEFAULT_CRCL_ML_MIN: f64 = 100.0;

#[derive(clap::Args, Debug, Default, Clone)]
pub struct QuickArgs {
    /// Drug to give: anakinra, canakinumab or rilonacept [default: anakinra]
    #[arg(long, value_name = "NAME")]
    pub drug: Option<String>,
    /// Dose with unit: mg (e.g. 100mg) or mg/kg (e.g. 2mg/kg)
    #[arg(long, value_name = "AMOUNT")]
    pub dose: Option<String>,
    /// Cap for weight-based doses, in mg (e.g. 100mg)
    #[arg(long, value_name = "AMOUNT")]
    pub max_dose: Option<String>,
    /// Route: sc (subcutaneous) or iv [default: sc]
    #[arg(long, value_name = "ROUTE")]
    pub route: Option<String>,
    /// Intravenous administration (same as --route iv); with --infusion-hours an infusion
    #[arg(long)]
    pub iv: bool,
    /// Duration of each IV infusion in hours (h)
    #[arg(long, value_name = "HOURS", allow_negative_numbers = true)]
    pub infusion_hours: Option<f64>,
    /// Rate of each IV infusion in mg/h (the duration is dose / rate); instead of --infusion-hours
    #[arg(long, value_name = "MG_PER_H", allow_negative_numbers = true)]
    pub infusion_rate: Option<f64>,
    /// Dosing interval with unit: h, d, w or min (e.g. 24h, 2d, 8w) [default: 24h]
    #[arg(long, value_name = "DURATION")]
    pub every: Option<String>,
    /// Simulated duration in days; doses are given on every interval within it [default: 28]
    #[arg(long, value_name = "DAYS", allow_negative_numbers = true)]
    pub days: Option<f64>,
    /// Number of doses (default: every interval within --days)
    #[arg(long, value_name = "N")]
    pub doses: Option<u32>,
    /// First dose with unit, replacing the regular first dose (e.g. 200mg)
    #[arg(long, value_name = "AMOUNT")]
    pub loading_dose: Option<String>,
    /// Skip the dose(s) scheduled on this day (days counted from 1); repeatable
    #[arg(long = "missed-dose", value_name = "DAY")]
    pub missed_dose: Vec<u32>,
    /// Last day on which a dose is given (days counted from 1); therapy stops after it
    #[arg(long, value_name = "DAY")]
    pub stop_day: Option<u32>,
    /// Body weight in kg [default: 70]
    #[arg(long, value_name = "KG", allow_negative_numbers = true)]
    pub weight: Option<f64>,
    /// Age in years (below 18 the paediatric clearance model applies) [default: 50]
    #[arg(long, value_name = "YEARS", allow_negative_numbers = true)]
    pub age: Option<f64>,
    /// Sex: female or male [default: female]
    #[arg(long, value_name = "SEX")]
    pub sex: Option<String>,
    /// Creatinine clearance in mL/min (children: mL/min/1.73 m²) [default: 100]
    #[arg(long, value_name = "ML_MIN", allow_negative_numbers = true)]
    pub crcl: Option<f64>,
    /// Disease overlay of the model file (healthy, ra, caps, fcas, mws, nomid, sjia, aosd, dira,
    /// sepsis, mas in the bundled model; an unknown name lists what is allowed) [default: healthy]
    #[arg(long, value_name = "DISEASE")]
    pub disease: Option<String>,
    /// Start from the periodic steady state of the regimen (Newton on the dosing-interval map)
    #[arg(long)]
    pub steady_state: bool,
    /// Output grid step with unit (e.g. 1h, 30min) [default: 1h]
    #[arg(long, value_name = "DURATION")]
    pub output_interval: Option<String>,
}

impl QuickArgs {
    /// Names of quick-form options that were given (to refuse mixing with a scenario file).
    pub fn given(&self) -> Vec<&'static str> {
        let mut g = Vec::new();
        let flags: [(&str, bool); 21] = [
            ("--infusion-rate", self.infusion_rate.is_some()),
            ("--drug", self.drug.is_some()),
            ("--dose", self.dose.is_some()),
            ("--max-dose", self.max_dose.is_some()),
            ("--route", self.route.is_some()),
            ("--iv", self.iv),
            ("--infusion-hours", self.infusion_hours.is_some()),
            ("--every", self.every.is_some()),
            ("--days", self.days.is_some()),
            ("--doses", self.doses.is_some()),
            ("--loading-dose", self.loading_dose.is_some()),
            ("--missed-dose", !self.missed_dose.is_empty()),
            ("--stop-day", self.stop_day.is_some()),
            ("--weight", self.weight.is_some()),
            ("--age", self.age.is_some()),
            ("--sex", self.sex.is_some()),
            ("--crcl", self.crcl.is_some()),
            ("--disease", self.disease.is_some()),
            ("--steady-state", self.steady_state),
            ("--output-interval", self.output_interval.is_some()),
            ("", false),
        ];
        for (name, on) in flags {
            if on {
                g.push(name);
            }
        }
        g
    }
}

/// Parse a dose such as `100mg`, `100 mg`, `0.1g` or `2mg/kg`.
pub fn parse_amount(flag: &str, text: &str) -> Result<DoseAmount, String> {
    let t = text.trim().replace(' ', "");
    let allowed = "allowed: a number with mg, g or mg/kg, e.g. 100mg or 2mg/kg";
    let (number, unit) = split_unit(&t);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{flag} '{text}': not a dose; {allowed}"))?;
    let amount = match unit {
        "mg" => DoseAmount::Mg(value),
        "g" => DoseAmount::Mg(value * 1000.0),
        "mg/kg" => DoseAmount::MgPerKg {
            mg_per_kg: value,
            max_mg: None,
        },
        "" => return Err(format!("{flag} '{text}': a unit is needed; {allowed}")),
        other => {
            return Err(format!(
                "{flag} '{text}': unknown unit '{other}'; {allowed}"
            ))
        }
    };
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("{flag} '{text}': a dose must be > 0"));
    }
    Ok(amount)
}

/// Parse a duration such as `24h`, `2d`, `30min` into hours.
pub fn parse_duration(flag: &str, text: &str) -> Result<f64, String> {
    let t = text.trim().replace(' ', "");
    let allowed = "allowed: a number with h, d, w or min, e.g. 24h, 2d, 8w, 30min";
    let (number, unit) = split_unit(&t);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{flag} '{text}': not a duration; {allowed}"))?;
    let hours = match unit {
        "h" => value,
        "d" => value * HOURS_PER_DAY,
        "w" => value * 7.0 * HOURS_PER_DAY,
        "min" => value / 60.0,
        "" => return Err(format!("{flag} '{text}': a unit is needed; {allowed}")),
        other => {
            return Err(format!(
                "{flag} '{text}': unknown unit '{other}'; {allowed}"
            ))
        }
    };
    if !(hours.is_finite() && hours > 0.0) {
        return Err(format!("{flag} '{text}': must be > 0"));
    }
    Ok(hours)
}

fn split_unit(t: &str) -> (&str, &str) {
    let i = t
        .find(|c: char| c.is_ascii_alphabetic() || c == '/')
        .unwrap_or(t.len());
    (&t[..i], &t[i..])
}

/// Build the scenario the quick-form options describe.
pub fn scenario(q: &QuickArgs, model: &Model) -> Result<Scenario, String> {
    let dose_text = q
        .dose
        .as_deref()
        .ok_or("the quick form needs --dose (e.g. --dose 100mg), or give a scenario file")?;
    let mut dose = parse_amount("--dose", dose_text)?;
    if let Some(m) = &q.max_dose {
        let cap = match parse_amount("--max-dose", m)? {
            DoseAmount::Mg(mg) => mg,
            DoseAmount::MgPerKg { .. } => {
                return Err(format!("--max-dose '{m}': give the cap in mg, e.g. 100mg"))
            }
        };
        match dose {
            DoseAmount::MgPerKg { mg_per_kg, .. } => {
                dose = DoseAmount::MgPerKg {
                    mg_per_kg,
                    max_mg: Some(cap),
                }
            }
            DoseAmount::Mg(_) => return Err("--max-dose only applies to mg/kg doses".into()),
        }
    }
    let route = match (q.route.as_deref(), q.iv) {
        (None, false) | (Some("sc"), false) => "sc",
        (None, true) | (Some("iv"), _) => "iv",
        (Some("sc"), true) => return Err("--route sc contradicts --iv".into()),
        (Some(other), _) => return Err(format!("--route '{other}': allowed: sc, iv")),
    };
    let infusion_hours = match (q.infusion_hours, q.infusion_rate) {
        (Some(_), Some(_)) => {
            return Err("give --infusion-hours or --infusion-rate, not both".into())
        }
        (None, Some(rate)) if !(rate.is_finite() && rate > 0.0) => {
            return Err(format!(
                "--infusion-rate {rate}: an infusion rate must be > 0 mg/h"
            ))
        }
        (None, Some(rate)) => Some(dose.mg(q.weight.unwrap_or(DEFAULT_WEIGHT_KG)) / rate),
        (hours, None) => hours,
    };
    let administration = match (route, infusion_hours) {
        ("sc", None) => Administration::Subcutaneous,
        ("sc", Some(_)) => {
            return Err("--infusion-hours and --infusion-rate need --iv (or --route iv)".into())
        }
        (_, None) => Administration::IvBolus,
        (_, Some(h)) => Administration::IvInfusion { duration_h: h },
    };
    let interval_h = match &q.every {
        Some(e) => parse_duration("--every", e)?,
        None => HOURS_PER_DAY,
    };
    let days = q.days.unwrap_or(DEFAULT_DAYS);
    if !(days.is_finite() && days > 0.0 && days <= 3650.0) {
        return Err(format!("--days {days}: allowed: > 0 and <= 3650"));
    }
    let duration_h = days * HOURS_PER_DAY;
    let repeat = match q.doses {
        Some(n) => Repeat::Count(n),
        None => Repeat::Count(((duration_h / interval_h) - 1e-9).floor() as u32 + 1),
    };
    let sex = match q.sex.as_deref() {
        None => Sex::Female,
        Some(s) => Sex::parse(s).ok_or_else(|| format!("--sex '{s}': allowed: female, male"))?,
    };
    let patient = Patient {
        weight_kg: q.weight.unwrap_or(DEFAULT_WEIGHT_KG),
        age_y: q.age.unwrap_or(DEFAULT_AGE_Y),
        sex,
        crcl_ml_min: q.crcl.unwrap_or(DEFAULT_CRCL_ML_MIN),
        disease: q
            .disease
            .clone()
            .unwrap_or_else(|| model.default_disease.clone()),
    };
    patient
        .check(model, "patient")
        .map_err(|e| flagify(&e.to_string()))?;
    let loading_dose = q
        .loading_dose
        .as_deref()
        .map(|l| parse_amount("--loading-dose", l))
        .transpose()?;
    let drug = q.drug.clone().unwrap_or_else(|| "anakinra".into());
    if model.drug(&drug).is_none() {
        let names: Vec<&str> = model.drugs.iter().map(|d| d.name.as_str()).collect();
        return Err(format!("--drug '{drug}': allowed: {}", names.join(", ")));
    }
    let regimen = Regimen {
        name: format!(
            "{} {} {}",
            dose_label(&dose),
            administration.label(),
            every_label(interval_h)
        ),
        drug,
        dose,
        administration,
        start_h: 0.0,
        interval_h,
        repeat,
        loading_dose,
        missed_days: q.missed_dose.clone(),
        late_doses: vec![],
        extra_doses: vec![],
        stop_day: q.stop_day,
        steady_state: q.steady_state,
        with: Vec::new(),
    };
    regimen
        .check("regimen")
        .map_err(|e| flagify(&e.to_string()))?;
    let output_interval_h = match &q.output_interval {
        Some(o) => parse_duration("--output-interval", o)?,
        None => 1.0,
    };
    Ok(Scenario {
        name: "quick".into(),
        description: "regimen given on the command line".into(),
        duration_h,
        output_interval_h,
        patient,
        regimens: vec![regimen],
    })
}

fn dose_label(d: &DoseAmount) -> String {
    d.label().replace(' ', "")
}

fn every_label(h: f64) -> String {
    if (h / HOURS_PER_DAY).fract() == 0.0 && h >= HOURS_PER_DAY {
        format!("every {} d", h / HOURS_PER_DAY)
    } else {
        format!("every {h} h")
    }
}

/// Map core field names to the options a user typed.
fn flagify(message: &str) -> String {
    message
        .replace("patient.weight", "--weight")
        .replace("patient.age", "--age")
        .replace("patient.crcl", "--crcl")
        .replace("patient.disease", "--disease")
        .replace("regimen.dose", "--dose")
        .replace("regimen.interval", "--every")
        .replace("regimen.infusion_hours", "--infusion-hours")
        .replace("regimen.doses", "--doses")
        .replace("regimen.missed_days", "--missed-dose")
        .replace("regimen.stop_day", "--stop-day")
        .replace("regimen.loading_dose", "--loading-dose")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_durations_need_units() {
        assert_eq!(
            parse_amount("--dose", "100mg").unwrap(),
            DoseAmount::Mg(100.0)
        );
        assert_eq!(
            parse_amount("--dose", "2 mg/kg").unwrap(),
            DoseAmount::MgPerKg {
                mg_per_kg: 2.0,
                max_mg: None
            }
        );
        assert!(parse_amount("--dose", "100")
            .unwrap_err()
            .contains("a unit is needed"));
        assert!(parse_amount("--dose", "0mg").unwrap_err().contains("> 0"));
        assert_eq!(parse_duration("--every", "2d").unwrap(), 48.0);
        assert!(parse_duration("--every", "24").is_err());
        assert!(parse_duration("--every", "24 fortnights")
            .unwrap_err()
            .contains("unknown unit"));
    }

    #[test]
    fn quick_form_builds_daily_regimen_over_days() {
        let m = il1sim_core::il1_model();
        let q = QuickArgs {
            dose: Some("100mg".into()),
            days: Some(28.0),
            disease: Some("ra".into()),
            ..Default::default()
        };
        let s = scenario(&q, &m).unwrap();
        assert_eq!(s.regimens[0].repeat, Repeat::Count(28));
        let q = QuickArgs {
            dose: Some("100mg".into()),
            crcl: Some(-5.0),
            ..Default::default()
        };
        let e = scenario(&q, &m).unwrap_err();
        assert!(e.contains("--crcl = -5 mL/min"), "{e}");
        let q = QuickArgs {
            dose: Some("100mg".into()),
            disease: Some("gout".into()),
            ..Default::default()
        };
        let e = scenario(&q, &m).unwrap_err();
        assert!(e.contains("--disease"), "{e}");
        // The allowed names come from the model file's overlays.
        for d in m.disease_names() {
            assert!(e.contains(&d), "{e} does not list {d}");
        }
        for d in [
            "healthy", "ra", "caps", "fcas", "mws", "nomid", "sjia", "aosd", "dira", "sepsis",
            "mas",
        ] {
            let q = QuickArgs {
                dose: Some("100mg".into()),
                disease: Some(d.into()),
                ..Default::default()
            };
            assert!(scenario(&q, &m).is_ok(), "--disease {d}");
        }
    }
}
