#!/usr/bin/env python3
"""How far the quasi-steady-state (QSS) binding limit is from the full model.

Issue #3 suggests a fast path with "the binding layer at quasi-steady state". Any QSS
implementation approximates the same limit: the solution as the binding reactions become
infinitely fast while every steady state stays where it is. This script reaches that limit by
simulation instead of by algebra: it multiplies the association rate of the chosen IL-1RI
binding reactions by a factor f and sets each dissociation rate so that the quasi-steady-state
constant does not move, then compares the hourly outputs with the unmodified model. As f grows
(10, 100, 1000) the difference converges to the error of QSS itself, independent of how a QSS
method would be coded.

Which constant is kept:
* antagonist complexes (anakinra, IL-1Ra), lost only by receptor turnover k_t:
  (koff + k_t) / kon, so koff' = f (koff + k_t) - k_t;
* IL-1 complexes, which also recruit IL-1RAcP (forward k_f, reverse k_r) into a signalling
  complex internalised at k_i: the ternary/binary ratio k_f / (k_r + k_i) and the binary
  constant (koff + k_t + k_f k_i / (k_r + k_i)) / kon, so k_f' = f k_f,
  k_r' = f (k_r + k_i) - k_i and koff' = f (koff + k_t + X) - k_t - X with X = k_f k_i / (k_r + k_i).
The untreated state is therefore the same (the script checks it at t = 0).

Usage (from the repository root, after `cargo build --release -p il1sim-cli`):

    python3 benches/qss-limit/qss_limit.py
    python3 benches/qss-limit/qss_limit.py --factors 10,100,1000 --scenario scenarios/ra-100mg-daily.toml

Errors are the largest relative difference over the hourly outputs, with values below 1e-4 of
a column's peak measured against that floor (as examples/fast_accuracy.rs does), over the whole
28 days and over the days from 96 h on, when the orbit is periodic. With --of-peak every
difference is measured against the column's peak instead (a looser reading of "relative").
"""

import argparse
import csv
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "il1.toml"

ANTAGONIST_BINDING = ["anakinra_binds_il1r1", "il1ra_binds_il1r1"]
IL1_BINDING = ["il1b_binds_il1r1", "il1a_binds_il1r1"]
ACP_RECRUITMENT = ["il1b_recruits_acp", "il1a_recruits_acp"]

COLUMNS = [
    ("receptor_occupancy_antagonist_fraction", "occupancy (antagonist)"),
    ("receptor_occupancy_il1_fraction", "occupancy (IL-1)"),
    ("il1_signal_relative_ratio", "IL-1 signal"),
    ("crp_mg_per_L", "CRP"),
]

# Derived rate constants added to the model copy. Each keeps a quasi-steady-state constant
# (module docstring); names end in _qss so that they cannot collide with the model's.
DERIVED = {
    "kon_qss": "kon_il1r1 * qss_factor",
    "koff_antagonist_qss": "(kd_off_il1r1 + k_receptor_turnover) * qss_factor - k_receptor_turnover",
    "acp_forward_qss": "k_acp_forward * qss_factor",
    "acp_reverse_qss": "(k_acp_reverse + k_internalisation) * qss_factor - k_internalisation",
    "koff_il1_qss": (
        "(kd_off_il1r1 + k_receptor_turnover + k_acp_forward * k_internalisation"
        " / (k_acp_reverse + k_internalisation)) * qss_factor - k_receptor_turnover"
        " - k_acp_forward * k_internalisation / (k_acp_reverse + k_internalisation)"
    ),
}
DERIVED_UNITS = {"kon_qss": "1/(nM*h)"}


def replace_in_reaction(text: str, reaction: str, key: str, old: str, new: str) -> str:
    """Replace `key = "old"` inside the [[reactions]] block named `reaction`, exactly once."""
    block = re.compile(
        r'(\[\[reactions\]\]\nname = "' + re.escape(reaction) + r'"\n(?:(?!\[\[).*\n)*?)'
        + re.escape(key) + r' = "' + re.escape(old) + '"'
    )
    result, count = block.subn(lambda m: m.group(1) + f'{key} = "{new}"', text)
    if count != 1:
        sys.exit(f"{MODEL}: reaction '{reaction}' has no {key} = \"{old}\" (model changed?)")
    return result


