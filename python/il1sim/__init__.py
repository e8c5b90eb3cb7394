"""il1sim from Python: the same commands, files, checks, errors and output bytes as the
``il1sim`` binary, with results as pyarrow tables (``.to_pandas()`` for DataFrames).

>>> import il1sim
>>> run = il1sim.simulate("scenarios/ra-100mg-daily.toml")
>>> run.timecourse.to_pandas()                        # time_h, observables..., regimen
>>> quick = il1sim.simulate(dose="100mg", every="24h", days=28, disease="ra")
>>> pop = il1sim.population("scenarios/ra-renal-population.toml", subjects=1000, seed=1)
>>> pop.targets.to_pandas()                           # probability of target attainment

Every function calls the CLI command of the same name through the extension module
``il1sim._native`` (crates/il1sim-py): the outputs are written into ``out`` (a temporary
folder, removed afterwards, when ``out`` is not given) and read back. docs/python.md has the
whole interface; ``il1sim.dask.population`` runs the shards of a population as Dask tasks.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional, Union

from . import _native
from ._native import Il1simError, InputError

__version__ = _native.__version__
__all__ = [
    "Il1simError",
    "InputError",
    "TargetsFailed",
    "Simulation",
    "Population",
    "Shard",
    "Comparison",
    "simulate",
    "population",
    "merge",
    "validate",
    "compare",
    "QUICK_KEYS",
]

PathLike = Union[str, "os.PathLike[str]"]

#: The keyword arguments of the quick form (the CLI's ``simulate`` options without dashes).
QUICK_KEYS = tuple(_native.QUICK_KEYS)


class TargetsFailed(Il1simError):
    """``validate(check=True)``: a validation target failed (the CLI exits with status 1).
    ``.table`` holds the whole validation table."""

    def __init__(self, message: str, table: Any):
        super().__init__(message)
        self.table = table


def _csv(path: Path):
    """A CSV the CLI wrote, as a pyarrow table. Empty cells are nulls; text columns stay
    text (pyarrow would otherwise read a column of regimen names such as "100" as numbers
    only when all are numeric, which the CLI's names are not required to avoid)."""
    import pyarrow.csv as pcsv

    return pcsv.read_csv(
        path,
        convert_options=pcsv.ConvertOptions(strings_can_be_null=False),
    )


def _parquet(path: Path):
    import pyarrow.parquet as pq

    return pq.read_table(path)


class _Output:
    """A folder to write into: the caller's ``out``, or a temporary one removed on exit."""

    def __init__(self, out: Optional[PathLike]):
        self.given = out is not None
        self.path = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="il1sim-"))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc) -> None:
        if not self.given:
            shutil.rmtree(self.path, ignore_errors=True)



class Simulation:
    """The result of :func:`simulate`: ``timecourse`` (timecourse.csv: ``time_h``, one column
    per observable named ``<observable>_<unit>``, ``regimen``) and ``summary`` (summary.json:
    patient, PK parameters, solver settings, per-regimen figures with units)."""

    def __init__(self, timecourse, summary: dict, out: Optional[Path]):
        self.timecourse = timecourse
        self.summary = summary
        self.out = out

    def to_pandas(self):
        """The time course as a pandas DataFrame."""
        return self.timecourse.to_pandas()

    @property
    def figures(self):
        """summary.json's per-regimen figures (Cmax, trough, AUC, occupancy and signal at
        trough, CRP, ...) as a table: regimen, figure, value, unit."""
        import pyarrow as pa

        rows = [
            (r["regimen"], f["name"], f["value"], f["unit"])
            for r in self.summary["regimens"]
            for f in r["figures"]
        ]
        names = ["regimen", "figure", "value", "unit"]
        return pa.table({n: [row[i] for row in rows] for i, n in enumerate(names)})

    def figure(self, name: str, regimen: Optional[str] = None) -> float:
        """One figure's value (of the first regimen, or of ``regimen``), in the unit
        ``figures`` gives."""
        for r in self.summary["regimens"]:
            if regimen is None or r["regimen"] == regimen:
                for f in r["figures"]:
                    if f["name"] == name:
                        return f["value"]
        known = sorted({f["name"] for r in self.summary["regimens"] for f in r["figures"]})
        raise KeyError(f"no figure {name!r} for regimen {regimen!r}; figures: {', '.join(known)}")

    def __repr__(self) -> str:
        regimens = [r.get("regimen") for r in self.summary.get("regimens", [])]
        return f"<il1sim.Simulation {self.timecourse.num_rows} rows, regimens {regimens}>"


