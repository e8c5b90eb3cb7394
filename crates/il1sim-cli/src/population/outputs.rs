//! The outputs of a population run: the subjects table (Parquet, CSV) and time courses, the
//! percentile bands, target attainment and their figures, staged under temporary names and
//! placed as one set, and the summary printed at the end.

use super::shards::Manifest;
use crate::output::{csv_text, num, PlaceStep};
use crate::plot::attainment::{attainment_png, attainment_svg, AttainmentChart, AttainmentGroup};
use crate::plot::timecourse::{timecourse_svg, DoseMarks, Panel, Series};
use arrow_array::builder::{Float64Builder, StringBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use il1sim_core::dosing::regimen::HOURS_PER_DAY;
use il1sim_core::model::units::unit_slug;
use il1sim_core::population::aggregates::{Aggregates, GROUPS};
use il1sim_core::population::outcome::SubjectOutcome;
use parquet::file::properties::WriterProperties;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows per Parquet row group.
pub(super) const ROW_GROUP: usize = 65_536;
pub(super) fn schema(m: &Manifest, variability: &[String]) -> Arc<Schema> {
    let mut fields = vec![
        Field::new("subject_id", DataType::UInt64, false),
        Field::new("regimen", DataType::Utf8, false),
        // Covariates are empty (null) for a subject whose covariates could not be sampled.
        Field::new("weight_kg", DataType::Float64, true),
        Field::new("age_y", DataType::Float64, true),
        Field::new("sex", DataType::Utf8, true),
        Field::new("serum_creatinine_mg_dl", DataType::Float64, true),
        Field::new("crcl_ml_min", DataType::Float64, true),
    ];
    for p in variability {
        fields.push(Field::new(format!("{p}_factor"), DataType::Float64, true));
    }
    for (name, unit) in &m.figures {
        fields.push(Field::new(
            format!("{name}_{}", unit_slug(unit)),
            DataType::Float64,
            true,
        ));
    }
    fields.push(Field::new(
        "trough_observed_ng_per_mL",
        DataType::Float64,
        true,
    ));
    fields.push(Field::new("failure", DataType::Utf8, true));
    Arc::new(Schema::new(fields))
}

pub(super) fn batch(
    schema: &Arc<Schema>,
    outcomes: &[SubjectOutcome],
    m: &Manifest,
    n_var: usize,
) -> Result<RecordBatch, String> {
    let rows = outcomes.len() * m.regimens.len();
    let mut id = UInt64Builder::with_capacity(rows);
    let mut regimen = StringBuilder::new();
    let (mut w, mut a, mut scr, mut crcl) = (
        Float64Builder::new(),
        Float64Builder::new(),
        Float64Builder::new(),
        Float64Builder::new(),
    );
    let mut sex = StringBuilder::new();
    let mut vars: Vec<Float64Builder> = (0..n_var).map(|_| Float64Builder::new()).collect();
    let mut figs: Vec<Float64Builder> = (0..m.figures.len())
        .map(|_| Float64Builder::new())
        .collect();
    let mut observed = Float64Builder::new();
    let mut failure = StringBuilder::new();
    for o in outcomes {
        for (r, out) in o.regimens.iter().enumerate() {
            id.append_value(o.id);
            regimen.append_value(&m.regimens[r]);
            let d = o.draw.as_ref();
            w.append_option(d.map(|d| d.patient.weight_kg));
            a.append_option(d.map(|d| d.patient.age_y));
            sex.append_option(d.map(|d| d.patient.sex.label()));
            scr.append_option(d.and_then(|d| d.serum_creatinine_mg_dl));
            crcl.append_option(d.map(|d| d.patient.crcl_ml_min));
            for (i, b) in vars.iter_mut().enumerate() {
                b.append_option(d.and_then(|d| d.multipliers.get(i)).map(|x| x.1));
            }
            match out {
                Ok(out) => {
                    for (i, b) in figs.iter_mut().enumerate() {
                        b.append_value(out.figures[i]);
                    }
                    observed.append_option(out.observed_trough.first().copied());
                    failure.append_null();
                }
                Err(e) => {
                    figs.iter_mut().for_each(|b| b.append_null());
                    observed.append_null();
                    failure.append_value(e);
                }
            }
        }
    }
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(regimen.finish()),
        Arc::new(w.finish()),
        Arc::new(a.finish()),
        Arc::new(sex.finish()),
        Arc::new(scr.finish()),
        Arc::new(crcl.finish()),
    ];
    cols.extend(vars.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    cols.extend(figs.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    cols.push(Arc::new(observed.finish()));
    cols.push(Arc::new(failure.finish()));
    RecordBatch::try_new(schema.clone(), cols).map_err(|e| e.to_string())
}

pub(super) fn timecourse_schema(m: &Manifest) -> Arc<Schema> {
    let mut fields = vec![
        Field::new("subject_id", DataType::UInt64, false),
        Field::new("regimen", DataType::Utf8, false),
        Field::new("time_h", DataType::Float64, false),
    ];
    for (name, unit, _) in &m.band_observables {
        fields.push(Field::new(
            format!("{name}_{}", unit_slug(unit)),
            DataType::Float64,
            false,
        ));
    }
    Arc::new(Schema::new(fields))
}

pub(super) fn timecourse_batch(
    schema: &Arc<Schema>,
    outcomes: &[SubjectOutcome],
    m: &Manifest,
) -> Result<RecordBatch, String> {
    let mut id = UInt64Builder::new();
    let mut regimen = StringBuilder::new();
    let mut time = Float64Builder::new();
    let mut obs: Vec<Float64Builder> = (0..m.band_observables.len())
        .map(|_| Float64Builder::new())
        .collect();
    for o in outcomes {
        for (r, out) in o.regimens.iter().enumerate() {
            let Ok(out) = out else { continue };
            for (t, th) in m.band_times_h.iter().enumerate() {
                id.append_value(o.id);
                regimen.append_value(&m.regimens[r]);
                time.append_value(*th);
                for (k, b) in obs.iter_mut().enumerate() {
                    b.append_value(out.bands[k][t]);
                }
            }
        }
    }
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(regimen.finish()),
        Arc::new(time.finish()),
    ];
    cols.extend(obs.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    RecordBatch::try_new(schema.clone(), cols).map_err(|e| e.to_string())
}

pub(crate) fn writer_props() -> WriterProperties {
    WriterProperties::builder()
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .set_created_by(format!("il1sim {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Outputs of a merge, written under temporary names and moved into place only once all are
/// written, as one set (the approach of `output::write_set_atomic`, whose in-memory interface
/// does not fit the Parquet files streamed here): a merge that fails (a bad shard, a full disk,
/// a directory where an output must go, a rename refused) leaves the previous outputs, or
/// none, but never a mix, and no temporary file. Only a crash during the renames themselves
/// can leave a mixed set, with the old files still present under their aside names.
pub(super) struct Staged {
    out: PathBuf,
    /// (temporary, final) paths written so far.
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staged {
    pub(super) fn new(out: &Path) -> Staged {
        Staged {
            out: out.to_path_buf(),
            files: Vec::new(),
        }
    }

    /// The temporary path for output `name` (registered; renamed by `commit`). An output
    /// staged twice would lose one of the two: an error.
    pub(super) fn path(&mut self, name: &str) -> Result<PathBuf, String> {
        let target = self.out.join(name);
        if self.files.iter().any(|(_, f)| *f == target) {
            return Err(format!(
                "internal error: output {} staged twice (please report it)",
                target.display()
            ));
        }
        let tmp = self.out.join(format!(".{name}.tmp-{}", std::process::id()));
        self.files.push((tmp.clone(), target));
        Ok(tmp)
    }

    pub(super) fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), String> {
        let tmp = self.path(name)?;
        let result = (|| -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, bytes)?;
            f.sync_all()
        })();
        result.map_err(|e| format!("cannot write {}: {e}", tmp.display()))
    }

    pub(super) fn commit(self) -> Result<(), String> {
        self.commit_with(|_, from, to| fs::rename(from, to))
    }

    /// Move the staged outputs into place as one set ([`crate::output::place_set`]),
    /// renaming through `rename` (a test makes it fail at a chosen step); temporaries go in
    /// any case (`Drop`).
    ///
    /// Outputs of an earlier run in the folder that this one does not write (subjects.csv
    /// without --csv, time courses, target files, figures of regimens it does not have) are
    /// removed with the same commit, so that the folder holds one run.
    fn commit_with(
        mut self,
        rename: impl FnMut(PlaceStep, &Path, &Path) -> std::io::Result<()>,
    ) -> Result<(), String> {
        let stale: Vec<PathBuf> = fs::read_dir(&self.out)
            .map_err(|e| format!("cannot read {}: {e}", self.out.display()))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                is_population_output(&name) && !self.files.iter().any(|(_, f)| f == p)
            })
            .collect();
        crate::output::place_set(&self.files, &stale, rename)?;
        self.files.clear();
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (tmp, _) in &self.files {
            let _ = fs::remove_file(tmp);
        }
    }
}

pub(super) fn batch_rows(b: &RecordBatch) -> Vec<Vec<String>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, UInt64Type};
    let mut rows = vec![Vec::with_capacity(b.num_columns()); b.num_rows()];
    for col in b.columns() {
        for (i, row) in rows.iter_mut().enumerate() {
            let cell = if col.is_null(i) {
                String::new()
            } else {
                match col.data_type() {
                    DataType::Float64 => num(col.as_primitive::<Float64Type>().value(i)),
                    DataType::UInt64 => col.as_primitive::<UInt64Type>().value(i).to_string(),
                    DataType::Utf8 => col.as_string::<i32>().value(i).to_string(),
                    _ => String::new(),
                }
            };
            row.push(cell);
        }
    }
    rows
}

