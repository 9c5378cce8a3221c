"""The items of a zip, map or concat of XComs (model.XComZip / XComMap / XComConcat), in a step.

Airflow resolves `a.zip(b)`, `a.map(f)` and `a.concat(b)` when each mapped instance runs: instance i
reads item i of a lazy sequence (airflow/models/xcom_arg.py in 2.x, airflow/sdk/definitions/
xcom_arg.py in 3.x: _ZipResult, _MapResult, _ConcatResult). The items step (cross_product.py) runs
the same indexing in plain Python over the lists it reads, once for every item, and passes the
items on as JSON:

- zip: item i is the tuple of each list's item i (a JSON list); as many items as the shortest list,
  or with `fillvalue` the longest, a missing item filled (Airflow catches IndexError and KeyError);
- map: item i is `f(value[i])`, chained maps in order; the map functions are carried into the step
  as a task's callable is (callables.py), with the module-level code they use;
- concat: the items of each list in turn (a dict's keys, as Airflow iterates it);
- a dict as a zip or map argument is indexed as Airflow indexes it: `value[i]` looks the key i up
  (which a JSON object never has: zip fills the item, map fails); a string is indexed by character.

A map function that raises AirflowSkipException skips that mapped instance in Airflow; the step
leaves the item out (the loop runs one instance fewer). Any other exception fails the items step,
where Airflow fails only that instance.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow2kfp.mapping.callables import StepCallable, literal_source, prepare
from airflow2kfp.model import PythonCallable, XComConcat, XComMap, XComRef, XComZip, derived_text

SKIP_EXCEPTION = "AirflowSkipException"

# Airflow's lazy sequences, as the step runs them (no Airflow in the step): same lengths, same
# indexing, same errors. `_SKIP` stands for an item a map function skipped (AirflowSkipException).
BASE = """\
class _Lazy:
    \"\"\"Airflow's sequences over XCom values (a list, a string, a dict indexed by key).\"\"\"

    @staticmethod
    def _check(value, what):
        if isinstance(value, (list, str, dict, _Lazy)):
            return value
        raise ValueError(f"XCom {what} expects sequence or dict, not {type(value).__name__}")
"""

ZIP = """\
class _Zip(_Lazy):
    \"\"\"Airflow's _ZipResult: item i is the tuple of each value's item i (or the fill value).\"\"\"

    def __init__(self, values, fill):
        self.values, self.fill = [self._check(value, "zip") for value in values], fill

    def __len__(self):
        lengths = [len(value) for value in self.values]
        return max(lengths) if self.fill else min(lengths)

    def __getitem__(self, index):
        if index >= len(self):
            raise IndexError(index)
        item = []
        for value in self.values:
            try:
                item.append(value[index])
            except (IndexError, KeyError):
                if not self.fill:  # Airflow fills in its NOTSET marker, which no task can use
                    raise ValueError(f"zip: no item {index} in a {type(value).__name__} and no fillvalue")
                item.append(self.fill[0])
        return tuple(item)
"""

MAP = """\
class _Map(_Lazy):
    \"\"\"Airflow's _MapResult: item i is value[i] passed through each function in turn.\"\"\"

    def __init__(self, value, functions):
        self.value, self.functions = self._check(value, "map"), functions

    def __len__(self):
        return len(self.value)

    def __getitem__(self, index):
        item = self.value[index]
        for function in self.functions:
            item = function(item)
        return item
"""

CONCAT = """\
class _Concat(_Lazy):
    \"\"\"Airflow's _ConcatResult: the items of each value in turn (a dict's keys).\"\"\"

    def __init__(self, values):
        self.values = [self._check(value, "concat") for value in values]

    def __len__(self):
        return sum(len(value) for value in self.values)

    def __getitem__(self, index):
        for value in self.values:
            if index < len(value):
                return list(value)[index] if isinstance(value, dict) else value[index]
            index -= len(value)
        raise IndexError("list index out of range")
"""

ITEMS = """\
def _items(value):
    \"\"\"Every item, as each mapped instance reads it; _SKIP where a map function skipped it.\"\"\"
    found = []
    for index in range(len(value)):
        try:
            found.append(value[index])
        except _Skipped:
            found.append(_SKIP)
    return found
