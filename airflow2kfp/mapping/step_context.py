"""The run context a step serves its code and templates, built from the step's inputs.

A step that uses Airflow's run context (a callable taking `ds`, `ti` or `**context`, calling
`get_current_context()` or `ti.xcom_pull`, a templated field rendered at run time) gets:
- the shim parts it needs (`run_context.py`), copied into its body;
- inputs for what the context is made of, and only those: the logical date (a pipeline parameter:
  `[[CurrentTime...]]` for a run, `[[ScheduledTime...]]` in recurring runs), the DAG params, the
  run id, the run's conf (the `dag_run_conf` pipeline parameter), and one input per upstream value
  it pulls (`xcom.py` says which upstream output feeds it);
- statements building `_context`, the dict Airflow would pass, with the keys the step reads.

What the shim cannot serve is a coded diagnostic at the line that uses it: Variables (A2K333: read
from AIRFLOW_VAR_<KEY>), Connections and hooks (A2K334), other context values (A2K335), pulls it
cannot wire (A2K331) or that are not upstream in Airflow (A2K332).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.mapping import xcom
from airflow2kfp.mapping.base import ParamRef, PipelineParameter, RunIdRef, task_location
from airflow2kfp.mapping.dag_params import dag_parameters
from airflow2kfp.mapping.templates import time_parameter
from airflow2kfp.model import Dag, Task, XComRef

STRING_DATE_KEYS = frozenset({"ds", "ds_nodash", "ts", "ts_nodash", "ts_nodash_with_tz"})
DATETIME_KEYS = frozenset({"logical_date", "execution_date", "data_interval_start", "data_interval_end"})
DATE_KEYS = STRING_DATE_KEYS | DATETIME_KEYS
SERVED = DATE_KEYS | {"params", "run_id", "dag_run", "ti", "task_instance", "templates_dict", "var", "macros"}
# context keys Airflow passes that a KFP step has no value for
NOT_SERVED = frozenset(
    {
        "dag",
        "task",
        "conf",
        "conn",
        "inlets",
        "outlets",
        "inlet_events",
        "outlet_events",
        "triggering_dataset_events",
        "triggering_asset_events",
        "test_mode",
        "prev_ds",
        "next_ds",
        "prev_ds_nodash",
        "next_ds_nodash",
        "prev_execution_date",
        "next_execution_date",
        "prev_execution_date_success",
        "prev_start_date_success",
        "prev_end_date_success",
        "prev_data_interval_start_success",
        "prev_data_interval_end_success",
        "yesterday_ds",
        "tomorrow_ds",
        "yesterday_ds_nodash",
        "tomorrow_ds_nodash",
        "map_index_template",
        "task_instance_key_str",
        "expanded_ti_count",
        "task_reschedule_count",
    }
)
CONTEXT_KEYS = SERVED | NOT_SERVED
CONF_PARAMETER = PipelineParameter(
    name="dag_run_conf",
    annotation="dict",
    default={},
    description="Airflow's dag_run.conf: the JSON object a run is triggered with",
)
# Airflow names a step's code may import that the shim serves instead
SERVED_AIRFLOW_NAMES = frozenset({"get_current_context", "Variable"})
CONNECTION_NAMES = frozenset({"BaseHook", "Connection"})


class StepInputs(Protocol):
    def add(self, wanted: str, annotation: str, value: Any, encoding: str = ...) -> str: ...


@dataclass
class StepContext:
    """What a step's code and templates read of the run context, gathered as the mapping reads them."""

    task: Task
    dag: Dag
    keys: set[str] = field(default_factory=set)  # context keys to put in `_context`
    pulls: dict[tuple[str, str], xcom.Pull] = field(default_factory=dict)  # wired (task_id, key) pulls
    parts: set[str] = field(default_factory=set)  # shim parts the step's own code calls
    found: list[Diagnostic] = field(default_factory=list)
    unrenderable: Diagnostic | None = None  # why a template rendered in the step cannot render

    @property
    def native(self) -> bool:
        return self.dag.settings.get("render_template_as_native_obj") is True

    def location(self, line: int | None = None) -> dict[str, Any]:
        where = task_location(self.task)
        if line:
            where.update(line=line, col=0)
        return where

    def template(self, text: str, field_name: str) -> bool:
        """Record what a templated field rendered in the step reads; False when it cannot render there."""
        use = xcom.template_use(text)
        if use.error is not None:
            self.found.append(
                diag(
                    "A2K302",
                    f"{field_name}: the template does not parse ({use.error}); "
                    "Airflow fails to render it too",
                    **self.location(),
                )
            )
            self.unrenderable = self.unrenderable or self.found[-1]
            return False
        self.parts.add("render")
        renderable = True
        for name in sorted(use.names):
            if name == "var":
                self.found.append(
                    diag(
                        "A2K333",
                        f"{field_name}: the template reads Airflow Variables (var); the "
                        "step reads AIRFLOW_VAR_<KEY> environment variables, as Airflow's "
                        "environment backend does",
                        **self.location(),
                    )
                )
            if name in SERVED or name in use.ids_only:  # of `dag` and `task`: their ids only
                self.keys.add(name)
            elif name == "conn":
                self.found.append(
                    diag(
                        "A2K334",
                        f"{field_name}: the template reads Airflow Connections (conn), "
                        "which need Airflow's database",
                        **self.location(),
                    )
                )
                renderable = False
            else:
                self.found.append(
                    diag(
                        "A2K335",
                        f"{field_name}: the template reads {name!r}, which the step "
                        "cannot serve (Jinja fails on it)",
                        **self.location(),
                    )
                )
                renderable = False
            if not renderable and self.unrenderable is None:
                self.unrenderable = self.found[-1]
        for pull in use.pulls:
            self.pull(pull, self.location())
        return renderable

    def code(self, text: str, line_of: Callable[[int], int | None], literals: Iterable[str]) -> None:
        """Record what the step's Python reads: pulls, pushes, and context keys named as strings."""
        use = xcom.code_use(text)
        for pull in use.pulls:
            self.pull(pull, self.location(line_of(pull.line)))
        for push in use.pushes:
            self.keys.add("ti")
            if push.key is None:
                self.found.append(
                    diag(
                        "A2K331",
                        "xcom_push with a key not known before the run: it is not an output of the step",
                        **self.location(line_of(push.line)),
                    )
                )
        self.keys |= set(literals) & SERVED

    def pull(self, pull: xcom.Pull, where: dict[str, Any]) -> None:
        self.keys.add("ti")
        if not pull.known or pull.dag_id not in (None, self.dag.dag_id):
            why = "of another DAG" if pull.known else "with task ids, key or DAG not known before the run"
            self.found.append(
                diag(
                    "A2K331",
                    f"{pull.source}: an XCom {why} cannot be passed into the step; "
                    "the pull fails when it runs",
                    **where,
                )
            )
            return
        assert pull.task_ids is not None and pull.key is not None
        for task_id in pull.task_ids:
            if (task_id, pull.key) not in self.pulls:
                self.pulls[(task_id, pull.key)] = pull
                problem = xcom.source(self.dag, self.task.task_id, task_id, pull.key).problem
                if problem is not None:
                    self.found.append(diag(problem[0], problem[1], **where))

    def lines(self, inputs: StepInputs, parameters: dict[str, PipelineParameter]) -> list[str]:
        """Statements binding `_ti` and `_context` from new inputs; `parts` gets the shim parts they use."""
        keys = set(self.keys)
        if keys & {"ti", "task_instance"}:
            keys |= {"ti", "task_instance"}
        if not keys:
            return ["_context = {}"] if "render" in self.parts else []
        dag_id, task_id = self.dag.dag_id, self.task.task_id
        entries: list[str] = []
        lines: list[str] = []
        run_id = None
        # the date strings are pipeline parameters of their own, as in templates KFP renders
        for key in sorted(keys & STRING_DATE_KEYS):
            parameter = time_parameter(key)
            parameters.setdefault(parameter.name, parameter)
            entries.append(f"{key!r}: {inputs.add(key, 'str', ParamRef(parameter.name))}")
        if keys & (DATETIME_KEYS | {"dag_run"}):
            parameter = time_parameter("logical_date")
            parameters.setdefault(parameter.name, parameter)
            logical_date = inputs.add("logical_date", "str", ParamRef(parameter.name))
            self.parts.add("dates")
            lines.append(f"_when = _logical_date({logical_date})")
            # Airflow 3's trigger timetables and manual runs have an empty data interval
            entries += [f"{k!r}: _when" for k in sorted(keys & DATETIME_KEYS)]
        if keys & {"run_id", "dag_run", "ti", "task_instance"}:
            run_id = inputs.add("run_id", "str", RunIdRef())
            if "run_id" in keys:
                entries.append(f"'run_id': {run_id}")
        if "params" in keys:
            entries.append(f"'params': {self._params(inputs)}")
        if "dag_run" in keys:
            self.parts.add("dag_run")
            parameters.setdefault(CONF_PARAMETER.name, CONF_PARAMETER)
            conf = inputs.add("dag_run_conf", "dict", ParamRef(CONF_PARAMETER.name))
            entries.append(f"'dag_run': _DagRun({dag_id!r}, {run_id}, {conf}, _when)")
        if "ti" in keys:
            self.parts.add("ti")
            pulled = []
            for (up, key), _ in sorted(self.pulls.items()):
                found = xcom.source(self.dag, task_id, up, key)
                value = "None"
                if found.ref is not None:
                    value = inputs.add(xcom.input_name(found.ref), "str", found.ref, found.encoding)
                pulled.append(f"({up!r}, {key!r}): {value}")
            lines.append(f"_ti = _TaskInstance({dag_id!r}, {task_id!r}, {run_id}, {{{', '.join(pulled)}}})")
            entries += ["'ti': _ti", "'task_instance': _ti"]
        if "var" in keys:
            self.parts.add("variables")
            entries.append("'var': {'value': _Variables(False), 'json': _Variables(True)}")
        if "macros" in keys:
            self.parts.add("macros")
            entries.append("'macros': _macros()")
        if "dag" in keys:  # only its id is read (`template` checked): Jinja reads an item as an attribute
            entries.append(f"'dag': {{'dag_id': {dag_id!r}}}")
        if "task" in keys:
            entries.append(f"'task': {{'task_id': {task_id!r}}}")
        lines.append(_dict_statement("_context", entries))
        return lines

    def _params(self, inputs: StepInputs) -> str:
        entries = []
        for parameter in dag_parameters(self.dag):
            name = inputs.add(f"params_{parameter.name}", parameter.annotation, ParamRef(parameter.name))
            entries.append(f"{parameter.key if parameter.key is not None else parameter.name!r}: {name}")
        return "{" + ", ".join(entries) + "}"


