#!/usr/bin/env python3
"""Cross-validate il1sim against libRoadRunner through the SBML export, and compare speed.

Run from the repository root after `cargo build --release -p il1sim-cli`:

    python3 benches/roadrunner/compare.py                      # both parts, 100 subjects
    python3 benches/roadrunner/compare.py --subjects 20 --skip-speed

Cross-validation: `il1sim export-sbml SCENARIO` and `il1sim simulate SCENARIO --rtol 1e-10
--atol 1e-10`; roadrunner (CVODE BDF, relative tolerance 1e-10, absolute tolerance 1e-12 x
each state's scale) simulates the SBML on the same output grid. For every observable column
of timecourse.csv it reports the largest relative difference over the points above 1e-4 of
that column's peak. il1sim reports the state at a dose time before the dose, SBML simulators
after it, so at a dose time roadrunner is read 1e-7 h earlier (and at t = 0, when a dose is
given then, from the same document without its events). Exit status 1 if a column is above
--target (1e-4).

Speed: roadrunner runs the same document N times (reset, simulate the scenario's duration on
its output grid, species concentrations recorded; nothing is varied between subjects) at
relative tolerance 1e-6, with its default absolute tolerance and with il1sim's (1e-6 x each
state's scale). For il1sim, `il1sim bench SCENARIO --subjects N` when that command exists
(its `per_subject_ms=` line); otherwise one `il1sim simulate` run, timed from outside, so
process start-up, the untreated steady state and writing the CSV are included.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

SBML_NS = "http://www.sbml.org/sbml/level3/version2/core"
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
ANNOTATION_NS = "urn:il1sim:sbml-annotation:1"
NS = {"s": SBML_NS, "m": MATHML_NS, "a": ANNOTATION_NS}

# How far before a dose time roadrunner is read to get the pre-dose value (h).
LEFT_LIMIT_H = 1e-7


def run(cmd: list[str], **kw) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    return proc.stdout


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical CPUs (nproc)"


class Document:
    """What compare.py needs from the exported SBML: dose times, species scales and volumes."""

    def __init__(self, text: str):
        self.text = text
        root = ET.fromstring(text.encode())
        model = root.find("s:model", NS)
        volumes = {
            c.get("id"): float(c.get("size"))
            for c in model.find("s:listOfCompartments", NS)
        }
        self.species = []  # (id, atol scale in the species' own unit, compartment volume)
        for s in model.find("s:listOfSpecies", NS):
            ann = s.find("s:annotation/a:state", NS)
            scale = float(ann.get("atol_scale")) if ann is not None else 1.0
            self.species.append((s.get("id"), scale, volumes[s.get("compartment")],
                                 s.get("hasOnlySubstanceUnits") == "true"))
        self.dose_times = []
        events = model.find("s:listOfEvents", NS)
        for e in events if events is not None else []:
            cn = e.find("s:trigger/m:math/m:apply/m:cn", NS)
            self.dose_times.append(float(cn.text))

    def without_events(self) -> str:
        return re.sub(r"<listOfEvents>.*</listOfEvents>", "", self.text, flags=re.S)


def set_tolerances(rr, doc: Document, rtol: float, atol_factor: float | None) -> None:
    """CVODE tolerances; roadrunner integrates amounts, so each state's absolute tolerance is
    atol_factor x its scale x its compartment volume (None: roadrunner's default)."""
    rr.integrator.relative_tolerance = rtol
    rr.integrator.maximum_num_steps = 1_000_000
    if atol_factor is not None:
        for sid, scale, volume, amount in doc.species:
            rr.integrator.setIndividualTolerance(sid, atol_factor * scale * (1.0 if amount else volume))


def read_timecourse(path: str, regimen: str | None):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if regimen is None:
        regimen = rows[0]["regimen"]
    rows = [r for r in rows if r["regimen"] == regimen]
    columns = [c for c in rows[0].keys() if c not in ("time_h", "regimen")]
    times = [float(r["time_h"]) for r in rows]
    values = {c: [float(r[c]) for r in rows] for c in columns}
    return times, columns, values


def export(args) -> str:
    cmd = [args.il1sim, "export-sbml", args.scenario]
    if args.regimen:
        cmd += ["--regimen", args.regimen]
    return run(cmd)


def cross_validate(args, roadrunner) -> bool:
    sbml = export(args)
    doc = Document(sbml)
    with tempfile.TemporaryDirectory() as out:
        run([args.il1sim, "simulate", args.scenario, "--out", out,
             "--rtol", "1e-10", "--atol", "1e-10", "--no-plot"])
        times, columns, il1sim = read_timecourse(os.path.join(out, "timecourse.csv"),
                                                 args.regimen)

    rr = roadrunner.RoadRunner(sbml)
    set_tolerances(rr, doc, 1e-10, 1e-12)
    # Read just before each dose time (il1sim reports pre-dose values there).
    doses = doc.dose_times
    query = [t - LEFT_LIMIT_H if t > 0 and any(abs(t - d) < 1e-9 for d in doses) else t
             for t in times]
    result = rr.simulate(times=query, selections=["time"] + columns)
    rr_values = {c: list(result[:, k + 1]) for k, c in enumerate(columns)}
    if any(d == 0.0 for d in doses) and times[0] == 0.0:
        # The dose at t = 0 has fired when roadrunner reports t = 0; il1sim reports the
        # untreated state there: read it from the document without events.
        pre = roadrunner.RoadRunner(doc.without_events())
        for c in columns:
            rr_values[c][0] = pre[c]

    print(f"## Cross-validation: {args.scenario}, {len(times)} output times "
          f"({len(doses)} doses, pre-dose values at dose times)\n")
    print("il1sim: BDF rtol 1e-10, atol 1e-10 x state scale; "
          "roadrunner: CVODE BDF rtol 1e-10, atol 1e-12 x state scale\n")
    print("| column | points compared | max relative difference | at time (h) "
          "| max abs difference / peak, all points |")
    print("|---|---:|---:|---:|---:|")
    ok = True
    for c in columns:
        ref = il1sim[c]
        peak = max(abs(x) for x in ref)
        worst, worst_t, n = 0.0, float("nan"), 0
        abs_worst = max(abs(b - a) for a, b in zip(ref, rr_values[c])) / peak if peak else 0.0
        for t, a, b in zip(times, ref, rr_values[c]):
            if abs(a) <= 1e-4 * peak or a == 0.0:
                continue
            n += 1
            d = abs(b - a) / abs(a)
            if not math.isfinite(d):
                d = math.inf
            if d > worst:
                worst, worst_t = d, t
        ok &= worst <= args.target
        print(f"| {c} | {n} | {worst:.2e} | {worst_t:g} | {abs_worst:.2e} |")
    print(f"\ntarget <= {args.target:g}: {'PASS' if ok else 'FAIL'}\n")
    return ok


def time_roadrunner(roadrunner, sbml: str, doc: Document, n: int, duration_h: float,
                    points: int, atol_factor: float | None) -> tuple[float, float]:
    t0 = time.perf_counter()
    rr = roadrunner.RoadRunner(sbml)
    load_s = time.perf_counter() - t0
    set_tolerances(rr, doc, 1e-6, atol_factor)
    rr.simulate(0, duration_h, points)  # warm-up
    t0 = time.perf_counter()
    for _ in range(n):
        rr.reset()
        rr.simulate(0, duration_h, points)
    per_ms = (time.perf_counter() - t0) / n * 1e3
    return per_ms, load_s * 1e3


def time_il1sim(args) -> tuple[float, str]:
    help_text = run([args.il1sim, "--help"])
    if re.search(r"^\s+bench\b", help_text, flags=re.M):
        out = run([args.il1sim, "bench", args.scenario, "--subjects", str(args.subjects)])
        m = re.search(r"per_subject_ms=([0-9.eE+-]+)", out)
        if not m:
            sys.exit(f"`il1sim bench` printed no per_subject_ms= line:\n{out}")
        return float(m.group(1)), f"`il1sim bench --subjects {args.subjects}`"
    best = math.inf
    with tempfile.TemporaryDirectory() as out:
        for _ in range(3):
            t0 = time.perf_counter()
            run([args.il1sim, "simulate", args.scenario, "--out", out, "--no-plot"])
            best = min(best, time.perf_counter() - t0)
    return best * 1e3, ("one `il1sim simulate` process, best of 3 (includes process start-up, "
                        "the untreated steady state and writing the CSV)")


def scenario_grid(path: str) -> tuple[float, float]:
    import tomllib
    with open(path, "rb") as f:
        s = tomllib.load(f)["scenario"]
    return float(s["duration_days"]) * 24.0, float(s.get("output_interval_h", 1.0))


def speed(args, roadrunner) -> None:
    sbml = export(args)
    doc = Document(sbml)
    duration_h, step_h = scenario_grid(args.scenario)
    points = int(round(duration_h / step_h)) + 1
    il1sim_ms, how = time_il1sim(args)
    rows = [("il1sim (BDF, diffsol)", "rtol 1e-6, atol 1e-6 x state scale", il1sim_ms)]
    for label, atol in (("roadrunner default atol", None), ("matched atol", 1e-6)):
        ms, load_ms = time_roadrunner(roadrunner, sbml, doc, args.subjects, duration_h,
                                      points, atol)
        tol = ("rtol 1e-6, atol roadrunner default (1e-12, scaled by roadrunner)"
               if atol is None else "rtol 1e-6, atol 1e-6 x state scale")
        rows.append((f"libRoadRunner {roadrunner.__version__} (CVODE BDF), {label}", tol, ms))
    print(f"## Speed: {args.scenario}, {duration_h:g} h, {points} output times, "
          f"{args.subjects} subjects\n")
    print(f"Machine: {machine()}; Python {platform.python_version()}\n")
    print("| tool | tolerances | per-subject ms | ratio to il1sim |")
    print("|---|---|---:|---:|")
    for tool, tol, ms in rows:
        print(f"| {tool} | {tol} | {ms:.2f} | {ms / il1sim_ms:.2f} |")
    print(f"\nil1sim timing: {how}.")
    print("roadrunner timing: reset + simulate per subject, same document each time (nothing "
          "varied), species concentrations recorded at every output time; loading and "
          f"JIT-compiling the document ({load_ms:.0f} ms) is excluded.")


def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--il1sim", default=os.path.join(root, "target", "release", "il1sim"))
    p.add_argument("--scenario", default=os.path.join(root, "scenarios", "caps-100mg-daily.toml"))
    p.add_argument("--regimen", help="regimen name [default: the first]")
    p.add_argument("--subjects", type=int, default=100)
    p.add_argument("--target", type=float, default=1e-4)
    p.add_argument("--skip-cross", action="store_true")
    p.add_argument("--skip-speed", action="store_true")
    args = p.parse_args()
    if not os.path.exists(args.il1sim):
        sys.exit(f"{args.il1sim} not found: run `cargo build --release -p il1sim-cli` first")
    try:
        import roadrunner
    except ImportError:
        sys.exit("libroadrunner is not installed: pip install -r benches/roadrunner/requirements.txt")
    ok = True
    if not args.skip_cross:
        ok = cross_validate(args, roadrunner)
    if not args.skip_speed:
        speed(args, roadrunner)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
