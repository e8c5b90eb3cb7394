//! `il1sim population` and `il1sim merge`: virtual populations, sharded for schedulers.
//!
//! Every run writes shards (`<out>/shards/shard-K-of-N/`: subjects.parquet, aggregates.bin,
//! manifest.json), each into a temporary directory renamed when complete. A run without
//! `--shard` is shard 1 of 1 and merges at once; `merge` turns complete shards into the
//! outputs, so one run and N merged shards go through the same code and give the same bytes.

use crate::output::{csv_text, ensure_dir, num, write_atomic};
use crate::plot::{
    attainment_png, attainment_svg, timecourse_svg, AttainmentChart, AttainmentGroup, DoseMarks,
    Panel, Series,
};
use arrow_array::builder::{Float64Builder, StringBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use il1sim_core::dosing::HOURS_PER_DAY;
use il1sim_core::population::{
    parse_population, shard_range, simulate_subject, Aggregates, Covariates, PopulationScenario,
    SimulationMethod, SubjectOutcome, GROUPS,
};
use il1sim_core::solve::SolverOptions;
use il1sim_core::units::unit_slug;
use indicatif::{ProgressBar, ProgressStyle};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Subjects simulated between two writes (keeps memory flat whatever N is).
const CHUNK: u64 = 1024;
/// Rows per Parquet row group.
const ROW_GROUP: usize = 65_536;
/// Memory a subjects.parquet row holds until its row group is written, measured on
/// ra-renal-population (2 threads): peak RSS 97.5 MB at 1,000 subjects and 143.7 MB at 1,000,000
/// (row group full), i.e. 46 MB for 63,500 more buffered rows.
const BUFFERED_ROW_BYTES: usize = 730;
/// The rest of the process (code, model, Parquet writer state, allocator arenas), measured the
/// same way: what the 1,000-subject peak leaves after the other terms of the estimate.
const PROCESS_BASE_BYTES: usize = 40 * 1024 * 1024;

#[derive(clap::Args, Debug)]
pub struct PopulationArgs {
    /// Population file (TOML with [scenario], [population] and [[regimens]])
    pub file: PathBuf,
    /// Output directory
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Run only shard K of N (e.g. 3/8); merge the shards afterwards with `il1sim merge DIR`
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Number of virtual subjects (overrides the file)
    #[arg(long, value_name = "N")]
    pub subjects: Option<u64>,
    /// Random seed (overrides the file)
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// exact (diffsol over the whole horizon) or fast (periodic dosing repeated once the
    /// orbit is periodic; docs/solver.md, "Fast method") (overrides the file)
    #[arg(long, value_name = "METHOD")]
    pub method: Option<String>,
    /// Also write subjects.csv
    #[arg(long)]
    pub csv: bool,
    /// Also stream every subject's time course (band grid) to timecourses.parquet
    #[arg(long)]
    pub timecourses: bool,
    /// Worker threads [default: all cores]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub solver: crate::simulate::SolverArgs,
    /// Model file [default: the bundled models/il1.toml]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Output directory of the sharded runs
    pub dir: PathBuf,
    /// Also write subjects.csv
    #[arg(long)]
    pub csv: bool,
}

/// What a shard records about itself, so that `merge` needs nothing else.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Manifest {
    il1sim_version: String,
    population: String,
    description: String,
    /// Hash of the population file's text and the overrides: shards of different runs
    /// must not be merged.
    run_key: String,
    shard: u64,
    shards: u64,
    subjects: u64,
    first_subject: u64,
    end_subject: u64,
    seed: u64,
    method: String,
    regimens: Vec<String>,
    dose_times_days: Vec<Vec<f64>>,
    band_times_h: Vec<f64>,
    band_observables: Vec<(String, String, String)>,
    targets: Vec<String>,
    figures: Vec<(String, String)>,
    csv: bool,
    full_timecourses: bool,
}

