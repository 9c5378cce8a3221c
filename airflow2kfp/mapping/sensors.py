"""Sensors: a step that pokes a condition every poke_interval until it holds or timeout passes.

One shared component runs a small Python program defining `poke()`, with Airflow's defaults
(poke_interval 60 s, timeout 7 days); the step fails on timeout, as a sensor without soft_fail
does. What each sensor checks from inside a pod:
- FileSensor: the path (glob) on the pod's filesystem, which must be mounted there (Airflow checks
  the worker's filesystem of fs_conn_id);
- HttpSensor: the endpoint, on the base URL of the connection read from `AIRFLOW_CONN_<ID>` (the
  environment variable Airflow itself reads connections from); 2xx holds, 404 pokes again, other
  errors fail, as in Airflow; a response_check is not carried;
- DateTimeSensor: a literal target time (UTC when naive); TimeDeltaSensor: Airflow waits until the
  data interval's end plus delta, a KFP run has no data interval, so the step waits delta from its
  start (approximated);
- PythonSensor / @task.sensor: the callable's source, without Airflow's context; the xcom_value of
  the PokeReturnValue it returns is the step's output (Airflow's PokeReturnValue is served);
- ExternalTaskSensor: waits for another DAG's task; KFP has no dependencies between pipelines, so
  the step only says so and succeeds (approximated, A2K321).
`mode="reschedule"` and `deferrable=True` free an Airflow worker while waiting; the pod keeps
running, which changes cost, not outcome.
"""

from __future__ import annotations

import ast
from typing import Any

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.mapping.base import (
    ComponentDef,
    Fidelity,
    MappingContext,
    OperatorFamily,
    TaskMapping,
    task_location,
)
from airflow2kfp.mapping.callables import literal_source, prepare
from airflow2kfp.mapping.placeholder import placeholder
from airflow2kfp.model import Duration, Task

PYTHON_IMAGE = "python:3.11-slim"
DEFAULT_POKE_INTERVAL = 60.0
DEFAULT_TIMEOUT = 7 * 24 * 3600.0

_RUNNER = """\
import sys, time
exec(sys.argv[1])
interval, timeout = float(sys.argv[2]), float(sys.argv[3])
start = time.monotonic()
while not poke():
    if time.monotonic() - start + interval > timeout:
        sys.exit("sensor timed out after %ss" % timeout)
    time.sleep(interval)
"""


def _sensor_component(
    key: str, description: str, name: str, about: str, runner: str, output: bool
) -> ComponentDef:
    """A sensor's component: `runner` run by python3 with the poke program, poke_interval and timeout
    (and, with `output`, the path its XCom is written to)."""
    arguments: list[Any] = [
        {"inputValue": "program"},
        {"inputValue": "poke_interval"},
        {"inputValue": "timeout"},
    ]
    spec: dict[str, Any] = {
        "name": name,
        "description": about,
        "inputs": [
            {"name": "program", "type": "String"},
            {"name": "poke_interval", "type": "Float"},
            {"name": "timeout", "type": "Float"},
        ],
    }
    if output:
        spec["outputs"] = [{"name": "Output", "type": "String"}]
        arguments.append({"outputPath": "Output"})
    spec["implementation"] = {
        "container": {"image": PYTHON_IMAGE, "command": ["python3", "-c", runner, *arguments]}
    }
    return ComponentDef(key=key, description=description, spec=spec)


SENSOR = _sensor_component(
    "SENSOR",
    "Pokes a condition every poke_interval seconds until it holds; fails after timeout.",
    "sensor",
    "An Airflow sensor: runs poke() until it returns true, or fails on timeout.",
    _RUNNER,
    output=False,
)

# a Python sensor's XCom is the `xcom_value` of the PokeReturnValue its callable returned (None when
# it returned a plain truth value), as BaseSensorOperator.execute returns it: written as JSON
_PYTHON_RUNNER = """\
import json, os, sys, time
exec(sys.argv[1])
interval, timeout = float(sys.argv[2]), float(sys.argv[3])
start = time.monotonic()
while True:
    result = poke()
    if result:
        break
    if time.monotonic() - start + interval > timeout:
        sys.exit("sensor timed out after %ss" % timeout)
    time.sleep(interval)
os.makedirs(os.path.dirname(sys.argv[4]) or ".", exist_ok=True)
with open(sys.argv[4], "w") as stream:
    json.dump(getattr(result, "xcom_value", None), stream)
"""

