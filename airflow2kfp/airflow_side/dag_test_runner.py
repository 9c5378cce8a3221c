"""Run DAGs once with Airflow's own `dag.test()` and print what happened to each task, as JSON.

This script runs under a *foreign* interpreter (an Airflow 2.7+ or 3.x environment), so it imports
nothing from `airflow2kfp`: stdlib, airflow and its sibling `sandbox_inside.py` only. It is run by
path, inside the sandbox of `airflow2kfp.parse.sandbox` (the import's), with
AIRFLOW__DATABASE__SQL_ALCHEMY_CONN pointing at a private copy of a migrated sqlite database. In
bubblewrap's root flavour it first drops to `nobody`, as the import's children do.

    dag_test_runner.py REQUEST_JSON

REQUEST_JSON is {"dag_folder": str, "dag_ids": [str] | null, "logical_date": ISO-8601 str,
"conf": {...}, "task_timeout": seconds, "sandboxed": bool}. The one answer line on stdout starts with RESULT_MARKER:
{"airflow_version", "import_errors": {file: text}, "dags": [{"dag_id", "state", "error",
"tasks": [{"task_id", "map_index", "state", "start", "end", "try_number", "xcom": {key: value},
"is_setup", "log"}]}]}. `log` is the end of what the task wrote while `dag.test()` ran it (its log
lines, its processes' output), cut out of the run's output between Airflow's own "[DAG TEST]
starting task_id=... map_index=..." and "[DAG TEST] end task ..." lines (2.x and 3.x).

`dag.test()` runs every task in this process, as `airflow dags test` does, in Airflow 2.5+ and 3.x;
Airflow 3 serialises the DAG into the database itself first (what `airflow dags reserialize`
would do). States, times, tries and XComs are then read from the database with sqlite3 (the same
tables in 2.x and 3.x), not from Airflow's Python API, whose names moved between versions.
"""

from __future__ import annotations

import collections
import datetime
import inspect
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable
from typing import Any

