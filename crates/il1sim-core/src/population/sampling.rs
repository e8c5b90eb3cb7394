//! Drawing subjects: covariates from their declared distributions (truncated, correlated
//! through a Gaussian copula) or from a table, Cockcroft–Gault clearance, inter-individual
//! variability and residual-error draws, each subject from its own random stream; and the
//! checks these rest on (positive-definite matrices, the ranges the model accepts, the
//! probability that a draw falls inside all limits).

use super::definition::*;
use crate::model::definition::ParamId;
use crate::model::patient::{Patient, Sex};
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::collections::BTreeMap;

/// Cholesky factor of a symmetric matrix; on failure, the 0-based leading minor that is not
/// positive.
pub fn cholesky_checked(m: &DMatrix<f64>) -> Result<DMatrix<f64>, usize> {
    let n = m.nrows();
    let mut l = DMatrix::<f64>::zeros(n, n);
    for i in 0..n {
        for j in 0..=i {
            let mut sum = m[(i, j)];
            for k in 0..j {
                sum -= l[(i, k)] * l[(j, k)];
            }
            if i == j {
                if sum <= 0.0 || !sum.is_finite() {
                    return Err(i);
                }
                l[(i, i)] = sum.sqrt();
            } else {
                l[(i, j)] = sum / l[(j, j)];
            }
        }
    }
    Ok(l)
}

/// The entry that makes a symmetric matrix fail to be positive definite, for the error
/// message: `(k, k)` when the failing leading block's last diagonal entry is not positive;
/// otherwise `(k, j)`, j < k, the first entry of row k such that rows and columns `0..=j` and
/// `k` together are not positive definite (a correlation beyond ±1 when taken alone, or one
/// that the entries before it make impossible). None when the matrix is positive definite.
pub fn first_failing_entry(m: &DMatrix<f64>) -> Option<(usize, usize)> {
    let k = cholesky_checked(m).err()?;
    // A NaN diagonal is no more positive than a negative one.
    if m[(k, k)].partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return Some((k, k));
    }
    for j in 0..k {
        let idx: Vec<usize> = (0..=j).chain([k]).collect();
        let sub = DMatrix::from_fn(idx.len(), idx.len(), |r, c| m[(idx[r], idx[c])]);
        if cholesky_checked(&sub).is_err() {
            return Some((k, j));
        }
    }
    // j = k − 1 is the whole failing leading block, so the loop has returned unless rounding
    // made the block pass on its own; the diagonal is then the best single culprit.
    Some((k, k))
}

/// What the model accepts for continuous covariate `k` (an index into [`CONTINUOUS`]): for
/// weight, age and clearance the declared ranges `Patient::check` applies
/// ([`crate::model::patient::WEIGHT_RANGE_KG`], [`crate::model::patient::AGE_RANGE_Y`],
/// [`crate::model::patient::CRCL_RANGE_ML_MIN`], ends included), the one source of truth for both a
/// sampled covariate's `[min, max]` and a table's values, so that no drawn or listed subject
/// is one the model refuses. Serum creatinine is not a patient covariate: any value > 0 (its
/// Cockcroft–Gault clearance is capped at [`CRCL_CAP_ML_MIN`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AcceptedRange {
    pub(crate) lo: f64,
    pub(crate) hi: f64,
    /// Whether `lo` itself is excluded (a creatinine of 0 is not a value).
    pub(crate) lo_open: bool,
    unit: &'static str,
}

impl AcceptedRange {
    pub(crate) fn of(k: usize) -> AcceptedRange {
        use crate::model::patient::{AGE_RANGE_Y, CRCL_RANGE_ML_MIN, WEIGHT_RANGE_KG};
        let closed = |(lo, hi): (f64, f64), unit| AcceptedRange {
            lo,
            hi,
            lo_open: false,
            unit,
        };
        match k {
            0 => closed(WEIGHT_RANGE_KG, "kg"),
            1 => closed(AGE_RANGE_Y, "years"),
            2 => AcceptedRange {
                lo: 0.0,
                hi: f64::INFINITY,
                lo_open: true,
                unit: "mg/dL",
            },
            _ => closed(CRCL_RANGE_ML_MIN, "mL/min"),
        }
    }

