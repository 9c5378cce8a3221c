"""A content-hash cache of conversion results, so an unchanged DAG is not converted again.

The key of a DAG file covers everything its result depends on: the tool (its version and a hash of
its code) and KFP versions, the conversion options, SOURCE_DATE_EPOCH (it sets the compilation time
in the YAML), the file's bytes, and the bytes of every local module it imports, transitively. Imports are found with a cheap `ast`
scan and resolved against the DAG folder (Airflow puts it on sys.path) and the file's own folder;
an import that resolves to nothing is part of the key too, so creating that module invalidates it.

Entries are FileResults as JSON (airflow2kfp.serial: read back only as a FileResult, never
unpickled) in `<cache dir>/v2/ab/abcdef....json`, each holding the key it was written under; an
entry of another shape or key is a miss. The cache lives in the user's cache folder
(`$XDG_CACHE_HOME/airflow2kfp/<hash of OUT>`), not in OUT: output folders are committed, and a pull
request must not be able to plant what the next run reads. The folder holds a CACHEDIR.TAG, and
deleting it is always safe.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import orjson
import platformdirs

from airflow2kfp import __version__, serial
from airflow2kfp.local_imports import FileScanner, read_regular, text_bytes
from airflow2kfp.results import FileResult

LAYOUT = "v2"
IMPORTS_FILE = "imports.json"
# results that may not hold on the next run (an internal error, a worker that died or ran out of
# time under load, no Airflow interpreter): never cached, so the next run tries again
TRANSIENT_CODES = frozenset({"A2K402", "A2K602", "A2K603", "A2K604", "A2K606"})
MAX_IMPORT_ENTRIES = 200_000
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


class Hasher(FileScanner):
    """The run's file scanner, and the cache key of a DAG file from what it scans."""

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
            digest.update(text_bytes(part) + b"\0")
        modules, missing = self.dependencies(path, roots)
        for module in modules:
            digest.update(text_bytes(f"{module}={self.file_hash(module)}") + b"\0")
        for name in missing:
            digest.update(text_bytes(f"missing:{name}") + b"\0")
        return digest.hexdigest()


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
    return [
        *result.diagnostics,
        *(d for dag in result.dags for d in dag.diagnostics),
        *(s.diagnostic for s in result.suppressed),
    ]
