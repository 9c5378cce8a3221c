#!/usr/bin/env bash
# Create an Airflow 2.10 environment (default: .venv-airflow2 at the repo root) so CI can run the
# probe under Airflow 2 as well. Airflow's official constraint files live on GitHub, which is not
# reachable from the build machines, so the verified set is pinned in scripts/constraints/.
#
#   scripts/setup_airflow2_env.sh [DIR]
#
# Airflow 2.10 ships its core operators itself; the cncf-kubernetes provider is the last release
# that supports it (10.10.0). Then: export AIRFLOW2KFP_AIRFLOW2_PYTHON=DIR/bin/python
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export AIRFLOW_VERSION=2.10.5
export PYTHON_VAR=AIRFLOW2KFP_AIRFLOW2_PYTHON
export AIRFLOW_PACKAGES="apache-airflow==2.10.5 apache-airflow-providers-cncf-kubernetes==10.10.0"
exec "$ROOT/scripts/setup_airflow_env.sh" "${1:-$ROOT/.venv-airflow2}"
