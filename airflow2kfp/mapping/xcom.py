"""XCom between tasks: what each task pulls and pushes, and where a pulled value comes from in KFP.

Airflow passes data between tasks through XComs: an XComArg (`t.output`, a TaskFlow result) given as
an argument, `{{ ti.xcom_pull(task_ids=..., key=...) }}` in a templated field, or
`ti.xcom_pull(...)` / `ti.xcom_push(...)` in a callable. In KFP a value travels from an output of
one step to an input of another, so every pull whose task ids and key are literals is found here
(templates with jinja2's own parser, Python with `ast`) and wired to the producer's output.

Ordering: Airflow adds an edge for an XComArg, not for a pull. A KFP input orders the consumer after
its producer, so a pull is wired only from a task upstream of the consumer in Airflow (the ordering
is then the same); a pull from any other task gets the value Airflow's pull gives when the producer
has not run, `None`, and is reported (in Airflow it depends on timing).

How producers write their values: Python steps JSON-encode them (`json`); a BashOperator's
`return_value` is the last line of its output, as text (`text`); a KubernetesPodOperator with
do_xcom_push writes JSON to /airflow/xcom/return.json. Tasks that push nothing give `None`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from airflow2kfp.mapping.control_flow import collected, effective_rule
from airflow2kfp.model import DEFAULT_TRIGGER_RULE, Dag, Task, XComRef

RETURN_VALUE = "return_value"
JSON, TEXT, NOTHING = "json", "text", "nothing"  # how a producer's XCom reaches KFP
PULL_RECEIVERS = frozenset({"ti", "task_instance"})


@dataclass(frozen=True)
class Pull:
    """One `xcom_pull(...)` call as written."""

    task_ids: tuple[str, ...] | None  # None: not known before the run
    key: str | None  # None: not known before the run
    many: bool  # task_ids given as a list: the pull returns a list
    dag_id: str | None  # a literal dag_id argument ("" when given but not a literal)
    line: int  # 1-based, in the text analysed; 0 when unknown
    source: str  # the call, for messages

    @property
    def known(self) -> bool:
        return self.task_ids is not None and self.key is not None and self.dag_id != ""


@dataclass(frozen=True)
class Push:
    key: str | None  # None: not a literal
    line: int


@dataclass(frozen=True)
class TemplateUse:
    """What a Jinja template reads: its xcom_pull calls and the context names it uses."""

    pulls: tuple[Pull, ...]
    names: frozenset[str]
    error: str | None = None  # the template does not parse (Airflow fails to render it too)
    ids_only: frozenset[str] = frozenset()  # of `dag` and `task`, those read only for their id


@dataclass(frozen=True)
class CodeUse:
    """What Python code does with XComs."""

    pulls: tuple[Pull, ...]
    pushes: tuple[Push, ...]


# -- templates ---------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def template_use(text: str) -> TemplateUse:
    import jinja2
    import jinja2.meta

    try:
        parsed = jinja2.Environment(extensions=["jinja2.ext.do"]).parse(text)
    except jinja2.TemplateSyntaxError as error:
        return TemplateUse((), frozenset(), f"line {error.lineno}: {error.message}")
    pulls = []
    for call in parsed.find_all(jinja2.nodes.Call):
        target = call.node
        if (
            isinstance(target, jinja2.nodes.Getattr)
            and target.attr == "xcom_pull"
            and isinstance(target.node, jinja2.nodes.Name)
            and target.node.name in PULL_RECEIVERS
        ):
            arguments = {keyword.key: keyword.value for keyword in call.kwargs}
            positional = list(call.args)
            pulls.append(_pull(positional, arguments, _jinja_constant, call.lineno, _jinja_source(call)))
    names = frozenset(jinja2.meta.find_undeclared_variables(parsed))
    reads: dict[str, set[str | None]] = {"dag": set(), "task": set()}  # the attributes read of each
    attribute_of = {id(g.node): g.attr for g in parsed.find_all(jinja2.nodes.Getattr)}
    for name_node in parsed.find_all(jinja2.nodes.Name):
        if name_node.name in reads:
            reads[name_node.name].add(attribute_of.get(id(name_node)))
    ids_only = frozenset(name for name, attrs in reads.items() if attrs == {f"{name}_id"})
    return TemplateUse(tuple(pulls), names, None, ids_only)


_UNKNOWN = object()


def _jinja_constant(node: Any) -> Any:
    import jinja2

    if isinstance(node, jinja2.nodes.Const):
        return node.value
    if isinstance(node, (jinja2.nodes.List, jinja2.nodes.Tuple)):
        items = [_jinja_constant(item) for item in node.items]
        return _UNKNOWN if any(item is _UNKNOWN for item in items) else items
    return _UNKNOWN


def _jinja_source(call: Any) -> str:
    import jinja2

    def text(node: Any) -> str:
        value = _jinja_constant(node)
        if value is not _UNKNOWN:
            return repr(value)
        return type(node).__name__.lower() if not isinstance(node, jinja2.nodes.Name) else node.name

    arguments = [text(a) for a in call.args] + [f"{k.key}={text(k.value)}" for k in call.kwargs]
    return f"{call.node.node.name}.xcom_pull({', '.join(arguments)})"


def _pull(positional: list[Any], keywords: Mapping[str, Any], constant: Any, line: int, source: str) -> Pull:
    """A pull from its arguments: xcom_pull(task_ids=None, dag_id=None, key='return_value', ...)."""

    def argument(name: str, index: int) -> Any:
        if name in keywords:
            return constant(keywords[name])
        return constant(positional[index]) if index < len(positional) else None

    task_ids, dag_id, key = argument("task_ids", 0), argument("dag_id", 1), argument("key", 2)
    key = RETURN_VALUE if key is None and "key" not in keywords and len(positional) < 3 else key
    many = isinstance(task_ids, (list, tuple))
    if isinstance(task_ids, str):
        ids: tuple[str, ...] | None = (task_ids,)
    elif many and all(isinstance(t, str) for t in task_ids):
        ids = tuple(task_ids)
    else:
        ids = None
    return Pull(
        ids,
        key if isinstance(key, str) else None,
        many,
        dag_id if isinstance(dag_id, str) or dag_id is None else "",
        line,
        source,
    )


@lru_cache(maxsize=4096)
def simple_pull(expression: str) -> Pull | None:
    """The pull when a template block is exactly `ti.xcom_pull(...)` (no attribute, item or filter)."""
    import jinja2

    try:
        parsed = jinja2.Environment().parse("{{ " + expression + " }}")
    except jinja2.TemplateSyntaxError:
        return None
    if len(parsed.body) != 1 or not isinstance(parsed.body[0], jinja2.nodes.Output):
        return None
    nodes = parsed.body[0].nodes
    if len(nodes) != 1 or not isinstance(nodes[0], jinja2.nodes.Call):
        return None
    use = template_use("{{ " + expression + " }}")
    return use.pulls[0] if len(use.pulls) == 1 else None


# -- Python code -------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def code_use(code: str) -> CodeUse:
    """The pulls and pushes in Python code (any receiver: `ti`, `context["ti"]`, `kwargs["ti"]`...)."""
    if "xcom_" not in code:
        return CodeUse((), ())
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return CodeUse((), ())
    pulls, pushes = [], []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            keywords: dict[str, Any] = {}
            positional: list[Any] = []
            unknown = True
        else:
            keywords = {k.arg: k.value for k in node.keywords if k.arg}
            positional = list(node.args)
            unknown = False
        if node.func.attr == "xcom_pull":
            pull = _pull(positional, keywords, _python_constant, node.lineno, ast.unparse(node))
            pulls.append(Pull(None, None, False, None, node.lineno, pull.source) if unknown else pull)
        elif node.func.attr == "xcom_push":
            key = keywords.get("key", positional[0] if positional else None)
            value = None if unknown or key is None else _python_constant(key)
            pushes.append(Push(value if isinstance(value, str) else None, node.lineno))
    return CodeUse(tuple(sorted(pulls, key=lambda p: p.line)), tuple(sorted(pushes, key=lambda p: p.line)))


def _python_constant(node: Any) -> Any:
    if isinstance(node, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in node.values):
        return "".join(str(v.value) for v in node.values)  # f"key": no placeholder
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _UNKNOWN


# -- producers and consumers -------------------------------------------------------------------

PYTHON_PRODUCERS = frozenset(
    {
        "PythonOperator",
        "task",
        "task.python",
        "asset",
        "PythonVirtualenvOperator",
        "task.virtualenv",
        "ExternalPythonOperator",
        "task.external_python",
        "task.docker",
        "task.kubernetes",
        # a Python sensor's XCom: the xcom_value of the PokeReturnValue its callable returned
        "PythonSensor",
        "task.sensor",
    }
)
BASH_PRODUCERS = frozenset({"BashOperator", "task.bash"})
POD_PRODUCERS = frozenset({"KubernetesPodOperator"})
SILENT = frozenset({"EmptyOperator", "DummyOperator"})


def producer_format(task: Task) -> str | None:
    """How `task`'s XComs reach KFP: JSON, TEXT, NOTHING (Airflow has none either), None: not carried."""
    from airflow2kfp.mapping.base import family_operator, is_airflow_module

    if not is_airflow_module(task.operator_module) and family_operator(task) == task.operator:
        return None
    if task.args.get("do_xcom_push") is False or task.operator in SILENT:
        return NOTHING
    if task.operator in PYTHON_PRODUCERS:
        return JSON
    if task.operator in BASH_PRODUCERS:
        return TEXT
    if family_operator(task) in POD_PRODUCERS:
        return JSON if task.args.get("do_xcom_push") is True else NOTHING
    return None


