//! `il1sim population` and `il1sim merge`: virtual populations, sharded for schedulers.
//!
//! Every run writes shards (`<out>/shards/shard-K-of-N/`: subjects.parquet, aggregates.bin,
//! manifest.json), each into a temporary directory renamed when complete. A run without
//! `--shard` is shard 1 of 1 and merges at once; `merge` turns complete shards into the
//! outputs, so one run and N merged shards go through the same code and give the same bytes.

use crate::output::{csv_text, ensure_dir, num, PlaceStep};
use crate::plot::{
    attainment_png, attainment_svg, timecourse_svg, AttainmentChart, AttainmentGroup, DoseMarks,
    Panel, Series,
};
use arrow_array::builder::{Float64Builder, StringBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use il1sim_core::dosing::regimen::HOURS_PER_DAY;
use il1sim_core::exchange::population_file::parse_population;
use il1sim_core::model::units::unit_slug;
use il1sim_core::population::aggregates::{shard_range, Aggregates, GROUPS};
use il1sim_core::population::definition::{
    Covariates, PopulationScenario, SimulationMethod, CRCL_CAP_ML_MIN, MAX_SUBJECTS,
};
use il1sim_core::population::outcome::{simulate_subject, SubjectOutcome};
use il1sim_core::solve::options::SolverOptions;
use indicatif::{ProgressBar, ProgressStyle};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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
    /// Number of virtual subjects, 1 to 100,000,000 (overrides the file)
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
    /// Worker threads, at least 1 (results do not depend on it) [default: all cores]
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
    /// Hash of [`Manifest::identity`]: shards of different runs must not be merged.
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
    /// What defines the run, part by part (file and model by a hash of their text), so that
    /// a mismatch can be named. Absent in manifests of earlier versions.
    #[serde(default)]
    identity: BTreeMap<String, String>,
    /// The population file as given on the command line, and the directory the run was
    /// started in: with `command_options`, what `merge` needs to print the exact command
    /// that recreates a missing shard.
    #[serde(default)]
    population_file: String,
    #[serde(default)]
    working_dir: String,
    /// The command-line options that are part of the run (overrides, solver options,
    /// --csv, --timecourses, --model), as given.
    #[serde(default)]
    command_options: Vec<String>,
}

/// Read the covariate table a population file names (path relative to the file), if any.
/// Every row is checked now (file, line, column, value and allowed range on error).
pub fn load_covariate_table(file: &Path, pop: &mut PopulationScenario) -> Result<(), String> {
    read_covariate_table(file, pop).map(|_| ())
}

/// As [`load_covariate_table`], returning a hash of the table file's bytes (None without a
/// table): the rows are part of the run, so the hash is part of its identity. The bytes are
/// read once and both parsed and hashed, so the hash is of the rows used.
fn read_covariate_table(
    file: &Path,
    pop: &mut PopulationScenario,
) -> Result<Option<String>, String> {
    let Some(table) = pop.covariate_table.clone() else {
        return Ok(None);
    };
    let path = file.parent().unwrap_or(Path::new(".")).join(&table);
    let bytes = fs::read(&path)
        .map_err(|e| format!("cannot read covariate table {}: {e}", path.display()))?;
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header = reader
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let mut records = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("{}: {e}", path.display()))?;
        let line = record.position().map_or(0, |p| p.line());
        let fields = header
            .iter()
            .zip(record.iter())
            .map(|(h, v)| (h.trim().to_string(), v.to_string()))
            .collect();
        records.push((line, fields));
    }
    let rows = il1sim_core::population::sampling::covariate_rows_from_records(
        &records,
        &path.display().to_string(),
    )?;
    pop.covariates = Covariates::Table(rows);
    Ok(Some(fnv_bytes(&bytes)))
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
    fnv_bytes(text.as_bytes())
}

