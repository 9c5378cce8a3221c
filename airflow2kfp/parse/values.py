"""The values the static interpreter computes with, besides plain literal data.

Literal data (str, int, list, dict, ...) is kept as ordinary Python values, and what cannot be known
is the model's `Unresolved`. Everything else a DAG file builds - DAGs, task groups, tasks, XCom
results, functions, imported names - is one of the classes here. Tasks, groups and DAGs are mutable
records (identity semantics) because dependencies are added to them as the file is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from airflow2kfp.model import PythonCallable, SourceSpan, Unresolved

_SUFFIX = re.compile(r"__(\d+)$")


@dataclass(frozen=True)
class Ref:
    """A name imported from another module, as a dotted path: `airflow.operators.bash.BashOperator`.

    `b.BashOperator` after `import airflow.operators.bash as b` is the same Ref as the direct import.
    """

    qualname: str

    @property
    def module(self) -> str:
        return self.qualname.rpartition(".")[0]

    @property
    def name(self) -> str:
        return self.qualname.rpartition(".")[2]

    def attr(self, name: str) -> Ref:
        return Ref(f"{self.qualname}.{name}")


@dataclass(frozen=True)
class LocalClass:
    """A class defined in the DAG file; an operator when one of its bases comes from Airflow."""

    name: str
    bases: tuple[str, ...]  # qualified names of the bases, local ones by their class name
    is_operator: bool
    # class-level constants (`class Config: TABLES = [...]`), readable as `Config.TABLES`
    attrs: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # each method's source (`def` dedented, decorators included), made when a bound method needs it
    methods: dict[str, Callable[[], str]] = field(default_factory=dict, compare=False, hash=False)
    # defined in a module of the repository the DAG file imports: its dotted name and text ("" and
    # None for a class of the DAG file itself)
    module: str = field(default="", compare=False, hash=False)
    module_source: str | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True, eq=False)
class LocalModule:
    """A module of the repository the DAG file imports (`import common.tasks as t`), read statically:
    its attributes are the names its code defines (`scope`), and its submodules."""

    name: str
    scope: Scope


@dataclass(eq=False)
class Scope:
    """Variables of the module or of one function call; lookups fall back to the enclosing scope."""

    vars: dict[str, Any] = field(default_factory=dict)
    parent: Scope | None = None

    def lookup(self, name: str) -> tuple[bool, Any]:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.vars:
                return True, scope.vars[name]
            scope = scope.parent
        return False, None


@dataclass(eq=False)
class Function:
    """A `def` in the file. `kind` says what its decorators make of it: plain, dag or task_group."""

    node: cst.FunctionDef
    scope: Scope  # where it was defined, for its free variables
    span: SourceSpan
    source: str
    kind: str = "plain"
    options: dict[str, Any] = field(default_factory=dict)  # the decorator's keyword arguments
    # the names its parameters' defaults read, with their values when it was defined (see defaults_read)
    defaults: dict[str, Any] = field(default_factory=dict)
    # the source of a decorator the reader does not know (it may make the function a task or wrap
    # it in anything): the function is still read as written, but a call of it is a doubt
    unknown_decorator: str | None = None
    # the module it is written in (parse/modules.py SourceModule): its code runs there
    origin: Any = None

    @property
    def name(self) -> str:
        return self.node.name.value

    @property
    def module_source(self) -> str | None:
        return self.origin.text if self.origin is not None else None

    def callable(self) -> PythonCallable:
        return PythonCallable(self.name, self.source, self.span)


# Callables other than a named function. Each is an `Unresolved` (its source text) to every part of
# the reader that does not know it, exactly as before it was recognised; the task's python_callable
# reads what it knows (see parse/callables.py). `scope` is where names it reads are looked up.


@dataclass(frozen=True, eq=False)
class LambdaValue(Unresolved):
    """`lambda ...: ...`; `source` is the lambda expression."""

    span: SourceSpan | None = None
    scope: Scope | None = None
    defaults: dict[str, Any] = field(default_factory=dict)  # as Function.defaults
    module_source: str | None = None  # the text of the module it is written in


@dataclass(frozen=True, eq=False)
class InstanceValue(Unresolved):
    """An object of a class that is not an operator: `Normaliser(0, 200)`; `source` is that call."""

    cls: Any = None  # LocalClass or Ref
    scope: Scope | None = None


@dataclass(frozen=True, eq=False)
class BoundMethodValue(Unresolved):
    """`obj.method` on an InstanceValue (or `Class.method` on a local class)."""

    owner: Any = None  # InstanceValue or LocalClass
    method: str = ""


@dataclass(frozen=True, eq=False)
class PartialValue(Unresolved):
    """`functools.partial(target, *args, **kwargs)`, nested partials flattened into one."""

    target: Any = None
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class DataFileValue(Unresolved):
    """A data file the DAG file opened (`open(path)`, `Path(path).open()`), read inside the folder being
    converted (parse/data_files.py); `source` is the call that opened it."""

    path: str = ""
    data: bytes = b""
    encoding: Any = None  # `open(..., encoding=...)`; None: UTF-8
    binary: bool = False


@dataclass(frozen=True, eq=False)
class GlobalsValue(Unresolved):
    """`globals()`: the namespace of the module whose code runs, where DAGs are registered by name."""

    scope: Any = None  # Scope


@dataclass(frozen=True, eq=False)
class TaskFlow:
    """A `@task`-decorated function (or one adjusted with `.override(...)`)."""

    function: Function
    operator: str  # "task", "task.bash", ...
    module: str  # "airflow.decorators", "airflow.sdk", as imported
    options: dict[str, Any]  # decorator and override keyword arguments
    explicit: frozenset[str] = frozenset()
    is_setup: bool = False
    is_teardown: bool = False


@dataclass(frozen=True, eq=False)
class XComDerived(Unresolved):
    """`xcom.map(fn)`, `a.zip(b)`, `a.concat(b)`: an XComArg Airflow builds from these tasks' results;
    its value is known at run time only, its upstream edges now."""

    tasks: tuple[Any, ...] = ()  # TaskRecord
    # how Airflow builds it (model.XComZip/XComMap/XComConcat): "map", "zip" or "concat"; what it reads
    # (XComValue or XComDerived: for map the one XCom mapped); map's functions as read (Function,
    # LambdaValue, ...), chained maps flattened as Airflow does; zip's fillvalue when given
    kind: str = ""
    args: tuple[Any, ...] = ()
    callables: tuple[Any, ...] = ()
    filled: bool = False
    fillvalue: Any = None


@dataclass(frozen=True)
class TaskDecorator:
    """`task`, `task.bash(...)`, ... applied by call rather than `@`: `task(retries=2)(fn)`, `task(fn)`."""

    operator: str
    module: str
    options: dict[str, Any]


@dataclass(frozen=True, eq=False)
class Partial:
    """`Operator.partial(...)` or `taskflow_fn.partial(...)`, waiting for `.expand(...)`."""

    target: Any  # Ref, LocalClass, TaskFlow or a @task_group Function
    kwargs: dict[str, Any]
    node: cst.Call


@dataclass(eq=False)
class TaskRecord:
    """A task being built. `task_id` is None when it could not be named (a diagnostic says why)."""

    task_id: str | None
    operator: str
    operator_module: str
    span: SourceSpan
    dag: DagRecord
    group: GroupRecord
    values: dict[str, Any] = field(default_factory=dict)
    explicit: frozenset[str] = frozenset()
    # what python_callable was: a Function, TaskFlow, LambdaValue, PartialValue, BoundMethodValue, or
    # an imported name as a PythonCallable; made a PythonCallable when the file has been read
    python_callable: Any = None
    is_mapped: bool = False
    mapped_args: dict[str, Any] = field(default_factory=dict)
    is_setup: bool = False
    is_teardown: bool = False
    bases: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The id of a task that is in a DAG (only named tasks ever are)."""
        return self.task_id or ""


