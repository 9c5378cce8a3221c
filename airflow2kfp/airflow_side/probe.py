"""Read DAG files with Airflow's own DagBag and report what Airflow sees, as JSON.

This script runs under a *foreign* interpreter (an Airflow 2.7-2.11 or 3.x environment), so it
imports nothing from `airflow2kfp`: stdlib, airflow and its sibling `sandbox_inside.py` only. It is
run by path, inside the sandbox of airflow2kfp.parse.sandbox.

Modes:
  probe.py --version                         print {"airflow_version": ...}
  probe.py --example-dag-folders             print {"folders": [...]}, Airflow's example DAG folders
  probe.py FILE [--dag-folder DIR]           print one JSON document for FILE
  probe.py --worker [--sandboxed]            serve requests as frames (sandbox_inside.encode)

Worker protocol, over stdin and stdout, every message a frame: the worker first sends
{"hello": true, "airflow_version": ...}. Each request is {"nonce", "path", "dag_folder",
"timeout": seconds, "memory_mb": MB, "max_processes": N}; each answer is two frames: the worker's
header {"nonce", "path", "status": "ok" | "timeout" | "crashed" | "tampered", "seconds", "cpu", ...}
and the bytes the file's process sent (empty unless "ok"), relayed unread. A request
{"preload": ["airflow.x", ...]} is no file: the worker imports those modules (see `preload`) and
answers one frame {"preloaded", "failed", "seconds", "modules"}.

Airflow is imported once; every file is then parsed in a forked child (as Airflow's own DAG
processor does) that writes its answer, with the request's nonce and path, as one frame into a
pipe made for that file alone. No descriptor of the worker's channels stays open in the child, and
the worker is not dumpable, so a DAG file can neither reach the converter's channel nor read
another file's nonce. After each file the worker kills every other process of the sandbox
(--sandboxed: its PID namespace holds nothing else), empties the writable folders, and reads the
file's pipe to its end: a second frame, or bytes that are no frame, make the answer "tampered".
"""

from __future__ import annotations

import contextlib
import datetime
import enum
import inspect
import json
import math
import os
import re
import select
import signal
import sys
import time
import traceback
import types
import warnings
from collections.abc import Iterator
from typing import Any

try:  # run by path, next to it
    import sandbox_inside as inside
except ImportError:  # imported from the converter's package (tests)
    from airflow2kfp.airflow_side import sandbox_inside as inside

# where the sandbox looks for readable libraries, named here too for the tests that ask
code_folders, readable_by_others = inside.code_folders, inside.readable_by_others

MAX_DEPTH = 12
MAX_REPR = 2000
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
# Airflow adds these to every operator's init kwargs; they are structure, not arguments
_STRUCTURAL_KWARGS = frozenset({"dag", "task_group", "task_id", "kwargs_to_upstream", "default_args"})

# Protocol output goes to a private copy of the original stdout; fd 1 is pointed at stderr so
# that prints from Airflow cannot corrupt it (a file's child points all of them at /dev/null).
_OUT_FD = -1


# -- Airflow version differences ---------------------------------------------------------------


class _Airflow:
    """The classes the probe needs, found wherever this Airflow version keeps them."""

    def __init__(self) -> None:
        import airflow

        self.version: str = airflow.__version__
        self.DagBag = _first_attr(
            ("airflow.dag_processing.dagbag", "DagBag"), ("airflow.models.dagbag", "DagBag")
        )
        self.DAG = _first_attr(("airflow.sdk", "DAG"), ("airflow.models.dag", "DAG"))
        self.BaseOperator = _first_attr(
            ("airflow.sdk.bases.operator", "BaseOperator"), ("airflow.models.baseoperator", "BaseOperator")
        )
        self.MappedOperator = _first_attr(
            ("airflow.sdk.definitions.mappedoperator", "MappedOperator"),
            ("airflow.models.mappedoperator", "MappedOperator"),
        )
        self.XComArg = _first_attr(
            ("airflow.sdk.definitions.xcom_arg", "XComArg"), ("airflow.models.xcom_arg", "XComArg")
        )
        self.PlainXComArg = _first_attr(
            ("airflow.sdk.definitions.xcom_arg", "PlainXComArg"), ("airflow.models.xcom_arg", "PlainXComArg")
        )
        operator_module = sys.modules[self.BaseOperator.__module__]
        # defaults Airflow fills into partial() kwargs: 3.x OPERATOR_DEFAULTS, 2.x _PARTIAL_DEFAULTS
        self.partial_defaults: dict[str, Any] = dict(
            getattr(operator_module, "OPERATOR_DEFAULTS", None)
            or getattr(operator_module, "_PARTIAL_DEFAULTS", None)
            or {}
        )


def _first_attr(*candidates: tuple[str, str]) -> Any:
    import importlib

    for module_name, attr in candidates:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, attr):
            return getattr(module, attr)
    return None


# -- where objects were created: DAG and operator construction is observed ---------------------


class _Origins:
    """Line numbers (in the DAG file) where DAGs and operators were created, and call kwargs."""

    def __init__(self) -> None:
        self.target = ""  # the DAG file's real path
        self.path = ""  # ... as it was asked for
        self.dag_folder = ""
        self.lines: dict[int, int] = {}
        self.explicit: dict[int, list[str]] = {}
        self.written: dict[int, dict[str, str]] = {}  # the text arguments as the operator call passed them
        # a function's source by its code object: tasks built in a loop or a factory share one
        # callable, whose source inspect would tokenise again for each task (the code object is kept
        # with its text, so its id is not reused while the entry lives)
        self.sources: dict[int, tuple[types.CodeType, str | None]] = {}
        self.real_paths: dict[str, str] = {}  # os.path.realpath, for the names read asks about

    def reset(self, target: str) -> None:
        self.target = os.path.realpath(target)
        self.path = target
        self.sources.clear()
        self.real_paths.clear()
        self.lines.clear()
        self.explicit.clear()
        self.written.clear()

    def line_in_target(self) -> int | None:
        frame: types.FrameType | None = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_filename == self.target:
                return frame.f_lineno
            frame = frame.f_back
        return None


ORIGINS = _Origins()


def _install_hooks(af: _Airflow) -> None:
    """Record creation lines and the keyword arguments each operator call passed.

    Done once in the worker; the forked children inherit the hooks. Only observes: every hook
    calls through to Airflow unchanged.
    """
    if af.DAG is not None:
        original_init = af.DAG.__init__

        def dag_init(self: Any, *args: Any, **kwargs: Any) -> None:
            original_init(self, *args, **kwargs)
            # DAG.__init__ takes fileloc from its caller's frame, which is now this wrapper
            if getattr(self, "fileloc", None) == dag_init.__code__.co_filename:
                self.fileloc = sys._getframe(1).f_code.co_filename
            line = ORIGINS.line_in_target()
            if line is not None:
                ORIGINS.lines[id(self)] = line

        af.DAG.__init__ = dag_init

        # every task, classic, TaskFlow or mapped, in both 2.x and 3.x, joins its DAG here
        original_add_task = af.DAG.add_task

        def add_task(self: Any, task: Any) -> Any:
            line = ORIGINS.line_in_target()
            if line is not None:
                ORIGINS.lines[id(task)] = line
            return original_add_task(self, task)

        af.DAG.add_task = add_task

    if af.BaseOperator is not None:
        meta = type(af.BaseOperator)
        original_call = meta.__call__

        def operator_call(cls: Any, *args: Any, **kwargs: Any) -> Any:
            obj = original_call(cls, *args, **kwargs)
            ORIGINS.explicit[id(obj)] = sorted(kwargs)
            ORIGINS.written[id(obj)] = {k: v for k, v in kwargs.items() if isinstance(v, str)}
            return obj

        meta.__call__ = operator_call

    # Airflow 2's SubDagOperator looks up its pool's size in the metadata database when it is built
    # (a guard against a deadlock at run time); a parse has no database, so the lookup is skipped
    subdag = _first_attr(("airflow.operators.subdag", "SubDagOperator"))
    if subdag is not None and hasattr(subdag, "_validate_pool"):
        subdag._validate_pool = lambda self, session: None


