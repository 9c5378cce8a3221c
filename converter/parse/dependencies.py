"""Dependencies: `>>`/`<<`, set_upstream/set_downstream, chain helpers, Labels and group ends.

Each form adds edges exactly when Airflow's own code would, so a group stands for its roots or
leaves as they are at the moment of the call, and a Label links whatever is on either side of it.
"""

from __future__ import annotations

import itertools
from typing import Any

import libcst as cst

from converter.parse.state import ReaderState, describe, short
from converter.parse.values import GroupRecord, LabelRecord, TaskRecord, XComValue


class Dependencies(ReaderState):
    def shift(self, node: cst.BinaryOperation, left: Any, right: Any) -> Any:
        downstream = isinstance(node.operator, cst.RightShift)
        if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
            self.report("A2K203", f"`{self.source(node)}` shifts a list by a list, which Python rejects.", node)
            return self.unresolved(node)
        self.shift_values(node, left, right, downstream=downstream)
        return right

    def shift_values(self, node: cst.CSTNode, left: Any, right: Any, *, downstream: bool) -> None:
        """`left >> right` (downstream) or `left << right`, with Labels and groups as Airflow treats them."""
        self.graph_calls += 1
        up, down = (left, right) if downstream else (right, left)
        if isinstance(down, LabelRecord):
            sources = self.endpoints(node, up, as_upstream=True)
            if sources is not None:
                down.upstream.extend(sources)
                for target in down.downstream:
                    for source in sources:
                        self.add_edge(node, source, target, down.label)
            return
        if isinstance(up, LabelRecord):
            targets = self.endpoints(node, down, as_upstream=False)
            if targets is not None:
                up.downstream.extend(targets)
                for source in up.upstream:
                    for target in targets:
                        self.add_edge(node, source, target, up.label)
            return
        sources = self.endpoints(node, up, as_upstream=True)
        targets = self.endpoints(node, down, as_upstream=False)
        if sources is None or targets is None:
            return
        for source in sources:
            for target in targets:
                self.add_edge(node, source, target)

    def endpoints(self, node: cst.CSTNode, value: Any, *, as_upstream: bool) -> list[TaskRecord] | None:
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
                more = self.endpoints(node, item, as_upstream=as_upstream)
                if more is None:
                    return None
                found += more
            return found
        self.report("A2K203", f"`{describe(value)}` in `{short(self.source(node))}` is not a task the "
                    "reader could resolve; its dependencies are missing.", node)
        return None

    def add_edge(self, node: cst.CSTNode, up: TaskRecord, down: TaskRecord, label: str | None = None) -> None:
        if up.task_id is None or down.task_id is None:
            return  # a task that could not be named; its A2K205/A2K201 diagnostic already says so
        if up.dag is not down.dag:
            self.report("A2K203", f"{up.task_id!r} and {down.task_id!r} belong to different DAGs.", node)
            return
        self.charge(1, node)  # cross_downstream of two long lists adds their product of edges
        up.dag.add_edge(up.task_id, down.task_id, label)

    def dependency_helper(self, node: cst.Call, kind: str, args: list[Any]) -> Any:
        if kind == "cross_downstream":
            if len(args) == 2 and all(isinstance(a, (list, tuple)) for a in args):
                for task in args[0]:
                    self.shift_values(node, task, list(args[1]), downstream=True)
            else:
                self.report("A2K203", "cross_downstream() needs two literal lists of tasks.", node)
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
                self.report("A2K203", f"chain() pairs lists of different lengths ({len(up)} and {len(down)}), "
                            "which Airflow rejects.", node)
            else:
                for left, right in zip(up, down, strict=True):
                    self.shift_values(node, left, right, downstream=True)
        return None