"""

SKIP_NONE = """\
class _Skipped(Exception):
    \"\"\"No map function here raises AirflowSkipException.\"\"\"

_SKIP = object()
"""

SKIP_CLASS = f"""\
class {SKIP_EXCEPTION}(Exception):
    \"\"\"Airflow's exception (the step has no Airflow): a map function raising it skips the item.\"\"\"

_Skipped = {SKIP_EXCEPTION}
_SKIP = object()
"""


@dataclass(frozen=True)
class DerivedCode:
    """What a step defines to compute derived XComs' items: the map functions with what they need,
    then Airflow's sequences (RUNTIME)."""

    definitions: tuple[str, ...]
    functions: Mapping[int, str]  # id of a map function (PythonCallable) -> its name in the step
    skips: bool  # a map function may raise AirflowSkipException


def problem(value: Any) -> str | None:
    """Why a derived XCom's items cannot be computed in a step, or None."""
    for callable_ in _callables(value):
        found = _problem(callable_)
        if found is not None:
            return found
    if isinstance(value, XComZip) and value.filled and literal_source(value.fillvalue) is None:
        return "its fillvalue is not plain data"
    return None


def differences(value: Any) -> list[str]:
    """How the items step's items differ from what Airflow hands each mapped instance."""
    parts = _parts(value)
    found = []
    if _tuples(value):
        found.append(
            f"mapped over {derived_text(value)}: a zipped item is a tuple in Airflow, a list in the step "
            "(its items pass as JSON)"
        )
    if any(isinstance(p, XComMap) for p in parts):
        found.append(
            "a map function that fails fails the items step, so every instance, where Airflow fails only "
            "the instance that reads that item"
        )
        prepared = [prepare(c) for c in _callables(value)]
        if any(not isinstance(p, str) and SKIP_EXCEPTION in p.airflow_names for p in prepared):
            found.append(
                "an item whose map function raises AirflowSkipException is left out of the loop, where "
                "Airflow has a skipped instance (the results after it are the same)"
            )
    return found


def _tuples(value: Any) -> bool:
    """Whether the task receives zipped tuples (a map after the zip receives them, in the step too)."""
    if isinstance(value, XComConcat):
        return any(_tuples(arg) for arg in value.args)
    return isinstance(value, XComZip)


def _problem(callable_: PythonCallable) -> str | None:
    """Why the step cannot run a map function, or None."""
    if callable_.module:  # defined in another module (the import may have read its source: not carried)
        # (not named: the import knows the module defining it, the static reading the one imported from)
        return f"the map function {callable_.name} is imported from another module, which the step has not"
    prepared = prepare(callable_)
    if isinstance(prepared, str):
        return prepared
    if prepared.missing:
        return f"the map function {callable_.name} reads {', '.join(prepared.missing)}, which the step cannot define"
    modules = sorted({m for s in prepared.prelude if not _airflow_import(s) for m in _imported_modules(s)})
    if any(m not in sys.stdlib_module_names for m in modules):
        outside = ", ".join(m for m in modules if m not in sys.stdlib_module_names)
        return f"the map function {callable_.name} imports {outside}, which the step does not install"
    others = [n for n in prepared.airflow_names if n != SKIP_EXCEPTION]
    if others or any(_airflow_import(s) and not _imports_only_skip(s) for s in prepared.prelude):
        return f"the map function {callable_.name} uses Airflow itself ({', '.join(others) or 'an import'})"
    bound = (*prepared.partial_args, *prepared.partial_kwargs.values())
    if any(literal_source(v) is None for v in bound):
        return f"the arguments functools.partial binds to {callable_.name} are not plain data"
    return None


def _callables(value: Any) -> list[PythonCallable]:
    if isinstance(value, XComMap):
        return [*_callables(value.arg), *value.callables]
    if isinstance(value, (XComZip, XComConcat)):
        return [c for arg in value.args for c in _callables(arg)]
    return []


