//! The quick form of `simulate`: one regimen and one patient from command-line options,
//! turned into the same `Scenario` a scenario file produces (one set of checks for both).

use il1sim_core::dosing::regimen::{
    Administration, DoseAmount, LateDose, Regimen, Repeat, HOURS_PER_DAY, MAX_DOSES,
};
use il1sim_core::exchange::scenario::{Scenario, MAX_OUTPUT_POINTS};
use il1sim_core::model::definition::Model;
use il1sim_core::model::patient::{Patient, Sex};

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
    // allow_hyphen_values: a negative value ("-100mg") reaches our own check and message
    // instead of clap's "unexpected argument"; the same on every option taking a value.
    #[arg(long, value_name = "AMOUNT", allow_hyphen_values = true)]
    pub dose: Option<String>,
    /// Cap for weight-based doses (--dose and --loading-dose in mg/kg), in mg (e.g. 100mg)
    #[arg(long, value_name = "AMOUNT", allow_hyphen_values = true)]
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
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub every: Option<String>,
    /// Simulated duration in days; doses are given on every interval within it [default: 28]
    #[arg(long, value_name = "DAYS", allow_negative_numbers = true)]
    pub days: Option<f64>,
    /// Number of doses, all within --days (default: every interval within --days)
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = dose_count)]
    pub doses: Option<u32>,
    /// First dose with unit, replacing the regular first dose (e.g. 200mg or 4mg/kg)
    #[arg(long, value_name = "AMOUNT", allow_hyphen_values = true)]
    pub loading_dose: Option<String>,
    /// Skip the dose(s) scheduled on this day (days counted from 1); repeatable
    #[arg(long = "missed-dose", value_name = "DAY", allow_negative_numbers = true, value_parser = day_number)]
    pub missed_dose: Vec<u32>,
    /// Give the first dose scheduled on DAY later by HOURS (e.g. 12:6 is 6 h late on day 12;
    /// shorter than the interval); repeatable
    #[arg(long = "late-dose", value_name = "DAY:HOURS", allow_hyphen_values = true, value_parser = late_dose)]
    pub late_dose: Vec<LateDose>,
    /// Last day on which a dose is given (days counted from 1); therapy stops after it
    #[arg(long, value_name = "DAY", allow_negative_numbers = true, value_parser = day_number)]
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
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub output_interval: Option<String>,
}

impl QuickArgs {
    /// Names of quick-form options that were given (to refuse mixing with a scenario file).
    pub fn given(&self) -> Vec<&'static str> {
        let mut g = Vec::new();
        let flags: [(&str, bool); 22] = [
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
            ("--late-dose", !self.late_dose.is_empty()),
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

/// A 1-based day number (`--missed-dose`, `--stop-day`). Parsed here rather than by clap's
/// u32 parser so that `-3` or `0` get a message saying what is allowed.
pub fn day_number(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|d| *d >= 1)
        .ok_or_else(|| {
            format!("'{text}' is not a day; allowed: a whole number >= 1 (days are counted from 1)")
        })
}

/// A late dose (`--late-dose DAY:HOURS`): the first dose scheduled on DAY, HOURS late.
pub fn late_dose(text: &str) -> Result<LateDose, String> {
    let err = || {
        format!(
            "'{text}' is not a late dose; allowed: DAY:HOURS, a whole day >= 1 and a delay > 0 \
             h, e.g. 12:6"
        )
    };
    let (day, hours) = text.trim().split_once(':').ok_or_else(err)?;
    let day = day_number(day).map_err(|_| err())?;
    let delay_h: f64 = hours.trim().parse().map_err(|_| err())?;
    if !(delay_h.is_finite() && delay_h > 0.0) {
        return Err(err());
    }
    Ok(LateDose {
        day,
        delay_h,
        dose: 1,
    })
}

/// A number of doses (`--doses`), at least 1; see [`day_number`] for why it is parsed here.
pub fn dose_count(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| format!("'{text}' is not a number of doses; allowed: a whole number >= 1"))
}

