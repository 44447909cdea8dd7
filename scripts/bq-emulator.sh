#!/usr/bin/env bash
# Prepare the local BigQuery emulator used by tests/bigquery and the bigquery store contract run.
#
# bqemulator pins duckdb and an older protobuf, so it lives in its own virtualenv
# (.venv-bqemulator/) rather than the project's. It needs DuckDB's spatial extension, which it
# would otherwise download at start-up (no network to that host here): we install the
# extension shipped by the duckdb-extension-spatial wheel into a cache HOME that the tests
# pass to the emulator. Idempotent: a stamp file makes a second call a fast no-op.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-bqemulator"
HOME_DIR="$VENV/home"
STAMP="$VENV/.flakegate-ready-1"
PY="${PYTHON:-python3}"

if [[ -f "$STAMP" && -x "$VENV/bin/bqemulator" ]]; then
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "bqemulator==1.4.0" numpy "duckdb-extension-spatial==1.5.5"

mkdir -p "$HOME_DIR"
HOME="$HOME_DIR" "$VENV/bin/python" - <<'PY'
"""Install the wheel's spatial extension into DuckDB's extension cache under $HOME."""
import glob
import os
import sys

import duckdb
import duckdb_extension_spatial  # noqa: F401  (only to locate the package)

pkg = os.path.dirname(duckdb_extension_spatial.__file__)
found = glob.glob(os.path.join(pkg, "extensions", "*", "spatial.duckdb_extension"))
if not found:
    sys.exit(f"no spatial.duckdb_extension under {pkg}")
con = duckdb.connect()
con.execute(f"INSTALL '{found[0]}'")
con.execute("LOAD spatial")
print("spatial extension installed from", found[0])
PY

touch "$STAMP"
