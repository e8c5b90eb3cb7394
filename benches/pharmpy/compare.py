"""Cross-check il1sim's dataset reader against Pharmpy's (an independent reader).

For each dataset, il1sim's parsed records (`il1sim data-records FILE --json`: every dose as
the engine gives it, II/ADDL expanded, and every observation with its file line) are compared
with Pharmpy's reading of the same file: dose records (ID, TIME, AMT, infusion duration, SS)
after `expand_additional_doses`, and observation records (ID, TIME, CMT, DV) line by line.

Pharmpy needs a numeric NONMEM dataset, so the script first writes a copy with comment lines
dropped, CMT names replaced by il1sim's CMT numbers (`il1sim data-records --cmt --json`) and
text columns (SEX, DISEASE, NOTE) dropped; the file lines are kept track of.

Known, explained difference: a reset (EVID 3 or 4) ends the additional doses of earlier
records in il1sim (a reset starts a new occasion from the untreated state, as PREDPP's reset
cancels pending doses); Pharmpy's expand_additional_doses lists them. Such doses are reported
separately and do not fail the comparison.

Usage: python compare.py [--il1sim PATH] [DATASET ...]   (exit status 1 on a mismatch)
"""

import argparse
import io
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from pharmpy.modeling import create_basic_pk_model, expand_additional_doses

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATASETS = ["examples/data/every-case.csv", "examples/data/ra-tdm.csv"]
TEXT_COLUMNS = ["SEX", "DISEASE", "NOTE"]
# Times and amounts are sums and products of the file's decimals: equal within rounding.
TOL = 1e-9


def close(a, b):
    return abs(a - b) <= TOL * (1.0 + max(abs(a), abs(b)))


def il1sim_json(binary, *args):
    out = subprocess.run([binary, "data-records", *args, "--json"], check=True,
                         capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout)


def pharmpy_copy(path, cmt_numbers, folder):
    """A numeric copy for Pharmpy, and the file line of each of its rows."""
    lines = Path(ROOT / path).read_text().splitlines(keepends=True)
    kept, line_of_row = [], []
    for number, text in enumerate(lines, start=1):
        if text.startswith("#"):
            continue
        if kept:
            line_of_row.append(number)
        kept.append(text)
    df = pd.read_csv(io.StringIO("".join(kept)), dtype=str)
    df["CMT"] = df["CMT"].map(lambda v: str(cmt_numbers.get(v, v)))
    df = df.drop(columns=[c for c in TEXT_COLUMNS if c in df.columns])
    copy = Path(folder) / Path(path).name
    df.to_csv(copy, index=False)
    return copy, line_of_row


def pharmpy_model(copy):
    model = create_basic_pk_model("iv", dataset_path=str(copy))
    di = model.datainfo
    types = list(di.types)
    names = list(di.names)
    for column, kind in [("ADDL", "additional"), ("CMT", "compartment")]:
        if column in names:
            types[names.index(column)] = kind
    return model.replace(datainfo=di.set_types(types))


