"""A conversion run over many files: find DAG files, convert each (cached, in parallel), write safely.

`collect` turns sources into FileResults: discovery (airflow2kfp.discover), the content-hash cache
(airflow2kfp.cache), a process pool for the misses, and ignores (airflow2kfp.suppress). `plan` turns the
results into the output folder's contents, and `convert_all` writes them with airflow2kfp.outputs.
`check` (airflow2kfp.check) uses `collect` and `plan` too, so both always agree on the bytes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from airflow2kfp.cache import Cache, Hasher
from airflow2kfp.diagnostics import Diagnostic, Severity, diag
from airflow2kfp.discover import DiscoveryOptions, Found, discover
from airflow2kfp.emit.recurring import recurring_json, recurring_json_v2
from airflow2kfp.mapping.template_files import TEMPLATE_SUFFIXES
from airflow2kfp.model import ParsedFile
from airflow2kfp.names import UniqueNames, file_stem
from airflow2kfp.outputs import (
    PIPELINES_DIR,
    SUMMARY_FILE,
    V2_DIR,
    WriteResult,
    locked,
    read_manifest,
    write_tree,
)
from airflow2kfp.ownership import MARKER, Holds, find_holds
from airflow2kfp.parse.data_files import DATA_SUFFIXES
from airflow2kfp.parse.readers import StaticReader
from airflow2kfp.pipeline import ConvertOptions, Reader, convert_file, convert_read, read_file
from airflow2kfp.report.summary import all_diagnostics, conversion_json
from airflow2kfp.results import DagResult, FileResult, Status
from airflow2kfp.settings import DEFAULTS
from airflow2kfp.suppress import apply as apply_ignores

if TYPE_CHECKING:  # imported for airflow/auto runs only: it brings in the Airflow worker machinery
    from airflow2kfp.parse.readers import ImportStream

FAIL_ON_RANK = {"warning": Severity.WARNING.rank, "error": Severity.ERROR.rank}


@dataclass(frozen=True)
class RunSettings:
    """How a run goes, beyond converting one file: which files, how many workers, caching, writing.

    Built from the user's Settings by airflow2kfp.batch.run_settings; the defaults of the options
    are the settings model's (airflow2kfp.settings), the rest say how a library call runs: one
    process, no cache, no reports."""

    discovery: DiscoveryOptions = field(default_factory=DiscoveryOptions)
    jobs: int = 1  # worker processes, resolved (Settings.jobs = 0 means one per core)
    cache_dir: Path | None = None  # None: no cache
    cache_writes: bool = True  # False: read the cache, never write it (`check`)
    reports: bool = False  # reports are rendered after writing: a user's file at their names is a conflict
    ignore: tuple[str, ...] = DEFAULTS.ignore  # codes suppressed everywhere
    force: bool = False
    prune: bool = False
    mode: str = DEFAULTS.mode  # static | airflow | auto (airflow2kfp.parse.readers.Mode)
    airflow_python: str | None = DEFAULTS.airflow_python
    airflow_timeout: float = DEFAULTS.airflow_timeout
    owned: tuple[str, ...] = DEFAULTS.owned  # DAG ids whose files the user owns (airflow2kfp.ownership)
    sandbox: str = (
        DEFAULTS.sandbox
    )  # auto | require | off: bubblewrap around Airflow's imports (docs/sandbox.md)
    # AIRFLOW_VAR_*/AIRFLOW_CONN_* handed to the imports (values may be secrets: never in a repr)
    airflow_env: tuple[tuple[str, str], ...] = field(default=(), repr=False)


STATIC = RunSettings(mode="static")  # a library call that reads statically, never importing DAG code


@dataclass(frozen=True)
class Reading:
    """How a run reads DAG files: the mode asked for and the one it gets (auto without an Airflow
    interpreter reads statically, and says so on every run). conversion.json records both, so
    `check` can tell outputs made in another mode from stale ones."""

    mode: str  # as asked: static | airflow | auto
    effective: str  # as done: static (no DAG code runs) | airflow | auto
    python: str | None = None  # the Airflow interpreter, when one is used
    notices: tuple[Diagnostic, ...] = ()

    def to_json(self) -> dict[str, str]:
        return {"mode": self.mode, "effective": self.effective}

    def describe(self) -> str:
        """One line for the console: what was asked and what was done."""
        if self.effective == self.mode:
            return f"read: {self.mode}" + (
                "" if self.python is None else f" (Airflow interpreter {self.python})"
            )
        why = "no Airflow interpreter found"
        return f"read: {self.effective} (mode {self.mode}: {why})"


def reading_of(settings: RunSettings) -> Reading:
    """The reading a run gets, decided before anything is converted (a cached run says it too)."""
    if settings.mode == "static":
        return Reading("static", "static")
    # imported only for airflow/auto: it brings in the Airflow worker machinery
    from airflow2kfp.parse import readers

    python = readers.find_airflow_python(settings.airflow_python)
    if python is not None:
        return Reading(settings.mode, settings.mode, python)
    if settings.mode == "auto":
        return Reading("auto", "static", None, (readers.static_fallback_notice(),))
    return Reading(settings.mode, "static", None, (readers.unavailable_notice(),))


@dataclass(frozen=True)
class Collected:
    files: tuple[FileResult, ...]
    cached: int  # how many came from the cache
    notices: tuple[Diagnostic, ...] = ()  # said once per run, e.g. "no Airflow: read statically"
    wall: Mapping[str, float] = field(default_factory=dict)  # seconds per phase of the run (--timings)
    reading: Reading = Reading("static", "static")


@dataclass(frozen=True)
class OutputPlan:
    contents: dict[str, str]  # relative path -> text, conversion.json last
    # (source, dag_id) -> its python/yaml/recurring_run files (and v2_python/v2_yaml/v2_recurring_run)
    paths: dict[tuple[str, str], dict[str, str | None]]
    holds: Holds = field(
        default_factory=Holds
    )  # DAGs whose files stay as they are in OUT (airflow2kfp.ownership)
    files: tuple[FileResult, ...] = ()  # the results, their held DAGs marked


@dataclass(frozen=True)
class RunResult:
    files: tuple[FileResult, ...]
    out_dir: Path
    summary_path: Path
    cached: int = 0
    writes: WriteResult = WriteResult()  # noqa: RUF009 - frozen, shared safely
    notices: tuple[Diagnostic, ...] = ()
    wall: Mapping[str, float] = field(default_factory=dict)  # seconds per phase of the run (--timings)
    reading: Reading = Reading("static", "static")

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [*all_diagnostics(self.files), *self.notices]


def static_reader(options: ConvertOptions, sources: Iterable[Path] = ()) -> Reader:
    # the DAG folders: the static reading follows the files' imports of modules there
    return StaticReader(options.max_file_bytes, tuple(str(s) for s in sources if s.is_dir()))


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
    """Runs in a worker: kfp imported and patched, for the worker's lifetime, before a DAG reaches
    the compiler."""
    from airflow2kfp import kfp_accel

    try:
        kfp_accel.keep()
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


def _warm_worker() -> None:
    """Runs in a worker while Airflow starts: kfp and the static reader imported before a file comes."""
    _warm_compiler()
    import airflow2kfp.parse.static  # noqa: F401 - libcst and the reader, as the first file would


def _warm_here() -> None:
    """In this process while Airflow starts: kfp and the static reader imported, nothing patched
    (kfp_accel.keep() would leave kfp patched in a caller's process after collect() returns)."""
    from airflow2kfp.kfp_accel import guard, lazy_import

    if guard.verdict().accelerate:
        lazy_import.import_kfp()  # as install() would import it
    else:
        import kfp.compiler  # noqa: F401 - plain kfp, every module at once
    import airflow2kfp.parse.static  # noqa: F401 - libcst and the reader, as the first file would


def _convert_imported_in_worker(path: Path, display: str, read: Reader) -> FileResult:
    assert _worker is not None, "worker started without _start_worker"
    return convert_file(path, display, read, _worker[1])


def _convert_streamed(
    stream: ImportStream,
    indexes: Mapping[str, int],
    found: list[Found],
    workers: int,
    read: Reader,
    options: ConvertOptions,
    finish: Callable[[int, FileResult], None],
) -> None:
    """auto/airflow mode: each file is converted as soon as Airflow's import of it arrives, while
    the Airflow worker imports the next ones: imports overlap static reading, mapping and kfp's
    compiler (docs/performance.md). Each conversion carries its own file's import only."""

    def done(index: int, result: FileResult) -> None:
        spent = stream.seconds.get(found[index].display)
        finish(
            index,
            replace(result, seconds={**result.seconds, "import": spent}) if spent is not None else result,
        )

    if workers <= 1:
        with stream:
            _warm_here()  # while Airflow starts in its sandbox
            for imported in stream:
                index = indexes[imported.path]
                done(
                    index,
                    convert_file(
                        found[index].path, found[index].display, stream.reader_for(imported), options
                    ),
                )
        return
    # the pool forks its processes at the first submit: before the import threads exist
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_start_worker, initargs=(read, options)
    ) as pool:
        for _ in range(workers):
            pool.submit(_warm_worker)
        futures: dict[Future[FileResult], int] = {}

        def collect_done(wait_all: bool) -> None:
            ready = list(as_completed(futures)) if wait_all else [f for f in futures if f.done()]
            for future in ready:
                index = futures.pop(future)
                error = future.exception()
                done(index, future.result() if error is None else _worker_failed(found[index], error))

        try:
            with stream:
                for imported in stream:
                    index = indexes[imported.path]
                    item = found[index]
                    futures[
                        pool.submit(
                            _convert_imported_in_worker, item.path, item.display, stream.reader_for(imported)
                        )
                    ] = index
                    collect_done(wait_all=False)
            collect_done(wait_all=True)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


