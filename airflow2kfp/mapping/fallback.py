"""Operators without a mapping -> a step that runs the original operator inside an Airflow image.

Instead of a placeholder that fails, the step imports the operator's class, builds it with the same
keyword arguments (and `default_args`, which Airflow applies the usual way), renders its templated
fields with a minimal context (`ds`, `ts`, `logical_date`, `run_id`, `params`) and calls
`execute(context)`. It runs as long as the operator does not need what only an Airflow deployment
has: connections from the metadata database (provide `AIRFLOW_CONN_<ID>` environment variables
instead), XCom from other tasks, Variables, or the task instance. That is what the diagnostic says.
Its return value is the step's `Output`, as `do_xcom_push` makes it Airflow's `return_value` XCom.
`--no-operator-fallback` gives placeholders instead.

The image is `--airflow-image` when set, else the official image of the DAG's Airflow major version
(`AIRFLOW_IMAGES`): Airflow 3 when the file imports `airflow.sdk` or the Airflow that read it is 3.x,
Airflow 2 otherwise. The runner is the same for both. `airflow2kfp verify` runs these steps on the
host with its Airflow interpreter (airflow2kfp/verify/host_step.py), so the fallback is proven, not assumed.
"""

from __future__ import annotations

import ast
import json
from typing import Any

from airflow2kfp.diagnostics import diag
from airflow2kfp.mapping.base import (
    ComponentDef,
    Fidelity,
    MappingContext,
    MappingOptions,
    ParamRef,
    RunIdRef,
    TaskMapping,
    is_airflow_module,
    task_location,
)
from airflow2kfp.mapping.placeholder import map_unknown, placeholder
from airflow2kfp.mapping.templates import time_parameter
from airflow2kfp.model import Dag, Duration, Task, Unresolved, XComRef
from airflow2kfp.settings import AIRFLOW_IMAGES

# BaseOperator arguments that are scheduling settings (mapped by settings.py or reported there),
# not the operator's own configuration
SCHEDULING = frozenset(
    {
        "task_id",
        "dag",
        "task_group",
        "default_args",
        "retries",
        "retry_delay",
        "retry_exponential_backoff",
        "max_retry_delay",
        "execution_timeout",
        "trigger_rule",
        "pool",
        "pool_slots",
        "queue",
        "priority_weight",
        "weight_rule",
        "sla",
        "on_failure_callback",
        "on_success_callback",
        "on_retry_callback",
        "on_execute_callback",
        "on_skipped_callback",
        "email",
        "email_on_failure",
        "email_on_retry",
        "owner",
        "depends_on_past",
        "wait_for_downstream",
        "ignore_first_depends_on_past",
        "doc",
        "doc_md",
        "doc_rst",
        "doc_json",
        "doc_yaml",
        "start_date",
        "end_date",
        "executor_config",
        "max_active_tis_per_dag",
        "max_active_tis_per_dagrun",
        "run_as_user",
        "resources",
        "task_concurrency",
        "outlets",
        "inlets",
        "map_index_template",
        "multiple_outputs",
        "do_xcom_push",
        "executor",
    }
)

# The image per Airflow major version (AIRFLOW_IMAGES, a default of the settings model), when
# `--airflow-image` does not name one: the DAG's own Airflow (Airflow 3 for `airflow.sdk` imports or an
# Airflow 3 interpreter), else Airflow 2. The Airflow 3 tag is the one scripts/setup_airflow_env.sh
# installs, so `verify` proves what it runs.
# Airflow's module name for a class defined in a DAG file (DagBag imports files under this prefix)
_DAG_FILE_MODULE = "unusual_prefix_"

# Runs in the Airflow image, Airflow 2 or 3: argv = class path, JSON kwargs, JSON default_args,
# task_id, dag_id, logical date (ISO 8601), run id, the file to write the return value to (the
# step's `Output`: text as it is, anything else as JSON, as Airflow stores it in XCom)
RUNNER = """\
import importlib, json, os, sys
import pendulum
from airflow.configuration import conf
try:
    from airflow.sdk import DAG
except ImportError:
    from airflow.models.dag import DAG
# modules of the DAG folder import as in a task (Airflow 2 adds it at import, Airflow 3's runner per task)
dags_folder = conf.get('core', 'dags_folder', fallback=None)
if dags_folder and dags_folder not in sys.path:
    sys.path.append(dags_folder)
path, kwargs, default_args, task_id, dag_id, logical_date, run_id, output = sys.argv[1:9]
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
os.makedirs(os.path.dirname(output), exist_ok=True)
with open(output, 'w') as stream:
    stream.write(result if isinstance(result, str) else json.dumps(result, default=str))
"""


