"""`import kfp` without running the modules a v1 compilation never reads (an import hook, used once).

`import kfp` loads modules a v1 compilation never uses, ~30% of its time: the kubernetes package's
`config`, `dynamic`, `watch`, `stream`, `utils` and `leaderelection` (imported by its `__init__` for
their names only), kfp.v2.compiler (the v2 compiler, imported by v1's v2_compat) and
kfp.containers.entrypoint (a component's container entry point). When kfp is not imported yet,
`import_kfp()` imports it with these few loaded lazily (importlib's LazyLoader): each is a module
object whose code runs when one of its attributes is first read, so anything that uses one gets it
as if loaded at once. None of them changes anything at import that a compilation reads
(tests/kfp_accel/test_lazy_import.py checks they stay unloaded through a compile and load on use).

This is not a patch of the table: nothing is replaced, and nothing is left to undo. The hook is on
`sys.meta_path` only while kfp is imported; the modules it found stay lazy, and are whole once used.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from typing import Any, Final

# modules `import kfp` loads that a v1 compilation never reads
UNUSED_ON_IMPORT: Final = (
    "kubernetes.config",
    "kubernetes.dynamic",
    "kubernetes.watch",
    "kubernetes.stream",
    "kubernetes.utils",
    "kubernetes.leaderelection",
    "kfp.v2.compiler",
    "kfp.containers.entrypoint",
)


class LazyFinder(importlib.abc.MetaPathFinder):
    """Finds UNUSED_ON_IMPORT's modules as the other finders do, to be loaded on first use."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in UNUSED_ON_IMPORT:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None) if finder is not self else None
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


def import_kfp() -> None:
    """`import kfp`, UNUSED_ON_IMPORT loaded lazily if it is the first import of kfp."""
    if "kfp" in sys.modules:
        return
    finder = LazyFinder()
    sys.meta_path.insert(0, finder)
    try:
        import kfp.compiler  # noqa: F401 - kfp's __init__ imports its dsl, components and compiler
    finally:
        sys.meta_path.remove(finder)
