"""State shared by the reader's parts: the DAGs found so far, the `with` context, diagnostics."""

from __future__ import annotations

from typing import Any

import libcst as cst

from converter.diagnostics import Diagnostic, Severity, diag
from converter.model import Unresolved
from converter.parse.evaluate import Evaluator, is_data
from converter.parse.positions import Positions
from converter.parse.values import DagRecord, GroupRecord, Ref


class ReaderState(Evaluator):
    def __init__(self, module: cst.Module, positions: Positions, file: str) -> None:
        super().__init__(module, positions, file)
        self.dags: list[DagRecord] = []  # named, distinct DAGs: the results
        self.diagnostics: list[Diagnostic] = []
        self.context: list[GroupRecord] = []  # innermost `with DAG` / `with TaskGroup` last
        self.depth = 0  # nested function calls being interpreted
        self.dag_creations = 0  # every DAG(...) seen, named or not: a file with any is a DAG file
        self.graph_calls = 0  # tasks attempted + dependencies attempted, for footprint()

    def report(self, code: str, message: str, node: cst.CSTNode, *, task_id: str | None = None,
               dag: DagRecord | None = None, severity: Severity | None = None) -> None:
        span = self.span(node)
        self.diagnostics.append(diag(
            code, message, file=self.file, line=span.line or None, col=span.col,
            task_id=task_id, dag_id=dag.dag_id if dag else self.current_dag_id(), severity=severity,
        ))

    def current_dag_id(self) -> str | None:
        return self.context[-1].dag.dag_id if self.context else None

    def footprint(self) -> int:
        """Counts graph-building calls, so a block can tell whether it shaped the graph."""
        return self.graph_calls


def describe(value: Any) -> str:
    if isinstance(value, Unresolved):
        return value.source
    if isinstance(value, Ref):
        return value.qualname
    return type(value).__name__ if not is_data(value) else repr(value)


def short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
