"""Shared fixtures: the repository root, the `il1sim` binary to compare against, and a
helper that runs it."""

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _cli_path() -> Path:
    if os.environ.get("IL1SIM_BIN"):
        return Path(os.environ["IL1SIM_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "release" / "il1sim"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def cli():
    """Run the il1sim binary (IL1SIM_BIN, or target/release/il1sim: `cargo build --release
    -p il1sim-cli`); returns the completed process. The comparisons need it, so a missing
    binary fails rather than skips."""
    path = _cli_path()
    assert path.is_file(), f"{path} not found: build it (cargo build --release -p il1sim-cli) or set IL1SIM_BIN"

    def run(*args, check=True):
        p = subprocess.run(
            [str(path), *map(str, args)], cwd=REPO, capture_output=True, text=True
        )
        if check:
            assert p.returncode == 0, p.stderr
        return p

    return run


def files_of(folder: Path) -> dict:
    """Every output file of a folder (not the shards), name -> bytes."""
    return {
        f.name: f.read_bytes()
        for f in sorted(Path(folder).iterdir())
        if f.is_file() and not f.name.startswith(".")
    }
