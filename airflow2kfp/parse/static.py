"""Static reading of a DAG file: libcst parsing plus abstract interpretation, never execution.

`read_dag_file` is the entry point. It never raises: every way a file can fail to read becomes a
diagnostic on the returned `ParsedFile`, and whatever could be read is returned with it.

Read: `with DAG(...)` (with or without `as`), `dag = DAG(...)` with `dag=dag`, `@dag` functions
called at module level (dag_id by keyword or positional), tasks made outside any DAG that an edge adds
to one, DAG factories (plain functions returning DAGs), several DAGs per file;
operators resolved through imports and aliases in every Airflow version's paths, providers,
custom operators subclassing Airflow classes; TaskFlow (`@task`, `@task.<kind>`, `@setup`,
`@teardown`, `.override()`, `task(fn)`, `@dag_obj.task`), `__N` ids for repeated calls; XCom values
(`op.output`, `["key"]`, `XComArg`, TaskFlow results) with their implied edges; `>>`, `<<`,
`set_upstream/downstream`, `chain`, `cross_downstream`, `chain_linear`, `Label`, TaskGroups and
`@task_group` (edges to groups resolved at the time of the call), `.as_setup()`/`.as_teardown()`;
tasks in variables, containers, loops over literals, literal `if`s, `while` loops with known tests;
`dag.get_task`/`task_dict`; setup/teardown `with` contexts; `.expand`, `.partial().expand`,
`.expand_kwargs` (mapped task groups too); default_args merged as Airflow merges them.

Python callables: `PythonCallable.source` is the function's full source including its decorators
(not the comments above it), dedented as libcst prints a nested definition.

Not read (each leaves a diagnostic where it could change the graph: an A2K203 error, or an A2K203
warning that makes the DAG's ordering "unproven", docs/static-reading.md): loops over values known
only at run time, conditions on the environment, helpers of modules that cannot be read (installed
packages; modules of the repository are read: parse/importing.py), unknown context managers around tasks, `exec`/`globals()` tricks. A
Label on an edge from or to a group labels each task edge it expands to (Airflow files it under
the group's join node).
"""

from __future__ import annotations

import ast
import dataclasses
import re
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

import libcst as cst

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.model import (
    Dag,
    DagRef,
    FileLocation,
    MappedArg,
    ParsedFile,
    PythonCallable,
    SourceSpan,
    Task,
    TaskArgs,
    Unresolved,
    XComConcat,
    XComMap,
    XComRef,
    XComZip,
)
from airflow2kfp.parse.budget import DEFAULT_LIMITS, OverBudget, ReadingLimits, hard_stops, memory_message
from airflow2kfp.parse.callables import to_callable
from airflow2kfp.parse.interpreter import Interpreter
from airflow2kfp.parse.modules import ModuleFinder, boundary_of
from airflow2kfp.parse.positions import Positions
from airflow2kfp.parse.source import check_syntax as _python_check
from airflow2kfp.parse.source import read_source
from airflow2kfp.parse.subdags import inline_subdags
from airflow2kfp.parse.values import (
    DagRecord,
    Function,
    GroupRecord,
    LabelRecord,
    LocalClass,
    LocalModule,
    MappedArgValue,
    Partial,
    Ref,
    Scope,
    TaskFlow,
    TaskRecord,
    XComDerived,
    XComValue,
)
from airflow2kfp.settings import DEFAULTS

__all__ = ["read_dag_file"]

# what `if __name__ == "__main__":` compares against: a DAG file is imported, never run as main
_MODULE_NAME = "airflow_dag_module"
# `k8s.V1Toleration(...)`: Kubernetes client objects (and Airflow's pod Secret), which mapping reads from their source text
_KUBERNETES_OBJECT = re.compile(r"^(?:\w+\.)*(?:V[12][A-Z]\w*|Secret)\(")


