"""Mapping stage: one module per operator family, registered in FAMILIES.

Adding a family means adding one module that defines `FAMILY` and listing it here (and its tests).
A task no family handles runs the original operator in an Airflow image (`fallback.py`), or becomes a
placeholder (`placeholder.py`) with --no-operator-fallback.
"""

from __future__ import annotations

from dataclasses import replace

from airflow2kfp.mapping import bash, branching, docker, empty, fallback, kubernetes, python, sensors, subdag
from airflow2kfp.mapping.base import (
    Fidelity,
    MappingContext,
    MappingOptions,
    OperatorFamily,
    TaskMapping,
)
from airflow2kfp.mapping.control_flow import loops_of, mapped_task
from airflow2kfp.mapping.settings import map_settings
from airflow2kfp.model import Task

FAMILIES: tuple[OperatorFamily, ...] = (
    bash.FAMILY,
    empty.FAMILY,
    branching.FAMILY,
    sensors.FAMILY,
    python.FAMILY,
    kubernetes.FAMILY,
    docker.FAMILY,
    subdag.FAMILY,
)


def family_for(task: Task) -> OperatorFamily | None:
    return next((family for family in FAMILIES if family.handles(task)), None)


def map_task(task: Task, context: MappingContext) -> TaskMapping:
    """Map one task with its family (or a placeholder), plus the settings every family shares.

    A mapped task is mapped as it runs inside its loops: each mapped argument is the loop variable."""
    task = mapped_task(task, loops_of(task, context.dag))
    family = family_for(task)
    mapped = family.map_task(task, context) if family else fallback.map_fallback(task, context)
    if mapped.component is None:
        return mapped
    settings = map_settings(task)
    return replace(
        mapped,
        task_calls=mapped.task_calls + settings.task_calls,
        diagnostics=mapped.diagnostics + settings.diagnostics,
        notes=mapped.notes + settings.notes,
    )


__all__ = [
    "FAMILIES",
    "Fidelity",
    "MappingContext",
    "MappingOptions",
    "TaskMapping",
    "family_for",
    "map_task",
]