IMPORT_TIMINGS = "import: "  # the prefix of the import's figures in Collected.wall (--timings)


def _import_wall(stream: ImportStream, since: float) -> dict[str, float]:
    """`--timings`: when Airflow was ready and when the last import came, counted from the start of
    the conversion phase (imports and conversions overlap: both lie within `convert`), and the CPU
    the sandboxed Airflow workers spent (start-up, then the files' forked processes)."""
    wall = {}
    if stream.ready is not None:
        wall[IMPORT_TIMINGS + "Airflow ready after"] = stream.ready - since
    if stream.finished is not None:
        wall[IMPORT_TIMINGS + "last file imported after"] = stream.finished - since
    if stream.start_cpu is not None:
        wall[IMPORT_TIMINGS + "CPU of Airflow's start-up"] = stream.start_cpu
    if stream.cpu is not None:
        wall[IMPORT_TIMINGS + "CPU of the workers in all"] = stream.cpu
    return wall


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
    hasher = Hasher(cache.load_imports() if cache is not None else {}, max_bytes=options.max_file_bytes)
    known_imports = len(hasher.imports)
    reading = Reading("custom", "custom") if reader is not None else reading_of(settings)
    fingerprint = _fingerprint(options, reader, reading, settings, sources, hasher, cache is not None)
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
    read, notices, stream = reader, reading.notices, None
    if read is None and misses:  # Airflow is started for the files the cache does not have, if any
        read, more, stream = _prepare_reader(options, settings, reading, [found[i] for i in misses], sources)
        notices += more
    if misses:
        notices += _kfp_notices()
    workers = min(settings.jobs, len(misses))
    wall: dict[str, float] = {"discover, hash, cache": hashed - started}
    if stream is not None:
        assert read is not None
        _convert_streamed(
            stream,
            {found[i].display: i for i in misses},
            found,
            workers,
            read,
            options,
            lambda index, result: finish(index, result, keys.get(index)),
        )
        wall.update(_import_wall(stream, hashed))
    elif workers > 1:
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
    wall["convert"] = time.perf_counter() - hashed
    files, repeated = one_dag_per_id([results[i] for i in range(len(found))])
    files = [
        apply_ignores(f, found[i].path, settings.ignore) if f is not results[i] else f
        for i, f in enumerate(files)
    ]
    return Collected(
        tuple(files),
        len(found) - len(misses),
        (*_sandbox_notices(settings, reader, reading), *notices, *repeated),
        wall,
        reading,
    )


