#!/usr/bin/env python3
"""Cross-validate il1sim against libRoadRunner through the SBML export, and compare speed.

Run from anywhere after `cargo build --release -p il1sim-cli`:

    python3 benches/roadrunner/compare.py                       # both parts, 100 subjects
    python3 benches/roadrunner/compare.py --skip-speed
    python3 benches/roadrunner/compare.py --scenario scenarios/ra-renal-crcl25.toml --regimen NAME

Cross-validation: `il1sim export-sbml SCENARIO` and `il1sim simulate SCENARIO --rtol 1e-10
--atol 1e-10`; roadrunner (CVODE BDF, relative tolerance 1e-10, absolute tolerance 1e-12 x
each state's scale) simulates the SBML on the same output grid. For every observable column
of timecourse.csv it reports the largest relative difference over the points above 1e-4 of
that column's peak (a column that stays below 1e-20 in both tools counts as zero). il1sim
reports the state at a dose time before the dose, SBML simulators after it, so at a dose
time roadrunner is read 1e-7 h earlier (and at t = 0, when a dose is given then, from the
same document without its events). Exit status 1 if a column is above --target (1e-4).
With --libsbml the document goes through libSBML's consistency checks (units included);
with --copasi the same comparison is made with COPASI (python-copasi), except at dose times.

Speed: roadrunner runs the same document N times (reset, then simulate the scenario's
duration on its output grid, species concentrations recorded; nothing is varied between
subjects) at relative tolerance 1e-6, with its default absolute tolerance and with
il1sim's (1e-6 x each state's scale). For il1sim, `il1sim bench SCENARIO --subjects N`
when that command exists (its `per_subject_ms=` line: one thread, and per subject the
untreated steady state as well as the regimen, which roadrunner gets for free from the
document); otherwise one `il1sim simulate` run timed from outside, so that process
start-up, the untreated steady state and writing the CSV are included. Each row also gives
the worst relative error of that setting against the tight il1sim reference, computed as in
the cross-validation.
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
import tomllib
import xml.etree.ElementTree as ET

SBML_NS = "http://www.sbml.org/sbml/level3/version2/core"
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
ANNOTATION_NS = "urn:il1sim:sbml-annotation:1"
NS = {"s": SBML_NS, "m": MATHML_NS, "a": ANNOTATION_NS}

# How far before a dose time roadrunner is read to get the pre-dose value (h).
LEFT_LIMIT_H = 1e-7
# A column whose values stay below this in both tools is zero up to rounding (for example
# endogenous IL-1Ra in DIRA); relative differences of rounding noise mean nothing.
ZERO_FLOOR = 1e-20
# Points below this fraction of a column's peak are not compared.
PEAK_FRACTION = 1e-4


def run(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8")
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
    """The exported SBML and what compare.py reads from it: dose times, and per species
    its il1sim tolerance scale, compartment volume and whether it is an amount."""

    def __init__(self, text: str):
        self.text = text
        model = ET.fromstring(text.encode()).find("s:model", NS)
        volumes = {c.get("id"): float(c.get("size"))
                   for c in model.find("s:listOfCompartments", NS)}
        self.species = []
        for s in model.find("s:listOfSpecies", NS):
            ann = s.find("s:annotation/a:state", NS)
            scale = float(ann.get("atol_scale")) if ann is not None else 1.0
            self.species.append((s.get("id"), scale, volumes[s.get("compartment")],
                                 s.get("hasOnlySubstanceUnits") == "true"))
        events = model.find("s:listOfEvents", NS)
        self.dose_times = [float(e.find("s:trigger/m:math/m:apply/m:cn", NS).text)
                           for e in (events if events is not None else [])]

    def without_events(self) -> str:
        return re.sub(r"<listOfEvents>.*</listOfEvents>", "", self.text, flags=re.S)


def check_with_libsbml(doc: Document) -> bool:
    """libSBML's consistency checks, unit consistency included; True if nothing is reported."""
    import libsbml
    sbml = libsbml.readSBMLFromString(doc.text)
    sbml.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, True)
    sbml.checkConsistency()
    n = sbml.getNumErrors()  # reading and consistency issues together
    print(f"## libSBML {libsbml.getLibSBMLDottedVersion()} consistency checks (units "
          f"included): {n} issue(s)\n")
    for i in range(sbml.getNumErrors()):
        e = sbml.getError(i)
        print(f"- {e.getSeverityAsString()} line {e.getLine()}: {e.getShortMessage()}")
    return n == 0


