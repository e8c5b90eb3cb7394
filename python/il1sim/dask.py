"""Distributed populations on Dask (``dask.distributed``): one task per shard, merged by the
CLI's merge code.

>>> from dask.distributed import Client, LocalCluster
>>> import il1sim.dask
>>> with Client(LocalCluster(n_workers=2, threads_per_worker=1)) as client:
...     pop = il1sim.dask.population("scenarios/ra-renal-population.toml", shards=8,
...                                  client=client, out="runs/pop")

Task ``K`` runs ``il1sim population FILE --shard K/N`` (``il1sim.population(...,
shard="K/N")``) into a temporary folder on its worker and returns the shard's files
(subjects.parquet, aggregates.bin, manifest.json and, with ``timecourses=True``,
timecourses.parquet) as bytes. The client writes each shard into ``out/shards/shard-K-of-N/``
exactly as the CLI would have, then calls ``il1sim.merge(out)``: the merged outputs are the
bytes a one-machine run writes (shards hold disjoint subject ranges, each subject draws from
its own random stream, aggregates are integer counts). The workers need the population file
(and its covariate table, model file) at the path given, as on a shared file system; the
output folder needs to exist only on the client.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional

import il1sim

__all__ = ["population", "run_shard", "write_shard"]


def run_shard(path: str, k: int, n: int, options: Dict[str, Any]) -> Dict[str, bytes]:
    """One Dask task: shard ``k`` of ``n`` into a temporary folder; its files as bytes."""
    folder = Path(tempfile.mkdtemp(prefix=f"il1sim-shard-{k}-of-{n}-"))
    try:
        shard = il1sim.population(path, shard=f"{k}/{n}", out=folder, **options)
        if n == 1:  # a run of one shard merges at once; only the shard is sent back
            shard = il1sim.Shard(folder, 1, 1)
        return {f.name: f.read_bytes() for f in sorted(shard.path.iterdir()) if f.is_file()}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_shard(out: Path, k: int, n: int, files: Dict[str, bytes]) -> Path:
    """Place a shard's files in ``out/shards/shard-k-of-n`` as the CLI does: into a temporary
    folder first, renamed when complete (a shard folder is complete or absent)."""
    shards = out / "shards"
    shards.mkdir(parents=True, exist_ok=True)
    final = shards / f"shard-{k}-of-{n}"
    tmp = shards / f".shard-{k}-of-{n}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    # The manifest last, as the shard's mark of completeness.
    for name in sorted(files, key=lambda f: f == "manifest.json"):
        (tmp / name).write_bytes(files[name])
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    return final


def population(
    path: "os.PathLike[str] | str",
    *,
    shards: int,
    client: Optional[Any] = None,
    out: "os.PathLike[str] | str | None" = None,
    subjects: Optional[int] = None,
    seed: Optional[int] = None,
    method: Optional[str] = None,
    csv: bool = False,
    timecourses: bool = False,
    threads: int = 1,
    integrator: Optional[str] = None,
    rtol: Optional[float] = None,
    atol: Optional[float] = None,
    model: "os.PathLike[str] | str | None" = None,
) -> "il1sim.Population":
    """Run a population as ``shards`` Dask tasks on ``client`` (the current client when not
    given), merge them into ``out`` (a temporary folder when not given) and return the
    :class:`il1sim.Population`. ``threads`` is the threads each task uses (1: let Dask's
    workers provide the parallelism); results do not depend on it, nor on ``shards``."""
    from dask.distributed import get_client

    if not isinstance(shards, int) or isinstance(shards, bool) or shards < 1:
        raise il1sim.InputError(f"shards={shards!r}: allowed: a whole number >= 1")
    client = client if client is not None else get_client()
    options = dict(
        subjects=subjects,
        seed=seed,
        method=method,
        csv=csv,
        timecourses=timecourses,
        threads=threads,
        integrator=integrator,
        rtol=rtol,
        atol=atol,
        model=None if model is None else os.path.abspath(model),
    )
    path = os.path.abspath(path)
    futures = [
        client.submit(run_shard, path, k, shards, options, pure=False)
        for k in range(1, shards + 1)
    ]
    results = client.gather(futures)
    given = out is not None
    folder = Path(out) if given else Path(tempfile.mkdtemp(prefix="il1sim-dask-"))
    try:
        for k, files in enumerate(results, start=1):
            write_shard(folder, k, shards, files)
        pop = il1sim.merge(folder, csv=csv)
        if not given:
            pop.out = None
        return pop
    finally:
        if not given:
            shutil.rmtree(folder, ignore_errors=True)