def one_dag_per_id(files: list[FileResult]) -> tuple[list[FileResult], tuple[Diagnostic, ...]]:
    """One DAG per dag_id across the run, as Airflow's DagBag keeps one: a DAG that two files give
    (a DAG file imported by another one, or two files with the same dag_id) is converted once, from
    the file that defines it (its static reading found it there), else from the first file by path.
    Each other copy leaves its file with an A2K206: a warning when the copy came only from the
    import (Airflow loads it once), an error when both files write the DAG (Airflow 2 refuses the
    second file: AirflowDagDuplicatedIdException). Returns the files and those diagnostics."""
    where: dict[str, list[tuple[int, DagResult]]] = {}
    for index, file in enumerate(files):
        for dag in file.dags:
            where.setdefault(dag.dag_id, []).append((index, dag))
    dropped: dict[int, list[tuple[DagResult, Diagnostic]]] = {}
    for dag_id, copies in sorted(where.items()):
        if len({index for index, _ in copies}) < 2:
            continue  # one file's own repeats are its reader's to report
        kept_index, kept = min(copies, key=lambda c: (not _written_in(c[1]), files[c[0]].path))
        for index, dag in copies:
            if index == kept_index:
                continue
            both_written = _written_in(dag) and _written_in(kept)
            why = (
                "both files define it, and Airflow refuses the second one it reads"
                if both_written
                else "this file imports it, and Airflow keeps one DAG per dag_id"
                if _written_in(kept)
                else "Airflow's import of both files gives it (one imports the other, or both define it); "
                "Airflow keeps one DAG per dag_id"
            )
            found = diag(
                "A2K206",
                f"DAG {dag_id!r} also comes from {kept.source}, where it is converted: {why}",
                file=dag.source,
                line=dag.line,
                dag_id=dag_id,
                severity=Severity.ERROR if both_written else Severity.WARNING,
            )
            dropped.setdefault(index, []).append((dag, found))
    out = list(files)
    for index, gone in dropped.items():
        file = files[index]
        ids = {dag.dag_id for dag, _ in gone}
        dags = tuple(d for d in file.dags if d.dag_id not in ids)
        diagnostics = (*file.diagnostics, *(found for _, found in gone))
        errors = any(d.severity is Severity.ERROR for d in diagnostics)
        status = (
            Status.FAILED
            if errors or any(d.status is Status.FAILED for d in dags)
            else Status.CONVERTED
            if dags
            else Status.SKIPPED
        )
        out[index] = replace(file, dags=dags, diagnostics=diagnostics, status=status)
    return out, tuple(found for gone in dropped.values() for _, found in gone)