def code(values: list[Any], reserved: set[str]) -> DerivedCode:
    """The definitions for `values` (derived XComs whose `problem` is None). The names the step binds
    go into `reserved`: the step's own names must differ."""
    preludes: list[str] = []
    definitions: list[str] = []
    functions: dict[int, str] = {}
    skips = False
    for value in values:
        for callable_ in _callables(value):
            if id(callable_) in functions:
                continue
            prepared = prepare(callable_)
            assert not isinstance(prepared, str)  # problem() said it can
            skips = skips or SKIP_EXCEPTION in prepared.airflow_names
            # the module's code each function needs, once (the same file's statements for each)
            preludes += [s for s in prepared.prelude if not _airflow_import(s) and s not in preludes]
            reserved |= set(prepared.names)
            name = _claim(f"_map_{len(functions)}", reserved)
            definitions += ["\n".join(prepared.definition), _bound(name, prepared)]
            functions[id(callable_)] = name
    reserved |= {
        "_functools",
        "_Lazy",
        "_Zip",
        "_Map",
        "_Concat",
        "_items",
        "_SKIP",
        "_Skipped",
        SKIP_EXCEPTION,
    }
    kinds = {type(v) for value in values for v in _parts(value)}
    runtime = [
        SKIP_CLASS if skips else SKIP_NONE,
        BASE,
        *([ZIP] if XComZip in kinds else []),
        *([MAP] if XComMap in kinds else []),
        *([CONCAT] if XComConcat in kinds else []),
        ITEMS,
    ]
    return DerivedCode((*preludes, *definitions, *runtime), functions, skips)


def _parts(value: Any) -> list[Any]:
    """The derived values inside `value`, itself first."""
    if isinstance(value, XComMap):
        return [value, *_parts(value.arg)]
    if isinstance(value, (XComZip, XComConcat)):
        return [value, *(p for arg in value.args for p in _parts(arg))]
    return []


def expression(value: Any, functions: Mapping[int, str], input_name: Callable[[XComRef], str]) -> str:
    """Python building the lazy sequence of `value` over the decoded inputs."""
    if isinstance(value, XComMap):
        names = ", ".join(functions[id(c)] for c in value.callables)
        return f"_Map({expression(value.arg, functions, input_name)}, [{names}])"
    if isinstance(value, XComZip):
        args = ", ".join(expression(a, functions, input_name) for a in value.args)
        fill = f"({literal_source(value.fillvalue)},)" if value.filled else "()"
        return f"_Zip([{args}], {fill})"
    if isinstance(value, XComConcat):
        return f"_Concat([{', '.join(expression(a, functions, input_name) for a in value.args)}])"
    assert isinstance(value, XComRef)
    return input_name(value)


def _bound(name: str, prepared: StepCallable) -> str:
    """`name = <the callable>`, with functools.partial's arguments bound as the partial binds them."""
    if not (prepared.partial_args or prepared.partial_kwargs):
        return f"{name} = {prepared.call_name}"
    parts = [
        prepared.call_name,
        *(str(literal_source(a)) for a in prepared.partial_args),
        *(f"{k}={literal_source(v)}" for k, v in prepared.partial_kwargs.items()),
    ]
    return f"import functools as _functools\n\n{name} = _functools.partial({', '.join(parts)})"


def _claim(name: str, reserved: set[str]) -> str:
    while name in reserved:
        name += "_"
    reserved.add(name)
    return name


def _imported_modules(statement: str) -> set[str]:
    """The top-level modules an import statement imports (none for other statements)."""
    try:
        nodes = ast.parse(statement).body
    except SyntaxError:
        return set()
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add("." if node.level else (node.module or "").split(".")[0])
    return found


def _airflow_import(statement: str) -> bool:
    return statement.startswith(("from airflow", "import airflow"))


def _imports_only_skip(statement: str) -> bool:
    """Whether an Airflow import imports AirflowSkipException alone, under its own name."""
    try:
        node = ast.parse(statement).body[0]
    except (SyntaxError, IndexError):
        return False
    if isinstance(node, ast.ImportFrom):
        return [(a.name, a.asname) for a in node.names] in (
            [(SKIP_EXCEPTION, None)],
            [(SKIP_EXCEPTION, SKIP_EXCEPTION)],
        )
    return False
