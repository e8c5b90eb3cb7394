//! Clinical targets as text: the trough of a named observable below (or above) a limit
//! (`trough:il1_signal_relative<0.2`), an observable on a day (`crp_day_90<10`: CRP at the end
//! of day 90), and an ACR response of the RA response model (`acr20_week_24`: a responder at
//! week 24; `acr20_week_24>=0.5`: a probability of ACR20 of at least 0.5). Observables are
//! named by their model name, so that targets follow the model file when it gains sites.

use crate::dosing::regimen::HOURS_PER_DAY;
use crate::model::definition::Model;
use crate::response::acr::ResponseModel;

/// How a quantity is compared with its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Below,
    AtMost,
    Above,
    AtLeast,
}

impl Comparison {
    pub fn symbol(&self) -> &'static str {
        match self {
            Comparison::Below => "<",
            Comparison::AtMost => "<=",
            Comparison::Above => ">",
            Comparison::AtLeast => ">=",
        }
    }

    pub fn holds(&self, value: f64, limit: f64) -> bool {
        match self {
            Comparison::Below => value < limit,
            Comparison::AtMost => value <= limit,
            Comparison::Above => value > limit,
            Comparison::AtLeast => value >= limit,
        }
    }
}

/// What a target measures on one subject and regimen.
#[derive(Debug, Clone, PartialEq)]
pub enum Quantity {
    /// The observable at the end of the last dosing interval within the horizon (just before
    /// the next scheduled dose, the trough of the drug).
    Trough { observable: usize },
    /// The observable at the end of a 1-based day (24 · day h).
    OnDay { observable: usize, day: u32 },
    /// The probability of an ACR response level at `assessment_h`, from the response model
    /// driven by its driver observable.
    Acr { level: usize, assessment_h: f64 },
}

/// A checked target.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// As written (spaces removed).
    pub text: String,
    pub quantity: Quantity,
    /// The limit; `None` only for an ACR target, which is then met by a responder (a draw
    /// with the patient's probability in a population; the probability for one patient).
    pub limit: Option<(Comparison, f64)>,
    /// Unit of the quantity (the observable's, or `probability`).
    pub unit: String,
    /// What the quantity is, for tables and figures ("CRP on day 90").
    pub label: String,
}

impl Target {
    /// The latest time the target needs (h).
    pub fn time_needed_h(&self) -> Option<f64> {
        match self.quantity {
            Quantity::Trough { .. } => None,
            Quantity::OnDay { day, .. } => Some(day as f64 * HOURS_PER_DAY),
            Quantity::Acr { assessment_h, .. } => Some(assessment_h),
        }
    }

    /// Whether `value` of the quantity meets the target (an ACR target without a limit is
    /// decided by a draw, not here).
    pub fn met_by(&self, value: f64) -> bool {
        match self.limit {
            Some((c, l)) => value.is_finite() && c.holds(value, l),
            None => false,
        }
    }
}

/// The forms a target may take, for error messages.
pub const TARGET_FORMS: &str = "trough:<observable><limit (e.g. trough:il1_signal_relative<0.2), \
    <observable>_day_<N><limit (e.g. crp_day_90<10), or <ACR level>_week_<N> / \
    <ACR level>_day_<N>, optionally >=<probability> (e.g. acr20_week_24); comparisons <, <=, >, >=";

fn split_comparison(text: &str) -> Option<(&str, Comparison, &str)> {
    let i = text.find(['<', '>'])?;
    let (lhs, rest) = text.split_at(i);
    let (c, n) = match rest {
        r if r.starts_with("<=") => (Comparison::AtMost, 2),
        r if r.starts_with(">=") => (Comparison::AtLeast, 2),
        r if r.starts_with('<') => (Comparison::Below, 1),
        _ => (Comparison::Above, 1),
    };
    Some((lhs, c, &rest[n..]))
}

fn observable(model: &Model, name: &str, whole: &str) -> Result<usize, String> {
    model.observable_id(name).ok_or_else(|| {
        let names: Vec<&str> = model.observables.iter().map(|o| o.name.as_str()).collect();
        format!(
            "target '{whole}': '{name}' is not an observable of model '{}'; allowed: {}",
            model.name,
            names.join(", ")
        )
    })
}

fn day_number(text: &str, whole: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(d) if d >= 1 => Ok(d),
        _ => Err(format!(
            "target '{whole}': day '{text}' is not allowed; a whole number of days from 1"
        )),
    }
}

