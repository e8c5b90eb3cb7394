//! Print every validation target with the model's value (a quick view without the CLI).
fn main() {
    let model = il1sim_core::il1_model();
    let targets = il1sim_core::validation::targets::load_targets(
        il1sim_core::validation::targets::TARGETS_TOML,
        "validation/targets.toml",
    )
    .unwrap();
    for t in &targets {
        let start = std::time::Instant::now();
        let o = il1sim_core::validation::targets::run_target(&model, t);
        println!(
            "{:<28} {:<12} {:>14} {:<6} {:?}",
            t.id,
            t.check.describe(),
            match &o.model_value {
                Ok(v) => format!("{v:.6}"),
                Err(e) => e.clone(),
            },
            o.status().label(),
            start.elapsed()
        );
    }
}
