"""il1sim.dask.population on a multi-process dask.distributed LocalCluster on loopback:
one task per shard, and the merged bytes equal a one-machine run's (the CLI's too)."""

import os

import pytest

import il1sim
import il1sim.dask
from conftest import files_of

POP = "scenarios/ra-renal-population.toml"
N = 40


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True,
        host="127.0.0.1", dashboard_address=None,
    )
    with Client(cluster) as c:
        yield c
    cluster.close()


def test_dask_bytes_equal_one_machine_and_the_cli(repo, cli, client, tmp_path):
    pop = il1sim.dask.population(repo / POP, shards=5, client=client, out=tmp_path / "dask",
                                 subjects=N, seed=11, csv=True)
    local = il1sim.population(repo / POP, subjects=N, seed=11, csv=True, out=tmp_path / "local")
    cli("population", POP, "--subjects", N, "--seed", 11, "--csv", "--out", tmp_path / "cli")
    dask_files = files_of(tmp_path / "dask")
    assert {"subjects.parquet", "subjects.csv", "bands.csv", "targets.csv"} <= set(dask_files)
    assert dask_files == files_of(tmp_path / "local") == files_of(tmp_path / "cli")
    assert pop.subjects.equals(local.subjects)
    # One shard per task, run on more than one worker process.
    shards = sorted(p.name for p in (tmp_path / "dask/shards").iterdir())
    assert shards == [f"shard-{k}-of-5" for k in range(1, 6)]


def test_tasks_ran_in_the_worker_processes(client):
    pids = set(client.run(os.getpid).values())
    assert len(pids) == 2 and os.getpid() not in pids


def test_more_shards_than_subjects_and_no_out(repo, client):
    pop = il1sim.dask.population(repo / POP, shards=4, client=client, subjects=3)
    assert pop.out is None and pop.subjects.num_rows == 3 * 2
    assert pop.subjects.equals(il1sim.population(repo / POP, subjects=3).subjects)


def test_errors_come_back_as_input_errors(repo, client, tmp_path):
    with pytest.raises(il1sim.InputError, match="cannot read population file"):
        il1sim.dask.population(tmp_path / "none.toml", shards=2, client=client)
    with pytest.raises(il1sim.InputError, match="--subjects 0: allowed"):
        il1sim.dask.population(repo / POP, shards=2, client=client, subjects=0)
    with pytest.raises(il1sim.InputError, match="shards=0"):
        il1sim.dask.population(repo / POP, shards=0, client=client)
