//! Evaluating the rules on a clinical case: which rules fire, the verdict (the worst outcome
//! among them), and the label regimen to suggest for this patient (from the indication's
//! label regimen, every other day when a renal rule says so).

use super::case::ClinicalCase;
use super::rules::{Indication, LabelRegimen, Outcome, Rule, RuleSet, Suggest};

/// Concentration of the Kineret syringe: 100 mg in 0.67 mL (US PI §11; EU SmPC §2), so
/// 150 mg/mL (derived), to give a weight-based dose as a volume.
pub const SYRINGE_MG_PER_ML: f64 = 100.0 / 0.67;

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub outcome: Outcome,
    /// The rules that fired, in file order.
    pub fired: Vec<Rule>,
    pub indication: Indication,
    /// The amount given on a dosing day (mg and mg/kg).
    pub day_mg: f64,
    pub day_mg_per_kg: f64,
    /// What the label would give this patient; None for an unlabelled indication.
    pub suggestion: Option<Suggestion>,
}

/// A label regimen for one patient.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// The starting amount on a dosing day (mg), as a range (equal ends for a fixed dose).
    pub start_day_mg: [f64; 2],
    /// Hours between dosing days: 24, or 48 (every other day) in severe renal impairment.
    pub interval_h: f64,
    /// The largest amount on a dosing day the label allows (mg), when it has one.
    pub max_day_mg: Option<f64>,
    /// The regimen in words, one line each.
    pub lines: Vec<String>,
    pub source: String,
}

fn round1(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if (r - r.round()).abs() < 1e-9 {
        format!("{}", r.round() as i64)
    } else {
        format!("{r:.1}")
    }
}

fn range(a: f64, b: f64, unit: &str) -> String {
    if (a - b).abs() < 1e-9 {
        format!("{}{unit}", round1(a))
    } else {
        format!("{}–{}{unit}", round1(a), round1(b))
    }
}

/// Whether every condition of `rule` holds for `case`.
pub fn fires(rule: &Rule, case: &ClinicalCase, rules: &RuleSet) -> bool {
    let w = &rule.when;
    let indication = rules.indication(&case.indication).ok();
    let p = &case.patient;
    let below = |limit: Option<f64>, v: f64| limit.is_none_or(|l| v < l);
    let at_least = |limit: Option<f64>, v: f64| limit.is_none_or(|l| v >= l);
    let above = |limit: Option<f64>, v: f64| limit.is_none_or(|l| v > l);
    let in_group = |list: &Vec<String>| {
        indication.is_some_and(|i| {
            list.iter()
                .any(|n| *n == i.name || i.group.as_ref() == Some(n))
        })
    };
    let interval = case.regimen.interval_h;
    w.indications.as_ref().is_none_or(in_group)
        && w.labelled
            .is_none_or(|l| indication.is_some_and(|i| i.labelled == l))
        && below(w.age_below_y, p.age_y)
        && at_least(w.age_at_least_y, p.age_y)
        && below(w.weight_below_kg, p.weight_kg)
        && at_least(w.weight_at_least_kg, p.weight_kg)
        && below(w.crcl_below_ml_min, p.crcl_ml_min)
        && at_least(w.crcl_at_least_ml_min, p.crcl_ml_min)
        && w.comedication_class.as_ref().is_none_or(|class| {
            case.comedications
                .iter()
                .any(|c| rules.medicine(c).is_ok_and(|m| &m.class == class))
        })
        && w.condition
            .as_ref()
            .is_none_or(|c| c.names().iter().all(|n| case.has(n)))
        && w.condition_not
            .as_ref()
            .is_none_or(|c| c.names().iter().all(|n| !case.has(n)))
        && w.anc_below_1e9_per_l
            .is_none_or(|l| case.anc_1e9_per_l.is_some_and(|a| a < l))
        && w.anc_missing
            .is_none_or(|m| case.anc_1e9_per_l.is_none() == m)
        && above(w.day_mg_above, case.day_mg())
        && below(w.day_mg_below, case.day_mg())
        && above(w.day_mg_per_kg_above, case.day_mg_per_kg())
        && below(w.day_mg_per_kg_below, case.day_mg_per_kg())
        && below(w.interval_h_below, interval)
        && at_least(w.interval_h_at_least, interval)
        && w.interval_h_not_in
            .as_ref()
            .is_none_or(|list| !list.iter().any(|v| (v - interval).abs() < 1e-9))
        && w.route.as_ref().is_none_or(|r| r == case.route())
}

