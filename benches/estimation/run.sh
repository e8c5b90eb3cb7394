#!/usr/bin/env bash
# Full population-estimation run (not part of CI): the 100-subject RA PK study simulated from
# known values, fitted by FOCE-I, and its visual predictive check. Figures in
# docs/estimation-population.md. Run from the repository root after `cargo build --release`.
set -euo pipefail
bin=target/release/il1sim
$bin simulate-study examples/designs/ra-pk-study.toml --model models/anakinra-pk.toml \
  --out examples/data/ra-pk-sim.csv
time $bin fit-population examples/data/ra-pk-sim.csv --out runs/fit
time $bin vpc runs/fit --out runs/vpc
