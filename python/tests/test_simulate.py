"""simulate(): scenario files, scenario text and the quick form give the CLI's bytes and
the CLI's error messages."""

import json

import pytest

import il1sim
from conftest import files_of

RA = "scenarios/ra-100mg-daily.toml"


def test_scenario_file_gives_tables_and_summary(repo):
    run = il1sim.simulate(repo / RA)
    t = run.timecourse
    assert t.column_names[0] == "time_h" and t.column_names[-1] == "regimen"
    assert "crp_mg_per_L" in t.column_names
    # 28 days of hourly outputs (0..672 h) for each regimen of the file.
    regimens = [r["regimen"] for r in run.summary["regimens"]]
    assert t.num_rows == 673 * len(regimens)
    df = run.to_pandas()
    assert set(df["regimen"]) == set(regimens)
    assert run.out is None  # no out=: a temporary folder, removed


def test_scenario_file_bytes_equal_the_cli(repo, cli, tmp_path):
    il1sim.simulate(repo / RA, out=tmp_path / "py")
    cli("simulate", RA, "--out", tmp_path / "cli", "--no-plot")
    py, ref = files_of(tmp_path / "py"), files_of(tmp_path / "cli")
    assert sorted(py) == ["summary.json", "timecourse.csv"]
    assert py == ref


def test_plots_are_drawn_on_request(repo, cli, tmp_path):
    il1sim.simulate(repo / RA, out=tmp_path / "py", plot=True)
    cli("simulate", RA, "--out", tmp_path / "cli")
    py = files_of(tmp_path / "py")
    assert py == files_of(tmp_path / "cli")
    assert py["timecourse.png"][:8] == b"\x89PNG\r\n\x1a\n"


def test_quick_form_keywords_equal_the_cli_flags(cli, tmp_path):
    run = il1sim.simulate(
        dose="100mg", every="24h", days=14, weight=82, crcl=25, disease="ra",
        missed_dose=[5, 9], stop_day=12, out=tmp_path / "py",
    )
    cli("simulate", "--dose", "100mg", "--every", "24h", "--days", "14", "--weight", "82",
        "--crcl", "25", "--disease", "ra", "--missed-dose", "5", "--missed-dose", "9",
        "--stop-day", "12", "--out", tmp_path / "cli", "--no-plot")
    assert files_of(tmp_path / "py") == files_of(tmp_path / "cli")
    assert run.timecourse.num_rows == 14 * 24 + 1


def test_quick_form_switches_and_single_day(cli, tmp_path):
    il1sim.simulate(iv=True, infusion_hours=1, dose="5mg/kg", every="12h", days=3,
                    disease="nomid", out=tmp_path / "py")
    cli("simulate", "--iv", "--infusion-hours", "1", "--dose", "5mg/kg", "--every", "12h",
        "--days", "3", "--disease", "nomid", "--out", tmp_path / "cli", "--no-plot")
    assert files_of(tmp_path / "py") == files_of(tmp_path / "cli")
    one = il1sim.simulate(dose="100mg", steady_state=True, days=1, disease="caps", missed_dose=1)
    assert one.summary["regimens"]


def test_scenario_text_equals_the_file(repo):
    text = (repo / RA).read_text()
    assert il1sim.simulate(text).timecourse.equals(il1sim.simulate(repo / RA).timecourse)


@pytest.mark.parametrize(
    "kwargs, flags",
    [
        (dict(dose="0mg"), ["--dose", "0mg"]),
        (dict(dose="100"), ["--dose", "100"]),
        (dict(dose="100mg", every="1e-6h"), ["--dose", "100mg", "--every", "1e-6h"]),
        (dict(dose="100mg", weight=-3), ["--dose", "100mg", "--weight", "-3"]),
        (dict(dose="100mg", disease="flu"), ["--dose", "100mg", "--disease", "flu"]),
        (dict(dose="100mg", days=7, missed_dose=[9]), ["--dose", "100mg", "--days", "7", "--missed-dose", "9"]),
        (dict(dose="100mg", stop_day=0), ["--dose", "100mg", "--stop-day", "0"]),
        (dict(dose="100mg", route="im"), ["--dose", "100mg", "--route", "im"]),
        (dict(dose="100mg", doses=0), ["--dose", "100mg", "--doses", "0"]),
        (dict(dose="100mg", missed_dose=[3, -1]), ["--dose", "100mg", "--missed-dose", "3", "--missed-dose", "-1"]),
    ],
)
def test_errors_carry_the_cli_message(cli, tmp_path, kwargs, flags):
    with pytest.raises(il1sim.InputError) as e:
        il1sim.simulate(**kwargs)
    p = cli("simulate", *flags, "--out", tmp_path / "cli", check=False)
    assert p.returncode == 2
    # The first line: clap follows its own messages with a pointer to --help.
    assert p.stderr.strip().splitlines()[0] == f"error: {e.value}"
    assert isinstance(e.value, il1sim.Il1simError) and isinstance(e.value, Exception)


def test_file_errors_name_file_and_line(repo, cli, tmp_path):
    bad = (repo / RA).read_text().replace("dose_mg = 100", "dose_mg = 0", 1)
    assert bad != (repo / RA).read_text()
    path = tmp_path / "bad.toml"
    path.write_text(bad)
    with pytest.raises(il1sim.InputError) as e:
        il1sim.simulate(path)
    p = cli("simulate", path, "--out", tmp_path / "cli", check=False)
    assert p.stderr.strip() == f"error: {e.value}"
    assert f"{path}:" in str(e.value) and "dose" in str(e.value)
    with pytest.raises(il1sim.InputError, match=r"^<scenario text>:\d+: "):
        il1sim.simulate(bad)
    with pytest.raises(il1sim.InputError, match="cannot read scenario"):
        il1sim.simulate(tmp_path / "missing.toml")


def test_keyword_mistakes_are_input_errors(repo):
    with pytest.raises(il1sim.InputError, match="unknown keyword argument 'dosis'; allowed"):
        il1sim.simulate(dosis="100mg")
    with pytest.raises(il1sim.InputError, match="--weight heavy: allowed: a number"):
        il1sim.simulate(dose="100mg", weight="heavy")
    with pytest.raises(il1sim.InputError, match="--dose cannot be combined with a scenario file"):
        il1sim.simulate(repo / RA, dose="100mg")
    with pytest.raises(il1sim.InputError, match="the quick form needs --dose"):
        il1sim.simulate()
    assert "missed_dose" in il1sim.QUICK_KEYS


def test_summary_is_the_json_the_cli_writes(repo, tmp_path):
    run = il1sim.simulate(repo / RA, out=tmp_path)
    assert run.summary == json.loads((tmp_path / "summary.json").read_text())
    assert run.out == tmp_path
