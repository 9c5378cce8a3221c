"""The compiled workflow handed to the generated file's post-compile step in memory, not written and
parsed again (compile_source's `deferred_write`).

The generated `compile_pipeline` calls `Compiler().compile(pipeline, path)`, then reads `path` back
with its `load_yaml`, changes the workflow (trigger rules, the compilation time) and writes it with
its `dump_yaml` (kfp's YAML style, emit/postcompile.py). Within `deferred_write(armed=True)`, when the workflow is made of exact dicts, lists,
plain strings, ints, bools and None, what the loader would build from the compiler's text is known
without it: `yaml_io.loaded_copy`, the same values, mappings as OrderedDicts, one object for an
object met twice (a YAML alias). So the compiler's write (`Compiler._write_workflow`, patched)
keeps such a copy, taken at once (kfp's own validation changes the workflow afterwards), and puts a
placeholder in the file; the re-read of exactly the placeholder (`load_workflow`, the generated
module's `load_yaml` as `bind` points it) takes the copy, once (its only owner then); any other text
is parsed. compile_source vouches for the result only when the hand-off took the copy and the
placeholder is gone from the final text, or the final text is the placeholder itself (then it is the
copy's YAML, kfp's text); else, or when the step failed with the placeholder not taken, it compiles
again without deferring (`Unsure`), as kfp does.

kfp's public API would make this unnecessary if the generated file asked `Compiler` for the workflow
and wrote it once (docs/kfp-accel.md); the generated files' text is not changed here.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from airflow2kfp.kfp_accel import yaml_io


class Unsure(Exception):
    """A deferred write may have been seen by something other than `load_workflow`."""


class DeferredWrite:
    """The compiler's write of the workflow, kept in memory for the post-compile step's re-read."""

    def __init__(self) -> None:
        self.reset(armed=False)

    def reset(self, armed: bool) -> None:
        self.armed = armed
        self.placeholder: str | None = None  # what the file holds meanwhile
        self.workflow: Any = None  # loaded_copy of what the compiler would have written
        self.taken = False  # by load_workflow, once

    def write(self, workflow: Any, package_path: Any) -> bool:
        """Keep `workflow` instead of writing it to `package_path`; False when not armed or unsure."""
        if not self.armed or self.placeholder is not None:
            return False
        if not (isinstance(package_path, str) and package_path.endswith((".yaml", ".yml"))):
            return False  # kfp archives .zip and .tar.gz: its own write
        try:
            # a copy taken now: what the text would say even if `workflow` changes afterwards (kfp's
            # own _validate_workflow adds empty argument values), and shared with nobody
            copied = yaml_io.loaded_copy(workflow)
        except (yaml_io.NotPlain, RecursionError):
            return False
        self.placeholder = f"# airflow2kfp: compiled workflow {uuid.uuid4().hex}, kept in memory\n"
        with open(package_path, "w") as stream:  # as kfp opens it
            stream.write(self.placeholder)
        self.workflow = copied
        return True

    def take(self, text: Any) -> Any:
        """The workflow, when `text` is the placeholder read back for the first time; else None."""
        if self.placeholder is None or self.taken or type(text) is not str or text != self.placeholder:
            return None
        self.taken = True
        return self.workflow  # handed over: its only owner from now on

    def pending(self) -> bool:
        """The placeholder is in the file and the hand-off has not taken the workflow."""
        return self.placeholder is not None and not self.taken

    def result(self, text: str) -> str:
        """The compiled file's final text as kfp's own write would have left it; Unsure when the
        placeholder may have been seen by anything but the hand-off."""
        if self.placeholder is None:
            return text
        if text == self.placeholder and not self.taken:  # nothing rewrote the compiler's output
            return yaml_io.dump_yaml(self.workflow)  # its text, as kfp's _write_workflow writes it
        if self.pending() or self.placeholder in text:
            raise Unsure
        return text


_DEFERRED = DeferredWrite()


@contextlib.contextmanager
def deferred_write(armed: bool) -> Iterator[DeferredWrite]:
    """Within: the compiler keeps the workflow in memory (when `armed` and the patch is installed)."""
    _DEFERRED.reset(armed)
    try:
        yield _DEFERRED
    finally:
        _DEFERRED.reset(armed=False)


def writer(kfp_write: Callable[..., Any]) -> Any:
    """kfp.compiler.Compiler._write_workflow (a staticmethod), deferred within `deferred_write`;
    kfp's own write outside it, and for anything it does not vouch for."""

    def _write_workflow(workflow: Any, package_path: Any = None) -> Any:
        if _DEFERRED.write(workflow, package_path):
            return None
        return kfp_write(workflow, package_path)

    return staticmethod(_write_workflow)


def load_workflow(stream: Any) -> Any:
    """load_yaml for the post-compile re-read: the compiler's workflow when it is the deferred one."""
    if hasattr(stream, "read"):
        stream = stream.read()
    workflow = _DEFERRED.take(stream)
    return yaml_io.load_yaml(stream) if workflow is None else workflow


def bind(namespace: dict[str, Any]) -> bool:
    """Point a generated module's `load_yaml`/`dump_yaml` (its post-compile step's own, from
    emit/postcompile.py, or kfp's imported by name in files of earlier versions) at `load_workflow`
    and libyaml's dump; names bound to anything else are left alone. True when its `load_yaml` is
    `load_workflow` now."""
    kfp_yaml = yaml_io.kfp_yaml()
    for name, fast in (("load_yaml", load_workflow), ("dump_yaml", yaml_io.dump_yaml)):
        current = namespace.get(name)
        if current is getattr(kfp_yaml, name) or _own_support(current, name, namespace):
            namespace[name] = fast
    return namespace.get("load_yaml") is load_workflow


def _own_support(value: Any, name: str, namespace: dict[str, Any]) -> bool:
    """A function `name` defined in the module itself at its top level: the support code it carries
    (the same meaning as kfp's function of that name; tests compile every golden both ways)."""
    return (
        callable(value)
        and getattr(value, "__module__", None) == namespace.get("__name__")
        and getattr(value, "__qualname__", None) == name
    )
