#!/usr/bin/env bash
# Create the KFP v2 environment airflow2kfp compiles and runs `--target v2` pipelines with (default:
# .venv-kfp2 at the repo root). kfp 2.x and kfp 1.8.22 (the converter's own) cannot share one
# environment (kfp 2 pins its own protobuf, kubernetes and urllib3), so it lives in a venv of its own
# and is used through a worker process, as Airflow is.
#
#   scripts/setup_kfp2_env.sh [DIR]
#
# Idempotent: a stamp file records what was installed; a second run with the same pins does nothing.
# Every package is pinned (scripts/constraints/kfp-2.17.3-py3.11.txt, checked on Python 3.11) so a
# fresh machine gets the same set; with another Python only kfp itself is pinned. Override:
#   PYTHON=python3.12 KFP2_VERSION=... CONSTRAINTS=file scripts/setup_kfp2_env.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:-$ROOT/.venv-kfp2}"
PYTHON="${PYTHON:-python3.11}"
KFP2_VERSION="${KFP2_VERSION:-2.17.3}"
CONSTRAINTS="${CONSTRAINTS:-$ROOT/scripts/constraints/kfp-$KFP2_VERSION-py3.11.txt}"

py_version="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
constraint_args=()
if [[ -f "$CONSTRAINTS" && "$CONSTRAINTS" == *"py$py_version.txt" ]]; then
    constraint_args=(--constraint "$CONSTRAINTS")
else
    echo "note: no constraints for Python $py_version; pinning only kfp==$KFP2_VERSION" >&2
fi
constraints_sum="none"
if [[ ${#constraint_args[@]} -gt 0 ]]; then
    constraints_sum="$(sha256sum "$CONSTRAINTS" | cut -c1-16)"
fi
stamp_text="kfp==$KFP2_VERSION kfp-kubernetes Jinja2 | python $py_version | constraints $constraints_sum"
stamp="$DIR/.airflow2kfp-stamp"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$stamp_text" ]] \
    && "$DIR/bin/python" -c "import kfp.local, kfp.kubernetes, jinja2" >/dev/null 2>&1; then
    echo "KFP v2 environment up to date: $DIR ($KFP2_VERSION)"
    exit 0
fi

echo "Creating KFP $KFP2_VERSION environment in $DIR"
"$PYTHON" -m venv "$DIR"
# this machine's pip configuration names local indexes that may not exist; their warnings are noise
quiet_pip() { "$DIR/bin/python" -m pip "$@" 2> >(grep -v "is ignored: it is neither" >&2); }
# a slow registry is retried rather than failing the set-up (CI runs this on a fresh machine)
# kfp-kubernetes: pod settings (timeouts, secrets); Jinja2: `verify --target v2` runs the steps that render
# templates (their packages_to_install) with this interpreter, as the converter's runs v1's
quiet_pip install --quiet --retries 5 --timeout 60 ${constraint_args[@]+"${constraint_args[@]}"} \
    "kfp==$KFP2_VERSION" "kfp-kubernetes==$KFP2_VERSION" "Jinja2==3.1.6"

installed="$("$DIR/bin/python" -c 'import kfp; print(kfp.__version__)' 2>/dev/null | tail -n 1)"
if [[ "$installed" != "$KFP2_VERSION" ]]; then
    echo "error: expected kfp $KFP2_VERSION in $DIR, found '$installed'" >&2
    exit 1
fi
echo "$stamp_text" > "$stamp"
echo "kfp $installed ready: export AIRFLOW2KFP_KFP2_PYTHON=$DIR/bin/python"
