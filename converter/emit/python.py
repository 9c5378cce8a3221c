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
from converter.mapping.base import ComponentDef, Fidelity, TaskMapping
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


def py_literal(value: Any, refs: Mapping[str, str]) -> str:
    """Python source for an argument value; upstream outputs become `task.outputs[...]`."""
    if isinstance(value, XComRef):
        output = "Output" if value.key == "return_value" else value.key
        return f"{refs[value.task_id]}.outputs[{output!r}]"
    if isinstance(value, str) and "\n" in value and '"""' not in value and not value.endswith("\\"):
        escaped = value.replace("\\", "\\\\")
        return f'"""{escaped}"""'
    return pprint.pformat(value, width=88, sort_dicts=False)


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
    variables = python_task_variables(order, reserved=[function_name])
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
    imports = sorted({line for m in mappings.values() if m.component for line in m.component.imports})
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
    )


def _comment_text(text: object) -> str:
    """Text for a `#` comment on one line: a line break in a task id or path (Airflow's KEY_REGEX
    accepts a trailing newline) would end the comment and put the rest into the code."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))


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
    environment.filters["comment"] = _comment_text
    # text placed inside the module docstring must not end it or start an escape
    environment.filters["docstring"] = lambda text: str(text).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return environment.get_template("pipeline.py.j2")


def render(plan: EmitPlan) -> str:
    return _template().render(plan=plan)