def read_dag_file(
    path: str | Path,
    *,
    display_path: str | None = None,
    max_bytes: int = DEFAULTS.max_file_size,
    limits: ReadingLimits = DEFAULT_LIMITS,
    dag_folder: Path | None = None,
) -> ParsedFile:
    """Read one DAG file statically into the model; never raises, never runs the file's code.

    Modules of the repository it imports are read too (parse/importing.py), found as Airflow's
    sys.path finds them: in `dag_folder` (the DAG folder the file was found in; its own folder when
    None) and in the file's own folder, never outside `dag_folder`.

    `limits` bound what the reading may compute and spend (airflow2kfp/parse/budget.py): over
    budget, the file fails with one error at the offending line and nothing else is read."""
    display = display_path if display_path is not None else str(path)
    try:
        parsed = _read(Path(path), display, max_bytes, limits, dag_folder)
    except RecursionError:
        parsed = _failed(display, diag("A2K107", file=display))
    except MemoryError:
        parsed = _failed(display, diag("A2K113", memory_message(limits), file=display))
    except Exception as error:  # noqa: BLE001 - the contract is a result value, whatever happens
        parsed = _failed(
            display,
            diag("A2K108", f"The static reader failed: {type(error).__name__}: {error}", file=display),
        )
    return dataclasses.replace(parsed, location=FileLocation(str(path), boundary_of(Path(path), dag_folder)))


def _failed(display: str, diagnostic: Diagnostic, *more: Diagnostic | None) -> ParsedFile:
    return ParsedFile(display, diagnostics=(diagnostic, *(d for d in more if d is not None)))


def _read(
    path: Path, display: str, max_bytes: int, limits: ReadingLimits, dag_folder: Path | None
) -> ParsedFile:
    text = read_source(path, display, max_bytes)
    if isinstance(text, Diagnostic):
        return _failed(display, text)
    if not text.strip():
        return ParsedFile(display, diagnostics=(diag("A2K103", file=display),), not_a_dag_file=True)
    checked = _python_check(text, display)
    if isinstance(checked, Diagnostic):
        return _failed(display, checked)
    stopper = _import_stopper(checked, display)
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as error:  # syntax Python accepts but libcst's grammar does not
        return _failed(
            display,
            diag(
                "A2K101",
                f"Invalid Python: {error.message}",
                file=display,
                line=error.raw_line,
                col=error.raw_column,
            ),
        )
    interpreter = Interpreter(
        module,
        Positions(module, text, checked),
        display,
        limits,
        text=text,
        path=path,
        finder=ModuleFinder.for_file(path, dag_folder),
        max_bytes=max_bytes,
    )
    # __file__ is known without running anything: DAG ids are often derived from the file name
    scope = Scope({"__name__": _MODULE_NAME, "__file__": str(path.resolve())})
    top: list[cst.CSTNode] = []  # the module-level statement being run, for a MemoryError's line
    try:
        with hard_stops(interpreter.clock, lambda: tuple(interpreter.statements)):
            dags = _interpret(interpreter, module, scope, text, top)
    except OverBudget as over:
        return _failed(display, _over_budget(interpreter, over), stopper)
    except MemoryError:
        span = interpreter.span(top[-1]) if top else None
        return _failed(
            display,
            diag(
                "A2K113",
                memory_message(limits),
                file=display,
                line=span.line if span and span.line else None,
                col=span.col if span and span.line else None,
            ),
            stopper,
        )
    if stopper is not None and any(
        d.code == stopper.code and d.line == stopper.line and d.file == stopper.file
        for d in interpreter.diagnostics
    ):
        stopper = None  # the reader came to the same loop and said so
    diagnostics = _unsure_on_every_dag(interpreter.diagnostics, dags) + ([stopper] if stopper else [])
    if not dags and interpreter.dag_creations == 0:
        diagnostics.append(diag("A2K104", file=display))
        return ParsedFile(display, (), tuple(diagnostics), not_a_dag_file=True)
    return ParsedFile(display, tuple(dags), tuple(diagnostics))