/// Parse a dose such as `100mg`, `100 mg`, `0.1g`, `1e2mg` or `2mg/kg`.
pub fn parse_amount(flag: &str, text: &str) -> Result<DoseAmount, String> {
    let t = text.trim().replace(' ', "");
    let allowed = "allowed: a number > 0 with mg, g or mg/kg, e.g. 100mg or 2mg/kg";
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
        return Err(format!("{flag} '{text}': a dose must be > 0; {allowed}"));
    }
    Ok(amount)
}

/// Parse a duration such as `24h`, `2d`, `30min` or `1e-3h` into hours.
pub fn parse_duration(flag: &str, text: &str) -> Result<f64, String> {
    let t = text.trim().replace(' ', "");
    let allowed = "allowed: a number > 0 with h, d, w or min, e.g. 24h, 2d, 8w, 30min";
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
        return Err(format!("{flag} '{text}': must be > 0; {allowed}"));
    }
    Ok(hours)
}

/// Split `1.5e-3mg/kg` into the number (`1.5e-3`) and the unit (`mg/kg`). The number is the
/// longest prefix of the form sign, digits, point, digits, and an exponent `e`/`E` with an
/// optional sign and at least one digit; an `e` not followed by digits starts the unit.
fn split_unit(t: &str) -> (&str, &str) {
    let b = t.as_bytes();
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    i = digits(i);
    if i < b.len() && b[i] == b'.' {
        i = digits(i + 1);
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let k = digits(j);
        if k > j {
            i = k;
        }
    }
    (&t[..i], &t[i..])
}

