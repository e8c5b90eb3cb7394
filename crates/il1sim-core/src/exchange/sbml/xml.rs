//! Writing the document: XML escaping, an indenting writer, the document's elements in
//! SBML Level 3 Version 2 order, and [`export_sbml`] (build and write).

use super::builder::sbml_model;
use super::document::*;
use super::math::{escape, fmt_num, quantity, Math, SBML_NAMESPACE};
use crate::dosing::regimen::Regimen;
use crate::error::SimError;
use crate::solve::subject::Subject;
use std::fmt::Write as _;

const XHTML_NAMESPACE: &str = "http://www.w3.org/1999/xhtml";
/// Namespace of il1sim's own annotations (the solver's absolute-tolerance scale per species).
pub const ANNOTATION_NAMESPACE: &str = "urn:il1sim:sbml-annotation:1";

/// The SBML document text for `subject` under `regimen` over `horizon_h` hours.
pub fn export_sbml(
    subject: &Subject,
    regimen: &Regimen,
    horizon_h: f64,
) -> Result<String, SimError> {
    Ok(sbml_model(subject, regimen, horizon_h)?.to_xml())
}

// ------------------------------------------------------------------------------- XML

/// Escape element content (quotes may stay as they are).
fn escape_text(text: &str) -> String {
    escape(text).replace("&quot;", "\"").replace("&apos;", "'")
}

struct Xml {
    out: String,
    depth: usize,
}

impl Xml {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn attrs(attrs: &[(&str, String)]) -> String {
        attrs
            .iter()
            .map(|(k, v)| format!(" {k}=\"{}\"", escape(v)))
            .collect()
    }

    fn open(&mut self, tag: &str, attrs: &[(&str, String)]) {
        self.indent();
        let _ = writeln!(self.out, "<{tag}{}>", Self::attrs(attrs));
        self.depth += 1;
    }

    fn close(&mut self, tag: &str) {
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.out, "</{tag}>");
    }

    fn empty(&mut self, tag: &str, attrs: &[(&str, String)]) {
        self.indent();
        let _ = writeln!(self.out, "<{tag}{}/>", Self::attrs(attrs));
    }

    fn line(&mut self, text: &str) {
        self.indent();
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn notes(&mut self, paragraphs: &[String]) {
        let paragraphs: Vec<&String> = paragraphs.iter().filter(|p| !p.trim().is_empty()).collect();
        if paragraphs.is_empty() {
            return;
        }
        self.open("notes", &[]);
        self.open("body", &[("xmlns", XHTML_NAMESPACE.into())]);
        for p in paragraphs {
            self.line(&format!("<p>{}</p>", escape_text(p)));
        }
        self.close("body");
        self.close("notes");
    }

    fn math(&mut self, m: &Math) {
        self.line(&m.to_mathml());
    }
}

fn bool_text(b: bool) -> String {
    if b { "true" } else { "false" }.to_string()
}

