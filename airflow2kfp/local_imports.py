"""The local modules a Python file imports, found with a cheap `ast` scan (nothing is executed),
and the hashes of files: what the cache keys a DAG file by (airflow2kfp.cache) and what the Airflow
import pre-imports (airflow2kfp.parse.airflow_import) are read from."""

from __future__ import annotations

import ast
import errno
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

MAX_MODULES = 500  # per DAG file: a bound on the transitive scan of huge helper trees


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file; OSError for anything else (opening a FIFO would block forever)."""
    if not path.is_file():
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return path.read_bytes()


def _imported_names(data: bytes) -> tuple[tuple[str, int], ...]:
    """(module name, relative level) of every import in a file's bytes; () when they do not parse."""
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError):
        return ()
    names: list[tuple[str, int]] = []
    # imports are statements: walk statement bodies only, not every expression node
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            names += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            names.append((base, node.level))
            # `from pkg import mod` may import a submodule
            names += [(f"{base}.{alias.name}" if base else alias.name, node.level) for alias in node.names]
        else:
            for name in ("body", "orelse", "finalbody", "handlers", "cases"):
                pending.extend(getattr(node, name, ()))
    return tuple(sorted(set(names)))


def _candidates(module: str, level: int, importer_dir: str, roots: tuple[str, ...]) -> tuple[str, ...]:
    parts = [p for p in module.split(".") if p]
    bases = [os.path.join(importer_dir, *([".."] * (level - 1)))] if level else list(roots)
    found: list[str] = []
    for base in bases:
        for depth in range(1, len(parts) + 1):  # the packages on the way run their __init__.py
            init = os.path.join(base, *parts[:depth], "__init__.py")
            if os.path.isfile(init):
                found.append(init)
        if parts:
            module_file = os.path.join(base, *parts[:-1], parts[-1] + ".py")
            if os.path.isfile(module_file):
                found.append(module_file)
    return tuple(os.path.realpath(hit) for hit in found)


@dataclass
class FileScanner:
    """Hashes of files and their local imports, memoised for one run (many DAGs share helpers).

    `imports` maps a file's content hash to the imports it holds: a pure function of the bytes, so
    the run's Cache keeps it between runs (a re-run parses no file to know its imports).
    """

    imports: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    # a file over the size limit for DAG files (--max-file-size) is never read: not to hash it, not
    # to scan its imports (a 3 GB helper module took gigabytes); its size and time stand for it
    max_bytes: int = 5_000_000
    _files: dict[str, str] = field(default_factory=dict)
    _resolved: dict[tuple[str, int, str, tuple[str, ...]], tuple[str, ...]] = field(default_factory=dict)

    def file_hash(self, path: Path | str) -> str:
        resolved = os.path.realpath(path)
        if resolved not in self._files:
            try:
                stat = os.stat(resolved)
                if stat.st_size > self.max_bytes:
                    self._files[resolved] = f"oversize:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}"
                else:
                    self._files[resolved] = hashlib.sha256(read_regular(Path(resolved))).hexdigest()
            except OSError as error:
                self._files[resolved] = f"unreadable:{error.errno}"
        return self._files[resolved]

    def tree_hash(
        self,
        root: Path,
        skip_suffixes: tuple[str, ...] = (),
        only_suffixes: tuple[str, ...] = (),
        *,
        names_of_others: bool = False,
    ) -> str:
        """One hash of every file below `root` (names and bytes), caches and VCS folders aside; without
        the files named `*<skip_suffixes>`, and with `only_suffixes` only the files named so (with
        `names_of_others`, the names of the other files too, their bytes not read)."""
        digest = hashlib.sha256()
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in {".git", "__pycache__"})
            for name in sorted(files):
                if skip_suffixes and name.endswith(skip_suffixes):
                    continue
                path = Path(folder) / name
                if only_suffixes and not name.endswith(only_suffixes):
                    if names_of_others:
                        digest.update(text_bytes(f"{path.relative_to(root)}") + b"\0")
                    continue
                digest.update(text_bytes(f"{path.relative_to(root)}={self.file_hash(path)}") + b"\0")
        return digest.hexdigest()

    def _imports_of(self, resolved: str) -> tuple[tuple[str, int], ...]:
        content = self.file_hash(resolved)
        if content.startswith("oversize:"):
            return ()
        if content not in self.imports:
            try:
                self.imports[content] = _imported_names(read_regular(Path(resolved)))
            except OSError:
                self.imports[content] = ()
        return self.imports[content]

    def dependencies(self, path: Path, roots: tuple[Path, ...]) -> tuple[list[Path], list[str]]:
        """Local modules `path` imports, transitively, and the import names that resolved to none."""
        start = os.path.realpath(path)
        root_names = tuple(os.fspath(root) for root in roots)
        seen: dict[str, None] = {}
        missing: set[str] = set()
        queue = [start]
        while queue and len(seen) < MAX_MODULES:
            current = queue.pop()
            importer_dir = os.path.dirname(current)
            for name, level in self._imports_of(current):
                # absolute imports resolve the same from every file under the same roots
                memo = (name, level, importer_dir if level else "", root_names)
                if memo not in self._resolved:
                    self._resolved[memo] = _candidates(name, level, importer_dir, root_names)
                hits = self._resolved[memo]
                if not hits:
                    missing.add(f"{'.' * level}{name}")
                for hit in hits:
                    if hit not in seen and hit != start:
                        seen[hit] = None
                        queue.append(hit)
        return [Path(p) for p in sorted(seen)], sorted(missing)


def text_bytes(text: str) -> bytes:
    """Text for a hash: a path's bytes that are not UTF-8 (lone surrogates in Python) as they were."""
    return text.encode("utf-8", "surrogateescape")