/// Build the scenario the quick-form options describe.
pub fn scenario(q: &QuickArgs, model: &Model) -> Result<Scenario, String> {
    let dose_text = q
        .dose
        .as_deref()
        .ok_or("the quick form needs --dose (e.g. --dose 100mg), or give a scenario file")?;
    let mut dose = parse_amount("--dose", dose_text)?;
    let mut loading_dose = q
        .loading_dose
        .as_deref()
        .map(|l| parse_amount("--loading-dose", l))
        .transpose()?;
    if let Some(m) = &q.max_dose {
        let cap = match parse_amount("--max-dose", m)? {
            DoseAmount::Mg(mg) => mg,
            DoseAmount::MgPerKg { .. } => {
                return Err(format!("--max-dose '{m}': give the cap in mg, e.g. 100mg"))
            }
        };
        // The cap applies to every weight-based dose, the loading dose included (--help).
        let capped = |d: DoseAmount| match d {
            DoseAmount::MgPerKg { mg_per_kg, .. } => DoseAmount::MgPerKg {
                mg_per_kg,
                max_mg: Some(cap),
            },
            mg => mg,
        };
        let weight_based = |d: &DoseAmount| matches!(d, DoseAmount::MgPerKg { .. });
        if !weight_based(&dose) && !loading_dose.as_ref().is_some_and(weight_based) {
            return Err(format!(
                "--max-dose '{m}': only applies to mg/kg doses (--dose or --loading-dose in mg/kg)"
            ));
        }
        dose = capped(dose);
        loading_dose = loading_dose.map(capped);
    }
    let route = match (q.route.as_deref(), q.iv) {
        (None, false) | (Some("sc"), false) => "sc",
        (None, true) | (Some("iv"), _) => "iv",
        (Some("sc"), true) => return Err("--route sc contradicts --iv".into()),
        (Some(other), _) => return Err(format!("--route '{other}': allowed: sc, iv")),
    };
    let infusion = match (q.infusion_hours, q.infusion_rate) {
        (Some(_), Some(_)) => {
            return Err("give --infusion-hours or --infusion-rate, not both".into())
        }
        (None, Some(rate)) if !(rate.is_finite() && rate > 0.0) => {
            return Err(format!(
                "--infusion-rate {rate}: an infusion rate must be > 0 mg/h"
            ))
        }
        // Each dose runs for its own amount / rate (a loading dose longer), as in scenario files.
        (None, Some(rate)) => Some(Administration::IvInfusionAtRate { mg_per_h: rate }),
        (Some(hours), None) => Some(Administration::IvInfusion { duration_h: hours }),
        (None, None) => None,
    };
    let administration = match (route, infusion) {
        ("sc", None) => Administration::Subcutaneous,
        ("sc", Some(_)) => {
            return Err("--infusion-hours and --infusion-rate need --iv (or --route iv)".into())
        }
        (_, None) => Administration::IvBolus,
        (_, Some(infusion)) => infusion,
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
    // Doses that fall before the end: 0, τ, 2τ, ... < duration. The 1e-9 keeps a dose that
    // falls on the end (28 days of 24 h) out despite rounding in the division; a dose then
    // would act only after the simulation. Counted in f64 so that a mistyped interval
    // (1e-6 h) is reported instead of overflowing the count.
    let fit = (duration_h / interval_h - 1e-9).floor() + 1.0;
    let every_text = q.every.as_deref().unwrap_or("24h");
    let count = match q.doses {
        Some(n) if f64::from(n) > fit => {
            return Err(format!(
                "--doses {n}: only {fit} doses of --every {every_text} fall within --days {days}; \
                 allowed: 1 to {fit} (or a longer --days)"
            ))
        }
        Some(n) => n as usize,
        None if fit > MAX_DOSES as f64 => {
            return Err(format!(
                "--every '{every_text}' gives {fit:.0} doses within --days {days}; allowed: at \
                 most {MAX_DOSES} doses, an interval of at least {} h for this --days (or give \
                 --doses)",
                fmt_sig(duration_h / MAX_DOSES as f64)
            ))
        }
        None => fit as usize,
    };
    // One dose is a single dose (exposure figures over the whole run, and an infusion may
    // outlast --every), unless a periodic steady state is asked for, which needs the period.
    let repeat = if count == 1 && !q.steady_state {
        Repeat::Single
    } else {
        Repeat::Count(count as u32)
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
        late_doses: q.late_dose.clone(),
        extra_doses: vec![],
        stop_day: q.stop_day,
        steady_state: q.steady_state,
        with: Vec::new(),
    };
    // The core checks, with the core's field names turned into the options a user typed:
    // values, the schedule against --days (missed and stop days within the run), and the
    // doses themselves for this patient (an infusion at --infusion-rate no longer than the
    // interval), so that no check is left to the simulation, where errors name core fields.
    regimen
        .check("regimen")
        .and_then(|()| regimen.check_schedule("regimen", duration_h))
        .and_then(|()| regimen.dose_events(patient.weight_kg, duration_h))
        .map_err(|e| flagify(&e.to_string()))?;
    let output_interval_h = match &q.output_interval {
        Some(o) => {
            let h = parse_duration("--output-interval", o)?;
            let points = duration_h / h;
            if h > duration_h {
                return Err(format!(
                    "--output-interval '{o}': longer than the run; allowed: at most --days \
                     {days} ({duration_h} h)"
                ));
            }
            if points > MAX_OUTPUT_POINTS as f64 {
                return Err(format!(
                    "--output-interval '{o}' gives {points:.0} output times within --days \
                     {days}; allowed: at most {MAX_OUTPUT_POINTS}, an interval of at least {} h \
                     for this --days",
                    fmt_sig(duration_h / MAX_OUTPUT_POINTS as f64)
                ));
            }
            h
        }
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

/// A lower bound shown to users, rounded up in its third significant digit so that the value
/// printed is itself allowed.
fn fmt_sig(x: f64) -> String {
    let scale = 10f64.powi(2 - x.abs().log10().floor() as i32);
    let up = (x * scale).ceil() / scale;
    format!("{}", (up * 1e12).round() / 1e12)
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

/// Map core field names to the options a user typed. Longer names first: "regimen.dose"
/// is a prefix of "regimen.doses" and of "regimen.dose maximum".
fn flagify(message: &str) -> String {
    const NAMES: [(&str, &str); 15] = [
        ("patient.weight", "--weight"),
        ("patient.age", "--age"),
        ("patient.crcl", "--crcl"),
        ("patient.disease", "--disease"),
        ("regimen.loading_dose maximum", "--max-dose"),
        ("regimen.loading_dose", "--loading-dose"),
        ("regimen.dose maximum", "--max-dose"),
        ("regimen.doses", "--doses"),
        ("regimen.dose", "--dose"),
        ("regimen.interval", "--every"),
        ("regimen.infusion_hours", "--infusion-hours"),
        ("regimen.infusion_rate_mg_per_h", "--infusion-rate"),
        ("regimen.missed_days", "--missed-dose"),
        ("regimen.late_doses", "--late-dose"),
        ("regimen.stop_day", "--stop-day"),
    ];
    let mut out = message.to_string();
    for (field, flag) in NAMES {
        out = out.replace(field, flag);
    }
    out
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

    fn quick(args: &[(&str, &str)]) -> Result<Scenario, String> {
        let m = il1sim_core::il1_model();
        let mut q = QuickArgs {
            dose: Some("100mg".into()),
            ..Default::default()
        };
        for (flag, v) in args {
            let v = v.to_string();
            match *flag {
                "--dose" => q.dose = Some(v),
                "--every" => q.every = Some(v),
                "--days" => q.days = Some(v.parse().unwrap()),
                "--doses" => q.doses = Some(v.parse().unwrap()),
                "--output-interval" => q.output_interval = Some(v),
                "--loading-dose" => q.loading_dose = Some(v),
                "--max-dose" => q.max_dose = Some(v),
                "--missed-dose" => q.missed_dose.push(v.parse().unwrap()),
                "--stop-day" => q.stop_day = Some(v.parse().unwrap()),
                "--iv" => q.iv = true,
                "--infusion-hours" => q.infusion_hours = Some(v.parse().unwrap()),
                "--infusion-rate" => q.infusion_rate = Some(v.parse().unwrap()),
                "--weight" => q.weight = Some(v.parse().unwrap()),
                "--age" => q.age = Some(v.parse().unwrap()),
                other => panic!("{other}"),
            }
        }
        scenario(&q, &m)
    }

    #[test]
    fn numbers_in_exponent_notation_are_read() {
        assert_eq!(split_unit("1e-3h"), ("1e-3", "h"));
        assert_eq!(split_unit("2.5E+1mg/kg"), ("2.5E+1", "mg/kg"));
        assert_eq!(split_unit("-24h"), ("-24", "h"));
        // An `e` without digits after it is not an exponent.
        assert_eq!(split_unit("3ek"), ("3", "ek"));
        assert_eq!(parse_duration("--every", "1e-3h").unwrap(), 1e-3);
        assert_eq!(parse_duration("--every", "1.2e1h").unwrap(), 12.0);
        assert_eq!(
            parse_amount("--dose", "1e2mg").unwrap(),
            DoseAmount::Mg(100.0)
        );
        let e = parse_duration("--every", "-24h").unwrap_err();
        assert!(e.contains("--every '-24h': must be > 0"), "{e}");
    }

    /// Grids and schedules too large to hold are refused before anything is allocated, with
    /// the option, the value and the allowed range.
    #[test]
    fn too_many_output_points_or_doses_are_refused() {
        let e = quick(&[("--output-interval", "0.0000001h")]).unwrap_err();
        assert!(
            e.contains("--output-interval '0.0000001h' gives 6720000000 output times")
                && e.contains("at most 1000000")
                && e.contains("at least 0.000672 h"),
            "{e}"
        );
        let e = quick(&[("--every", "0.000001h")]).unwrap_err();
        assert!(
            e.contains("--every '0.000001h' gives 672000001 doses")
                && e.contains("at most 100000 doses")
                && e.contains("at least 0.00672 h"),
            "{e}"
        );
        // The bound itself is allowed (the dose bound is not run here: expanding 100,000
        // doses is slow in a debug build).
        quick(&[("--output-interval", "0.000672h")]).unwrap();
        // A short interval with few doses is not a large schedule.
        quick(&[("--every", "0.000001h"), ("--doses", "3")]).unwrap();
        let e = quick(&[("--output-interval", "30d")]).unwrap_err();
        assert!(e.contains("longer than the run"), "{e}");
        let e = quick(&[("--doses", "40")]).unwrap_err();
        assert!(e.contains("--doses 40: only 28 doses"), "{e}");
    }

    #[test]
    fn max_dose_caps_a_weight_based_loading_dose() {
        let s = quick(&[
            ("--dose", "2mg/kg"),
            ("--loading-dose", "4mg/kg"),
            ("--max-dose", "100mg"),
        ])
        .unwrap();
        let r = &s.regimens[0];
        assert_eq!(
            r.loading_dose,
            Some(DoseAmount::MgPerKg {
                mg_per_kg: 4.0,
                max_mg: Some(100.0)
            })
        );
        let ev = r.dose_events(70.0, s.duration_h).unwrap();
        assert_eq!((ev[0].amount_mg, ev[1].amount_mg), (100.0, 100.0));
        // A fixed dose with a weight-based loading dose: the cap is for the loading dose.
        let s = quick(&[("--loading-dose", "4mg/kg"), ("--max-dose", "200mg")]).unwrap();
        assert_eq!(
            s.regimens[0].dose_events(70.0, 48.0).unwrap()[0].amount_mg,
            200.0
        );
        let e = quick(&[("--max-dose", "50mg")]).unwrap_err();
        assert!(e.contains("only applies to mg/kg doses"), "{e}");
    }

    /// Schedule mistakes the core finds are reported with the options a user typed.
    #[test]
    fn schedule_errors_name_the_options() {
        for (args, needle) in [
            (vec![("--missed-dose", "40")], "--missed-dose = 40"),
            (vec![("--stop-day", "50")], "--stop-day = 50"),
            (
                vec![("--iv", ""), ("--infusion-hours", "48"), ("--every", "24h")],
                "--infusion-hours = 48 h",
            ),
            (
                vec![("--iv", ""), ("--infusion-rate", "2"), ("--every", "24h")],
                "--infusion-rate",
            ),
            (
                vec![("--weight", "0.01")],
                "--weight = 0.01 kg: allowed: 0.5 to 400 kg",
            ),
            (
                vec![("--age", "130")],
                "--age = 130 years: allowed: 0 to 120 years",
            ),
        ] {
            let e = quick(&args).unwrap_err();
            assert!(e.contains(needle), "{args:?}: {e}");
            assert!(!e.contains("regimen.") && !e.contains("patient."), "{e}");
        }
        // One infusion may outlast --every: there is no next dose.
        let s = quick(&[("--iv", ""), ("--infusion-hours", "72"), ("--doses", "1")]).unwrap();
        assert_eq!(s.regimens[0].repeat, Repeat::Single);
    }

    #[test]
    fn flagify_maps_longer_names_first() {
        assert_eq!(flagify("regimen.doses = 0"), "--doses = 0");
        assert_eq!(
            flagify("regimen.dose maximum = -1 mg"),
            "--max-dose = -1 mg"
        );
        assert_eq!(
            flagify("regimen.loading_dose maximum = 0 mg"),
            "--max-dose = 0 mg"
        );
        assert_eq!(flagify("regimen.dose = 0 mg"), "--dose = 0 mg");
    }
}
