//! MathML expressions of the subset the export writes: built, evaluated (the tests check the
//! rate laws against the compiled system with it), written as infix text and as MathML; and
//! the XML escaping that MathML and the document share.

use std::fmt::Write as _;

pub const SBML_NAMESPACE: &str = "http://www.sbml.org/sbml/level3/version2/core";
const MATHML_NAMESPACE: &str = "http://www.w3.org/1998/Math/MathML";
const TIME_URL: &str = "http://www.sbml.org/sbml/symbols/time";

// ------------------------------------------------------------------------------- math

/// A MathML expression (the subset the export writes). Comparisons evaluate to 1 or 0.
#[derive(Debug, Clone, PartialEq)]
pub enum Math {
    Num(f64),
    /// A number with units (an SBML unit id), written as `<cn sbml:units="...">`.
    Quantity(f64, String),
    /// A reference to a compartment, species or parameter id.
    Id(String),
    /// Simulation time (h).
    Time,
    Plus(Vec<Math>),
    Times(Vec<Math>),
    Minus(Box<Math>, Box<Math>),
    Divide(Box<Math>, Box<Math>),
    Power(Box<Math>, Box<Math>),
    Gt(Box<Math>, Box<Math>),
    Geq(Box<Math>, Box<Math>),
    /// `value` if `condition`, else `otherwise`.
    Piecewise {
        value: Box<Math>,
        condition: Box<Math>,
        otherwise: Box<Math>,
    },
}

pub(super) fn quantity(value: f64, units: &str) -> Math {
    Math::Quantity(value, units.to_string())
}

pub(super) fn id(name: &str) -> Math {
    Math::Id(name.to_string())
}

pub(super) fn times(terms: Vec<Math>) -> Math {
    Math::Times(terms)
}

pub(super) fn minus(a: Math, b: Math) -> Math {
    Math::Minus(Box::new(a), Box::new(b))
}

pub(super) fn divide(a: Math, b: Math) -> Math {
    Math::Divide(Box::new(a), Box::new(b))
}

pub(super) fn power(a: Math, b: Math) -> Math {
    Math::Power(Box::new(a), Box::new(b))
}

