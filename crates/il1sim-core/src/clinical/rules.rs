//! The rules file (`rules/kineret.toml`): the drug and its aliases, yes/no conditions,
//! co-medications by class, indications with their label regimens, and the rules, each with
//! the conditions that make it fire, an outcome, a reason, a source and the status of that
//! source. Parsing checks every name a rule uses, with the line of a mistake.

use crate::exchange::spans::{line_of, ScenarioError};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// The bundled Kineret rules (`rules/kineret.toml`).
pub const KINERET_RULES_TOML: &str = include_str!("../../../../rules/kineret.toml");

/// What a rule says about the regimen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Fine,
    Caution,
    DoNotGive,
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Fine => "fine",
            Outcome::Caution => "caution",
            Outcome::DoNotGive => "do not give",
        }
    }
    pub fn key(&self) -> &'static str {
        match self {
            Outcome::Fine => "fine",
            Outcome::Caution => "caution",
            Outcome::DoNotGive => "do_not_give",
        }
    }
}

/// How a rule's source was established (the rules file's header says what each means).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceStatus {
    Retrieved,
    Secondary,
    Derived,
    Unverified,
}

impl SourceStatus {
    pub fn label(&self) -> &'static str {
        match self {
            SourceStatus::Retrieved => "retrieved",
            SourceStatus::Secondary => "secondary",
            SourceStatus::Derived => "derived",
            SourceStatus::Unverified => "unverified",
        }
    }
}

/// One name or a list of names.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn names(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// The conditions under which a rule fires; every one given must hold.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    pub indications: Option<Vec<String>>,
    pub labelled: Option<bool>,
    pub age_below_y: Option<f64>,
    pub age_at_least_y: Option<f64>,
    pub weight_below_kg: Option<f64>,
    pub weight_at_least_kg: Option<f64>,
    pub crcl_below_ml_min: Option<f64>,
    pub crcl_at_least_ml_min: Option<f64>,
    pub comedication_class: Option<String>,
    pub condition: Option<OneOrMany>,
    pub condition_not: Option<OneOrMany>,
    pub anc_below_1e9_per_l: Option<f64>,
    pub anc_missing: Option<bool>,
    pub day_mg_above: Option<f64>,
    pub day_mg_below: Option<f64>,
    pub day_mg_per_kg_above: Option<f64>,
    pub day_mg_per_kg_below: Option<f64>,
    pub interval_h_below: Option<f64>,
    pub interval_h_at_least: Option<f64>,
    pub interval_h_not_in: Option<Vec<f64>>,
    pub route: Option<String>,
}

/// What a rule changes in the suggested label regimen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suggest {
    EveryOtherDay,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub when: When,
    pub outcome: Outcome,
    pub reason: String,
    pub source: String,
    pub status: SourceStatus,
    pub suggest: Option<Suggest>,
    /// Line of the rule in the rules file.
    pub line: usize,
}

