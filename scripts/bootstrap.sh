#!/usr/bin/env bash
# Create or refresh the converter's virtual environment (.venv): Python 3.11, kfp 1.8.22 and the
# test tools. Idempotent: a stamp holding the hash of pyproject.toml skips work when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system_packages.sh  # Graphviz for the report graphs (apt-get when root and missing)
venv=.venv
python=${PYTHON:-python3.11}
stamp="$venv/.airflow2kfp-stamp"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
command -v "$python" >/dev/null || { echo "bootstrap: $python not found (Python 3.10 or 3.11 is required)" >&2; exit 2; }
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]" 2> >(grep -v "is ignored: it is neither" >&2)
echo "$want" > "$stamp"