def _dict_statement(name: str, entries: list[str]) -> str:
    if len(", ".join(entries)) < 80:
        return f"{name} = {{{', '.join(entries)}}}"
    return "\n".join([f"{name} = {{", *(f"    {entry}," for entry in entries), "}"])


def served_import(statement: str) -> str | None:
    """The shim name a prelude statement imports from Airflow (`from airflow... import Variable`), if any."""
    if not statement.startswith(("from airflow", "import airflow")):
        return None
    try:
        node = ast.parse(statement).body[0]
    except (SyntaxError, IndexError):
        return None
    if isinstance(node, ast.ImportFrom) and len(node.names) == 1:
        alias = node.names[0]
        if alias.name in SERVED_AIRFLOW_NAMES and alias.asname in (None, alias.name):
            return alias.name
    return None


def context_keys(function_text: str, literals: Iterable[str]) -> frozenset[str]:
    """The context keys a callable reads: `kwargs["ds"]`, `kwargs.get("ti")` on its `**kwargs`, the same on
    what `get_current_context()` returns. Where the context is passed on whole (`helper(**kwargs)`,
    `helper(context)`), what the helper reads is not known: every string literal counts then."""
    try:
        definition = ast.parse(function_text).body[0]
    except (SyntaxError, ValueError, MemoryError, RecursionError, IndexError):
        return frozenset(literals)
    if not isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return frozenset(literals)
    holders = {definition.args.kwarg.arg} if definition.args.kwarg else set()
    for node in ast.walk(definition):  # ctx = get_current_context()
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", None) == "get_current_context"
        ):
            holders |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    keys: set[str] = set()
    reads: set[int] = set()  # the Name nodes read as a mapping
    for node in ast.walk(definition):
        holder = None
        if isinstance(node, ast.Subscript):
            holder, key = node.value, node.slice
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
        ):
            holder, key = node.func.value, node.args[0]
        if holder is None:
            continue
        is_context = (isinstance(holder, ast.Name) and holder.id in holders) or (
            isinstance(holder, ast.Call) and getattr(holder.func, "id", None) == "get_current_context"
        )
        if is_context:
            reads.add(id(holder))
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                keys.add(key.value)
            else:
                return frozenset(literals)  # a key computed at run time
    passed_on = any(
        isinstance(node, ast.Name)
        and node.id in holders
        and id(node) not in reads
        and isinstance(node.ctx, ast.Load)
        for node in ast.walk(definition)
    )
    return frozenset(literals) if passed_on else frozenset(keys)


def name_lines(code: str, names: Iterable[str]) -> dict[str, list[int]]:
    """Lines (1-based, in `code`) where each of `names` is read."""
    wanted = set(names)
    found: dict[str, list[int]] = {}
    if not wanted:
        return found
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in wanted:
            found.setdefault(node.id, []).append(node.lineno)
    return {name: sorted(set(lines)) for name, lines in found.items()}


def refs_in(value: Any) -> list[XComRef]:
    if isinstance(value, XComRef):
        return [value]
    if isinstance(value, dict):
        return [r for item in value.values() for r in refs_in(item)]
    if isinstance(value, (list, tuple)):
        return [r for item in value for r in refs_in(item)]
    return []