# -- JSON-safe values ---------------------------------------------------------------------------


def _unresolved(value: Any) -> dict[str, str]:
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ in user code must not lose the whole file
        text = f"<unrepresentable {type(value).__name__}: {exc}>"
    # memory addresses would make the output differ between runs
    return {"__unresolved__": _ADDRESS.sub("", text)[:MAX_REPR]}


MAX_RANGE = 10_000  # a longer range() stays unresolved rather than a huge answer


def to_json_safe(value: Any, af: _Airflow, depth: int = 0) -> Any:
    """timedelta -> {"__duration__": s}, datetime -> ISO, XComArg -> {"__xcom__": id, "key": k},
    containers recursively, anything else -> {"__unresolved__": repr}."""
    if depth > MAX_DEPTH:
        return _unresolved(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _unresolved(value)
    if isinstance(value, enum.Enum):
        return to_json_safe(value.value, af, depth + 1)
    if isinstance(value, datetime.timedelta):
        return {"__duration__": value.total_seconds()}
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if af.PlainXComArg is not None and isinstance(value, af.PlainXComArg):
        return {"__xcom__": value.operator.task_id, "key": value.key}
    derived = _derived_xcom(value, af, depth)
    if derived is not None:
        return derived
    if af.DAG is not None and isinstance(value, af.DAG):  # SubDagOperator's subdag
        return {"__dag__": value.dag_id}
    if type(value).__name__ == "MappedArgument":  # a mapped task group's argument, inside the group
        return {"__mapped_arg__": str(getattr(value, "_key", ""))}
    if isinstance(value, dict):
        return {str(k): to_json_safe(v, af, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_safe(v, af, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_json_safe(v, af, depth + 1) for v in value), key=repr)
    if isinstance(value, range) and len(value) <= MAX_RANGE:  # its items, as the static reading has them
        return list(value)
    if inspect.isfunction(value) or inspect.isclass(value) or inspect.ismethod(value):
        # a callable reads as its name, as it would in the DAG file's source
        return {"__unresolved__": getattr(value, "__qualname__", None) or repr(value)}
    built = _constructed(value, af, depth)
    return built if built is not None else _unresolved(value)


_DERIVED_MARKERS = ("__xcom_zip__", "__xcom_map__", "__xcom_concat__")


def _derived_xcom(value: Any, af: _Airflow, depth: int) -> dict[str, Any] | None:
    """Airflow's ZipXComArg / MapXComArg / ConcatXComArg (2.4+, the same attributes in 3.x) by what
    they are built of: {"__xcom_zip__": [args], "fillvalue": v (when given)}, {"__xcom_map__": arg,
    "callables": [the functions, as a task's callable]}, {"__xcom_concat__": [args]}."""
    if af.XComArg is None or not isinstance(value, af.XComArg):
        return None
    kind = type(value).__name__
    if kind == "MapXComArg":
        callables = [
            _callable(f, ORIGINS.target, af) if callable(f) else None for f in getattr(value, "callables", ())
        ]
        return {"__xcom_map__": to_json_safe(value.arg, af, depth + 1), "callables": callables}
    if kind in ("ZipXComArg", "ConcatXComArg"):
        args = [to_json_safe(arg, af, depth + 1) for arg in getattr(value, "args", ())]
        if kind == "ConcatXComArg":
            return {"__xcom_concat__": args}
        found: dict[str, Any] = {"__xcom_zip__": args}
        fillvalue = getattr(value, "fillvalue", None)
        if type(fillvalue).__name__ != "ArgNotSet":  # NOTSET: no fillvalue given (None is one)
            found["fillvalue"] = to_json_safe(fillvalue, af, depth + 1)
        return found
    return None


# Airflow's own value classes a DAG passes to pod operators, by the arguments that rebuild them
# (cncf-kubernetes' Secret, also at its Airflow 1.10/2.0 paths)
_REBUILT = {"Secret": ("deploy_type", "deploy_target", "secret", "key", "items")}


def _constructed(value: Any, af: _Airflow, depth: int) -> dict[str, Any] | None:
    """A Kubernetes client object (`k8s.V1Toleration(...)`) or an Airflow Secret as the constructor
    call that rebuilds it: {"__object__": class, "module": ..., "kwargs": {...}} (unset fields left
    out, as a DAG writes them), so it reads as the static reader reads the call in the source."""
    cls = type(value)
    module = getattr(cls, "__module__", "") or ""
    fields: tuple[str, ...] = ()
    if module.startswith("kubernetes.client.models") and isinstance(
        getattr(cls, "openapi_types", None), dict
    ):
        fields = tuple(cls.openapi_types)
        module = "kubernetes.client.models"
    elif cls.__name__ in _REBUILT and module.startswith("airflow.") and module.endswith(".secret"):
        fields = _REBUILT[cls.__name__]
    else:
        return None
    kwargs: dict[str, Any] = {}
    for name in fields:
        item = _quiet_getattr(value, name, None)
        if item is not None and item != []:
            kwargs[name] = to_json_safe(item, af, depth + 1)
    return {"__object__": cls.__name__, "module": module, "kwargs": kwargs}


# -- reading a DAG ------------------------------------------------------------------------------


def _schedule(dag: Any, af: _Airflow) -> dict[str, Any]:
    # 3.x keeps the argument as `schedule`; 2.x as `schedule_interval` (2.4+ also accepts schedule=),
    # which 2.x fills with the timetable's summary when the DAG was given a timetable or datasets
    raw = _quiet_getattr(dag, "schedule", _MISSING)
    if raw is _MISSING:
        raw = _quiet_getattr(dag, "schedule_interval", None)
    timetable = getattr(dag, "timetable", None)
    return {
        "schedule": raw if isinstance(raw, str) or raw is None else to_json_safe(raw, af),
        "timetable": type(timetable).__name__ if timetable is not None else None,
        "timetable_summary": _quiet_getattr(timetable, "summary", None),
        "timetable_description": _quiet_getattr(timetable, "description", None),
        "timetable_detail": _timetable_detail(timetable, af) if timetable is not None else None,
    }


def _timetable_detail(timetable: Any, af: _Airflow, depth: int = 0) -> dict[str, Any]:
    """What the timetable Airflow made fires on, read from the object itself (the same in 2.x and
    3.x, core and SDK classes): its cron expression(s) or interval, time zone, whether it is a
    data-interval timetable (the logical date one period before the firing time) and whether assets
    or datasets trigger it. An asset-or-time schedule carries its time timetable as `time`."""
    bases = [cls.__name__ for cls in type(timetable).__mro__]
    cron = _quiet_getattr(timetable, "expression", None) or _quiet_getattr(timetable, "_expression", None)
    delta = _quiet_getattr(timetable, "delta", None) or _quiet_getattr(timetable, "_delta", None)
    zone = _quiet_getattr(timetable, "timezone", None) or _quiet_getattr(timetable, "_timezone", None)
    parts = _quiet_getattr(timetable, "timetables", None) or _quiet_getattr(timetable, "_timetables", None)
    condition = _quiet_getattr(timetable, "asset_condition", None) or _quiet_getattr(
        timetable, "dataset_condition", None
    )
    inner = _quiet_getattr(timetable, "timetable", None)  # AssetOrTimeSchedule, DatasetOrTimeSchedule
    return {
        "class": type(timetable).__name__,
        "cron": cron if isinstance(cron, str) else None,
        "crons": [
            c
            for c in (
                _quiet_getattr(p, "expression", None) or _quiet_getattr(p, "_expression", None) for p in parts
            )
            if isinstance(c, str)
        ]
        if isinstance(parts, (list, tuple))
        else None,
        "delta": to_json_safe(delta, af) if delta is not None else None,
        "timezone": _zone_name(zone),
        "data_interval": "_DataIntervalTimetable" in bases
        or type(timetable).__name__ in ("CronDataIntervalTimetable", "DeltaDataIntervalTimetable"),
        "assets": condition is not None and not type(condition).__name__.startswith("_Null"),
        "can_be_scheduled": bool(_quiet_getattr(timetable, "can_be_scheduled", True)),
        "time": _timetable_detail(inner, af, depth + 1)
        if inner is not None and depth < 2 and hasattr(inner, "next_dagrun_info")
        else None,
    }


def _zone_name(zone: Any) -> str | None:
    if zone is None:
        return None
    name = getattr(zone, "name", None) or getattr(zone, "key", None) or getattr(zone, "zone", None)
    return str(name) if name else str(zone)


_MISSING = object()


def _quiet_getattr(obj: Any, name: str, default: Any = None) -> Any:
    """getattr without deprecation warnings (2.x `schedule_interval`) or property errors."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return getattr(obj, name, default)
        except Exception:
            return default


def _params(dag: Any, af: _Airflow) -> dict[str, Any]:
    params = getattr(dag, "params", None) or {}
    out: dict[str, Any] = {}
    get_param = getattr(params, "get_param", None)
    for key in list(params.keys()):
        param = get_param(key) if get_param else params[key]
        if hasattr(param, "value") and hasattr(param, "has_value"):
            out[key] = to_json_safe(param.value, af) if param.has_value else None
        else:
            out[key] = to_json_safe(param, af)
    return out


def _task_groups(dag: Any, af: _Airflow) -> dict[str, dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}

    def walk(group: Any, parent: str | None) -> None:
        for child in getattr(group, "children", {}).values():
            if hasattr(child, "children") and getattr(child, "group_id", None):
                groups[child.group_id] = {
                    "parent": parent,
                    "tooltip": getattr(child, "tooltip", None) or None,
                }
                expand_input = getattr(child, "_expand_input", None)  # a mapped task group
                if expand_input is not None:
                    raw = getattr(expand_input, "value", None)
                    mapped = (
                        raw
                        if isinstance(raw, dict) and type(expand_input).__name__ != "ListOfDictsExpandInput"
                        else {"*": raw}
                    )
                    groups[child.group_id]["mapped"] = {
                        str(k): to_json_safe(v, af) for k, v in mapped.items()
                    }
                walk(child, child.group_id)

    walk(dag.task_group, None)
    return groups


def _edge_labels(dag: Any) -> list[list[str]]:
    labels: list[list[str]] = []
    for up, downs in sorted(getattr(dag, "edge_info", {}).items()):
        for down, info in sorted(downs.items()):
            if info and info.get("label"):
                labels.append([up, down, str(info["label"])])
    return labels


def _callable(fn: Any, dag_file: str, af: _Airflow) -> dict[str, Any] | None:
    """The function a task's callable runs, and how the callable binds it: functools.partial's
    arguments, a bound method's object (its class and attributes), the plain-data values of the
    names the function reads from a closure or from the module's globals."""
    import functools

    if isinstance(fn, functools.partial):  # Python flattens nested partials itself
        found = _callable(fn.func, dag_file, af)
        if found is not None:
            found["partial_args"] = [to_json_safe(a, af) for a in fn.args]
            found["partial_kwargs"] = {str(k): to_json_safe(v, af) for k, v in fn.keywords.items()}
        return found
    if inspect.ismethod(fn):  # obj.method, or Class.method of a classmethod
        found = _function(fn.__func__, dag_file, af)
        owner = fn.__self__
        found["bound_object"] = _bound_object(
            owner if inspect.isclass(owner) else type(owner),
            None if inspect.isclass(owner) else owner,
            dag_file,
            af,
        )
        return found
    if (
        not inspect.isfunction(fn)
        and callable(fn)
        and inspect.isfunction(getattr(type(fn), "__call__", None))  # noqa: B004 - the class's own __call__
    ):
        found = _function(type(fn).__call__, dag_file, af)  # an object with __call__
        found["bound_object"] = _bound_object(type(fn), fn, dag_file, af)
        return found
    return _function(fn, dag_file, af) if callable(fn) else None


def _function(fn: Any, dag_file: str, af: _Airflow) -> dict[str, Any]:
    code = getattr(fn, "__code__", None)
    filename = code.co_filename if code else None
    in_dag_file = filename is not None and _same_file(filename, dag_file)
    name = getattr(fn, "__name__", type(fn).__name__)
    return {
        "name": name,
        # DAG files are imported under a generated module name; only helpers' modules mean anything
        "module": None if in_dag_file else getattr(fn, "__module__", None),
        "file": filename,
        "line": code.co_firstlineno if code else None,
        "source": (source := _source(fn, code, name)),
        "cells": {**_cells(fn, af), **_default_cells(fn, source, af)} if code is not None else {},
    }


def _realpath(path: str) -> str:
    if path not in ORIGINS.real_paths:
        ORIGINS.real_paths[path] = os.path.realpath(path)
    return ORIGINS.real_paths[path]


def _source(fn: Any, code: types.CodeType | None, name: str) -> str | None:
    if code is not None and id(code) in ORIGINS.sources:
        return ORIGINS.sources[id(code)][1]
    source = _lambda_source(code) if name == "<lambda>" and code is not None else None
    if source is None:
        try:
            source = inspect.getsource(fn)
        except (OSError, TypeError):
            source = None
    if code is not None:
        ORIGINS.sources[id(code)] = (code, source)
    return source


def _same_file(filename: str, dag_file: str) -> bool:
    """`filename` is the DAG file (ORIGINS.target is its real path while it is read)."""
    if filename == dag_file:
        return True
    target = ORIGINS.target if dag_file == ORIGINS.path else _realpath(dag_file)
    return _realpath(filename) == target


def _bound_object(cls: type, obj: Any, dag_file: str, af: _Airflow) -> dict[str, Any]:
    try:
        in_dag_file = _same_file(inspect.getfile(cls), dag_file)
    except (OSError, TypeError):
        in_dag_file = False
    state = None
    if obj is not None and isinstance(getattr(obj, "__dict__", None), dict):
        state = {str(k): to_json_safe(v, af) for k, v in vars(obj).items()}
    return {
        "class_name": cls.__qualname__,
        "module": None if in_dag_file else cls.__module__,
        "source": cls.__qualname__ if obj is None else None,  # a classmethod's object is its class
        "state": state,
    }


def _cells(fn: Any, af: _Airflow) -> dict[str, Any]:
    """Plain-data values of the names the function reads from its closure and its module's globals
    (those bound inside `with DAG` or a loop are not module-level statements a step could carry)."""
    found: dict[str, Any] = {}
    code = fn.__code__
    for name, cell in zip(code.co_freevars, fn.__closure__ or (), strict=False):
        try:
            found[name] = cell.cell_contents
        except ValueError:  # a cell not yet filled
            continue
    names: set[str] = set()
    pending = [code]
    while pending:
        current = pending.pop()
        names.update(current.co_names)
        pending.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    namespace = getattr(fn, "__globals__", {})
    for name in sorted(names):
        if name in namespace and name not in found:
            found[name] = namespace[name]
    plain = {}
    for name, value in found.items():
        safe = to_json_safe(value, af)
        if _is_plain(safe):
            plain[name] = safe
    return plain


def _default_cells(fn: Any, source: str | None, af: _Airflow) -> dict[str, Any]:
    """For a default that is a bare name only the defaults read (`lambda table=table: ...`), that
    name's value when the function was defined: the default itself."""
    import ast
    import textwrap

    if not source or not (getattr(fn, "__defaults__", None) or getattr(fn, "__kwdefaults__", None)):
        return {}  # no default: nothing to look for
    try:
        tree = ast.parse(
            textwrap.dedent(source).strip() if not source.lstrip().startswith("lambda") else f"_ = ({source})"
        )
    except SyntaxError:
        return {}
    node = next(
        (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))),
        None,
    )
    if node is None:
        return {}
    arguments = node.args
    positional = [*arguments.posonlyargs, *arguments.args]
    pairs = list(zip(positional[len(positional) - len(arguments.defaults) :], arguments.defaults))
    pairs += [(a, d) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is not None]
    body = node.body if isinstance(node.body, list) else [node.body]
    parameters = {a.arg for a in [*positional, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg] if a}
    in_body = {n.id for part in body for n in ast.walk(part) if isinstance(n, ast.Name)} - parameters
    values = dict(
        zip(
            [a.arg for a in positional[len(positional) - len(fn.__defaults__ or ()) :]], fn.__defaults__ or ()
        )
    )
    values.update(fn.__kwdefaults__ or {})
    found = {}
    for argument, default in pairs:
        if isinstance(default, ast.Name) and default.id not in in_body and argument.arg in values:
            safe = to_json_safe(values[argument.arg], af)
            if _is_plain(safe):
                found[default.id] = safe
    return found