    /// Whether a value (of a table row) is accepted.
    fn contains(&self, x: f64) -> bool {
        x.is_finite() && (x > self.lo || (!self.lo_open && x == self.lo)) && x <= self.hi
    }

    /// Whether a truncation limit is accepted: as a value, except that a limit may sit on an
    /// open lower end (a log-normal's min of 0 is no limit at all).
    pub(crate) fn contains_limit(&self, x: f64) -> bool {
        x.is_finite() && x >= self.lo && x <= self.hi
    }

    /// The rule in words: "a number >= 0.5 and <= 400 kg".
    pub(crate) fn describe(&self, open_lo: bool) -> String {
        let low = if open_lo {
            format!("> {}", self.lo)
        } else {
            format!(">= {}", self.lo)
        };
        let high = if self.hi.is_finite() {
            format!(" and <= {}", self.hi)
        } else {
            String::new()
        };
        format!("a number {low}{high} {}", self.unit)
    }
}

/// The distribution in words, for messages.
pub(crate) fn describe(kind: &MarginalKind) -> String {
    match kind {
        MarginalKind::Normal { mean, sd } => format!("normal (mean {mean}, sd {sd})"),
        MarginalKind::LogNormal { median, sigma } => format!(
            "lognormal (median {median}, cv {})",
            fmt_sig((sigma * sigma).exp_m1().sqrt())
        ),
    }
}

/// Three significant digits, for probabilities and derived figures in messages.
pub(crate) fn fmt_sig(x: f64) -> String {
    if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e6) {
        format!("{x:.2e}")
    } else {
        format!("{}", (x * 1e3).round() / 1e3)
    }
}

// ------------------------------------------------------------------ sampling

/// SplitMix64 finaliser: decorrelates nearby seeds.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The random stream of one subject: a function of (run seed, subject id) only.
pub fn subject_rng(seed: u64, id: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(splitmix(seed ^ splitmix(id)))
}

/// Cockcroft–Gault creatinine clearance (mL/min): (140 − age) · weight / (72 · SCr), × 0.85
/// in women (Cockcroft DW, Gault MH 1976 Nephron 16:31).
pub fn cockcroft_gault(age_y: f64, weight_kg: f64, scr_mg_dl: f64, female: bool) -> f64 {
    let c = (140.0 - age_y).max(0.0) * weight_kg / (72.0 * scr_mg_dl);
    if female {
        0.85 * c
    } else {
        c
    }
}

/// The clearance a subject with this serum creatinine gets, sampled or from a table alike:
/// Cockcroft–Gault capped at [`CRCL_CAP_ML_MIN`] (see there for why).
pub fn crcl_from_creatinine(age_y: f64, weight_kg: f64, scr_mg_dl: f64, female: bool) -> f64 {
    cockcroft_gault(age_y, weight_kg, scr_mg_dl, female).min(CRCL_CAP_ML_MIN)
}

// Standard normal tail and quantile (statrs), for the truncation checks at parse time.

/// Upper tail of the standard normal, 1 − Φ(x), as erfc(x/√2)/2: accurate in both tails,
/// where 1 − Φ(x) would round to 0 or 1.
fn normal_sf(x: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(x / std::f64::consts::SQRT_2)
}

/// Probability that a standard normal lies in [a, b], from the nearer tail (a plain
/// Φ(b) − Φ(a) would lose every digit far out in the upper tail).
pub(crate) fn normal_mass(a: f64, b: f64) -> f64 {
    let m = if a >= 0.0 {
        normal_sf(a) - normal_sf(b)
    } else if b <= 0.0 {
        normal_sf(-b) - normal_sf(-a)
    } else {
        1.0 - normal_sf(b) - normal_sf(-a)
    };
    m.max(0.0)
}

