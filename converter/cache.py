"""A content-hash cache of conversion results, so an unchanged DAG is not converted again.

The key of a DAG file covers everything its result depends on: the tool and KFP versions, the
conversion options, SOURCE_DATE_EPOCH (it sets the compilation time in the YAML), the file's bytes,
and the bytes of every local module it imports, transitively. Imports are found with a cheap `ast`
scan and resolved against the DAG folder (Airflow puts it on sys.path) and the file's own folder;
an import that resolves to nothing is part of the key too, so creating that module invalidates it.

Entries are pickled FileResults in `<cache dir>/v1/ab/abcdef....pickle`; the folder holds a
CACHEDIR.TAG and a `.gitignore`, and deleting it is always safe.
"""

from __future__ import annotations

import ast
import errno
import functools
import hashlib
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from converter import __version__
from converter.pipeline import FileResult

CACHE_DIR_NAME = ".airflow2kfp-cache"
LAYOUT = "v1"
MAX_MODULES = 500  # per DAG file: a bound on the transitive scan of huge helper trees
_TAG = (  # the CACHEDIR.TAG signature backup tools recognise
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This folder is a cache of airflow2kfp; it can be deleted.\n"
)


@functools.cache
def _kfp_version() -> str:
    try:
        return version("kfp")
    except PackageNotFoundError:
        return "unknown"


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file; OSError for anything else (opening a FIFO would block forever)."""
    if not path.is_file():
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return path.read_bytes()


def _imported_names(path: Path) -> list[tuple[str, int]]:
    """(module name, relative level) of every import in the file; () when it cannot be parsed."""
    try:
        tree = ast.parse(read_regular(path))
    except (OSError, SyntaxError, ValueError, RecursionError):
        return []
    names: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            names.append((base, node.level))
            # `from pkg import mod` may import a submodule
            names += [(f"{base}.{alias.name}" if base else alias.name, node.level) for alias in node.names]
    return names


def _candidates(module: str, level: int, importer: Path, roots: tuple[Path, ...]) -> list[Path]:
    parts = [p for p in module.split(".") if p]
    if level:
        bases = [importer.parent.joinpath(*([".."] * (level - 1)))]
    else:
        bases = list(roots)
    found: list[Path] = []
    for base in bases:
        for depth in range(1, len(parts) + 1):  # the packages on the way run their __init__.py
            init = base.joinpath(*parts[:depth], "__init__.py")
            if init.is_file():
                found.append(init)
        if parts:
            module_file = base.joinpath(*parts[:-1], parts[-1] + ".py")
            if module_file.is_file():
                found.append(module_file)
    return found


@dataclass
class Hasher:
    """Hashes of files and their local imports, memoised for one run (many DAGs share helpers)."""

    _files: dict[Path, str] = field(default_factory=dict)
    _imports: dict[Path, list[tuple[str, int]]] = field(default_factory=dict)

    def file_hash(self, path: Path) -> str:
        resolved = path.resolve()
        if resolved not in self._files:
            try:
                self._files[resolved] = hashlib.sha256(read_regular(resolved)).hexdigest()
            except OSError as error:
                self._files[resolved] = f"unreadable:{error.errno}"
        return self._files[resolved]

    def tree_hash(self, root: Path, skip_suffixes: tuple[str, ...] = ()) -> str:
        """One hash of every file below `root` (names and bytes), caches and VCS folders aside."""
        digest = hashlib.sha256()
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in {".git", "__pycache__", CACHE_DIR_NAME})
            for name in sorted(files):
                if name.endswith(skip_suffixes) and skip_suffixes:
                    continue
                path = Path(folder) / name
                digest.update(f"{path.relative_to(root)}={self.file_hash(path)}".encode() + b"\0")
        return digest.hexdigest()

    def dependencies(self, path: Path, roots: tuple[Path, ...]) -> tuple[list[Path], list[str]]:
        """Local modules `path` imports, transitively, and the import names that resolved to none."""
        seen: dict[Path, None] = {}
        missing: set[str] = set()
        queue = [path.resolve()]
        while queue and len(seen) < MAX_MODULES:
            current = queue.pop()
            if current not in self._imports:
                self._imports[current] = _imported_names(current)
            for name, level in self._imports[current]:
                hits = _candidates(name, level, current, roots)
                if not hits:
                    missing.add(f"{'.' * level}{name}")
                for hit in (h.resolve() for h in hits):
                    if hit not in seen and hit != path.resolve():
                        seen[hit] = None
                        queue.append(hit)
        return sorted(seen), sorted(missing)

    def key(self, path: Path, display: str, roots: tuple[Path, ...], options_fingerprint: str) -> str:
        digest = hashlib.sha256()
        for part in (
            __version__,
            _kfp_version(),
            f"{sys.version_info[:2]}",
            options_fingerprint,
            os.environ.get("SOURCE_DATE_EPOCH", ""),
            display,
            self.file_hash(path),
        ):
            digest.update(part.encode() + b"\0")
        modules, missing = self.dependencies(path, roots)
        for module in modules:
            digest.update(f"{module}={self.file_hash(module)}".encode() + b"\0")
        for name in missing:
            digest.update(f"missing:{name}".encode() + b"\0")
        return digest.hexdigest()


@dataclass(frozen=True)
class Cache:
    folder: Path

    def _entry(self, key: str) -> Path:
        return self.folder / LAYOUT / key[:2] / f"{key}.pickle"

    def get(self, key: str) -> FileResult | None:
        try:
            with self._entry(key).open("rb") as handle:
                value = pickle.load(handle)  # noqa: S301 - our own cache folder, written by us
        except FileNotFoundError:
            return None
        except Exception:  # a corrupt or incompatible entry is a miss, never an error
            return None
        return value if isinstance(value, FileResult) else None

    def put(self, key: str, result: FileResult) -> None:
        entry = self._entry(key)
        try:
            self._prepare()
            entry.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("wb", dir=entry.parent, delete=False, suffix=".part") as handle:
                pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(handle.name, entry)
        except OSError:
            pass  # a read-only or full disk makes the cache useless, not the run a failure

    def _prepare(self) -> None:
        if (self.folder / "CACHEDIR.TAG").is_file():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "CACHEDIR.TAG").write_text(_TAG)
        (self.folder / ".gitignore").write_text("# created by airflow2kfp\n*\n")
