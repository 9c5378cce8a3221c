"""The ops kfp builds per task: named without a quadratic search, made without a Configuration each,
proxied without looking at private names, and released once the compilation is over.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any


def add_op(self: Any, op: Any, define_only: bool) -> str:
    """kfp.dsl._pipeline.Pipeline.add_op, line for line, the unique name asked of `self.ops.keys()`
    itself: kfp passes `list(self.ops.keys())`, a new list searched from the start for every op
    (quadratic in a big DAG); `in` on the keys gives the same answer for the same names."""
    from kfp.components import _naming

    # Sanitizing the op name.
    op_name = _naming._sanitize_python_function_name(op.human_name).replace("_", "-")
    # If there is an existing op with this name then generate a new name.
    op_name = _naming._make_name_unique_by_adding_index(op_name, self.ops.keys(), "-")
    if op_name == "":
        op_name = _naming._make_name_unique_by_adding_index("task", self.ops.keys(), "-")

    self.ops[op_name] = op
    if not define_only:
        self.groups[-1].ops.append(op)

    return op_name


_BUILDING: list[list[Any]] = []  # per released_ops() in progress: the pipelines entered meanwhile


def noting_enter(kfp_enter: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """kfp.dsl._pipeline.Pipeline.__enter__, the pipeline noted for `released_ops` first (when one is
    in progress)."""

    @functools.wraps(kfp_enter)
    def __enter__(self: Any) -> Any:
        if _BUILDING:
            _BUILDING[-1].append(self)
        return kfp_enter(self)

    return __enter__


@contextlib.contextmanager
def released_ops() -> Iterator[None]:
    """Within: the pipelines kfp enters are noted; on leaving, their ops' attributes are dropped.

    Each ContainerOp keeps ~27 closures that refer back to it (its proxies of Container's methods),
    so every op, and all it holds, is garbage only the cyclic GC can free: one pass over ~500 objects
    per task once compile_source turns GC back on. Emptied (the compilation is over; nothing reads
    them), most of it is freed at once by reference counting. Without the `noting_enter` patch
    installed nothing is noted, and nothing emptied.
    """
    pipelines: list[Any] = []
    _BUILDING.append(pipelines)
    try:
        yield
    finally:
        _BUILDING.remove(pipelines)
        for pipeline in pipelines:
            for op in list(pipeline.ops.values()):
                op.__dict__.clear()


def public_dir(obj: Any) -> list[str]:
    """dir(obj) without the names starting with `_`, in its order.

    ContainerOp.__init__ proxies its container's public callables, calling getattr for every name
    `dir()` lists and skipping those starting with `_`; kfp.dsl._container_op's `dir` leaves those
    out beforehand (getattr on them has no effect)."""
    return [name for name in dir(obj) if name[0] != "_"]


_CONFIGURATION: list[Any] = []


def shared_configuration() -> Any:
    """kubernetes' `Configuration()`, made once.

    kubernetes' V1Container makes a `Configuration()` each (logger set-up, a CPU count) only to read
    its `client_side_validation` in setters; kfp makes one per task and never changes it, so they
    share one (making one sets logger levels again, to the same values)."""
    if not _CONFIGURATION:
        from kubernetes.client.configuration import Configuration

        _CONFIGURATION.append(Configuration())
    return _CONFIGURATION[0]
