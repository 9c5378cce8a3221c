"""Choosing how DAG files are read: statically, by importing them with Airflow, or both (auto).

Import runs first, for all files at once, through the Airflow worker pool (Airflow's import cost is
paid once per worker, not per file); the conversion then reads each file with a reader that only
looks up the import's result. Readers are plain frozen values so they travel to worker processes.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Self

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.model import DERIVED_XCOMS, FileLocation, ParsedFile, Task, with_module_source
from airflow2kfp.parse.airflow_import import AirflowReader, ReaderOptions, find_airflow_python, folders_of
from airflow2kfp.parse.merge import merge
from airflow2kfp.parse.modules import boundary_of
from airflow2kfp.parse.sandbox import SandboxMode, resolve
from airflow2kfp.settings import DEFAULTS


class Mode(str, Enum):
    STATIC = "static"
    AIRFLOW = "airflow"
    AUTO = "auto"


@dataclass(frozen=True)
class StaticReader:
    """The static libcst reader as a picklable value, so worker processes can receive it."""

    max_bytes: int = DEFAULTS.max_file_size
    folders: tuple[str, ...] = ()  # the run's DAG folders: the static reading follows imports there

    def __call__(self, path: Path, display_path: str) -> ParsedFile:
        return read_statically(path, display_path, self.max_bytes, self.folders)


def read_statically(
    path: Path, display_path: str, max_bytes: int, folders: tuple[str, ...] = ()
) -> ParsedFile:
    # imported on first use: a fully cached run never loads libcst
    from airflow2kfp.parse.static import read_dag_file

    dag_folder = Path(_dag_folder(path, map(Path, folders)))
    return read_dag_file(path, display_path=display_path, max_bytes=max_bytes, dag_folder=dag_folder)


@dataclass(frozen=True)
class ImportedReader:
    """Hands out the Airflow import of each file, merged with the static reading in auto mode."""

    imported: Mapping[str, ParsedFile]  # by display path
    with_static: bool
    max_bytes: int = DEFAULTS.max_file_size
    notices: tuple[Diagnostic, ...] = field(default=())
    folders: tuple[str, ...] = ()  # as StaticReader's

    def __call__(self, path: Path, display_path: str) -> ParsedFile:
        imported = self.imported.get(display_path)
        if not self.with_static:
            if imported is not None:
                return located(with_module_text(imported, path, self.max_bytes), path, self.folders)
            return read_statically(path, display_path, self.max_bytes, self.folders)
        static = read_statically(path, display_path, self.max_bytes, self.folders)
        return merge(static, imported) if imported is not None else static


def located(parsed: ParsedFile, path: Path, folders: tuple[str, ...]) -> ParsedFile:
    """The reading with where its file lies (as the static reading has it): the DAG folder of
    `folders` that holds it is the folder being converted."""
    dag_folder = Path(_dag_folder(path, map(Path, folders)))
    return replace(parsed, location=FileLocation(str(path), boundary_of(path, dag_folder)))


def with_module_text(parsed: ParsedFile, path: Path, max_bytes: int) -> ParsedFile:
    """Airflow's reading with the DAG file's text on each callable defined in the file, as the static
    reading gives it in auto mode: a step carries the module-level code its callable uses."""
    if not any(
        (t.python_callable and t.python_callable.module is None)
        or any(isinstance(v, DERIVED_XCOMS) for v in t.mapped_args.values())
        for d in parsed.dags
        for t in d.tasks
    ):
        return parsed
    from airflow2kfp.parse.source import read_source

    text = read_source(path, parsed.path, max_bytes)
    if not isinstance(text, str):
        return parsed

    def task(t: Task) -> Task:
        t = replace(t, mapped_args={k: with_module_source(v, text) for k, v in t.mapped_args.items()})
        callable_ = t.python_callable
        if callable_ is None or callable_.module is not None or callable_.module_source is not None:
            return t
        return replace(t, python_callable=replace(callable_, module_source=text))

    return replace(parsed, dags=tuple(replace(d, tasks=tuple(task(t) for t in d.tasks)) for d in parsed.dags))


@dataclass(frozen=True)
class PreparedReader:
    reader: StaticReader | ImportedReader
    mode: Mode  # the mode actually used (auto falls back to static without Airflow)
    airflow_version: str | None
    notices: tuple[Diagnostic, ...]  # said once per run, not per file
    # prepare_reader(streamed=True): the imports, still running; `reader` then holds none of them
    stream: ImportStream | None = None


def import_workers(cores: int) -> int:
    """Airflow workers for a run on `cores` cores. A file costs the import about half what its
    conversion costs (fork, parse, answer against static reading, mapping and kfp's compiler), and
    each worker pays Airflow's own start-up (seconds of CPU): one worker per three cores, at most 4,
    beside a conversion process per core (the imports overlap the conversions; docs/performance.md)."""
    return max(1, min(4, -(-cores // 3)))


class ImportStream:
    """Airflow's imports of a run's files, made in the background while the files already imported
    are converted: the worker starts at once, and each file's import is handed out (iteration, in
    the order given) as soon as its answer arrives. A context manager: leaving it stops the workers."""

    def __init__(
        self,
        python: str,
        by_folder: Mapping[str, list[tuple[str, str]]],
        options: ReaderOptions,
        with_static: bool,
        max_bytes: int,
    ) -> None:
        self.python = python
        self.by_folder = by_folder
        self.options = options
        self.with_static = with_static
        self.max_bytes = max_bytes
        self.version: str | None = None
        self.seconds: dict[str, float] = {}  # by display path: the file's own time in the worker
        self.started = time.perf_counter()
        self.ready: float | None = None  # when Airflow was imported in the first worker
        self.finished: float | None = None
        self.cpu: float | None = None  # CPU seconds of the Airflow workers, start-up included
        self.start_cpu: float | None = None  # ... of the first one's start-up alone
        self._answers: queue.SimpleQueue[ParsedFile | BaseException | None] = queue.SimpleQueue()
        self._airflow: AirflowReader | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="airflow2kfp-imports", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            with AirflowReader(self.python, self.options) as airflow:
                self._airflow = airflow
                self.seconds = airflow.seconds  # filled as answers arrive, read by the converting thread
                self.version = airflow.version
                self.ready = time.perf_counter()
                self.start_cpu = airflow.cpu
                for folder, items in self.by_folder.items():
                    for parsed in airflow.read_many(items, dag_folder=folder):
                        if self._stopped.is_set():
                            return
                        self._answers.put(parsed)
                self.cpu = airflow.cpu
        except BaseException as error:  # noqa: BLE001 - handed to the thread that converts
            self._answers.put(error)
        finally:
            self.finished = time.perf_counter()
            self._answers.put(None)

    def __iter__(self) -> Iterator[ParsedFile]:
        while (answer := self._answers.get()) is not None:
            if isinstance(answer, BaseException):
                raise answer
            yield answer

    def reader_for(self, imported: ParsedFile) -> ImportedReader:
        """The reader that converts the file `imported` is the import of (merged with the static
        reading in auto mode): it carries that one import, not the run's."""
        return ImportedReader(
            {imported.path: imported},
            with_static=self.with_static,
            max_bytes=self.max_bytes,
            folders=tuple(self.by_folder),
        )

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        if self._thread.is_alive() and self._airflow is not None:
            self._airflow.close()  # the file being imported fails; nothing waits for it
        self._thread.join()