def _is_plain(value: Any) -> bool:
    if isinstance(value, dict):
        markers = {"__unresolved__", "__duration__", "__xcom__", "__object__", *_DERIVED_MARKERS}
        return not (markers & set(value)) and all(_is_plain(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_plain(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


_PARSED_FILES: dict[str, Any] = {}


def _lambda_source(code: types.CodeType) -> str | None:
    """The text of the lambda expression (inspect gives whole lines, which do not parse alone)."""
    import ast
    import linecache

    filename = code.co_filename
    if filename not in _PARSED_FILES:
        try:
            text = "".join(linecache.getlines(filename))
            _PARSED_FILES[filename] = (text, ast.parse(text))
        except (SyntaxError, ValueError):
            _PARSED_FILES[filename] = None
    parsed = _PARSED_FILES[filename]
    if parsed is None:
        return None
    text, tree = parsed
    arguments = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno:
            names = tuple(a.arg for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs])
            if names == tuple(arguments):
                return ast.get_source_segment(text, node)
    return None


def _operator_name(task: Any) -> str:
    custom = getattr(task, "custom_operator_name", None)
    if isinstance(custom, str) and custom:
        return custom
    return getattr(task, "operator_name", None) or type(task).__name__


def _mapped_values(task: Any, af: _Airflow) -> tuple[dict[str, Any], dict[str, Any]]:
    """(partial kwargs that differ from Airflow's defaults, the mapped arguments)."""
    values: dict[str, Any] = {}
    for key, value in getattr(task, "partial_kwargs", {}).items():
        if key in _STRUCTURAL_KWARGS or value is None:
            continue
        if key in af.partial_defaults and af.partial_defaults[key] == value:
            continue
        # what partial() filled in rather than the user: empty values, False flags, the default pool
        if value in ([], {}, ()) or value is False or (key == "pool" and value == "default_pool"):
            continue
        values[key] = value
    # TaskFlow keeps its mapped arguments in op_kwargs_expand_input; _expand_input_attr names it
    expand_input = getattr(task, getattr(task, "_expand_input_attr", None) or "expand_input", None)
    raw = getattr(expand_input, "value", None)
    if type(expand_input).__name__ == "ListOfDictsExpandInput" or not isinstance(raw, dict):
        mapped = {"*": raw}
    else:
        mapped = dict(raw)
    return values, mapped


def _task(task: Any, dag: Any, af: _Airflow, dag_file: str) -> dict[str, Any]:
    is_mapped = af.MappedOperator is not None and isinstance(task, af.MappedOperator)
    if is_mapped:
        values, mapped = _mapped_values(task, af)
        explicit = sorted(values)
    else:
        init_kwargs = getattr(task, "_BaseOperator__init_kwargs", {}) or {}
        explicit = [
            k for k in ORIGINS.explicit.get(id(task), sorted(init_kwargs)) if k not in _STRUCTURAL_KWARGS
        ]
        # a base class's constructor records what its subclass passed on, None where the user set nothing
        values = {
            k: v
            for k, v in init_kwargs.items()
            if k not in _STRUCTURAL_KWARGS and (v is not None or k in explicit)
        }
        values.update(_template_files(task, values))
        values.update(_inherited_pod(task, values))
        if "params" not in explicit:
            values.pop("params", None)  # DAG params Airflow merged into every task
        mapped = {}
    group = getattr(task, "task_group", None)
    group_id = getattr(group, "group_id", None)
    fn = values.get("python_callable") or getattr(task, "python_callable", None)
    if not fn and is_mapped:
        fn = getattr(task, "partial_kwargs", {}).get("python_callable")
    # only what the converter reads (parsed_file_from_probe): every field is serialised, sent and
    # checked once per task of every file
    return {
        "task_id": task.task_id,
        "operator": _operator_name(task),
        "operator_class": type(task).__name__ if not is_mapped else _mapped_class_name(task),
        "operator_module": _operator_module(task, is_mapped),
        "operator_mro": _operator_mro(task, is_mapped),
        "operator_in_dag_file": _class_file(_operator_class(task, is_mapped)) == ORIGINS.target,
        "line": ORIGINS.lines.get(id(task)),
        "group_id": group_id,
        "args": {k: to_json_safe(v, af) for k, v in values.items()},
        "explicit": explicit,
        "python_callable": _callable(fn, dag_file, af) if fn else None,
        "is_mapped": is_mapped,
        "mapped_args": {k: to_json_safe(v, af) for k, v in mapped.items()},
        "is_setup": bool(getattr(task, "is_setup", False)),
        "is_teardown": bool(getattr(task, "is_teardown", False)),
    }


# What a subclass of a container operator hands its base (a company's KubernetesPodOperator wrapper,
# GKEStartPodOperator): the pod settings the base keeps as attributes, as the family maps them
_CONTAINER_FIELDS = {
    "KubernetesPodOperator": (
        "image",
        "cmds",
        "arguments",
        "env_vars",
        "env_from",
        "configmaps",
        "container_resources",
        "labels",
        "annotations",
        "node_selector",
        "tolerations",
        "affinity",
        "image_pull_policy",
        "volumes",
        "volume_mounts",
        "container_security_context",
        "service_account_name",
        "namespace",
        "image_pull_secrets",
        "secrets",
        "init_containers",
        "pod_template_file",
        "full_pod_spec",
        "do_xcom_push",
    ),
    "DockerOperator": (
        "image",
        "command",
        "entrypoint",
        "environment",
        "private_environment",
        "mem_limit",
        "cpus",
        "force_pull",
        "mounts",
        "network_mode",
        "docker_url",
        "privileged",
        "shm_size",
    ),
}


def _inherited_pod(task: Any, values: dict[str, Any]) -> dict[str, Any]:
    """For a subclass of KubernetesPodOperator or DockerOperator, the settings its own constructor
    did not receive but passed on to the base (the values the base keeps), where set."""
    cls = type(task)
    family = next(
        (
            base.__name__
            for base in cls.__mro__[1:]
            if base.__name__ in _CONTAINER_FIELDS and base.__module__.startswith("airflow.")
        ),
        None,
    )
    if family is None:
        return {}
    found = {}
    for name in _CONTAINER_FIELDS[family]:
        value = _quiet_getattr(task, name, None)
        if name not in values and value not in (None, "", [], {}, (), False):
            found[name] = value
    return found


def _template_files(task: Any, values: dict[str, Any]) -> dict[str, str]:
    """Template files named as written (`bash_command="scripts/load.sh"`): Airflow 3 puts the file's
    text in place of the name when it resolves templates; the mapping reads the file itself, and
    says so, as it does for the static reading."""
    extensions = tuple(str(e) for e in (getattr(task, "template_ext", None) or ()))
    written = ORIGINS.written.get(id(task), {})
    return {
        key: text
        for key, text in written.items()
        if key in values and extensions and text.endswith(extensions) and values[key] != text
    }


def _mapped_class_name(task: Any) -> str:
    return getattr(task, "_task_type", None) or getattr(task, "task_type", None) or type(task).__name__


def _operator_class(task: Any, is_mapped: bool) -> Any:
    found = getattr(task, "operator_class", None) if is_mapped else type(task)
    return found if inspect.isclass(found) else type(task)


def _operator_module(task: Any, is_mapped: bool) -> str:
    if is_mapped:
        module = getattr(task, "_operator_module", None) or _operator_class(task, is_mapped).__module__
        return _real_module(str(module), _operator_class(task, is_mapped))
    return _real_module(type(task).__module__, type(task))


def _operator_mro(task: Any, is_mapped: bool) -> list[str]:
    """The operator class's ancestors (its MRO, nearest first) by their importable names: a
    company's KubernetesPodOperator wrapper is mapped through the family of the class it extends."""
    return list(_mro_names(_operator_class(task, is_mapped)))


# What the answer says of a class of the installation (its file, its ancestors' names) is the same
# for every file: found once, by the worker before it forks (remember_classes) or by the child on
# first use, not once per task of every file. A class a DAG file defines is named after the DAG
# folder (_real_module), so it is never kept.
_CLASS_FILES: dict[Any, str] = {}
_MRO_NAMES: dict[Any, tuple[str, ...]] = {}


def _installed(cls: Any) -> bool:
    return not str(getattr(cls, "__module__", "")).startswith(_DAG_FILE_MODULE)


def _mro_names(cls: Any) -> tuple[str, ...]:
    known = _MRO_NAMES.get(cls)
    if known is not None:
        return known
    bases = tuple(
        f"{_real_module(base.__module__, base)}.{base.__qualname__}"
        for base in cls.__mro__[1:]
        if base is not object
    )
    if all(_installed(base) for base in cls.__mro__):
        _MRO_NAMES[cls] = bases
    return bases


def remember_classes(af: _Airflow) -> None:
    """Every operator class imported so far, its file and ancestors found here in the worker, before
    it forks: each file's child inherits them instead of finding them again for every task."""
    if af.BaseOperator is None:
        return
    pending, seen = [af.BaseOperator], set()
    while pending:
        cls = pending.pop()
        if cls in seen or not _installed(cls):
            continue
        seen.add(cls)
        _class_file(cls)
        _mro_names(cls)
        try:
            pending.extend(type.__subclasses__(cls))
        except TypeError:
            continue


_DAG_FILE_MODULE = "unusual_prefix_"  # DagBag imports a DAG file as unusual_prefix_<hash>_<name>


def _real_module(module: str, cls: Any) -> str:
    """A class's module as an image would import it: for a class a DAG file defines, Airflow's
    internal module name becomes the file's path relative to the DAGs folder (on sys.path there)."""
    if not module.startswith(_DAG_FILE_MODULE):
        return module
    path = _class_file(cls)
    if not path:
        return module
    folder = os.path.realpath(ORIGINS.dag_folder) if ORIGINS.dag_folder else os.path.dirname(path)
    relative = (
        os.path.relpath(path, folder) if path.startswith(folder.rstrip("/") + "/") else os.path.basename(path)
    )
    stem = relative[:-3] if relative.endswith(".py") else relative  # noqa: FURB188 (Python 3.8 has no removesuffix)
    parts = [part for part in stem.split(os.sep) if part]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or module  # named after the file even where no import could reach it


def _class_file(cls: Any) -> str:
    known = _CLASS_FILES.get(cls)
    if known is not None:
        return known
    try:
        found = os.path.realpath(inspect.getfile(cls))
    except (OSError, TypeError):
        found = ""
    if _installed(cls):
        _CLASS_FILES[cls] = found
    return found


def _dag(dag: Any, af: _Airflow, dag_file: str) -> dict[str, Any]:
    tasks = [_task(task, dag, af, dag_file) for task in dag.task_dict.values()]
    edges = sorted((up, task.task_id) for task in dag.task_dict.values() for up in task.upstream_task_ids)
    return {
        "dag_id": dag.dag_id,
        "line": ORIGINS.lines.get(id(dag)),
        **_schedule(dag, af),
        "catchup": to_json_safe(getattr(dag, "catchup", None), af),
        "start_date": to_json_safe(getattr(dag, "start_date", None), af),
        "end_date": to_json_safe(getattr(dag, "end_date", None), af),
        "max_active_runs": to_json_safe(getattr(dag, "max_active_runs", None), af),
        "max_active_tasks": to_json_safe(getattr(dag, "max_active_tasks", None), af),
        "default_args": to_json_safe(getattr(dag, "default_args", None) or {}, af),
        "params": _params(dag, af),
        "tags": sorted(str(t) for t in (getattr(dag, "tags", None) or ())),
        "doc_md": getattr(dag, "doc_md", None),
        "description": getattr(dag, "description", None),
        **_template_searchpath(dag),
        "task_groups": _task_groups(dag, af),
        "edge_labels": _edge_labels(dag),
        "tasks": tasks,
        "edges": [list(edge) for edge in edges],
    }


def _template_searchpath(dag: Any) -> dict[str, list[str]]:
    """The folders Airflow's Jinja loader searches after the DAG's own (template files such as
    `bash_command="scripts/run.sh"`), when the DAG names any: paths, as the loader takes them."""
    entries = getattr(dag, "template_searchpath", None) or ()
    if isinstance(entries, (str, os.PathLike)):
        entries = [entries]
    paths = [os.fspath(entry) for entry in entries if isinstance(entry, (str, os.PathLike))]
    return {"template_searchpath": paths} if paths else {}


_TRACEBACK_LINE = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')


def _import_error(message: str, dag_file: str) -> dict[str, Any]:
    """The error text with the last line Airflow's traceback names in the DAG file itself."""
    target = os.path.realpath(dag_file)
    line = None
    for match in _TRACEBACK_LINE.finditer(message):
        if os.path.realpath(match.group("file")) == target:
            line = int(match.group("line"))
    return {"message": message, "summary": _summary(message), "line": line}


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*: ")


def _summary(message: str) -> str:
    """The `SomeError: text` line of a traceback (SQLAlchemy and others append notes after it)."""
    lines = [text.strip() for text in message.strip().splitlines() if text.strip()]
    for text in reversed(lines):
        if _EXCEPTION_LINE.match(text):
            return text
    return lines[-1] if lines else message


def read_file(path: str, dag_folder: str, af: _Airflow) -> dict[str, Any]:
    """Parse one file with DagBag, as Airflow's DAG processor would, and describe the result."""
    path = os.path.abspath(path)
    dag_folder = os.path.abspath(dag_folder)
    # Airflow puts the DAGs folder on sys.path so DAG files can import their helper modules, and
    # DAG files find their data files through [core] dags_folder
    if dag_folder not in sys.path:
        sys.path.insert(0, dag_folder)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = dag_folder
    settings = sys.modules.get("airflow.settings")
    if settings is not None and hasattr(settings, "DAGS_FOLDER"):
        settings.DAGS_FOLDER = dag_folder
    ORIGINS.reset(path)
    ORIGINS.dag_folder = dag_folder
    with _FrozenClock() as clock:
        bag = _make_bag(af, dag_folder)
        try:
            found = bag.process_file(path, only_if_updated=False, safe_mode=True)
        except SystemExit:
            # 3.x records sys.exit() in a DAG file as an import error; 2.x lets it escape. Same result.
            bag.import_errors[path] = traceback.format_exc()
            found = []
        dags = sorted(found or [], key=lambda d: d.dag_id)
        errors = [_import_error(msg, path) for _, msg in sorted(bag.import_errors.items())]
        skipped = not dags and not errors and not _might_contain_dag(path)
        return {
            "path": path,
            "status": "ok",
            "skipped": skipped,
            "dags": [_dag(dag, af, path) for dag in dags],
            "import_errors": errors,
            "sandbox_folders": _sandbox_folders(),
            "clock": {"epoch": clock.epoch.isoformat(), "reads": sorted(clock.reads)},
        }


# -- the clock a DAG file reads while it is imported -----------------------------------------------


class _FrozenClock:
    """While a file is imported, `datetime.now()`, `utcnow()`, `today()`, `date.today()` (and what is
    built on them: pendulum.now/today/yesterday, Airflow's utcnow and days_ago) return one fixed
    instant, SOURCE_DATE_EPOCH else 1970-01-01T00:00:00Z, so that values a DAG computes from the
    time of import are the same in every run. The DAG file's lines that read it are recorded.

    `datetime.datetime` and `datetime.date` are replaced in the `datetime` module by subclasses that
    still accept every real instance in isinstance/issubclass; code that bound the classes before
    (Airflow's own modules in the worker) keeps the real clock."""

    def __init__(self) -> None:
        try:
            seconds = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
        except ValueError:
            seconds = 0
        self.epoch = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)  # noqa: UP017 (3.8)
        self.reads: set[int] = set()
        self._saved: tuple[Any, Any] | None = None

    def __enter__(self) -> _FrozenClock:  # noqa: PYI034 (Python 3.8 has no typing.Self)
        real_datetime, real_date = datetime.datetime, datetime.date
        clock = self

        class _Real(type):
            def __instancecheck__(cls, obj: Any) -> bool:
                return isinstance(obj, cls.__bases__[0])

            def __subclasscheck__(cls, sub: Any) -> bool:
                return issubclass(sub, cls.__bases__[0])

        class FrozenDatetime(real_datetime, metaclass=_Real):  # type: ignore[misc]
            @classmethod
            def now(cls, tz: Any = None) -> Any:
                clock.read()
                moment = clock.epoch.astimezone(tz) if tz is not None else clock.epoch.replace(tzinfo=None)
                if cls is FrozenDatetime:
                    return moment
                return real_datetime.__new__(cls, *moment.timetuple()[:6], moment.microsecond, moment.tzinfo)

            @classmethod
            def utcnow(cls) -> Any:
                return cls.now(datetime.timezone.utc).replace(tzinfo=None)  # noqa: UP017 (3.8)

            @classmethod
            def today(cls) -> Any:
                return cls.now()

        class FrozenDate(real_date, metaclass=_Real):  # type: ignore[misc]
            @classmethod
            def today(cls) -> Any:
                clock.read()
                return (
                    clock.epoch.date()
                    if cls is FrozenDate
                    else real_date.__new__(cls, clock.epoch.year, clock.epoch.month, clock.epoch.day)
                )

        self._saved = (real_datetime, real_date)
        datetime.datetime, datetime.date = FrozenDatetime, FrozenDate  # type: ignore[misc]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            datetime.datetime, datetime.date = self._saved  # type: ignore[misc]

    def read(self) -> None:
        """Record the line of the DAG file that asked for the time, unless Airflow asked itself
        (the first caller outside the clock libraries is Airflow's or a library's own code)."""
        frame: types.FrameType | None = sys._getframe(2)
        while frame is not None and _in_clock_library(frame.f_code.co_filename):
            frame = frame.f_back
        if frame is None or not _users_code(frame.f_code.co_filename):
            return
        while frame is not None:
            if frame.f_code.co_filename == ORIGINS.target:
                self.reads.add(frame.f_lineno)
                return
            frame = frame.f_back


def _in_clock_library(filename: str) -> bool:
    return "/pendulum/" in filename or (
        filename.endswith(("/timezone.py", "/dates.py")) and "/airflow/" in filename
    )


def _users_code(filename: str) -> bool:
    """The DAG file, or a module of the DAG folder (a helper computing a start date)."""
    folder = _realpath(ORIGINS.dag_folder).rstrip("/") + "/"
    return filename == ORIGINS.target or (bool(ORIGINS.dag_folder) and _realpath(filename).startswith(folder))


def _sandbox_folders() -> dict[str, str]:
    """The folders that exist only while the file is imported (values built on them are mapped back)."""
    import tempfile

    cwd = os.getcwd()
    found = {"cwd": cwd, "tmp": tempfile.gettempdir()}
    if os.path.basename(cwd) == "cwd":  # the sandbox's own root folder (sandbox.py), of which cwd is part
        found["root"] = os.path.dirname(cwd)
    for name, variable in (("home", "AIRFLOW_HOME"), ("logs", "AIRFLOW__LOGGING__BASE_LOG_FOLDER")):
        if os.environ.get(variable):
            found[name] = os.environ[variable]
    return {name: folder.rstrip("/") for name, folder in found.items() if folder.rstrip("/")}


def _make_bag(af: _Airflow, dag_folder: str) -> Any:
    kwargs: dict[str, Any] = {"dag_folder": dag_folder, "collect_dags": False}
    # 3.3 dropped include_examples (examples are never collected there); older versions need it off
    if "include_examples" in inspect.signature(af.DagBag.__init__).parameters:
        kwargs["include_examples"] = False
    return af.DagBag(**kwargs)


def _might_contain_dag(path: str) -> bool:
    # Airflow's safe-mode heuristic: a file mentioning neither "airflow" nor "dag" is not imported
    try:
        with open(path, "rb") as handle:
            content = handle.read().lower()
    except OSError:
        return True
    return b"airflow" in content and b"dag" in content


# -- isolation: one forked child per file -------------------------------------------------------


def _child(request: dict[str, Any], af: _Airflow, write_fd: int, sandboxed: bool, exits: _ChildExits) -> None:
    """Runs in the forked child: shut the worker's channels, limits, parse, answer, never return."""
    status = 0
    me = os.getpid()
    path, dag_folder = request["path"], request["dag_folder"]
    limits: dict[str, Any] = {}
    try:
        os.setpgid(0, 0)  # its own group, so a timeout also kills what the DAG file spawned
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        exits.close()  # the worker's own wake-up pipe is not the file's to write into
        devnull = os.open(os.devnull, os.O_RDWR)
        # the converter's channel (stdin, the private stdout) and the worker's log: a DAG file reading
        # stdin must not eat the next request, nor write an answer where the converter reads one
        for fd in {0, 1, 2, _OUT_FD}:
            os.dup2(devnull, fd)
        limits = _enter(
            path,
            dag_folder,
            int(request.get("memory_mb", 0)),
            int(request.get("max_processes", 0)),
            sandboxed,
        )
        result = read_file(path, dag_folder, af)
        result["limits"] = limits
    except BaseException as exc:  # the child must report, whatever the DAG file did
        result = {
            "status": "crashed",
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
            "limits": limits,
        }
        status = 1
    if os.getpid() != me:  # a process the DAG file forked got here: only the child itself answers
        os._exit(0)
    result.update(nonce=request["nonce"], path=path)
    try:
        payload = json.dumps(result).encode()  # keys in the DAG's own order: dict order is a value's meaning
    except (TypeError, ValueError) as exc:
        payload = json.dumps(
            {
                "nonce": request["nonce"],
                "path": path,
                "status": "crashed",
                "limits": limits,
                "error": f"the answer could not be written: {exc}",
            }
        ).encode()
        status = 1
    try:
        inside.write_all(write_fd, inside.encode(payload))
    finally:
        os._exit(status)


def _enter(path: str, dag_folder: str, memory_mb: int, max_processes: int, sandboxed: bool) -> dict[str, Any]:
    """Limits and the user the DAG file runs as.

    RLIMIT_NPROC counts every process of the real user, and root is exempt from it. So as root the
    child becomes `nobody` when the DAG file, its folder and this interpreter's libraries are
    readable by others (it still imports the DAG's modules and Airflow's lazy ones after the drop):
    the limit then holds, and nothing only root may read or write is within its reach. Otherwise it
    keeps its user and gives up every capability it holds; the answer's limits say which applied.
    """
    import resource

    limits: dict[str, Any] = {"processes": None, "user": None}
    if memory_mb > 0:
        _limit_memory(memory_mb)
        limits["memory_mb"] = memory_mb
    if os.geteuid() == 0:
        if inside.nobody_can_read(path, dag_folder):
            if not sandboxed:  # without bubblewrap the worker's temporary folders stay writable for it
                for folder in (os.getcwd(), os.environ.get("TMPDIR"), os.environ.get("AIRFLOW_HOME")):
                    if folder and os.path.isdir(folder):
                        os.chown(folder, inside.NOBODY, inside.NOBODY)
            inside.become_nobody()
            limits["user"] = "nobody"
        elif sandboxed:
            inside.clear_capabilities()
    if sandboxed:
        os.chdir(inside.CWD)
    if max_processes > 0 and os.geteuid() != 0:
        allowed = inside.process_count(os.getuid()) + max_processes
        resource.setrlimit(resource.RLIMIT_NPROC, (allowed, allowed))
        limits["processes"] = max_processes
    return limits


def _limit_memory(memory_mb: int) -> None:
    import resource

    # headroom above what the worker (Airflow already imported) occupies
    limit = _current_vm_bytes() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _current_vm_bytes() -> int:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1024 * 1024 * 1024


class _ChildExits:
    """SIGCHLD as a readable descriptor, so the worker waits on the pipe and the child at once."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self.write_fd)

    def drain(self) -> None:
        try:
            while os.read(self.read_fd, 512):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            try:
                os.close(fd)
            except OSError:
                continue


def serve_one(
    request: dict[str, Any], af: _Airflow, scratch: inside.Scratch | None, exits: _ChildExits
) -> tuple[dict[str, Any], bytes]:
    """Import one file in a forked child; (the worker's header, the child's frame, unread)."""
    path = str(request["path"])
    request = {
        **request,
        "path": path,
        "nonce": str(request["nonce"]),
        "dag_folder": request.get("dag_folder") or os.path.dirname(os.path.abspath(path)),
    }
    timeout = float(request.get("timeout", 5.0))
    started = time.monotonic()
    read_fd, write_fd = os.pipe()
    sandboxed = scratch is not None
    with _idle_engines_hidden():
        pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(request, af, write_fd, sandboxed, exits)
    os.close(write_fd)
    data, wait_status = _wait(read_fd, pid, started + timeout, exits)
    # the child is done or out of time: whatever it or the DAG file started goes too, then the pipe
    # is read to its end (every writer is gone in a sandbox) so that a late, forged frame shows
    _kill_group(pid)
    if wait_status is None:
        _, wait_status = os.waitpid(pid, 0)
        timed_out = True
    else:
        timed_out = False
    swept = inside.sweep() if sandboxed else True
    data += _drain(read_fd, eof_expected=sandboxed and swept)
    os.close(read_fd)
    if scratch is not None:  # nothing the file wrote is there for the next one
        swept = scratch.restore() and swept
    header: dict[str, Any] = {
        "nonce": request["nonce"],
        "path": path,
        "swept": swept,
        "seconds": round(time.monotonic() - started, 3),
    }
    if len(data) > inside.MAX_FRAME + inside.HEADER:  # only a forged answer is this large
        return {**header, "status": "tampered", "error": f"more than {inside.MAX_FRAME} bytes"}, b""
    if timed_out:
        return {**header, "status": "timeout", "timeout": timeout}, b""
    try:
        frames, rest = inside.split_frames(data)
    except inside.FrameError as error:
        return {**header, "status": "tampered", "error": str(error)}, b""
    if len(frames) > 1 or rest:
        return {**header, "status": "tampered", "frames": len(frames), "extra_bytes": len(rest)}, b""
    if not frames:
        exit_code = _exit_code(wait_status)
        how = f"killed by signal {-exit_code}" if exit_code < 0 else f"exited with status {exit_code}"
        return {
            **header,
            "status": "crashed",
            "exit_code": exit_code,
            "limits": {"memory_mb": int(request.get("memory_mb", 0)) or None},
            "error": f"the process importing the file {how} before Airflow finished reading it",
        }, b""
    return {**header, "status": "ok", "frames": 1}, frames[0]


@contextlib.contextmanager
def _idle_engines_hidden() -> Iterator[None]:
    """Airflow 3 registers an at-fork handler that disposes of its SQLAlchemy engines in every child
    (so that no pooled connection is shared with the parent). While their pools hold no connection
    that is a no-op that still runs SQLAlchemy code, whose pages each child then copies (~1.5 ms a
    file): over the fork such an engine is hidden from the handler, and put back on both sides."""
    settings = sys.modules.get("airflow.settings")
    hidden: list[tuple[str, Any]] = []
    for name in ("engine", "async_engine"):
        engine = getattr(settings, name, None)
        pool = getattr(getattr(engine, "sync_engine", engine), "pool", None)
        try:
            idle = pool is not None and pool.checkedin() == 0 and pool.checkedout() == 0
        except Exception:  # noqa: BLE001 - a pool that cannot say is left to the handler
            idle = False
        if idle:
            hidden.append((name, engine))
            setattr(settings, name, None)
    try:
        yield
    finally:
        for name, engine in hidden:
            setattr(settings, name, engine)


def _wait(read_fd: int, pid: int, deadline: float, exits: _ChildExits) -> tuple[bytes, int | None]:
    """What the child wrote until it exited (and its wait status), or until the deadline (None)."""
    data = b""
    eof = False
    while True:
        done, wait_status = os.waitpid(pid, os.WNOHANG)
        if done:
            return data, wait_status
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return data, None
        watched = [exits.read_fd] if eof else [read_fd, exits.read_fd]
        ready, _, _ = select.select(watched, [], [], remaining)
        if exits.read_fd in ready:
            exits.drain()
        if read_fd in ready:
            chunk = os.read(read_fd, 1 << 20)
            eof = not chunk
            data += chunk
            if len(data) > inside.MAX_FRAME + inside.HEADER:  # only a forged answer is this large
                return data, None


def _drain(read_fd: int, eof_expected: bool) -> bytes:
    """The rest of the pipe: to its end when every writer is gone (within a second and MAX_FRAME),
    else what is there now (without a PID namespace a process that left the group may hold it)."""
    data = b""
    deadline = time.monotonic() + (1.0 if eof_expected else 0.0)
    while len(data) <= inside.MAX_FRAME:
        ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(read_fd, 1 << 20)
        if not chunk:
            break
        data += chunk
    return data


def _kill_group(pid: int) -> None:
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except (ProcessLookupError, PermissionError):
            continue


def _exit_code(wait_status: int) -> int:
    # os.waitstatus_to_exitcode is 3.9+; Airflow 2.7-2.10 still run on Python 3.8
    if os.WIFSIGNALED(wait_status):
        return -os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)


def example_dag_folders() -> list[str]:
    """Every `example_dags` folder shipped in the airflow package (core and providers)."""
    import airflow

    folders = set()
    for base in getattr(airflow, "__path__", []):
        for root, dirs, _ in os.walk(base):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            if os.path.basename(root) == "example_dags":
                folders.add(root)
                dirs[:] = []  # examples nested in examples belong to the outer folder
    return sorted(folders)


# -- entry points -------------------------------------------------------------------------------


def _emit(document: dict[str, Any]) -> None:
    inside.write_all(_OUT_FD, (json.dumps(document, sort_keys=True) + "\n").encode())


def _isolate_stdout() -> None:
    global _OUT_FD
    _OUT_FD = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr


def _close_inherited() -> None:
    """Nothing but stdin, stdout and stderr stays open from whoever started the worker."""
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else []:
        fd = int(name)
        if fd > 2:
            try:
                os.close(fd)
            except OSError:
                continue


_AIRFLOW_MODULE = re.compile(r"^airflow(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def preload(names: Any) -> dict[str, Any]:
    """Import, here in the worker, the Airflow modules the next DAG files import, so that each
    file's forked child finds them imported instead of importing them again (the kubernetes
    provider alone takes a second or more). Airflow's DAG processor does the same before it forks
    ([dag_processor] parsing_pre_import_modules). Only `airflow.*` modules: they resolve inside the
    installation (the trusted side), never in a DAG folder, which is on no path of the worker's.
    A module that fails to import is left to the file's own import to report."""
    import importlib

    started = time.monotonic()
    imported = failed = 0
    for name in names if isinstance(names, list) else []:
        if not isinstance(name, str) or not _AIRFLOW_MODULE.match(name) or name in sys.modules:
            continue
        try:
            importlib.import_module(name)
            imported += 1
        except Exception:  # noqa: BLE001 - a missing or broken module is the file's to report
            failed += 1
    return {
        "preloaded": imported,
        "failed": failed,
        "seconds": round(time.monotonic() - started, 3),
        "modules": len(sys.modules),
    }


