"""A conversion run over many files: find DAG files, convert each (cached, in parallel), write safely.

`collect` turns sources into FileResults: discovery (converter.discover), the content-hash cache
(converter.cache), a process pool for the misses, and ignores (converter.suppress). `plan` turns the
results into the output folder's contents, and `convert_all` writes them with converter.outputs.
`check` (converter.check) uses `collect` and `plan` too, so both always agree on the bytes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

from converter.cache import Cache, Hasher
from converter.diagnostics import Diagnostic, Severity, diag
from converter.discover import DiscoveryOptions, Found, discover
from converter.emit.names import UniqueNames, file_stem
from converter.emit.recurring import recurring_json
from converter.model import ParsedFile
from converter.outputs import WriteResult, write_tree
from converter.parse.readers import StaticReader
from converter.pipeline import ConvertOptions, Reader, convert_file, convert_read, read_file
from converter.report.summary import all_diagnostics, conversion_json
from converter.results import DagResult, FileResult, Status
from converter.suppress import apply as apply_ignores

PIPELINES_DIR = "pipelines"
SUMMARY_FILE = "conversion.json"
FAIL_ON_RANK = {"warning": Severity.WARNING.rank, "error": Severity.ERROR.rank}


@dataclass(frozen=True)
class RunSettings:
    """How a run goes, beyond converting one file: which files, how many workers, caching, writing."""

    discovery: DiscoveryOptions = field(default_factory=DiscoveryOptions)
    jobs: int = 1
    cache_dir: Path | None = None  # None: no cache
    cache_writes: bool = True  # False: read the cache, never write it (`check`)
    ignore: tuple[str, ...] = ()  # codes suppressed everywhere
    force: bool = False
    prune: bool = False
    mode: str = "static"  # static | airflow | auto (converter.parse.readers.Mode)
    airflow_python: str | None = None
    airflow_timeout: float = 5.0
    sandbox: str = "auto"  # auto | require | off: bubblewrap around Airflow's imports (docs/sandbox.md)
    # AIRFLOW_VAR_*/AIRFLOW_CONN_* handed to the imports (values may be secrets: never in a repr)
    airflow_env: tuple[tuple[str, str], ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Collected:
    files: tuple[FileResult, ...]
    cached: int  # how many came from the cache
    notices: tuple[Diagnostic, ...] = ()  # said once per run, e.g. "no Airflow: read statically"
    wall: Mapping[str, float] = field(default_factory=dict)  # seconds per phase of the run (--timings)


@dataclass(frozen=True)
class OutputPlan:
    contents: dict[str, str]  # relative path -> text, conversion.json last
    paths: dict[tuple[str, str], dict[str, str | None]]  # (source, dag_id) -> its python/yaml/recurring_run files


@dataclass(frozen=True)
class RunResult:
    files: tuple[FileResult, ...]
    out_dir: Path
    summary_path: Path
    cached: int = 0
    writes: WriteResult = WriteResult()
    notices: tuple[Diagnostic, ...] = ()
    wall: Mapping[str, float] = field(default_factory=dict)  # seconds per phase of the run (--timings)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [*all_diagnostics(self.files), *self.notices]


def static_reader(options: ConvertOptions) -> Reader:
    return StaticReader(options.max_file_bytes)


# The reader and options a worker process converts with, set once when it starts: a reader may
# carry a whole run's Airflow imports, which must not travel again with every file.
_worker: tuple[Reader, ConvertOptions] | None = None


def _start_worker(reader: Reader, options: ConvertOptions) -> None:
    global _worker
    _worker = (reader, options)


def _convert_in_worker(path: Path, display: str) -> FileResult:
    """Runs in a worker process: module level, so it pickles."""
    assert _worker is not None, "worker started without _start_worker"
    return convert_file(path, display, *_worker)


def _convert_read_in_worker(parsed: ParsedFile, display: str, read_seconds: float) -> FileResult:
    assert _worker is not None, "worker started without _start_worker"
    return convert_read(parsed, display, _worker[1], read_seconds)


def _warm_compiler() -> None:
    """Runs in a worker: kfp imported and prepared before a DAG reaches the compiler."""
    from converter.emit import fast_kfp

    try:
        fast_kfp.install()
    except Exception:  # noqa: BLE001, S110 - the compile itself reports what is wrong
        pass


def _convert_beside_warm_worker(item: Found, read: Reader, options: ConvertOptions) -> FileResult:
    """One file to convert and a spare core: a worker imports kfp (about a second) while this
    process reads the file (as long again for a DAG of 2,000 tasks), then converts what was read."""
    with ProcessPoolExecutor(max_workers=1, initializer=_start_worker, initargs=(read, options)) as pool:
        pool.submit(_warm_compiler)
        started = time.perf_counter()
        parsed = read_file(item.path, item.display, read)
        if isinstance(parsed, FileResult):
            return parsed
        future = pool.submit(_convert_read_in_worker, parsed, item.display, time.perf_counter() - started)
        error = future.exception()
        return future.result() if error is None else _worker_failed(item, error)


def _worker_failed(item: Found, error: BaseException) -> FileResult:
    """A worker that died (killed, out of memory) fails its file, not the run."""
    message = f"internal error: the worker process failed: {type(error).__name__}: {error}"
    return FileResult(item.display, Status.FAILED, (diag("A2K402", message, file=item.display),))


def collect(
    sources: Iterable[Path],
    options: ConvertOptions,
    reader: Reader | None = None,
    settings: RunSettings = RunSettings(),
    on_start: Callable[[int], None] | None = None,
    on_file: Callable[[FileResult], None] | None = None,
) -> Collected:
    started = time.perf_counter()
    sources = list(sources)
    found = discover(sources, settings.discovery)
    if on_start:
        on_start(len(found))
    cache = Cache(settings.cache_dir, settings.cache_writes) if settings.cache_dir else None
    hasher = Hasher(cache.load_imports() if cache is not None else {})
    known_imports = len(hasher.imports)
    fingerprint = _fingerprint(options, reader, settings, sources, hasher, cache is not None)
    results: dict[int, FileResult] = {}
    keys: dict[int, str] = {}
    misses: list[int] = []

    def finish(index: int, result: FileResult, key: str | None = None) -> None:
        if cache is not None and key is not None:
            cache.put(key, result)
        results[index] = apply_ignores(result, found[index].path, settings.ignore)
        if on_file:
            on_file(results[index])

    for index, item in enumerate(found):
        if cache is not None:
            keys[index] = hasher.key(item.path, item.display, _roots(item), fingerprint)
            hit = cache.get(keys[index])
            if hit is not None:
                finish(index, replace(hit, seconds={}))  # its timings are the run that converted it
                continue
        misses.append(index)

    if cache is not None and len(hasher.imports) != known_imports:
        cache.save_imports(hasher.imports)
    hashed = time.perf_counter()
    read, notices = reader, ()
    if read is None and misses:  # Airflow is started for the files the cache does not have, if any
        read, notices = _prepare_reader(options, settings, [found[i] for i in misses], sources)
    workers = min(settings.jobs, len(misses))
    if workers > 1:
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_start_worker, initargs=(read, options))
        with pool:
            futures = {pool.submit(_convert_in_worker, found[i].path, found[i].display): i for i in misses}
            try:
                for future in as_completed(futures):
                    index = futures[future]
                    error = future.exception()
                    result = future.result() if error is None else _worker_failed(found[index], error)
                    finish(index, result, keys.get(index))
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    elif len(misses) == 1 and settings.jobs > 1:
        finish(misses[0], _convert_beside_warm_worker(found[misses[0]], read, options), keys.get(misses[0]))
    else:
        for index in misses:
            item = found[index]
            finish(index, convert_file(item.path, item.display, read, options), keys.get(index))
    wall = {"discover, hash, cache": hashed - started, "convert": time.perf_counter() - hashed}
    return Collected(tuple(results[i] for i in range(len(found))), len(found) - len(misses),
                     (*_sandbox_notices(settings, reader), *notices), wall)


def _sandbox_notices(settings: RunSettings, reader: Reader | None) -> tuple[Diagnostic, ...]:
    """Said on every run that imports with Airflow, whether its files come from the cache or not."""
    if reader is not None or settings.mode == "static":
        return ()
    from converter.parse.readers import Mode, sandbox_notice

    notice = sandbox_notice(Mode(settings.mode), settings.airflow_python, settings.sandbox)
    return (notice,) if notice else ()


def _fingerprint(options: ConvertOptions, reader: Reader | None, settings: RunSettings,
                 sources: Iterable[Path], hasher: Hasher, caching: bool) -> str:
    """What the cache key holds besides the file and its imports: options and how files are read."""
    if reader is not None:
        return f"{options!r}|{reader!r}"  # a reader without a stable repr simply never hits
    if settings.mode == "static" or not caching:
        return f"{options!r}|static"
    from converter.parse import readers

    python = readers.find_airflow_python(settings.airflow_python)
    if settings.mode == "auto" and python is None:
        return f"{options!r}|static"  # auto without Airflow reads statically (and says so)
    # Importing runs the DAG's code, which may read any data file (configs, templates): every
    # non-Python file under the DAG folders is part of the key, so a change there reconverts in
    # airflow/auto mode. Python modules reach a DAG through imports, which each file's own key
    # follows, so editing one DAG file still reconverts only that DAG.
    folders = sorted({str((s if s.is_dir() else s.parent).resolve()) for s in sources})
    trees = "|".join(f"{folder}={hasher.tree_hash(Path(folder), skip_suffixes=('.py', '.pyc'))}"
                     for folder in folders)
    # the Airflow installation, the sandbox, and the environment handed in (by hash: it may hold secrets)
    from converter.parse.sandbox import import_fingerprint, resolve

    sandbox = f"{settings.sandbox}:{import_fingerprint(python, resolve(settings.sandbox)[0], settings.airflow_env)}"
    return f"{options!r}|{settings.mode}|{python}|{settings.airflow_timeout}|{sandbox}|{trees}"


def _prepare_reader(options: ConvertOptions, settings: RunSettings, items: list[Found],
                    sources: Iterable[Path]) -> tuple[Reader, tuple[Diagnostic, ...]]:
    if settings.mode == "static":
        return static_reader(options), ()
    # imported only for airflow/auto: it brings in the Airflow worker machinery
    from converter.parse.readers import Mode, find_airflow_python, prepare_reader, static_fallback_notice

    if settings.mode == "auto" and find_airflow_python(settings.airflow_python) is None:
        return static_reader(options), (static_fallback_notice(),)
    prepared = prepare_reader(Mode(settings.mode), [(item.path, item.display) for item in items],
                              [s for s in sources if s.is_dir()], airflow_python=settings.airflow_python,
                              timeout=settings.airflow_timeout, max_bytes=options.max_file_bytes,
                              sandbox=settings.sandbox, airflow_env=settings.airflow_env)
    return prepared.reader, prepared.notices


def _roots(item: Found) -> tuple[Path, ...]:
    # Airflow puts the DAG folder on sys.path; the file's own folder is added to be safe
    return tuple(dict.fromkeys((item.root.resolve(), item.path.parent.resolve())))


def plan(files: Iterable[FileResult]) -> OutputPlan:
    """Each converted DAG's Python and YAML (and recurring-run JSON when it has a schedule KFP can
    express), and the run's conversion.json, by relative path."""
    files = list(files)
    # file names: unique even on case-insensitive file systems, stable for a given set of DAGs
    stems = UniqueNames(casefold=True)
    ordered: list[tuple[FileResult, DagResult]] = sorted(
        ((f, d) for f in files for d in f.dags if d.python_text is not None),
        key=lambda fd: (fd[1].dag_id, fd[0].path),
    )
    paths: dict[tuple[str, str], dict[str, str | None]] = {}
    contents: dict[str, str] = {}
    for file_result, dag in ordered:
        stem = stems.claim(file_stem(dag.dag_id), sep="_")
        python_rel = f"{PIPELINES_DIR}/{stem}.py"
        yaml_rel = f"{PIPELINES_DIR}/{stem}.yaml" if dag.yaml_text is not None else None
        # without a compiled pipeline there is nothing to schedule
        recurring_rel = f"{PIPELINES_DIR}/{stem}.recurring.json" if yaml_rel and dag.recurring else None
        paths[(file_result.path, dag.dag_id)] = {"python": python_rel, "yaml": yaml_rel, "recurring_run": recurring_rel}
        contents[python_rel] = dag.python_text or ""
        if yaml_rel:
            contents[yaml_rel] = dag.yaml_text or ""
        if recurring_rel and dag.recurring:
            contents[recurring_rel] = recurring_json(dag.recurring, f"{stem}.yaml")
    contents[SUMMARY_FILE] = conversion_json(files, paths)
    return OutputPlan(contents, paths)


