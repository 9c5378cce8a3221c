"""Imports of the repository's own modules, followed statically.

`from common.tasks import extract` binds `extract` to what `common/tasks.py` defines, read by the
same interpreter under the same budgets (never executed): a function is followed when called, in
its own module's scope; a `@task` function makes a task when the DAG calls it; a `@task_group`
function, a TaskGroup builder, a local operator class (its family by hierarchy), constants and
configs are what they are in that module. Each module is read once per file reading (Python's
`sys.modules`): a module being imported is seen half-defined by an import cycle, as in Python.

What a module does at import beyond defining names is not the importing file's: DAGs its
module-level code builds (a module that is itself a DAG file) are not the file's DAGs, and what the
reading says about them is dropped. A module that cannot be found in the repository or cannot be
read statically leaves the imported names as they were before (`Ref`s): a call of one inside a DAG
is a doubt about the DAG's edges (A2K203 warning), as before.

Code read from a module runs "in" it (`in_module`): its nodes' spans, source text and diagnostics
are that file's, and relative imports start from its package.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libcst as cst

from airflow2kfp.parse import imports
from airflow2kfp.parse.budget import DEFAULT_LIMITS, OverBudget, ReadingLimits
from airflow2kfp.parse.builders import Builders
from airflow2kfp.parse.modules import (
    ModuleFinder,
    SourceModule,
    display_of,
    parse_module_file,
    relative_name,
    with_absolute_imports,
)
from airflow2kfp.parse.positions import Positions
from airflow2kfp.parse.values import LocalModule, Scope
from airflow2kfp.settings import DEFAULTS

MAX_IMPORT_DEPTH = 32  # modules importing modules, nested: far beyond real repositories, bounded
IMPORT_STEPS = 64  # what finding and starting a module costs, besides its statements


class Importing(Builders):
    def __init__(
        self,
        module: cst.Module,
        positions: Positions,
        file: str,
        limits: ReadingLimits = DEFAULT_LIMITS,
        *,
        text: str = "",
        path: Path | None = None,
        finder: ModuleFinder | None = None,
        max_bytes: int = DEFAULTS.max_file_size,
    ) -> None:
        super().__init__(module, positions, file, limits)
        self.here = SourceModule(file, text, module, positions)  # the module whose code runs now
        self.dag_module = self.here
        self.package: str | None = None  # its __package__; None for the DAG file (a top-level module)
        self.path = path  # the DAG file, and its name in diagnostics: modules are named relative to it
        self.dag_display = file
        self.finder = finder
        self.max_bytes = max_bytes
        self.modules: dict[str, LocalModule | None] = {}  # by dotted name, as sys.modules
        self.import_depth = 0

    def run_statement(self, node: cst.CSTNode, scope: Scope) -> None:
        raise NotImplementedError  # Interpreter.run_statement

    # -- running code of another module ----------------------------------------------------
    @contextlib.contextmanager
    def in_module(self, here: SourceModule, package: str | None) -> Iterator[None]:
        """Run code written in `here`: spans, source text and diagnostics are that file's."""
        if here is self.here:
            yield
            return
        saved = (self.here, self.package, self.module, self.positions, self.file, self.statements)
        self.here, self.package = here, package
        self.module, self.positions, self.file = here.module, here.positions, here.display
        self.statements = []
        try:
            yield
        except OverBudget as over:
            if over.where is None and over.statements:  # the hard stop: its line, while it is known
                over.where = self.span(over.statements[-1])
                over.statements = ()
            raise
        finally:
            self.here, self.package, self.module, self.positions, self.file, self.statements = saved

    # -- import statements -----------------------------------------------------------------
    def run_import(self, node: cst.Import | cst.ImportFrom, scope: Scope) -> None:
        fallback = dict(imports.bindings(node))  # the names as references, when nothing is read
        if self.finder is None:
            scope.vars.update(fallback)
            return
        if isinstance(node, cst.Import):
            for alias in node.names:
                name = imports.dotted(alias.name) or ""
                module = self.load(name)
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                    scope.vars[local] = module if module is not None else fallback[local]
                else:  # `import a.b.c` binds `a`, whose attributes lead to b and c
                    head = name.split(".")[0]
                    top = self.modules.get(head) if module is not None else None
                    scope.vars[head] = top if top is not None else fallback[head]
            return
        base = imports.dotted(node.module) if node.module is not None else ""
        absolute = relative_name(base or "", len(node.relative), self.package) if node.relative else base
        module = self.load(absolute) if absolute else None
        if module is None:
            scope.vars.update(fallback)
            return
        if isinstance(node.names, cst.ImportStar):
            self.charge(len(module.scope.vars), node)
            public = module.scope.vars.get("__all__")
            names = [n for n in public if isinstance(n, str)] if isinstance(public, (list, tuple)) else None
            for key, value in list(module.scope.vars.items()):
                if (key in names) if names is not None else not key.startswith("_"):
                    scope.vars[key] = value
            return
        for alias in node.names:
            imported = imports.dotted(alias.name) or ""
            local = (
                alias.asname.name.value
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name)
                else imported
            )
            value = self.module_attribute(module, imported)
            scope.vars[local] = value if value is not None else fallback[local]

    def module_attribute(self, module: LocalModule, name: str) -> Any:
        """`module.name`: what its code defined, else a submodule; None when neither is known."""
        if name in module.scope.vars:
            return module.scope.vars[name]
        return self.load(f"{module.name}.{name}")

    def load(self, name: str) -> LocalModule | None:
        """The module of the repository called `name`, read (once per file reading), or None when it
        is not the repository's or cannot be read statically."""
        if name in self.modules:
            return self.modules[name]
        assert self.finder is not None and self.path is not None
        self.charge(IMPORT_STEPS, self.statements[-1] if self.statements else None)
        parent_name, _, last = name.rpartition(".")
        parent = self.load(parent_name) if parent_name else None
        location = self.finder.find(name) if parent_name == "" or parent is not None else None
        if location is None or self.import_depth >= MAX_IMPORT_DEPTH:
            self.modules[name] = None
            return None
        module = LocalModule(name, Scope({"__name__": name, "__package__": location.package}))
        if location.file is None:  # a namespace package: no code, only submodules
            self.modules[name] = module
        else:
            display = display_of(location.file, self.path, self.dag_display)
            parsed = parse_module_file(location.file, display, self.max_bytes)
            if not isinstance(parsed, SourceModule):
                self.modules[name] = None
                return None
            module.scope.vars["__file__"] = location.file
            parsed = with_absolute_imports(parsed, location.package)
            self.modules[name] = module  # before its code runs: an import cycle sees it half-defined
            self.run_imported(parsed, module, location.package)
        if parent is not None:
            parent.scope.vars[last] = module  # Python sets a submodule on its package once imported
        return module

    def run_imported(self, parsed: SourceModule, module: LocalModule, package: str) -> None:
        """A module's code, run as an import runs it, but building no DAG of the importing file."""
        dags, creations = list(self.dags), self.dag_creations
        diagnostics, dagless, doubts = len(self.diagnostics), len(self.dagless), set(self.doubts)
        outside = not self.context  # imported inside `with DAG`, its tasks would join that DAG
        self.import_depth += 1
        try:
            with self.in_module(parsed, package):
                for statement in parsed.module.body:
                    try:
                        self.run_statement(statement, module.scope)
                    except (OverBudget, MemoryError):
                        raise
                    except Exception:  # noqa: BLE001, S112 - one statement must not lose the module's others
                        continue
        finally:
            self.import_depth -= 1
            self.dags[:] = dags
            self.dag_creations = creations
            if outside:
                del self.diagnostics[diagnostics:]
                del self.dagless[dagless:]
                self.doubts = doubts