def _interpret(
    interpreter: Interpreter, module: cst.Module, scope: Scope, text: str, top: list[cst.CSTNode]
) -> list[Dag]:
    """Run the module's statements, then build the model of every DAG found."""
    display = interpreter.file
    for statement in module.body:
        top[:] = [statement]
        try:
            interpreter.run_statement(statement, scope)
        except RecursionError:  # deep but legal nesting in one statement: the rest still reads
            span = interpreter.span(statement)
            interpreter.diagnostics.append(diag("A2K107", file=display, line=span.line, col=span.col))
        except (OverBudget, MemoryError):
            raise
        except Exception as error:  # noqa: BLE001 - one statement's failure must not lose the others
            span = interpreter.span(statement)
            interpreter.diagnostics.append(
                diag(
                    "A2K108",
                    f"The static reader failed on this statement: {type(error).__name__}: {error}",
                    file=display,
                    line=span.line,
                    col=span.col,
                )
            )
    interpreter.report_dagless()
    return list(inline_subdags([_to_dag(record, interpreter, text) for record in interpreter.dags]))


def _unsure_on_every_dag(diagnostics: list[Diagnostic], dags: list[Dag]) -> list[Diagnostic]:
    """A doubt about the edges that no DAG could be named for (code at module level, outside any
    `with DAG`) concerns every DAG of the file: each gets it, so each one's ordering is unproven (a
    warning) or each one is not converted (an error: tasks or edges are surely missing somewhere)."""
    kept: list[Diagnostic] = []
    for found in diagnostics:
        if found.code == "A2K203" and found.dag_id is None and dags:
            kept.extend(dataclasses.replace(found, dag_id=dag.dag_id) for dag in dags)
        else:
            kept.append(found)
    return kept


def _over_budget(interpreter: Interpreter, over: OverBudget) -> Diagnostic:
    where = over.where
    if where is None and over.statements:  # rung by the hard stop: the innermost statement it stopped
        interpreter.statements[:] = over.statements[:-1]
        try:
            where = interpreter.span(over.statements[-1])
        except Exception:  # noqa: BLE001 - a line is a nicety; the error is what matters
            where = None
    line = where.line if where is not None and where.line else None
    return diag(
        over.budget.code,
        over.message,
        file=where.file if where is not None and line is not None else interpreter.file,
        line=line,
        col=where.col if line is not None and where is not None else None,
    )


_EXITS = {"sys.exit", "exit", "quit", "os._exit", "os.abort", "os.kill"}


def _import_stopper(tree: ast.Module, display: str) -> Diagnostic | None:
    """The first module-level statement an import would never get past: a `while True` without a
    `break`, an exit call, or `raise SystemExit`. The static reading goes on past it; Airflow's
    import does not, so what follows would not load there (that is what the warning says)."""
    for statement in tree.body:
        what = None
        if (
            isinstance(statement, ast.While)
            and isinstance(statement.test, ast.Constant)
            and statement.test.value
        ):
            if not _can_leave(statement):
                what = "an endless loop"
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            name = ast.unparse(statement.value.func)
            if name in _EXITS:
                what = f"{name}()"
        elif isinstance(statement, ast.Raise) and statement.exc is not None:
            raised = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
            if ast.unparse(raised) in {"SystemExit", "KeyboardInterrupt"}:
                what = f"raise {ast.unparse(raised)}"
        if what:
            return diag(
                "A2K109",
                f"importing this file never gets past {what}: Airflow loads nothing "
                "defined after this line, the static reading does",
                file=display,
                line=statement.lineno,
                col=statement.col_offset,
            )
    return None


