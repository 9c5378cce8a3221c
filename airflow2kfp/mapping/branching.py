"""Branch and short-circuit operators: a step that decides, and outputs the decision per task.

A branch step writes "true" or "false" to one output per direct downstream task
(`follow_<task>`); each of those tasks runs inside `dsl.Condition(... == "true")` (see
control_flow.py). A short-circuit step writes its callable's truth to `proceed`.

A decider with a Python callable is a Python step like any PythonOperator (`python.py`): the
callable with the module-level helpers, constants and imports it uses, its op_args/op_kwargs and
upstream values as inputs; it returns the decision instead of the callable's result. A task id the
callable returns selects that task; a TaskGroup id selects the group's tasks among the candidates,
as Airflow follows a group's roots. BranchDayOfWeekOperator decides from the run's current date
(Airflow's default too, unless use_task_logical_date).
"""

from __future__ import annotations

import json

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.mapping.base import (
    ComponentDef,
    Fidelity,
    MappingContext,
    OperatorFamily,
    TaskMapping,
    task_location,
)
from airflow2kfp.mapping.control_flow import (
    BRANCH_OPERATORS,
    SHORT_CIRCUIT_OPERATORS,
    branch_output,
    is_custom_branch,
    is_custom_short_circuit,
    is_short_circuit,
)
from airflow2kfp.mapping.python import Decision, python_component
from airflow2kfp.model import Dag, Task, Unresolved
from airflow2kfp.names import python_identifier

PYTHON_IMAGE = "python:3.11-slim"
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")

# Writes the decision: sys.argv[1:] are the output files, in CANDIDATES order.
_WRITE = """
import os, sys
chosen = [chosen] if isinstance(chosen, str) else list(chosen or [])
for path, candidate in zip(sys.argv[1:], CANDIDATES):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as stream:
        stream.write("true" if candidate in chosen else "false")
"""


def candidates(dag: Dag, task: Task) -> list[str]:
    return [down for up, down in dag.edges if up == task.task_id]


# the Python operator whose environment each decider has (virtualenv, external interpreter)
RUNS_AS = {
    "BranchPythonVirtualenvOperator": "PythonVirtualenvOperator",
    "task.branch_virtualenv": "task.virtualenv",
    "BranchExternalPythonOperator": "ExternalPythonOperator",
    "task.branch_external_python": "task.external_python",
}


def _decision(task: Task, outputs: list[tuple[str, str]]) -> Decision:
    """The deciding step's outputs ("true"/"false" each), computed from the callable's `_result`."""
    returns = "NamedTuple('Outputs', [" + ", ".join(f"({name!r}, str)" for name, _ in outputs) + "])"
    if is_short_circuit(task):  # Airflow proceeds when the callable's result is truthy
        finish: tuple[str, ...] = ("return ('true' if _result else 'false',)",)
    else:  # task ids, or TaskGroup ids whose tasks follow; None or [] follows none
        candidates = tuple(candidate for _, candidate in outputs)
        finish = (
            "_chosen = [_result] if isinstance(_result, str) else list(_result or [])",
            "return tuple('true' if any(c == t or t.startswith(c + '.') for c in _chosen) else 'false'",
            f"             for t in {candidates!r})",
        )
    return Decision(returns, finish, RUNS_AS.get(task.operator, "PythonOperator"))


def _day_of_week_program(task: Task) -> str | None:
    days = task.args.get("week_day")
    days = [days] if isinstance(days, str) else days
    if not isinstance(days, (list, tuple, set)) or not all(isinstance(d, str) for d in days):
        return None
    wanted = sorted({d.rsplit(".", 1)[-1].upper() for d in days})
    if not set(wanted) <= set(WEEKDAYS):
        return None
    return (
        "import datetime\n"
        f"DAYS = {json.dumps(wanted)}\n"
        f"WEEKDAYS = {json.dumps(list(WEEKDAYS))}\n"
        "today = WEEKDAYS[datetime.datetime.now(datetime.timezone.utc).weekday()]\n"
        f"chosen = {_follow(task, 'follow_task_ids_if_true')!r} if today in DAYS "
        f"else {_follow(task, 'follow_task_ids_if_false')!r}\n"
    )


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
            "implementation": {
                "container": {
                    "image": PYTHON_IMAGE,
                    "command": ["python3", "-c", script, *({"outputPath": name} for name in names)],
                }
            },
        },
    )


