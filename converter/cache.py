"""A content-hash cache of conversion results, so an unchanged DAG is not converted again.

The key of a DAG file covers everything its result depends on: the tool (its version and a hash of
its code) and KFP versions, the conversion options, SOURCE_DATE_EPOCH (it sets the compilation time
in the YAML), the file's bytes, and the bytes of every local module it imports, transitively. Imports are found with a cheap `ast`
scan and resolved against the DAG folder (Airflow puts it on sys.path) and the file's own folder;
an import that resolves to nothing is part of the key too, so creating that module invalidates it.

Entries are FileResults as JSON (converter.serial: read back only as a FileResult, never
unpickled) in `<cache dir>/v2/ab/abcdef....json`, each holding the key it was written under; an
entry of another shape or key is a miss. The cache lives in the user's cache folder
(`$XDG_CACHE_HOME/airflow2kfp/<hash of OUT>`), not in OUT: output folders are committed, and a pull
request must not be able to plant what the next run reads. The folder holds a CACHEDIR.TAG, and
deleting it is always safe.
"""

from __future__ import annotations

import ast
import errno
import functools
import hashlib
import os
import sys
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import orjson
import platformdirs

from converter import __version__, serial
from converter.results import FileResult

LAYOUT = "v2"
IMPORTS_FILE = "imports.json"
# results that may not hold on the next run (an internal error, a worker that died or ran out of
# time under load, no Airflow interpreter): never cached, so the next run tries again
TRANSIENT_CODES = frozenset({"A2K402", "A2K602", "A2K603", "A2K604", "A2K606"})
MAX_IMPORT_ENTRIES = 200_000
MAX_MODULES = 500  # per DAG file: a bound on the transitive scan of huge helper trees
_TAG = (  # the CACHEDIR.TAG signature backup tools recognise
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This folder is a cache of airflow2kfp; it can be deleted.\n"
)


def default_cache_dir(out_dir: Path) -> Path:
    """The cache of runs into `out_dir`: in the user's cache folder, one folder per output folder."""
    keyed = hashlib.sha256(os.fsencode(out_dir.resolve())).hexdigest()[:16]
    return Path(platformdirs.user_cache_dir("airflow2kfp", appauthor=False)) / keyed


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

    def tree_hash(self, root: Path, skip_suffixes: tuple[str, ...] = ()) -> str:
        """One hash of every file below `root` (names and bytes), caches and VCS folders aside."""
        digest = hashlib.sha256()
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in {".git", "__pycache__"})
            for name in sorted(files):
                if name.endswith(skip_suffixes) and skip_suffixes:
                    continue
                path = Path(folder) / name
                digest.update(_bytes(f"{path.relative_to(root)}={self.file_hash(path)}") + b"\0")
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
            digest.update(_bytes(part) + b"\0")
        modules, missing = self.dependencies(path, roots)
        for module in modules:
            digest.update(_bytes(f"{module}={self.file_hash(module)}") + b"\0")
        for name in missing:
            digest.update(_bytes(f"missing:{name}") + b"\0")
        return digest.hexdigest()


def _bytes(text: str) -> bytes:
    """Text for a hash: a path's bytes that are not UTF-8 (lone surrogates in Python) as they were."""
    return text.encode("utf-8", "surrogateescape")


_IMPORTS = dict[str, tuple[tuple[str, int], ...]]


@dataclass(frozen=True)
class Cache:
    """Results by key in `folder`. `writable=False` (for `check`) reads and never writes."""

    folder: Path
    writable: bool = True

    def _entry(self, key: str) -> Path:
        return self.folder / LAYOUT / key[:2] / f"{key}.json"

    def get(self, key: str) -> FileResult | None:
        entry = self._read(self._entry(key), key)
        if entry is None:
            return None
        try:
            return serial.from_data(entry, FileResult)
        except serial.Invalid:  # another shape: a miss, never an error
            return None

    def put(self, key: str, result: FileResult) -> None:
        if any(d.code in TRANSIENT_CODES for d in _file_diagnostics(result)):
            return
        try:
            value = serial.to_data(result, FileResult)
        except serial.Invalid:  # a value the cache does not keep: convert again next time
            return
        self._write(self._entry(key), key, value)

    def load_imports(self) -> _IMPORTS:
        """The content hash -> imports memo of earlier runs (Hasher.imports); empty when unreadable."""
        entry = self._read(self.folder / LAYOUT / IMPORTS_FILE, IMPORTS_FILE)
        try:
            return serial.from_data(entry, _IMPORTS) if entry is not None else {}
        except serial.Invalid:
            return {}

    def save_imports(self, imports: _IMPORTS) -> None:
        """Keep the memo for the next run, bounded: a long-lived cache must not grow without end."""
        if len(imports) > MAX_IMPORT_ENTRIES:
            imports = dict(list(imports.items())[-MAX_IMPORT_ENTRIES:])  # the newest entries
        self._write(self.folder / LAYOUT / IMPORTS_FILE, IMPORTS_FILE, serial.to_data(imports, _IMPORTS))

    @staticmethod
    def _read(path: Path, key: str) -> object | None:
        """The value of the entry at `path` if it was written under `key`."""
        try:
            envelope = orjson.loads(read_regular(path))
        except (OSError, orjson.JSONDecodeError):
            return None
        if not isinstance(envelope, dict) or envelope.keys() != {"key", "value"} or envelope["key"] != key:
            return None
        return envelope["value"]

    def _write(self, target: Path, key: str, value: object) -> None:
        """Write the entry atomically (a reader never sees half of one)."""
        if not self.writable:
            return
        try:
            data = orjson.dumps({"key": key, "value": value})
        except TypeError:  # orjson.JSONEncodeError: text no JSON can hold (a lone surrogate): not kept
            return
        try:
            self._prepare()
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("wb", dir=target.parent, delete=False, suffix=".part") as handle:
                handle.write(data)
            os.replace(handle.name, target)
        except OSError:
            pass  # a read-only or full disk makes the cache useless, not the run a failure

    def _prepare(self) -> None:
        if (self.folder / "CACHEDIR.TAG").is_file():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "CACHEDIR.TAG").write_text(_TAG)


def _file_diagnostics(result: FileResult) -> list:
    return [*result.diagnostics, *(d for dag in result.dags for d in dag.diagnostics),
            *(s.diagnostic for s in result.suppressed)]