PYTHON_SENSOR = _sensor_component(
    "PYTHON_SENSOR",
    "Pokes a Python callable every poke_interval seconds until it holds; its xcom_value is the output.",
    "python-sensor",
    "An Airflow Python sensor: runs poke() until it holds, or fails on timeout; "
    "writes the xcom_value of the PokeReturnValue it returned as JSON.",
    _PYTHON_RUNNER,
    output=True,
)
# Airflow's PokeReturnValue, for a callable that returns one: truthy when done, carrying the XCom
POKE_RETURN_VALUE = """\
class PokeReturnValue:
    def __init__(self, is_done, xcom_value=None):
        self.is_done, self.xcom_value = is_done, xcom_value

    def __bool__(self):
        return bool(self.is_done)
"""
_POKE_RETURN_MODULES = ("airflow.sensors.base", "airflow.sdk", "airflow.sdk.bases.sensor")

EXTERNAL = ComponentDef(
    key="EXTERNAL_DAG_WAIT",
    description="Stands in for an ExternalTaskSensor: KFP cannot wait for another pipeline.",
    spec={
        "name": "external-dag-wait",
        "description": "Says which Airflow DAG this run would have waited for; does not wait.",
        "inputs": [{"name": "waits_for", "type": "String"}],
        "implementation": {
            "container": {
                "image": "alpine:3.20",
                "command": [
                    "sh",
                    "-c",
                    'echo "airflow2kfp: not waiting for $0 (no cross-pipeline dependencies in KFP)"',
                    {"inputValue": "waits_for"},
                ],
            }
        },
    },
)


def _seconds(value: Any, default: float) -> float | None:
    if value is None:
        return default
    if isinstance(value, Duration):
        return value.seconds
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _callable_program(task: Task) -> str | None:
    """The callable with what it uses from its module (mapping/callables.py), and `poke()` calling it
    with the task's literal op_args/op_kwargs; None when it cannot be built."""
    if task.python_callable is None:
        return None
    prepared = prepare(task.python_callable)
    args, kwargs = task.args.get("op_args", []), task.args.get("op_kwargs", {})
    if isinstance(prepared, str) or not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict):
        return None
    args = [*prepared.partial_args, *args]
    kwargs = {**prepared.partial_kwargs, **kwargs}
    rendered = [literal_source(v) for v in args] + [literal_source(v) for v in kwargs.values()]
    if any(r is None for r in rendered) or not all(isinstance(k, str) and k.isidentifier() for k in kwargs):
        return None  # upstream values and other run-time arguments do not reach a sensor's program
    call = ", ".join([*rendered[: len(args)], *(f"{k}={r}" for k, r in zip(kwargs, rendered[len(args) :]))])
    prelude = [_without_poke_return_value(statement) for statement in prepared.prelude]
    served = [POKE_RETURN_VALUE] if any(s != p for s, p in zip(prelude, prepared.prelude)) else []
    lines = [
        *served,
        *(statement for statement in prelude if statement),
        *prepared.definition,
        "",
        "def poke():",
        f"    return {prepared.call_name}({call})",
    ]
    return "\n".join(lines) + "\n"


def _without_poke_return_value(statement: str) -> str:
    """An import statement without Airflow's PokeReturnValue (served by POKE_RETURN_VALUE instead);
    "" when nothing else is left of it. Any other statement as it is."""
    try:
        (node,) = ast.parse(statement).body
    except (SyntaxError, ValueError):
        return statement
    if not isinstance(node, ast.ImportFrom) or node.module not in _POKE_RETURN_MODULES:
        return statement
    kept = [alias for alias in node.names if alias.name != "PokeReturnValue" or alias.asname]
    if len(kept) == len(node.names):
        return statement
    return ast.unparse(ast.ImportFrom(node.module, kept, node.level)) if kept else ""


