"""State shared by the reader's parts: the DAGs found so far, the `with` context, diagnostics."""

from __future__ import annotations

import reprlib
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

import libcst as cst

from airflow2kfp.diagnostics import Diagnostic, Severity, diag
from airflow2kfp.model import Duration, SourceSpan, Unresolved
from airflow2kfp.parse.budget import DEFAULT_LIMITS, ReadingLimits
from airflow2kfp.parse.evaluate import Evaluator
from airflow2kfp.parse.positions import Positions
from airflow2kfp.parse.setup_teardown import SetupTeardownContext
from airflow2kfp.parse.values import DagRecord, GroupRecord, Ref, TaskRecord

# the end of every message saying the reading may have missed edges (docs/static-reading.md)
UNSURE_NOTE = "Static reading cannot be sure it saw every dependency of this DAG: its ordering is unproven."
REPORT_STEPS = 32  # what a diagnostic costs: a loop reporting on every turn must not flood the run


class ReaderState(Evaluator):
    def __init__(
        self, module: cst.Module, positions: Positions, file: str, limits: ReadingLimits = DEFAULT_LIMITS
    ) -> None:
        super().__init__(module, positions, file, limits)
        self.dags: list[DagRecord] = []  # named, distinct DAGs: the results
        self.diagnostics: list[Diagnostic] = []
        self.context: list[GroupRecord] = []  # innermost `with DAG` / `with TaskGroup` last
        self.depth = 0  # nested function calls being interpreted
        self.dag_creations = 0  # every DAG(...) seen, named or not: a file with any is a DAG file
        self.graph_calls = 0  # tasks attempted + dependencies attempted, for footprint()
        self.setup_teardown = SetupTeardownContext(self._link_tasks, lambda steps: self.charge(steps, None))
        self.linking: cst.CSTNode | None = None  # the statement whose setup/teardown context adds edges
        self.doubts: set[tuple[str, int | None, str | None]] = (
            set()
        )  # (file, line, dag_id) of each A2K203 warning
        # tasks made outside any DAG (and without dag=) wait here: Airflow adds such a task to the DAG of
        # the first task it is linked to (`>>`, set_downstream, chain, an XCom argument), else to none
        self.nowhere = DagRecord("<no DAG>", SourceSpan(file, 0), {}, {}, placeholder=True)
        self.dagless: list[tuple[cst.CSTNode, TaskRecord]] = []

    def report(
        self,
        code: str,
        message: str,
        node: cst.CSTNode,
        *,
        task_id: str | None = None,
        dag: DagRecord | None = None,
        severity: Severity | None = None,
    ) -> None:
        self.charge(REPORT_STEPS, node)
        span = self.span(node)
        if dag is not None and dag.placeholder:
            dag = None
        self.diagnostics.append(
            diag(
                code,
                message,
                file=self.file,
                line=span.line or None,
                col=span.col,
                task_id=task_id,
                dag_id=dag.dag_id if dag else self.current_dag_id(),
                severity=severity,
            )
        )

    def report_unsure(self, message: str, node: cst.CSTNode, dag: DagRecord | None = None) -> None:
        """The reading may have missed tasks or edges here, though what it read is right: an A2K203
        warning, on the DAG concerned (the current one; when none is known, static.py puts it on every
        DAG of the file), whose ordering the run then marks unproven instead of exact."""
        if dag is not None and dag.placeholder:  # a task of no DAG yet: any DAG of the file may get it
            dag = None
        dag_id = dag.dag_id if dag else self.current_dag_id()
        line = self.span(node).line or None
        if (self.file, line, dag_id) in self.doubts:  # one doubt per line and DAG: a loop must not repeat it
            return
        self.doubts.add((self.file, line, dag_id))
        self.report("A2K203", f"{message} {UNSURE_NOTE}", node, dag=dag, severity=Severity.WARNING)

    def _link_tasks(self, ups: Sequence[TaskRecord], downs: Sequence[TaskRecord]) -> None:
        """Edges a setup/teardown context adds (`ups >> downs`), as Dependencies.add_edge adds them."""
        node = self.linking if self.linking is not None else self.module
        for up in ups:
            for down in downs:
                self.add_edge(node, up, down)

    def add_edge(self, node: cst.CSTNode, up: TaskRecord, down: TaskRecord, label: str | None = None) -> None:
        raise NotImplementedError  # Dependencies.add_edge

    def current_dag_id(self) -> str | None:
        return self.context[-1].dag.dag_id if self.context else None

    def footprint(self) -> int:
        """Counts graph-building calls, so a block can tell whether it shaped the graph."""
        return self.graph_calls


class _Described(reprlib.Repr):
    """repr() of literal data, cut short (reprlib walks only the first items, so a huge or deeply
    shared value costs nothing); anything else by its type name, as a message can show it."""

    def __init__(self) -> None:
        super().__init__()
        self.maxstring = self.maxother = 200
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = self.maxfrozenset = 20
        self.maxlevel = 4

    def repr_instance(self, obj: Any, level: int) -> str:
        if isinstance(obj, _SCALARS):
            return super().repr_instance(obj, level)
        return type(obj).__name__


_SCALARS = (int, float, bool, type(None), bytes, Duration, PurePosixPath)
_DESCRIBED = _Described()
_CONTAINERS = (list, tuple, dict, set, frozenset)


def describe(value: Any) -> str:
    """A value as a message shows it: source text, a dotted name, a short repr or a type name."""
    if isinstance(value, Unresolved):
        return value.source
    if isinstance(value, Ref):
        return value.qualname
    if isinstance(value, _CONTAINERS) and not _plain(value):
        return type(value).__name__
    return _DESCRIBED.repr(value)


def _plain(value: Any, budget: int = 1000) -> bool:
    """Literal data as far as the first `budget` items show (a message needs no more certainty)."""
    pending = [value]
    while pending and budget > 0:
        item = pending.pop()
        budget -= 1
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, _CONTAINERS):
            pending.extend(item)
        elif not isinstance(item, (str, *_SCALARS)):
            return False
    return True


def shown(text: str, limit: int = 300) -> str:
    """repr() of an id or a text for a message; a very long one cut, with its length."""
    return repr(text) if len(text) <= limit else f"{text[:200]!r}... ({len(text):,} characters)"


def short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