def sandbox_notice(mode: Mode, airflow_python: str | None, sandbox: str) -> Diagnostic | None:
    """What a run that imports with Airflow says about its sandbox (A2K610, A2K611, A2K613), if
    anything: on every run, whether its files come from the cache or not."""
    if mode is Mode.STATIC or find_airflow_python(airflow_python) is None:
        return None
    return resolve(sandbox)[1]


def static_fallback_notice() -> Diagnostic:
    """Said on every run (a warning) when auto mode finds no Airflow interpreter and reads statically."""
    return diag(
        "A2K720",
        "no Airflow interpreter found: the default mode (auto) read the DAG files statically "
        "only; pass --mode static to say that is intended",
    )


def unavailable_notice() -> Diagnostic:
    """Said on every run (an error) when `--mode airflow` finds no Airflow interpreter."""
    return diag(
        "A2K604",
        "no Airflow interpreter: pass --airflow-python or set AIRFLOW2KFP_AIRFLOW_PYTHON; "
        "the DAG files were read statically only",
    )


def _dag_folder(path: Path, roots: Iterable[Path]) -> str:
    """The folder Airflow would put on sys.path for this file: the source folder it was found in."""
    for root in roots:
        if root.is_dir() and path.resolve().is_relative_to(root.resolve()):
            return str(root)
    return str(path.parent)


