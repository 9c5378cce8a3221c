"""A tiny stand-in for the static reader, for batch tests: reads a small subset of DAG files with `ast`.

It understands `with DAG("id"):` blocks, `name = Operator(task_id="...", bash_command="...")` and
`a >> b >> c` chains; any other operator is read as a class of the file itself, a placeholder (A2K301). `raise SyntaxError` in the
file gives an A2K101 error, so tests can produce every severity. Module level and picklable, so it
also runs in worker processes.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

from airflow2kfp.diagnostics import diag
from airflow2kfp.model import Dag, ParsedFile, SourceSpan, Task, TaskArgs

MODULES = {"BashOperator": "airflow.operators.bash", "EmptyOperator": "airflow.operators.empty"}


def _chain(node: ast.expr) -> list[str]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.RShift):
        return _chain(node.left) + _chain(node.right)
    return [node.id] if isinstance(node, ast.Name) else []


def _dag(block: ast.With, display: str) -> Dag | None:
    call = block.items[0].context_expr
    if not (isinstance(call, ast.Call) and getattr(call.func, "id", None) == "DAG" and call.args):
        return None
    dag_id = ast.literal_eval(call.args[0])
    tasks: dict[str, Task] = {}
    edges: list[tuple[str, str]] = []
    for stmt in block.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
            kwargs = {k.arg: ast.literal_eval(k.value) for k in stmt.value.keywords if k.arg}
            operator = getattr(stmt.value.func, "id", "Unknown")
            task = Task(
                kwargs["task_id"],
                operator,
                MODULES.get(operator, ""),  # a class of the DAG file itself: no mapping, no fallback
                SourceSpan(display, stmt.lineno, stmt.col_offset),
                TaskArgs(kwargs, frozenset(kwargs)),
            )
            tasks[stmt.targets[0].id] = task  # type: ignore[attr-defined]
        elif isinstance(stmt, ast.Expr):
            names = _chain(stmt.value)
            edges += [(tasks[a].task_id, tasks[b].task_id) for a, b in itertools.pairwise(names)]
    return Dag(
        dag_id, SourceSpan(display, block.lineno, block.col_offset), tuple(tasks.values()), tuple(edges)
    )


def read_dag_file(
    path: Path, *, display_path: str | None = None, max_bytes: int = 5_000_000, dag_folder: Path | None = None
) -> ParsedFile:
    display = display_path or str(path)
    tree = ast.parse(Path(path).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and getattr(node.exc, "id", None) == "SyntaxError":
            return ParsedFile(display, diagnostics=(diag("A2K101", file=display, line=node.lineno),))
    dags = tuple(d for node in tree.body if isinstance(node, ast.With) and (d := _dag(node, display)))
    if not dags:
        return ParsedFile(display, diagnostics=(diag("A2K104", file=display),), not_a_dag_file=True)
    return ParsedFile(display, dags=dags)


def dag_file(dag_id: str, *chain: str, extra: str = "", imports: str = "") -> str:
    """Source of a DAG file with Bash tasks named by `chain`, run in that order."""
    tasks = "".join(f'    {t} = BashOperator(task_id="{t}", bash_command="echo {t}")\n' for t in chain)
    order = f"    {' >> '.join(chain)}\n" if len(chain) > 1 else ""
    return (
        f"from airflow import DAG\nfrom airflow.operators.bash import BashOperator\n{imports}"
        f'with DAG("{dag_id}"):\n{tasks}{extra}{order}'
    )