@dataclass(frozen=True)
class Source:
    """Where the value a consumer pulls comes from in KFP."""

    ref: XComRef | None  # the upstream output wired in; None: the step gets None
    encoding: str = JSON  # how that output is written (JSON or TEXT)
    problem: tuple[str, str] | None = None  # (code, message) when the value may differ from Airflow's


def _none(code: str, message: str) -> Source:
    """The step gets None, for the reason given."""
    return Source(None, problem=(code, message))


def source(dag: Dag, consumer: str, task_id: str, key: str, argument: bool = False) -> Source:
    """The source of `xcom_pull(task_ids=task_id, key=key)` run by `consumer`; `argument`: of an XComArg
    passed as an argument, for which Airflow orders the consumer after the producer."""
    index = _index(dag)
    if task_id not in index.ids:
        return _none(
            "A2K331",
            f"xcom_pull names task {task_id!r}, which is not in this DAG: "
            "Airflow's pull returns None, and so does the step's",
        )
    if not argument and task_id not in index.ancestors(consumer):
        when = (
            "runs after it, so Airflow's pull returns None"
            if consumer in index.ancestors(task_id)
            else "is not upstream of it: Airflow's pull returns None unless that task happened to finish first"
        )
        return _none("A2K332", f"xcom_pull of {task_id!r} {when}; the step gets None")
    producer = dag.task(task_id)
    kind = producer_format(producer)
    if kind == NOTHING:
        return Source(None)  # Airflow has no such XCom either
    if kind is None:
        what = "a mapped task" if producer.is_mapped else producer.qualified_operator
        return _none("A2K311", f"the XCom of {task_id!r} ({what}) is not passed in KFP; the step gets None")
    if kind == TEXT and key != RETURN_VALUE:
        return _none(
            "A2K311", f"{task_id!r} pushes only return_value in KFP, not {key!r}; the step gets None"
        )
    if kind == JSON and key != RETURN_VALUE and producer.operator not in PYTHON_PRODUCERS:
        # a pod's step writes its return.json as its output; Airflow's other keys (pod_name, ...) are not passed
        return _none(
            "A2K311", f"{task_id!r} (a pod) pushes only return_value in KFP, not {key!r}; the step gets None"
        )
    if not key.isidentifier():
        return _none(
            "A2K311", f"XCom key {key!r} of {task_id!r} is not a valid output name; the step gets None"
        )
    # a mapped task's values, read outside its loop, are the list of every instance's (fan_in.py)
    ref = collected(XComRef(task_id, key), dag.task(consumer), dag)
    rule = effective_rule(dag.task(consumer))
    if rule != DEFAULT_TRIGGER_RULE:
        # Airflow's pull gives None when the producer did not run or failed; an Argo input cannot be missing
        return Source(
            ref,
            kind,
            (
                "A2K320",
                (
                    f"trigger_rule {rule}: the task may run when {task_id!r} did not succeed; Airflow's pull then gives "
                    "None, while the KFP step cannot get the value and fails"
                ),
            ),
        )
    return Source(ref, kind)