/// Φ⁻¹(p), with Φ⁻¹(0) = −∞ and Φ⁻¹(1) = +∞.
fn normal_quantile(p: f64) -> f64 {
    use statrs::distribution::ContinuousCDF;
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    statrs::distribution::Normal::standard().inverse_cdf(p)
}

/// A standard normal truncated to [a, b], from a uniform u in [0, 1), by inverting the
/// nearer tail.
fn truncated_normal(a: f64, b: f64, u: f64) -> f64 {
    let w = if a >= 0.0 {
        let q = normal_sf(a) - u * (normal_sf(a) - normal_sf(b));
        -normal_quantile(q)
    } else {
        // Φ(x) = normal_sf(−x).
        let (pa, pb) = (normal_sf(-a), normal_sf(-b));
        normal_quantile(pa + u * (pb - pa))
    };
    w.clamp(a, b)
}

/// Draws of the GHK estimate: its relative error is about 1/sqrt(4096) = 1.6% or less,
/// plenty for a threshold and a draw budget.
const GHK_DRAWS: usize = 4096;

/// Probability that z = L w (w independent standard normals, L lower triangular) falls
/// inside `bounds` in every coordinate: the product of the masses when L is diagonal, else
/// the GHK simulator (Geweke, Hajivassiliou, Keane) on a fixed stream, so that a file always
/// gets the same figure.
pub(crate) fn box_probability(chol: &DMatrix<f64>, bounds: &[(f64, f64)]) -> f64 {
    let dim = bounds.len();
    if (0..dim).all(|i| (0..i).all(|j| chol[(i, j)] == 0.0)) {
        return bounds.iter().map(|&(a, b)| normal_mass(a, b)).product();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0x0067_686b);
    let mut w = vec![0.0; dim];
    let mut total = 0.0;
    for _ in 0..GHK_DRAWS {
        let mut weight = 1.0;
        for i in 0..dim {
            let shift: f64 = (0..i).map(|j| chol[(i, j)] * w[j]).sum();
            let d = chol[(i, i)];
            let (a, b) = ((bounds[i].0 - shift) / d, (bounds[i].1 - shift) / d);
            weight *= normal_mass(a, b);
            if weight == 0.0 {
                break;
            }
            w[i] = truncated_normal(a, b, rng.random::<f64>());
        }
        total += weight;
    }
    total / GHK_DRAWS as f64
}

/// Tries allowed for one subject's covariates when one try succeeds with probability
/// `acceptance`: 50 / acceptance, so that a subject fails with probability about e^-50 (or
/// e^-25 if the estimate is twice too high), and never fewer than 1,000 (the budget of
/// earlier versions, so their draws are unchanged).
pub(crate) fn draw_budget(acceptance: f64) -> u64 {
    let want = (50.0 / acceptance.max(MIN_TRUNCATED_MASS)).ceil();
    (want as u64).max(1000)
}

/// Draws for one subject.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectDraw {
    pub id: u64,
    pub patient: Patient,
    pub serum_creatinine_mg_dl: Option<f64>,
    /// exp(η) per variability parameter.
    pub multipliers: Vec<(ParamId, f64)>,
    /// Standard normal draws for residual errors (two per residual spec and regimen).
    pub epsilon: Vec<f64>,
}

/// A subject's covariates and random effects. Err is a covariate-sampling failure (no try
/// inside the limits within the budget), which the checks at parse time make all but
/// impossible.
pub fn draw_subject(pop: &PopulationScenario, id: u64) -> Result<SubjectDraw, String> {
    draw_subject_screen(pop, id, 0)
}