class Population:
    """The outputs of a population run or merge: ``subjects`` (subjects.parquet, one row per
    subject and regimen), ``bands`` (bands.csv: 5/25/50/75/95th percentiles by time),
    ``targets`` (targets.csv: probability of target attainment, overall and by stratum) and,
    with ``timecourses=True``, ``timecourses`` (timecourses.parquet)."""

    def __init__(self, folder: Path, out: Optional[Path]):
        self.subjects = _parquet(folder / "subjects.parquet")
        self.bands = _csv(folder / "bands.csv")
        self.targets = _csv(folder / "targets.csv")
        tc = folder / "timecourses.parquet"
        self.timecourses = _parquet(tc) if tc.exists() else None
        self.out = out

    def to_pandas(self):
        """The subjects table as a pandas DataFrame."""
        return self.subjects.to_pandas()

    def __repr__(self) -> str:
        return f"<il1sim.Population {self.subjects.num_rows} subject-regimen rows>"


class Shard:
    """One shard of a split run (``shard="K/N"``), written to ``out/shards/shard-K-of-N``;
    :func:`merge` (or ``il1sim merge``) combines the shards once all are done."""

    def __init__(self, out: Path, k: int, n: int):
        self.out, self.k, self.n = out, k, n
        self.path = out / "shards" / f"shard-{k}-of-{n}"

    def __repr__(self) -> str:
        return f"<il1sim.Shard {self.k}/{self.n} in {self.path}>"


class Comparison:
    """The result of :func:`compare`: ``table`` (compare.csv: one row per figure, a column per
    regimen) and ``html`` (compare.html, self-contained)."""

    def __init__(self, table, html: str, out: Optional[Path]):
        self.table, self.html, self.out = table, html, out

    def to_pandas(self):
        return self.table.to_pandas()


def _is_text(scenario: Any) -> bool:
    """A scenario given as TOML text rather than a path: a str with a line break or a table
    header. A path never needs either; os.PathLike objects are always paths."""
    return isinstance(scenario, str) and ("\n" in scenario or scenario.lstrip().startswith("["))


def _solver(integrator, rtol, atol) -> dict:
    return {"integrator": integrator, "rtol": rtol, "atol": atol}


def _model(model: Optional[PathLike]) -> Optional[str]:
    return None if model is None else os.fspath(model)


def simulate(
    scenario: Optional[PathLike] = None,
    *,
    out: Optional[PathLike] = None,
    method: str = "exact",
    integrator: Optional[str] = None,
    rtol: Optional[float] = None,
    atol: Optional[float] = None,
    model: Optional[PathLike] = None,
    plot: bool = False,
    **quick: Any,
) -> Simulation:
    """``il1sim simulate``: a scenario file, a scenario as TOML text, or the quick form as
    keyword arguments named like the CLI's options (``dose="100mg", every="24h", days=28,
    weight=70, crcl=100, disease="ra", missed_dose=[10], stop_day=20, iv=True,
    infusion_hours=1, steady_state=True, ...``; see ``il1sim.QUICK_KEYS``). ``plot=True``
    also draws timecourse.svg and .png into ``out``."""
    kwargs = dict(
        method=method, model=_model(model), plot=plot, **_solver(integrator, rtol, atol)
    )
    with _Output(out) as folder:
        # Quick-form options with a scenario are refused by the CLI's code, with its message.
        if scenario is None:
            _native.simulate(os.fspath(folder), quick=quick, **kwargs)
        elif _is_text(scenario):
            _native.simulate(
                os.fspath(folder), text=scenario, origin="<scenario text>", quick=quick, **kwargs
            )
        else:
            _native.simulate(os.fspath(folder), path=os.fspath(scenario), quick=quick, **kwargs)
        timecourse = _csv(folder / "timecourse.csv")
        summary = json.loads((folder / "summary.json").read_text())
        return Simulation(timecourse, summary, Path(out) if out is not None else None)