def model_variant(factor: float, which: str) -> str:
    """The model text with the `which` binding reactions sped up by `factor`."""
    text = MODEL.read_text()
    used = ["kon_qss", "koff_antagonist_qss"]
    for r in ANTAGONIST_BINDING:
        text = replace_in_reaction(text, r, "kon", "kon_il1r1", "kon_qss")
        text = replace_in_reaction(text, r, "koff", "kd_off_il1r1", "koff_antagonist_qss")
    if which == "all":
        used += ["acp_forward_qss", "acp_reverse_qss", "koff_il1_qss"]
        for r in IL1_BINDING:
            text = replace_in_reaction(text, r, "kon", "kon_il1r1", "kon_qss")
            text = replace_in_reaction(text, r, "koff", "kd_off_il1r1", "koff_il1_qss")
        for r in ACP_RECRUITMENT:
            text = replace_in_reaction(text, r, "forward", "k_acp_forward", "acp_forward_qss")
            text = replace_in_reaction(text, r, "reverse", "k_acp_reverse", "acp_reverse_qss")
    parameter = (
        f'qss_factor = {{ value = {factor!r}, unit = "1", '
        'source = "benches/qss-limit: speed-up of the binding reactions" }\n'
    )
    derived = "".join(
        f'{name} = {{ expr = "{DERIVED[name]}", unit = "{DERIVED_UNITS.get(name, "1/h")}", '
        'source = "benches/qss-limit: same quasi-steady-state constant, faster binding" }\n'
        for name in used
    )
    text, n1 = re.subn(r"(?m)^\[parameters\]\n", lambda m: m.group(0) + parameter, text)
    text, n2 = re.subn(r"(?m)^\[derived\]\n", lambda m: m.group(0) + derived, text)
    if n1 != 1 or n2 != 1:
        sys.exit(f"{MODEL}: expected one [parameters] and one [derived] table")
    return text


def simulate(il1sim: Path, scenario: Path, model: Path, out: Path) -> list[dict]:
    subprocess.run(
        [str(il1sim), "simulate", str(scenario), "--model", str(model), "--rtol", "1e-9",
         "--atol", "1e-9", "--no-plot", "--out", str(out)],
        check=True, stdout=subprocess.DEVNULL,
    )
    with open(out / "timecourse.csv", newline="") as f:
        return list(csv.DictReader(f))


def largest_error(reference: list[dict], other: list[dict], column: str, from_h: float,
                  of_peak: bool = False):
    peak = max(abs(float(r[column])) for r in reference)
    worst, at = 0.0, None
    for a, b in zip(reference, other, strict=True):
        if a["regimen"] != b["regimen"] or a["time_h"] != b["time_h"]:
            sys.exit("outputs are not on the same grid")
        if float(a["time_h"]) < from_h:
            continue
        va, vb = float(a[column]), float(b[column])
        e = abs(va - vb) / (peak if of_peak else max(abs(va), 1e-4 * peak))
        if e > worst:
            worst, at = e, float(a["time_h"])
    return worst, at


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--il1sim", type=Path, default=ROOT / "target" / "release" / "il1sim")
    p.add_argument("--scenario", type=Path, action="append",
                   help="scenario file (repeatable) [default: caps-100mg-daily, ra-100mg-daily, "
                        "ra-renal-crcl25]")
    p.add_argument("--factors", default="10,100,1000",
                   help="comma-separated speed-ups of the binding reactions [default: 10,100,1000]")
    p.add_argument("--of-peak", action="store_true",
                   help="measure every difference against the column's peak instead of the value")
    args = p.parse_args()
    if not args.il1sim.exists():
        sys.exit(f"{args.il1sim} not found: run `cargo build --release -p il1sim-cli` first")
    scenarios = args.scenario or [ROOT / "scenarios" / s for s in
                                  ("caps-100mg-daily.toml", "ra-100mg-daily.toml",
                                   "ra-renal-crcl25.toml")]
    factors = [float(f) for f in args.factors.split(",")]
    if any(f < 1 for f in factors):
        sys.exit("--factors: each factor must be at least 1")
    header = "| scenario | binding at QSS | speed-up | " + " | ".join(
        f"{label} (all / from 96 h)" for _, label in COLUMNS) + " | at t = 0 |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for scenario in scenarios:
            reference = simulate(args.il1sim, scenario, MODEL, tmp / "reference")
            for which in ("antagonist", "all"):
                for factor in factors:
                    model = tmp / f"il1-{which}-{factor:g}.toml"
                    model.write_text(model_variant(factor, which))
                    rows = simulate(args.il1sim, scenario, model, tmp / f"{which}-{factor:g}")
                    cells = []
                    for column, _ in COLUMNS:
                        every, _ = largest_error(reference, rows, column, 0.0, args.of_peak)
                        late, _ = largest_error(reference, rows, column, 96.0, args.of_peak)
                        cells.append(f"{every:.1e} / {late:.1e}")
                    start = max(
                        abs(float(rows[0][c]) - float(reference[0][c]))
                        / max(abs(float(reference[0][c])), 1e-300)
                        for c, _ in COLUMNS)
                    label = ("anakinra, IL-1Ra" if which == "antagonist"
                             else "all IL-1RI and IL-1RAcP")
                    print(f"| {scenario.stem} | {label} | {factor:g}× | " + " | ".join(cells)
                          + f" | {start:.0e} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
