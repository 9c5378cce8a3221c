"""Emit the KFP v1 pipeline as readable Python: reusable components, one task per Airflow task,
ordering as `.after(...)` in Airflow's terms, and comments pointing back to the DAG file.

The plan (what to write) is built first as frozen data; the text comes from a Jinja template.
"""

from __future__ import annotations

import pprint
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2
import yaml

from converter import __version__, graph
from converter.emit.names import k8s_name, kfp_task_names, python_identifier, python_task_variables
from converter.mapping.base import (
    ComponentDef, Fidelity, Interpolated, ParamRef, PipelineParameter, RunIdRef, TaskMapping,
)
from converter.mapping.dag_params import dag_parameters
from converter.model import Dag, XComRef


@dataclass(frozen=True)
class ComponentBlock:
    key: str
    description: str
    spec_yaml: str | None
    code: str | None


@dataclass(frozen=True)
class TaskBlock:
    task_id: str
    variable: str
    kfp_name: str
    component: str
    arguments: str
    calls: tuple[str, ...]
    comment: str
    notes: tuple[str, ...]
    upstream: tuple[str, ...]  # Airflow task ids this step runs after (after removals)


@dataclass(frozen=True)
class ParameterBlock:
    """One pipeline function parameter: `name: annotation = default`."""

    name: str
    annotation: str
    default: str  # Python source
    description: str


@dataclass(frozen=True)
class EmitPlan:
    dag_id: str
    source: str
    tool_version: str
    file_stem: str
    pipeline_name: str
    function_name: str
    description: str | None
    imports: tuple[str, ...]
    components: tuple[ComponentBlock, ...]
    tasks: tuple[TaskBlock, ...]
    notes: tuple[str, ...]
    kfp_names: Mapping[str, str]  # Airflow task_id -> KFP task name, for emitted tasks
    edges: tuple[tuple[str, str], ...]  # the ordering emitted, in Airflow task ids
    parameters: tuple[ParameterBlock, ...] = ()  # the pipeline function's parameters


def py_literal(value: Any, refs: Mapping[str, str]) -> str:
    """Python source for an argument value; upstream outputs become `task.outputs[...]`."""
    if isinstance(value, XComRef):
        output = "Output" if value.key == "return_value" else value.key
        return f"{refs[value.task_id]}.outputs[{output!r}]"
    if isinstance(value, ParamRef):
        return value.name
    if isinstance(value, RunIdRef):
        return "dsl.RUN_ID_PLACEHOLDER"
    if isinstance(value, Interpolated):
        return _f_string(value)
    if isinstance(value, str) and "\n" in value and '"""' not in value and not value.endswith("\\"):
        escaped = value.replace("\\", "\\\\")
        return f'"""{escaped}"""'
    return pprint.pformat(value, width=88, sort_dicts=False)


def _f_string(value: Interpolated) -> str:
    """An f-string: text with its braces doubled, run-time values as `{name}`."""
    body = "".join(
        part.replace("{", "{{").replace("}", "}}") if isinstance(part, str) else "{" + py_literal(part, {}) + "}"
        for part in value.parts
    )
    if "\n" in body and '"""' not in body and not body.endswith(("\\", '"')):
        return 'f"""' + body.replace("\\", "\\\\") + '"""'
    return "f" + repr(body)


def pipeline_parameters(dag: Dag, mappings: Sequence[TaskMapping]) -> tuple[PipelineParameter, ...]:
    """The DAG's params, then the run values the tasks use, each once, in a stable order."""
    found: dict[str, PipelineParameter] = {p.name: p for p in dag_parameters(dag)}
    for mapping in mappings:
        for parameter in mapping.parameters:
            found.setdefault(parameter.name, parameter)
    return tuple(found.values())


def _spec_yaml(spec: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(spec), sort_keys=False, default_flow_style=None, width=100)


def _components(mappings: Sequence[TaskMapping]) -> tuple[ComponentBlock, ...]:
    seen: dict[str, ComponentDef] = {}
    for mapping in mappings:
        component = mapping.component
        if component is None:
            continue
        if component.key in seen and seen[component.key] != component:
            raise ValueError(f"two different components share the key {component.key}")
        seen.setdefault(component.key, component)
    return tuple(
        ComponentBlock(
            key=c.key,
            description=c.description,
            spec_yaml=_spec_yaml(c.spec) if c.spec is not None else None,
            code=c.code,
        )
        for c in seen.values()
    )


def build_plan(dag: Dag, mappings: Mapping[str, TaskMapping], file_stem: str) -> EmitPlan:
    removed = [t.task_id for t in dag.tasks if mappings[t.task_id].fidelity is Fidelity.REMOVED]
    all_ids = [t.task_id for t in dag.tasks]
    edges = graph.bypass(removed, all_ids, dag.edges) if removed else list(dag.edges)
    kept = [task_id for task_id in all_ids if task_id not in set(removed)]
    order = graph.topological(kept, edges)

    pipeline_name = k8s_name(dag.dag_id)
    function_name = f"{python_identifier(dag.dag_id)}_pipeline"
    kfp_names = kfp_task_names(order, pipeline_name)
    parameters = pipeline_parameters(dag, [mappings[t] for t in order])
    variables = python_task_variables(order, reserved=[function_name, *(p.name for p in parameters)])
    upstream: dict[str, list[str]] = {task_id: [] for task_id in order}
    for up, down in edges:
        upstream[down].append(up)

    tasks = []
    for task_id in order:
        task, mapping = dag.task(task_id), mappings[task_id]
        assert mapping.component is not None  # removed tasks are not in `order`
        arguments = ", ".join(f"{name}={py_literal(value, variables)}" for name, value in mapping.arguments.items())
        after = tuple(sorted(upstream[task_id], key=order.index))
        calls = ((f"after({', '.join(variables[u] for u in after)})",) if after else ()) + mapping.task_calls
        tasks.append(TaskBlock(
            task_id=task_id,
            variable=variables[task_id],
            kfp_name=kfp_names[task_id],
            component=mapping.component.key,
            arguments=arguments,
            calls=calls,
            comment=f"{task_id}: {task.operator} at {task.span.file}:{task.span.line} [{mapping.fidelity.value}]",
            notes=mapping.notes,
            upstream=after,
        ))

    notes = [f"{task_id} ({dag.task(task_id).operator}) removed; the ordering it carried is kept" for task_id in removed]
    imports = sorted({line for m in mappings.values() if m.component
                      for line in (*m.component.imports, *m.imports)})
    return EmitPlan(
        dag_id=dag.dag_id,
        source=f"{dag.span.file}:{dag.span.line}",
        tool_version=__version__,
        file_stem=file_stem,
        pipeline_name=pipeline_name,
        function_name=function_name,
        description=dag.description,
        imports=tuple(imports),
        components=_components([mappings[t] for t in order]),
        tasks=tuple(tasks),
        notes=tuple(notes),
        kfp_names=kfp_names,
        edges=tuple(edges),
        parameters=tuple(ParameterBlock(p.name, p.annotation, py_literal(p.default, {}), p.description)
                         for p in parameters),
    )


@cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("converter.emit", "templates"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Python source, not HTML
    )
    environment.filters["pyrepr"] = repr
    # text placed inside the module docstring must not end it or start an escape
    environment.filters["docstring"] = lambda text: str(text).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return environment.get_template("pipeline.py.j2")


def render(plan: EmitPlan) -> str:
    return _template().render(plan=plan)
