"""kfp's own functions, copied line for line with one cost taken out, or recompiled from kfp's source
with one line changed (`patched`).

Each copy says what differs from kfp's and why the result is the same; each records the digest of
the kfp source it was copied from (the table's `copied_from`), which tests compare with the
installed kfp's, so a new kfp release shows which copies to read again.
"""

from __future__ import annotations

import copy
import datetime
import functools
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

from airflow2kfp.kfp_accel import introspection

_NO_TO_DICT = frozenset((str, int, float, bool, type(None), list, dict))  # builtins: never a to_dict


def _has_to_dict(value: Any) -> bool:
    return type(value) not in _NO_TO_DICT and hasattr(value, "to_dict")


def convert_object_to_struct(obj: Any, serialized_names: Any = {}) -> dict[str, Any]:  # noqa: B006 - kfp's
    """kfp.components.modelbase.convert_object_to_struct, line for line, with its signature memoised
    (introspection.signature) and `hasattr(value, "to_dict")` answered at once for builtin values,
    which have none."""
    parameters = introspection.signature(obj.__init__).parameters
    result = {}
    for python_name in parameters:
        value = getattr(obj, python_name)
        if python_name.startswith("_"):
            continue
        attr_name = serialized_names.get(python_name, python_name)
        if _has_to_dict(value):
            result[attr_name] = value.to_dict()
        elif isinstance(value, list):
            result[attr_name] = [(x.to_dict() if _has_to_dict(x) else x) for x in value]
        elif isinstance(value, dict):
            result[attr_name] = {k: (v.to_dict() if _has_to_dict(v) else v) for k, v in value.items()}
        else:
            param = parameters.get(python_name, None)
            if param is None or param.default == inspect.Parameter.empty or value != param.default:
                result[attr_name] = value
    return result


_PRIMITIVE_TYPES = (float, bool, bytes, str, int)  # six's (float, bool, bytes, text_type) + integer_types


