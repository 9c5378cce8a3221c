"""Branch and short-circuit operators: a step that decides, and outputs the decision per task.

A branch step writes "true" or "false" to one output per direct downstream task
(`follow_<task>`); each of those tasks runs inside `dsl.Condition(... == "true")` (see
control_flow.py). A short-circuit step writes its callable's truth to `proceed`.

The decision runs the DAG's own callable source in a `python` container, with the operator's
literal op_args/op_kwargs. Airflow's context (ti, logical date, params) is not available to it;
a callable that needs them fails when run, which the diagnostic says. BranchDayOfWeekOperator
decides from the run's current date (Airflow's default too, unless use_task_logical_date).
"""

from __future__ import annotations

import json
import textwrap

from converter.diagnostics import Diagnostic, diag
from converter.emit.names import python_identifier
from converter.mapping.base import (
    ComponentDef, Fidelity, MappingContext, OperatorFamily, TaskMapping, task_location,
)
from converter.mapping.control_flow import BRANCH_OPERATORS, SHORT_CIRCUIT_OPERATORS, branch_output, is_short_circuit
from converter.model import Dag, Task, Unresolved

PYTHON_IMAGE = "python:3.11-slim"
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")

# Writes the decision: sys.argv[1:] are the output files, in CANDIDATES order.
_WRITE = '''
import os, sys
chosen = [chosen] if isinstance(chosen, str) else list(chosen or [])
for path, candidate in zip(sys.argv[1:], CANDIDATES):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as stream:
        stream.write("true" if candidate in chosen else "false")
'''


def candidates(dag: Dag, task: Task) -> list[str]:
    return [down for up, down in dag.edges if up == task.task_id]


def _callable_program(task: Task) -> str | None:
    source = task.python_callable.source if task.python_callable else None
    if source is None or task.python_callable is None:
        return None
    lines = textwrap.dedent(source).splitlines()
    while lines and lines[0].lstrip().startswith("@"):  # the Airflow decorator: not available in the step
        lines.pop(0)
    args, kwargs = task.args.get("op_args", []), task.args.get("op_kwargs", {})
    if not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict):
        return None
    call = f"{task.python_callable.name}(*{list(args)!r}, **{kwargs!r})"
    if is_short_circuit(task):
        return "\n".join(lines) + f"\nchosen = ['proceed'] if {call} else []\n"
    return "\n".join(lines) + f"\nchosen = {call}\n"


def _day_of_week_program(task: Task) -> str | None:
    days = task.args.get("week_day")
    days = [days] if isinstance(days, str) else days
    if not isinstance(days, (list, tuple, set)) or not all(isinstance(d, str) for d in days):
        return None
    wanted = sorted({d.rsplit(".", 1)[-1].upper() for d in days})
    if not set(wanted) <= set(WEEKDAYS):
        return None
    return ("import datetime\n"
            f"DAYS = {json.dumps(wanted)}\n"
            f"WEEKDAYS = {json.dumps(list(WEEKDAYS))}\n"
            "today = WEEKDAYS[datetime.datetime.now(datetime.timezone.utc).weekday()]\n"
            f"chosen = {_follow(task, 'follow_task_ids_if_true')!r} if today in DAYS "
            f"else {_follow(task, 'follow_task_ids_if_false')!r}\n")


def _follow(task: Task, key: str) -> list[str]:
    value = task.args.get(key, [])
    return [value] if isinstance(value, str) else list(value or [])


def component(task: Task, outputs: list[tuple[str, str]], program: str) -> ComponentDef:
    """A step running `program`, which sets `chosen`; one "true"/"false" output per candidate."""
    names = [name for name, _ in outputs]
    script = program + f"CANDIDATES = {json.dumps([c for _, c in outputs])}\n" + _WRITE
    return ComponentDef(
        key=f"DECIDE_{python_identifier(task.task_id).upper()}",
        description=f"Decides which tasks after {task.task_id} run ({task.operator}).",
        spec={
            "name": f"decide-{python_identifier(task.task_id).replace('_', '-')}",
            "description": f"The decision of Airflow task {task.task_id} ({task.operator}).",
            "outputs": [{"name": name, "type": "String"} for name in names],
            "implementation": {"container": {
                "image": PYTHON_IMAGE,
                "command": ["python3", "-c", script, *({"outputPath": name} for name in names)],
            }},
        },
    )


def map_decision(task: Task, context: MappingContext) -> TaskMapping:
    where = task_location(task)
    if is_short_circuit(task):
        outputs = [("proceed", "proceed")]
    else:
        outputs = [(branch_output(down), down) for down in candidates(context.dag, task)]
    program = (_day_of_week_program(task) if task.operator == "BranchDayOfWeekOperator"
               else _callable_program(task) if task.python_callable else None)
    if program is None:  # still a step with the decision's outputs, so the conditions compile; it fails
        shown = ", ".join(sorted(k for k, v in task.args.values.items() if isinstance(v, Unresolved)))
        reason = diag("A2K306", f"{task.operator}: the decision could not be converted"
                      + (f" (unresolved: {shown})" if shown else ""), **where)
        failing = f"raise SystemExit('airflow2kfp: the decision of {task.task_id} was not converted')\n"
        return TaskMapping(task_id=task.task_id, fidelity=Fidelity.PLACEHOLDER,
                           component=component(task, outputs, failing), diagnostics=(reason,),
                           notes=("placeholder decision: fails when run",))
    notes: list[str] = []
    diagnostics: list[Diagnostic] = []
    if task.python_callable:
        diagnostics.append(diag("A2K320", "the decision runs the callable's source without Airflow's "
                                "context (ti, logical date, params); a callable that needs them fails", **where))
        notes.append("decision runs without Airflow's context")
    elif task.args.get("use_task_logical_date") is True:
        diagnostics.append(diag("A2K320", "use_task_logical_date: the decision uses the run's current date", **where))
        notes.append("decides on the current date, not the logical date")
    return TaskMapping(task_id=task.task_id, fidelity=Fidelity.APPROXIMATED if diagnostics else Fidelity.DIRECT,
                       component=component(task, outputs, program), diagnostics=tuple(diagnostics),
                       notes=tuple(notes))


FAMILY = OperatorFamily(
    name="branching",
    description="Branch and short-circuit operators: a deciding step; the tasks after it run in dsl.Condition.",
    operators=BRANCH_OPERATORS | SHORT_CIRCUIT_OPERATORS,
    map_task=map_decision,
)
