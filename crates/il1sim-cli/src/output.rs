//! Writing results: every file goes to a temporary name in the same directory and is
//! renamed into place, so an interrupted run never leaves a half-written file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Write `bytes` to `path` atomically (temporary file + rename on the same file system).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = temporary_name(path)?;
    let result = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}

/// Write several files as one set, and remove others (stale outputs of an earlier run): all
/// are first written to temporary names beside their targets, then moved into place only
/// when every one has been written ([`place_set`]), so that a failure (a full disk, a
/// directory where a file should go) leaves the previous set untouched instead of half of a
/// new one.
pub fn write_set_atomic(files: &[(PathBuf, Vec<u8>)], remove: &[PathBuf]) -> Result<(), String> {
    // Only regular files (or links) are replaced or removed: a directory in the way is an
    // error before anything is written.
    refuse_directories(files.iter().map(|(p, _)| p).chain(remove))?;
    // 1. Every new file under a temporary name.
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let cleanup = |staged: &[(PathBuf, PathBuf)]| {
        for (t, _) in staged {
            let _ = fs::remove_file(t);
        }
    };
    for (path, bytes) in files {
        let tmp = temporary_name(path)?;
        let written = (|| -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()
        })();
        staged.push((tmp, path.clone()));
        if let Err(e) = written {
            cleanup(&staged);
            return Err(format!("cannot write {}: {e}", path.display()));
        }
    }
    // 2. Into place together.
    place_set(&staged, remove, |_, from, to| fs::rename(from, to)).inspect_err(|_| {
        cleanup(&staged);
    })
}

/// One step of [`place_set`], so that a test can make a chosen step fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceStep {
    /// An existing file moved aside.
    Aside,
    /// A new file renamed into place.
    Place,
}

/// An error if any of `paths` is a directory (a file of the set would have to replace it).
pub fn refuse_directories<'a>(paths: impl IntoIterator<Item = &'a PathBuf>) -> Result<(), String> {
    for path in paths {
        if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
            return Err(format!(
                "cannot write {}: it is a directory; remove or rename it (the previous outputs \
                 are unchanged)",
                path.display()
            ));
        }
    }
    Ok(())
}

/// Move files already written under temporary names (`staged`: temporary, final) into place
/// as one set, and remove `remove`, renaming through `rename`: existing files are moved aside
/// first and put back, with the new ones removed again, if a later rename fails; they are
/// deleted once the whole set is in place. Only a crash during the renames themselves can
/// leave a mixed set, with the old files still present under their aside names. The caller
/// removes the temporaries that were not placed.
pub fn place_set(
    staged: &[(PathBuf, PathBuf)],
    remove: &[PathBuf],
    mut rename: impl FnMut(PlaceStep, &Path, &Path) -> std::io::Result<()>,
) -> Result<(), String> {
    refuse_directories(staged.iter().map(|(_, p)| p).chain(remove))?;
    let aside = |path: &Path| -> Result<PathBuf, String> {
        let name = path
            .file_name()
            .ok_or_else(|| format!("{} is not a file path", path.display()))?
            .to_string_lossy();
        Ok(path.with_file_name(format!(".{name}.old-{}", std::process::id())))
    };
    let mut moved_aside: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut placed: Vec<PathBuf> = Vec::new();
    let undo = |moved_aside: &[(PathBuf, PathBuf)], placed: &[PathBuf]| {
        for p in placed {
            let _ = fs::remove_file(p);
        }
        for (original, old) in moved_aside {
            let _ = fs::rename(old, original);
        }
    };
    for path in staged.iter().map(|(_, p)| p).chain(remove) {
        if fs::symlink_metadata(path).is_ok() {
            let old = aside(path)?;
            if let Err(e) = rename(PlaceStep::Aside, path, &old) {
                undo(&moved_aside, &placed);
                return Err(format!(
                    "cannot replace {}: {e} (the previous outputs are unchanged)",
                    path.display()
                ));
            }
            moved_aside.push((path.clone(), old));
        }
    }
    for (tmp, path) in staged {
        if let Err(e) = rename(PlaceStep::Place, tmp, path) {
            undo(&moved_aside, &placed);
            return Err(format!(
                "cannot write {}: {e} (the previous outputs are unchanged)",
                path.display()
            ));
        }
        placed.push(path.clone());
    }
    // The set is in place: the old files go.
    for (_, old) in &moved_aside {
        let _ = fs::remove_file(old);
    }
    Ok(())
}