@dataclass(frozen=True)
class XComText:
    """The text Jinja renders for an upstream's XCom (`str()` of its value), as a step input.

    A Python producer writes it as the extra output `<output>_text` (`text_output`); a Bash producer's
    output already is that text."""

    task_id: str
    key: str = RETURN_VALUE


def output_name(key: str) -> str:
    """The KFP output an XCom key is written to: KFP names a function's return value `Output`."""
    return "Output" if key == RETURN_VALUE else key


def text_output(key: str) -> str:
    return f"{output_name(key)}_text"


def text_pulls(dag: Dag, task: Task, found: list[Any]) -> Callable[[str], Any]:
    """A resolver for `templates.translate`: a block that is one pull -> the text of the value it pulls
    (an output wired in, or "None" as Jinja renders it), or None where that text is not available."""

    def resolve(expression: str) -> Any:
        pull = simple_pull(expression)
        if pull is None or not pull.known or pull.many or pull.dag_id not in (None, dag.dag_id):
            return None
        assert pull.task_ids is not None and pull.key is not None
        return text_of(dag, task, pull.task_ids[0], pull.key, found, argument=False)

    return resolve


def text_of(dag: Dag, task: Task, task_id: str, key: str, found: list[Any], argument: bool = True) -> Any:
    """The text of an upstream's XCom as a step input: its output (a Bash task's), its text output (a
    Python task's, `XComText`), "None" where Airflow has no value, or None when no text is available."""
    from airflow2kfp.diagnostics import diag
    from airflow2kfp.mapping.base import task_location

    found_source = source(dag, task.task_id, task_id, key, argument)
    if (
        found_source.ref is not None
        and found_source.encoding == JSON
        and dag.task(task_id).operator not in PYTHON_PRODUCERS
    ):
        return None  # a pod's JSON has no text output: the caller renders it another way
    if found_source.problem is not None:
        found.append(diag(*found_source.problem, **task_location(task)))
    if found_source.ref is None:
        return "None"
    return found_source.ref if found_source.encoding == TEXT else XComText(task_id, key)


