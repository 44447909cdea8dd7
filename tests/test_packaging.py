"""The built wheel carries everything the server reads at run time (the Docker image installs
exactly this wheel)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.fixtures import ROOT


@pytest.mark.slow
def test_the_wheel_carries_the_contract_migrations_and_tables(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "var", "*.egg-info", "build", "__pycache__", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(tmp_path / "dist"), str(source)],
                   check=True, timeout=600, capture_output=True)
    wheel = zipfile.ZipFile(next((tmp_path / "dist").glob("flakegate-*.whl")))
    names = set(wheel.namelist())
    for backend in ("sqlite", "postgres"):  # `db init` and `serve` migrate from these files
        folder = f"api/store/{backend}/migrations"
        migrations = sorted(p.name for p in (ROOT / folder).glob("*.sql"))
        assert migrations and {f"{folder}/{name}" for name in migrations} <= names
    assert "api/stats/required_passes.json" in names
    # -- pages (issue 15): templates, our assets and the vendored chart library with its license
    assert {"api/ui/templates/base.html", "api/ui/static/charts.js", "api/ui/static/favicon.svg",
            "api/ui/static/flakegate.css", "api/ui/static/vendor/uplot/uPlot.iife.min.js",
            "api/ui/static/vendor/uplot/LICENSE", "api/ui/static/vendor/uplot/VERSION"} <= names
    assert wheel.read("api/openapi.yaml") == (ROOT / "openapi.yaml").read_bytes()
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "flakegate = client.cli:main" in wheel.read(entry_points).decode()