@dataclass(frozen=True, eq=False)
class MappedArgValue:
    """A mapped task group's argument inside the group: one item per group instance."""

    group: GroupRecord
    key: str


@dataclass(frozen=True)
class XComValue:
    """What a task returns at run time: a TaskFlow call's result, `op.output`, `result["key"]`."""

    task: TaskRecord
    key: str = "return_value"


@dataclass(eq=False)
class GroupRecord:
    """A TaskGroup; the root group of a DAG has `group_id` None."""

    group_id: str | None
    dag: DagRecord
    parent: GroupRecord | None
    prefix_group_id: bool = True
    tooltip: str | None = None
    default_args: dict[str, Any] = field(default_factory=dict)
    tasks: list[TaskRecord] = field(default_factory=list)  # every task inside, sub-groups included
    mapped_args: dict[str, Any] | None = (
        None  # a mapped group's expand arguments ({"*": ...} for expand_kwargs)
    )

    def child_id(self, label: str) -> str:
        """Airflow's TaskGroup.child_id: the group's id prefixes its children when asked to."""
        if self.prefix_group_id and self.group_id:
            return f"{self.group_id}.{label}"
        return label

    def ancestry(self) -> list[GroupRecord]:
        groups: list[GroupRecord] = []
        group: GroupRecord | None = self
        while group is not None:
            groups.append(group)
            group = group.parent
        return groups

    def roots(self) -> list[TaskRecord]:
        """Airflow's get_roots(), evaluated now: tasks with no upstream inside the group."""
        ids = {t.key for t in self.tasks}
        return [t for t in self.tasks if ids.isdisjoint(self.dag.upstream.get(t.key, {}))]

    def leaves(self) -> list[TaskRecord]:
        """Airflow's get_leaves(): tasks with no downstream inside the group, looking through teardowns."""
        ids = {t.key for t in self.tasks}
        by_id = {t.key: t for t in self.tasks}
        dag = self.dag

        def has_non_teardown_downstream(task: TaskRecord, exclude: str | None) -> bool:
            for down in dag.downstream.get(task.key, {}):
                if down != exclude and down in ids and not by_id[down].is_teardown:
                    return True
            return False

        def first_non_teardown(task: TaskRecord) -> list[TaskRecord]:
            found: list[TaskRecord] = []
            for up in dag.upstream.get(task.key, {}):
                if up not in ids:
                    continue
                upstream = by_id[up]
                if upstream.is_teardown:
                    found += first_non_teardown(upstream)
                elif not (task.is_teardown and upstream.is_setup):
                    found.append(upstream)
            return found

        leaves: list[TaskRecord] = []
        for task in self.tasks:
            if not ids.isdisjoint(dag.downstream.get(task.key, {})):
                continue
            if not task.is_teardown:
                leaves.append(task)
                continue
            for up in first_non_teardown(task):
                if not has_non_teardown_downstream(up, exclude=task.task_id) and up not in leaves:
                    leaves.append(up)
        return leaves