def prepare_reader(
    mode: Mode,
    files: list[tuple[Path, str]],
    roots: list[Path],
    *,
    airflow_python: str | None = None,
    timeout: float = 5.0,
    max_bytes: int = DEFAULTS.max_file_size,
    sandbox: str = SandboxMode.AUTO.value,
    airflow_env: tuple[tuple[str, str], ...] = (),
    streamed: bool = False,
) -> PreparedReader:
    """Import every file with Airflow when the mode asks for it, and return the reader to convert with.

    With `streamed`, the imports are not waited for: the result's `stream` (not started) hands
    them out as they arrive, each with its reader. What the run says about the sandbox
    (sandbox_notice) is not among the notices: it is said on every run, cached or not. Under
    `--sandbox require` without bubblewrap nothing is imported: the files are read statically."""
    python = find_airflow_python(airflow_python) if mode is not Mode.STATIC else None
    folders = tuple(str(root) for root in roots if root.is_dir())
    if mode is Mode.STATIC:
        return PreparedReader(StaticReader(max_bytes, folders), Mode.STATIC, None, ())
    if python is None:
        if mode is Mode.AIRFLOW:
            notice = unavailable_notice()
            return PreparedReader(
                ImportedReader({}, with_static=False, max_bytes=max_bytes, folders=folders),
                mode,
                None,
                (notice,),
            )
        return PreparedReader(
            StaticReader(max_bytes, folders), Mode.STATIC, None, (static_fallback_notice(),)
        )
    if not resolve(sandbox)[0] and SandboxMode(sandbox) is SandboxMode.REQUIRE:
        if mode is Mode.AIRFLOW:
            return PreparedReader(
                ImportedReader({}, with_static=False, max_bytes=max_bytes, folders=folders), mode, None, ()
            )
        return PreparedReader(StaticReader(max_bytes, folders), Mode.STATIC, None, ())

    by_folder: dict[str, list[tuple[str, str]]] = {}
    for path, display in files:
        by_folder.setdefault(_dag_folder(path, roots), []).append((str(path), display))
    # every folder the sandbox must show, known before the first worker starts (none restarts to see more)
    shown = {
        f
        for folder, items in by_folder.items()
        for path, _ in items
        for f in folders_of(os.path.abspath(path), os.path.abspath(folder))
    }
    # each Airflow worker runs in its own sandbox, pays Airflow's import once, and forks per file
    options = ReaderOptions(
        timeout=timeout,
        workers=import_workers(os.cpu_count() or 1),
        sandbox=sandbox,
        extra_env=airflow_env,
        folders=tuple(sorted(shown)),
        max_file_bytes=max_bytes,
    )
    stream = ImportStream(python, by_folder, options, with_static=mode is Mode.AUTO, max_bytes=max_bytes)
    if streamed:
        return PreparedReader(
            ImportedReader({}, with_static=mode is Mode.AUTO, max_bytes=max_bytes, folders=folders),
            mode,
            None,
            (),
            stream,
        )
    with stream:
        imported = {parsed.path: parsed for parsed in stream}
    reader = ImportedReader(imported, with_static=mode is Mode.AUTO, max_bytes=max_bytes, folders=folders)
    return PreparedReader(reader, mode, stream.version, ())
