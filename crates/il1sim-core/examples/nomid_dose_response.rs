//! The NOMID population of the dose–response targets (validation/dose_response.rs): the
//! median CRP on day 90 and the responder share (CRP < 10 mg/L) at 1, 2 and 4 mg/kg/day, and
//! the spread of the median of 18 patients resampled from the simulated population at
//! 1 mg/kg/day, the basis of the tolerance of `nomid-population-crp-month3` in
//! validation/targets.toml. Run: cargo run --release -p il1sim-core --example nomid_dose_response
use il1sim_core::validation::dose_response::*;

fn main() {
    let model = il1sim_core::il1_model();
    let crp = nomid_population_crp_day90(&model).expect("population runs");
    for (d, c) in NOMID_DOSES_MG_PER_KG.iter().zip(crp.iter()) {
        println!(
            "{d} mg/kg/day: n {}, median CRP day 90 {:.3} mg/L, share CRP < {RESPONSE_CRP_MG_L} mg/L {:.3}",
            c.len(),
            median(c),
            responder_share(c)
        );
    }
    let m = median(&crp[0]);
    let (lo, hi) = resampled_median_interval(&crp[0], 18, 20_000, 18, (0.025, 0.975));
    println!(
        "median of 18 at 1 mg/kg/day, 2.5-97.5%: {lo:.3} to {hi:.3} mg/L around {m:.3} \
         (x {:.3} to x {:.3})",
        lo / m,
        hi / m
    );
}
