//! `il1sim population`: check the file and the options, refuse a folder that holds another
//! run, simulate this shard's subjects in chunks over the threads, write the shard, and
//! merge at once when the run is not split.

use super::merge::merge;
use super::outputs::{
    batch, figure_stems, schema, timecourse_batch, timecourse_schema, writer_props, ROW_GROUP,
};
use super::shards::{check_folder, fnv, fnv_bytes, read_manifest, run_key, shell_word, Manifest};
use crate::output::ensure_dir;
use il1sim_core::dosing::regimen::HOURS_PER_DAY;
use il1sim_core::exchange::population_file::parse_population;
use il1sim_core::population::aggregates::{shard_range, Aggregates};
use il1sim_core::population::definition::{
    Covariates, PopulationScenario, SimulationMethod, CRCL_CAP_ML_MIN, MAX_SUBJECTS,
};
use il1sim_core::population::outcome::{
    simulate_subject, simulate_subjects, SubjectOutcome, LANES,
};
use il1sim_core::solve::options::SolverOptions;
use indicatif::{ProgressBar, ProgressStyle};
use parquet::arrow::ArrowWriter;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Subjects simulated between two writes (keeps memory flat whatever N is).
const CHUNK: u64 = 1024;
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
    /// exact (diffsol over the whole horizon), fast (periodic dosing repeated once the
    /// orbit is periodic; docs/solver.md, "Fast method") or batched (the fast method for
    /// several subjects at once on the Rodas4 lane integrator; docs/solver.md, "Batched
    /// method") (overrides the file)
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

pub fn run(args: PopulationArgs) -> Result<ExitCode, String> {
    if args.threads == Some(0) {
        return Err("--threads 0: allowed: 1 or more; leave --threads out to use all cores".into());
    }
    let model = crate::model_file::load_model(args.model.as_deref())?;
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
            .ok_or_else(|| format!("--method '{m}': allowed: exact, fast, batched"))?;
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
            let outcomes: Vec<SubjectOutcome> = if pop.method == SimulationMethod::Batched {
                // Batches of LANES subjects; each subject's outcome is the same whatever
                // batch it lands in (solve::batch), so threads and shards do not matter.
                let ids: Vec<u64> = (start..end).collect();
                ids.par_chunks(LANES)
                    .flat_map_iter(|batch| simulate_subjects(model, pop, batch, options, LANES))
                    .collect()
            } else {
                (start..end)
                    .into_par_iter()
                    .map(|id| simulate_subject(model, pop, id, options))
                    .collect()
            };
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
