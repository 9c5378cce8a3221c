"""No false findings when reading with Airflow: schedules as the installed Airflow makes them (3.x and
2.10), no schedule is no finding, files that define no DAG are never failures, info-only runs exit 0."""

from __future__ import annotations

import contextlib
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from airflow2kfp.cli import main

REPO = Path(__file__).resolve().parents[2]
SCHEDULES = REPO / "fixtures" / "schedules"

CRONS = {
    "nightly_cron": "0 0 3 * * *",
    "legacy_interval": "0 0 6 * * *",
    "daily_preset": "0 0 0 * * *",
    "weekly_trigger": "0 0 4 * * 1",
    "interval_cron": "0 0 5 * * *",
}
INTERVALS = {"every_six_hours": 21600, "interval_delta": 7200, "trigger_delta": 10800}
NO_RUN = {
    "manual_backfill": None,
    "manual_legacy": None,
    "one_shot": "info",
    "streaming_compaction": "warning",
    "on_new_data": "warning",
}
# the timetables whose logical date is one period before the firing time
DATA_INTERVAL = {
    "airflow3": {"interval_cron", "interval_delta"},
    "airflow2": {
        "nightly_cron",
        "legacy_interval",
        "daily_preset",
        "every_six_hours",
        "interval_cron",
        "interval_delta",
    },
    "static": {"interval_cron", "interval_delta"},  # what the source says; which Airflow runs it is unknown
}


def convert(*args: str) -> tuple[int, str]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = main(["convert", *args, "--no-cache", "-j", "1"])
    return code, printed.getvalue()


