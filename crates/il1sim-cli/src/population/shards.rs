//! Shards: the manifest each records about itself, the run identity and key that keep shards
//! of different runs apart, the command that recreates a shard, and the shard folder.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// What a shard records about itself, so that `merge` needs nothing else.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(super) struct Manifest {
    pub(super) il1sim_version: String,
    pub(super) population: String,
    pub(super) description: String,
    /// Hash of [`Manifest::identity`]: shards of different runs must not be merged.
    pub(super) run_key: String,
    pub(super) shard: u64,
    pub(super) shards: u64,
    pub(super) subjects: u64,
    pub(super) first_subject: u64,
    pub(super) end_subject: u64,
    pub(super) seed: u64,
    pub(super) method: String,
    pub(super) regimens: Vec<String>,
    pub(super) dose_times_days: Vec<Vec<f64>>,
    pub(super) band_times_h: Vec<f64>,
    pub(super) band_observables: Vec<(String, String, String)>,
    pub(super) targets: Vec<String>,
    pub(super) figures: Vec<(String, String)>,
    pub(super) csv: bool,
    pub(super) full_timecourses: bool,
    /// What defines the run, part by part (file and model by a hash of their text), so that
    /// a mismatch can be named. Absent in manifests of earlier versions.
    #[serde(default)]
    pub(super) identity: BTreeMap<String, String>,
    /// The population file as given on the command line, and the directory the run was
    /// started in: with `command_options`, what `merge` needs to print the exact command
    /// that recreates a missing shard.
    #[serde(default)]
    pub(super) population_file: String,
    #[serde(default)]
    pub(super) working_dir: String,
    /// The command-line options that are part of the run (overrides, solver options,
    /// --csv, --timecourses, --model), as given.
    #[serde(default)]
    pub(super) command_options: Vec<String>,
}

/// FNV-1a, enough to tell runs apart.
pub(super) fn fnv(text: &str) -> String {
    fnv_bytes(text.as_bytes())
}

pub(super) fn fnv_bytes(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The run key: a hash of every part of the identity (a BTreeMap, so in a fixed order).
pub(super) fn run_key(identity: &BTreeMap<String, String>) -> String {
    fnv(&identity
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("|"))
}

/// The parts in which two run identities differ, in words ("--subjects (24 here, 8 there)").
pub(super) fn identity_difference(
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
pub(super) fn shell_word(w: &str) -> String {
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
pub(super) fn shard_command(m: &Manifest, k: u64, out: &Path) -> String {
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
pub(super) fn complete_shards(out: &Path) -> Result<Vec<(Manifest, PathBuf)>, String> {
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
pub(super) fn check_folder(
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

pub(super) fn read_manifest(dir: &Path) -> Result<Manifest, String> {
    let text = fs::read_to_string(dir.join("manifest.json"))
        .map_err(|e| format!("cannot read {}: {e}", dir.join("manifest.json").display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", dir.join("manifest.json").display()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