impl SbmlModel {
    /// The SBML Level 3 Version 2 core document.
    pub fn to_xml(&self) -> String {
        let mut x = Xml {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            depth: 0,
        };
        x.open(
            "sbml",
            &[
                ("xmlns", SBML_NAMESPACE.into()),
                ("level", "3".into()),
                ("version", "2".into()),
            ],
        );
        x.open(
            "model",
            &[
                ("id", self.id.clone()),
                ("name", self.name.clone()),
                ("substanceUnits", "nmol".into()),
                ("timeUnits", "hour".into()),
                ("volumeUnits", "litre".into()),
                ("areaUnits", "square_metre".into()),
                ("lengthUnits", "metre".into()),
                ("extentUnits", "nmol".into()),
            ],
        );
        x.notes(&self.notes);

        x.open("listOfUnitDefinitions", &[]);
        for u in &self.unit_definitions {
            x.open("unitDefinition", &[("id", u.id.into())]);
            x.open("listOfUnits", &[]);
            for &(kind, exponent, scale, multiplier) in &u.units {
                x.empty(
                    "unit",
                    &[
                        ("kind", kind.into()),
                        ("exponent", exponent.to_string()),
                        ("scale", scale.to_string()),
                        ("multiplier", fmt_num(multiplier)),
                    ],
                );
            }
            x.close("listOfUnits");
            x.close("unitDefinition");
        }
        x.close("listOfUnitDefinitions");

        x.open("listOfCompartments", &[]);
        for c in &self.compartments {
            x.open(
                "compartment",
                &[
                    ("id", c.id.clone()),
                    ("name", c.name.clone()),
                    ("spatialDimensions", "3".into()),
                    ("size", fmt_num(c.size)),
                    ("units", "litre".into()),
                    ("constant", "true".into()),
                ],
            );
            x.notes(&c.notes);
            x.close("compartment");
        }
        x.close("listOfCompartments");

        x.open("listOfSpecies", &[]);
        for s in &self.species {
            let initial = if s.amount {
                "initialAmount"
            } else {
                "initialConcentration"
            };
            x.open(
                "species",
                &[
                    ("id", s.id.clone()),
                    ("name", s.name.clone()),
                    ("compartment", s.compartment.clone()),
                    (initial, fmt_num(s.initial)),
                    ("substanceUnits", "nmol".into()),
                    ("hasOnlySubstanceUnits", bool_text(s.amount)),
                    ("boundaryCondition", "false".into()),
                    ("constant", "false".into()),
                ],
            );
            x.notes(&s.notes);
            x.open("annotation", &[]);
            x.empty(
                "il1sim:state",
                &[
                    ("xmlns:il1sim", ANNOTATION_NAMESPACE.into()),
                    ("atol_scale", fmt_num(s.atol_scale)),
                ],
            );
            x.close("annotation");
            x.close("species");
        }
        x.close("listOfSpecies");

        x.open("listOfParameters", &[]);
        for p in &self.parameters {
            let mut attrs = vec![
                ("id", p.id.clone()),
                ("name", p.name.clone()),
                ("value", fmt_num(p.value)),
            ];
            if let Some(u) = &p.units {
                attrs.push(("units", u.clone()));
            }
            attrs.push(("constant", bool_text(p.constant)));
            x.open("parameter", &attrs);
            x.notes(&p.notes);
            x.close("parameter");
        }
        x.close("listOfParameters");

        x.open("listOfRules", &[]);
        for r in &self.rules {
            x.open("assignmentRule", &[("variable", r.variable.clone())]);
            x.math(&r.math);
            x.close("assignmentRule");
        }
        x.close("listOfRules");

        x.open("listOfReactions", &[]);
        for r in &self.reactions {
            x.open(
                "reaction",
                &[
                    ("id", r.id.clone()),
                    ("name", r.name.clone()),
                    ("reversible", bool_text(r.reversible)),
                ],
            );
            x.notes(&r.notes);
            for (list, refs) in [
                ("listOfReactants", &r.reactants),
                ("listOfProducts", &r.products),
            ] {
                if refs.is_empty() {
                    continue;
                }
                x.open(list, &[]);
                for s in refs {
                    x.empty(
                        "speciesReference",
                        &[
                            ("species", s.clone()),
                            ("stoichiometry", "1".into()),
                            ("constant", "true".into()),
                        ],
                    );
                }
                x.close(list);
            }
            if !r.modifiers.is_empty() {
                x.open("listOfModifiers", &[]);
                for s in &r.modifiers {
                    x.empty("modifierSpeciesReference", &[("species", s.clone())]);
                }
                x.close("listOfModifiers");
            }
            x.open("kineticLaw", &[]);
            x.math(&r.law);
            x.close("kineticLaw");
            x.close("reaction");
        }
        x.close("listOfReactions");

        if !self.events.is_empty() {
            x.open("listOfEvents", &[]);
            for e in &self.events {
                x.open(
                    "event",
                    &[
                        ("id", e.id.clone()),
                        ("name", e.name.clone()),
                        ("useValuesFromTriggerTime", "true".into()),
                    ],
                );
                x.notes(&e.notes);
                x.open(
                    "trigger",
                    &[
                        ("initialValue", "false".into()),
                        ("persistent", "true".into()),
                    ],
                );
                x.math(&Math::Geq(
                    Box::new(Math::Time),
                    Box::new(quantity(e.time_h, "hour")),
                ));
                x.close("trigger");
                x.open("listOfEventAssignments", &[]);
                for (variable, m) in &e.assignments {
                    x.open("eventAssignment", &[("variable", variable.clone())]);
                    x.math(m);
                    x.close("eventAssignment");
                }
                x.close("listOfEventAssignments");
                x.close("event");
            }
            x.close("listOfEvents");
        }

        x.close("model");
        x.close("sbml");
        x.out
    }
}