def _can_leave(loop: ast.While) -> bool:
    """Whether a `while True:` has a way out: a `break` of its own (not one of a loop or function
    inside it) or a `raise`."""
    pending: list[ast.AST] = list(loop.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Break, ast.Raise)):
            return True
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            pending.extend(node.orelse)  # a break in a loop's else clause leaves the outer loop
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        pending.extend(ast.iter_child_nodes(node))
    return False


def _to_dag(record: DagRecord, interpreter: Interpreter, module_source: str) -> Dag:
    diagnostics = interpreter.diagnostics

    def model(
        values: dict[str, Any], unresolved: list[str], span: SourceSpan, derived_from: str | None = None
    ) -> dict[str, Any]:
        """`derived_from`: the module's text, for mapped arguments (a zip/map/concat of XComs is read)."""
        # walked first (bounded, and counted as steps): the copy made next is no bigger
        interpreter.walk(values, span)
        return {
            k: _model_value(v, unresolved)
            if derived_from is None or (found := _derived(v, derived_from)) is None
            else found
            for k, v in values.items()
        }

    def warn(where: str, unresolved: list[str], task: TaskRecord | None) -> None:
        span = task.span if task else record.span
        for source in unresolved:
            if _KUBERNETES_OBJECT.match(source):  # carried as source by the kubernetes mapping
                continue
            diagnostics.append(
                diag(
                    "A2K204",
                    f"{where} `{source}` cannot be evaluated statically; kept as source text.",
                    file=span.file,
                    line=span.line,
                    col=span.col,
                    dag_id=record.dag_id,
                    task_id=task.task_id if task else None,
                )
            )

    unresolved: list[str] = []
    settings = model(record.settings, unresolved, record.span)
    warn("The DAG setting", unresolved, None)
    tasks = []
    for task in record.tasks.values():
        unresolved = []
        interpreter.walk(
            task.values, task.span
        )  # bounded, and counted as steps: the copy made next is no bigger
        callable_ = to_callable(
            task.python_callable, module_source, partial(_model_value, unresolved=unresolved)
        )
        # a lambda, partial or bound method that was read is no unknown value, though Unresolved as an argument
        args = TaskArgs(
            {
                k: _model_value(v, [] if k == "python_callable" and callable_ else unresolved)
                for k, v in task.values.items()
            },
            task.explicit,
        )
        mapped = model(task.mapped_args, unresolved, task.span, module_source)
        warn("The argument", unresolved, task)
        tasks.append(
            Task(
                task_id=task.task_id,
                operator=task.operator,
                operator_module=task.operator_module,  # type: ignore[arg-type]
                span=task.span,
                args=args,
                group_id=task.group.group_id,
                python_callable=callable_,
                is_mapped=task.is_mapped,
                mapped_args=mapped,
                is_setup=task.is_setup,
                is_teardown=task.is_teardown,
                operator_bases=task.bases,
            )
        )
    description = settings.get("description")
    return Dag(
        dag_id=record.dag_id,
        span=record.span,
        tasks=tuple(tasks),
        edges=tuple(record.edges),
        settings=settings,
        description=description if isinstance(description, str) else None,
        edge_labels=dict(record.edge_labels),
        task_groups={gid: _group_entry(g) for gid, g in record.groups.items()},
        mapped_groups={
            gid: {
                k: _derived(v, module_source) or _model_value(v, unresolved) for k, v in g.mapped_args.items()
            }
            for gid, g in record.groups.items()
            if g.mapped_args is not None
        },
        source_mode="static",
        airflow_version="3" if _AIRFLOW_SDK_IMPORT.search(module_source) else None,
    )


# `from airflow.sdk import ...`, `import airflow.sdk`: the Task SDK exists in Airflow 3 only
_AIRFLOW_SDK_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+airflow\.sdk\b|import[ \t]+airflow\.sdk\b)", re.MULTILINE
)


def _group_entry(group: GroupRecord) -> tuple[str | None, str | None]:
    parent = group.parent.group_id if group.parent is not None else None
    return parent, group.tooltip