def map_decision(task: Task, context: MappingContext) -> TaskMapping:
    where = task_location(task)
    if is_short_circuit(task):
        outputs = [("proceed", "proceed")]
    else:
        outputs = [(branch_output(down), down) for down in candidates(context.dag, task)]
    if task.python_callable is not None and task.operator != "BranchDayOfWeekOperator":
        return _python_decision(task, context, outputs)
    if is_custom_branch(task) or is_custom_short_circuit(task):
        # the decision is the class's own method (choose_branch), which runs only with the class
        bases = ", ".join(b.rsplit(".", 1)[-1] for b in task.operator_bases)
        return _failing(
            task,
            outputs,
            diag(
                "A2K301",
                f"no mapping for operator {task.operator} ({bases} subclass): its decision is not "
                "converted; the deciding step is a placeholder with the outputs the conditions after it read",
                **where,
            ),
        )
    program = _day_of_week_program(task) if task.operator == "BranchDayOfWeekOperator" else None
    if program is None:
        shown = ", ".join(sorted(k for k, v in task.args.values.items() if isinstance(v, Unresolved)))
        return _failing(
            task,
            outputs,
            diag(
                "A2K306",
                f"{task.operator}: the decision could not be converted"
                + (f" (unresolved: {shown})" if shown else ""),
                **where,
            ),
        )
    diagnostics: list[Diagnostic] = []
    notes: list[str] = []
    if task.args.get("use_task_logical_date") is True:
        diagnostics.append(
            diag("A2K320", "use_task_logical_date: the decision uses the run's current date", **where)
        )
        notes.append("decides on the current date, not the logical date")
    return TaskMapping(
        task_id=task.task_id,
        fidelity=Fidelity.APPROXIMATED if diagnostics else Fidelity.DIRECT,
        component=component(task, outputs, program),
        diagnostics=tuple(diagnostics),
        notes=tuple(notes),
    )


def _python_decision(task: Task, context: MappingContext, outputs: list[tuple[str, str]]) -> TaskMapping:
    step = python_component(task, context, decision=_decision(task, outputs))
    if isinstance(step, Diagnostic):
        return _failing(task, outputs, step)
    return TaskMapping(
        task_id=task.task_id,
        fidelity=Fidelity.APPROXIMATED if step.approximated else Fidelity.DIRECT,
        component=step.component,
        arguments=step.arguments,
        diagnostics=step.diagnostics,
        notes=step.notes,
        parameters=step.parameters,
    )


def _failing(task: Task, outputs: list[tuple[str, str]], reason: Diagnostic) -> TaskMapping:
    """Still a step with the decision's outputs, so the conditions compile; it fails when run."""
    failing = f"raise SystemExit('airflow2kfp: the decision of {task.task_id} was not converted')\n"
    return TaskMapping(
        task_id=task.task_id,
        fidelity=Fidelity.PLACEHOLDER,
        component=component(task, outputs, failing),
        diagnostics=(reason,),
        notes=("placeholder decision: fails when run",),
    )


class _Deciders(OperatorFamily):
    """Airflow's deciding operators, and the repo's own subclasses of them: whatever control_flow
    plans as a decision must be mapped as one, with the outputs its conditions read."""

    def handles(self, task: Task) -> bool:
        return super().handles(task) or is_custom_branch(task) or is_custom_short_circuit(task)


FAMILY = _Deciders(
    name="branching",
    description="Branch and short-circuit operators: a deciding step; the tasks after it run in dsl.Condition.",
    operators=BRANCH_OPERATORS | SHORT_CIRCUIT_OPERATORS,
    map_task=map_decision,
)
