//! The model a command runs: the bundled one, or a model file given with `--model`.

/// Load the bundled model, or a model file given with `--model`.
pub fn load_model(
    path: Option<&std::path::Path>,
) -> Result<il1sim_core::model::definition::Model, String> {
    match path {
        None => il1sim_core::model::definition::Model::from_toml(
            il1sim_core::IL1_MODEL_TOML,
            "models/il1.toml (bundled)",
        )
        .map_err(|e| e.to_string()),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read model file {}: {e}", p.display()))?;
            il1sim_core::model::definition::Model::from_toml(&text, &p.display().to_string())
                .map_err(|e| e.to_string())
        }
    }
}