def _model_value(value: Any, unresolved: list[str]) -> Any:
    """An interpreter value as a model value: literals as they are, XCom results as XComRef."""
    if isinstance(value, Unresolved):
        unresolved.append(value.source)
        # a lambda, partial, object ... is its source text to everything but a task's python_callable
        return value if type(value) is Unresolved else Unresolved(value.source)
    if isinstance(value, XComValue):
        if value.task.task_id is None:
            return Unresolved("<output of an unnamed task>")
        return XComRef(value.task.task_id, value.key)
    if isinstance(value, MappedArgValue):
        return MappedArg(value.group.group_id or "", value.key)
    if isinstance(value, DagRecord):  # SubDagOperator(subdag=...): inlined by parse/subdags.py
        return DagRef(value.dag_id)
    if isinstance(value, dict):
        return {_model_value(k, unresolved): _model_value(v, unresolved) for k, v in value.items()}
    if isinstance(value, list):
        return [_model_value(v, unresolved) for v in value]
    if isinstance(value, tuple):
        return tuple(_model_value(v, unresolved) for v in value)
    if isinstance(value, (set, frozenset)):
        return sorted((_model_value(v, unresolved) for v in value), key=repr)
    if isinstance(value, PurePosixPath):
        return str(value)
    if isinstance(value, range):
        return list(value) if value.start == value.stop or _short_range(value) else Unresolved(repr(value))
    if isinstance(value, Function):  # callbacks, python_callable: the function's source
        return value.callable()
    if isinstance(value, TaskFlow):
        return value.function.callable()
    stand_in = _stand_in(value)
    if stand_in is not None:
        return Unresolved(stand_in)
    return value


def _derived(value: Any, module_source: str) -> Any:
    """A zip/map/concat of XComs (an XComDerived the reader built) as the model's XComZip / XComMap /
    XComConcat; None when a part of it cannot be read (a function with no source, a fill value that is
    no literal, a `.map(...)` Airflow refuses), which leaves it the source text it was."""
    if isinstance(value, XComValue):
        return XComRef(value.task.task_id, value.key) if value.task.task_id is not None else None
    if not isinstance(value, XComDerived) or not value.kind:
        return None
    args = [_derived(a, module_source) for a in value.args]
    if not args or any(a is None for a in args):
        return None
    if isinstance(args[0], XComRef) and args[0].key != "return_value":
        return None  # Airflow: "cannot map against non-return XCom"
    unresolved: list[str] = []
    if value.kind == "map":
        callables = [
            to_callable(c, module_source, partial(_model_value, unresolved=unresolved))
            if not isinstance(c, Ref)
            else PythonCallable(c.name, None, module=c.module)
            for c in value.callables
        ]
        found = [c for c in callables if c is not None]
        if len(found) != len(callables) or unresolved:
            return None
        return XComMap(args[0], tuple(found))
    if value.kind == "zip":
        fill = _model_value(value.fillvalue, unresolved) if value.filled else None
        return XComZip(tuple(args), value.filled, fill) if not unresolved else None
    return XComConcat(tuple(args))


def _short_range(value: range) -> bool:
    try:
        return len(value) <= 1000
    except OverflowError:  # longer than the machine's integers
        return False


def _stand_in(value: Any) -> str | None:
    """Source-like text for reader objects that have no model value (a task passed as an argument)."""
    if isinstance(value, Ref):
        return value.qualname
    if isinstance(value, TaskRecord):
        return value.task_id or "<task>"
    if isinstance(value, DagRecord):
        return value.dag_id
    if isinstance(value, GroupRecord):
        return value.group_id or "<root group>"
    if isinstance(value, LabelRecord):
        return f"Label({value.label!r})"
    if isinstance(value, (LocalClass, Partial)):
        return type(value).__name__
    if isinstance(value, LocalModule):  # a module of the repository handed over as a value
        return value.name
    return None
