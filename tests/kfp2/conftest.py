"""The Airflow interpreter fixture of the verify tests, for `verify --target v2`."""

from tests.verify.conftest import airflow_python  # noqa: F401 - a fixture, found by pytest here
