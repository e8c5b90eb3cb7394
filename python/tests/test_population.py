"""population() and merge(): the CLI's bytes, whatever the threads and shards."""

import pytest

import il1sim
from conftest import files_of

POP = "scenarios/ra-renal-population.toml"
N = 40  # subjects: enough for several shards and non-trivial bands, a few seconds


def test_population_bytes_equal_the_cli(repo, cli, tmp_path):
    pop = il1sim.population(repo / POP, subjects=N, seed=7, csv=True, out=tmp_path / "py")
    cli("population", POP, "--subjects", N, "--seed", 7, "--csv", "--out", tmp_path / "cli")
    py, ref = files_of(tmp_path / "py"), files_of(tmp_path / "cli")
    for name in ["subjects.parquet", "subjects.csv", "bands.csv", "targets.csv"]:
        assert name in py
    assert py == ref  # figures included
    regimens = 2
    assert pop.subjects.num_rows == N * regimens
    assert pop.to_pandas()["subject_id"].nunique() == N
    p = pop.targets.column("probability").to_pylist()
    assert all(x is None or 0.0 <= x <= 1.0 for x in p)
    assert set(pop.bands.column_names) >= {"regimen", "observable", "unit", "time_h", "p50"}


def test_threads_do_not_change_the_results(repo):
    one = il1sim.population(repo / POP, subjects=12, seed=3, threads=1)
    two = il1sim.population(repo / POP, subjects=12, seed=3, threads=2)
    assert one.subjects.equals(two.subjects) and one.bands.equals(two.bands)
    other = il1sim.population(repo / POP, subjects=12, seed=4, threads=1)
    assert not one.subjects.equals(other.subjects)


def test_shards_merged_equal_one_run(repo, tmp_path):
    whole = il1sim.population(repo / POP, subjects=N, csv=True, out=tmp_path / "whole")
    for k in (3, 1, 2):  # any order
        shard = il1sim.population(repo / POP, subjects=N, csv=True, shard=f"{k}/3", out=tmp_path / "split")
        assert isinstance(shard, il1sim.Shard) and shard.path.is_dir()
    merged = il1sim.merge(tmp_path / "split", csv=True)
    assert files_of(tmp_path / "split") == files_of(tmp_path / "whole")
    assert merged.subjects.equals(whole.subjects)
    assert il1sim.population(repo / POP, subjects=N, shard=(1, 1)).subjects.equals(whole.subjects)


def test_timecourses_on_request(repo):
    pop = il1sim.population(repo / POP, subjects=3, timecourses=True)
    assert pop.timecourses is not None and pop.timecourses.num_rows > 3
    assert il1sim.population(repo / POP, subjects=3).timecourses is None


def test_population_errors_carry_the_cli_message(repo, cli, tmp_path):
    cases = [
        (dict(subjects=0), ["--subjects", "0"]),
        (dict(method="slow"), ["--method", "slow"]),
        (dict(threads=0), ["--threads", "0"]),
        (dict(shard="0/3", out=tmp_path / "s"), ["--shard", "0/3"]),
        (dict(shard="4/3", out=tmp_path / "s"), ["--shard", "4/3"]),
    ]
    for kwargs, flags in cases:
        with pytest.raises(il1sim.InputError) as e:
            il1sim.population(repo / POP, **kwargs)
        p = cli("population", POP, *flags, "--out", tmp_path / "cli", check=False)
        assert p.returncode == 2 and p.stderr.strip().splitlines()[-1] == f"error: {e.value}"
    with pytest.raises(il1sim.InputError, match="a shard needs out="):
        il1sim.population(repo / POP, shard="1/2")
    with pytest.raises(il1sim.InputError, match="cannot read population file"):
        il1sim.population(tmp_path / "none.toml")


def test_merge_names_missing_shards(repo, tmp_path):
    il1sim.population(repo / POP, subjects=8, shard="2/3", out=tmp_path)
    with pytest.raises(il1sim.InputError) as e:
        il1sim.merge(tmp_path)
    assert "missing shard(s) 1, 3 of 3" in str(e.value)
    assert "--shard 1/3" in str(e.value) and "--shard 3/3" in str(e.value)
    with pytest.raises(il1sim.InputError, match="does not exist"):
        il1sim.merge(tmp_path / "nothing")
