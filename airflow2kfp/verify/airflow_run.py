"""Run DAGs once under Airflow, in the import's sandbox, and return what each task did.

The Airflow side of `verify`. `airflow_side/dag_test_runner.py` runs under the Airflow interpreter in the
sandbox the import uses (airflow2kfp.parse.sandbox: bubblewrap on Linux; the DAG folder read-only,
an allow-listed environment, no network) with a private, writable copy of a migrated, empty sqlite
database: migrating costs seconds, so the empty database is made once per Airflow installation and
kept in the user's cache folder (sandbox.migrated_home). Tasks run as they would under Airflow, so
everything they write stays in the sandbox's temporary folders; results are values, never
exceptions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from airflow2kfp.airflow_side import DAG_TEST_RUNNER, SANDBOX_INSIDE
from airflow2kfp.parse.airflow_import import sandbox_box
from airflow2kfp.parse.sandbox import Sandbox, SandboxError, SandboxMode, migrated_home, resolve

RESULT_MARKER = "AIRFLOW2KFP-RESULT "
LOGICAL_DATE = "2024-01-01T00:00:00+00:00"  # fixed, so templated values are the same on every run


@dataclass(frozen=True)
class AirflowTaskRun:
    task_id: str
    map_index: int  # -1 unless the task is mapped
    state: str | None  # success, failed, skipped, upstream_failed, ... (None: never scheduled)
    start: str | None  # as stored by Airflow (UTC)
    end: str | None
    try_number: int
    xcom: Mapping[str, Any] = field(default_factory=dict)  # key -> JSON value
    log: str = ""  # the last lines of the task's log in the dag.test() run
    is_setup: bool = False


@dataclass(frozen=True)
class AirflowDagRun:
    dag_id: str
    state: str | None
    tasks: tuple[AirflowTaskRun, ...]
    error: str | None = None


@dataclass(frozen=True)
class AirflowRunResult:
    airflow_version: str | None
    dags: Mapping[str, AirflowDagRun]
    import_errors: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None  # the run as a whole failed (no Airflow, timeout, crash)


@dataclass(frozen=True)
class AirflowRunOptions:
    task_timeout: float = 60.0  # seconds, enforced by Airflow as each task's execution_timeout
    run_timeout: float = 600.0  # seconds for the whole Airflow process
    logical_date: str = LOGICAL_DATE
    conf: Mapping[str, Any] = field(default_factory=dict)
    sandbox: str = SandboxMode.AUTO.value  # auto | require | off, as for the import


def _task(data: Mapping[str, Any]) -> AirflowTaskRun:
    return AirflowTaskRun(
        task_id=str(data["task_id"]),
        map_index=int(data.get("map_index", -1)),
        state=data.get("state"),
        start=data.get("start"),
        end=data.get("end"),
        try_number=int(data.get("try_number") or 0),
        xcom=dict(data.get("xcom") or {}),
        log=str(data.get("log") or ""),
        is_setup=bool(data.get("is_setup")),
    )


def parse_answer(stdout: str) -> AirflowRunResult:
    """The result for the runner's output (pure: tested without Airflow)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            answer = json.loads(line[len(RESULT_MARKER) :])
            break
    else:
        return AirflowRunResult(None, {}, error="the Airflow runner gave no answer")
    if "fatal" in answer:
        return AirflowRunResult(None, {}, error=f"the Airflow runner failed: {answer['fatal']}")
    dags = {
        str(d["dag_id"]): AirflowDagRun(
            str(d["dag_id"]), d.get("state"), tuple(_task(t) for t in d.get("tasks", [])), d.get("error")
        )
        for d in answer.get("dags", [])
    }
    return AirflowRunResult(answer.get("airflow_version"), dags, dict(answer.get("import_errors") or {}))


def run_dags(
    python: str,
    dag_folder: Path,
    dag_ids: Sequence[str] | None,
    options: AirflowRunOptions = AirflowRunOptions(),
) -> AirflowRunResult:
    """Run `dag_ids` (all DAGs when None) found in `dag_folder`, once each, in one sandboxed process."""
    folder = os.path.abspath(dag_folder)
    try:
        box = sandbox_box(python, options.sandbox, folders=(folder,))
    except SandboxError as error:
        return AirflowRunResult(None, {}, error=str(error))
    home = migrated_home(python, resolve(options.sandbox)[0])
    if home is None:
        return AirflowRunResult(None, {}, error=f"`airflow db migrate` failed with {python}")
    box = replace(box, scripts=(DAG_TEST_RUNNER, SANDBOX_INSIDE), home=home, home_access="copy")
    request = {
        "dag_folder": folder,
        "dag_ids": list(dag_ids) if dag_ids else None,
        "logical_date": options.logical_date,
        "conf": dict(options.conf),
        "task_timeout": options.task_timeout,
        "sandboxed": box.sandboxed,
    }
    with Sandbox(box) as sandbox:
        done = sandbox.run(
            [sandbox.script(DAG_TEST_RUNNER), json.dumps(request)], timeout=options.run_timeout
        )
    if done is None:
        return AirflowRunResult(
            None, {}, error=f"the Airflow run did not finish within {options.run_timeout:g}s"
        )
    result = parse_answer(done.stdout.decode(errors="replace"))
    if result.error and done.stderr:
        tail = " | ".join(done.stderr.decode(errors="replace").strip().splitlines()[-3:])
        return AirflowRunResult(None, {}, error=f"{result.error}: {tail}")
    return result
