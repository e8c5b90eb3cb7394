"""The notebook-style example runs and writes its figure."""

import os
import subprocess
import sys


def test_example_writes_a_figure(repo, tmp_path):
    figure = tmp_path / "example.png"
    p = subprocess.run(
        [sys.executable, str(repo / "python/examples/ra_notebook.py"), str(figure)],
        capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert p.returncode == 0, p.stderr
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert figure.stat().st_size > 20_000  # two panels with curves, not an empty canvas
    assert "occupancy at trough" in p.stdout