/// The temporary name `write_atomic` and `write_set_atomic` write to: hidden, in the same
/// directory (a rename within one file system is atomic), unique to this process.
fn temporary_name(path: &Path) -> Result<PathBuf, String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{} is not a file path", path.display()))?
        .to_string_lossy();
    Ok(path.with_file_name(format!(".{name}.tmp-{}", std::process::id())))
}

/// Create the output directory (and parents) if needed.
pub fn ensure_dir(dir: &Path) -> Result<(), String> {
    fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create output directory {}: {e}", dir.display()))
}

/// CSV text from a header and rows, through the csv crate (quoting handled there).
pub fn csv_text(header: &[String], rows: &[Vec<String>]) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(|e| e.to_string())?;
    for r in rows {
        w.write_record(r).map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// Full precision, shortest representation that round-trips; scientific notation for very
/// small or large magnitudes (a plain decimal of 1e-200 would be 200 characters long).
pub fn num(x: f64) -> String {
    if x != 0.0 && x.is_finite() && (x.abs() < 1e-4 || x.abs() >= 1e15) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_stay_short() {
        for x in [
            0.0,
            1.0,
            0.1,
            123.456,
            1e-200,
            -3.5e-7,
            2.5e20,
            f64::MIN_POSITIVE,
        ] {
            let s = num(x);
            assert_eq!(s.parse::<f64>().unwrap(), x, "{s}");
            assert!(s.len() <= 24, "{s}");
        }
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A set is written whole or not at all: with a directory where one file should go,
    /// none of the files is replaced and nothing is left behind.
    #[test]
    fn set_is_written_whole_or_not_at_all() {
        let dir = std::env::temp_dir().join(format!("il1sim-set-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        ensure_dir(&dir).unwrap();
        let (a, b, stale) = (dir.join("a.csv"), dir.join("b.json"), dir.join("c.svg"));
        fs::write(&a, "old a").unwrap();
        fs::write(&stale, "old c").unwrap();
        fs::create_dir(&b).unwrap();
        let e = write_set_atomic(
            &[
                (a.clone(), b"new a".to_vec()),
                (b.clone(), b"new b".to_vec()),
            ],
            std::slice::from_ref(&stale),
        )
        .unwrap_err();
        assert!(e.contains("b.json") && e.contains("directory"), "{e}");
        assert_eq!(fs::read_to_string(&a).unwrap(), "old a");
        assert_eq!(fs::read_to_string(&stale).unwrap(), "old c");
        assert_eq!(listing(&dir), ["a.csv", "b.json", "c.svg"]);
        // Once the way is clear: all new files in place, the stale one gone, no leftovers.
        fs::remove_dir(&b).unwrap();
        write_set_atomic(
            &[
                (a.clone(), b"new a".to_vec()),
                (b.clone(), b"new b".to_vec()),
            ],
            std::slice::from_ref(&stale),
        )
        .unwrap();
        assert_eq!(fs::read_to_string(&a).unwrap(), "new a");
        assert_eq!(fs::read_to_string(&b).unwrap(), "new b");
        assert_eq!(listing(&dir), ["a.csv", "b.json"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A file that cannot be written (its directory is read-only) leaves the other files of
    /// the set as they were, and no temporary file behind.
    #[cfg(unix)]
    #[test]
    fn failed_write_keeps_the_previous_set() {
        // The second file cannot be written (its folder does not exist; unlike a read-only
        // folder this fails for root too): the first keeps its old content and no temporary
        // file is left.
        let dir = std::env::temp_dir().join(format!("il1sim-set-fail-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        ensure_dir(&dir).unwrap();
        let (a, b) = (dir.join("a.csv"), dir.join("missing").join("b.json"));
        fs::write(&a, "old a").unwrap();
        let e = write_set_atomic(
            &[
                (a.clone(), b"new a".to_vec()),
                (b.clone(), b"new b".to_vec()),
            ],
            &[],
        )
        .unwrap_err();
        assert!(e.contains("b.json"), "{e}");
        assert_eq!(fs::read_to_string(&a).unwrap(), "old a");
        assert_eq!(listing(&dir), ["a.csv"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn atomic_write_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("il1sim-out-{}", std::process::id()));
        ensure_dir(&dir).unwrap();
        let p = dir.join("a.csv");
        write_atomic(&p, b"x,y\n1,2\n").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "x,y\n1,2\n");
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }
}
