"""Compare one DAG's Airflow run with its converted pipeline's local run, task by task.

Four questions, each answered per task so a reviewer sees both sides next to each other:
  1. the same tasks ran (a task that ran on one side only is a difference);
  2. each task's final state is the same, in Airflow's words (success, failed, skipped,
     upstream_failed): Argo's Succeeded/Failed/Error/Skipped read directly. An Omitted step (its
     `depends` was false) is named as Airflow names a task whose trigger rule did not fire, from the
     states its upstream tasks ended in on the KFP side (`trigger_rules.upstream_failed_when_not_triggered`,
     the table the converter wrote the `depends` from): a task Airflow skips under `all_failed` after a
     success is skipped in KFP too, for the same reason; an `all_success` task after a failure is
     upstream_failed. Without the upstream states (a step that could not run), a step it waited for
     that failed makes it upstream_failed, else skipped;
  3. every ordering Airflow guarantees held: for each pair ordered by a path of edges whose
     downstream waits for its upstream to finish (not `always`, which starts at once, nor
     `one_success`/`one_failed`/`one_done`, which start once one upstream is done), Airflow finished
     the first before starting the second, and the workflow made the second wait for the first (not
     merely ran it later);
  4. values passed on match: each XCom with a KFP output of the same name (`return_value` is KFP's
     `Output`) holds the same value, as JSON or as text.
A step that could not run locally is "not verifiable": listed, never counted as passed. Tasks the
conversion removed (EmptyOperator) have no step and are listed as removed; an Omitted step after one
takes the state Airflow gives the removed task from its own upstreams.

Where a task failed on a side or differs, the last lines of its log on both sides are kept
(`TaskCheck.airflow_log` / `kfp_log`): the task's log from the `dag.test()` run, the step's output.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from airflow2kfp import graph
from airflow2kfp.mapping import trigger_rules as tr
from airflow2kfp.verify.airflow_run import AirflowDagRun, AirflowTaskRun
from airflow2kfp.verify.argo_local import NodeRun, Phase, WorkflowRun

INTERNAL_XCOM_KEYS = frozenset({"skipmixin_key", "_link_AirflowLink", "return_value_multiple_outputs"})
RAN = frozenset({"success", "failed"})
NOT_VERIFIABLE = "not_verifiable"
REMOVED = "removed"
# rules under which a task may start before every upstream finished: their edges order nothing
NOT_WAITING = frozenset({"always"}) | tr.EAGER_RULES
# Airflow states a rule reads (trigger_rule_dep.py counts these four)
RULE_STATES = frozenset({"success", "failed", "upstream_failed", "skipped"})
LOG_LINES = 40  # the last lines of a log kept for a task that failed or differs


class Verdict(str, Enum):
    PASS = "pass"  # every task verifiable and the same on both sides
    DIFFERENT = "different"  # at least one verifiable difference
    INCOMPLETE = "incomplete"  # no difference, but some tasks could not be verified
    ERROR = "error"  # one side could not be run at all


@dataclass(frozen=True)
class ValueCheck:
    key: str  # the XCom key
    airflow: Any
    kfp: str | None  # the KFP output's text, None when no output carries it
    same: bool | None  # None: not carried by the pipeline, so not compared


@dataclass(frozen=True)
class TaskCheck:
    task_id: str
    kfp_name: str | None
    airflow_state: str | None  # one state, or "a, b" for mapped task instances
    kfp_state: str | None  # in Airflow's words, or not_verifiable / removed
    kfp_phase: str | None  # Argo's phases, as run
    airflow_tries: int
    kfp_attempts: int
    same: bool | None  # None: not compared (removed, not verifiable)
    values: tuple[ValueCheck, ...] = ()
    note: str = ""
    airflow_log: str = ""  # the last lines of the task's log, when it failed on a side or differs
    kfp_log: str = ""


@dataclass(frozen=True)
class Difference:
    kind: str  # "task", "state", "ordering", "value", "run"
    task_id: str | None
    message: str


@dataclass(frozen=True)
class Comparison:
    dag_id: str
    verdict: Verdict
    airflow_state: str | None
    kfp_phase: str | None
    tasks: tuple[TaskCheck, ...]
    differences: tuple[Difference, ...]
    not_verifiable: tuple[str, ...]
    orderings_checked: int = 0
    values_checked: int = 0
    error: str | None = None
    target: str = "v1"  # the pipeline that ran: v1's Argo workflow or v2's IR

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict.value
        return json.loads(json.dumps(data, default=str))


def _omitted_fallback(node: NodeRun, by_node: Mapping[str, NodeRun]) -> str:
    failed = any(by_node[w].phase.failed for w in node.waited_for if w in by_node)
    return "upstream_failed" if failed else "skipped"


def _node_state(node: NodeRun, by_node: Mapping[str, NodeRun], omitted_as: str | None) -> str:
    if node.phase is Phase.SUCCEEDED:
        return "success"
    if node.phase.failed:
        return "failed"
    if node.phase is Phase.SKIPPED:
        return "skipped"
    if node.phase is Phase.OMITTED:
        return omitted_as or _omitted_fallback(node, by_node)
    return NOT_VERIFIABLE


def _rule_upstreams(
    names: Sequence[str], each: Mapping[str, list[str]], setups: frozenset[str]
) -> list[tr.Upstream] | None:
    """The upstream tasks' states (every iteration of a mapped one) as the constant formulas
    trigger_rules folds; None when one is unknown (a step that could not run)."""
    found: list[tr.Upstream] = []
    for name in names:
        for state in each.get(name, [""]):
            if state not in RULE_STATES:
                return None
            found.append(
                tr.Upstream(
                    node=name,
                    success=tr.Const(state == "success"),
                    failed=tr.Const(state == "failed"),
                    upstream_failed=tr.Const(state == "upstream_failed"),
                    skipped=tr.Const(state == "skipped"),
                    is_setup=name in setups,
                )
            )
    return found


def airflow_decision(rule: str, ups: Sequence[tr.Upstream]) -> str:
    """What Airflow makes of a task whose upstream tasks ended in these states: "run", "skipped"
    or "upstream_failed" (trigger_rule_dep.py, as trigger_rules.py writes it down)."""
    if not ups or tr.trigger(rule, ups) == tr.TRUE:  # ValueError for a rule Airflow does not have
        return "run"
    return "upstream_failed" if tr.upstream_failed_when_not_triggered(rule, ups) == tr.TRUE else "skipped"


def kfp_states(
    dag: Mapping[str, Any],
    steps: Mapping[str, list[NodeRun]],
    by_node: Mapping[str, NodeRun],
    setups: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """Each task's KFP state in Airflow's words ("a, b" for the iterations of a mapped task; "" for
    a removed task whose state cannot be told)."""
    tasks = {str(t["task_id"]): t for t in dag.get("tasks", [])}
    edges = [(str(a), str(b)) for a, b in dag.get("airflow_edges", []) if a in tasks and b in tasks]
    upstream: dict[str, list[str]] = {}
    for up, down in edges:
        upstream.setdefault(down, []).append(up)
    each: dict[str, list[str]] = {}  # task -> the state of each of its nodes (or its virtual state)
    for task_id in graph.topological(list(tasks), edges):
        task = tasks[task_id]
        ups = _rule_upstreams(upstream.get(task_id, []), each, setups)
        rule = str(task.get("trigger_rule") or "all_success")
        decided = airflow_decision(rule, ups) if ups is not None and rule in tr.RULES else None
        kfp_name = task.get("kfp_name")
        nodes = steps.get(task_id) or (steps.get(kfp_name, []) if kfp_name else [])
        if not nodes:  # a removed task (EmptyOperator) succeeds whenever Airflow would run it
            each[task_id] = ["success" if decided == "run" else decided or ""]
            continue
        omitted_as = decided if decided in ("skipped", "upstream_failed") else None
        each[task_id] = [_node_state(n, by_node, omitted_as) for n in nodes]
    return {task_id: ", ".join(found) for task_id, found in each.items()}


def _airflow_state(instances: Sequence[AirflowTaskRun]) -> str | None:
    if not instances:
        return None
    return ", ".join(str(i.state) for i in sorted(instances, key=lambda i: i.map_index))


def _output_texts(nodes: Sequence[NodeRun]) -> dict[str, str]:
    """Output name -> text, with KFP's `<template>-` prefix taken off the names."""
    texts: dict[str, str] = {}
    for node in nodes:
        for name, text in {**node.artifacts, **node.parameters}.items():
            texts[name.removeprefix(f"{node.template}-")] = text
    return texts


