"""Run DAGs once under Airflow, in the reader's sandbox, and return what each task did.

The Airflow side of `verify`. `airflow_runner_script.py` runs under the Airflow interpreter with
the sandbox of `converter.parse.airflow_import` (temporary cwd, AIRFLOW_HOME and DAGs folder, an
allow-listed environment) and a copy of a migrated, empty sqlite database. Migrating costs seconds,
so the empty database is made once per Airflow installation and cached in the temporary folder.
Nothing outside temporary folders is written; results are values, never exceptions.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from converter.parse.airflow_import import _Sandbox, run_in_sandbox

RUNNER = Path(__file__).with_name("airflow_runner_script.py")
RESULT_MARKER = "AIRFLOW2KFP-RESULT "
LOGICAL_DATE = "2024-01-01T00:00:00+00:00"  # fixed, so templated values are the same on every run
CACHE_DIR = Path(tempfile.gettempdir()) / "airflow2kfp-airflow-db"
_COPY_IGNORE = shutil.ignore_patterns(".*", "__pycache__", "*.pyc")


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


def _installation_key(python: str) -> str:
    """Identifies an Airflow installation: the interpreter and the installed Airflow's dist-info."""
    real = os.path.realpath(python)
    venv = Path(python).parent.parent
    infos = sorted(str(p.name) for p in venv.glob("lib/python*/site-packages/apache_airflow-*.dist-info"))
    return hashlib.sha256(f"{python}|{real}|{infos}".encode()).hexdigest()[:16]


def migrated_database(python: str, timeout: float = 300.0) -> Path | None:
    """An empty database migrated by this Airflow (`airflow db migrate`), made once and cached."""
    cached = CACHE_DIR / f"{_installation_key(python)}.db"
    if cached.is_file():
        return cached
    with _Sandbox() as sandbox:
        done = run_in_sandbox(python, ["-m", "airflow", "db", "migrate"], timeout=timeout, sandbox=sandbox)
        made = sandbox.home / "airflow.db"
        if done is None or done.returncode != 0 or not made.is_file():
            return None
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        partial = CACHE_DIR / f".{cached.name}.{os.getpid()}.part"
        shutil.copyfile(made, partial)
        os.replace(partial, cached)  # atomic: concurrent runs never see half a file
    return cached


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
    """Run `dag_ids` (all DAGs when None) found in a copy of `dag_folder`, once each, in one process."""
    database = migrated_database(python)
    if database is None:
        return AirflowRunResult(None, {}, error=f"`airflow db migrate` failed with {python}")
    with _Sandbox() as sandbox:
        shutil.copyfile(database, sandbox.home / "airflow.db")
        shutil.copytree(dag_folder, sandbox.dags, ignore=_COPY_IGNORE, dirs_exist_ok=True)
        runner = sandbox.root / "runner" / RUNNER.name
        runner.parent.mkdir()
        shutil.copyfile(RUNNER, runner)
        request = {
            "dag_folder": str(sandbox.dags),
            "dag_ids": list(dag_ids) if dag_ids else None,
            "logical_date": options.logical_date,
            "conf": dict(options.conf),
            "task_timeout": options.task_timeout,
        }
        done = run_in_sandbox(
            python, [str(runner), json.dumps(request)], timeout=options.run_timeout, sandbox=sandbox
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