def write_outputs(files: list[FileResult], out_dir: Path, *, force: bool = False,
                  prune: bool = False) -> Path:
    """Write the outputs of already converted files (converter.outputs); returns conversion.json's path."""
    write_tree(out_dir, plan(files).contents, force=force, prune=prune)
    return out_dir / SUMMARY_FILE


def convert_all(
    sources: Iterable[Path],
    out_dir: Path,
    options: ConvertOptions,
    reader: Reader | None = None,
    on_file: Callable[[FileResult], None] | None = None,
    settings: RunSettings = RunSettings(),
    on_start: Callable[[int], None] | None = None,
) -> RunResult:
    """Convert and write. Raises outputs.OutputConflict (nothing written) on files it may not overwrite."""
    collected = collect(sources, options, reader, settings, on_start, on_file)
    started = time.perf_counter()
    writes = write_tree(out_dir, plan(collected.files).contents, force=settings.force, prune=settings.prune)
    wall = {**collected.wall, "outputs": time.perf_counter() - started}
    return RunResult(collected.files, out_dir, out_dir / SUMMARY_FILE, collected.cached, writes,
                     collected.notices, wall)


def exit_status(result: RunResult, fail_on: str = "error") -> int:
    """Like ruff: 1 when a finding reaches `fail_on` (a failed DAG counts as an error), else 0."""
    if fail_on == "never":
        return 0
    threshold = FAIL_ON_RANK[fail_on]
    if any(f.status is Status.FAILED for f in result.files):
        return 1
    return 1 if any(d.severity.rank >= threshold for d in result.diagnostics) else 0


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
