#!/usr/bin/env bash
# Create the Airflow environment airflow2kfp imports DAG files with (default: .venv-airflow at the
# repo root). Airflow needs pydantic 2 and kfp 1.x pydantic 1, so it lives in a venv of its own.
#
#   scripts/setup_airflow_env.sh [DIR]
#
# Idempotent: a stamp file records what was installed; a second run with the same pins does nothing.
# Pins were verified on Python 3.11 (install ~1 min); with another Python only the top-level
# packages are pinned and pip resolves the rest. Override for other set-ups:
#   PYTHON=python3.12 AIRFLOW_VERSION=... AIRFLOW_PACKAGES="..." CONSTRAINTS=file scripts/setup_airflow_env.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:-$ROOT/.venv-airflow}"
PYTHON="${PYTHON:-python3}"
AIRFLOW_VERSION="${AIRFLOW_VERSION:-3.3.2}"
AIRFLOW_PACKAGES="${AIRFLOW_PACKAGES:-apache-airflow==$AIRFLOW_VERSION apache-airflow-providers-standard==1.21.0 apache-airflow-providers-cncf-kubernetes==10.25.0}"
CONSTRAINTS="${CONSTRAINTS:-$ROOT/scripts/constraints/airflow-$AIRFLOW_VERSION-py3.11.txt}"
PYTHON_VAR="${PYTHON_VAR:-AIRFLOW2KFP_AIRFLOW_PYTHON}"  # the variable that points airflow2kfp at it

py_version="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
constraint_args=()
if [[ -f "$CONSTRAINTS" && "$CONSTRAINTS" == *"py$py_version.txt" ]]; then
    constraint_args=(--constraint "$CONSTRAINTS")
else
    echo "note: no constraints for Python $py_version; pinning only: $AIRFLOW_PACKAGES" >&2
fi

constraints_sum="none"
if [[ ${#constraint_args[@]} -gt 0 ]]; then
    constraints_sum="$(sha256sum "$CONSTRAINTS" | cut -c1-16)"
fi
stamp_text="$AIRFLOW_PACKAGES | python $py_version | constraints $constraints_sum"
stamp="$DIR/.airflow2kfp-stamp"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$stamp_text" ]] \
    && "$DIR/bin/python" -c "import airflow" >/dev/null 2>&1; then
    echo "Airflow environment up to date: $DIR ($AIRFLOW_VERSION)"
    exit 0
fi

echo "Creating Airflow $AIRFLOW_VERSION environment in $DIR"
"$PYTHON" -m venv "$DIR"
# this machine's pip configuration names local indexes that may not exist; their warnings are noise
quiet_pip() { "$DIR/bin/python" -m pip "$@" 2> >(grep -v "is ignored: it is neither" >&2); }
quiet_pip install --quiet --upgrade pip
# shellcheck disable=SC2086  # AIRFLOW_PACKAGES is a list of requirement specifiers
quiet_pip install --quiet ${constraint_args[@]+"${constraint_args[@]}"} $AIRFLOW_PACKAGES

installed="$(AIRFLOW_HOME="$(mktemp -d)" "$DIR/bin/python" -c 'import airflow; print(airflow.__version__)' 2>/dev/null | tail -n 1)"
if [[ "$installed" != "$AIRFLOW_VERSION" ]]; then
    echo "error: expected Airflow $AIRFLOW_VERSION in $DIR, found '$installed'" >&2
    exit 1
fi
echo "$stamp_text" > "$stamp"
echo "Airflow $installed ready: export $PYTHON_VAR=$DIR/bin/python"
