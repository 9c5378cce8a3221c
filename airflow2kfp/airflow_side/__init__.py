"""Code run by Airflow's interpreter, never by the converter's: the standard library, Airflow and each
other only (tests/test_layers.py checks every file of this folder).

Each script is put, with `sandbox_inside.py`, into the sandbox's script folder (bound read-only, or
copied without bubblewrap; airflow2kfp.parse.sandbox) and run by path there: that folder is its
`sys.path[0]`, so the scripts import each other as top-level modules.

- `probe.py`: reads DAG files with Airflow's DagBag (the import reader, airflow2kfp.parse.airflow_import);
- `dag_test_runner.py`: runs DAGs once with `dag.test()` (the Airflow side of `verify`,
  airflow2kfp.verify.airflow_run);
- `sandbox_inside.py`: what runs inside the sandbox (framing, dropping privileges, sweeping); the
  converter imports it too, so both ends of a channel share one implementation.

This module is imported by the converter only, for the scripts' paths (the tests import the scripts
themselves for their pure parts).
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
PROBE = FOLDER / "probe.py"
DAG_TEST_RUNNER = FOLDER / "dag_test_runner.py"
SANDBOX_INSIDE = FOLDER / "sandbox_inside.py"
