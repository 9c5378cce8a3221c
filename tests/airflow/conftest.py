"""Fixtures for tests that import DAG files with a real Airflow interpreter.

The Airflow 3 interpreter comes from find_airflow_python ($AIRFLOW2KFP_AIRFLOW_PYTHON or the
project's .venv-airflow); an Airflow 2 one from $AIRFLOW2KFP_AIRFLOW2_PYTHON. Tests needing one
skip when it is not configured.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow2kfp.parse.airflow_import import AirflowReader, ReaderOptions

REPO = Path(__file__).resolve().parents[2]
AIRFLOW_ONLY = REPO / "fixtures" / "airflow_only"
HAZARDS = REPO / "fixtures" / "import_hazards"
TEST_TIMEOUT = 3.0  # seconds per file: short, so the hang test stays cheap


@pytest.fixture(scope="session")
def reader(airflow_python: str) -> Iterator[AirflowReader]:
    with AirflowReader(airflow_python, ReaderOptions(timeout=TEST_TIMEOUT)) as shared:
        yield shared


@pytest.fixture(scope="session")
def reader2(airflow2_python: str) -> Iterator[AirflowReader]:
    with AirflowReader(airflow2_python, ReaderOptions(timeout=TEST_TIMEOUT)) as shared:
        yield shared
