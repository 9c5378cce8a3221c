"""The one model passed between stages: what a DAG file says, independent of how it was read.

Both front ends (static libcst reading and Airflow import) produce these values; mapping, emitting,
reporting and verification only ever consume them. Every value is frozen; collections are tuples or
read-only by convention (mappings are plain dicts so results pickle across worker processes).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from airflow2kfp.diagnostics import Diagnostic

DEFAULT_TRIGGER_RULE = "all_success"


@dataclass(frozen=True)
class SourceSpan:
    """Where something stands in a DAG file (1-based line, 0-based column, like Python's ast)."""

    file: str
    line: int
    col: int = 0
    end_line: int | None = None
    end_col: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col + 1}"


@dataclass(frozen=True)
class Duration:
    """A `timedelta` argument, kept exact in seconds."""

    seconds: float


@dataclass(frozen=True)
class Unresolved:
    """An argument value the reader could not reduce to a literal; kept as its source text."""

    source: str


@dataclass(frozen=True)
class XComRef:
    """A value produced by another task at run time: `t.output`, a TaskFlow call's result, `r["key"]`.

    Airflow adds an upstream edge for every XComRef passed to a task; readers do the same.
    """

    task_id: str
    key: str = "return_value"


@dataclass(frozen=True)
class XComZip:
    """`a.zip(b, ...)` (Airflow's ZipXComArg): the i-th items of each list, as a tuple; as many as the
    shortest list, or (with `fillvalue`) the longest, the missing items filled as
    `itertools.zip_longest` does. `args` are XComRefs or other derived XComs."""

    args: tuple[Any, ...]
    filled: bool = False  # fillvalue= was given (None is a fill value too)
    fillvalue: Any = None


@dataclass(frozen=True)
class XComMap:
    """`a.map(f)` (Airflow's MapXComArg; chained maps are one): each item of `arg` passed through
    `callables` in order, when the mapped task's instance reads it."""

    arg: Any  # an XComRef or another derived XCom
    callables: tuple[PythonCallable, ...]


@dataclass(frozen=True)
class XComConcat:
    """`a.concat(b, ...)` (Airflow's ConcatXComArg): the items of each list, one list after the other."""

    args: tuple[Any, ...]


DERIVED_XCOMS = (XComZip, XComMap, XComConcat)


def derived_inputs(value: Any) -> list[XComRef]:
    """The XComs a derived XCom reads, in order (each once)."""
    found: list[XComRef] = []
    pending = [value]
    while pending:
        item = pending.pop(0)
        if isinstance(item, XComMap):
            pending.insert(0, item.arg)
        elif isinstance(item, (XComZip, XComConcat)):
            pending[:0] = list(item.args)
        elif isinstance(item, XComRef) and item not in found:
            found.append(item)
    return found


def with_module_source(value: Any, text: str) -> Any:
    """A derived XCom whose map functions defined in the DAG file carry the file's text (`text`), as a
    task's callable does: the step carries the module-level code they use."""
    if isinstance(value, XComMap):
        return XComMap(
            with_module_source(value.arg, text),
            tuple(
                replace(c, module_source=text) if c.module is None and c.module_source is None else c
                for c in value.callables
            ),
        )
    if isinstance(value, (XComZip, XComConcat)):
        return replace(value, args=tuple(with_module_source(a, text) for a in value.args))
    return value


def derived_text(value: Any) -> str:
    """A derived XCom as a DAG would write it: `get_cmd.zip(get_env).map(to_kwargs)`."""
    if isinstance(value, XComMap):
        names = ("a lambda" if c.name == "<lambda>" else c.name for c in value.callables)
        return derived_text(value.arg) + "".join(f".map({name})" for name in names)
    if isinstance(value, (XComZip, XComConcat)):
        method = "zip" if isinstance(value, XComZip) else "concat"
        rest = [derived_text(a) for a in value.args[1:]]
        if isinstance(value, XComZip) and value.filled:
            rest.append(f"fillvalue={value.fillvalue!r}")
        return f"{derived_text(value.args[0])}.{method}({', '.join(rest)})"
    if isinstance(value, XComRef):
        return value.task_id if value.key == "return_value" else f"{value.task_id}[{value.key!r}]"
    return value.source if isinstance(value, Unresolved) else repr(value)


