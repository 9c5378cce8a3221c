"""Shared by the container families (Kubernetes pod, Docker): a container component for one task,
and KFP v1 task settings written as Kubernetes client objects.

A component spec fixes its image and the literal parts of its command; the parts that come from
templates (pipeline parameters, run ids) become inputs, so the task passes them at run time.
Kubernetes objects written in the DAG (`k8s.V1Toleration(...)`, read as source text) are carried as
the same constructor calls on `kubernetes.client.models`, whatever the DAG imported them as.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.mapping.base import (
    ComponentDef,
    Interpolated,
    MappingContext,
    ParamRef,
    RunIdRef,
    TaskMapping,
    task_location,
)
from airflow2kfp.mapping.control_flow import LoopValue
from airflow2kfp.mapping.literals import py_literal  # the emitters' rendering, so both agree
from airflow2kfp.mapping.placeholder import placeholder
from airflow2kfp.mapping.xcom import XComText
from airflow2kfp.model import Task, Unresolved, XComRef

K8S_IMPORT = "from kubernetes.client import models as k8s"


def k8s_imports(calls: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The Kubernetes models import, when a step's calls name one (an unused import fails lint)."""
    return (K8S_IMPORT,) if any("k8s." in call for call in calls) else ()


@dataclass
class ContainerParts:
    """Command and arguments as component-spec items; run-time values collected as inputs."""

    inputs: list[dict[str, str]] = field(default_factory=list)
    arguments: dict[str, Any] = field(default_factory=dict)

    def item(self, value: Any, prefix: str) -> Any:
        if isinstance(
            value, (ParamRef, Interpolated, RunIdRef, XComRef, XComText, LoopValue)
        ):  # a loop item too
            name = f"{prefix}_{len(self.inputs)}"
            self.inputs.append({"name": name, "type": "String"})
            self.arguments[name] = value
            return {"inputValue": name}
        return str(value)


def container_component(
    key: str, name: str, description: str, image: str, command: list[Any] | None, args: list[Any] | None
) -> tuple[ComponentDef, dict[str, Any]]:
    parts = ContainerParts()
    container: dict[str, Any] = {"image": image}
    if command:
        container["command"] = [parts.item(v, "command") for v in command]
    if args:
        container["args"] = [parts.item(v, "arg") for v in args]
    spec: dict[str, Any] = {"name": name, "description": description}
    if parts.inputs:
        spec["inputs"] = parts.inputs
    spec["implementation"] = {"container": container}
    return ComponentDef(key=key, description=description, spec=spec), parts.arguments


def subclass_note(task: Task, base: str | None) -> Diagnostic | None:
    """A subclass of a container operator is mapped as the container its base describes: said once."""
    if base is None or base == task.operator:
        return None
    return diag(
        "A2K303",
        f"{task.qualified_operator} extends {base}: mapped as the container it describes; what "
        "the subclass adds beyond that (its own execute() or hooks, arguments it does not pass on) is not "
        "carried",
        **task_location(task),
    )


def unreadable_image(task: Task, context: MappingContext) -> TaskMapping | None:
    """A placeholder when the task's `image` is not a plain string known before run time, else None."""
    image = task.args.get("image")
    if isinstance(image, str) and "{{" not in image:
        return None
    shown = image.source if isinstance(image, Unresolved) else repr(image)
    where = task_location(task)
    return placeholder(
        task,
        context,
        diag("A2K306", f"image could not be read statically: {shown}", **where),
        "image unknown",
    )


def value_source(value: Any) -> str:
    """Python source for a task-call argument (pipeline parameters by name)."""
    return py_literal(value, {})


def env_calls(env: Mapping[Any, Any]) -> list[str]:
    return [
        f"add_env_variable(k8s.V1EnvVar(name={str(name)!r}, value={value_source(_env_text(value))}))"
        for name, value in env.items()
    ]


def _env_text(value: Any) -> Any:
    if isinstance(value, (ParamRef, Interpolated, RunIdRef, str)):
        return value
    return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def k8s_objects(value: Any) -> list[str] | None:
    """Constructor calls for Kubernetes objects written in the DAG, or None when not all are."""
    items = value if isinstance(value, (list, tuple)) else [value]
    found = []
    for item in items:
        if not isinstance(item, Unresolved):
            return None
        source = k8s_source(item.source)
        if source is None:
            return None
        found.append(source)
    return found


def k8s_source(source: str) -> str | None:
    """`V1Xxx(...)` source rewritten onto `k8s.`, when it holds only literals and such calls."""
    from airflow2kfp.mapping.k8s_objects import onto_k8s  # libcst, loaded only when a DAG has such objects

    return onto_k8s(source)


def literal(value: Any) -> Any:
    """A plain value from reader output, evaluating simple source text (None when it cannot)."""
    if isinstance(value, Unresolved):
        try:
            return ast.literal_eval(value.source)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
    return value


__all__ = [
    "K8S_IMPORT",
    "ContainerParts",
    "Diagnostic",
    "container_component",
    "env_calls",
    "k8s_imports",
    "k8s_objects",
    "k8s_source",
    "literal",
    "subclass_note",
    "value_source",
]
