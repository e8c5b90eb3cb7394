"""validate() and compare()."""

import pytest

import il1sim


def test_validate_engine_targets(cli, tmp_path):
    table = il1sim.validate(role="engine")
    assert table.column_names[:3] == ["id", "group", "role"]
    assert set(table.column("role").to_pylist()) == {"engine"}
    assert table.num_rows >= 5
    assert set(table.column("status").to_pylist()) <= {"pass"}
    # The same table as the CLI's --csv, row for row.
    cli("validate", "--role", "engine", "--csv", tmp_path / "v.csv")
    import pyarrow.csv as pcsv
    ref = pcsv.read_csv(tmp_path / "v.csv", convert_options=pcsv.ConvertOptions(strings_can_be_null=False))
    assert table.equals(ref)


def test_validate_errors(tmp_path):
    with pytest.raises(il1sim.InputError, match="--role 'bogus': allowed: engine, calibration, prediction"):
        il1sim.validate(role="bogus")
    bad = tmp_path / "targets.toml"
    bad.write_text("[[target]]\nid = 1\n")
    with pytest.raises(il1sim.InputError, match=str(bad)):
        il1sim.validate(targets=bad)


def test_validate_check_raises_on_a_failed_target(repo, tmp_path):
    # The first engine target's tolerance made impossible (its error vs the closed form is
    # not exactly 0): it must fail, and check=True must raise.
    text = (repo / "validation/targets.toml").read_text()
    bound = 'id = "engine-sc-single"'
    old = "check = { at_most = { value = 1e-6 } }"
    start = text.index(bound)
    at = text.index(old, start)
    path = tmp_path / "targets.toml"
    path.write_text(text[:at] + "check = { at_most = { value = 1e-300 } }" + text[at + len(old):])
    assert il1sim.validate(targets=path, role="engine").num_rows >= 5  # no raise without check
    with pytest.raises(il1sim.TargetsFailed) as e:
        il1sim.validate(targets=path, role="engine", check=True)
    assert str(e.value) == "validation targets failed: engine-sc-single"
    assert e.value.table.column("status").to_pylist()[0] == "FAIL"


def test_compare_equals_the_cli(repo, cli, tmp_path):
    c = il1sim.compare(repo / "scenarios/dira-compare.toml", out=tmp_path / "py")
    cli("compare", "scenarios/dira-compare.toml", "--out", tmp_path / "cli")
    assert (tmp_path / "py/compare.csv").read_bytes() == (tmp_path / "cli/compare.csv").read_bytes()
    assert c.table.column_names[:2] == ["figure", "unit"]
    assert c.html.lstrip().lower().startswith("<!doctype html")
    with pytest.raises(il1sim.InputError, match="cannot read scenario"):
        il1sim.compare(tmp_path / "missing.toml")