@dataclass(frozen=True)
class DagRef:
    """A DAG passed as an argument: SubDagOperator's `subdag`."""

    dag_id: str


@dataclass(frozen=True)
class MappedArg:
    """Inside a mapped task group (`@task_group` ... `.expand(x=...)`), the value of the group's
    argument `key` for the group's instance running: one item of the mapped list (for
    `.expand_kwargs`, the item's `key`). Airflow calls it a MappedArgument."""

    group_id: str
    key: str


@dataclass(frozen=True)
class TaskArgs:
    """The effective keyword arguments of a task, with where each came from.

    `values` is what Airflow would see: `default_args` merged under the operator's own keyword
    arguments (the operator's win), exactly as Airflow's `BaseOperator` applies them.
    `explicit` names the keys the operator call itself passed.
    """

    values: Mapping[str, Any] = field(default_factory=dict)
    explicit: frozenset[str] = frozenset()

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.values


@dataclass(frozen=True)
class BoundObject:
    """The object a bound-method callable belongs to (`normaliser.normalise`, `Loader(path).run`).

    Either `source`, Python text building it as the DAG file does (`Normaliser(0, 200)`, or a
    module-level name such as `normaliser`), or `state`, its attributes as the Airflow import found
    them (plain data), with which the step rebuilds it without calling the constructor again.
    """

    class_name: str  # the class as the DAG file names it
    module: str | None = None  # where the class is imported from; None: defined in the DAG file
    source: str | None = None
    state: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class PythonCallable:
    """The source of a Python callable behind a task (PythonOperator / TaskFlow), when known.

    `name` and `source` are the function that runs (for a lambda, `<lambda>` and the lambda
    expression; for a bound method, the method's `def`). How the task binds it, when the callable is
    not that plain function, is in the other fields: `functools.partial` arguments, the object of a
    bound method, and the values of names it reads from an enclosing function (a closure's cells,
    the locals of a `@dag` function around a `@task`).
    """

    name: str
    source: str | None
    span: SourceSpan | None = None
    module: str | None = None  # set when the callable is imported from elsewhere
    # the text of the DAG file defining it, so mapping can carry the module-level imports, constants
    # and helpers it uses without re-reading files; None when unknown
    module_source: str | None = None
    partial_args: tuple[Any, ...] = ()  # functools.partial(f, *partial_args, **partial_kwargs)
    partial_kwargs: Mapping[str, Any] = field(default_factory=dict)
    bound_object: BoundObject | None = None
    # name -> value for names the function reads from enclosing functions, where plain data
    cells: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    task_id: str
    operator: str  # the class name, e.g. "BashOperator"; "@task" style decorators as "task", "task.bash"
    operator_module: str  # canonical module the class comes from, "" when unknown
    span: SourceSpan
    args: TaskArgs = field(default_factory=TaskArgs)
    group_id: str | None = None  # full TaskGroup path, e.g. "outer.inner"
    python_callable: PythonCallable | None = None
    is_mapped: bool = False  # dynamic task mapping (.expand() / .expand_kwargs())
    # the arguments mapped over: {"x": [1, 2, 3]} for .expand(x=[1, 2, 3]); an XComRef when the
    # list comes from an upstream task; XComZip / XComMap / XComConcat for a zip, map or concat of XComs;
    # {"*": value} for .expand_kwargs(value)
    mapped_args: Mapping[str, Any] = field(default_factory=dict)
    is_setup: bool = False
    is_teardown: bool = False
    # qualified names of a custom operator's base classes (set by the static reader for classes the DAG
    # file defines, their ancestors among them too)
    operator_bases: tuple[str, ...] = ()
    # the operator class's ancestors as the import found them (its MRO, nearest first, without object)
    operator_mro: tuple[str, ...] = ()
    # the class is defined in the DAG file itself (no image imports it without running the DAG file)
    operator_in_dag_file: bool = False

    @property
    def trigger_rule(self) -> str:
        rule = self.args.get("trigger_rule", DEFAULT_TRIGGER_RULE)
        if isinstance(rule, str):
            # TriggerRule.ALL_DONE and "all_done" both read as "all_done"
            return rule.rsplit(".", 1)[-1].lower()
        return DEFAULT_TRIGGER_RULE

    @property
    def qualified_operator(self) -> str:
        return f"{self.operator_module}.{self.operator}" if self.operator_module else self.operator