@functools.cache  # one function wherever kfp refers to it
def k8s_obj_to_json(kfp_convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """kfp.compiler._k8s_helper.convert_k8s_obj_to_json, line for line, its per-call imports (`from
    six import ...`, `from datetime import ...`) made once: the same constants on Python 3."""
    from kfp import dsl

    pipeline_param = dsl.PipelineParam

    def convert_k8s_obj_to_json(k8s_obj: Any) -> Any:
        if k8s_obj is None:
            return None
        elif isinstance(k8s_obj, _PRIMITIVE_TYPES):
            return k8s_obj
        elif isinstance(k8s_obj, list):
            return [convert_k8s_obj_to_json(sub_obj) for sub_obj in k8s_obj]
        elif isinstance(k8s_obj, tuple):
            return tuple(convert_k8s_obj_to_json(sub_obj) for sub_obj in k8s_obj)
        elif isinstance(k8s_obj, (datetime.datetime, datetime.date)):
            return k8s_obj.isoformat()
        elif isinstance(k8s_obj, pipeline_param):
            if isinstance(k8s_obj.value, str):
                return k8s_obj.value
            return f"{{{{inputs.parameters.{k8s_obj.full_name}}}}}"
        if isinstance(k8s_obj, dict):
            obj_dict = k8s_obj
        else:
            obj_dict = {
                k8s_obj.attribute_map[attr]: getattr(k8s_obj, attr)
                for attr in k8s_obj.attribute_map
                if getattr(k8s_obj, attr) is not None
            }
        return {key: convert_k8s_obj_to_json(val) for key, val in obj_dict.items()}

    return convert_k8s_obj_to_json


@functools.cache  # one function wherever kfp refers to it
def pipelineparams_from_any(kfp_extract: Callable[[Any], Any]) -> Callable[[Any], list[Any]]:
    """kfp.dsl._pipeline_param.extract_pipelineparams_from_any, line for line, without calling itself
    for a None item or attribute (its answer: [], which adds nothing; ContainerOp.inputs asks for
    every op several times, walking each op's V1Container attribute by attribute)."""
    from kfp.dsl import _pipeline_param

    pipeline_param = _pipeline_param.PipelineParam

    def extract_pipelineparams_from_any(payload: Any) -> list[Any]:
        if not payload:
            return []

        # PipelineParam
        if isinstance(payload, pipeline_param):
            return [payload]

        # str: the module's function, as kfp looks it up (params.py's when installed)
        if isinstance(payload, str):
            return list(set(_pipeline_param._extract_pipelineparams(payload)))

        # list or tuple
        if isinstance(payload, list | tuple):
            pipeline_params = []
            for item in payload:
                if item is not None:
                    pipeline_params += extract_pipelineparams_from_any(item)
            return list(set(pipeline_params))

        # dict
        if isinstance(payload, dict):
            pipeline_params = []
            for key, value in payload.items():
                if key is not None:
                    pipeline_params += extract_pipelineparams_from_any(key)
                if value is not None:
                    pipeline_params += extract_pipelineparams_from_any(value)
            return list(set(pipeline_params))

        # k8s OpenAPI object
        if hasattr(payload, "attribute_map") and isinstance(payload.attribute_map, dict):
            pipeline_params = []
            for key in payload.attribute_map:
                value = getattr(payload, key)
                if value is not None:
                    pipeline_params += extract_pipelineparams_from_any(value)

            return list(set(pipeline_params))

        # return empty list
        return []

    return extract_pipelineparams_from_any


def standard_lib_dir() -> str:
    """distutils.sysconfig.get_python_lib(standard_lib=True) on CPython and POSIX (setuptools' and
    the standard library's distutils alike): base prefix, platform library folder, pythonX.Y."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return os.path.join(os.path.normpath(sys.base_prefix), sys.platlibdir, version)


def _module_is_builtin_or_standard(module_name: str) -> bool:
    if module_name in sys.builtin_module_names:
        return True
    std_lib_dir = standard_lib_dir()
    module_name_parts = module_name.split(".")
    expected_module_path = os.path.join(std_lib_dir, *module_name_parts)
    return os.path.exists(expected_module_path) or os.path.exists(expected_module_path + ".py")


def module_is_builtin_or_standard(kfp_function: Callable[[str], bool]) -> Callable[[str], bool]:
    """kfp.components._python_op._module_is_builtin_or_standard (per Python component with a non-str
    input: is the module's file in the standard library's folder?), remembered by name; on CPython
    and POSIX a line-for-line copy that computes that folder as distutils does (standard_lib_dir)
    instead of importing `distutils.sysconfig`, which imports setuptools (~0.15 s a process)."""
    here = os.name == "posix" and sys.implementation.name == "cpython"
    return functools.cache(_module_is_builtin_or_standard if here else kfp_function)


def deepcopy(data: Any, memo: dict[int, Any] | None = None) -> Any:
    """copy.deepcopy, doing itself what it does for exact dicts and lists (a new container per
    container, met-twice ones copied once) and for str, int, float, bool and None (the object
    itself); anything else is copy.deepcopy's, with the same memo."""
    owned = memo is None
    if memo is None:
        memo = {}

    def copy_of(item: Any) -> Any:
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None or kind is float:
            return item
        if kind is dict or kind is list:
            copied = memo.get(id(item))
            if copied is None:
                if kind is list:
                    copied = memo[id(item)] = []
                    copied.extend([copy_of(element) for element in item])
                else:
                    copied = memo[id(item)] = {}
                    for key, value in item.items():
                        copied[copy_of(key)] = copy_of(value)
            return copied
        return copy.deepcopy(item, memo)

    try:
        return copy_of(data)
    finally:
        if owned:
            memo.clear()  # copy_of refers to itself: its memo would keep every copy for the cyclic GC


class FastCopy(introspection.ModuleProxy):
    """The `copy` module as kfp.compiler._data_passing_rewriter sees it: `deepcopy` above."""

    deepcopy = staticmethod(deepcopy)


def patched(function: Any, *changes: tuple[str, str]) -> Any:
    """kfp's `function` compiled from its own source with each line `old` replaced by its `new` (one
    line: tracebacks keep kfp's line numbers), in its module; `function` itself when its source
    cannot be read or does not hold each `old` once."""
    try:
        lines, first = inspect.getsourcelines(function)
    except (OSError, TypeError):
        return function
    source = "".join(lines)
    for old, new in changes:
        if source.count(old) != 1 or "\n" in old.rstrip("\n") or "\n" in new.rstrip("\n"):
            return function
        source = source.replace(old, new)
    code = compile("\n" * (first - 1) + source, function.__code__.co_filename, "exec", dont_inherit=True)
    namespace: dict[str, Any] = {}
    exec(code, function.__globals__, namespace)  # noqa: S102 - kfp's own def statement
    return namespace[function.__name__]


# The lines of kfp 1.8.22 each patch changes, and what they become. Each ContainerOp keeps ~27
# closures that refer back to it, so kfp's objects are garbage only the cyclic GC frees; these two
# functions leave a cycle per call that nothing reads afterwards.

# `_components._resolve_command_line_and_paths` (twice a task): its two placeholder-expanding
# closures call each other; dropped after their last use
DROPPED_CLOSURES = (
    (
        "    expanded_args = expand_argument_list(container_spec.args)\n",
        (
            "    expanded_args = expand_argument_list(container_spec.args); "
            "expand_command_part = expand_argument_list = None\n"
        ),
    ),
)
# `modelbase.parse_object_from_struct_based_on_type`: the map of the exceptions it caught, each
# holding its frame, which holds the map, emptied once it has their messages or found the one type
# that fits (nothing reads it then)
EMPTIED_EXCEPTIONS = (
    (
        "                return list(results.values())[0]\n",
        "                exception_map.clear(); return list(results.values())[0]\n",
    ),
    (
        "            exception_lines = [str(e) for t, e in exception_map.items()]\n",
        "            exception_lines = [str(e) for t, e in exception_map.items()]; exception_map.clear()\n",
    ),
)


def resolve_without_cycles(kfp_resolve: Callable[..., Any]) -> Callable[..., Any]:
    """kfp.components._components._resolve_command_line_and_paths, DROPPED_CLOSURES changed."""
    return patched(kfp_resolve, *DROPPED_CLOSURES)


def parse_without_cycles(kfp_parse: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """kfp.components.modelbase.parse_object_from_struct_based_on_type, EMPTIED_EXCEPTIONS changed."""
    return patched(kfp_parse, *EMPTIED_EXCEPTIONS)
