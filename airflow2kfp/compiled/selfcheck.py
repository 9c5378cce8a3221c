"""Self-check: re-read the compiled Argo Workflow and prove its ordering equals the Airflow DAG's.

The workflow is read as Argo would: from the entrypoint DAG template, each task's `dependencies`
(or the task names in a `depends` expression) order it after those tasks; a task whose template is
itself a DAG (a condition, a loop, an exit handler body) stands for every step inside it. The
ordering compared is the transitive closure on both sides, restricted to the steps that exist in
both (removed tasks keep their ordering through the bypass edges, which this proves).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow2kfp import graph
from airflow2kfp.compiled.workflow import load_workflow
from airflow2kfp.names import MAX_K8S_NAME
from airflow2kfp.results import SelfCheck

_DEPENDS_NAME = re.compile(r"([a-z0-9][a-z0-9-]*)(?:\.[A-Za-z]+)?")
_K8S_NAME = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")


@dataclass(frozen=True)
class WorkflowOrdering:
    steps: frozenset[str]  # leaf steps (container/resource templates), by task name
    edges: frozenset[tuple[str, str]]  # direct ordering between leaf steps
    problems: tuple[str, ...] = ()


def _depends_names(expression: str) -> list[str]:
    return [match.group(1) for match in _DEPENDS_NAME.finditer(expression.replace("!", " "))]


def read_workflow(yaml_text: str, workflow: Any = None) -> WorkflowOrdering:
    """The ordering of the workflow `yaml_text`; `workflow` is its parse when the caller has it."""
    if workflow is None:
        workflow = load_workflow(yaml_text)
    templates: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for template in workflow["spec"]["templates"]:
        if template["name"] in templates:
            problems.append(f"duplicate template name {template['name']}")
        templates[template["name"]] = template
    if "{{pipelineparam" in yaml_text:
        problems.append("unresolved pipeline parameter placeholder in the workflow")

    leaves: dict[str, frozenset[str]] = {}  # DAG task name -> leaf steps it stands for

    def leaves_of(template_name: str, task_name: str) -> frozenset[str]:
        template = templates[template_name]
        if "dag" not in template:
            return frozenset({task_name})
        return frozenset().union(*(leaves_of(t["template"], t["name"]) for t in template["dag"]["tasks"]))

    edges: set[tuple[str, str]] = set()
    steps: set[str] = set()
    pending = [workflow["spec"]["entrypoint"]]
    visited: set[str] = set()
    while pending:
        template = templates[pending.pop()]
        if template["name"] in visited or "dag" not in template:
            continue
        visited.add(template["name"])
        tasks = template["dag"]["tasks"]
        for task in tasks:
            leaves[task["name"]] = leaves_of(task["template"], task["name"])
            if "dag" in templates[task["template"]]:
                pending.append(task["template"])
            else:
                steps.add(task["name"])
                if not _K8S_NAME.match(task["name"]) or len(task["name"]) > MAX_K8S_NAME:
                    problems.append(f"invalid task name {task['name']!r}")
        for task in tasks:
            upstream = list(task.get("dependencies", []))
            if "depends" in task:
                upstream += _depends_names(task["depends"])
            for up in upstream:
                edges.update((a, b) for a in leaves[up] for b in leaves[task["name"]])
    return WorkflowOrdering(frozenset(steps), frozenset(edges), tuple(problems))


def check(
    yaml_text: str,
    airflow_tasks: Iterable[str],
    airflow_edges: Iterable[tuple[str, str]],
    kfp_names: Mapping[str, str],
    parsed: Any = None,
    helpers: Iterable[str] = (),
) -> SelfCheck:
    """Compare the workflow's ordering with Airflow's, over the tasks that became KFP steps
    (`parsed`: the YAML already parsed by the caller, see airflow2kfp.compiled.workflow); `helpers`
    are the KFP names of steps the converter added that stand for no Airflow task (the step computing
    a mapped task's cross product): left out, with the orderings through them kept."""
    return compare_ordering(
        without_steps(read_workflow(yaml_text, parsed), frozenset(helpers)),
        airflow_tasks,
        airflow_edges,
        kfp_names,
    )


def without_steps(workflow: WorkflowOrdering, helpers: frozenset[str]) -> WorkflowOrdering:
    """The ordering with the steps `helpers` taken out: a step before one is before what follows it."""
    edges = set(workflow.edges)
    for helper in helpers & workflow.steps:
        before = {a for a, b in edges if b == helper}
        after = {b for a, b in edges if a == helper}
        edges = {(a, b) for a, b in edges if helper not in (a, b)} | {(a, b) for a in before for b in after}
    return WorkflowOrdering(workflow.steps - helpers, frozenset(edges), workflow.problems)


def compare_ordering(
    workflow: WorkflowOrdering,
    airflow_tasks: Iterable[str],
    airflow_edges: Iterable[tuple[str, str]],
    kfp_names: Mapping[str, str],
) -> SelfCheck:
    """The verdict for an ordering read from compiled output (an Argo workflow, or the v2 IR by
    airflow2kfp.compiled.ir_check): its closure against Airflow's, over the tasks that became steps."""
    all_tasks = list(airflow_tasks)
    airflow_edges = list(airflow_edges)
    if _same_ordering(workflow, all_tasks, airflow_edges, kfp_names):  # the usual case, without closures
        return SelfCheck(True, problems=workflow.problems)
    expected = {
        (kfp_names[a], kfp_names[b]) for a, b in graph.ordering_among(kfp_names, all_tasks, airflow_edges)
    }
    actual = set(graph.ordering(workflow.steps, workflow.edges))
    wanted_steps = set(kfp_names.values())
    missing_steps = tuple(sorted(wanted_steps - workflow.steps))
    extra_steps = tuple(sorted(workflow.steps - wanted_steps))
    missing = tuple(sorted(expected - actual))
    extra = tuple(sorted(actual - expected))
    exact = not (missing or extra or missing_steps or extra_steps)
    return SelfCheck(exact, missing, extra, missing_steps, extra_steps, workflow.problems)


def _reachability(order: list[int], successors: dict[int, list[int]]) -> dict[int, int]:
    """Each node's descendants as a bit set (bit i: node i), children before parents in `order`."""
    reach: dict[int, int] = {}
    for node in reversed(order):
        bits = 0
        for child in successors.get(node, ()):
            bits |= reach[child] | (1 << child)
        reach[node] = bits
    return reach


def _topological(count: int, edges: list[tuple[int, int]]) -> list[int] | None:
    """Nodes 0..count-1 in an order where every edge points forward; None when there is a cycle."""
    indegree = [0] * count
    successors: dict[int, list[int]] = {}
    for up, down in edges:
        indegree[down] += 1
        successors.setdefault(up, []).append(down)
    ready = [node for node in range(count) if indegree[node] == 0]
    order: list[int] = []
    while ready:
        node = ready.pop()
        order.append(node)
        for child in successors.get(node, ()):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    return order if len(order) == count else None


def _same_ordering(
    workflow: WorkflowOrdering,
    all_tasks: list[str],
    airflow_edges: list[tuple[str, str]],
    kfp_names: Mapping[str, str],
) -> bool:
    """True when the workflow orders exactly the pairs Airflow does (the check's `exact` verdict).

    The same answer as comparing the two transitive closures, without building them as sets of
    pairs (millions for a DAG of thousands of tasks): every node's descendants are a bit set
    (Python int) over one numbering of the Airflow tasks, and the closures are equal when, for
    every kept task, its Airflow descendants among the kept tasks are its workflow descendants.
    False also when unsure (unknown names, a cycle): the caller then compares closures as before.
    """
    index = {task: i for i, task in enumerate(all_tasks)}
    by_step = {step: task for task, step in kfp_names.items()}
    if (
        len(index) != len(all_tasks)
        or len(by_step) != len(kfp_names)
        or set(by_step) != workflow.steps
        or any(task not in index for task in kfp_names)
    ):
        return False
    try:
        a_edges = [(index[up], index[down]) for up, down in airflow_edges]
        w_edges = [(index[by_step[up]], index[by_step[down]]) for up, down in workflow.edges]
    except KeyError:
        return False
    count = len(all_tasks)
    a_order, w_order = _topological(count, a_edges), _topological(count, w_edges)
    if a_order is None or w_order is None:
        return False
    a_successors: dict[int, list[int]] = {}
    for up, down in a_edges:
        a_successors.setdefault(up, []).append(down)
    w_successors: dict[int, list[int]] = {}
    for up, down in w_edges:
        w_successors.setdefault(up, []).append(down)
    a_reach, w_reach = _reachability(a_order, a_successors), _reachability(w_order, w_successors)
    kept = 0
    for task in kfp_names:
        kept |= 1 << index[task]
    return all(a_reach[index[task]] & kept == w_reach[index[task]] for task in kfp_names)