@dataclass(eq=False)
class DagRecord:
    dag_id: str
    span: SourceSpan
    settings: dict[str, Any]
    default_args: dict[str, Any]
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    edges: dict[tuple[str, str], None] = field(default_factory=dict)  # a dict keeps first-seen order
    edge_labels: dict[tuple[str, str], str] = field(default_factory=dict)
    groups: dict[str, GroupRecord] = field(default_factory=dict)
    # neighbours per task id, as insertion-ordered dicts: set order would vary from run to run
    upstream: dict[str, dict[str, None]] = field(default_factory=dict)
    downstream: dict[str, dict[str, None]] = field(default_factory=dict)
    # highest `__N` suffix used per id prefix, so TaskFlow ids are made unique without rescans
    suffixes: dict[str, int] = field(default_factory=dict)
    # the stand-in "DAG" of tasks made outside any DAG, until an edge to a task of a real DAG adds
    # them there (Airflow's _set_relatives); never one of the results
    placeholder: bool = False
    root: GroupRecord = field(init=False)

    def __post_init__(self) -> None:
        self.root = GroupRecord(None, self, None)

    def add_task(self, task: TaskRecord) -> None:
        assert task.task_id is not None
        self.tasks[task.task_id] = task
        for group in task.group.ancestry():
            group.tasks.append(task)
        match = _SUFFIX.search(task.task_id)
        if match:
            prefix = task.task_id[: match.start()]
            self.suffixes[prefix] = max(self.suffixes.get(prefix, 0), int(match.group(1)))

    def unique_label(self, label: str, group: GroupRecord) -> str:
        """Airflow's get_unique_task_id: a repeated TaskFlow call gets `name__1`, `name__2`, ..."""
        full = group.child_id(label)
        if full not in self.tasks:
            return label
        prefix = _SUFFIX.split(full)[0]
        core = _SUFFIX.split(label)[0]
        return f"{core}__{self.suffixes.get(prefix, 0) + 1}"

    def add_edge(self, up: str, down: str, label: str | None = None) -> None:
        self.edges[(up, down)] = None
        self.upstream.setdefault(down, {})[up] = None
        self.downstream.setdefault(up, {})[down] = None
        if label is not None:
            self.edge_labels[(up, down)] = label


@dataclass(eq=False)
class LabelRecord:
    """`Label("text")` between tasks: it remembers both sides so either order of `>>` links them."""

    label: str
    upstream: list[TaskRecord] = field(default_factory=list)
    downstream: list[TaskRecord] = field(default_factory=list)


@dataclass(frozen=True)
class Builtin:
    """A Python builtin the evaluator may apply to literal data (range, len, str, ...)."""

    name: str


def defaults_read(params: cst.Parameters, scope: Scope) -> dict[str, Any]:
    """The names the parameters' defaults read, with their values now: Python evaluates defaults when
    the function is defined (`lambda table=table: ...` in a loop keeps each table), while the body
    reads names when it runs (their last values); parse/callables.py decides which applies."""
    defaults = [
        p.default
        for p in (*params.posonly_params, *params.params, *params.kwonly_params)
        if p.default is not None
    ]
    found: dict[str, Any] = {}
    for name in sorted({n for d in defaults for n in _names(d)}):
        present, value = scope.lookup(name)
        if present:
            found[name] = value
    return found


def _names(node: cst.CSTNode) -> set[str]:
    names: set[str] = set()

    class Visitor(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            names.add(name.value)

    node.visit(Visitor())
    return names
