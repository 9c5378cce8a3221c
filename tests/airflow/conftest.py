"""Fixtures for tests that import DAG files with a real Airflow interpreter.

The Airflow 3 interpreter comes from find_airflow_python ($AIRFLOW2KFP_AIRFLOW_PYTHON or the
project's .venv-airflow); an Airflow 2 one from $AIRFLOW2KFP_AIRFLOW2_PYTHON. Tests needing one
skip when it is not configured.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from converter.parse.airflow_import import AirflowReader, ReaderOptions, find_airflow_python

REPO = Path(__file__).resolve().parents[2]
AIRFLOW_ONLY = REPO / "fixtures" / "airflow_only"
HAZARDS = REPO / "fixtures" / "import_hazards"
TEST_TIMEOUT = 3.0  # seconds per file: short, so the hang test stays cheap


@pytest.fixture(scope="session")
def airflow_python() -> str:
    python = find_airflow_python()
    if python is None:
        pytest.skip("no Airflow interpreter: set AIRFLOW2KFP_AIRFLOW_PYTHON or run scripts/setup_airflow_env.sh")
    return python


@pytest.fixture(scope="session")
def airflow2_python() -> str:
    python = os.environ.get("AIRFLOW2KFP_AIRFLOW2_PYTHON")
    if not python or not os.path.isfile(python):
        pytest.skip("no Airflow 2 interpreter: set AIRFLOW2KFP_AIRFLOW2_PYTHON (scripts/setup_airflow2_env.sh)")
    return python


@pytest.fixture(scope="session")
def reader(airflow_python: str) -> Iterator[AirflowReader]:
    with AirflowReader(airflow_python, ReaderOptions(timeout=TEST_TIMEOUT)) as shared:
        yield shared


@pytest.fixture(scope="session")
def reader2(airflow2_python: str) -> Iterator[AirflowReader]:
    with AirflowReader(airflow2_python, ReaderOptions(timeout=TEST_TIMEOUT)) as shared:
        yield shared