# A DAG of our own, parsed by the worker before any file (see warm_up); Airflow 2.7+ and 3.x
_WARM_UP_DAG = """
import datetime

try:
    from airflow.sdk import DAG, TaskGroup, task
except ImportError:
    from airflow import DAG
    from airflow.decorators import task
    from airflow.utils.task_group import TaskGroup
try:
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:
    from airflow.operators.empty import EmptyOperator


def callable_(**context):
    return context


with DAG("airflow2kfp_warm_up", schedule="@daily", start_date=datetime.datetime(2024, 1, 1), catchup=False,
         default_args={"retries": 1, "retry_delay": datetime.timedelta(minutes=5)}, tags=["warm-up"]):
    start = EmptyOperator(task_id="start")
    with TaskGroup("group"):
        @task
        def step(value: int) -> int:
            return value

        done = step(1)
    start >> done
"""

# The operator families most DAG files use, each built once in the warm-up DAG when (and only when)
# one of its modules is already imported: the warm-up never imports a module itself.
# (modules, newest first; class; the call's arguments)
_WARM_UP_OPERATORS = (
    (
        ("airflow.providers.standard.operators.bash", "airflow.operators.bash"),
        "BashOperator",
        'task_id="bash", bash_command="echo {{ ds }}"',
    ),
    (
        ("airflow.providers.standard.operators.python", "airflow.operators.python"),
        "PythonOperator",
        'task_id="python", python_callable=callable_, op_kwargs={"value": 1}',
    ),
    (
        ("airflow.providers.cncf.kubernetes.operators.pod",),
        "KubernetesPodOperator",
        'task_id="pod", name="pod", image="busybox", cmds=["echo"], arguments=["{{ ds }}"], '
        'env_vars={"A": "1"}, labels={"team": "a"}',
    ),
    (
        ("airflow.providers.docker.operators.docker",),
        "DockerOperator",
        'task_id="docker", image="busybox", command="echo {{ ds }}"',
    ),
)


