//! No code: this crate only asks for dependency features (see its Cargo.toml), so that the
//! Python extension's build resolves the same features as the workspace's tests.
