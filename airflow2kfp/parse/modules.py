"""The repository's own modules a DAG file imports, found as Airflow's `sys.path` finds them and
parsed for the static reader (never executed).

Airflow puts the DAG folder on `sys.path` (and the converter also looks in the DAG file's own
folder, as the cache key does: airflow2kfp/local_imports.py), so `from common.tasks import extract`
in `dags/etl.py` is `dags/common/tasks.py`. `ModuleFinder` resolves a dotted name the way Python's
path finder does, entry by entry: a package with `__init__.py`, else a module file, else a portion
of a namespace package (a folder without `__init__.py`). Only files inside the converted folder are
ever read, and never a module of the standard library, Airflow or a value library (installed
packages come before the DAG folder on Airflow's `sys.path`).

Parsed modules are kept per process by path and content hash: DAG files of one repository share
their helpers, and a module's libcst tree, `ast` and node positions do not depend on who imports it.
"""

from __future__ import annotations

import ast
import hashlib
import os
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
import libcst.helpers

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.model import is_inside
from airflow2kfp.parse.imports import VALUE_LIBRARIES
from airflow2kfp.parse.positions import Positions
from airflow2kfp.parse.source import check_syntax, read_source

__all__ = ["Location", "ModuleFinder", "SourceModule", "parse_module_file", "relative_name"]

PARSED_CACHE = 64  # parsed modules kept per process (a repository's helpers, many times over)


@dataclass(frozen=True, eq=False)
class SourceModule:
    """One parsed Python file: the DAG file being read or a module of the repository it imports."""

    display: str  # the file as diagnostics name it
    text: str
    module: cst.Module
    positions: Positions


@dataclass(frozen=True)
class Location:
    """Where an importable name is: a module file, a package's `__init__.py`, or the folders of a
    namespace package (`file` None)."""

    name: str
    file: str | None
    search: tuple[str, ...] = ()  # a package's folders, where its submodules are looked for

    @property
    def package(self) -> str:
        """The package relative imports inside it start from (`__package__`)."""
        return self.name if self.search else self.name.rpartition(".")[0]


@dataclass
class ModuleFinder:
    """Dotted names to files of the repository, as `sys.path` = `roots` resolves them."""

    roots: tuple[str, ...]  # real paths, in sys.path order: the DAG folder, the DAG file's folder
    boundary: str  # real path of the converted folder: nothing outside it is ever read
    _found: dict[str, Location | None] = field(default_factory=dict)

    @classmethod
    def for_file(cls, path: Path, dag_folder: Path | None) -> ModuleFinder:
        folder = boundary_of(path, dag_folder)
        return cls(tuple(dict.fromkeys((folder, os.path.realpath(path.parent)))), folder)

    def find(self, name: str) -> Location | None:
        if name not in self._found:
            self._found[name] = self._find(name)
        return self._found[name]

    def _find(self, name: str) -> Location | None:
        parts = name.split(".")
        if not all(part.isidentifier() for part in parts) or not is_local_candidate(parts[0]):
            return None
        if len(parts) == 1:
            return self._find_in(name, parts[0], self.roots)
        parent = self.find(".".join(parts[:-1]))
        if parent is None or not parent.search:
            return None
        return self._find_in(name, parts[-1], parent.search)

    def _find_in(self, name: str, part: str, entries: tuple[str, ...]) -> Location | None:
        """Python's FileFinder, entry by entry: a package, else a module, else a namespace portion."""
        portions: list[str] = []
        for entry in entries:
            folder = os.path.join(entry, part)
            is_folder = os.path.isdir(folder)
            if is_folder:
                init = os.path.join(folder, "__init__.py")
                if os.path.isfile(init):
                    return self._inside(Location(name, init, (folder,)))
            module = os.path.join(entry, part + ".py")
            if os.path.isfile(module):
                return self._inside(Location(name, module))
            if is_folder:
                portions.append(folder)
        inside = [p for p in portions if self._within(p)]
        return Location(name, None, tuple(os.path.realpath(p) for p in inside)) if inside else None

    def _inside(self, location: Location) -> Location | None:
        assert location.file is not None
        if not self._within(location.file):
            return None
        return Location(
            location.name,
            os.path.realpath(location.file),
            tuple(os.path.realpath(p) for p in location.search),
        )

    def _within(self, path: str) -> bool:
        return is_inside(self.boundary, os.path.realpath(path))


