"""The Airflow interpreters for end-to-end verify tests: skipped when none is configured."""

from __future__ import annotations

import os

import pytest

from converter.parse.airflow_import import find_airflow_python


@pytest.fixture(scope="session")
def airflow_python() -> str:
    python = find_airflow_python()
    if python is None:
        pytest.skip(
            "no Airflow interpreter: set AIRFLOW2KFP_AIRFLOW_PYTHON or run scripts/setup_airflow_env.sh"
        )
    return python


@pytest.fixture(scope="session")
def airflow2_python() -> str:
    python = os.environ.get("AIRFLOW2KFP_AIRFLOW2_PYTHON")
    if not python or not os.path.isfile(python):
        pytest.skip(
            "no Airflow 2 interpreter: set AIRFLOW2KFP_AIRFLOW2_PYTHON (scripts/setup_airflow2_env.sh)"
        )
    return python