def number(v):
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def compare(path, binary, cmt_numbers, folder):
    ours = il1sim_json(binary, path)
    copy, line_of_row = pharmpy_copy(path, cmt_numbers, folder)
    model = pharmpy_model(copy)
    ds = model.dataset.reset_index(drop=True)
    problems, cancelled = [], []
    # ---- doses: Pharmpy's expansion against il1sim's events
    expanded = expand_additional_doses(model).dataset
    theirs = []
    for _, r in expanded.iterrows():
        amt = number(r.get("AMT"))
        evid = number(r.get("EVID"))
        if amt and amt > 0 and (evid is None or evid in (1, 4)):
            rate = number(r.get("RATE")) or 0.0
            dur = number(r.get("DUR")) or 0.0
            hours = amt / rate if rate > 0 else (dur if rate == -2 else None)
            theirs.append((str(int(r["ID"])), float(r["TIME"]), amt, hours, (number(r.get("SS")) or 0) > 0))
    mine = []
    for s in ours["subjects"]:
        for d in s["doses"]:
            # SS is a property of the record's first dose; Pharmpy's added doses carry it too.
            mine.append((s["id"], d["time_h"], d["amount_mg"], d["infusion_h"], d["steady_state"]))
    unmatched = list(mine)
    for t in theirs:
        hit = next((m for m in unmatched if m[0] == t[0] and close(m[1], t[1]) and close(m[2], t[2])
                    and ((m[3] is None and t[3] is None) or (m[3] is not None and t[3] is not None and close(m[3], t[3])))), None)
        if hit is None:
            subject = next(s for s in ours["subjects"] if s["id"] == t[0])
            resets = [o["start_h"] for o in subject["occasions"][1:]]
            if any(r <= t[1] for r in resets):
                cancelled.append(t)
            else:
                problems.append(f"dose {t} read by Pharmpy, not by il1sim")
        else:
            unmatched.remove(hit)
    problems += [f"dose {m} read by il1sim, not by Pharmpy" for m in unmatched]
    # ---- observations, line by line
    row_of_line = {line: k for k, line in enumerate(line_of_row)}
    n_obs = 0
    for s in ours["subjects"]:
        for o in s["observations"]:
            r = ds.iloc[row_of_line[o["line"]]]
            n_obs += 1
            want = (s["id"], o["time_h"], cmt_numbers[o["observable"]])
            got = (str(int(r["ID"])), float(r["TIME"]), int(float(r["CMT"])))
            if want[0] != got[0] or not close(want[1], got[1]) or want[2] != got[2]:
                problems.append(f"line {o['line']}: il1sim {want}, Pharmpy {got}")
            dv = number(r.get("DV"))
            mdv = number(r.get("MDV")) or 0
            blq = number(r.get("BLQ")) or 0
            if o["dv"] is not None and (dv is None or not close(dv, o["dv"])):
                problems.append(f"line {o['line']}: DV il1sim {o['dv']}, Pharmpy {dv}")
            if o["dv"] is None and mdv == 0 and blq == 0 and number(r.get("EVID")) in (0, None) and not o["below_lloq"]:
                problems.append(f"line {o['line']}: il1sim has no DV, Pharmpy {dv}")
    pharmpy_obs = int(((ds["EVID"].astype(float) == 0) if "EVID" in ds else ds["MDV"].astype(float) == 0).sum())
    return {
        "dataset": path,
        "subjects": len(ours["subjects"]),
        "doses_pharmpy": len(theirs),
        "doses_il1sim": len(mine),
        "doses_cancelled_by_reset": len(cancelled),
        "observations_il1sim": n_obs,
        "observation_records_pharmpy_evid0": pharmpy_obs,
        "problems": problems,
        "cancelled": cancelled,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--il1sim", default=str(ROOT / "target/release/il1sim"))
    parser.add_argument("datasets", nargs="*", default=DEFAULT_DATASETS)
    args = parser.parse_args()
    started = time.time()
    cmt = {e["name"]: e["cmt"] for e in il1sim_json(args.il1sim, "--cmt")}
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        for path in args.datasets:
            r = compare(path, args.il1sim, cmt, folder)
            print(f"{r['dataset']}: {r['subjects']} subjects; doses Pharmpy {r['doses_pharmpy']}, "
                  f"il1sim {r['doses_il1sim']} ({r['doses_cancelled_by_reset']} of Pharmpy's after a "
                  f"reset, cancelled by il1sim); observations il1sim {r['observations_il1sim']} "
                  f"(Pharmpy EVID 0 records {r['observation_records_pharmpy_evid0']}); "
                  f"{len(r['problems'])} mismatches")
            for c in r["cancelled"]:
                print(f"  after a reset (il1sim cancels): ID {c[0]} at {c[1]} h, {c[2]} mg")
            for p in r["problems"]:
                print(f"  MISMATCH {p}")
            failed |= bool(r["problems"])
    print(f"compared in {time.time() - started:.1f} s")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