def _warm_up_source() -> str:
    """The warm-up DAG with one task of each loaded family (from the first of its modules loaded)."""
    lines = []
    for modules, name, call in _WARM_UP_OPERATORS:
        module = next((m for m in modules if m in sys.modules), None)
        if module is None:
            continue
        lines += [
            "    try:",
            f"        from {module} import {name}",
            f"        start >> {name}({call})",
            "    except Exception:",  # a version that takes other arguments: the rest still warms
            "        pass",
        ]
    return _WARM_UP_DAG + ("\n".join(lines) + "\n" if lines else "")


def warm_up(af: _Airflow) -> None:
    """Parse a DAG of our own (never a user's) in the worker before it forks: what Airflow and
    Python set up on first use (lazy imports, class caches, specialised bytecode, abc caches that
    an import registering a class invalidated) is then inherited by every file's child instead of
    being set up again, and copied page by page, in each. Run at start and again after each
    preload. Only an optimisation: a failure changes nothing. What read_file changes in the process
    (sys.path, the DAGs folder) is put back."""
    import shutil
    import tempfile

    path_before, folder_before = list(sys.path), os.environ.get("AIRFLOW__CORE__DAGS_FOLDER")
    settings = sys.modules.get("airflow.settings")
    settings_folder = getattr(settings, "DAGS_FOLDER", None)
    modules_before = set(sys.modules)
    folder = tempfile.mkdtemp(prefix="airflow2kfp-warm-up-")
    try:
        path = os.path.join(folder, "airflow2kfp_warm_up.py")
        with open(path, "w") as handle:
            handle.write(_warm_up_source())
        with warnings.catch_warnings():  # a deprecated import path of our own is nobody's concern
            warnings.simplefilter("ignore")
            json.dumps(read_file(path, folder, af), sort_keys=True)
    except Exception:  # noqa: BLE001,S110 - the files' own children set up whatever this did not
        pass
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        sys.path[:] = path_before
        if folder_before is not None:
            os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = folder_before
        if settings is not None and settings_folder is not None:
            settings.DAGS_FOLDER = settings_folder
        for name in set(sys.modules) - modules_before:  # the DAG's own module, not what it imported
            if name.startswith("unusual_prefix_") or name == "airflow2kfp_warm_up":
                del sys.modules[name]
        ORIGINS.reset("")