def _written_in(dag: DagResult) -> bool:
    # the static reading found the DAG in its file (alone, or merged with Airflow's import)
    return dag.source_mode != "airflow"


def _sandbox_notices(
    settings: RunSettings, reader: Reader | None, reading: Reading
) -> tuple[Diagnostic, ...]:
    """Said on every run that imports with Airflow, whether its files come from the cache or not."""
    if reader is not None or reading.effective == "static":
        return ()
    from airflow2kfp.parse.readers import Mode, sandbox_notice

    notice = sandbox_notice(Mode(settings.mode), reading.python, settings.sandbox)
    return (notice,) if notice else ()


def _kfp_notices() -> tuple[Diagnostic, ...]:
    """A2K403 once per run when the kfp speed-ups are off for the versions installed; the run says it,
    so this process and the workers it forks do not warn again."""
    from airflow2kfp.kfp_accel import guard

    found = guard.verdict()
    if found.accelerate or found.requested:
        return ()
    guard.said_elsewhere()
    return (diag("A2K403", found.reason),)


def _fingerprint(
    options: ConvertOptions,
    reader: Reader | None,
    reading: Reading,
    settings: RunSettings,
    sources: Iterable[Path],
    hasher: Hasher,
    caching: bool,
) -> str:
    """What the cache key holds besides the file and its imports: options and how files are read."""
    if reader is not None:
        return f"{options!r}|{reader!r}"  # a reader without a stable repr simply never hits
    if not caching:
        return f"{options!r}|static"
    folders = sorted({str((s if s.is_dir() else s.parent).resolve()) for s in sources})
    # a relative template_searchpath entry is found from the working folder, as Airflow finds it
    # from its own (mapping/template_files.py)
    cwd = os.getcwd()
    if reading.effective == "static":  # auto without Airflow reads statically (and says so)
        # the template files the mappings inline (`bash_command="run.sh"`) and the data files the
        # static reading reads (`configs/*.yaml`: parse/data_files.py): none is read outside the DAG
        # folders, so a change to one below them reconverts; so does a file added or removed (a
        # listing may see it), Python files aside (each file's own key follows its imports)
        scripts = "|".join(
            f"{folder}="
            + hasher.tree_hash(
                Path(folder),
                skip_suffixes=(".py", ".pyc"),
                only_suffixes=TEMPLATE_SUFFIXES + DATA_SUFFIXES,
                names_of_others=True,
            )
            for folder in folders
        )
        return f"{options!r}|static|{cwd}|{scripts}"
    python = reading.python
    # Importing runs the DAG's code, which may read any data file (configs, templates): every
    # non-Python file under the DAG folders is part of the key, so a change there reconverts in
    # airflow/auto mode. Python modules reach a DAG through imports, which each file's own key
    # follows, so editing one DAG file still reconverts only that DAG.
    trees = "|".join(
        f"{folder}={hasher.tree_hash(Path(folder), skip_suffixes=('.py', '.pyc'))}" for folder in folders
    )
    # the Airflow installation, the sandbox, and the environment handed in (by hash: it may hold secrets)
    from airflow2kfp.parse.sandbox import import_fingerprint, resolve

    sandbox = (
        f"{settings.sandbox}:{import_fingerprint(python, resolve(settings.sandbox)[0], settings.airflow_env)}"
    )
    return f"{options!r}|{settings.mode}|{python}|{settings.airflow_timeout}|{sandbox}|{cwd}|{trees}"


