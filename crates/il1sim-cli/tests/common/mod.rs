//! Helpers shared by the binary's integration tests.

use std::path::PathBuf;
use std::process::Command;

/// The `il1sim` binary under test.
pub fn il1sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_il1sim"))
}

/// A path in the repository.
pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// A fresh temporary path, unique to this test process.
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("il1sim-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}
