"""What one patch is: a kfp (or kubernetes) attribute, what replaces it, why, and by which means."""

from __future__ import annotations

import builtins
import hashlib
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Kind(str, Enum):
    """How a replacement gives kfp's result (docs/kfp-accel.md explains each)."""

    COPY = "copy"  # kfp's function line for line, a cost taken out (a memo, a hoisted import)
    PATCHED_SOURCE = "patched source"  # kfp's own source compiled with one line changed
    MEMO = "memo"  # kfp's answer remembered for a pure function's arguments
    PROXY = "module proxy"  # the module kfp imported, one function swapped for kfp's caller only
    REWRITE = "rewrite"  # the same result computed another way where it is known to agree; kfp's otherwise
    DEFERRED_WRITE = "deferred write"  # the compiled workflow handed over in memory (deferred_write.py)
    RELEASE = "release"  # kfp's own, noting what to free once the compilation is over (ops.py)


ABSENT: Any = object()  # the attribute is not in the owner's own namespace (inherited, or a builtin)


@dataclass(frozen=True)
class Patch:
    module: str  # where the attribute lives: "kfp.compiler.compiler"
    attribute: str  # in that module, possibly on a class: "Compiler._write_workflow"
    replace: Callable[[Any], Any]  # kfp's value -> ours (built once per kfp value, see install.py)
    kind: Kind
    why: str  # what kfp does there, and why ours gives the same result
    # COPY only: sha256 of kfp's function source the copy was made from (tests compare)
    copied_from: str | None = None

    @property
    def target(self) -> str:
        return f"{self.module}.{self.attribute}"

    @property
    def where(self) -> str:
        """The replacement (or what builds it from kfp's value), as `module.name` in kfp_accel."""
        shown = getattr(self.replace, "stands_for", self.replace)
        return f"{shown.__module__.rsplit('.', 1)[-1]}.{shown.__qualname__}"

    def owner(self) -> tuple[Any, str]:
        """The module or class holding the attribute, and the attribute's own name."""
        *path, name = self.attribute.split(".")
        owner: Any = importlib.import_module(self.module)
        for part in path:
            owner = getattr(owner, part)
        return owner, name

    def own_value(self) -> Any:
        """The value in the owner's own namespace (a staticmethod as such), or ABSENT."""
        owner, name = self.owner()
        return vars(owner).get(name, ABSENT)

    def current(self) -> Any:
        """What kfp's code finds under the name now (a class's inherited attribute, a builtin)."""
        return found_under(*self.owner())


def found_under(owner: Any, name: str) -> Any:
    """What code finds under `owner.name`: the attribute (a class's own or inherited, a staticmethod's
    function) or, in a module without it, the builtin."""
    found = getattr(owner, name, ABSENT)
    return getattr(builtins, name) if found is ABSENT else found


def source_digest(function: Any) -> str:
    """sha256 of a function's source text, as a COPY patch records it."""
    return hashlib.sha256(inspect.getsource(function).encode("utf-8")).hexdigest()