def set_tolerances(rr, doc: Document, rtol: float, atol_factor: float | None) -> None:
    """CVODE tolerances. roadrunner integrates amounts, so a state's absolute tolerance is
    atol_factor x its scale x its compartment volume (None: roadrunner's default)."""
    rr.integrator.relative_tolerance = rtol
    rr.integrator.maximum_num_steps = 1_000_000
    if atol_factor is not None:
        for sid, scale, volume, amount in doc.species:
            rr.integrator.setIndividualTolerance(
                sid, atol_factor * scale * (1.0 if amount else volume))


class Timecourse:
    """Observable columns on an output grid."""

    def __init__(self, times: list[float], values: dict[str, list[float]]):
        self.times = times
        self.values = values
        self.columns = list(values)


def il1sim_timecourse(args, solver_flags: list[str]) -> Timecourse:
    with tempfile.TemporaryDirectory() as out:
        run([args.il1sim, "simulate", args.scenario, "--out", out, "--no-plot"] + solver_flags)
        with open(os.path.join(out, "timecourse.csv"), newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    regimen = args.regimen or rows[0]["regimen"]
    rows = [r for r in rows if r["regimen"] == regimen]
    if not rows:
        sys.exit(f"timecourse.csv has no rows for regimen '{regimen}'")
    columns = [c for c in rows[0] if c not in ("time_h", "regimen")]
    return Timecourse([float(r["time_h"]) for r in rows],
                      {c: [float(r[c]) for r in rows] for c in columns})


def roadrunner_timecourse(roadrunner, doc: Document, ref: Timecourse, rtol: float,
                          atol_factor: float | None) -> Timecourse:
    """roadrunner on il1sim's grid, with pre-dose values at dose times."""
    rr = roadrunner.RoadRunner(doc.text)
    set_tolerances(rr, doc, rtol, atol_factor)
    query = [t - LEFT_LIMIT_H if t > 0 and any(abs(t - d) < 1e-9 for d in doc.dose_times)
             else t for t in ref.times]
    result = rr.simulate(times=query, selections=["time"] + ref.columns)
    values = {c: [float(x) for x in result[:, k + 1]] for k, c in enumerate(ref.columns)}
    if ref.times[0] == 0.0 and any(d == 0.0 for d in doc.dose_times):
        # roadrunner reports t = 0 after the dose given then; il1sim before it.
        pre = roadrunner.RoadRunner(doc.without_events())
        for c in ref.columns:
            values[c][0] = float(pre[c])
    return Timecourse(ref.times, values)


def copasi_timecourse(doc: Document, ref: Timecourse) -> Timecourse:
    """COPASI (LSODA, relative tolerance 1e-10, absolute 1e-14) on il1sim's grid. COPASI
    reports the state after the event at a dose time and cannot be read just before it, so
    dose times are left out (NaN)."""
    import COPASI
    step = ref.times[1] - ref.times[0]
    if any(abs(t - k * step) > 1e-9 * (1 + t) for k, t in enumerate(ref.times)):
        sys.exit("--copasi needs a uniform output grid starting at 0")
    dm = COPASI.CRootContainer.addDatamodel()
    if not dm.importSBMLFromString(doc.text):
        sys.exit("COPASI could not import the document:\n"
                 + COPASI.CCopasiMessage.getAllMessageText())
    task = dm.getTask("Time-Course")
    task.setMethodType(COPASI.CTaskEnum.Method_deterministic)
    problem = task.getProblem()
    problem.setDuration(ref.times[-1])
    problem.setStepNumber(len(ref.times) - 1)
    problem.setTimeSeriesRequested(True)
    method = task.getMethod()
    method.getParameter("Relative Tolerance").setDblValue(1e-10)
    method.getParameter("Absolute Tolerance").setDblValue(1e-14)
    method.getParameter("Max Internal Steps").setIntValue(1_000_000)
    if not task.processWithOutputFlags(True, COPASI.CCopasiTask.ONLY_TIME_SERIES):
        sys.exit("COPASI time course failed:\n" + COPASI.CCopasiMessage.getAllMessageText())
    ts = task.getTimeSeries()
    # Observables are global quantities named like the columns: "Values[<name>]".
    index = {ts.getTitle(i): i for i in range(ts.getNumVariables())}
    values = {}
    for c in ref.columns:
        i = index[f"Values[{c}]"]
        values[c] = [math.nan if any(abs(t - d) < 1e-9 for d in doc.dose_times)
                     else ts.getData(k, i) for k, t in enumerate(ref.times)]
    return Timecourse(ref.times, values)


def differences(ref: Timecourse, other: Timecourse) -> dict[str, tuple | None]:
    """Per column: (points compared, max relative difference, its time, max |difference| /
    peak over all points), or None for a column that is zero in both. Points where `other`
    is NaN are left out (COPASI at dose times)."""
    out = {}
    for c in ref.columns:
        a_all, b_all = ref.values[c], other.values[c]
        peak = max(abs(x) for x in a_all)
        pairs = [(a, b) for a, b in zip(a_all, b_all) if not math.isnan(b)]
        if peak < ZERO_FLOOR and max(abs(b) for _, b in pairs) < ZERO_FLOOR:
            out[c] = None
            continue
        worst, worst_t, n = 0.0, float("nan"), 0
        for t, a, b in zip(ref.times, a_all, b_all):
            if a == 0.0 or abs(a) <= PEAK_FRACTION * peak or math.isnan(b):
                continue
            n += 1
            d = abs(b - a) / abs(a)
            d = d if math.isfinite(d) else math.inf
            if d > worst:
                worst, worst_t = d, t
        abs_worst = max(abs(b - a) for a, b in pairs) / peak if peak else math.inf
        out[c] = (n, worst, worst_t, abs_worst)
    return out


def worst_relative(diffs: dict[str, tuple | None]) -> tuple[float, str]:
    return max(((d[1], c) for c, d in diffs.items() if d is not None), default=(0.0, "-"))


def export(args) -> Document:
    cmd = [args.il1sim, "export-sbml", args.scenario]
    if args.regimen:
        cmd += ["--regimen", args.regimen]
    return Document(run(cmd))


def cross_validate(args, title: str, settings: str, doc: Document, ref: Timecourse,
                   other: Timecourse) -> bool:
    diffs = differences(ref, other)
    print(f"## {title}: {os.path.relpath(args.scenario)}, {len(ref.times)} output "
          f"times, {len(doc.dose_times)} dose events\n")
    print(f"il1sim: BDF rtol 1e-10, atol 1e-10 x state scale; {settings}\n")
    print(f"| column | points compared (> {PEAK_FRACTION:g} x peak) | max relative difference "
          "| at time (h) | max abs difference / peak, all points |")
    print("|---|---:|---:|---:|---:|")
    ok = True
    for c, d in diffs.items():
        if d is None:
            print(f"| {c} | 0 | zero in both (below {ZERO_FLOOR:g}) | | |")
            continue
        n, worst, worst_t, abs_worst = d
        ok &= worst <= args.target
        print(f"| {c} | {n} | {worst:.2e} | {worst_t:g} | {abs_worst:.2e} |")
    print(f"\ntarget <= {args.target:g}: {'PASS' if ok else 'FAIL'}\n")
    return ok


def time_roadrunner(roadrunner, doc: Document, n: int, duration_h: float, points: int,
                    atol_factor: float | None) -> tuple[float, float]:
    t0 = time.perf_counter()
    rr = roadrunner.RoadRunner(doc.text)
    load_ms = (time.perf_counter() - t0) * 1e3
    set_tolerances(rr, doc, 1e-6, atol_factor)
    rr.simulate(0, duration_h, points)  # warm-up
    t0 = time.perf_counter()
    for _ in range(n):
        rr.reset()
        rr.simulate(0, duration_h, points)
    return (time.perf_counter() - t0) / n * 1e3, load_ms


def time_il1sim(args, flags: list[str]) -> tuple[float, str]:
    if re.search(r"^\s+bench\b", run([args.il1sim, "--help"]), flags=re.M):
        out = run([args.il1sim, "bench", args.scenario, "--subjects", str(args.subjects)]
                  + flags)
        m = re.search(r"per_subject_ms=([0-9.eE+-]+)", out)
        if not m:
            sys.exit(f"`il1sim bench` printed no per_subject_ms= line:\n{out}")
        return float(m.group(1)), (
            f"`il1sim bench --subjects {args.subjects}` on one thread: per subject the "
            "untreated steady state (100 days drug-free at rtol 1e-3 plus Newton), every regimen of the "
            "scenario and its summary, in process; roadrunner starts from the exported steady "
            "state and runs one regimen")
    best = math.inf
    with tempfile.TemporaryDirectory() as out:
        for _ in range(3):
            t0 = time.perf_counter()
            run([args.il1sim, "simulate", args.scenario, "--out", out, "--no-plot"] + flags)
            best = min(best, time.perf_counter() - t0)
    return best * 1e3, ("one `il1sim simulate` process, best of 3 (includes process start-up, "
                        "the untreated steady state and writing the CSV)")


def speed(args, roadrunner, doc: Document, ref: Timecourse) -> None:
    with open(args.scenario, "rb") as f:
        s = tomllib.load(f)["scenario"]
    duration_h = float(s["duration_days"]) * 24.0
    points = int(round(duration_h / float(s.get("output_interval_h", 1.0)))) + 1
    il1sim_ms, how = time_il1sim(args, [])
    err, col = worst_relative(differences(ref, il1sim_timecourse(args, [])))
    rows = [("il1sim exact (diffsol BDF)", "rtol 1e-6, atol 1e-6 x state scale", il1sim_ms, err,
             col)]
    if "--method" in run([args.il1sim, "bench", "--help"]):
        fast_ms, _ = time_il1sim(args, ["--method", "fast"])
        err, col = worst_relative(differences(
            ref, il1sim_timecourse(args, ["--method", "fast"])))
        rows.append(("il1sim fast (periodic orbit repeated)",
                     "integrations at rtol 3.3e-7, atol 3.3e-7 x state scale", fast_ms, err, col))
    load_ms = 0.0
    for label, atol in (("default atol", None), ("matched atol", 1e-6)):
        ms, load_ms = time_roadrunner(roadrunner, doc, args.subjects, duration_h, points, atol)
        err, col = worst_relative(differences(
            ref, roadrunner_timecourse(roadrunner, doc, ref, 1e-6, atol)))
        tol = ("rtol 1e-6, atol roadrunner default (1e-12 scaled by roadrunner)"
               if atol is None else "rtol 1e-6, atol 1e-6 x state scale")
        rows.append((f"libRoadRunner {roadrunner.__version__} (CVODE BDF), {label}", tol, ms,
                     err, col))
    print(f"## Speed: {os.path.relpath(args.scenario)}, {duration_h:g} h, {points} output "
          f"times, {args.subjects} subjects\n")
    print(f"Machine: {machine()}; Python {platform.python_version()}\n")
    print("| tool | tolerances | per-subject ms | ratio to il1sim | worst relative error vs "
          "tight reference (column) |")
    print("|---|---|---:|---:|---|")
    for tool, tol, ms, err, col in rows:
        print(f"| {tool} | {tol} | {ms:.2f} | {ms / il1sim_ms:.2f} | {err:.1e} ({col}) |")
    if len(rows) > 1 and rows[1][0].startswith("il1sim fast"):
        fast_ms = rows[1][2]
        for tool, _, ms, _, _ in rows[2:]:
            print(f"\n{tool}: {ms / il1sim_ms:.1f}x the exact method's cost, "
                  f"{ms / fast_ms:.1f}x the fast method's.")
    print(f"\nil1sim timing: {how}.")
    print("roadrunner timing: reset + simulate per subject, the same document each time "
          "(nothing varied), species concentrations recorded at every output time; loading "
          f"and JIT-compiling the document ({load_ms:.0f} ms) is excluded.")
    print("Reference for the errors: il1sim at rtol 1e-10, atol 1e-10, points above "
          f"{PEAK_FRACTION:g} of each column's peak.")


def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--il1sim", default=os.path.join(root, "target", "release", "il1sim"),
                   help="il1sim binary [default: target/release/il1sim]")
    p.add_argument("--scenario", default=os.path.join(root, "scenarios", "caps-100mg-daily.toml"))
    p.add_argument("--regimen", help="regimen name [default: the scenario's first]")
    p.add_argument("--subjects", type=int, default=100, help="subjects timed [default: 100]")
    p.add_argument("--target", type=float, default=1e-4,
                   help="largest relative difference allowed [default: 1e-4]")
    p.add_argument("--skip-cross", action="store_true", help="no cross-validation")
    p.add_argument("--skip-speed", action="store_true", help="no timing")
    p.add_argument("--libsbml", action="store_true",
                   help="also run libSBML's consistency checks (pip install python-libsbml)")
    p.add_argument("--copasi", action="store_true",
                   help="also cross-validate with COPASI (pip install python-copasi)")
    args = p.parse_args()
    if not os.path.exists(args.il1sim):
        sys.exit(f"{args.il1sim} not found: run `cargo build --release -p il1sim-cli` first")
    if args.subjects < 1:
        sys.exit("--subjects must be at least 1")
    try:
        import roadrunner
    except ImportError:
        sys.exit("libroadrunner is not installed: "
                 "pip install -r benches/roadrunner/requirements.txt")
    doc = export(args)
    ref = il1sim_timecourse(args, ["--rtol", "1e-10", "--atol", "1e-10"])
    ok = True
    if args.libsbml:
        ok &= check_with_libsbml(doc)
    if not args.skip_cross:
        ok = cross_validate(
            args, "Cross-validation with libRoadRunner",
            "roadrunner: CVODE BDF rtol 1e-10, atol 1e-12 x state scale; pre-dose values at "
            "dose times", doc, ref, roadrunner_timecourse(roadrunner, doc, ref, 1e-10, 1e-12))
    if args.copasi:
        ok &= cross_validate(
            args, "Cross-validation with COPASI",
            "COPASI: LSODA rtol 1e-10, atol 1e-14; dose times left out (COPASI reports them "
            "after the dose)", doc, ref, copasi_timecourse(doc, ref))
    if not args.skip_speed:
        speed(args, roadrunner, doc, ref)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