/// The `screen`-th draw of subject `id` (0 is [`draw_subject`]'s): a screen failure under the
/// population's inclusion criterion is redrawn from a stream of its own, so the result does
/// not depend on the thread count or on other subjects.
pub fn draw_subject_screen(
    pop: &PopulationScenario,
    id: u64,
    screen: u32,
) -> Result<SubjectDraw, String> {
    let mut rng = if screen == 0 {
        subject_rng(pop.seed, id)
    } else {
        subject_rng(pop.seed ^ splitmix(u64::from(screen)), id)
    };
    let (patient, scr) = match &pop.covariates {
        Covariates::Table(rows) => {
            if rows.is_empty() {
                return Err("the covariate table has no rows".into());
            }
            let r = &rows[(id % rows.len() as u64) as usize];
            (
                Patient {
                    weight_kg: r.weight_kg,
                    age_y: r.age_y,
                    sex: if r.female { Sex::Female } else { Sex::Male },
                    crcl_ml_min: r.crcl_ml_min,
                    disease: pop.disease.clone(),
                },
                r.serum_creatinine_mg_dl,
            )
        }
        Covariates::Sampled {
            marginals,
            chol,
            female_fraction,
            max_draws,
            acceptance,
        } => {
            let female = rng.random::<f64>() < *female_fraction;
            let dim = marginals.len();
            let mut values = [f64::NAN; 4];
            let mut ok = false;
            for _ in 0..*max_draws {
                let z: Vec<f64> = (0..dim).map(|_| StandardNormal.sample(&mut rng)).collect();
                let mut inside = true;
                for (i, (k, m)) in marginals.iter().enumerate() {
                    let zi: f64 = (0..=i).map(|j| chol[(i, j)] * z[j]).sum();
                    let v = m.value(zi);
                    inside &= v >= m.min && v <= m.max;
                    values[*k] = v;
                }
                if inside {
                    ok = true;
                    break;
                }
            }
            if !ok {
                let names: Vec<&str> = marginals.iter().map(|(k, _)| CONTINUOUS[*k]).collect();
                return Err(format!(
                    "covariate sampling failed: no draw of {} inside their [min, max] limits in {max_draws} tries (the limits hold about {} of the distribution)",
                    names.join(", "),
                    fmt_sig(*acceptance)
                ));
            }
            let (weight, age) = (values[0], values[1]);
            let (crcl, scr) = if values[2].is_finite() {
                (
                    crcl_from_creatinine(age, weight, values[2], female),
                    Some(values[2]),
                )
            } else {
                (values[3], None)
            };
            (
                Patient {
                    weight_kg: weight,
                    age_y: age,
                    sex: if female { Sex::Female } else { Sex::Male },
                    crcl_ml_min: crcl,
                    disease: pop.disease.clone(),
                },
                scr,
            )
        }
    };
    let multipliers = match &pop.variability {
        None => vec![],
        Some(v) => {
            let n = v.parameters.len();
            let z: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
            (0..n)
                .map(|i| {
                    (
                        v.parameters[i].1,
                        ((0..=i).map(|j| v.chol[(i, j)] * z[j]).sum::<f64>()).exp(),
                    )
                })
                .collect()
        }
    };
    let epsilon = (0..2 * pop.residual.len() * pop.regimens.len())
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    Ok(SubjectDraw {
        id,
        patient,
        serum_creatinine_mg_dl: scr,
        multipliers,
        epsilon,
    })
}