impl Math {
    /// Evaluate with `lookup` giving the value of each id and `time` the simulation time.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> f64, time: f64) -> f64 {
        let b = |v: bool| if v { 1.0 } else { 0.0 };
        match self {
            Math::Num(x) | Math::Quantity(x, _) => *x,
            Math::Id(name) => lookup(name),
            Math::Time => time,
            Math::Plus(v) => v.iter().map(|m| m.eval(lookup, time)).sum(),
            Math::Times(v) => v.iter().map(|m| m.eval(lookup, time)).product(),
            Math::Minus(a, c) => a.eval(lookup, time) - c.eval(lookup, time),
            Math::Divide(a, c) => a.eval(lookup, time) / c.eval(lookup, time),
            Math::Power(a, c) => a.eval(lookup, time).powf(c.eval(lookup, time)),
            Math::Gt(a, c) => b(a.eval(lookup, time) > c.eval(lookup, time)),
            Math::Geq(a, c) => b(a.eval(lookup, time) >= c.eval(lookup, time)),
            Math::Piecewise {
                value,
                condition,
                otherwise,
            } => {
                if condition.eval(lookup, time) != 0.0 {
                    value.eval(lookup, time)
                } else {
                    otherwise.eval(lookup, time)
                }
            }
        }
    }

    /// Every id the expression refers to.
    pub fn ids(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_ids(&mut out);
        out
    }

    fn collect_ids(&self, out: &mut Vec<String>) {
        match self {
            Math::Num(_) | Math::Quantity(..) | Math::Time => {}
            Math::Id(name) => out.push(name.clone()),
            Math::Plus(v) | Math::Times(v) => v.iter().for_each(|m| m.collect_ids(out)),
            Math::Minus(a, b)
            | Math::Divide(a, b)
            | Math::Power(a, b)
            | Math::Gt(a, b)
            | Math::Geq(a, b) => {
                a.collect_ids(out);
                b.collect_ids(out);
            }
            Math::Piecewise {
                value,
                condition,
                otherwise,
            } => {
                value.collect_ids(out);
                condition.collect_ids(out);
                otherwise.collect_ids(out);
            }
        }
    }

    /// Infix text (SBML L3 formula style), for notes.
    pub fn infix(&self) -> String {
        self.infix_prec(0)
    }

    /// Precedence: 0 comparison, 1 sum, 2 product, 3 power, 4 atom.
    fn infix_prec(&self, outer: u8) -> String {
        let wrap = |s: String, own: u8| {
            if own < outer {
                format!("({s})")
            } else {
                s
            }
        };
        match self {
            Math::Num(x) => fmt_num(*x),
            Math::Quantity(x, units) => format!("{} {units}", fmt_num(*x)),
            Math::Id(name) => name.clone(),
            Math::Time => "time".into(),
            Math::Plus(v) => wrap(
                v.iter()
                    .map(|m| m.infix_prec(1))
                    .collect::<Vec<_>>()
                    .join(" + "),
                1,
            ),
            Math::Times(v) => wrap(
                v.iter()
                    .map(|m| m.infix_prec(2))
                    .collect::<Vec<_>>()
                    .join(" * "),
                2,
            ),
            Math::Minus(a, b) => wrap(format!("{} - {}", a.infix_prec(1), b.infix_prec(2)), 1),
            Math::Divide(a, b) => wrap(format!("{} / {}", a.infix_prec(2), b.infix_prec(3)), 2),
            Math::Power(a, b) => wrap(format!("{}^{}", a.infix_prec(4), b.infix_prec(4)), 3),
            Math::Gt(a, b) => wrap(format!("{} > {}", a.infix_prec(1), b.infix_prec(1)), 0),
            Math::Geq(a, b) => wrap(format!("{} >= {}", a.infix_prec(1), b.infix_prec(1)), 0),
            Math::Piecewise {
                value,
                condition,
                otherwise,
            } => format!(
                "piecewise({}, {}, {})",
                value.infix(),
                condition.infix(),
                otherwise.infix()
            ),
        }
    }

    fn write_mathml(&self, out: &mut String) {
        let apply = |out: &mut String, op: &str, args: &[&Math]| {
            let _ = write!(out, "<apply><{op}/>");
            for a in args {
                a.write_mathml(out);
            }
            out.push_str("</apply>");
        };
        match self {
            Math::Num(x) => {
                let _ = write!(out, "<cn>{}</cn>", fmt_num(*x));
            }
            Math::Quantity(x, units) => {
                let _ = write!(
                    out,
                    "<cn sbml:units=\"{}\">{}</cn>",
                    escape(units),
                    fmt_num(*x)
                );
            }
            Math::Id(name) => {
                let _ = write!(out, "<ci>{}</ci>", escape(name));
            }
            Math::Time => {
                let _ = write!(
                    out,
                    "<csymbol encoding=\"text\" definitionURL=\"{TIME_URL}\">time</csymbol>"
                );
            }
            Math::Plus(v) => apply(out, "plus", &v.iter().collect::<Vec<_>>()),
            Math::Times(v) => apply(out, "times", &v.iter().collect::<Vec<_>>()),
            Math::Minus(a, b) => apply(out, "minus", &[a, b]),
            Math::Divide(a, b) => apply(out, "divide", &[a, b]),
            Math::Power(a, b) => apply(out, "power", &[a, b]),
            Math::Gt(a, b) => apply(out, "gt", &[a, b]),
            Math::Geq(a, b) => apply(out, "geq", &[a, b]),
            Math::Piecewise {
                value,
                condition,
                otherwise,
            } => {
                out.push_str("<piecewise><piece>");
                value.write_mathml(out);
                condition.write_mathml(out);
                out.push_str("</piece><otherwise>");
                otherwise.write_mathml(out);
                out.push_str("</otherwise></piecewise>");
            }
        }
    }

    /// `<math>` element with this expression.
    pub fn to_mathml(&self) -> String {
        let mut body = String::new();
        self.write_mathml(&mut body);
        let mut s = if body.contains("sbml:units") {
            format!("<math xmlns=\"{MATHML_NAMESPACE}\" xmlns:sbml=\"{SBML_NAMESPACE}\">")
        } else {
            format!("<math xmlns=\"{MATHML_NAMESPACE}\">")
        };
        s.push_str(&body);
        s.push_str("</math>");
        s
    }
}

/// Shortest text that parses back to exactly `x` (plain decimals in a readable range,
/// scientific notation outside it).
pub fn fmt_num(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if (1e-4..1e15).contains(&a) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// Escape text for XML element content and attribute values; drops control characters
/// that XML 1.0 does not allow.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            '\t' | '\n' | '\r' => s.push(c),
            c if (c as u32) < 0x20 => {}
            c => s.push(c),
        }
    }
    s
}