def _shard_numbers(shard: Union[str, tuple, None]) -> Optional[tuple]:
    if shard is None:
        return None
    if isinstance(shard, tuple):
        return shard
    k, _, n = str(shard).partition("/")
    try:
        return int(k), int(n)
    except ValueError:
        return None  # the CLI's parser gives the message


def population(
    path: PathLike,
    *,
    subjects: Optional[int] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    shard: Union[str, tuple, None] = None,
    method: Optional[str] = None,
    out: Optional[PathLike] = None,
    csv: bool = False,
    timecourses: bool = False,
    integrator: Optional[str] = None,
    rtol: Optional[float] = None,
    atol: Optional[float] = None,
    model: Optional[PathLike] = None,
) -> Union[Population, Shard]:
    """``il1sim population``: a virtual population from a population file. ``subjects``,
    ``seed`` and ``method`` override the file; results do not depend on ``threads`` (all
    cores when not given). With ``shard="K/N"`` (or ``(K, N)``) only shard K of N is run
    into ``out`` and a :class:`Shard` is returned; otherwise a :class:`Population`."""
    numbers = _shard_numbers(shard)
    if isinstance(shard, tuple):
        shard = f"{shard[0]}/{shard[1]}"
    split = numbers is not None and numbers[1] != 1
    if split and out is None:
        raise InputError(
            f"shard={shard!r}: a shard needs out=<folder> (the folder the shards are merged in)"
        )
    with _Output(out) as folder:
        _native.population(
            os.fspath(path),
            os.fspath(folder),
            shard=None if shard is None else str(shard),
            subjects=subjects,
            seed=seed,
            method=method,
            csv=csv,
            timecourses=timecourses,
            threads=threads,
            model=_model(model),
            **_solver(integrator, rtol, atol),
        )
        if split:
            return Shard(folder, numbers[0], numbers[1])
        return Population(folder, Path(out) if out is not None else None)


def merge(out: PathLike, *, csv: bool = False) -> Population:
    """``il1sim merge``: check that the complete shards in ``out/shards`` form one run and
    write the outputs into ``out`` (the same bytes as a run that is not split)."""
    _native.merge(os.fspath(out), csv=csv)
    return Population(Path(out), Path(out))


def validate(
    *,
    role: Optional[str] = None,
    targets: Optional[PathLike] = None,
    model: Optional[PathLike] = None,
    check: bool = False,
):
    """``il1sim validate``: the validation table (id, group, role, quantity, published, unit,
    model, status, source, tolerance_basis, known_failure) as a pyarrow table. With
    ``check=True`` a failed target raises :class:`TargetsFailed` (the CLI's exit status 1)."""
    with _Output(None) as folder:
        csv = folder / "validation.csv"
        passed = _native.validate(
            os.fspath(csv),
            targets=None if targets is None else os.fspath(targets),
            model=_model(model),
            role=role,
        )
        table = _csv(csv)
    if check and not passed:
        statuses = table.column("status").to_pylist()
        failed = [i for i, s in zip(table.column("id").to_pylist(), statuses) if s in ("FAIL", "FIXED")]
        raise TargetsFailed(f"validation targets failed: {', '.join(failed)}", table)
    return table


def compare(
    path: PathLike,
    *,
    out: Optional[PathLike] = None,
    integrator: Optional[str] = None,
    rtol: Optional[float] = None,
    atol: Optional[float] = None,
    model: Optional[PathLike] = None,
) -> Comparison:
    """``il1sim compare``: a scenario's regimens or drugs side by side (compare.csv as a table,
    compare.html as text)."""
    with _Output(out) as folder:
        _native.compare(
            os.fspath(path), os.fspath(folder), model=_model(model), **_solver(integrator, rtol, atol)
        )
        return Comparison(
            _csv(folder / "compare.csv"),
            (folder / "compare.html").read_text(),
            Path(out) if out is not None else None,
        )
