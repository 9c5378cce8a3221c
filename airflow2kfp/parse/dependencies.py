"""Dependencies: `>>`/`<<`, set_upstream/set_downstream, chain helpers, Labels and group ends.

Each form adds edges exactly when Airflow's own code would, so a group stands for its roots or
leaves as they are at the moment of the call, and a Label links whatever is on either side of it.
"""

from __future__ import annotations

import itertools
from typing import Any

import libcst as cst

from airflow2kfp.parse.state import ReaderState, describe, short
from airflow2kfp.parse.values import DagRecord, GroupRecord, LabelRecord, TaskRecord, XComDerived, XComValue


class Dependencies(ReaderState):
    def shift(self, node: cst.BinaryOperation, left: Any, right: Any) -> Any:
        downstream = isinstance(node.operator, cst.RightShift)
        if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
            self.report(
                "A2K203", f"`{self.source(node)}` shifts a list by a list, which Python rejects.", node
            )
            return self.unresolved(node)
        self.shift_values(node, left, right, downstream=downstream)
        return right

    def shift_values(self, node: cst.CSTNode, left: Any, right: Any, *, downstream: bool) -> None:
        """`left >> right` (downstream) or `left << right`, with Labels and groups as Airflow treats them."""
        self.graph_calls += 1
        up, down = (left, right) if downstream else (right, left)
        for side in (up, down):
            if isinstance(side, (list, tuple)) and any(isinstance(item, LabelRecord) for item in side):
                # `t0 >> [Label("a"), Label("b")]` (chain() pairs such lists too): Airflow relates each
                # item on its own, and each Label remembers its side until the other one comes
                for item in side:
                    self.shift_values(
                        node, item if side is up else up, item if side is down else down, downstream=True
                    )
                return
        if isinstance(down, LabelRecord):
            sources = self.endpoints(node, up, as_upstream=True, dag=self.dag_of([up]))
            if sources is not None:
                down.upstream.extend(sources)
                for target in down.downstream:
                    for source in sources:
                        self.add_edge(node, source, target, down.label)
            return
        if isinstance(up, LabelRecord):
            targets = self.endpoints(node, down, as_upstream=False, dag=self.dag_of([down]))
            if targets is not None:
                up.downstream.extend(targets)
                for source in up.upstream:
                    for target in targets:
                        self.add_edge(node, source, target, up.label)
            return
        dag = self.dag_of([up, down])
        sources = self.endpoints(node, up, as_upstream=True, dag=dag)
        targets = self.endpoints(node, down, as_upstream=False, dag=dag)
        if sources is None or targets is None:
            return
        for source in sources:
            for target in targets:
                self.add_edge(node, source, target)

    def dag_of(self, values: list[Any]) -> DagRecord | None:
        """The DAG a dependency concerns, for its diagnostics: the first DAG of the tasks it names, else
        the DAG being built (None at module level with nothing named: static.py then puts a doubt on
        every DAG of the file)."""
        found = [d for d in handles_in(values, limit=1000) if not d.placeholder]
        return found[0] if found else (self.context[-1].dag if self.context else None)

    def endpoints(
        self, node: cst.CSTNode, value: Any, *, as_upstream: bool, dag: DagRecord | None = None
    ) -> list[TaskRecord] | None:
        """The tasks an operand stands for: a group's leaves upstream / roots downstream, now."""
        if isinstance(value, TaskRecord):
            return [value]
        if isinstance(value, XComValue):
            return [value.task]
        if isinstance(value, GroupRecord):
            self.charge(len(value.tasks) + 1, node)  # roots and leaves look at every task of the group
            return value.leaves() if as_upstream else value.roots()
        if isinstance(value, (list, tuple)):
            self.charge(len(value) // 8 + 1, node)
            found: list[TaskRecord] = []
            for item in value:
                more = self.endpoints(node, item, as_upstream=as_upstream, dag=dag)
                if more is None:
                    return None
                found += more
            return found
        self.report(
            "A2K203",
            f"`{describe(value)}` in `{short(self.source(node))}` is not a task the "
            "reader could resolve; its dependencies are missing.",
            node,
            dag=dag,
        )
        return None

    def add_edge(self, node: cst.CSTNode, up: TaskRecord, down: TaskRecord, label: str | None = None) -> None:
        if up.task_id is None or down.task_id is None:
            return  # a task that could not be named; its A2K205/A2K201 diagnostic already says so
        if up.dag.placeholder and down.dag.placeholder:
            self.report(
                "A2K203",
                f"{up.task_id!r} and {down.task_id!r} are both in no DAG: Airflow refuses to "
                "relate them (ValueError) and the import fails.",
                node,
            )
            return
        if up.dag.placeholder or down.dag.placeholder:
            dagless, other = (up, down) if up.dag.placeholder else (down, up)
            if not self.adopt(node, dagless, other.dag):
                return
        if up.dag is not down.dag:
            self.report(
                "A2K203", f"{up.task_id!r} and {down.task_id!r} belong to different DAGs.", node, dag=up.dag
            )
            return
        self.charge(1, node)  # cross_downstream of two long lists adds their product of edges
        up.dag.add_edge(up.task_id, down.task_id, label)

    def adopt(self, node: cst.CSTNode, task: TaskRecord, dag: DagRecord) -> bool:
        """A task made outside any DAG joins the DAG of the task it is linked to, in its root group and
        under the id it was made with, as Airflow's _set_relatives adds it (DAG.add_task)."""
        assert task.task_id is not None
        if task.task_id in dag.tasks:
            self.report(
                "A2K201",
                f"The task_id {task.task_id!r}, made outside any DAG, is already used in the DAG "
                f"it is linked to (first at line {dag.tasks[task.task_id].span.line}); Airflow raises "
                "DuplicateTaskIdFound.",
                node,
                task_id=task.task_id,
                dag=dag,
            )
            return False
        self.dagless[:] = [(n, t) for n, t in self.dagless if t is not task]
        task.dag, task.group = dag, dag.root
        dag.add_task(task)
        return True

    def report_dagless(self) -> None:
        """When the file has been read: the tasks still in no DAG are in none for Airflow either."""
        for node, _ in self.dagless:
            self.report(
                "A2K207",
                "This task is created outside any DAG and without dag=, and is linked to no "
                "task of a DAG: Airflow adds it to no DAG.",
                node,
            )
        self.dagless.clear()

    def dependency_helper(
        self, node: cst.Call, kind: str, args: list[Any], kwargs: dict[str, Any] | None = None
    ) -> Any:
        kwargs = kwargs or {}
        if kind == "cross_downstream":  # cross_downstream(from_tasks, to_tasks)
            args = [
                *args,
                *(kwargs.pop(name) for name in ("from_tasks", "to_tasks")[len(args) :] if name in kwargs),
            ]
        if kwargs:
            self.report(
                "A2K203",
                f"{kind}() is called with arguments it does not take "
                f"({', '.join(sorted(kwargs))}); Airflow raises TypeError.",
                node,
                dag=self.dag_of(args),
            )
            return None
        if kind == "cross_downstream":
            if len(args) == 2 and all(isinstance(a, (list, tuple)) for a in args):
                for task in args[0]:
                    self.shift_values(node, task, list(args[1]), downstream=True)
            else:
                self.report(
                    "A2K203",
                    "cross_downstream() needs two literal lists of tasks.",
                    node,
                    dag=self.dag_of(args),
                )
            return None
        if kind == "chain_linear":
            previous: list[Any] | None = None
            for element in args:
                if previous is not None:
                    for task in previous:
                        self.shift_values(node, task, element, downstream=True)
                previous = list(element) if isinstance(element, (list, tuple)) else [element]
            return None
        for up, down in itertools.pairwise(args):  # chain(): Airflow's pairing rules
            up_seq, down_seq = isinstance(up, (list, tuple)), isinstance(down, (list, tuple))
            if not up_seq or not down_seq:
                self.shift_values(node, up, down, downstream=True)
            elif len(up) != len(down):
                self.report(
                    "A2K203",
                    f"chain() pairs lists of different lengths ({len(up)} and {len(down)}), "
                    "which Airflow rejects.",
                    node,
                    dag=self.dag_of([up, down]),
                )
            else:
                for left, right in zip(up, down, strict=True):
                    self.shift_values(node, left, right, downstream=True)
        return None


def handles_in(values: list[Any], limit: int = 10_000) -> list[DagRecord]:
    """The DAGs of the DAGs, groups, tasks and XCom results inside `values` (containers looked into, up
    to `limit` items), in the order found."""
    found: dict[int, DagRecord] = {}
    pending = list(values)
    while pending and limit > 0:
        limit -= 1
        item = pending.pop(0)
        if isinstance(item, DagRecord):
            found.setdefault(id(item), item)
        elif isinstance(item, (TaskRecord, GroupRecord)):
            found.setdefault(id(item.dag), item.dag)
        elif isinstance(item, XComValue):
            found.setdefault(id(item.task.dag), item.task.dag)
        elif isinstance(item, XComDerived):
            pending.extend(item.tasks)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            pending.extend(item)
    return list(found.values())