RESULT_MARKER = "AIRFLOW2KFP-RESULT "
MAX_XCOM_CHARS = 20_000
MAX_LOG_CHARS = 4_000
MAX_LOG_LINES = 60
_TASK_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+) map_index=(-?\d+)")
_TASK_END = re.compile(r"\[DAG TEST\] end task task_id=(\S+) map_index=(-?\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Airflow 3's bookkeeping between the task's own lines: the execution API's state updates, log groups
_BOOKKEEPING = re.compile(r"\[airflow\.api_fastapi\.|::(?:end)?group::")


def _json_safe(value: Any) -> Any:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        return {"__unserialisable__": repr(value)[:200]}
    if len(text) > MAX_XCOM_CHARS:
        return {"__too_large__": len(text)}
    return value


def _decode_xcom(raw: Any) -> Any:
    """XCom values are JSON in both 2.x (bytes) and 3.x (text); pickled values are not read."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return {"__unserialisable__": "binary (pickled?) XCom value"}
    if isinstance(raw, str):
        try:
            return _json_safe(json.loads(raw))
        except ValueError:
            return _json_safe(raw)
    return _json_safe(raw)


def _database_path() -> str:
    url = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    if not url.startswith("sqlite:///"):
        raise RuntimeError("the runner only reads a sqlite database")
    return url[len("sqlite:///") :]


def _read_run(database: str, dag_id: str, run_id: str) -> tuple[str | None, list[dict[str, Any]]]:
    connection = sqlite3.connect(database)
    try:
        row = connection.execute(
            "SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", (dag_id, run_id)
        ).fetchone()
        state = row[0] if row else None
        tasks: dict[tuple[str, int], dict[str, Any]] = {}
        query = (
            "SELECT task_id, map_index, state, start_date, end_date, try_number FROM task_instance "
            "WHERE dag_id = ? AND run_id = ? ORDER BY task_id, map_index"
        )
        for task_id, map_index, ti_state, start, end, try_number in connection.execute(
            query, (dag_id, run_id)
        ):
            tasks[(task_id, map_index)] = {
                "task_id": task_id,
                "map_index": map_index,
                "state": ti_state,
                "start": start,
                "end": end,
                "try_number": try_number,
                "xcom": {},
            }
        query = "SELECT task_id, map_index, key, value FROM xcom WHERE dag_id = ? AND run_id = ?"
        for task_id, map_index, key, value in connection.execute(query, (dag_id, run_id)):
            if (task_id, map_index) in tasks:
                tasks[(task_id, map_index)]["xcom"][key] = _decode_xcom(value)
        return state, list(tasks.values())
    finally:
        connection.close()


def _captured(call: Callable[[], Any]) -> tuple[Any, BaseException | None, dict[tuple[str, int], str]]:
    """call() with file descriptors 1 and 2 (Airflow's console logging, the tasks' prints and their
    processes' output) written to a temporary file, then copied on to stderr as they would have gone:
    (the result, the exception raised, each task's log as `task_logs` cuts it)."""
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as capture:
        saved = os.dup(2)
        os.dup2(capture.fileno(), 1)
        os.dup2(capture.fileno(), 2)
        result, error = None, None
        try:
            result = call()
        except Exception as exc:  # noqa: BLE001  # re-raised by the caller, after the output is back
            error = exc
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.dup2(saved, 1)
            os.close(saved)
        capture.seek(0)
        shutil.copyfileobj(capture, sys.stderr.buffer)  # streamed: a task may write a lot
        sys.stderr.flush()
        capture.seek(0)
        logs = task_logs(line.decode(errors="replace") for line in capture)
    return result, error, logs


def task_logs(lines: Iterable[str]) -> dict[tuple[str, int], str]:
    """(task_id, map_index) -> the end of what was written while dag.test() ran that task."""
    found: dict[tuple[str, int], collections.deque[str]] = {}
    current: tuple[str, int] | None = None
    for line in lines:
        start = _TASK_START.search(line)
        if start:
            current = (start.group(1), int(start.group(2)))
            found.setdefault(current, collections.deque(maxlen=MAX_LOG_LINES))
            continue
        if _TASK_END.search(line):
            current = None
            continue
        if current is not None and not _BOOKKEEPING.search(line):
            found[current].append(_ANSI.sub("", line.rstrip("\n"))[:MAX_LOG_CHARS])
    return {key: "\n".join(kept)[-MAX_LOG_CHARS:] for key, kept in found.items()}


def _test(dag: Any, logical_date: datetime.datetime, conf: dict[str, Any]) -> Any:
    parameters = inspect.signature(dag.test).parameters
    kwargs: dict[str, Any] = {"run_conf": conf or None}
    # 3.x calls it logical_date, 2.x execution_date
    kwargs["logical_date" if "logical_date" in parameters else "execution_date"] = logical_date
    return dag.test(**kwargs)


def run(request: dict[str, Any]) -> dict[str, Any]:
    import airflow

    try:
        from airflow.dag_processing.dagbag import DagBag  # 3.x
    except ImportError:
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]  # 2.x

    # the DAG folder's own modules import as in a deployment: Airflow 2 puts DAGS_FOLDER on sys.path,
    # Airflow 3's DAG processor and task runner the bundle's path; DagBag alone does neither
    if request["dag_folder"] not in sys.path:
        sys.path.append(request["dag_folder"])
    bag_kwargs: dict[str, Any] = {"dag_folder": request["dag_folder"]}
    if "include_examples" in inspect.signature(DagBag.__init__).parameters:
        bag_kwargs["include_examples"] = False
    bag = DagBag(**bag_kwargs)
    answer: dict[str, Any] = {
        "airflow_version": airflow.__version__,
        "import_errors": {str(k): str(v)[-2000:] for k, v in bag.import_errors.items()},
        "dags": [],
    }
    logical_date = datetime.datetime.fromisoformat(request["logical_date"])
    timeout = datetime.timedelta(seconds=float(request.get("task_timeout", 60)))
    wanted = request.get("dag_ids") or sorted(bag.dag_ids)
    database = _database_path()
    for dag_id in wanted:
        dag = bag.dags.get(dag_id)
        if dag is None:
            answer["dags"].append(
                {"dag_id": dag_id, "state": None, "error": "Airflow found no such DAG", "tasks": []}
            )
            continue
        for task in dag.tasks:  # the per-task timeout, enforced by Airflow itself
            if getattr(task, "execution_timeout", None) is None or task.execution_timeout > timeout:
                task.execution_timeout = timeout
        conf = request.get("conf") or {}
        dag_run, error, logs = _captured(lambda: _test(dag, logical_date, conf))  # noqa: B023  # called at once
        if error is not None:  # a DAG that cannot run is an answer, not a crash
            trace = traceback.format_exception(type(error), error, error.__traceback__)
            answer["dags"].append(
                {
                    "dag_id": dag_id,
                    "state": None,
                    "tasks": [],
                    "error": f"{type(error).__name__}: {error}",
                    "traceback": "".join(trace)[-3000:],
                }
            )
            continue
        state, tasks = _read_run(database, dag_id, dag_run.run_id)
        for task in tasks:
            task["log"] = logs.get((task["task_id"], task["map_index"]), "")
            task["is_setup"] = bool(getattr(dag.task_dict.get(task["task_id"]), "is_setup", False))
        answer["dags"].append({"dag_id": dag_id, "state": state, "error": None, "tasks": tasks})
    return answer


def _enter(request: dict[str, Any]) -> None:
    """In bubblewrap's root flavour, become `nobody` (or at least give up every capability) before
    Airflow or any task runs; the DAG folder stays readable, the database copy writable."""
    if not request.get("sandboxed") or os.geteuid() != 0:
        return
    import sandbox_inside

    if sandbox_inside.nobody_can_read(request["dag_folder"], request["dag_folder"]):
        sandbox_inside.become_nobody()
    else:
        sandbox_inside.clear_capabilities()


def main(argv: list[str]) -> int:
    # the answer goes to a private copy of stdout; fd 1 is pointed at stderr so that prints from
    # Airflow, its logging or the tasks cannot corrupt it
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    # the tasks' logs are read from the run's output: INFO, whatever the sandbox set for imports
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "INFO"
    try:
        request = json.loads(argv[1])
        _enter(request)
        # DAG files find their data files through [core] dags_folder, as under Airflow
        os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = request["dag_folder"]
        answer = run(request)
    except Exception as error:  # noqa: BLE001  # whatever happens, answer
        answer = {"fatal": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()[-3000:]}
    out.write(RESULT_MARKER + json.dumps(answer) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