def _prepare_reader(
    options: ConvertOptions,
    settings: RunSettings,
    reading: Reading,
    items: list[Found],
    sources: Iterable[Path],
) -> tuple[Reader, tuple[Diagnostic, ...], ImportStream | None]:
    if reading.effective == "static":  # asked for, or auto/airflow without an interpreter (said in reading)
        return static_reader(options, sources), (), None
    # imported only for airflow/auto: it brings in the Airflow worker machinery
    from airflow2kfp.parse.readers import Mode, prepare_reader

    prepared = prepare_reader(
        Mode(settings.mode),
        [(item.path, item.display) for item in items],
        [s for s in sources if s.is_dir()],
        airflow_python=reading.python,
        timeout=settings.airflow_timeout,
        max_bytes=options.max_file_bytes,
        sandbox=settings.sandbox,
        airflow_env=settings.airflow_env,
        streamed=True,
    )
    return prepared.reader, prepared.notices, prepared.stream


def _roots(item: Found) -> tuple[Path, ...]:
    # Airflow puts the DAG folder on sys.path; the file's own folder is added to be safe
    return tuple(dict.fromkeys((item.root.resolve(), item.path.parent.resolve())))


def plan(
    files: Iterable[FileResult],
    reading: Reading | None = None,
    out_dir: Path | None = None,
    owned: Collection[str] = (),
    force: bool = False,
) -> OutputPlan:
    """Each converted DAG's Python and YAML (and recurring-run JSON when it has a schedule KFP can
    express), and the run's conversion.json (with how the files were read), by relative path.

    With `out_dir`, the DAGs whose files stay as they are there (owned, or edited without being
    owned: airflow2kfp.ownership) are left out of the contents and marked in their results."""
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
        written: dict[str, str | None] = {"python": None, "yaml": None, "recurring_run": None}
        if "v1" in dag.targets:
            python_rel = f"{PIPELINES_DIR}/{stem}.py"
            yaml_rel = f"{PIPELINES_DIR}/{stem}.yaml" if dag.yaml_text is not None else None
            # without a compiled pipeline there is nothing to schedule
            recurring_rel = f"{PIPELINES_DIR}/{stem}.recurring.json" if yaml_rel and dag.recurring else None
            written = {"python": python_rel, "yaml": yaml_rel, "recurring_run": recurring_rel}
            contents[python_rel] = dag.python_text or ""
            if yaml_rel:
                contents[yaml_rel] = dag.yaml_text or ""
            if recurring_rel and dag.recurring:
                contents[recurring_rel] = recurring_json(dag.recurring, f"{stem}.yaml")
        if dag.v2 is not None and dag.v2.python_text is not None:  # pipelines/v2/: the KFP v2 target
            v2_python = f"{PIPELINES_DIR}/{V2_DIR}/{stem}.py"
            v2_yaml = f"{PIPELINES_DIR}/{V2_DIR}/{stem}.yaml" if dag.v2.yaml_text is not None else None
            v2_recurring = (
                f"{PIPELINES_DIR}/{V2_DIR}/{stem}.recurring.json" if v2_yaml and dag.v2.recurring else None
            )
            written.update(v2_python=v2_python, v2_yaml=v2_yaml, v2_recurring_run=v2_recurring)
            contents[v2_python] = dag.v2.python_text
            if v2_yaml:
                contents[v2_yaml] = dag.v2.yaml_text or ""
            if v2_recurring and dag.v2.recurring:
                contents[v2_recurring] = recurring_json_v2(dag.v2.recurring, f"{stem}.yaml")
        paths[(file_result.path, dag.dag_id)] = written
    holds = Holds()
    if out_dir is not None:
        holds = find_holds(out_dir, paths, contents, read_manifest(out_dir), owned, force)
        files = [_held(f, holds) for f in files]
        contents = {relative: text for relative, text in contents.items() if relative not in holds.paths}
    contents[SUMMARY_FILE] = conversion_json(files, paths, reading.to_json() if reading else None)
    return OutputPlan(contents, paths, holds, tuple(files))


