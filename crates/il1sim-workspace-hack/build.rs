//! No build step: the script exists because Cargo reads `[build-dependencies]` only for a
//! package with a build script (see Cargo.toml: host features of syn).
fn main() {}
