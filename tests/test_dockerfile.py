"""No Docker engine runs here, so the Dockerfile cannot be built in CI; these checks keep the
properties users rely on from silently disappearing (slim base, non-root, healthcheck, volume).
The wheel it installs is the one `pip wheel .` builds, which tests/test_packaging.py checks.
"""

from __future__ import annotations

import re
from pathlib import Path

DOCKERFILE = (Path(__file__).resolve().parents[1] / "Dockerfile").read_text(encoding="utf-8")


def instructions(name: str) -> list[str]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines()
            if line.split(None, 1)[:1] == [name]]


def test_slim_python_base_for_every_stage() -> None:
    assert instructions("FROM") and all("python:3.11-slim" in base for base in instructions("FROM"))


def test_the_server_runs_as_a_non_root_user() -> None:
    users = instructions("USER")
    assert users and users[-1] not in ("root", "0")


def test_healthcheck_probes_healthz_and_the_database_lives_on_the_volume() -> None:
    assert any("/healthz" in check for check in instructions("HEALTHCHECK"))
    assert instructions("VOLUME") == ['["/data"]']
    assert "FLAKEGATE_DATABASE=sqlite:////data/flakegate.db" in DOCKERFILE
    assert instructions("EXPOSE") == ["8080"]


def test_the_entry_point_is_the_gunicorn_backed_serve_command() -> None:
    assert instructions("ENTRYPOINT") == ['["flakegate"]']
    assert '"serve"' in instructions("CMD")[0] and '"0.0.0.0"' in instructions("CMD")[0]