/// Read the covariate table a population file names (path relative to the file), if any.
pub fn load_covariate_table(file: &Path, pop: &mut PopulationScenario) -> Result<(), String> {
    if let Some(table) = pop.covariate_table.clone() {
        let path = file.parent().unwrap_or(Path::new(".")).join(&table);
        let mut reader = csv::Reader::from_path(&path)
            .map_err(|e| format!("cannot read covariate table {}: {e}", path.display()))?;
        let records: Vec<std::collections::BTreeMap<String, String>> = reader
            .deserialize()
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let rows = il1sim_core::population::covariate_rows_from_records(
            &records,
            &path.display().to_string(),
        )?;
        pop.covariates = Covariates::Table(rows);
    }
    Ok(())
}

fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let err = || format!("--shard '{text}': allowed: K/N with 1 <= K <= N, e.g. 3/8");
    let (k, n) = text.split_once('/').ok_or_else(err)?;
    let (k, n): (u64, u64) = (
        k.trim().parse().map_err(|_| err())?,
        n.trim().parse().map_err(|_| err())?,
    );
    if k == 0 || n == 0 || k > n {
        return Err(err());
    }
    Ok((k, n))
}

/// FNV-1a, enough to tell runs apart.
fn fnv(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

pub fn run(args: PopulationArgs) -> Result<ExitCode, String> {
    let model = crate::load_model(args.model.as_deref())?;
    let text = fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read population file {}: {e}", args.file.display()))?;
    let origin = args.file.display().to_string();
    let mut pop = parse_population(&text, &origin, &model).map_err(|e| e.to_string())?;
    if let Some(n) = args.subjects {
        if n == 0 {
            return Err("--subjects 0: at least 1 subject".into());
        }
        pop.subjects = n;
    }
    if let Some(s) = args.seed {
        pop.seed = s;
    }
    if let Some(m) = &args.method {
        pop.method = SimulationMethod::parse(m)
            .ok_or_else(|| format!("--method '{m}': allowed: exact, fast"))?;
    }
    load_covariate_table(&args.file, &mut pop)?;
    let options = args.solver.options()?;
    let (k, n) = match &args.shard {
        Some(s) => parse_shard(s)?,
        None => (1, 1),
    };
    let threads = args.threads.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| e.to_string())?;
    let run_key = fnv(&format!(
        "{text}|{}|{}|{:?}|{:?}|{:?}",
        pop.subjects, pop.seed, pop.method, options, args.model
    ));
    let range = shard_range(pop.subjects, k, n);
    let shard_dir = args.out.join("shards").join(format!("shard-{k}-of-{n}"));
    if shard_dir.join("manifest.json").exists() {
        let m: Manifest = read_manifest(&shard_dir)?;
        if m.run_key == run_key {
            println!(
                "shard {k}/{n} is already complete in {}; nothing to do",
                shard_dir.display()
            );
            return if n == 1 {
                merge(&args.out, args.csv)
            } else {
                Ok(ExitCode::SUCCESS)
            };
        }
        return Err(format!(
            "{} holds a shard of a different run; choose another --out or remove it",
            shard_dir.display()
        ));
    }
    let agg = Aggregates::new(&model, &pop);
    let per_subject_bytes =
        pop.regimens.len() * (pop.band_observables.len() * pop.band_times_h.len() * 8 + 512);
    let threads_used = pool.current_num_threads();
    // subjects.parquet buffers one row per subject and regimen until a row group is full.
    let rows_buffered =
        ROW_GROUP.min(((range.end - range.start) as usize).saturating_mul(pop.regimens.len()));
    let estimate = agg.bytes()
        + CHUNK as usize * per_subject_bytes
        + rows_buffered * BUFFERED_ROW_BYTES
        + threads_used * 4 * 1024 * 1024
        + PROCESS_BASE_BYTES;
    eprintln!(
        "population '{}': {} subjects x {} regimen(s), shard {k}/{n} = subjects {}..{}, {} thread(s); estimated peak memory {:.0} MB (it stops growing once a Parquet row group of 65,536 rows is full)",
        pop.name,
        pop.subjects,
        pop.regimens.len(),
        range.start,
        range.end,
        threads_used,
        estimate as f64 / 1e6
    );
    let manifest = Manifest {
        il1sim_version: env!("CARGO_PKG_VERSION").into(),
        population: pop.name.clone(),
        description: pop.description.clone(),
        run_key,
        shard: k,
        shards: n,
        subjects: pop.subjects,
        first_subject: range.start,
        end_subject: range.end,
        seed: pop.seed,
        method: pop.method.name().to_string(),
        regimens: pop.regimens.iter().map(|r| r.name.clone()).collect(),
        dose_times_days: pop
            .regimens
            .iter()
            .map(|r| {
                r.dose_events(70.0, pop.duration_h)
                    .map(|d| d.iter().map(|e| e.time_h / HOURS_PER_DAY).collect())
                    .unwrap_or_default()
            })
            .collect(),
        band_times_h: pop.band_times_h.clone(),
        band_observables: pop
            .band_observables
            .iter()
            .map(|&o| {
                (
                    model.observables[o].name.clone(),
                    model.observables[o].unit.clone(),
                    model.observables[o].description.clone(),
                )
            })
            .collect(),
        targets: pop.targets.iter().map(|(t, _)| t.name.clone()).collect(),
        figures: pop
            .figure_names()
            .into_iter()
            .zip(pop.figure_units())
            .collect(),
        csv: args.csv,
        full_timecourses: pop.full_timecourses || args.timecourses,
    };
    let started = std::time::Instant::now();
    pool.install(|| {
        run_shard(
            &model,
            &pop,
            options,
            range.clone(),
            &shard_dir,
            &manifest,
            agg,
        )
    })?;
    let secs = started.elapsed().as_secs_f64();
    let count = (range.end - range.start) as f64;
    eprintln!(
        "shard {k}/{n}: {} subjects in {:.1} s ({:.2} ms per subject wall time)",
        count,
        secs,
        1e3 * secs / count.max(1.0)
    );
    if n == 1 {
        merge(&args.out, args.csv)
    } else {
        println!(
            "shard {k}/{n} written to {}; when all shards are done: il1sim merge {}",
            shard_dir.display(),
            args.out.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}

fn schema(m: &Manifest, variability: &[String]) -> Arc<Schema> {
    let mut fields = vec![
        Field::new("subject_id", DataType::UInt64, false),
        Field::new("regimen", DataType::Utf8, false),
        Field::new("weight_kg", DataType::Float64, false),
        Field::new("age_y", DataType::Float64, false),
        Field::new("sex", DataType::Utf8, false),
        Field::new("serum_creatinine_mg_dl", DataType::Float64, true),
        Field::new("crcl_ml_min", DataType::Float64, false),
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

fn batch(
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
            id.append_value(o.draw.id);
            regimen.append_value(&m.regimens[r]);
            w.append_value(o.draw.patient.weight_kg);
            a.append_value(o.draw.patient.age_y);
            sex.append_value(o.draw.patient.sex.label());
            scr.append_option(o.draw.serum_creatinine_mg_dl);
            crcl.append_value(o.draw.patient.crcl_ml_min);
            for (i, b) in vars.iter_mut().enumerate() {
                b.append_option(o.draw.multipliers.get(i).map(|x| x.1));
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

fn timecourse_schema(m: &Manifest) -> Arc<Schema> {
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

fn timecourse_batch(
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
                id.append_value(o.draw.id);
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

fn writer_props() -> WriterProperties {
    WriterProperties::builder()
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .set_created_by(format!("il1sim {}", env!("CARGO_PKG_VERSION")))
        .build()
}

fn run_shard(
    model: &il1sim_core::model::Model,
    pop: &PopulationScenario,
    options: SolverOptions,
    range: std::ops::Range<u64>,
    shard_dir: &Path,
    manifest: &Manifest,
    mut agg: Aggregates,
) -> Result<(), String> {
    let parent = shard_dir.parent().ok_or("bad shard directory")?;
    ensure_dir(parent)?;
    let tmp = parent.join(format!(
        ".{}.tmp-{}",
        shard_dir
            .file_name()
            .map(|s| s.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&tmp);
    ensure_dir(&tmp)?;
    let result = (|| -> Result<(), String> {
        let var_names: Vec<String> = pop
            .variability
            .as_ref()
            .map(|v| v.parameters.iter().map(|p| p.0.clone()).collect())
            .unwrap_or_default();
        let schema = schema(manifest, &var_names);
        let file = fs::File::create(tmp.join("subjects.parquet"))
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(writer_props()))
            .map_err(|e| e.to_string())?;
        let tc_schema = timecourse_schema(manifest);
        let mut tc_writer = match manifest.full_timecourses {
            true => {
                let f = fs::File::create(tmp.join("timecourses.parquet"))
                    .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
                Some(
                    ArrowWriter::try_new(f, tc_schema.clone(), Some(writer_props()))
                        .map_err(|e| e.to_string())?,
                )
            }
            false => None,
        };
        let bar = ProgressBar::new(range.end - range.start);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} subjects  {per_sec}  ETA {eta}")
                .map_err(|e| e.to_string())?,
        );
        let mut failures = 0u64;
        let mut start = range.start;
        while start < range.end {
            let end = (start + CHUNK).min(range.end);
            let outcomes: Vec<SubjectOutcome> = (start..end)
                .into_par_iter()
                .map(|id| simulate_subject(model, pop, id, options))
                .collect();
            for o in &outcomes {
                agg.add(pop, o);
                failures += o.regimens.iter().any(|r| r.is_err()) as u64;
            }
            let b = batch(&schema, &outcomes, manifest, var_names.len())?;
            writer.write(&b).map_err(|e| e.to_string())?;
            if let Some(w) = tc_writer.as_mut() {
                w.write(&timecourse_batch(&tc_schema, &outcomes, manifest)?)
                    .map_err(|e| e.to_string())?;
            }
            bar.inc(end - start);
            start = end;
        }
        bar.finish_and_clear();
        writer.close().map_err(|e| e.to_string())?;
        if let Some(w) = tc_writer {
            w.close().map_err(|e| e.to_string())?;
        }
        fs::write(tmp.join("aggregates.bin"), agg.to_bytes()).map_err(|e| e.to_string())?;
        let text = serde_json::to_string_pretty(manifest).map_err(|e| e.to_string())?;
        fs::write(tmp.join("manifest.json"), text).map_err(|e| e.to_string())?;
        if failures > 0 {
            eprintln!(
                "{failures} subject(s) had a failed solve; their reasons are in the failure column"
            );
        }
        Ok(())
    })();
    match result {
        Ok(()) => fs::rename(&tmp, shard_dir).map_err(|e| {
            format!(
                "cannot move the finished shard into {}: {e}",
                shard_dir.display()
            )
        }),
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

fn read_manifest(dir: &Path) -> Result<Manifest, String> {
    let text = fs::read_to_string(dir.join("manifest.json"))
        .map_err(|e| format!("cannot read {}: {e}", dir.join("manifest.json").display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", dir.join("manifest.json").display()))
}

pub fn run_merge(args: MergeArgs) -> Result<ExitCode, String> {
    merge(&args.dir, args.csv)
}

/// Combine the complete shards in `out/shards` into the outputs in `out`.
fn merge(out: &Path, csv: bool) -> Result<ExitCode, String> {
    let shards_dir = out.join("shards");
    let mut manifests = Vec::new();
    let entries = fs::read_dir(&shards_dir).map_err(|e| {
        format!(
            "cannot read {}: {e} (run `il1sim population ... --out {}` first)",
            shards_dir.display(),
            out.display()
        )
    })?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with("shard-") && e.path().join("manifest.json").exists() {
            manifests.push((read_manifest(&e.path())?, e.path()));
        }
    }
    if manifests.is_empty() {
        return Err(format!("no complete shard in {}", shards_dir.display()));
    }
    manifests.sort_by_key(|(m, _)| m.shard);
    let first = manifests[0].0.clone();
    for (m, p) in &manifests {
        if m.run_key != first.run_key || m.shards != first.shards {
            return Err(format!("{} belongs to a different run than {} (population file, subjects, seed or options differ)", p.display(), manifests[0].1.display()));
        }
    }
    let missing: Vec<u64> = (1..=first.shards)
        .filter(|k| !manifests.iter().any(|(m, _)| m.shard == *k))
        .collect();
    if !missing.is_empty() {
        let cmds: Vec<String> = missing
            .iter()
            .map(|k| {
                format!(
                    "il1sim population <file> --shard {k}/{} --out {}",
                    first.shards,
                    out.display()
                )
            })
            .collect();
        return Err(format!(
            "missing shard(s) {} of {}; run only those:\n  {}",
            missing
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            first.shards,
            cmds.join("\n  ")
        ));
    }
    let mut agg: Option<Aggregates> = None;
    for (_, p) in &manifests {
        let bytes = fs::read(p.join("aggregates.bin"))
            .map_err(|e| format!("cannot read {}: {e}", p.join("aggregates.bin").display()))?;
        let a = Aggregates::from_bytes(&bytes)
            .map_err(|e| format!("{}: {e}", p.join("aggregates.bin").display()))?;
        match &mut agg {
            None => agg = Some(a),
            Some(x) => x.merge(&a)?,
        }
    }
    let agg = agg.expect("at least one shard");
    let csv = csv || first.csv;
    // Concatenate in shard order, re-batched so the bytes do not depend on sharding.
    let shard_dirs: Vec<PathBuf> = manifests.iter().map(|(_, p)| p.clone()).collect();
    let (header, csv_rows) = concatenate(&shard_dirs, "subjects.parquet", out, csv)?;
    if csv {
        write_atomic(&out.join("subjects.csv"), &csv_text(&header, &csv_rows)?)?;
    }
    if first.full_timecourses {
        concatenate(&shard_dirs, "timecourses.parquet", out, false)?;
    }
    write_bands(out, &first, &agg)?;
    write_targets(out, &first, &agg)?;
    write_figures(out, &first, &agg)?;
    print_population_summary(&first, &agg);
    Ok(ExitCode::SUCCESS)
}

/// Concatenate one Parquet file of every shard into `out/name`; with `want_rows`, also
/// return its header and rows as text (for CSV).
fn concatenate(
    shards: &[PathBuf],
    name: &str,
    out: &Path,
    want_rows: bool,
) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let mut writer: Option<ArrowWriter<fs::File>> = None;
    let tmp = out.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header: Vec<String> = Vec::new();
    for p in shards {
        let path = p.join(name);
        let file =
            fs::File::open(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .with_batch_size(ROW_GROUP)
            .build()
            .map_err(|e| e.to_string())?;
        for b in reader {
            let b = b.map_err(|e| format!("{}: {e}", path.display()))?;
            if writer.is_none() {
                let f = fs::File::create(&tmp)
                    .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
                writer = Some(
                    ArrowWriter::try_new(f, b.schema(), Some(writer_props()))
                        .map_err(|e| e.to_string())?,
                );
                header = b
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
            }
            if want_rows {
                rows.extend(batch_rows(&b));
            }
            writer
                .as_mut()
                .expect("created above")
                .write(&b)
                .map_err(|e| e.to_string())?;
        }
    }
    if let Some(w) = writer {
        w.close().map_err(|e| e.to_string())?;
        fs::rename(&tmp, out.join(name)).map_err(|e| e.to_string())?;
    }
    Ok((header, rows))
}

fn batch_rows(b: &RecordBatch) -> Vec<Vec<String>> {
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
const PERCENTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

fn write_bands(out: &Path, m: &Manifest, agg: &Aggregates) -> Result<(), String> {
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
    write_atomic(&out.join("bands.csv"), &csv_text(&header, &rows)?)
}

fn write_targets(out: &Path, m: &Manifest, agg: &Aggregates) -> Result<(), String> {
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
    write_atomic(&out.join("targets.csv"), &csv_text(&header, &rows)?)
}

fn write_figures(out: &Path, m: &Manifest, agg: &Aggregates) -> Result<(), String> {
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
        let png = crate::plot::timecourse_png(&title, &panels, &doses)?;
        let stem = format!("bands-{}", slug(rname));
        write_atomic(&out.join(format!("{stem}.svg")), svg.as_bytes())?;
        write_atomic(&out.join(format!("{stem}.png")), &png)?;
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
        write_atomic(&out.join("targets.svg"), svg.as_bytes())?;
        write_atomic(&out.join("targets.png"), &png)?;
    }
    Ok(())
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

fn print_population_summary(m: &Manifest, agg: &Aggregates) {
    println!(
        "population '{}': {} subjects, seed {}, {} shard(s), method {}",
        m.population, m.subjects, m.seed, m.shards, m.method
    );
    for (r, rname) in m.regimens.iter().enumerate() {
        println!(
            "\nregimen '{rname}': {} simulated, {} failed",
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
    il1sim_core::validation::fmt_num(x)
}