/// Percentiles reported in bands.csv.
pub const PERCENTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

pub(super) fn write_bands(
    staged: &mut Staged,
    m: &Manifest,
    agg: &Aggregates,
) -> Result<(), String> {
    let header: Vec<String> = [
        "regimen",
        "observable",
        "unit",
        "time_h",
        "p05",
        "p25",
        "p50",
        "p75",
        "p95",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rows = Vec::new();
    for (r, rname) in m.regimens.iter().enumerate() {
        for (k, (name, unit, _)) in m.band_observables.iter().enumerate() {
            for (t, time) in m.band_times_h.iter().enumerate() {
                let p = agg.percentiles(r, k, t, &PERCENTILES);
                let mut row = vec![rname.clone(), name.clone(), unit.clone(), num(*time)];
                row.extend(p.iter().map(|v| num(*v)));
                rows.push(row);
            }
        }
    }
    staged.write("bands.csv", &csv_text(&header, &rows)?)
}

pub(super) fn write_targets(
    staged: &mut Staged,
    m: &Manifest,
    agg: &Aggregates,
) -> Result<(), String> {
    let header: Vec<String> = [
        "regimen",
        "target",
        "stratified_by",
        "stratum",
        "attained",
        "evaluated",
        "probability",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rows = Vec::new();
    for (r, rname) in m.regimens.iter().enumerate() {
        for (t, tname) in m.targets.iter().enumerate() {
            for g in 0..GROUPS {
                let (a, e) = agg.attainment_of(r, t, g);
                if e == 0 && g > 0 {
                    continue;
                }
                let (by, label) = Aggregates::group_label(g);
                rows.push(vec![
                    rname.clone(),
                    tname.clone(),
                    by.into(),
                    label.into(),
                    a.to_string(),
                    e.to_string(),
                    if e > 0 {
                        num(a as f64 / e as f64)
                    } else {
                        String::new()
                    },
                ]);
            }
        }
    }
    staged.write("targets.csv", &csv_text(&header, &rows)?)
}

pub(super) fn write_figures(
    staged: &mut Staged,
    m: &Manifest,
    agg: &Aggregates,
) -> Result<(), String> {
    for (r, rname) in m.regimens.iter().enumerate() {
        let panels: Vec<Panel> = m
            .band_observables
            .iter()
            .enumerate()
            .map(|(k, (name, unit, description))| {
                let series = PERCENTILES
                    .iter()
                    .enumerate()
                    .map(|(pi, p)| Series {
                        label: format!("{}th percentile", (p * 100.0).round()),
                        points: m
                            .band_times_h
                            .iter()
                            .enumerate()
                            .map(|(t, time)| {
                                (
                                    time / HOURS_PER_DAY,
                                    agg.percentiles(r, k, t, &[PERCENTILES[pi]])[0],
                                )
                            })
                            .collect(),
                    })
                    .collect();
                Panel {
                    title: description.clone(),
                    y_label: format!("{name} ({unit})"),
                    series,
                    log_y: false,
                }
            })
            .collect();
        let doses = vec![DoseMarks {
            label: rname.clone(),
            times_days: m.dose_times_days[r].clone(),
        }];
        let title = format!(
            "{} — {} (5/25/50/75/95th percentiles, {} subjects)",
            m.population, rname, m.subjects
        );
        let svg = timecourse_svg(&title, &panels, &doses)?;
        let png = crate::plot::timecourse::timecourse_png(&title, &panels, &doses)?;
        let stem = format!("bands-{}", slug(rname));
        staged.write(&format!("{stem}.svg"), svg.as_bytes())?;
        staged.write(&format!("{stem}.png"), &png)?;
    }
    // Target attainment: per target, a grouped bar chart of the probability per regimen,
    // overall and in each stratum ("renal: CrCl 30-59", "weight: 50-69 kg").
    if !m.targets.is_empty() {
        let group_name = |g: usize| {
            let (by, label) = Aggregates::group_label(g);
            if g == 0 {
                return by.to_owned();
            }
            let short = by.split_whitespace().next().unwrap_or(by);
            let label = label
                .strip_prefix(short)
                .map_or(label, |rest| rest.trim_start());
            format!("{short}: {label}")
        };
        let charts: Vec<AttainmentChart> = m
            .targets
            .iter()
            .enumerate()
            .map(|(t, tname)| AttainmentChart {
                target: tname.clone(),
                regimens: m.regimens.clone(),
                groups: (0..GROUPS)
                    .map(|g| AttainmentGroup {
                        label: group_name(g),
                        values: (0..m.regimens.len())
                            .map(|r| {
                                let (a, e) = agg.attainment_of(r, t, g);
                                (e > 0).then_some((a, e))
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        let title = format!(
            "{} — probability of target attainment ({} subjects)",
            m.population, m.subjects
        );
        let svg = attainment_svg(&title, &charts)?;
        let png = attainment_png(&title, &charts)?;
        staged.write("targets.svg", svg.as_bytes())?;
        staged.write("targets.png", &png)?;
    }
    Ok(())
}

/// A file name `merge` writes into an output folder (and may remove when a later run into
/// that folder does not write it).
fn is_population_output(name: &str) -> bool {
    const FIXED: [&str; 7] = [
        "subjects.parquet",
        "subjects.csv",
        "timecourses.parquet",
        "bands.csv",
        "targets.csv",
        "targets.svg",
        "targets.png",
    ];
    FIXED.contains(&name)
        || (name.starts_with("bands-") && (name.ends_with(".svg") || name.ends_with(".png")))
}

/// The figure file stems of the regimens (`bands-<stem>.svg`): each must be non-empty and
/// differ from the others ("100 mg daily" and "100 mg, daily" would share one file).
pub(super) fn figure_stems<'a>(
    names: impl Iterator<Item = &'a str>,
) -> Result<Vec<String>, String> {
    let mut stems: Vec<(String, &str)> = Vec::new();
    for name in names {
        let stem = slug(name);
        if stem.is_empty() {
            return Err(format!(
                "regimen name '{name}' has no letters or digits; its figure file needs some"
            ));
        }
        if let Some((_, other)) = stems.iter().find(|(s, _)| *s == stem) {
            return Err(format!(
                "regimen names '{other}' and '{name}' give the same figure file \
                 bands-{stem}.svg; make them differ in letters or digits"
            ));
        }
        stems.push((stem, name));
    }
    Ok(stems.into_iter().map(|(s, _)| s).collect())
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

pub(super) fn print_population_summary(m: &Manifest, agg: &Aggregates) {
    println!(
        "population '{}': {} subjects, seed {}, {} shard(s), method {}",
        m.population, m.subjects, m.seed, m.shards, m.method
    );
    if agg.unsampled > 0 {
        println!(
            "{} subject(s) could not be sampled (covariate sampling failed); they count as failed in every regimen",
            agg.unsampled
        );
    }
    for (r, rname) in m.regimens.iter().enumerate() {
        let detail = if agg.unsampled > 0 {
            let solves = agg.failed[r] - agg.unsampled.min(agg.failed[r]);
            format!(" ({} covariate sampling, {solves} solve)", agg.unsampled)
        } else {
            String::new()
        };
        println!(
            "\nregimen '{rname}': {} simulated, {} failed{detail}",
            agg.simulated[r], agg.failed[r]
        );
        for (k, (name, unit, _)) in m.band_observables.iter().enumerate() {
            let last = m.band_times_h.len() - 1;
            let p = agg.percentiles(r, k, last, &[0.05, 0.5, 0.95]);
            println!(
                "  {:<32} at {:>5} h: median {:>10}  90% interval {} to {} {}",
                name,
                m.band_times_h[last],
                fmt(p[1]),
                fmt(p[0]),
                fmt(p[2]),
                unit
            );
        }
        for (t, tname) in m.targets.iter().enumerate() {
            let (a, e) = agg.attainment_of(r, t, 0);
            println!(
                "  target '{tname}': {:.1}% ({a}/{e})",
                if e > 0 {
                    100.0 * a as f64 / e as f64
                } else {
                    f64::NAN
                }
            );
        }
    }
}

fn fmt(x: f64) -> String {
    il1sim_core::validation::targets::fmt_num(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn manifest() -> Manifest {
        Manifest {
            il1sim_version: "test".into(),
            population: "p".into(),
            description: String::new(),
            run_key: String::new(),
            shard: 1,
            shards: 1,
            subjects: 1,
            first_subject: 0,
            end_subject: 1,
            seed: 1,
            method: "exact".into(),
            regimens: vec!["r".into()],
            dose_times_days: vec![vec![]],
            band_times_h: vec![0.0],
            band_observables: vec![],
            targets: vec![],
            figures: vec![("cmax".into(), "ng/mL".into())],
            csv: false,
            full_timecourses: false,
            identity: BTreeMap::new(),
            population_file: String::new(),
            working_dir: String::new(),
            command_options: vec![],
        }
    }

    #[test]
    fn a_subject_that_could_not_be_sampled_has_empty_covariates() {
        let m = manifest();
        let outcome = SubjectOutcome {
            id: 7,
            draw: None,
            regimens: vec![Err("subject 7: covariate sampling failed: ...".into())],
        };
        let b = batch(&schema(&m, &["CL_anakinra".into()]), &[outcome], &m, 1).unwrap();
        let rows = batch_rows(&b);
        let schema = b.schema();
        let header: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let cell = |name: &str| {
            let i = header.iter().position(|h| *h == name).unwrap();
            rows[0][i].clone()
        };
        assert_eq!(cell("subject_id"), "7");
        for c in [
            "weight_kg",
            "age_y",
            "sex",
            "serum_creatinine_mg_dl",
            "crcl_ml_min",
            "CL_anakinra_factor",
        ] {
            assert_eq!(cell(c), "", "{c}: no placeholder covariates");
        }
        assert!(cell("failure").contains("covariate sampling failed"));
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// An output folder with the previous outputs a.csv, b.csv, c.csv and a staged new set
    /// a, b, c and d (new), ready to commit.
    fn staged_set(name: &str) -> (PathBuf, Staged) {
        let dir = std::env::temp_dir().join(format!("il1sim-staged-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for f in ["a.csv", "b.csv", "c.csv"] {
            fs::write(dir.join(f), format!("old {f}")).unwrap();
        }
        let mut staged = Staged::new(&dir);
        for f in ["a.csv", "b.csv", "c.csv", "d.csv"] {
            staged.write(f, format!("new {f}").as_bytes()).unwrap();
        }
        (dir, staged)
    }

    fn assert_previous_set(dir: &Path) {
        assert_eq!(
            listing(dir),
            ["a.csv", "b.csv", "c.csv"],
            "no new file, no leftover"
        );
        for f in ["a.csv", "b.csv", "c.csv"] {
            assert_eq!(fs::read_to_string(dir.join(f)).unwrap(), format!("old {f}"));
        }
    }

    /// A rename that fails partway through the commit (after some new outputs are in place,
    /// or while old ones are moved aside) leaves exactly the previous outputs: the new ones
    /// are taken out again, the old ones put back, and no temporary or aside file remains.
    #[test]
    fn a_commit_that_fails_partway_leaves_the_previous_outputs() {
        for (step, at) in [
            (PlaceStep::Place, 0),
            (PlaceStep::Place, 2),
            (PlaceStep::Place, 3),
            (PlaceStep::Aside, 1),
        ] {
            let (dir, staged) = staged_set(&format!("{step:?}-{at}"));
            let mut n = 0;
            let e = staged
                .commit_with(|s, from, to| {
                    if s == step {
                        n += 1;
                        if n == at + 1 {
                            return Err(std::io::Error::other("injected"));
                        }
                    }
                    fs::rename(from, to)
                })
                .unwrap_err();
            assert!(
                e.contains("injected") && e.contains("previous outputs are unchanged"),
                "{e}"
            );
            assert_previous_set(&dir);
            fs::remove_dir_all(&dir).unwrap();
        }
        // Without a failure: the whole new set, the old files gone, nothing left over.
        let (dir, staged) = staged_set("ok");
        staged.commit().unwrap();
        assert_eq!(listing(&dir), ["a.csv", "b.csv", "c.csv", "d.csv"]);
        for f in ["a.csv", "b.csv", "c.csv", "d.csv"] {
            assert_eq!(fs::read_to_string(dir.join(f)).unwrap(), format!("new {f}"));
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A directory standing where one output must go, created after the outputs were staged
    /// (so even as root): the commit is refused before anything moves.
    #[test]
    fn a_directory_in_the_way_leaves_the_previous_outputs() {
        let (dir, staged) = staged_set("dir");
        fs::create_dir(dir.join("d.csv")).unwrap();
        let e = staged.commit().unwrap_err();
        assert!(e.contains("d.csv: it is a directory"), "{e}");
        fs::remove_dir(dir.join("d.csv")).unwrap();
        assert_previous_set(&dir);
        fs::remove_dir_all(&dir).unwrap();
    }
}
