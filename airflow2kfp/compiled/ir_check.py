"""Self-check of the v2 target: re-read the compiled pipeline IR and prove its ordering equals Airflow's.

The IR (kfp 2.x's PipelineSpec, as YAML; a second document holds kfp-kubernetes' platform config)
is read as KFP's backend runs it: from `root.dag.tasks`, each task waits for the tasks named in its
`dependentTasks`, which are its siblings in the same DAG (the compiler adds the producers of its
inputs there too); a task whose component is itself a DAG (a `dsl.If`'s condition group, a
`dsl.ParallelFor`, a sub-pipeline) stands for every step inside it, read the same way down to the
components run by an executor. `triggerPolicy` (strategy and condition) and iterators decide whether
and how often a step runs, never whom it waits for, so they do not change the ordering. Each step is
named by its `taskInfo.name`: the Airflow task id the converter gave it as display name.

The ordering compared is the transitive closure on both sides (selfcheck.compare_ordering), over the
Airflow tasks that became steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from airflow2kfp.compiled.selfcheck import WorkflowOrdering, compare_ordering
from airflow2kfp.results import SelfCheck

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class IrStep:
    path: tuple[str, ...]  # IR task keys from the root DAG down to the step
    display_name: str  # taskInfo.name
    component: str
    trigger_strategy: str  # ALL_UPSTREAM_TASKS_SUCCEEDED (the default) or ALL_UPSTREAM_TASKS_COMPLETED
    conditions: tuple[str, ...]  # the triggerPolicy conditions from the root down, outermost first
    iterators: int  # how many ParallelFor loops hold it


@dataclass(frozen=True)
class IrReading:
    steps: tuple[IrStep, ...]
    edges: frozenset[tuple[str, str]]  # (display name, display name): direct waits between steps
    problems: tuple[str, ...] = ()


def load_ir(yaml_text: str) -> dict[str, Any]:
    """The PipelineSpec document of the IR (the first one; the second is the platform config)."""
    documents = [d for d in yaml.load_all(yaml_text, Loader=_LOADER) if d is not None]
    spec = next((d for d in documents if isinstance(d, dict) and "root" in d), None)
    if spec is None:
        raise ValueError("no PipelineSpec document (with `root`) in the IR")
    return spec


def read_ir(spec: Mapping[str, Any]) -> IrReading:
    components: Mapping[str, Any] = spec.get("components") or {}
    problems: list[str] = []
    steps: list[IrStep] = []
    edges: set[tuple[str, str]] = set()

    def dag_of(component_name: str) -> Mapping[str, Any] | None:
        component = components.get(component_name)
        if component is None:
            problems.append(f"unknown component {component_name!r}")
            return None
        return component.get("dag")

    def leaves(
        tasks: Mapping[str, Any], key: str, path: tuple[str, ...], conditions: tuple[str, ...], iterators: int
    ) -> list[str]:
        """The display names of the steps task `key` stands for, recording them (and the ordering inside)."""
        task = tasks[key]
        component_name = str((task.get("componentRef") or {}).get("name", ""))
        policy = task.get("triggerPolicy") or {}
        here = conditions + ((str(policy["condition"]),) if policy.get("condition") else ())
        loops = iterators + (1 if "parameterIterator" in task or "artifactIterator" in task else 0)
        dag = (
            dag_of(component_name)
            if component_name in components and "dag" in components[component_name]
            else None
        )
        if dag is None:
            if component_name not in components:
                dag_of(component_name)
            name = str((task.get("taskInfo") or {}).get("name", key))
            steps.append(
                IrStep(
                    path + (key,),
                    name,
                    component_name,
                    str(policy.get("strategy", "ALL_UPSTREAM_TASKS_SUCCEEDED")),
                    here,
                    loops,
                )
            )
            return [name]
        return walk(dag.get("tasks") or {}, path + (key,), here, loops)

    def walk(
        tasks: Mapping[str, Any], path: tuple[str, ...], conditions: tuple[str, ...], iterators: int
    ) -> list[str]:
        stands_for = {key: leaves(tasks, key, path, conditions, iterators) for key in tasks}
        for key, task in tasks.items():
            for up in task.get("dependentTasks") or []:
                if up not in stands_for:
                    problems.append(f"{'/'.join(path + (key,))} depends on {up!r}, not a task of its DAG")
                    continue
                edges.update((a, b) for a in stands_for[up] for b in stands_for[key])
        return [name for names in stands_for.values() for name in names]

    root = (spec.get("root") or {}).get("dag")
    if not isinstance(root, Mapping):
        return IrReading((), frozenset(), ("the IR has no root DAG",))
    walk(root.get("tasks") or {}, (), (), 0)
    seen: dict[str, int] = {}
    for step in steps:
        seen[step.display_name] = seen.get(step.display_name, 0) + 1
    problems += [f"{name!r} names {count} steps" for name, count in sorted(seen.items()) if count > 1]
    return IrReading(tuple(steps), frozenset(edges), tuple(problems))


def check_ir(
    yaml_text: str,
    airflow_tasks: Iterable[str],
    airflow_edges: Iterable[tuple[str, str]],
    kept: Iterable[str],
    helpers: Iterable[str] = (),
) -> tuple[SelfCheck, IrReading | None]:
    """Compare the IR's ordering with Airflow's over the `kept` tasks (those that became steps);
    `helpers` are the display names of steps the converter added that stand for no Airflow task
    (the one step of a DAG whose tasks were all removed), left out of the comparison."""
    try:
        reading = read_ir(load_ir(yaml_text))
    except (ValueError, yaml.YAMLError, AttributeError, TypeError) as error:
        return SelfCheck(False, problems=(f"the IR cannot be read: {error}",)), None
    extra = frozenset(helpers)
    ordering = WorkflowOrdering(
        frozenset(s.display_name for s in reading.steps) - extra,
        frozenset(e for e in reading.edges if not set(e) & extra),
        reading.problems,
    )
    names = {task: task for task in kept}
    return compare_ordering(ordering, list(airflow_tasks), list(airflow_edges), names), reading