@pytest.mark.parametrize("mode", ["auto", "static"])
@pytest.mark.parametrize("version", ["airflow3", "airflow2"])
def test_every_kind_of_schedule(
    version: str, mode: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    python = request.getfixturevalue("airflow_python" if version == "airflow3" else "airflow2_python")
    out = tmp_path / "out"
    code, printed = convert(
        str(SCHEDULES / version), "--out", str(out), "--mode", mode, "--airflow-python", python
    )
    assert code == 0, printed
    summary = json.loads((out / "conversion.json").read_text())
    dags = {dag["dag_id"]: dag for dag in summary["dags"]}
    assert all(dag["status"] == "converted" for dag in dags.values())
    interval_dags = DATA_INTERVAL["static" if mode == "static" else version]
    for dag_id, dag in dags.items():
        schedule_findings = [d for d in dag["diagnostics"] if d["code"] == "A2K314"]
        run = json.loads((out / dag["recurring_run"]).read_text()) if dag["recurring_run"] else None
        if dag_id in NO_RUN:
            assert run is None, dag_id
            severity = NO_RUN[dag_id]
            assert [d["severity"] for d in schedule_findings] == ([severity] if severity else []), dag_id
            continue
        trigger = run["trigger"]
        if dag_id in CRONS:
            assert trigger["cron_schedule"]["cron"] == CRONS[dag_id]
        else:
            assert trigger["periodic_schedule"]["interval_second"] == INTERVALS[dag_id]
        later = [d for d in schedule_findings if "one period later" in d["message"]]
        assert bool(later) == (dag_id in interval_dags), (dag_id, schedule_findings)
        assert len(schedule_findings) == len(later), schedule_findings  # nothing else to say
    assert "NullTimetable" not in printed and "has 1 fields" not in printed


HELPER = '''"""Shared helpers for our Airflow DAGs: default_args and how dag ids are named."""
from datetime import timedelta

DEFAULT_ARGS = {"owner": "data", "retries": 2, "retry_delay": timedelta(minutes=5)}


def dag_id_for(team: str, name: str) -> str:
    return f"{team}__{name}"
'''

DAG_FILE = """from datetime import datetime

from airflow import DAG

try:
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator

from dag_helpers import DEFAULT_ARGS

with DAG("data__etl", default_args=DEFAULT_ARGS, schedule=None, start_date=datetime(2024, 1, 1)):
    BashOperator(task_id="run", bash_command="echo {{ ds }}")
"""


@pytest.mark.parametrize("mode", ["auto", "airflow", "static"])
@pytest.mark.parametrize("version", ["airflow3", "airflow2"])
def test_a_helper_module_is_no_failure_and_info_only_runs_exit_0(
    version: str, mode: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    python = request.getfixturevalue("airflow_python" if version == "airflow3" else "airflow2_python")
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "dag_helpers.py").write_text(HELPER)  # mentions "airflow" and "dag": Airflow imports it too
    (dags / "etl.py").write_text(DAG_FILE)
    out = tmp_path / "out"
    junit = tmp_path / "junit.xml"
    code, printed = convert(
        str(dags),
        "--out",
        str(out),
        "--mode",
        mode,
        "--airflow-python",
        python,
        "--junit",
        str(junit),
        "--fail-on",
        "warning",
    )
    summary = json.loads((out / "conversion.json").read_text())
    files = {Path(f["path"]).name: f for f in summary["files"]}
    assert files["dag_helpers.py"]["status"] == "skipped"
    assert [d["code"] for d in files["dag_helpers.py"]["diagnostics"]] == ["A2K104"]  # once, as info
    assert {d["severity"] for f in summary["files"] for d in f["diagnostics"]} <= {"info"}
    assert [dag["status"] for dag in summary["dags"]] == ["converted"]
    assert code == 0, printed  # only info findings, even with --fail-on warning
    suite = ET.parse(junit).getroot()
    assert {s.get("failures") for s in suite.iter("testsuite")} == {"0"}
    assert "unreadable" not in printed


CRON_DAG = """from datetime import datetime

from airflow import DAG
from airflow.providers.standard.operators.bash import BashOperator

with DAG("nightly", schedule="0 2 * * *", start_date=datetime(2024, 1, 1), catchup=False):
    BashOperator(task_id="report", bash_command="make report DAY={{ ds }}")
"""


def test_the_users_timetable_settings_reach_the_import(
    airflow_python: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[scheduler] create_cron_data_intervals (Airflow 3) turns cron strings into data-interval
    timetables in the user's Airflow: the import sees the same setting, and the warning follows it."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "nightly.py").write_text(CRON_DAG)
    said = {}
    for setting in ("False", "True"):
        monkeypatch.setenv("AIRFLOW__SCHEDULER__CREATE_CRON_DATA_INTERVALS", setting)
        code, printed = convert(
            str(dags), "--out", str(tmp_path / f"out-{setting}"), "--airflow-python", airflow_python, "-v"
        )
        assert code == 0, printed
        said[setting] = "one period later" in printed
    assert said == {"False": False, "True": True}


GROUPS_FROM_CONFIG = """import json
import os
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.utils.task_group import TaskGroup

# group names read from the environment at import time: the static reader cannot evaluate them
GROUPS = json.loads(os.environ.get("PIPELINE_GROUPS", '{"foo": 1, "bar": 2}'))

with DAG(dag_id="groups_from_config", schedule=None, start_date=datetime(2024, 1, 1)):
    start = BashOperator(task_id="start", bash_command="echo start")
    for name in GROUPS:
        with TaskGroup(name):
            start >> BashOperator(task_id="start", bash_command=f"echo {name}")
"""


@pytest.mark.parametrize("version", ["airflow3", "airflow2"])
def test_a_duplicate_task_id_the_static_reading_saw_is_settled_by_airflows_import(
    version: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Statically the two grouped `start` tasks look like duplicates of the top one (the group names are
    not known); Airflow, which refuses duplicates, loaded `foo.start` and `bar.start`: no error."""
    python = request.getfixturevalue("airflow_python" if version == "airflow3" else "airflow2_python")
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "groups.py").write_text(GROUPS_FROM_CONFIG)
    static_code, static_printed = convert(str(dags), "--out", str(tmp_path / "static"), "--mode", "static")
    assert static_code == 1 and "A2K201" in static_printed  # what the import settles
    code, printed = convert(str(dags), "--out", str(tmp_path / "out"), "--airflow-python", python)
    summary = json.loads((tmp_path / "out" / "conversion.json").read_text())
    (dag,) = summary["dags"]
    assert dag["status"] == "converted", printed
    assert {t["task_id"] for t in dag["tasks"]} == {"start", "foo.start", "bar.start"}
    assert "A2K201" not in printed
    assert code == 0, printed