/// Rows of a covariate table from CSV records, each with its line in the file, for front
/// ends that read CSV files. Every value is checked here, at load, against what the model
/// accepts (the declared ranges `Patient::check` applies, through the same [`AcceptedRange`]
/// as sampled limits), so a bad row is an error naming its file, line and column rather than
/// a failed subject later. Cockcroft–Gault clearances from `serum_creatinine_mg_dl` are capped
/// as for sampled covariates ([`crcl_from_creatinine`]); a `crcl_ml_min` given outright must
/// be within the accepted range.
pub fn covariate_rows_from_records(
    records: &[(u64, BTreeMap<String, String>)],
    origin: &str,
) -> Result<Vec<CovariateRow>, String> {
    let mut rows = Vec::new();
    for (line, r) in records {
        let line = *line;
        let text = |k: &str| -> Result<&String, String> {
            r.get(k).ok_or_else(|| format!("{origin}:{line}: column '{k}' is missing; columns needed: weight_kg, age_y, sex, and crcl_ml_min or serum_creatinine_mg_dl"))
        };
        // Column `k` (an index into CONTINUOUS) as a number the model accepts.
        let num = |k: usize| -> Result<f64, String> {
            let name = CONTINUOUS[k];
            let v = text(name)?;
            let accepted = AcceptedRange::of(k);
            match v.trim().parse::<f64>() {
                Ok(x) if accepted.contains(x) => Ok(x),
                _ => Err(format!(
                    "{origin}:{line}: column {name} = '{v}' is not allowed; {} (what the model accepts)",
                    accepted.describe(accepted.lo_open)
                )),
            }
        };
        let weight_kg = num(0)?;
        let age_y = num(1)?;
        let sex = text("sex")?;
        let female = match Sex::parse(sex.trim()) {
            Some(Sex::Female) => true,
            Some(Sex::Male) => false,
            None => {
                return Err(format!(
                    "{origin}:{line}: column sex = '{sex}' is not allowed; allowed: female, male (or f, m)"
                ))
            }
        };
        let (crcl_ml_min, scr) = match (r.get("crcl_ml_min"), r.get("serum_creatinine_mg_dl")) {
            (Some(_), _) => (num(3)?, None),
            (None, Some(_)) => {
                let s = num(2)?;
                (crcl_from_creatinine(age_y, weight_kg, s, female), Some(s))
            }
            (None, None) => {
                return Err(format!(
                    "{origin}:{line}: give a column crcl_ml_min or serum_creatinine_mg_dl"
                ))
            }
        };
        rows.push(CovariateRow {
            weight_kg,
            age_y,
            female,
            crcl_ml_min,
            serum_creatinine_mg_dl: scr,
        });
    }
    if rows.is_empty() {
        return Err(format!("{origin}: the covariate table has no rows"));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_names_the_failing_block() {
        let ok = DMatrix::from_row_slice(2, 2, &[0.09, 0.03, 0.03, 0.04]);
        assert!(cholesky_checked(&ok).is_ok());
        let bad = DMatrix::from_row_slice(2, 2, &[0.09, 0.1, 0.1, 0.04]);
        assert_eq!(cholesky_checked(&bad).unwrap_err(), 1);
    }

    #[test]
    fn cockcroft_gault_reference() {
        // 60-year-old, 72 kg man with SCr 1.0 mg/dL: (140-60)*72/72 = 80 mL/min.
        assert!((cockcroft_gault(60.0, 72.0, 1.0, false) - 80.0).abs() < 1e-12);
        assert!((cockcroft_gault(60.0, 72.0, 1.0, true) - 68.0).abs() < 1e-12);
    }

    #[test]
    fn failing_entry_of_a_matrix() {
        let m = DMatrix::from_row_slice(2, 2, &[0.09, 0.1, 0.1, 0.04]);
        assert_eq!(first_failing_entry(&m), Some((1, 0)));
        let m = DMatrix::from_row_slice(2, 2, &[0.09, 0.0, 0.0, -0.04]);
        assert_eq!(first_failing_entry(&m), Some((1, 1)));
        let m = DMatrix::from_row_slice(3, 3, &[1.0, 0.9, 0.9, 0.9, 1.0, -0.9, 0.9, -0.9, 1.0]);
        assert_eq!(first_failing_entry(&m), Some((2, 1)));
        assert_eq!(first_failing_entry(&DMatrix::identity(3, 3)), None);
    }

    #[test]
    fn table_rows_are_checked_at_load() {
        let rec = |line: u64, cells: &[(&str, &str)]| {
            (
                line,
                cells
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            )
        };
        let good = rec(
            2,
            &[
                ("weight_kg", "62"),
                ("age_y", "48"),
                ("sex", "female"),
                ("serum_creatinine_mg_dl", "0.8"),
            ],
        );
        let cases = [
            (
                ("weight_kg", "-5"),
                "p.csv:3: column weight_kg = '-5' is not allowed; a number >= 0.5 and <= 400 kg (what the model accepts)",
            ),
            (
                // Under Patient::check's 0.5 kg: refused at load, not a failed solve later.
                ("weight_kg", "0.3"),
                "p.csv:3: column weight_kg = '0.3' is not allowed; a number >= 0.5 and <= 400 kg",
            ),
            (
                ("age_y", "130"),
                "p.csv:3: column age_y = '130' is not allowed; a number >= 0 and <= 120 years",
            ),
            (
                ("serum_creatinine_mg_dl", "0"),
                "p.csv:3: column serum_creatinine_mg_dl = '0' is not allowed; a number > 0 mg/dL",
            ),
            (("sex", "x"), "p.csv:3: column sex = 'x' is not allowed"),
            (
                ("weight_kg", "NaN"),
                "p.csv:3: column weight_kg = 'NaN' is not allowed",
            ),
        ];
        for ((k, v), want) in cases {
            let mut bad = good.clone();
            bad.0 = 3;
            bad.1.insert(k.into(), v.into());
            let e = covariate_rows_from_records(&[good.clone(), bad], "p.csv").unwrap_err();
            assert!(e.starts_with(want), "{e}");
        }
        let crcl = rec(
            4,
            &[
                ("weight_kg", "62"),
                ("age_y", "48"),
                ("sex", "male"),
                ("crcl_ml_min", "350"),
            ],
        );
        let e = covariate_rows_from_records(&[crcl], "p.csv").unwrap_err();
        assert!(e.starts_with("p.csv:4: column crcl_ml_min = '350' is not allowed; a number >= 0 and <= 300 mL/min"), "{e}");
    }

    #[test]
    fn normal_tail_and_quantile_are_accurate() {
        // Reference values: 0.5 erfc(x / sqrt 2) of Python's math module.
        for (x, sf) in [
            (-1.0, 0.841_344_746_068_542_9),
            (1.96, 0.024_997_895_148_220_435),
            (45.0 / 13.0, 2.685_486_846_444_473_3e-4),
            (5.0, 2.866_515_718_791_946e-7),
            (8.0, 6.220_960_574_271_819e-16),
        ] {
            assert!(
                (normal_sf(x) / sf - 1.0).abs() < 2e-7,
                "{x}: {} vs {sf}",
                normal_sf(x)
            );
        }
        for p in [1e-12, 1e-6, 0.01, 0.3, 0.5, 0.9, 0.999] {
            let x = normal_quantile(p);
            assert!((normal_sf(-x) / p - 1.0).abs() < 1e-6, "{p}");
        }
    }

    #[test]
    fn ghk_estimate_agrees_with_counting() {
        // Two covariates correlated 0.6, each truncated to its upper 30%, the other way round
        // for the second: P about 2%.
        let r = DMatrix::from_row_slice(2, 2, &[1.0, 0.6, 0.6, 1.0]);
        let l = cholesky_checked(&r).unwrap();
        let bounds = [(0.5244, f64::INFINITY), (f64::NEG_INFINITY, -0.5244)];
        let ghk = box_probability(&l, &bounds);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 400_000;
        let mut hits = 0;
        for _ in 0..n {
            let w: [f64; 2] = [
                StandardNormal.sample(&mut rng),
                StandardNormal.sample(&mut rng),
            ];
            let z = [w[0], l[(1, 0)] * w[0] + l[(1, 1)] * w[1]];
            hits += (z[0] >= bounds[0].0 && z[1] <= bounds[1].1) as u32;
        }
        let counted = hits as f64 / n as f64;
        assert!((ghk / counted - 1.0).abs() < 0.05, "{ghk} vs {counted}");
    }
}
