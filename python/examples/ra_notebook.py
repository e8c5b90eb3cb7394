"""A notebook-style walk through il1sim from Python (run it as a script, or paste the cells
into Jupyter): one patient, two regimens compared, a virtual population's percentile bands,
and a figure with matplotlib.

    python python/examples/ra_notebook.py [FIGURE.png]     # from the repository root

Writes FIGURE.png (default: docs/images/python-example.png).
"""

# %% Setup
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter, ScalarFormatter

import il1sim

REPO = Path(__file__).resolve().parents[2]
figure_path = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs/images/python-example.png"

# %% One patient, quick form: 100 mg SC daily in RA with severe renal impairment
daily = il1sim.simulate(dose="100mg", every="24h", days=28, weight=70, crcl=25, disease="ra")
every_other = il1sim.simulate(dose="100mg", every="48h", days=28, weight=70, crcl=25, disease="ra")
for name, run in [("daily", daily), ("every other day", every_other)]:
    print(f"{name:16s} trough {run.figure('trough'):.0f} ng/mL, "
          f"occupancy at trough {run.figure('occupancy_antagonist_trough'):.3f}")
print(daily.figures.to_pandas())

# %% A virtual population: 200 RA patients with a wide spread of renal function
pop = il1sim.population(REPO / "scenarios/ra-renal-population.toml", subjects=200, seed=1)
targets = pop.targets.to_pandas()
print(targets[targets["stratified_by"] == "all"][["regimen", "target", "probability"]])
bands = pop.bands.to_pandas()

# %% The figure: concentration of one patient, and the population's CRP band
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
for name, run in [("100 mg daily", daily), ("100 mg every other day", every_other)]:
    tc = run.to_pandas()
    left.plot(tc["time_h"] / 24, tc["anakinra_plasma_ng_per_mL"], label=name)
left.set(xlabel="time (days)", ylabel="anakinra plasma (ng/mL)",
         title="one patient, CrCl 25 mL/min")
left.legend()
for regimen, colour in zip(bands["regimen"].unique(), ["tab:blue", "tab:orange"]):
    b = bands[(bands["regimen"] == regimen) & (bands["observable"] == "crp")]
    days = b["time_h"] / 24
    right.fill_between(days, b["p05"], b["p95"], color=colour, alpha=0.2)
    right.plot(days, b["p50"], color=colour, label=f"{regimen} (median, 5-95th pct)")
right.set(xlabel="time (days)", ylabel="CRP (mg/L)", yscale="log",
          title=f"{pop.to_pandas()['subject_id'].nunique()} virtual RA patients")
right.yaxis.set_major_formatter(ScalarFormatter())
right.yaxis.set_minor_formatter(NullFormatter())
right.legend()
figure_path.parent.mkdir(parents=True, exist_ok=True)
fig.savefig(figure_path, dpi=100)
print(f"wrote {figure_path}")
