"""A content-hash cache of conversion results, so an unchanged DAG is not converted again.

The key of a DAG file covers everything its result depends on: the tool (its version and a hash of
its code) and KFP versions, the conversion options, SOURCE_DATE_EPOCH (it sets the compilation time
in the YAML), the file's bytes, and the bytes of every local module it imports, transitively. Imports are found with a cheap `ast`
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
IMPORTS_FILE = "imports.pickle"
MAX_IMPORT_ENTRIES = 200_000
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


@functools.cache
def code_fingerprint() -> str:
    """A hash of the converter's own code and templates: results depend on them, and a development
    install changes them without a new version number (a stale entry could even lack a field)."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".j2", ".html", ".css", ".js")):
        digest.update(f"{path.relative_to(package)}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()


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
class Hasher:
    """Hashes of files and their local imports, memoised for one run (many DAGs share helpers).

    `imports` maps a file's content hash to the imports it holds: a pure function of the bytes, so
    the run's Cache keeps it between runs (a re-run parses no file to know its imports).
    """

    imports: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    _files: dict[str, str] = field(default_factory=dict)
    _resolved: dict[tuple[str, int, str, tuple[str, ...]], tuple[str, ...]] = field(default_factory=dict)

    def file_hash(self, path: Path | str) -> str:
        resolved = os.path.realpath(path)
        if resolved not in self._files:
            try:
                self._files[resolved] = hashlib.sha256(read_regular(Path(resolved))).hexdigest()
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

    def _imports_of(self, resolved: str) -> tuple[tuple[str, int], ...]:
        content = self.file_hash(resolved)
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

    def key(self, path: Path, display: str, roots: tuple[Path, ...], options_fingerprint: str) -> str:
        digest = hashlib.sha256()
        for part in (
            __version__,
            code_fingerprint(),
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
        self._write(self._entry(key), result)

    def load_imports(self) -> dict[str, tuple[tuple[str, int], ...]]:
        """The content hash -> imports memo of earlier runs (Hasher.imports); empty when unreadable."""
        try:
            with (self.folder / LAYOUT / IMPORTS_FILE).open("rb") as handle:
                value = pickle.load(handle)  # noqa: S301 - our own cache folder, written by us
        except Exception:  # missing or corrupt: every file is scanned again
            return {}
        return value if isinstance(value, dict) else {}

    def save_imports(self, imports: dict[str, tuple[tuple[str, int], ...]]) -> None:
        """Keep the memo for the next run, bounded: a long-lived cache must not grow without end."""
        if len(imports) > MAX_IMPORT_ENTRIES:
            imports = dict(list(imports.items())[-MAX_IMPORT_ENTRIES:])  # the newest entries
        self._write(self.folder / LAYOUT / IMPORTS_FILE, imports)

    def _write(self, target: Path, value: object) -> None:
        """Pickle `value` to `target` atomically (a reader never sees half an entry)."""
        try:
            self._prepare()
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("wb", dir=target.parent, delete=False, suffix=".part") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(handle.name, target)
        except OSError:
            pass  # a read-only or full disk makes the cache useless, not the run a failure

    def _prepare(self) -> None:
        if (self.folder / "CACHEDIR.TAG").is_file():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "CACHEDIR.TAG").write_text(_TAG)
        (self.folder / ".gitignore").write_text("# created by airflow2kfp\n*\n")
