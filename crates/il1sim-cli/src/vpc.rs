//! `il1sim vpc <fit dir> --out DIR`: visual predictive check of a `fit-population` run
//! (`il1sim_core::estimation::vpc`): the fit's dataset design simulated `--replicates` times
//! with its estimates; `vpc.csv` (per observable and time bin: the observed 5th, 50th and 95th
//! percentiles and the simulated 90% band of each) and `vpc.svg`/`vpc.png`.

use crate::fit_data::{fit_model, read_dataset, FitFile};
use crate::output::{csv_text, ensure_dir, num, write_set_atomic};
use crate::plot::diagnostics::{vpc_png, vpc_svg, VpcPanel};
use il1sim_core::estimation::foce::PopulationParameters;
use il1sim_core::estimation::residual::ResidualError;
use il1sim_core::estimation::vpc::{vpc, VpcOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct VpcArgs {
    /// Output directory of `il1sim fit-population` (its fit.json)
    pub fit: PathBuf,
    /// Output directory
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Simulated replicates of the study
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub replicates: usize,
    /// Time bins per observable (quantile bins; equal times stay in one bin)
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub bins: usize,
    /// Random seed
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// Worker threads [default: all cores]; the VPC does not depend on it
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

pub fn run(args: VpcArgs) -> Result<ExitCode, String> {
    let path = args.fit.join("fit.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read {}: {e} (run il1sim fit-population first)",
            path.display()
        )
    })?;
    let fit: FitFile =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let model = fit_model(fit.model.as_deref())?;
    let dataset = read_dataset(&fit.dataset, &model)?;
    let id = |name: &str| {
        model.parameter_id(name).ok_or_else(|| {
            format!(
                "{}: '{name}' is not a parameter of model '{}'",
                path.display(),
                model.name
            )
        })
    };
    let eta_ids: Vec<usize> = fit
        .omega
        .iter()
        .map(|(n, _)| id(n))
        .collect::<Result<_, _>>()?;
    let residual: Vec<ResidualError> = fit
        .residual
        .iter()
        .map(|(o, a, b)| {
            Ok(ResidualError {
                observable: model
                    .observable_id(o)
                    .ok_or_else(|| format!("{}: '{o}' is not an observable", path.display()))?,
                additive: *a,
                proportional: *b,
            })
        })
        .collect::<Result<_, String>>()?;
    let params = PopulationParameters {
        theta: fit.theta.iter().map(|t| t.1).collect(),
        omega: fit.omega.iter().map(|o| o.1).collect(),
        residual,
    };
    let options = VpcOptions {
        replicates: args.replicates,
        bins: args.bins,
        seed: args.seed,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let result = pool.install(|| vpc(&model, &dataset, &fit.theta, &eta_ids, &params, &options))?;
    ensure_dir(&args.out)?;
    let header: Vec<String> = [
        "observable",
        "unit",
        "bin_first_h",
        "bin_last_h",
        "bin_time_h",
        "observations",
        "observed_p5",
        "observed_p50",
        "observed_p95",
        "sim_p5_lo",
        "sim_p5_median",
        "sim_p5_hi",
        "sim_p50_lo",
        "sim_p50_median",
        "sim_p50_hi",
        "sim_p95_lo",
        "sim_p95_median",
        "sim_p95_hi",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rows = Vec::new();
    let mut panels = Vec::new();
    for o in &result {
        let obs = &model.observables[o.observable];
        for b in &o.bins {
            let mut r = vec![
                obs.name.clone(),
                obs.unit.clone(),
                num(b.first_h),
                num(b.last_h),
                num(b.time_h),
                b.observations.to_string(),
            ];
            r.extend(b.observed.iter().map(|&v| num(v)));
            r.extend(b.simulated.iter().flat_map(|s| s.iter().map(|&v| num(v))));
            rows.push(r);
        }
        panels.push(VpcPanel {
            title: format!(
                "{} ({}): {} replicates, {} bins; {:.1}% of observations outside the outer bands",
                obs.name,
                obs.description,
                args.replicates,
                o.bins.len(),
                100.0 * o.observed_outside_band
            ),
            x_label: "time (h)".into(),
            y_label: format!("{} ({})", obs.name, obs.unit),
            time: o.bins.iter().map(|b| b.time_h).collect(),
            observed: o.bins.iter().map(|b| b.observed).collect(),
            simulated: o.bins.iter().map(|b| b.simulated).collect(),
            points: dataset
                .subjects
                .iter()
                .flat_map(|s| &s.observations)
                .filter(|x| x.observable == o.observable)
                .filter_map(|x| x.value.map(|v| (x.time_h, v)))
                .collect(),
        });
        println!(
            "{}: {} bins, {:.1}% of observations outside the simulated 90% bands of the 5th and 95th percentiles",
            obs.name,
            o.bins.len(),
            100.0 * o.observed_outside_band
        );
    }
    let title = format!("Visual predictive check (OFV {:.2})", fit.ofv);
    let files = vec![
        (args.out.join("vpc.csv"), csv_text(&header, &rows)?),
        (
            args.out.join("vpc.svg"),
            vpc_svg(&title, &panels)?.into_bytes(),
        ),
        (args.out.join("vpc.png"), vpc_png(&title, &panels)?),
    ];
    write_set_atomic(&files, &[])?;
    println!(
        "wrote {} ({:.1} s)",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