def _freeze() -> None:
    """What the worker holds now is never collected in a child: its pages stay shared after fork
    instead of being copied when a child's collector walks them (Python's advice for fork servers;
    no collection first: on Airflow's heap it takes half a second, for little garbage)."""
    import gc

    gc.freeze()


def _cpu() -> float:
    """CPU seconds of the worker and the files' processes it has waited for, so far (--timings)."""
    times = os.times()
    return round(times.user + times.system + times.children_user + times.children_system, 3)


def worker(af: _Airflow, sandboxed: bool) -> int:
    warm_up(af)
    remember_classes(af)
    inside.libraries_readable()  # asked once here, inherited by every file's child
    _freeze()
    exits = _ChildExits()
    scratch = inside.Scratch() if sandboxed else None
    inside.write_all(
        _OUT_FD,
        inside.encode(
            {
                "hello": True,
                "airflow_version": af.version,
                "cpu": _cpu(),
                "python": sys.version.split()[0],
                "sandboxed": sandboxed,
            }
        ),
    )
    requests = inside.FrameReader(0)
    while True:
        try:
            request = inside.read_json_frame(requests, float("inf"))
        except EOFError:
            return 0
        except (inside.FrameError, ValueError):
            return 2  # the converter never sends that: stop
        if request is None:
            continue
        if "preload" in request:  # not a file: Airflow modules to import before the next fork
            inside.write_all(_OUT_FD, inside.encode(preload(request["preload"])))
            remember_classes(af)  # the operator classes those modules brought
            warm_up(af)  # their first use, and abc caches the new modules' registrations invalidated
            _freeze()
            continue
        try:
            header, payload = serve_one(request, af, scratch, exits)
        except Exception as exc:  # a bad request must not end the worker
            header, payload = (
                {
                    "nonce": request.get("nonce"),
                    "path": request.get("path"),
                    "status": "crashed",
                    "error": f"probe error: {type(exc).__name__}: {exc}",
                },
                b"",
            )
        inside.write_all(_OUT_FD, inside.encode({**header, "cpu": _cpu()}) + inside.encode(payload))
        if not header.get("swept", True):
            return 3  # something survived, or could not be put back: the converter starts a fresh sandbox


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    _close_inherited()
    _isolate_stdout()
    inside.set_non_dumpable()
    af = _Airflow()
    if args == ["--version"]:
        _emit({"airflow_version": af.version})
        return 0
    if args == ["--example-dag-folders"]:
        _emit({"airflow_version": af.version, "folders": example_dag_folders()})
        return 0
    _install_hooks(af)
    if args and args[0] == "--worker":
        return worker(af, sandboxed="--sandboxed" in args)
    if not args or args[0].startswith("-"):
        sys.stderr.write(__doc__ or "")
        return 2
    path = args[0]
    dag_folder = (
        args[args.index("--dag-folder") + 1]
        if "--dag-folder" in args
        else os.path.dirname(os.path.abspath(path))
    )
    request = {"nonce": "cli", "path": os.path.abspath(path), "dag_folder": dag_folder, "timeout": 60}
    header, payload = serve_one(request, af, None, _ChildExits())
    _emit(json.loads(payload) if payload else header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