def image_for(dag: Dag, options: MappingOptions) -> str:
    """The image a fallback step runs in: the configured one, else the DAG's Airflow major's."""
    if options.airflow_image:
        return options.airflow_image
    return AIRFLOW_IMAGES[3 if (dag.airflow_major or 2) >= 3 else 2]


def component(image: str) -> ComponentDef:
    inputs = ["operator", "arguments", "default_args", "task_id", "dag_id", "logical_date", "run_id"]
    return ComponentDef(
        key="AIRFLOW_OPERATOR",
        description="Runs an Airflow operator as it is, inside an Airflow image (no metadata database).",
        spec={
            "name": "airflow-operator",
            "description": "Runs an Airflow operator's execute() with a minimal context.",
            "inputs": [{"name": name, "type": "String"} for name in inputs],
            "outputs": [{"name": "Output", "type": "String"}],
            "implementation": {
                "container": {
                    "image": image,
                    "command": [
                        "python",
                        "-c",
                        RUNNER,
                        *({"inputValue": name} for name in inputs),
                        {"outputPath": "Output"},
                    ],
                }
            },
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
    if isinstance(value, Unresolved):  # literal data written out as text (e.g. the repr of a ParamsDict)
        literal = _literal(value.source)
        if literal is not _DROP:
            return _json_value(literal, dropped, key)
    dropped.append(key)
    return _DROP


def _literal(source: str) -> Any:
    """`source` as the plain data it spells (ast.literal_eval: never runs code), else _DROP."""
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
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
    if task.operator_in_dag_file or task.operator_module.startswith(_DAG_FILE_MODULE):
        # importing it means importing the DAG file, which builds the DAG again inside the step
        return placeholder(
            task,
            context,
            diag(
                "A2K301",
                f"no mapping for operator {task.qualified_operator}, a class defined in the DAG file itself: "
                "an Airflow image cannot import it without running the DAG file; emitted a placeholder step",
                **where,
                help="Move the class into a module of the DAG folder (as Airflow plugins are) and build an image "
                "that provides it, or write a component.",
            ),
            f"placeholder for {task.operator}",
        )
    image = image_for(context.dag, context.options)
    dropped: list[str] = []
    own = {k: v for k, v in task.args.values.items() if k in task.args.explicit and k not in SCHEDULING}
    defaults = task.args.get("default_args") if isinstance(task.args.get("default_args"), dict) else {}
    inherited = {
        k: v for k, v in task.args.values.items() if k not in task.args.explicit and k not in SCHEDULING
    }  # default_args, merged by the reader
    kwargs = _kwargs(own, dropped)
    default_args = _kwargs({**defaults, **inherited}, dropped)
    dag_params = _json_value(context.dag.settings.get("params"), [], "params")
    if (
        isinstance(dag_params, dict) and dag_params
    ):  # Airflow renders {{ params }} from the DAG's, the task's win
        task_params = kwargs.get("params") or default_args.get("params") or {}
        kwargs["params"] = {**dag_params, **(task_params if isinstance(task_params, dict) else {})}
    xcoms = sorted({k for k, v in own.items() if isinstance(v, XComRef)})
    unresolved = [k for k in dropped if isinstance(own.get(k), Unresolved)]
    missing = ", ".join(sorted(set(dropped)))
    diagnostics = [
        diag(
            "A2K313",
            f"{task.qualified_operator} runs as it is inside {image}: "
            "connections must come from AIRFLOW_CONN_* variables, and XCom, Variables and the task "
            "instance are not available" + (f"; not carried: {missing}" if missing else ""),
            **where,
        )
    ]
    if xcoms or unresolved:
        diagnostics.append(
            diag(
                "A2K311",
                "arguments that are XCom values or objects are not passed: "
                f"{', '.join(sorted(set(xcoms) | set(unresolved)))}",
                **where,
            )
        )
    if not is_airflow_module(task.operator_module):
        diagnostics.append(
            diag(
                "A2K310",
                f"{task.operator} is defined in {task.operator_module}, not in Airflow: "
                f"the Airflow image must provide that module",
                **where,
            )
        )
    ts = time_parameter("ts")
    return TaskMapping(
        task_id=task.task_id,
        fidelity=Fidelity.APPROXIMATED,
        component=component(image),
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