def _held(file: FileResult, holds: Holds) -> FileResult:
    """`file` with its held DAGs marked: owned (A2K722), or edited without being owned (A2K701)."""
    dags = []
    for dag in file.dags:
        key = (file.path, dag.dag_id)
        if key in holds.owned:
            how = holds.owned[key]
            said = "listed in `owned`" if how == "config" else f"its pipeline file holds `{MARKER}`"
            note = diag(
                "A2K722",
                f"DAG {dag.dag_id} is owned by you ({said}): its files are left as they are",
                file=dag.source,
                line=dag.line,
                dag_id=dag.dag_id,
            )
            dag = replace(dag, owned=how, diagnostics=(*dag.diagnostics, note))
        elif key in holds.edited:
            found = tuple(
                diag(
                    "A2K701",
                    f"{relative} is {why}: the files of DAG {dag.dag_id} are left as they are",
                    file=relative,
                    dag_id=dag.dag_id,
                )
                for relative, why in holds.edited[key]
            )
            dag = replace(dag, diagnostics=(*dag.diagnostics, *found))
        dags.append(dag)
    return replace(file, dags=tuple(dags)) if dags != list(file.dags) else file


def write_outputs(
    files: list[FileResult], out_dir: Path, *, force: bool = False, prune: bool = False
) -> Path:
    """Write the outputs of already converted files (airflow2kfp.outputs); returns conversion.json's path."""
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
    """Convert and write. Raises outputs.OutputConflict (nothing written) on files it may not
    overwrite, outputs.OutputFault when the file system refuses (nothing changed)."""
    collected = collect(sources, options, reader, settings, on_start, on_file)
    started = time.perf_counter()

    def reports() -> list[str]:
        from airflow2kfp.report.render import targets_of

        return targets_of(contents[SUMMARY_FILE])

    with locked(out_dir):  # what OUT holds decides which DAGs are held: it must not change meanwhile
        planned = plan(collected.files, collected.reading, out_dir, settings.owned, settings.force)
        contents = planned.contents
        writes = write_tree(
            out_dir,
            contents,
            force=settings.force,
            prune=settings.prune,
            reports=reports if settings.reports else None,
            held=planned.holds.paths,
        )
    wall = {**collected.wall, "outputs": time.perf_counter() - started}
    return RunResult(
        planned.files,
        out_dir,
        out_dir / SUMMARY_FILE,
        collected.cached,
        writes,
        collected.notices,
        wall,
        collected.reading,
    )


def exit_status(result: RunResult, fail_on: str = "error") -> int:
    """Like ruff: 1 when a finding reaches `fail_on` (a failed DAG counts as an error), else 0."""
    return findings_status(result.files, result.notices, fail_on)


def findings_status(
    files: Iterable[FileResult], notices: Iterable[Diagnostic], fail_on: str = "error"
) -> int:
    """The exit status of `convert`'s findings, and of `check`'s: 1 when a failed DAG or file, or a
    diagnostic at or above `fail_on`, is among them (never with `never`), else 0."""
    if fail_on == "never":
        return 0
    files = list(files)
    if any(f.status is Status.FAILED for f in files):
        return 1
    threshold = FAIL_ON_RANK[fail_on]
    return 1 if any(d.severity.rank >= threshold for d in (*all_diagnostics(files), *notices)) else 0


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
