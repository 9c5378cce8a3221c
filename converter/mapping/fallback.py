"""Operators without a mapping -> a step that runs the original operator inside an Airflow image.

Instead of a placeholder that fails, the step imports the operator's class, builds it with the same
keyword arguments (and `default_args`, which Airflow applies the usual way), renders its templated
fields with a minimal context (`ds`, `ts`, `logical_date`, `run_id`, `params`) and calls
`execute(context)`. It runs as long as the operator does not need what only an Airflow deployment
has: connections from the metadata database (provide `AIRFLOW_CONN_<ID>` environment variables
instead), XCom from other tasks, Variables, or the task instance. That is what the diagnostic says.
`--no-operator-fallback` gives placeholders instead.
"""

from __future__ import annotations

import json
from typing import Any

from converter.diagnostics import diag
from converter.mapping.base import (
    ComponentDef, Fidelity, MappingContext, ParamRef, RunIdRef, TaskMapping, is_airflow_module,
    task_location,
)
from converter.mapping.placeholder import map_unknown
from converter.mapping.templates import time_parameter
from converter.model import Duration, Task, Unresolved, XComRef

# BaseOperator arguments that are scheduling settings (mapped by settings.py or reported there),
# not the operator's own configuration
SCHEDULING = frozenset({
    "task_id", "dag", "task_group", "default_args", "retries", "retry_delay", "retry_exponential_backoff",
    "max_retry_delay", "execution_timeout", "trigger_rule", "pool", "pool_slots", "queue", "priority_weight",
    "weight_rule", "sla", "on_failure_callback", "on_success_callback", "on_retry_callback",
    "on_execute_callback", "on_skipped_callback", "email", "email_on_failure", "email_on_retry", "owner",
    "depends_on_past", "wait_for_downstream", "ignore_first_depends_on_past", "doc", "doc_md", "doc_rst",
    "doc_json", "doc_yaml", "start_date", "end_date", "executor_config", "max_active_tis_per_dag",
    "max_active_tis_per_dagrun", "run_as_user", "resources", "task_concurrency", "outlets", "inlets",
    "map_index_template", "multiple_outputs", "do_xcom_push", "executor", "retry_exponential_backoff",
})

# Runs in the Airflow image: argv = class path, JSON kwargs, JSON default_args, task_id, dag_id,
# logical date (ISO 8601), run id
RUNNER = """\
import importlib, json, sys
import pendulum
from airflow.models.dag import DAG
path, kwargs, default_args, task_id, dag_id, logical_date, run_id = sys.argv[1:8]
module, _, name = path.rpartition('.')
operator_class = getattr(importlib.import_module(module), name)
kwargs, default_args = json.loads(kwargs), json.loads(default_args)
params = kwargs.pop('params', None) or default_args.pop('params', None) or {}
try:
    date = pendulum.parse(logical_date)
except Exception:
    date = pendulum.now('UTC')
dag = DAG(dag_id, schedule=None, start_date=date, params=params)
operator = operator_class(task_id=task_id, dag=dag, default_args=default_args, **kwargs)
context = {
    'ds': date.to_date_string(), 'ds_nodash': date.format('YYYYMMDD'), 'ts': date.isoformat(),
    'ts_nodash': date.format('YYYYMMDDTHHmmss'), 'logical_date': date, 'execution_date': date,
    'data_interval_start': date, 'data_interval_end': date, 'run_id': run_id, 'params': params,
    'dag': dag, 'task': operator, 'ti': None, 'task_instance': None, 'dag_run': None,
}
operator.render_template_fields(context)
result = operator.execute(context)
print('airflow2kfp: operator returned', repr(result)[:1000])
"""


def component(image: str) -> ComponentDef:
    inputs = ["operator", "arguments", "default_args", "task_id", "dag_id", "logical_date", "run_id"]
    return ComponentDef(
        key="AIRFLOW_OPERATOR",
        description="Runs an Airflow operator as it is, inside an Airflow image (no metadata database).",
        spec={
            "name": "airflow-operator",
            "description": "Runs an Airflow operator's execute() with a minimal context.",
            "inputs": [{"name": name, "type": "String"} for name in inputs],
            "implementation": {"container": {
                "image": image,
                "command": ["python", "-c", RUNNER, *({"inputValue": name} for name in inputs)],
            }},
        },
    )


def _json_value(value: Any, dropped: list[str], key: str) -> Any:
    """The value as JSON data, or a marker when it is not (recorded in `dropped`)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Duration):  # operators differ in whether they accept seconds: not guessed
        dropped.append(key)
        return _DROP
    if isinstance(value, (list, tuple)):
        items = [_json_value(v, dropped, key) for v in value]
        return _DROP if _DROP in items else items
    if isinstance(value, dict):
        items = {str(k): _json_value(v, dropped, f"{key}[{k!r}]") for k, v in value.items()}
        return _DROP if _DROP in items.values() else items
    dropped.append(key)
    return _DROP


_DROP = object()


def _kwargs(values: dict[str, Any], dropped: list[str]) -> dict[str, Any]:
    found = {}
    for key, value in values.items():
        converted = _json_value(value, dropped, key)
        if converted is not _DROP:
            found[key] = converted
    return found


def map_fallback(task: Task, context: MappingContext) -> TaskMapping:
    if not context.options.operator_fallback or not task.operator_module or task.operator.startswith("task"):
        return map_unknown(task, context)
    where = task_location(task)
    dropped: list[str] = []
    own = {k: v for k, v in task.args.values.items() if k in task.args.explicit and k not in SCHEDULING}
    defaults = task.args.get("default_args") if isinstance(task.args.get("default_args"), dict) else {}
    inherited = {k: v for k, v in task.args.values.items()
                 if k not in task.args.explicit and k not in SCHEDULING}  # default_args, merged by the reader
    kwargs = _kwargs(own, dropped)
    default_args = _kwargs({**defaults, **inherited}, dropped)
    xcoms = sorted({k for k, v in own.items() if isinstance(v, XComRef)})
    unresolved = [k for k in dropped if isinstance(own.get(k), Unresolved)]
    missing = ", ".join(sorted(set(dropped)))
    diagnostics = [diag("A2K313", f"{task.qualified_operator} runs as it is inside {context.options.airflow_image}: "
                        "connections must come from AIRFLOW_CONN_* variables, and XCom, Variables and the task "
                        "instance are not available" + (f"; not carried: {missing}" if missing else ""), **where)]
    if xcoms or unresolved:
        diagnostics.append(diag("A2K311", "arguments that are XCom values or objects are not passed: "
                                f"{', '.join(sorted(set(xcoms) | set(unresolved)))}", **where))
    if not is_airflow_module(task.operator_module):
        diagnostics.append(diag("A2K310", f"{task.operator} is defined in {task.operator_module}, not in Airflow: "
                                f"the Airflow image must provide that module", **where))
    ts = time_parameter("ts")
    return TaskMapping(
        task_id=task.task_id,
        fidelity=Fidelity.APPROXIMATED,
        component=component(context.options.airflow_image),
        arguments={
            "operator": task.qualified_operator,
            "arguments": json.dumps(kwargs, sort_keys=True),
            "default_args": json.dumps(default_args, sort_keys=True),
            "task_id": task.task_id,
            "dag_id": context.dag.dag_id,
            "logical_date": ParamRef(ts.name),
            "run_id": RunIdRef(),
        },
        diagnostics=tuple(diagnostics),
        notes=(f"runs the Airflow operator {task.operator} in an Airflow image",),
        parameters=(ts,),
    )
