//! `il1sim merge`: check that the complete shards form one whole run, then concatenate their
//! tables and write the outputs from the merged aggregates.

use super::outputs::{
    batch_rows, print_population_summary, write_bands, write_figures, write_targets, writer_props,
    Staged, ROW_GROUP,
};
use super::shards::{complete_shards, identity_difference, shard_command, shell_word, Manifest};
use crate::output::csv_text;
use il1sim_core::population::aggregates::{shard_range, Aggregates};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Output directory of the sharded runs
    pub dir: PathBuf,
    /// Also write subjects.csv
    #[arg(long)]
    pub csv: bool,
}

pub fn run_merge(args: MergeArgs) -> Result<ExitCode, String> {
    merge(&args.dir, args.csv)
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
pub(super) fn merge(out: &Path, csv: bool) -> Result<ExitCode, String> {
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
