//! Patient files (`patients/*.toml`): a scenario file (`[scenario]`, `[patient]`,
//! `[[regimens]]`, read by `exchange::scenario`, so `il1sim simulate` runs it too) with a
//! `[clinical]` table: the indication, co-medications, the neutrophil count and yes/no
//! conditions. `check` and `plan` use the first regimen. Mistakes are reported with file,
//! line, key, the value and what is allowed.

use super::case::ClinicalCase;
use super::rules::RuleSet;
use crate::exchange::scenario::parse_scenario;
use crate::exchange::spans::{line_of, ScenarioError};
use crate::model::definition::Model;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Deserialize)]
struct PatientFile {
    clinical: Option<Spanned<ClinicalSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClinicalSpec {
    indication: Spanned<String>,
    #[serde(default)]
    comedications: Vec<Spanned<String>>,
    anc_1e9_per_l: Option<Spanned<f64>>,
    #[serde(default)]
    conditions: BTreeMap<String, Spanned<bool>>,
}

/// Largest neutrophil count accepted (10⁹/L): far above leukaemoid reactions; more is a
/// unit mistake (cells/µL written for 10⁹/L).
pub const MAX_ANC_1E9_PER_L: f64 = 100.0;

/// Parse a patient file into the clinical case of its first regimen.
pub fn parse_patient_file(
    text: &str,
    origin: &str,
    model: &Model,
    rules: &RuleSet,
) -> Result<ClinicalCase, ScenarioError> {
    let scenario = parse_scenario(text, origin, model)?;
    let file: PatientFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, &s));
        // Name the key written on the offending line (`anc_1e9_per_l = "high"`).
        let key = line
            .and_then(|l| text.lines().nth(l - 1))
            .and_then(|w| w.split_once('='))
            .map(|(k, _)| format!("clinical.{}", k.trim()))
            .unwrap_or_else(|| "clinical".into());
        ScenarioError {
            origin: origin.into(),
            line,
            key,
            message: e.message().trim().to_string(),
        }
    })?;
    let clinical = file.clinical.ok_or_else(|| ScenarioError {
        origin: origin.into(),
        line: None,
        key: "clinical".into(),
        message: "a patient file needs a [clinical] table with at least `indication = \"...\"`"
            .into(),
    })?;
    let c = clinical.get_ref();
    let at = |span: std::ops::Range<usize>, key: &str, message: String| ScenarioError {
        origin: origin.into(),
        line: Some(line_of(text, &span)),
        key: key.into(),
        message,
    };
    let indication = rules
        .indication(c.indication.get_ref())
        .map_err(|e| at(c.indication.span(), "clinical.indication", e))?;
    // The disease simulated must be the indication's (or one of its group's).
    let allowed: Vec<&str> = rules
        .indications
        .iter()
        .filter(|i| i.name == indication.name || (i.group.is_some() && i.group == indication.group))
        .map(|i| i.model_disease.as_str())
        .collect();
    if !allowed.contains(&scenario.patient.disease.as_str()) {
        return Err(ScenarioError {
            origin: origin.into(),
            line: text
                .lines()
                .position(|l| l.trim_start().starts_with("disease"))
                .map(|l| l + 1),
            key: "patient.disease".into(),
            message: format!(
                "'{}' does not go with clinical.indication '{}'; allowed: {}",
                scenario.patient.disease,
                indication.name,
                allowed.join(", ")
            ),
        });
    }
    let mut comedications = Vec::new();
    for (i, m) in c.comedications.iter().enumerate() {
        let med = rules
            .medicine(m.get_ref())
            .map_err(|e| at(m.span(), &format!("clinical.comedications[{i}]"), e))?;
        if !comedications.contains(&med.name) {
            comedications.push(med.name.clone());
        }
    }
    let mut conditions = BTreeMap::new();
    for (name, value) in &c.conditions {
        if !rules.conditions.contains_key(name) {
            let known: Vec<&str> = rules.conditions.keys().map(String::as_str).collect();
            return Err(at(
                value.span(),
                &format!("clinical.conditions.{name}"),
                format!("'{name}' is not allowed; allowed: {}", known.join(", ")),
            ));
        }
        conditions.insert(name.clone(), *value.get_ref());
    }
    let anc = match &c.anc_1e9_per_l {
        Some(a) => {
            let v = *a.get_ref();
            if !(v.is_finite() && (0.0..=MAX_ANC_1E9_PER_L).contains(&v)) {
                return Err(at(
                    a.span(),
                    "clinical.anc_1e9_per_l",
                    format!(
                        "{v} is not allowed; an absolute neutrophil count in 10⁹/L is 0 to \
                         {MAX_ANC_1E9_PER_L} (1500 cells/µL is 1.5)"
                    ),
                ));
            }
            Some(v)
        }
        None => None,
    };
    let regimen = scenario.regimens[0].clone();
    rules.drug_name(&regimen.drug).map_err(|e| ScenarioError {
        origin: origin.into(),
        line: None,
        key: "regimens[0].drug".into(),
        message: e,
    })?;
    Ok(ClinicalCase {
        patient: scenario.patient,
        indication: indication.name.clone(),
        comedications,
        conditions,
        anc_1e9_per_l: anc,
        regimen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"[scenario]
name = "t"
description = "t"
duration_days = 28

[patient]
weight_kg = 20
age_y = 6
sex = "male"
crcl_ml_min = 110
disease = "nomid"

[clinical]
indication = "NOMID"
comedications = ["MTX"]
anc_1e9_per_l = 4.0

[clinical.conditions]
tb_screened = true

[[regimens]]
name = "2 mg/kg daily"
route = "sc"
dose_mg_per_kg = 2
interval_h = 24
until_day = 28
"#;

    fn parse(text: &str) -> Result<ClinicalCase, ScenarioError> {
        parse_patient_file(text, "p.toml", &crate::il1_model(), &RuleSet::kineret())
    }

    #[test]
    fn a_patient_file_gives_its_case() {
        let c = parse(FILE).unwrap();
        assert_eq!(c.indication, "nomid");
        assert_eq!(c.comedications, vec!["methotrexate".to_string()]);
        assert!(c.has("tb_screened"));
        assert_eq!(c.day_mg(), 40.0);
    }

    #[test]
    fn mistakes_name_file_line_key_value_and_what_is_allowed() {
        let e = parse(&FILE.replace("\"MTX\"", "\"aspirine\"")).unwrap_err();
        assert_eq!(e.line, Some(15), "{e}");
        assert!(
            e.to_string().contains(
                "clinical.comedications[0]: unknown co-medication 'aspirine'; known: methotrexate"
            ),
            "{e}"
        );
        let e = parse(&FILE.replace("\"NOMID\"", "\"gout\"")).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "p.toml:14: clinical.indication: unknown indication 'gout'; known: ra, nomid"
            ),
            "{e}"
        );
        let e = parse(&FILE.replace("tb_screened", "tb_screen")).unwrap_err();
        assert!(e.to_string().contains("p.toml:19: clinical.conditions.tb_screen: 'tb_screen' is not allowed; allowed: active_infection"), "{e}");
        let e = parse(&FILE.replace("4.0", "4000")).unwrap_err();
        assert!(
            e.to_string()
                .contains("p.toml:16: clinical.anc_1e9_per_l: 4000 is not allowed"),
            "{e}"
        );
        let e = parse(&FILE.replace("indication = \"NOMID\"", "indication = \"ra\"")).unwrap_err();
        assert!(
            e.to_string().contains(
                "patient.disease: 'nomid' does not go with clinical.indication 'ra'; allowed: ra"
            ),
            "{e}"
        );
        let e = parse(&FILE.replace("[clinical]", "[clinicals]")).unwrap_err();
        assert!(e.to_string().contains("clinicals"), "{e}");
        let cut = FILE.split("[clinical]").next().unwrap().to_string()
            + "[[regimens]]\nname = \"x\"\nroute = \"sc\"\ndose_mg = 100\n";
        let e = parse(&cut).unwrap_err();
        assert!(e.to_string().contains("needs a [clinical] table"), "{e}");
        let e = parse(&FILE.replace("route = \"sc\"", "drug = \"canakinumab\"\nroute = \"sc\""))
            .unwrap_err();
        assert!(e.to_string().contains("the rules are for anakinra"), "{e}");
    }
}