/// Parse one target. `response` is the ACR model (its level names and driver).
pub fn parse_target(text: &str, model: &Model, response: &ResponseModel) -> Result<Target, String> {
    let whole: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, limit) = match split_comparison(&whole) {
        Some((lhs, c, rhs)) => {
            let v: f64 = rhs.parse().ok().filter(|v: &f64| v.is_finite()).ok_or_else(|| {
                format!("target '{whole}': limit '{rhs}' is not a finite number; allowed: {TARGET_FORMS}")
            })?;
            (lhs.to_string(), Some((c, v)))
        }
        None => (whole.clone(), None),
    };
    let no_limit = || format!("target '{whole}': a limit is needed; allowed: {TARGET_FORMS}");
    if let Some(name) = lhs.strip_prefix("trough:") {
        let i = observable(model, name, &whole)?;
        let o = &model.observables[i];
        return Ok(Target {
            text: whole.clone(),
            quantity: Quantity::Trough { observable: i },
            limit: Some(limit.ok_or_else(no_limit)?),
            unit: o.unit.clone(),
            label: format!("{name} at trough"),
        });
    }
    // An ACR level of the response model: `acr20_week_24`.
    let lower = lhs.to_lowercase();
    for (k, level) in response.levels.iter().enumerate() {
        let prefix = level.name.to_lowercase();
        if let Some(rest) = lower.strip_prefix(&prefix) {
            let hours = if let Some(w) = rest.strip_prefix("_week_") {
                day_number(w, &whole)? as f64 * 7.0 * HOURS_PER_DAY
            } else if let Some(d) = rest.strip_prefix("_day_") {
                day_number(d, &whole)? as f64 * HOURS_PER_DAY
            } else {
                return Err(format!(
                    "target '{whole}': the assessment time is needed, e.g. {}_week_24; allowed: {TARGET_FORMS}",
                    prefix
                ));
            };
            if let Some((c, v)) = limit {
                if !(0.0..=1.0).contains(&v) || matches!(c, Comparison::Below | Comparison::AtMost)
                {
                    return Err(format!(
                        "target '{whole}': {} {v} is not allowed; an ACR target takes >= or > a \
                         probability within 0 and 1, or no limit (a responder)",
                        c.symbol()
                    ));
                }
            }
            return Ok(Target {
                text: whole.clone(),
                quantity: Quantity::Acr {
                    level: k,
                    assessment_h: hours,
                },
                limit,
                unit: "probability".into(),
                label: format!("P({}) at day {}", level.name, hours / HOURS_PER_DAY),
            });
        }
    }
    if let Some((name, day)) = lhs.rsplit_once("_day_") {
        let i = observable(model, name, &whole)?;
        let day = day_number(day, &whole)?;
        return Ok(Target {
            text: whole.clone(),
            quantity: Quantity::OnDay { observable: i, day },
            limit: Some(limit.ok_or_else(no_limit)?),
            unit: model.observables[i].unit.clone(),
            label: format!("{name} on day {day}"),
        });
    }
    Err(format!(
        "target '{whole}' is not allowed; allowed: {TARGET_FORMS}"
    ))
}

/// Check that every target's time falls within the simulated duration.
pub fn check_within(targets: &[Target], duration_h: f64) -> Result<(), String> {
    for t in targets {
        if let Some(h) = t.time_needed_h() {
            if h > duration_h + 1e-9 {
                return Err(format!(
                    "target '{}' needs day {}, after the end of the simulation (day {}); \
                     allowed: days up to the duration",
                    t.text,
                    h / HOURS_PER_DAY,
                    duration_h / HOURS_PER_DAY
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_parse_and_errors_name_what_is_allowed() {
        let m = crate::il1_model();
        let r = ResponseModel::ra_acr();
        let t = parse_target("crp_day_90 < 10", &m, &r).unwrap();
        assert_eq!(t.limit, Some((Comparison::Below, 10.0)));
        assert!(matches!(t.quantity, Quantity::OnDay { day: 90, .. }));
        let t = parse_target("trough:il1_signal_relative<=0.2", &m, &r).unwrap();
        assert_eq!(t.limit, Some((Comparison::AtMost, 0.2)));
        let t = parse_target("ACR20_week_24", &m, &r).unwrap();
        assert!(t.limit.is_none());
        assert!(
            matches!(t.quantity, Quantity::Acr { level: 0, assessment_h } if assessment_h == 24.0 * 168.0)
        );
        let e = parse_target("trough:nothing<1", &m, &r).unwrap_err();
        assert!(e.contains("'nothing'") && e.contains("crp"), "{e}");
        let e = parse_target("crp_day_0<10", &m, &r).unwrap_err();
        assert!(e.contains("day '0'"), "{e}");
        let e = parse_target("crp_day_9", &m, &r).unwrap_err();
        assert!(e.contains("a limit is needed"), "{e}");
        let e = parse_target("acr20_week_24<0.5", &m, &r).unwrap_err();
        assert!(e.contains(">="), "{e}");
        let e = parse_target("banana", &m, &r).unwrap_err();
        assert!(e.contains("allowed: trough:"), "{e}");
        let t = parse_target("crp_day_90<10", &m, &r).unwrap();
        assert!(check_within(&[t], 28.0 * 24.0)
            .unwrap_err()
            .contains("day 90"));
    }
}