fn fnv_bytes(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The run key: a hash of every part of the identity (a BTreeMap, so in a fixed order).
fn run_key(identity: &BTreeMap<String, String>) -> String {
    fnv(&identity
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("|"))
}

/// The parts in which two run identities differ, in words ("--subjects (24 here, 8 there)").
fn identity_difference(
    here: &BTreeMap<String, String>,
    there: &BTreeMap<String, String>,
) -> String {
    if there.is_empty() {
        return "it was written by an earlier il1sim that did not record its run".into();
    }
    let keys: std::collections::BTreeSet<&String> = here.keys().chain(there.keys()).collect();
    let parts: Vec<String> = keys
        .into_iter()
        .filter(|k| here.get(*k) != there.get(*k))
        .map(|k| match k.as_str() {
            "population file" | "model" => format!("{k} (its text differs)"),
            "covariate table" if here.contains_key(k) && there.contains_key(k) => {
                format!("{k} (its contents differ)")
            }
            _ => format!(
                "{k} ({} vs {})",
                here.get(k).map_or("absent", |v| v),
                there.get(k).map_or("absent", |v| v)
            ),
        })
        .collect();
    if parts.is_empty() {
        "nothing recorded differs, yet the run keys do".into()
    } else {
        parts.join(", ")
    }
}

/// Quote a word for a POSIX shell when it needs it, so printed commands can be pasted.
fn shell_word(w: &str) -> String {
    let plain = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=+,@%".contains(c));
    if plain {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// A path recorded by a run, usable from the current directory: relative paths are joined
/// to the run's directory unless that is where we are.
fn from_run_dir(path: &str, working_dir: &str) -> String {
    let p = Path::new(path);
    let here = std::env::current_dir().ok();
    if p.is_absolute() || working_dir.is_empty() || here.as_deref() == Some(Path::new(working_dir))
    {
        path.to_string()
    } else {
        Path::new(working_dir).join(p).display().to_string()
    }
}

/// The command that recreates shard `k` of the run a manifest belongs to.
fn shard_command(m: &Manifest, k: u64, out: &Path) -> String {
    let file = if m.population_file.is_empty() {
        "<population file>".to_string()
    } else {
        from_run_dir(&m.population_file, &m.working_dir)
    };
    let mut words = vec!["il1sim".to_string(), "population".into(), shell_word(&file)];
    let mut options = m.command_options.iter();
    while let Some(o) = options.next() {
        words.push(shell_word(o));
        if o == "--model" {
            if let Some(path) = options.next() {
                words.push(shell_word(&from_run_dir(path, &m.working_dir)));
            }
        }
    }
    words.push("--shard".into());
    words.push(format!("{k}/{}", m.shards));
    words.push("--out".into());
    words.push(shell_word(&out.display().to_string()));
    words.join(" ")
}

/// Complete shards in `out/shards` with their manifests, in shard order.
fn complete_shards(out: &Path) -> Result<Vec<(Manifest, PathBuf)>, String> {
    let shards_dir = out.join("shards");
    let mut manifests = Vec::new();
    let entries = match fs::read_dir(&shards_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(manifests),
        Err(e) => return Err(format!("cannot read {}: {e}", shards_dir.display())),
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with("shard-") && e.path().join("manifest.json").exists() {
            manifests.push((read_manifest(&e.path())?, e.path()));
        }
    }
    manifests.sort_by_key(|(m, _)| (m.shards, m.shard));
    Ok(manifests)
}

/// Refuse, before simulating anything, to add a shard to a folder that holds shards of
/// another run or of the same run split differently: `merge` could not combine them.
fn check_folder(
    out: &Path,
    identity: &BTreeMap<String, String>,
    key: &str,
    n: u64,
) -> Result<(), String> {
    for (m, path) in complete_shards(out)? {
        if m.run_key != key {
            return Err(format!(
                "{} holds a shard of a different run: {}; choose another --out, or remove {} to start over",
                path.display(),
                identity_difference(identity, &m.identity),
                out.join("shards").display()
            ));
        }
        if m.shards != n {
            let this = if n == 1 {
                "this run is not split (no --shard)".to_string()
            } else {
                format!("this run is split into {n} (--shard K/{n})")
            };
            return Err(format!(
                "{} holds shards of the same run split into {} shards ({}), but {this}; an output folder holds one split: add the other shards with --shard K/{} and `il1sim merge {}`, choose another --out, or remove {} to start over",
                out.join("shards").display(),
                m.shards,
                path.file_name().map(|f| f.to_string_lossy()).unwrap_or_default(),
                m.shards,
                shell_word(&out.display().to_string()),
                out.join("shards").display()
            ));
        }
    }
    Ok(())
}

pub fn run(args: PopulationArgs) -> Result<ExitCode, String> {
    if args.threads == Some(0) {
        return Err("--threads 0: allowed: 1 or more; leave --threads out to use all cores".into());
    }
    let model = crate::load_model(args.model.as_deref())?;
    let model_text = match &args.model {
        None => il1sim_core::IL1_MODEL_TOML.to_string(),
        Some(p) => fs::read_to_string(p)
            .map_err(|e| format!("cannot read model file {}: {e}", p.display()))?,
    };
    let text = fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read population file {}: {e}", args.file.display()))?;
    let origin = args.file.display().to_string();
    let mut pop = parse_population(&text, &origin, &model).map_err(|e| e.to_string())?;
    figure_stems(pop.regimens.iter().map(|r| r.name.as_str()))
        .map_err(|e| format!("{origin}: {e}"))?;
    if let Some(n) = args.subjects {
        if n == 0 || n > MAX_SUBJECTS {
            return Err(format!(
                "--subjects {n}: allowed: 1 to 100,000,000 (the limit of population.subjects)"
            ));
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
    let table_hash = read_covariate_table(&args.file, &mut pop)?;
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
    let full_timecourses = pop.full_timecourses || args.timecourses;
    // Everything that changes a shard's content or the merged outputs; not the thread count.
    // The covariate table's contents (a hash of its bytes) when there is one: the population
    // file names it by path only, so an edited table would otherwise mix patients of two
    // tables in one merge. Absent without a table, so such runs keep their run keys.
    let identity: BTreeMap<String, String> = [
        ("population file", fnv(&text)),
        ("model", fnv(&model_text)),
        ("--subjects", pop.subjects.to_string()),
        ("--seed", pop.seed.to_string()),
        ("--method", pop.method.name().to_string()),
        ("solver options", format!("{options:?}")),
        ("--csv", args.csv.to_string()),
        ("--timecourses", full_timecourses.to_string()),
    ]
    .into_iter()
    .chain(table_hash.map(|h| ("covariate table", h)))
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let run_key = run_key(&identity);
    let mut command_options: Vec<String> = Vec::new();
    let mut option = |flag: &str, value: Option<String>| {
        if let Some(v) = value {
            command_options.push(flag.into());
            command_options.push(v);
        }
    };
    option("--subjects", args.subjects.map(|x| x.to_string()));
    option("--seed", args.seed.map(|x| x.to_string()));
    option("--method", args.method.clone());
    option("--integrator", args.solver.integrator.clone());
    // Debug formatting is the shortest text that reads back as the same f64 (1e-7, not
    // 0.0000001).
    option("--rtol", args.solver.rtol.map(|x| format!("{x:?}")));
    option("--atol", args.solver.atol.map(|x| format!("{x:?}")));
    option(
        "--model",
        args.model.as_ref().map(|p| p.display().to_string()),
    );
    for (flag, on) in [("--csv", args.csv), ("--timecourses", args.timecourses)] {
        if on {
            command_options.push(flag.into());
        }
    }
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
    }
    check_folder(&args.out, &identity, &run_key, n)?;
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
        full_timecourses,
        identity,
        population_file: args.file.display().to_string(),
        working_dir: std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        command_options,
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
    let count = range.end - range.start;
    if count == 0 {
        eprintln!(
            "shard {k}/{n}: no subjects ({} subjects split into {n} shards leave this one empty); recorded as complete",
            pop.subjects
        );
    } else {
        eprintln!(
            "shard {k}/{n}: {count} subjects in {secs:.1} s ({:.2} ms per subject wall time)",
            1e3 * secs / count as f64
        );
    }
    if n == 1 {
        merge(&args.out, args.csv)
    } else {
        println!(
            "shard {k}/{n} written to {}; when all shards are done: il1sim merge {}",
            shard_dir.display(),
            shell_word(&args.out.display().to_string())
        );
        Ok(ExitCode::SUCCESS)
    }
}

fn schema(m: &Manifest, variability: &[String]) -> Arc<Schema> {
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

fn writer_props() -> WriterProperties {
    WriterProperties::builder()
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .set_created_by(format!("il1sim {}", env!("CARGO_PKG_VERSION")))
        .build()
}

fn run_shard(
    model: &il1sim_core::model::definition::Model,
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
        let (mut unsampled, mut failed_solves, mut capped) = (0u64, 0u64, 0u64);
        let mut start = range.start;
        while start < range.end {
            let end = (start + CHUNK).min(range.end);
            let outcomes: Vec<SubjectOutcome> = (start..end)
                .into_par_iter()
                .map(|id| simulate_subject(model, pop, id, options))
                .collect();
            for o in &outcomes {
                agg.add(pop, o);
                if o.sampling_failed() {
                    unsampled += 1;
                } else if o.regimens.iter().any(|r| r.is_err()) {
                    failed_solves += 1;
                }
                capped += o.draw.as_ref().is_some_and(|d| {
                    d.serum_creatinine_mg_dl.is_some_and(|s| {
                        il1sim_core::population::sampling::cockcroft_gault(
                            d.patient.age_y,
                            d.patient.weight_kg,
                            s,
                            d.patient.sex == il1sim_core::model::patient::Sex::Female,
                        ) > CRCL_CAP_ML_MIN
                    })
                }) as u64;
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
        if unsampled > 0 {
            eprintln!(
                "{unsampled} subject(s) could not be sampled (covariate sampling failed: no draw inside the covariate limits); their covariates are empty and the reason is in the failure column"
            );
        }
        if failed_solves > 0 {
            eprintln!(
                "{failed_solves} subject(s) had a failed solve; their reasons are in the failure column"
            );
        }
        if capped > 0 {
            eprintln!(
                "{capped} subject(s) had a Cockcroft–Gault clearance above {CRCL_CAP_ML_MIN} mL/min, used as {CRCL_CAP_ML_MIN} (docs/populations.md, \"Creatinine clearance\")"
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

/// Outputs of a merge, written under temporary names and moved into place only once all are
/// written, as one set (the approach of `output::write_set_atomic`, whose in-memory interface
/// does not fit the Parquet files streamed here): a merge that fails (a bad shard, a full disk,
/// a directory where an output must go, a rename refused) leaves the previous outputs, or
/// none, but never a mix, and no temporary file. Only a crash during the renames themselves
/// can leave a mixed set, with the old files still present under their aside names.
struct Staged {
    out: PathBuf,
    /// (temporary, final) paths written so far.
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staged {
    fn new(out: &Path) -> Staged {
        Staged {
            out: out.to_path_buf(),
            files: Vec::new(),
        }
    }

    /// The temporary path for output `name` (registered; renamed by `commit`). An output
    /// staged twice would lose one of the two: an error.
    fn path(&mut self, name: &str) -> Result<PathBuf, String> {
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

    fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), String> {
        let tmp = self.path(name)?;
        let result = (|| -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, bytes)?;
            f.sync_all()
        })();
        result.map_err(|e| format!("cannot write {}: {e}", tmp.display()))
    }

    fn commit(self) -> Result<(), String> {
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

/// Check that the complete shards in `out/shards` form one whole run and return them with
/// their merged aggregates; nothing is written.
fn validate_shards(out: &Path) -> Result<(Vec<(Manifest, PathBuf)>, Aggregates), String> {
    let shards_dir = out.join("shards");
    if !shards_dir.is_dir() {
        return Err(format!(
            "{} does not exist (run `il1sim population ... --out {}` first)",
            shards_dir.display(),
            shell_word(&out.display().to_string())
        ));
    }
    let manifests = complete_shards(out)?;
    if manifests.is_empty() {
        return Err(format!("no complete shard in {}", shards_dir.display()));
    }
    let (first, first_path) = manifests[0].clone();
    let name = |p: &Path| {
        p.file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default()
    };
    for (m, p) in &manifests {
        if m.run_key != first.run_key {
            return Err(format!(
                "{} and {} belong to different runs: {}; keep the shards of one run in {} (move or remove the others) and merge again",
                name(&first_path),
                name(p),
                identity_difference(&first.identity, &m.identity),
                shards_dir.display()
            ));
        }
        if m.shards != first.shards {
            return Err(format!(
                "{} and {} are shards of the same run split differently (into {} and {} shards); keep one split in {} (remove the other's shard-*-of-{} folders) and merge again",
                name(&first_path),
                name(p),
                first.shards,
                m.shards,
                shards_dir.display(),
                m.shards
            ));
        }
        let want = shard_range(m.subjects, m.shard, m.shards);
        if (m.first_subject, m.end_subject) != (want.start, want.end) {
            return Err(format!(
                "{}: subjects {}..{} but shard {}/{} of {} subjects is {}..{}; the shard is damaged: remove it and run it again",
                p.join("manifest.json").display(),
                m.first_subject,
                m.end_subject,
                m.shard,
                m.shards,
                m.subjects,
                want.start,
                want.end
            ));
        }
    }
    let missing: Vec<u64> = (1..=first.shards)
        .filter(|k| !manifests.iter().any(|(m, _)| m.shard == *k))
        .collect();
    if !missing.is_empty() {
        let cmds: Vec<String> = missing
            .iter()
            .map(|&k| shard_command(&first, k, out))
            .collect();
        return Err(format!(
            "missing shard(s) {} of {}; run only those, then merge again:\n  {}",
            missing
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            first.shards,
            cmds.join("\n  ")
        ));
    }
    // Every file the outputs need, before anything is written.
    let mut needed = vec!["subjects.parquet", "aggregates.bin"];
    if first.full_timecourses {
        needed.push("timecourses.parquet");
    }
    for (_, p) in &manifests {
        for f in &needed {
            if !p.join(f).is_file() {
                return Err(format!(
                    "{} is missing; the shard is damaged: remove {} and run it again",
                    p.join(f).display(),
                    p.display()
                ));
            }
        }
    }
    let mut agg: Option<Aggregates> = None;
    for (_, p) in &manifests {
        let bytes = fs::read(p.join("aggregates.bin"))
            .map_err(|e| format!("cannot read {}: {e}", p.join("aggregates.bin").display()))?;
        let a = Aggregates::from_bytes(&bytes)
            .map_err(|e| format!("{}: {e}", p.join("aggregates.bin").display()))?;
        match &mut agg {
            None => agg = Some(a),
            Some(x) => x
                .merge(&a)
                .map_err(|e| format!("{}: {e}", p.join("aggregates.bin").display()))?,
        }
    }
    let agg = agg.expect("at least one shard");
    Ok((manifests, agg))
}

/// Combine the complete shards in `out/shards` into the outputs in `out`: everything is
/// checked first, then all outputs are staged and renamed into place together.
fn merge(out: &Path, csv: bool) -> Result<ExitCode, String> {
    let (manifests, agg) = validate_shards(out)?;
    let first = manifests[0].0.clone();
    let csv = csv || first.csv;
    let mut staged = Staged::new(out);
    // Concatenate in shard order, re-batched so the bytes do not depend on sharding.
    let shard_dirs: Vec<PathBuf> = manifests.iter().map(|(_, p)| p.clone()).collect();
    let (header, csv_rows) = concatenate(&shard_dirs, "subjects.parquet", &mut staged, csv)?;
    if csv {
        staged.write("subjects.csv", &csv_text(&header, &csv_rows)?)?;
    }
    if first.full_timecourses {
        concatenate(&shard_dirs, "timecourses.parquet", &mut staged, false)?;
    }
    write_bands(&mut staged, &first, &agg)?;
    write_targets(&mut staged, &first, &agg)?;
    write_figures(&mut staged, &first, &agg)?;
    staged.commit()?;
    print_population_summary(&first, &agg);
    Ok(ExitCode::SUCCESS)
}

/// Concatenate one Parquet file of every shard into the staged output `name`; with
/// `want_rows`, also return its header and rows as text (for CSV).
fn concatenate(
    shards: &[PathBuf],
    name: &str,
    staged: &mut Staged,
    want_rows: bool,
) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let mut writer: Option<ArrowWriter<fs::File>> = None;
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
                let tmp = staged.path(name)?;
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
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    if let Some(w) = writer {
        w.close().map_err(|e| e.to_string())?;
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

fn write_bands(staged: &mut Staged, m: &Manifest, agg: &Aggregates) -> Result<(), String> {
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

fn write_targets(staged: &mut Staged, m: &Manifest, agg: &Aggregates) -> Result<(), String> {
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

fn write_figures(staged: &mut Staged, m: &Manifest, agg: &Aggregates) -> Result<(), String> {
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
fn figure_stems<'a>(names: impl Iterator<Item = &'a str>) -> Result<Vec<String>, String> {
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

fn print_population_summary(m: &Manifest, agg: &Aggregates) {
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

    #[test]
    fn identity_differences_are_named() {
        let a: BTreeMap<String, String> = [("--seed", "1"), ("population file", "x")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut b = a.clone();
        b.insert("--seed".into(), "2".into());
        b.insert("population file".into(), "y".into());
        assert_eq!(
            identity_difference(&a, &b),
            "--seed (1 vs 2), population file (its text differs)"
        );
        assert!(identity_difference(&a, &BTreeMap::new()).contains("earlier il1sim"));
        assert_eq!(shell_word("a b's"), r"'a b'\''s'");
        assert_eq!(shell_word("runs/pop-1"), "runs/pop-1");
    }
}