class _Index:
    """Per-DAG lookups: task ids, the tasks upstream of each task (transitively)."""

    def __init__(self, dag: Dag) -> None:
        self.dag = dag
        self.ids = frozenset(t.task_id for t in dag.tasks)
        self._ancestors: dict[str, frozenset[str]] = {}

    def ancestors(self, task_id: str) -> frozenset[str]:
        found = self._ancestors.get(task_id)
        if found is None:
            seen: set[str] = set()
            todo = list(self.dag.upstream(task_id))
            while todo:
                up = todo.pop()
                if up not in seen:
                    seen.add(up)
                    todo.extend(self.dag.upstream(up))
            found = self._ancestors[task_id] = frozenset(seen)
        return found


_LAST: list[Any] = [None, None]  # the last DAG asked about and its index


def _index(dag: Dag) -> _Index:
    if _LAST[0] is not dag:
        _LAST[:] = [dag, _Index(dag)]
    return _LAST[1]


def input_name(ref: XComRef) -> str:
    """The name a step's input carrying an upstream value gets: the task id, and the key if not return_value."""
    return ref.task_id if ref.key == RETURN_VALUE else f"{ref.task_id}_{ref.key}"


def string_leaves(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from string_leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from string_leaves(item)


TEXT_FIELDS = {"BashOperator": ("bash_command",), "KubernetesPodOperator": ("cmds", "arguments")}


def text_pulls_of(task: Task) -> Iterator[tuple[str, str]]:
    """(task id, key) of the XComs a task reads as text (`text_pulls`, XComArgs in a pod's arguments):
    their producers write that text."""
    from airflow2kfp.mapping.base import family_operator

    for name in TEXT_FIELDS.get(family_operator(task), ()):
        value = task.args.get(name)
        for ref in _refs_in(value):
            yield ref.task_id, ref.key
        for text in string_leaves(value):
            if "xcom_pull" in text:
                for block in re.findall(r"{{(.*?)}}", text, re.DOTALL):
                    pull = simple_pull(block.strip())
                    if pull is not None and pull.known and pull.task_ids and pull.key is not None:
                        yield pull.task_ids[0], pull.key


def _refs_in(value: Any) -> Iterator[XComRef]:
    if isinstance(value, XComRef):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _refs_in(item)


def pulls_of(task: Task) -> Iterator[Pull]:
    """Every pull the task makes: in its templated arguments and in its Python callable."""
    for value in task.args.values.values():
        if isinstance(value, str):  # most arguments: no walk needed
            if "xcom_pull" in value:
                yield from template_use(value).pulls
        elif isinstance(value, (dict, list, tuple)):
            for text in string_leaves(value):
                if "xcom_pull" in text:
                    yield from template_use(text).pulls
    callable_ = task.python_callable
    if callable_ is not None and callable_.source and "xcom_pull" in callable_.source:
        yield from code_use(callable_.source).pulls