def _same_value(airflow: Any, text: str) -> bool:
    if isinstance(airflow, str) and airflow == text:
        return True
    try:
        if json.loads(text) == airflow:
            return True
    except ValueError:
        pass
    return not isinstance(airflow, (dict, list)) and str(airflow) == text  # KFP writes bools as str()


def _values(instances: Sequence[AirflowTaskRun], nodes: Sequence[NodeRun]) -> tuple[ValueCheck, ...]:
    if len(instances) != 1 or len(nodes) != 1:
        return ()  # mapped tasks: states are compared per instance, values are not
    outputs = _output_texts(nodes)
    checks = []
    for key, value in sorted(instances[0].xcom.items()):
        if key in INTERNAL_XCOM_KEYS:
            continue
        names = (
            ("Output", "return_value", "return-value")
            if key == "return_value"
            else (key, key.replace("_", "-"))
        )
        text = next((outputs[n] for n in names if n in outputs), None)
        checks.append(ValueCheck(key, value, text, None if text is None else _same_value(value, text)))
    return tuple(checks)


def compare(
    dag: Mapping[str, Any],
    airflow: AirflowDagRun | None,
    kfp: WorkflowRun | None,
    airflow_error: str | None = None,
    kfp_error: str | None = None,
) -> Comparison:
    """`dag` is the DAG's conversion.json entry (tasks with kfp_name and mapping, airflow_edges)."""
    dag_id = str(dag["dag_id"])
    if airflow is None or airflow.error or kfp is None or not kfp.nodes:
        why = (
            airflow_error
            or (airflow.error if airflow else None)
            or kfp_error
            or (kfp.message if kfp else None)
        )
        return Comparison(
            dag_id,
            Verdict.ERROR,
            airflow.state if airflow else None,
            kfp.phase.value if kfp else None,
            (),
            (),
            (),
            error=why or "nothing ran",
        )
    instances: dict[str, list[AirflowTaskRun]] = {}
    for instance in airflow.tasks:
        instances.setdefault(instance.task_id, []).append(instance)
    steps = kfp.by_name()
    by_node = {n.node: n for n in kfp.nodes}
    setups = frozenset(i.task_id for i in airflow.tasks if i.is_setup)
    named = kfp_states(dag, steps, by_node, setups)
    checks: list[TaskCheck] = []
    differences: list[Difference] = []
    not_verifiable: list[str] = []
    for task in dag.get("tasks", []):
        task_id, kfp_name = str(task["task_id"]), task.get("kfp_name")
        mine = instances.get(task_id, [])
        nodes = steps.get(task_id) or (steps.get(kfp_name, []) if kfp_name else [])
        a_state = _airflow_state(mine)
        tries = sum(i.try_number for i in mine)
        attempts = sum(n.attempts for n in nodes)
        phase = ", ".join(n.phase.value for n in nodes) or None
        if not nodes:
            removed = task.get("mapping") == REMOVED or kfp_name is None
            checks.append(
                TaskCheck(
                    task_id,
                    kfp_name,
                    a_state,
                    REMOVED if removed else None,
                    None,
                    tries,
                    0,
                    None if removed else False,
                    note="removed by the conversion: its ordering is kept" if removed else "",
                )
            )
            if not removed:
                differences.append(Difference("task", task_id, f"{task_id} has no step in the run"))
            continue
        k_state = named[task_id]
        if NOT_VERIFIABLE in k_state:
            not_verifiable.append(task_id)
            message = next((n.message for n in nodes if n.phase is Phase.NOT_VERIFIABLE), "")
            checks.append(
                TaskCheck(task_id, kfp_name, a_state, k_state, phase, tries, attempts, None, note=message)
            )
            continue
        values = _values(mine, nodes) if a_state == k_state == "success" else ()
        same = a_state == k_state and all(v.same is not False for v in values)
        note = next((n.message for n in nodes if n.message), "")
        logs = ("", "")
        if not same or "failed" in f"{a_state} {k_state}".replace("upstream_failed", ""):
            logs = (_tail(i.log for i in mine), _tail(n.log_tail for n in nodes if n.ran))
        checks.append(
            TaskCheck(task_id, kfp_name, a_state, k_state, phase, tries, attempts, same, values, note, *logs)
        )
        if a_state != k_state:
            ran = {True: "ran", False: "did not run"}
            a_ran, k_ran = a_state in RAN, any(n.ran for n in nodes)
            detail = f" ({ran[a_ran]} in Airflow, {ran[k_ran]} in KFP)" if a_ran != k_ran else ""
            differences.append(
                Difference("state", task_id, f"{task_id}: Airflow {a_state}, KFP {k_state}{detail}")
            )
        for value in values:
            if value.same is False:
                differences.append(
                    Difference(
                        "value",
                        task_id,
                        f"{task_id}: XCom {value.key} is {value.airflow!r} in Airflow, {value.kfp!r} in KFP",
                    )
                )
    checked = _orderings(dag, instances, steps, differences)
    run_state = {"success": "Succeeded", "failed": "Failed"}.get(str(airflow.state))
    if (
        run_state
        and kfp.phase.value != run_state
        and not (run_state == "Failed" and kfp.phase is Phase.ERROR)
    ):
        why = f" ({kfp.message})" if kfp.message else ""
        differences.append(
            Difference("run", None, f"the DAG run ended {airflow.state}, the workflow {kfp.phase.value}{why}")
        )
    if differences:
        verdict = Verdict.DIFFERENT
    elif not_verifiable or not any(c.same for c in checks):
        verdict = Verdict.INCOMPLETE
    else:
        verdict = Verdict.PASS
    return Comparison(
        dag_id,
        verdict,
        airflow.state,
        kfp.phase.value,
        tuple(checks),
        tuple(differences),
        tuple(not_verifiable),
        checked,
        sum(1 for c in checks for v in c.values if v.same is not None),
    )