@dataclass(frozen=True)
class Dag:
    dag_id: str
    span: SourceSpan
    tasks: tuple[Task, ...]
    # (upstream_task_id, downstream_task_id), deduplicated, in first-seen order
    edges: tuple[tuple[str, str], ...]
    # DAG-level settings as read: schedule, catchup, start_date, tags, params, default_args, doc_md, ...
    settings: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None
    # Label("...") edge modifiers: (upstream, downstream) -> label
    edge_labels: Mapping[tuple[str, str], str] = field(default_factory=dict)
    # TaskGroups by full group id -> (parent group id or None, tooltip); tasks name theirs in group_id
    task_groups: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)
    # mapped TaskGroups (`.expand` / `.expand_kwargs` on a @task_group) -> the arguments mapped over,
    # as Task.mapped_args; the tasks inside read them as MappedArg values
    mapped_groups: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # SubDagOperator tasks whose sub-DAG was inlined as a group of that id -> the sub-DAG's dag_id
    subdags: Mapping[str, str] = field(default_factory=dict)
    # where the reading came from: "static" or "airflow" (or "airflow+static" after merging)
    source_mode: str = "static"
    # the Airflow the DAG is written for: the version of the Airflow that imported it ("3.3.2"), or
    # "3" when the static reader saw `airflow.sdk` imports (Airflow 3 only); None when unknown
    airflow_version: str | None = None

    @property
    def airflow_major(self) -> int | None:
        head = (self.airflow_version or "").split(".", 1)[0]
        return int(head) if head.isdigit() else None

    def task(self, task_id: str) -> Task:
        return self._tasks_by_id[task_id]  # KeyError for an unknown id

    def upstream(self, task_id: str) -> tuple[str, ...]:
        return self._upstream_by_id.get(task_id, ())

    # indexes built on first use (cached_property writes the instance's __dict__, which a frozen
    # dataclass allows): a lookup per task must not scan every task or edge of a large DAG
    @cached_property
    def _tasks_by_id(self) -> dict[str, Task]:
        index: dict[str, Task] = {}
        for task in self.tasks:
            index.setdefault(task.task_id, task)  # the first one, as a scan in order finds
        return index

    @cached_property
    def _upstream_by_id(self) -> dict[str, tuple[str, ...]]:
        index: dict[str, list[str]] = {}
        for up, down in self.edges:
            index.setdefault(down, []).append(up)
        return {down: tuple(ups) for down, ups in index.items()}


@dataclass(frozen=True)
class FileLocation:
    """Where a DAG file lies, for what its tasks read from disk (template files such as
    `bash_command="scripts/run.sh"`).

    `fileloc` is the file as opened, unresolved, as Airflow's DagBag records it for every DAG the file
    makes (`DAG.fileloc = module.__file__`, even for a DAG or task a helper module builds): its folder
    is the first one Airflow's Jinja loader searches. `boundary` is the real path of the folder being
    converted (the DAG folder the file was found in): DAG files are hostile input, and no file outside
    it is read into the output.
    """

    fileloc: str
    boundary: str


def is_inside(folder: str, real: str) -> bool:
    """`real` (a real path: symbolic links resolved) is `folder` (a real path too) or lies below it."""
    return os.path.commonpath([folder, real]) == folder


@dataclass(frozen=True)
class ParsedFile:
    """Everything one DAG file yielded: zero or more DAGs, and the diagnostics of reading it."""

    path: str
    dags: tuple[Dag, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    # True when the file does not look like a DAG file at all (it is skipped, not failed)
    not_a_dag_file: bool = False
    location: FileLocation | None = None  # set by the readers; None: the DAG's own file and its folder