def boundary_of(path: Path, dag_folder: Path | None) -> str:
    """The real path of the folder being converted, for the DAG file `path` found in `dag_folder`
    (its own folder when None, or when the DAG folder does not hold it): nothing outside is read."""
    own = os.path.realpath(path.parent)
    folder = os.path.realpath(dag_folder) if dag_folder is not None else own
    return folder if is_inside(folder, own) else own


def is_local_candidate(head: str) -> bool:
    """A top-level name Airflow's sys.path may find in the DAG folder: the standard library, Airflow
    and installed value libraries come first on sys.path, so those names are never the repository's."""
    return not (head in sys.stdlib_module_names or head == "airflow" or head in VALUE_LIBRARIES)


def relative_name(module: str, level: int, package: str | None) -> str | None:
    """`from ..x import y` inside `package`: the absolute name, as importlib resolves it; None when
    there is no package (a DAG file is imported as a top-level module) or it is not deep enough."""
    if not package:
        return None
    bits = package.split(".")
    if level > len(bits):
        return None
    base = ".".join(bits[: len(bits) - level + 1])
    return f"{base}.{module}" if module else base


_parsed: OrderedDict[tuple[str, str], SourceModule | Diagnostic] = OrderedDict()


def parse_module_file(path: str, display: str, max_bytes: int) -> SourceModule | Diagnostic:
    """The module at `path` parsed (cached by path and content), or why it cannot be read."""
    text = read_source(Path(path), display, max_bytes)
    if isinstance(text, Diagnostic):
        return text
    key = (path, hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest())
    found = _parsed.get(key)
    if found is not None:
        _parsed.move_to_end(key)
        if isinstance(found, SourceModule) and found.display != display:
            return SourceModule(display, found.text, found.module, found.positions)
        return found
    found = _parse(text, display)
    _parsed[key] = found
    while len(_parsed) > PARSED_CACHE:
        _parsed.popitem(last=False)
    return found


def _parse(text: str, display: str) -> SourceModule | Diagnostic:
    checked = check_syntax(text, display)
    if isinstance(checked, Diagnostic):
        return checked
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        return diag("A2K101", f"Invalid Python: {error.message}", file=display, line=error.raw_line)
    except (RecursionError, MemoryError):
        return diag("A2K107", file=display)
    return SourceModule(display, text, module, Positions(module, text, checked))


def parse_tree(text: str, module: cst.Module, tree: ast.Module, display: str) -> SourceModule:
    """The DAG file itself as a SourceModule (it is parsed by the caller, with its own diagnostics)."""
    return SourceModule(display, text, module, Positions(module, text, tree))


def display_of(path: str, dag_path: Path, dag_display: str) -> str:
    """A module of the repository named as the DAG file is named: relative to the DAG file's display
    path when that is relative (`dags/etl.py` -> `dags/common/tasks.py`), else its real path."""
    relative = os.path.relpath(path, os.path.realpath(dag_path.parent))
    return os.path.normpath(os.path.join(os.path.dirname(dag_display), relative))


def with_absolute_imports(parsed: SourceModule, package: str) -> SourceModule:
    """The module with `from .x import y` written `from <package>.x import y`, each on its own
    line as before: a task's step carries the module-level code its callable uses, and a relative
    import means nothing outside the package."""
    if not any(
        isinstance(small, cst.ImportFrom) and small.relative
        for statement in parsed.module.body
        if isinstance(statement, cst.SimpleStatementLine)
        for small in statement.body
    ):
        return parsed
    text = parsed.module.visit(_Absolute(package)).code
    return SourceModule(parsed.display, text, parsed.module, parsed.positions)


class _Absolute(cst.CSTTransformer):
    def __init__(self, package: str) -> None:
        super().__init__()
        self.package = package

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
        if not updated.relative:
            return updated
        module = cst.helpers.get_full_name_for_node(updated.module) if updated.module is not None else ""
        name = relative_name(module or "", len(updated.relative), self.package)
        if name is None:
            return updated
        return updated.with_changes(relative=(), module=cst.parse_expression(name))