def _tail(logs: Iterable[str], lines: int = LOG_LINES) -> str:
    text = "\n".join(log.rstrip("\n") for log in logs if log and log.strip())
    return "\n".join(text.splitlines()[-lines:])


def guaranteed_orderings(dag: Mapping[str, Any]) -> frozenset[tuple[str, str]]:
    """The pairs Airflow always runs one after the other: paths of edges whose downstream waits for
    its upstream to finish (not into `always`, `one_success`, `one_failed`, `one_done` tasks)."""
    tasks = [str(t["task_id"]) for t in dag.get("tasks", [])]
    rules = {str(t["task_id"]): str(t.get("trigger_rule") or "all_success") for t in dag.get("tasks", [])}
    edges = [
        (str(a), str(b)) for a, b in dag.get("airflow_edges", []) if rules.get(str(b)) not in NOT_WAITING
    ]
    return graph.ordering(tasks, edges)


def _orderings(
    dag: Mapping[str, Any],
    instances: Mapping[str, list[AirflowTaskRun]],
    steps: Mapping[str, list[NodeRun]],
    differences: list[Difference],
) -> int:
    """Check each ordering Airflow guarantees between two tasks that ran on a side; the number checked.

    Inside a loop both steps share (a mapped task group: Argo runs the group's DAG once per item),
    an instance waits only for the instances of the same iteration, as in Airflow, where a mapped
    group's task waits for its upstream of the same map index."""
    kfp_names = {str(t["task_id"]): t.get("kfp_name") for t in dag.get("tasks", [])}
    checked = 0
    for before, after in sorted(guaranteed_orderings(dag)):
        first_nodes = [n for n in steps.get(before) or steps.get(kfp_names.get(before) or "", []) if n.ran]
        second_nodes = [n for n in steps.get(after) or steps.get(kfp_names.get(after) or "", []) if n.ran]
        in_one_loop = any(
            same_iteration(f.node, n.node) is not None for f in first_nodes for n in second_nodes
        )
        first = [i for i in instances.get(before, []) if i.state in RAN and i.end]
        second = [i for i in instances.get(after, []) if i.state in RAN and i.start]
        if first and second:
            checked += 1
            pairs = (
                [(a, [b for b in first if b.map_index == a.map_index]) for a in second]
                if in_one_loop
                else [(a, first) for a in second]
            )
            if any(
                a.start is not None and waited and max(str(b.end) for b in waited) > str(a.start)
                for a, waited in pairs
            ):
                differences.append(
                    Difference("ordering", after, f"Airflow started {after} before {before} finished")
                )
        if first_nodes and second_nodes:
            checked += 1
            unordered = [
                n.node
                for n in second_nodes
                if not all(
                    f.node in n.waited_for for f in first_nodes if same_iteration(f.node, n.node) is not False
                )
            ]
            if unordered:
                differences.append(
                    Difference(
                        "ordering",
                        after,
                        f"the workflow did not make {after} wait for {before} ({', '.join(unordered)})",
                    )
                )
    return checked


_ITERATION = re.compile(r"\(\d+:")  # `loop(3:item)`: the local runner's name of a loop's iteration


def same_iteration(first: str, second: str) -> bool | None:
    """Whether two steps (by node name) run in the same iteration of a loop around both: True,
    False (two iterations of it), or None when no loop is around both. Names share everything up to
    where they part; an iteration's index follows `(` and ends at `:`, so two iterations of one
    loop part inside the digits of the index."""
    common = os.path.commonprefix([first, second])  # noqa: RUF071 - node names, compared as text
    opening = common.rfind("(")
    if (opening >= 0 and common[opening + 1 :].isdigit()) or common.endswith("("):
        rest_first, rest_second = first[len(common) :], second[len(common) :]
        if rest_first[:1] in _INDEX_CHARACTERS and rest_second[:1] in _INDEX_CHARACTERS:
            return False
    return True if _ITERATION.search(common) else None


_INDEX_CHARACTERS = frozenset("0123456789:")