/// Evaluate every rule on `case`. The indication must be one of the rules file's (a case
/// from [`super::patient_file`] or built with [`RuleSet::indication`] is).
pub fn evaluate(rules: &RuleSet, case: &ClinicalCase) -> Result<Verdict, String> {
    let indication = rules.indication(&case.indication)?.clone();
    let fired: Vec<Rule> = rules
        .rules
        .iter()
        .filter(|r| fires(r, case, rules))
        .cloned()
        .collect();
    let outcome = fired
        .iter()
        .map(|r| r.outcome)
        .max()
        .unwrap_or(Outcome::Fine);
    let every_other_day = fired
        .iter()
        .any(|r| r.suggest == Some(Suggest::EveryOtherDay));
    let suggestion = indication
        .regimen
        .as_ref()
        .map(|reg| suggest(reg, &indication, case.patient.weight_kg, every_other_day));
    Ok(Verdict {
        outcome,
        fired,
        indication,
        day_mg: case.day_mg(),
        day_mg_per_kg: case.day_mg_per_kg(),
        suggestion,
    })
}

/// The label regimen for a patient of `weight_kg`.
pub fn suggest(
    reg: &LabelRegimen,
    indication: &Indication,
    weight_kg: f64,
    every_other_day: bool,
) -> Suggestion {
    let mut lines = Vec::new();
    let fixed = match (reg.dose_mg, reg.adult_dose_mg_from_kg, reg.start_mg_per_kg) {
        (Some(mg), Some(from), Some(_)) if weight_kg >= from => Some((mg, Some(from))),
        (Some(mg), None, _) => Some((mg, None)),
        _ => None,
    };
    let volume = |mg: f64| mg / SYRINGE_MG_PER_ML;
    let (start, max) = if let Some((mg, from)) = fixed {
        let who = from.map_or(String::new(), |f| {
            format!(" (weight {} kg or more)", round1(f))
        });
        lines.push(format!(
            "{} mg SC once daily{who}, at about the same time each day",
            round1(mg)
        ));
        ([mg, mg], None)
    } else {
        let [a, b] = reg.start_mg_per_kg.unwrap_or([1.0, 2.0]);
        let (lo, hi) = (a * weight_kg, b * weight_kg);
        let split = if reg.twice_daily_split {
            ", once daily or split into two doses 12 h apart"
        } else {
            ", once daily"
        };
        lines.push(format!(
            "start {}/kg/day = {}/day for {} kg{split} ({} mL of the 150 mg/mL syringe)",
            range(a, b, " mg"),
            range(lo, hi, " mg"),
            round1(weight_kg),
            range(volume(lo) * 100.0, volume(hi) * 100.0, "")
                .split('–')
                .map(|v| {
                    let x: f64 = v.parse().unwrap_or(0.0) / 100.0;
                    format!("{x:.2}")
                })
                .collect::<Vec<_>>()
                .join("–"),
        ));
        if let Some([s0, s1]) = reg.step_mg_per_kg {
            lines.push(format!(
                "adjust to response in steps of {}/kg ({})",
                range(s0, s1, " mg"),
                range(s0 * weight_kg, s1 * weight_kg, " mg")
            ));
        }
        if let Some([m0, m1]) = reg.maintenance_mg_per_kg {
            if (m0 - a).abs() > 1e-9 || (m1 - b).abs() > 1e-9 {
                lines.push(format!(
                    "usual maintenance in severe disease {}/kg/day ({}/day)",
                    range(m0, m1, " mg"),
                    range(m0 * weight_kg, m1 * weight_kg, " mg")
                ));
            }
        }
        let max = reg.max_mg_per_kg.map(|m| m * weight_kg);
        if let Some(m) = reg.max_mg_per_kg {
            lines.push(format!(
                "maximum {} mg/kg/day ({} mg/day)",
                round1(m),
                round1(m * weight_kg)
            ));
        }
        ([lo, hi], max)
    };
    let interval_h = if every_other_day {
        lines.push(
            "severe renal impairment (CrCl < 30 mL/min) or end-stage renal disease: give the \
             dose every other day"
                .into(),
        );
        48.0
    } else {
        reg.interval_h.unwrap_or(24.0)
    };
    Suggestion {
        start_day_mg: start,
        interval_h,
        max_day_mg: max,
        lines,
        source: indication.source.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dosing::regimen::{Administration, DoseAmount, Regimen};
    use crate::model::patient::{Patient, Sex};
    use std::collections::BTreeMap;

    fn rules() -> RuleSet {
        RuleSet::kineret()
    }

    /// An adult with RA on 100 mg daily, on methotrexate after its failure, screened, with a
    /// normal neutrophil count: no caution fires.
    fn ra() -> ClinicalCase {
        let mut conditions = BTreeMap::new();
        conditions.insert("prior_dmard_failure".to_string(), true);
        conditions.insert("tb_screened".to_string(), true);
        ClinicalCase {
            patient: Patient {
                weight_kg: 82.0,
                age_y: 54.0,
                sex: Sex::Female,
                crcl_ml_min: 95.0,
                disease: "ra".into(),
            },
            indication: "ra".into(),
            comedications: vec!["methotrexate".into()],
            conditions,
            anc_1e9_per_l: Some(4.0),
            regimen: Regimen::repeated(
                "100 mg daily",
                "anakinra",
                DoseAmount::Mg(100.0),
                Administration::Subcutaneous,
                24.0,
                28,
            ),
        }
    }

    fn nomid(mg_per_kg: f64, interval_h: f64) -> ClinicalCase {
        let mut c = ra();
        c.patient = Patient {
            weight_kg: 20.0,
            age_y: 6.0,
            sex: Sex::Male,
            crcl_ml_min: 110.0,
            disease: "nomid".into(),
        };
        c.indication = "nomid".into();
        c.comedications.clear();
        c.conditions.remove("prior_dmard_failure");
        c.regimen.dose = DoseAmount::MgPerKg {
            mg_per_kg,
            max_mg: None,
        };
        c.regimen.interval_h = interval_h;
        c
    }

    fn fired(c: &ClinicalCase) -> Vec<String> {
        evaluate(&rules(), c)
            .unwrap()
            .fired
            .into_iter()
            .map(|r| r.id)
            .collect()
    }

    /// Assert that `id` fires for `yes` and not for `no` (the near miss).
    fn fires_and_near_miss(id: &str, yes: ClinicalCase, no: ClinicalCase) {
        assert!(rules().rules.iter().any(|r| r.id == id), "no rule {id}");
        let f = fired(&yes);
        assert!(f.contains(&id.to_string()), "{id} should fire: {f:?}");
        let f = fired(&no);
        assert!(
            !f.contains(&id.to_string()),
            "{id} should not fire (near miss): {f:?}"
        );
    }

    fn with<F: FnOnce(&mut ClinicalCase)>(mut c: ClinicalCase, f: F) -> ClinicalCase {
        f(&mut c);
        c
    }

    #[test]
    fn the_baseline_ra_case_is_fine() {
        let v = evaluate(&rules(), &ra()).unwrap();
        assert_eq!(v.outcome, Outcome::Fine, "{:?}", fired(&ra()));
    }

    #[test]
    fn ra_with_etanercept_is_do_not_give() {
        let c = with(ra(), |c| c.comedications.push("etanercept".into()));
        let v = evaluate(&rules(), &c).unwrap();
        assert_eq!(v.outcome, Outcome::DoNotGive);
        let r = v.fired.iter().find(|r| r.id == "tnf-blocker").unwrap();
        assert!(r.source.contains("Genovese"));
        assert!(r.reason.contains("7.4%") && r.reason.contains("0%"));
    }

    #[test]
    fn crcl_25_suggests_every_other_day() {
        let c = with(ra(), |c| c.patient.crcl_ml_min = 25.0);
        let v = evaluate(&rules(), &c).unwrap();
        assert_eq!(v.outcome, Outcome::Caution);
        let s = v.suggestion.unwrap();
        assert_eq!(s.interval_h, 48.0);
        assert_eq!(s.start_day_mg, [100.0, 100.0]);
        assert!(s.lines.iter().any(|l| l.contains("every other day")));
    }

    #[test]
    fn nomid_20_kg_starts_at_20_to_40_mg_a_day() {
        let v = evaluate(&rules(), &nomid(2.0, 24.0)).unwrap();
        let s = v.suggestion.unwrap();
        assert_eq!(s.start_day_mg, [20.0, 40.0]);
        assert_eq!(s.max_day_mg, Some(160.0));
        assert!(s.lines[0].contains("20–40 mg/day"), "{:?}", s.lines);
        assert_eq!(s.interval_h, 24.0);
    }

    #[test]
    fn ten_mg_per_kg_a_day_is_above_the_8_mg_per_kg_maximum() {
        let v = evaluate(&rules(), &nomid(10.0, 24.0)).unwrap();
        assert_eq!(v.outcome, Outcome::DoNotGive);
        let r = v.fired.iter().find(|r| r.id == "caps-dira-max").unwrap();
        assert!(r.reason.contains("8 mg/kg/day"));
        // 5 mg/kg twice daily is 10 mg/kg on the day: the same.
        let v = evaluate(&rules(), &nomid(5.0, 12.0)).unwrap();
        assert_eq!(v.outcome, Outcome::DoNotGive);
    }

    #[test]
    fn each_rule_fires_on_its_inputs_and_not_on_a_near_miss() {
        let r = ra;
        let cond = |name: &str, v: bool| {
            let name = name.to_string();
            move |c: &mut ClinicalCase| {
                c.conditions.insert(name, v);
            }
        };
        let med = |name: &str| {
            let name = name.to_string();
            move |c: &mut ClinicalCase| c.comedications.push(name)
        };
        let cases: Vec<(&str, ClinicalCase, ClinicalCase)> = vec![
            (
                "ra-adults",
                with(r(), |c| c.patient.age_y = 17.9),
                with(r(), |c| c.patient.age_y = 18.0),
            ),
            (
                "ra-after-dmard",
                with(r(), |c| {
                    c.conditions.remove("prior_dmard_failure");
                }),
                r(),
            ),
            (
                "periodic-fever-weight",
                with(nomid(2.0, 24.0), |c| c.patient.weight_kg = 9.9),
                with(nomid(2.0, 24.0), |c| c.patient.weight_kg = 10.0),
            ),
            (
                "periodic-fever-age",
                with(nomid(2.0, 24.0), |c| c.patient.age_y = 0.5),
                with(nomid(2.0, 24.0), |c| c.patient.age_y = 0.67),
            ),
            (
                "unlabelled-indication",
                with(r(), |c| {
                    c.indication = "mas".into();
                    c.patient.disease = "mas".into();
                }),
                r(),
            ),
            (
                "ra-dose-above",
                with(r(), |c| c.regimen.dose = DoseAmount::Mg(150.0)),
                r(),
            ),
            (
                "ra-dose-below",
                with(r(), |c| c.regimen.dose = DoseAmount::Mg(75.0)),
                r(),
            ),
            ("caps-dira-max", nomid(8.5, 24.0), nomid(8.0, 24.0)),
            (
                "caps-dira-start-above",
                nomid(2.5, 24.0),
                with(nomid(2.5, 24.0), cond("continuing", true)),
            ),
            ("caps-dira-below", nomid(0.9, 24.0), nomid(1.0, 24.0)),
            (
                "stills-adult-dose",
                with(r(), |c| {
                    c.indication = "aosd".into();
                    c.regimen.dose = DoseAmount::Mg(200.0);
                }),
                with(r(), |c| c.indication = "aosd".into()),
            ),
            (
                "stills-child-max",
                with(nomid(4.5, 24.0), |c| c.indication = "sjia".into()),
                with(nomid(4.0, 24.0), |c| c.indication = "sjia".into()),
            ),
            (
                "ra-once-daily",
                with(r(), |c| {
                    c.regimen.interval_h = 12.0;
                    c.regimen.dose = DoseAmount::Mg(50.0);
                }),
                r(),
            ),
            ("daily-or-split", nomid(2.0, 8.0), nomid(1.0, 12.0)),
            (
                "every-other-day-normal-renal",
                with(r(), |c| c.regimen.interval_h = 48.0),
                with(r(), |c| {
                    c.regimen.interval_h = 48.0;
                    c.patient.crcl_ml_min = 29.0;
                }),
            ),
            (
                "route-iv",
                with(r(), |c| c.regimen.administration = Administration::IvBolus),
                r(),
            ),
            (
                "renal-severe",
                with(r(), |c| c.patient.crcl_ml_min = 29.9),
                with(r(), |c| c.patient.crcl_ml_min = 30.0),
            ),
            (
                "renal-esrd",
                with(r(), cond("end_stage_renal_disease", true)),
                with(with(r(), cond("end_stage_renal_disease", true)), |c| {
                    c.regimen.interval_h = 48.0
                }),
            ),
            (
                "dialysis",
                with(r(), cond("haemodialysis", true)),
                with(r(), cond("haemodialysis", false)),
            ),
            (
                "conventional-dmard",
                r(),
                with(r(), |c| c.comedications.clear()),
            ),
            (
                "tnf-blocker",
                with(r(), med("adalimumab")),
                with(r(), med("leflunomide")),
            ),
            (
                "other-biologic",
                with(r(), med("abatacept")),
                with(r(), med("prednisone")),
            ),
            ("jak-inhibitor", with(r(), med("tofacitinib")), r()),
            ("live-vaccine", with(r(), med("live vaccine")), r()),
            ("cyp450-substrate", with(r(), med("warfarin")), r()),
            (
                "ecoli-hypersensitivity",
                with(r(), cond("ecoli_protein_hypersensitivity", true)),
                with(r(), cond("ecoli_protein_hypersensitivity", false)),
            ),
            ("latex", with(r(), cond("latex_allergy", true)), r()),
            (
                "active-infection",
                with(r(), cond("active_infection", true)),
                with(r(), cond("chronic_infection", true)),
            ),
            (
                "chronic-infection",
                with(r(), cond("chronic_infection", true)),
                r(),
            ),
            ("asthma", with(r(), cond("asthma", true)), r()),
            ("latent-tb", with(r(), cond("latent_tb", true)), r()),
            (
                "tb-screening",
                with(r(), cond("tb_screened", false)),
                with(
                    with(r(), cond("tb_screened", false)),
                    cond("continuing", true),
                ),
            ),
            (
                "neutropenia-start",
                with(r(), |c| c.anc_1e9_per_l = Some(1.4)),
                with(r(), |c| c.anc_1e9_per_l = Some(1.5)),
            ),
            ("anc-baseline", with(r(), |c| c.anc_1e9_per_l = None), r()),
            (
                "dira-allergy",
                with(nomid(2.0, 24.0), |c| c.indication = "dira".into()),
                nomid(2.0, 24.0),
            ),
            (
                "stills-liver",
                with(r(), |c| c.indication = "aosd".into()),
                r(),
            ),
            (
                "pregnancy",
                with(r(), cond("pregnant", true)),
                with(r(), cond("pregnant", false)),
            ),
            ("breastfeeding", with(r(), cond("breastfeeding", true)), r()),
            (
                "elderly",
                with(r(), |c| c.patient.age_y = 65.0),
                with(r(), |c| c.patient.age_y = 64.9),
            ),
        ];
        let tested: Vec<&str> = cases.iter().map(|(id, _, _)| *id).collect();
        for (id, yes, no) in cases {
            fires_and_near_miss(id, yes, no);
        }
        // anc-monitoring applies to everyone on anakinra: it has no near miss.
        assert!(fired(&ra()).contains(&"anc-monitoring".to_string()));
        for rule in &rules().rules {
            assert!(
                rule.id == "anc-monitoring" || tested.contains(&rule.id.as_str()),
                "rule {} has no test",
                rule.id
            );
        }
    }
}