/// A label regimen: a fixed dose, a weight-based one, or both (Still's disease: fixed from
/// `adult_dose_mg_from_kg`, by weight below).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelRegimen {
    pub dose_mg: Option<f64>,
    pub interval_h: Option<f64>,
    pub adult_dose_mg_from_kg: Option<f64>,
    pub start_mg_per_kg: Option<[f64; 2]>,
    pub step_mg_per_kg: Option<[f64; 2]>,
    pub maintenance_mg_per_kg: Option<[f64; 2]>,
    pub max_mg_per_kg: Option<f64>,
    #[serde(default)]
    pub twice_daily_split: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Indication {
    pub name: String,
    pub aliases: Vec<String>,
    /// A group several indications share in rules (`caps` for nomid, mws, fcas).
    pub group: Option<String>,
    pub title: String,
    /// The model's disease overlay to simulate it with.
    pub model_disease: String,
    pub labelled: bool,
    pub regimen: Option<LabelRegimen>,
    pub source: String,
    pub status: SourceStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Medicine {
    pub name: String,
    pub aliases: Vec<String>,
    pub class: String,
}

/// A checked rules file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    pub drug: String,
    pub drug_aliases: Vec<String>,
    /// Yes/no condition → what it means.
    pub conditions: BTreeMap<String, String>,
    pub medicines: Vec<Medicine>,
    pub indications: Vec<Indication>,
    pub rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    drug: DrugSpec,
    conditions: BTreeMap<String, String>,
    medicines: Vec<Spanned<MedicineSpec>>,
    indications: Vec<Spanned<IndicationSpec>>,
    rules: Vec<Spanned<RuleSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DrugSpec {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MedicineSpec {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    class: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IndicationSpec {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    group: Option<String>,
    title: String,
    model_disease: String,
    labelled: bool,
    regimen: Option<LabelRegimen>,
    source: String,
    status: SourceStatus,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: String,
    title: String,
    #[serde(default)]
    when: When,
    outcome: Outcome,
    reason: String,
    source: String,
    status: SourceStatus,
    suggest: Option<Suggest>,
}

/// A name as matched: lower case, without spaces, hyphens, underscores and apostrophes
/// (`Still's disease` = `stills-disease` = `STILLS_DISEASE`).
pub fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '\'' | '’' | '/'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn file_error(
    origin: &str,
    text: &str,
    span: Option<std::ops::Range<usize>>,
    key: &str,
    message: String,
) -> ScenarioError {
    ScenarioError {
        origin: origin.into(),
        line: span.map(|s| line_of(text, &s)),
        key: key.into(),
        message,
    }
}

impl RuleSet {
    /// The bundled rules.
    pub fn kineret() -> RuleSet {
        RuleSet::parse(KINERET_RULES_TOML, "rules/kineret.toml (bundled)")
            .expect("the bundled rules file is checked by the test suite")
    }

    /// Parse and check a rules file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<RuleSet, ScenarioError> {
        let file: RulesFile = toml::from_str(text).map_err(|e| {
            file_error(
                origin,
                text,
                e.span(),
                "syntax",
                e.message().trim().to_string(),
            )
        })?;
        let medicines: Vec<Medicine> = file
            .medicines
            .iter()
            .map(|m| {
                let m = m.get_ref();
                Medicine {
                    name: m.name.clone(),
                    aliases: m.aliases.clone(),
                    class: m.class.clone(),
                }
            })
            .collect();
        let indications: Vec<Indication> = file
            .indications
            .iter()
            .map(|s| {
                let i = s.get_ref();
                Indication {
                    name: i.name.clone(),
                    aliases: i.aliases.clone(),
                    group: i.group.clone(),
                    title: i.title.clone(),
                    model_disease: i.model_disease.clone(),
                    labelled: i.labelled,
                    regimen: i.regimen.clone(),
                    source: i.source.clone(),
                    status: i.status,
                }
            })
            .collect();
        // Every name (medicine, indication and their aliases) must mean one thing.
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let named = medicines
            .iter()
            .map(|m| (&m.name, &m.aliases, "medicines"))
            .chain(
                indications
                    .iter()
                    .map(|i| (&i.name, &i.aliases, "indications")),
            );
        let spans = file
            .medicines
            .iter()
            .map(|m| m.span())
            .chain(file.indications.iter().map(|i| i.span()));
        for ((name, aliases, table), span) in named.zip(spans) {
            for n in std::iter::once(name).chain(aliases.iter()) {
                let previous = seen.insert(format!("{table}:{}", normalise(n)), name.clone());
                if let Some(other) = previous.filter(|o| o != name) {
                    return Err(file_error(
                        origin,
                        text,
                        Some(span.clone()),
                        table,
                        format!(
                            "'{n}' names both '{other}' and '{name}'; a name must mean one thing"
                        ),
                    ));
                }
            }
        }
        for (i, r) in file.indications.iter().enumerate() {
            let reg = r.get_ref().regimen.as_ref();
            if r.get_ref().labelled && reg.is_none() {
                return Err(file_error(
                    origin,
                    text,
                    Some(r.span()),
                    &format!("indications[{i}].regimen"),
                    format!(
                        "'{}' is labelled, so it needs its label regimen",
                        r.get_ref().name
                    ),
                ));
            }
            if let Some(reg) = reg {
                if reg.dose_mg.is_none() && reg.start_mg_per_kg.is_none() {
                    return Err(file_error(
                        origin,
                        text,
                        Some(r.span()),
                        &format!("indications[{i}].regimen"),
                        "give dose_mg or start_mg_per_kg".into(),
                    ));
                }
            }
        }
        let groups: Vec<String> = indications
            .iter()
            .flat_map(|i| std::iter::once(i.name.clone()).chain(i.group.clone()))
            .collect();
        let classes: Vec<&str> = medicines.iter().map(|m| m.class.as_str()).collect();
        let mut rules = Vec::new();
        let mut ids: Vec<String> = Vec::new();
        for (k, s) in file.rules.iter().enumerate() {
            let r = s.get_ref();
            let line = line_of(text, &s.span());
            let bad = |key: &str, message: String| ScenarioError {
                origin: origin.into(),
                line: Some(line),
                key: format!("rules[{k}] ({}).{key}", r.id),
                message,
            };
            if ids.contains(&r.id) {
                return Err(bad(
                    "id",
                    format!("'{}' is used twice; rule ids must differ", r.id),
                ));
            }
            ids.push(r.id.clone());
            if let Some(list) = &r.when.indications {
                for n in list {
                    if !groups.contains(n) {
                        return Err(bad(
                            "when.indications",
                            format!(
                                "'{n}' is not allowed; allowed: {}",
                                dedup(&groups).join(", ")
                            ),
                        ));
                    }
                }
            }
            if let Some(c) = &r.when.comedication_class {
                if !classes.contains(&c.as_str()) {
                    return Err(bad(
                        "when.comedication_class",
                        format!(
                            "'{c}' is not allowed; allowed: {}",
                            dedup_str(&classes).join(", ")
                        ),
                    ));
                }
            }
            for (key, list) in [
                ("condition", &r.when.condition),
                ("condition_not", &r.when.condition_not),
            ] {
                for n in list.iter().flat_map(|l| l.names()) {
                    if !file.conditions.contains_key(n) {
                        let known: Vec<&str> = file.conditions.keys().map(String::as_str).collect();
                        return Err(bad(
                            &format!("when.{key}"),
                            format!("'{n}' is not allowed; allowed: {}", known.join(", ")),
                        ));
                    }
                }
            }
            if let Some(route) = &r.when.route {
                if route != "sc" && route != "iv" {
                    return Err(bad(
                        "when.route",
                        format!("'{route}' is not allowed; allowed: sc, iv"),
                    ));
                }
            }
            rules.push(Rule {
                id: r.id.clone(),
                title: r.title.clone(),
                when: r.when.clone(),
                outcome: r.outcome,
                reason: r.reason.clone(),
                source: r.source.clone(),
                status: r.status,
                suggest: r.suggest,
                line,
            });
        }
        Ok(RuleSet {
            drug: file.drug.name,
            drug_aliases: file.drug.aliases,
            conditions: file.conditions,
            medicines,
            indications,
            rules,
        })
    }

    /// The indication a name or alias means, or an error listing the known names.
    pub fn indication(&self, name: &str) -> Result<&Indication, String> {
        let n = normalise(name);
        self.indications
            .iter()
            .find(|i| normalise(&i.name) == n || i.aliases.iter().any(|a| normalise(a) == n))
            .ok_or_else(|| {
                let names: Vec<&str> = self.indications.iter().map(|i| i.name.as_str()).collect();
                format!("unknown indication '{name}'; known: {}", names.join(", "))
            })
    }

    /// The co-medication a name, alias or brand means, or an error listing the known names.
    pub fn medicine(&self, name: &str) -> Result<&Medicine, String> {
        let n = normalise(name);
        self.medicines
            .iter()
            .find(|m| normalise(&m.name) == n || m.aliases.iter().any(|a| normalise(a) == n))
            .ok_or_else(|| {
                let names: Vec<String> = self
                    .medicines
                    .iter()
                    .map(|m| {
                        if m.aliases.is_empty() {
                            m.name.clone()
                        } else {
                            format!("{} ({})", m.name, m.aliases.join(", "))
                        }
                    })
                    .collect();
                format!(
                    "unknown co-medication '{name}'; known: {}",
                    names.join("; ")
                )
            })
    }

    /// The drug's name when `name` is it or one of its aliases (`Kineret` → `anakinra`).
    pub fn drug_name(&self, name: &str) -> Result<&str, String> {
        let n = normalise(name);
        if normalise(&self.drug) == n || self.drug_aliases.iter().any(|a| normalise(a) == n) {
            Ok(&self.drug)
        } else {
            Err(format!(
                "the rules are for {} ({}) only; '{name}' is not known to them (known: {}, {})",
                self.drug,
                self.drug_aliases.join(", "),
                self.drug,
                self.drug_aliases.join(", ")
            ))
        }
    }
}

fn dedup(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

fn dedup_str(v: &[&str]) -> Vec<String> {
    dedup(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_rules_parse_and_every_rule_has_a_source() {
        let r = RuleSet::kineret();
        assert!(r.rules.len() >= 30, "{} rules", r.rules.len());
        for rule in &r.rules {
            assert!(!rule.source.trim().is_empty(), "{} has no source", rule.id);
            assert!(!rule.reason.trim().is_empty(), "{} has no reason", rule.id);
        }
    }

    #[test]
    fn names_accept_brands_and_spellings() {
        let r = RuleSet::kineret();
        assert_eq!(r.medicine("Enbrel").unwrap().name, "etanercept");
        assert_eq!(r.medicine("MTX").unwrap().name, "methotrexate");
        assert_eq!(r.drug_name("Kineret").unwrap(), "anakinra");
        assert_eq!(r.indication("Still's disease").unwrap().name, "stills");
        assert_eq!(r.indication("Rheumatoid Arthritis").unwrap().name, "ra");
        let e = r.medicine("aspirin-x").unwrap_err();
        assert!(e.contains("etanercept (enbrel"), "{e}");
        let e = r.indication("gout").unwrap_err();
        assert!(e.contains("ra, nomid"), "{e}");
        assert!(r.drug_name("canakinumab").unwrap_err().contains("anakinra"));
    }

    #[test]
    fn a_rule_naming_an_unknown_condition_is_an_error_with_its_line() {
        let text = KINERET_RULES_TOML.replace(
            "when = { condition = \"asthma\" }",
            "when = { condition = \"asthmaa\" }",
        );
        let e = RuleSet::parse(&text, "r.toml").unwrap_err();
        let line = text.lines().position(|l| l.contains("asthmaa")).unwrap() + 1;
        assert!(
            e.line.unwrap() <= line && e.line.unwrap() + 8 >= line,
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("'asthmaa' is not allowed; allowed: active_infection"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_key_in_when_is_an_error() {
        let text = KINERET_RULES_TOML.replace("age_at_least_y = 65", "age_over = 65");
        let e = RuleSet::parse(&text, "r.toml").unwrap_err();
        assert!(e.to_string().contains("age_over"), "{e}");
        assert!(e.line.is_some());
    }
}