def _program(task: Task) -> tuple[str | None, list[str]]:
    """The poke program for `task`, and what differs from Airflow."""
    args = task.args
    if task.operator == "FileSensor":
        path = args.get("filepath")
        if not isinstance(path, str) or "{{" in path:
            return None, []
        program = f"import glob\ndef poke():\n    return bool(glob.glob({path!r}, recursive={args.get('recursive') is True}))\n"
        return program, [
            "FileSensor checks the path on the step's own filesystem, which must be mounted there"
        ]
    if task.operator == "HttpSensor":
        endpoint, conn = args.get("endpoint", ""), args.get("http_conn_id", "http_default")
        method = args.get("method", "GET")
        if not all(isinstance(v, str) for v in (endpoint, conn, method)):
            return None, []
        variable = f"AIRFLOW_CONN_{conn.upper()}"
        program = (
            "import os, urllib.error, urllib.request\n"
            f"URL = os.environ[{variable!r}].rstrip('/') + '/' + {endpoint!r}.lstrip('/')\n"
            "def poke():\n    try:\n"
            f"        urllib.request.urlopen(urllib.request.Request(URL, method={method!r}), timeout=60)\n"
            "        return True\n    except urllib.error.HTTPError as error:\n"
            "        if error.code == 404:\n            return False\n        raise\n"
        )
        notes = [
            f"HttpSensor reads the connection {conn}'s base URL from the environment variable {variable}, "
            "which the step must be given"
        ]
        if args.get("response_check") is not None:
            notes.append("response_check is not carried: any 2xx response satisfies the sensor")
        return program, notes
    if task.operator in ("DateTimeSensor", "DateTimeSensorAsync"):
        target = args.get("target_time")
        if not isinstance(target, str) or "{{" in target:
            return None, []
        program = (
            "from datetime import datetime, timezone\n"
            f"TARGET = datetime.fromisoformat({target!r})\n"
            "TARGET = TARGET if TARGET.tzinfo else TARGET.replace(tzinfo=timezone.utc)\n"
            "def poke():\n    return datetime.now(timezone.utc) >= TARGET\n"
        )
        return program, []
    if task.operator in ("TimeDeltaSensor", "TimeDeltaSensorAsync"):
        delta = _seconds(args.get("delta"), 0.0)
        if delta is None:
            return None, []
        program = (
            f"import time\nSTART = time.time()\ndef poke():\n    return time.time() - START >= {delta!r}\n"
        )
        return program, [
            "TimeDeltaSensor waits delta from the step's start: a KFP run has no data interval "
            "whose end Airflow would add delta to"
        ]
    program = _callable_program(task)
    return program, [
        "the sensor's callable runs without Airflow's context (ti, logical date, params)"
    ] if program else []


# sensors whose poke is the user's callable: their XCom is what it returned (mapping/xcom.py)
PYTHON_SENSORS = frozenset({"PythonSensor", "task.sensor"})


def map_sensor(task: Task, context: MappingContext) -> TaskMapping:
    where = task_location(task)
    if task.operator in ("ExternalTaskSensor", "ExternalTaskSensorAsync"):
        waits_for = f"{task.args.get('external_dag_id')}.{task.args.get('external_task_id') or '(whole DAG)'}"
        return TaskMapping(
            task.task_id,
            Fidelity.APPROXIMATED,
            EXTERNAL,
            {"waits_for": waits_for},
            diagnostics=(
                diag("A2K321", f"waits for {waits_for} in Airflow; the step does not wait", **where),
            ),
            notes=("cross-DAG wait not carried",),
        )
    program, differences = _program(task)
    interval = _seconds(task.args.get("poke_interval"), DEFAULT_POKE_INTERVAL)
    timeout = _seconds(task.args.get("timeout"), DEFAULT_TIMEOUT)
    if program is None or interval is None or timeout is None:
        reason = diag("A2K306", f"{task.operator}: what it waits for could not be read statically", **where)
        return placeholder(task, context, reason, "sensor condition unknown")
    diagnostics: list[Diagnostic] = [diag("A2K320", d, **where) for d in differences]
    return TaskMapping(
        task_id=task.task_id,
        fidelity=Fidelity.APPROXIMATED if differences else Fidelity.DIRECT,
        component=PYTHON_SENSOR if task.operator in PYTHON_SENSORS else SENSOR,
        arguments={"program": program, "poke_interval": interval, "timeout": timeout},
        diagnostics=tuple(diagnostics),
        notes=(f"polls every {interval:g}s, fails after {timeout:g}s",),
    )


FAMILY = OperatorFamily(
    name="sensors",
    description="Sensors: a step polling the condition every poke_interval until timeout (ExternalTaskSensor approximated).",
    operators=frozenset(
        {
            "FileSensor",
            "HttpSensor",
            "DateTimeSensor",
            "DateTimeSensorAsync",
            "TimeDeltaSensor",
            "TimeDeltaSensorAsync",
            "PythonSensor",
            "task.sensor",
            "ExternalTaskSensor",
            "ExternalTaskSensorAsync",
        }
    ),
    map_task=map_sensor,
)
