"""Read DAG files the way Airflow does: import them with Airflow's DagBag in a separate interpreter.

kfp 1.x needs pydantic 1 and Airflow 3 needs pydantic 2, so Airflow never runs in this process.
`airflow_side/probe.py` runs under an Airflow interpreter as a long-lived worker (Airflow is imported
once), one per core, each in a sandbox of its own (airflow2kfp.parse.sandbox: bubblewrap on Linux),
and forks a child per file. Each answer comes through a pipe made for that file, as one frame
carrying the request's nonce and the file's path, and is checked here against both and against
the shape of an answer (`answer_problem`): a forged, extra or malformed answer fails only the file
that wrote it (A2K612). Whatever a DAG file does (hang, exit, crash, fail to import, kill its
worker) ends as a coded diagnostic for that file; `read` never raises for a bad file.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import queue
import re
import secrets
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from subprocess import PIPE, CompletedProcess, Popen
from typing import Any

from airflow2kfp.airflow_side import PROBE, SANDBOX_INSIDE
from airflow2kfp.airflow_side import sandbox_inside as frames
from airflow2kfp.diagnostics import Diagnostic, Severity, diag
from airflow2kfp.local_imports import FileScanner
from airflow2kfp.model import (
    DERIVED_XCOMS,
    BoundObject,
    Dag,
    DagRef,
    Duration,
    MappedArg,
    ParsedFile,
    PythonCallable,
    SourceSpan,
    Task,
    TaskArgs,
    Unresolved,
    XComConcat,
    XComMap,
    XComRef,
    XComZip,
    derived_text,
)
from airflow2kfp.parse.sandbox import (
    Box,
    Sandbox,
    SandboxError,
    SandboxMode,
    absolute_python,
    kill_group,
    migrated_home,
    resolve,
)
from airflow2kfp.parse.subdags import inline_subdags

SCRIPTS = (PROBE, SANDBOX_INSIDE)  # the probe imports its sibling sandbox_inside.py
PYTHON_ENV_VAR = "AIRFLOW2KFP_AIRFLOW_PYTHON"
PROJECT_ENV_DIR = ".venv-airflow"
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ReaderOptions:
    timeout: float = 5.0  # seconds Airflow may spend importing one file
    memory_mb: int = 2048  # address space one file may add on top of an idle worker
    max_processes: int = 64  # processes one file may start (RLIMIT_NPROC; see airflow_side/probe.py)
    startup_timeout: float = 180.0  # importing Airflow itself is slow, more so on a busy machine
    workers: int = 1
    extra_env: tuple[tuple[str, str], ...] = ()  # the AIRFLOW_VAR_*/AIRFLOW_CONN_* a repo needs
    # the worker enforces `timeout` itself; this much longer without an answer and it is killed
    backstop_grace: float = 10.0
    sandbox: str = SandboxMode.AUTO.value  # auto | require | off (airflow2kfp.parse.sandbox)
    folders: tuple[str, ...] = ()  # DAG folders the sandbox shows from the start (more are added)
    max_file_bytes: int = 5_000_000  # larger files are not scanned for the Airflow modules they import


def find_airflow_python(explicit: str | None = None) -> str | None:
    """The Airflow interpreter to use: explicit path, else $AIRFLOW2KFP_AIRFLOW_PYTHON, else the
    project's own `.venv-airflow/bin/python` (made by scripts/setup_airflow_env.sh)."""
    for candidate in (
        explicit,
        os.environ.get(PYTHON_ENV_VAR),
        str(REPO_ROOT / PROJECT_ENV_DIR / "bin" / "python"),
    ):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)  # relative: to the folder the converter was started in
    return None


def probe_version(python: str, timeout: float = 180.0, sandbox: str = SandboxMode.AUTO.value) -> str | None:
    """The Airflow version `python` provides, or None when it has no working Airflow."""
    answer = run_probe(python, "--version", timeout=timeout, sandbox=sandbox)
    return str(answer["airflow_version"]) if answer and "airflow_version" in answer else None


def run_probe(
    python: str, *args: str, timeout: float = 180.0, sandbox: str = SandboxMode.AUTO.value
) -> dict[str, Any] | None:
    """Run the probe once (not as a worker) in a sandbox; its JSON answer, or None if it failed."""
    try:
        with Sandbox(sandbox_box(python, sandbox)) as box:
            done = box.run([box.script(PROBE), *args], timeout=timeout)
    except SandboxError:
        return None
    if done is None:
        return None
    for line in done.stdout.decode(errors="replace").splitlines():
        try:
            answer = json.loads(line)
        except ValueError:
            continue
        if isinstance(answer, dict):
            return answer
    return None


def run_in_sandbox(
    python: str,
    argv: list[str],
    timeout: float = 180.0,
    folders: Iterable[str] = (),
    sandbox: str = SandboxMode.AUTO.value,
) -> CompletedProcess[bytes] | None:
    """Run `python argv...` in the sandbox the workers use (with the migrated database), `folders`
    shown read-only; None when it could not start, timed out, or `require` cannot be met."""
    try:
        box = sandbox_box(python, sandbox, [os.path.abspath(f) for f in folders])
        with Sandbox(replace(box, home=migrated_home(python, box.sandboxed))) as running:
            return running.run(argv, timeout=timeout)
    except SandboxError:
        return None


def sandbox_box(
    python: str,
    mode: str,
    folders: Iterable[str] = (),
    extra_env: tuple[tuple[str, str], ...] = (),
    home: Path | None = None,
) -> Box:
    """The Box the probe runs in; SandboxError when `require` cannot be met."""
    sandboxed, notice = resolve(mode)
    if not sandboxed and SandboxMode(mode) is SandboxMode.REQUIRE:
        raise SandboxError(notice.message if notice else "bubblewrap cannot run here")
    return Box(
        python=python, sandboxed=sandboxed, scripts=SCRIPTS, home=home, extra_env=extra_env
    ).with_folders(folders)


def folders_of(path: str, dag_folder: str) -> tuple[str, ...]:
    """What the sandbox must show to import `path`: its DAG folder (on sys.path), the file's own
    folder when it lies elsewhere, each also where symbolic links lead."""
    found = [dag_folder, os.path.realpath(dag_folder)]
    for folder in (os.path.dirname(path), os.path.dirname(os.path.realpath(path))):
        if not folder.startswith(dag_folder.rstrip("/") + "/") and folder != dag_folder:
            found.append(folder)
    return tuple(dict.fromkeys(found))


def _covers(box: Box, folders: Iterable[str]) -> bool:
    return all(any(f == b or f.startswith(b.rstrip("/") + "/") for b in box.folders) for f in folders)


# -- one worker ---------------------------------------------------------------------------------


class _WorkerDied(Exception):
    """Internal: the worker process ended, missed the backstop deadline, or broke the protocol."""

    def __init__(self, message: str, code: str = "A2K603") -> None:
        super().__init__(message)
        self.code = code


class _Worker:
    """One probe process in its own sandbox, serving files one at a time over framed stdin/stdout."""

    def __init__(
        self, python: str, options: ReaderOptions, spawn: Callable[[Callable[[], Popen[bytes]]], Popen[bytes]]
    ) -> None:
        self.python = python
        self.options = options
        self.spawn = spawn  # starts the process from a thread that lives as long as the reader
        self.box: Box | None = None
        self.sandbox: Sandbox | None = None
        # its stderr; unnamed, so nothing is left behind; open as long as the worker
        self.log = tempfile.TemporaryFile()  # noqa: SIM115
        self.process: Popen[bytes] | None = None
        self.frames: frames.FrameReader | None = None
        self.version: str | None = None
        self.preloaded: set[str] = set()  # modules this worker process was asked to import
        self.unanswered: set[str] = set()  # modules a worker did not import in time: never asked again
        self.cpu = 0.0  # CPU seconds of this worker process and its files, as it last said (--timings)
        self.cpu_before = 0.0  # ... of the processes this worker replaced

    def start(self, box: Box) -> None:
        if self.sandbox is None or self.box != box:
            self.close_sandbox()
            self.box, self.sandbox = box, Sandbox(box)
        sandbox = self.sandbox
        command = [sandbox.script(PROBE), "--worker", *(["--sandboxed"] if box.sandboxed else [])]
        self.log.seek(0)
        self.log.truncate()
        self.process = self.spawn(lambda: sandbox.popen(command, stdin=PIPE, stdout=PIPE, stderr=self.log))
        assert self.process.stdout is not None
        self.frames = frames.FrameReader(self.process.stdout.fileno())
        self.preloaded = set()
        hello = self._read_json(time.monotonic() + self.options.startup_timeout)
        if not hello.get("hello"):
            raise _WorkerDied(f"unexpected first answer from the Airflow probe: {hello!r}")
        self.version = str(hello.get("airflow_version"))
        self._count_cpu(hello)

    def request(
        self, box: Box, path: str, dag_folder: str, preload: Iterable[str] = ()
    ) -> tuple[str, dict[str, Any], bytes]:
        """(the nonce sent, the worker's header, the file's answer as sent). `preload`: the Airflow
        modules the file imports, imported by the worker first (once per worker process)."""
        if self.process is None or self.process.poll() is not None or self.box != box:
            self.stop()
            self.start(box)
        assert self.process is not None and self.process.stdin is not None
        modules = sorted(set(preload) - self.preloaded - self.unanswered)
        if modules:
            self.preloaded.update(modules)
            self._send({"preload": modules})
            try:  # a worker answers every request within a file's budget, this one too
                self._read_json(time.monotonic() + self.options.timeout + self.options.backstop_grace)
            except _WorkerDied:
                self.unanswered.update(modules)  # the fresh worker forks without them
                raise
        nonce = secrets.token_hex(16)
        request = {
            "nonce": nonce,
            "path": path,
            "dag_folder": dag_folder,
            "timeout": self.options.timeout,
            "memory_mb": self.options.memory_mb,
            "max_processes": self.options.max_processes,
        }
        self._send(request)
        deadline = time.monotonic() + self.options.timeout + self.options.backstop_grace
        header = self._read_json(deadline)
        payload = self._read(deadline)
        self._count_cpu(header)
        if header.get("nonce") != nonce or header.get("path") != path:
            raise _WorkerDied("the Airflow worker answered for another request", code="A2K612")
        return nonce, header, payload

    def _count_cpu(self, message: Mapping[str, Any]) -> None:
        spent = message.get("cpu")
        if isinstance(spent, (int, float)) and not isinstance(spent, bool):
            self.cpu = max(self.cpu, float(spent))

    def _send(self, request: dict[str, Any]) -> None:
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write(frames.encode(request))
            self.process.stdin.flush()
        except OSError as exc:
            raise _WorkerDied(f"could not send the request: {exc}") from exc

    def _read(self, deadline: float) -> bytes:
        assert self.frames is not None
        try:
            frame = self.frames.read(deadline)
        except EOFError as exc:
            raise _WorkerDied(f"the Airflow worker exited: {self.log_tail()}") from exc
        except frames.FrameError as exc:
            raise _WorkerDied(f"the Airflow worker's channel carried {exc}", code="A2K612") from exc
        if frame is None:
            raise _WorkerDied("the Airflow worker did not answer in time", code="A2K602")
        return frame

    def _read_json(self, deadline: float) -> dict[str, Any]:
        frame = self._read(deadline)
        try:
            document = json.loads(frame)
        except ValueError as exc:
            raise _WorkerDied(
                f"the Airflow worker answered something that is not JSON: {frame[:200]!r}", code="A2K612"
            ) from exc
        if not isinstance(document, dict):
            raise _WorkerDied("the Airflow worker's answer is not a JSON object", code="A2K612")
        return document

    def log_tail(self, lines: int = 5) -> str:
        self.log.seek(0)
        text = self.log.read()[-8192:].decode(errors="replace")
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None:
            return
        kill_group(self.process)  # bubblewrap's --die-with-parent takes the whole sandbox with it
        self.version = None
        self.cpu_before, self.cpu = self.cpu_before + self.cpu, 0.0
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self.process = None
        self.frames = None

    def close_sandbox(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None

    def close(self) -> None:
        self.stop()
        self.close_sandbox()
        self.log.close()


# -- the reader ---------------------------------------------------------------------------------


class AirflowReader:
    """Owns a pool of Airflow workers; `read` turns one DAG file into a ParsedFile.

    Use as a context manager so workers and sandboxes are cleaned up:
        with AirflowReader(find_airflow_python()) as reader:
            parsed = reader.read("dags/etl.py", "dags/etl.py", dag_folder="dags")
    """

    def __init__(self, python: str | None, options: ReaderOptions | None = None) -> None:
        self.python = absolute_python(python) if python else None  # before any sandbox changes folder
        self.options = options or ReaderOptions()
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._all: list[_Worker] = []
        self._unavailable: tuple[str, str] | None = (
            None if python else ("A2K604", "no Airflow interpreter is configured")
        )
        self._box: Box | None = None
        self._lock = threading.Lock()
        # the Airflow modules each file imports (itself or through its helper modules), for the
        # workers to import before they fork: parsed from the files, never imported here
        self._imports = FileScanner(max_bytes=self.options.max_file_bytes)
        self._imports_lock = threading.Lock()
        self.seconds: dict[str, float] = {}  # by display path: request to answer, preloads included
        # bubblewrap's --die-with-parent follows the thread that started it: one long-lived thread
        # starts every worker, so none dies with a pool thread that happened to restart it
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="airflow2kfp-spawn")
        if python:
            for _ in range(max(1, self.options.workers)):
                worker = _Worker(python, self.options, lambda start: self._spawner.submit(start).result())
                self._all.append(worker)
                self._idle.put(worker)

    def __enter__(self) -> AirflowReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in self._all:
            worker.close()
        self._spawner.shutdown(wait=True)

    @property
    def cpu(self) -> float:
        """CPU seconds the Airflow workers and the files' processes spent so far, as they said."""
        return sum(worker.cpu_before + worker.cpu for worker in self._all)

    @property
    def notice(self) -> Diagnostic | None:
        """What the run must say about the sandbox (A2K610/A2K611/A2K613), if anything."""
        return resolve(self.options.sandbox)[1]

    def _current_box(self, folders: Iterable[str] = ()) -> Box:
        """The Box workers run in, grown to show `folders` (a worker restarts to see a new one)."""
        assert self.python is not None
        with self._lock:
            if self._box is None:
                sandboxed = resolve(self.options.sandbox)[0]
                box = sandbox_box(
                    self.python, self.options.sandbox, self.options.folders, self.options.extra_env
                )
                home = migrated_home(self.python, sandboxed, timeout=self.options.startup_timeout)
                self._box = replace(box, home=home)
            folders = tuple(folders)
            if not _covers(self._box, folders):
                self._box = self._box.with_folders(folders)
            return self._box

    @property
    def version(self) -> str | None:
        """The Airflow version of the workers (starting one if none has run yet)."""
        if not self._all or self._unavailable:
            return None
        worker = self._idle.get()
        try:
            if worker.version is None:
                worker.stop()
                worker.start(self._current_box())
            return worker.version
        except SandboxError as exc:
            self._unavailable = ("A2K611", str(exc))
            return None
        except (_WorkerDied, OSError) as exc:
            self._unavailable = (
                "A2K604",
                f"the Airflow worker did not start ({exc}) {worker.log_tail()}".strip(),
            )
            return None
        finally:
            self._idle.put(worker)

    def read(self, path: str, display_path: str | None = None, dag_folder: str | None = None) -> ParsedFile:
        """Import `path` with Airflow. Never raises for a bad file: problems are diagnostics.

        `dag_folder` is what Airflow would put on sys.path (the DAGs folder root); default: the
        file's own folder.
        """
        display = display_path or path
        absolute = os.path.abspath(path)
        folder = os.path.abspath(dag_folder) if dag_folder else os.path.dirname(absolute)
        if not os.path.isfile(absolute):
            return _failed(display, "A2K106", f"The file could not be read: {path} is not a regular file.")
        if self._unavailable or not self._all:
            code, reason = self._unavailable or ("A2K604", "no Airflow interpreter is configured")
            return _failed(display, code, f"Airflow is not available: {reason}")
        try:
            box = self._current_box(folders_of(absolute, folder))
        except SandboxError as exc:
            self._unavailable = ("A2K611", str(exc))
            return _failed(display, "A2K611", str(exc))
        preload = self.airflow_imports(absolute, folder)
        worker = self._idle.get()
        started = time.perf_counter()
        try:
            nonce, header, payload = worker.request(box, absolute, folder, preload)
        except _WorkerDied as exc:
            return self._after_death(worker, display, exc)
        except SandboxError as exc:
            worker.stop()
            self._unavailable = ("A2K611", str(exc))
            return _failed(display, "A2K611", str(exc))
        except OSError as exc:  # the interpreter (or bubblewrap) cannot be started at all
            worker.stop()
            self._unavailable = ("A2K604", f"{self.python}: {exc}")
            return _failed(display, "A2K604", f"Airflow is not available: {self._unavailable[1]}")
        finally:
            self.seconds[display] = time.perf_counter() - started
            self._idle.put(worker)
        if not header.get("swept", True):
            worker.stop()  # a process survived the cleanup: the next file gets a fresh sandbox
        return answer_to_parsed(header, payload, nonce, absolute, display, self.version)

    def airflow_imports(self, path: str, dag_folder: str) -> tuple[str, ...]:
        """The `airflow.*` modules `path` imports, itself or through the modules of its DAG folder
        it imports (read with `ast`, never run), as Airflow's DAG processor pre-imports them."""
        with self._imports_lock:  # the FileScanner memoises; the pool's threads share it
            _, external = self._imports.dependencies(Path(path), (Path(dag_folder),))
        return tuple(name for name in external if name.startswith("airflow."))

    def _after_death(self, worker: _Worker, display: str, exc: _WorkerDied) -> ParsedFile:
        started = worker.version is not None
        tail = worker.log_tail()
        worker.stop()  # a fresh worker starts with the next file
        if not started:
            self._unavailable = ("A2K604", f"the Airflow worker did not start ({exc}) {tail}".strip())
            return _failed(display, "A2K604", f"Airflow is not available: {self._unavailable[1]}")
        if exc.code == "A2K602":
            return _failed(
                display,
                "A2K602",
                f"Airflow did not finish importing the file within the "
                f"timeout of {self.options.timeout:g} s (the worker was restarted)",
            )
        if exc.code == "A2K612":
            return _failed(
                display,
                "A2K612",
                f"The answer for this file could not be trusted: {exc} (the worker was restarted)",
            )
        return _failed(display, "A2K603", f"The Airflow worker died while importing the file: {exc}")

    def read_many(
        self, items: Iterable[tuple[str, str]], dag_folder: str | None = None
    ) -> Iterator[ParsedFile]:
        """Read (path, display_path) pairs across the worker pool; results in input order."""
        if len(self._all) <= 1:
            for path, display in items:
                yield self.read(path, display, dag_folder)
            return
        with ThreadPoolExecutor(max_workers=len(self._all)) as pool:
            yield from pool.map(lambda item: self.read(item[0], item[1], dag_folder), items)


# -- an answer, checked -------------------------------------------------------------------------


def answer_to_parsed(
    header: Mapping[str, Any],
    payload: bytes,
    nonce: str,
    path: str,
    display: str,
    airflow_version: str | None = None,
) -> ParsedFile:
    """The model for one worker answer, after checking it belongs to this request and has the
    shape of an answer: anything else fails this file alone, with A2K612."""
    status = header.get("status")
    if status == "timeout":
        return _failed(
            display,
            "A2K602",
            f"Airflow did not finish importing the file within the timeout "
            f"of {_number(header.get('timeout')):g} s",
        )
    if status == "crashed":
        limits = header.get("limits")
        return _failed(
            display,
            "A2K603",
            f"The process importing the file ended abnormally: "
            f"{header.get('error', 'no answer')}"
            f"{_limits_note(limits) if isinstance(limits, dict) else ''}",
        )
    if status == "tampered":
        found = f"{header.get('frames', 'unknown')} answers and {header.get('extra_bytes', 0)} stray bytes"
        return _failed(
            display,
            "A2K612",
            "The file's answer channel carried more than one answer, or bytes "
            f"that are no answer ({header.get('error') or found}): something in "
            "the file wrote to it",
        )
    if status != "ok":
        return _failed(display, "A2K612", f"The Airflow worker answered with an unknown status {status!r}")
    try:
        answer = json.loads(payload)
    except ValueError:
        return _failed(display, "A2K612", "The file's answer is not JSON")
    problem = answer_problem(answer, nonce, path)
    if problem:
        return _failed(display, "A2K612", f"The file's answer was rejected: {problem}")
    return parsed_file_from_probe(answer, display, airflow_version)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


# The shape of an answer (what parsed_file_from_probe reads), as plain checks: a type, a tuple of
# types, `[spec]` for a list of spec, `{"*": spec}` for a mapping of spec, `{key: spec}` for an
# object whose keys are all optional (but _REQUIRED) and must match, `(None, spec)` for null or
# spec; `Any` allows every JSON value.
_TEXT, _OPT_TEXT, _LINE = str, (str, type(None)), (int, type(None))
_CALLABLE = {"name": _OPT_TEXT, "module": _OPT_TEXT, "file": _OPT_TEXT, "line": _LINE, "source": _OPT_TEXT}
_TASK = {
    "task_id": _TEXT,
    "operator": _OPT_TEXT,
    "operator_class": _OPT_TEXT,
    "operator_module": _OPT_TEXT,
    "operator_mro": [_TEXT],
    "operator_in_dag_file": bool,
    "line": _LINE,
    "group_id": _OPT_TEXT,
    "args": {"*": Any},
    "explicit": [_TEXT],
    "python_callable": (None, _CALLABLE),
    "is_mapped": bool,
    "mapped_args": {"*": Any},
    "is_setup": bool,
    "is_teardown": bool,
}
_DAG = {
    "dag_id": _TEXT,
    "line": _LINE,
    "tasks": [_TASK],
    "edges": [[_TEXT]],
    "edge_labels": [[_TEXT]],
    "task_groups": {"*": {"parent": _OPT_TEXT, "tooltip": _OPT_TEXT}},
    "description": _OPT_TEXT,
    "template_searchpath": [_TEXT],
}
_ANSWER = {
    "nonce": _TEXT,
    "path": _TEXT,
    "status": _TEXT,
    "skipped": bool,
    "error": _OPT_TEXT,
    "sandbox_folders": {"*": _TEXT},
    "clock": {"epoch": _TEXT, "reads": [int]},
    "timeout": (int, float),
    "limits": {"memory_mb": _LINE, "processes": _LINE, "user": _OPT_TEXT},
    "dags": [_DAG],
    "import_errors": [{"summary": _OPT_TEXT, "message": _OPT_TEXT, "line": _LINE}],
}
_REQUIRED = {"dag_id", "task_id"}
_PAIRS = {"edges": 2, "edge_labels": 3}


def answer_problem(answer: Any, nonce: str, path: str) -> str | None:
    """Why `answer` is not the probe's answer for (nonce, path); None when it is."""
    if not isinstance(answer, dict):
        return "not a JSON object"
    if answer.get("nonce") != nonce:
        return "it carries another request's nonce"
    if answer.get("path") != path:
        return f"it names another file ({str(answer.get('path'))[:200]!r})"
    return _shape_problem(answer, _ANSWER, "answer")


def _shape_problem(value: Any, spec: Any, where: str) -> str | None:
    found = _shape_fault(value, spec)
    if found is None:
        return None
    path, message = found
    return f"{where}{''.join(path)}: {message}"


def _shape_fault(value: Any, spec: Any) -> tuple[list[str], str] | None:
    """(the path to the first place `value` breaks `spec`, outermost first; what is wrong), or None.
    The path is only spelt out for an answer that breaks the shape: a genuine one is checked whole."""
    if spec is Any:
        return None
    if isinstance(spec, tuple) and spec[0] is None:
        return None if value is None else _shape_fault(value, spec[1])
    if isinstance(spec, list):
        if not isinstance(value, list):
            return [], "expected a list"
        item_spec = spec[0]
        for index, item in enumerate(value):
            found = _shape_fault(item, item_spec)
            if found:
                found[0].insert(0, f"[{index}]")
                return found
        return None
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return [], "expected an object"
        if "*" in spec:
            item_spec = spec["*"]
            if item_spec is Any:
                return None
            for key, item in value.items():
                found = _shape_fault(item, item_spec)
                if found:
                    found[0].insert(0, f".{key}")
                    return found
            return None
        for key in _REQUIRED & spec.keys():
            if key not in value:
                return [], f"{key} is missing"
        for key, item_spec in spec.items():
            if key in value:
                found = _shape_fault(value[key], item_spec)
                if found:
                    found[0].insert(0, f".{key}")
                    return found
            if key in _PAIRS and key in value and any(len(pair) != _PAIRS[key] for pair in value[key]):
                return [f".{key}"], f"expected lists of {_PAIRS[key]} names"
        return None
    types = spec if isinstance(spec, tuple) else (spec,)
    if isinstance(value, bool) and bool not in types:
        return [], f"expected {_type_names(types)}, not a boolean"
    if not isinstance(value, types):
        return [], f"expected {_type_names(types)}"
    return None


def _type_names(types: tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        dict: "an object",
        type(None): "null",
    }
    return " or ".join(names.get(t, t.__name__) for t in types)


def _failed(display: str, code: str, message: str, line: int | None = None) -> ParsedFile:
    return ParsedFile(path=display, diagnostics=(diag(code, message, file=display, line=line),))


# -- probe JSON -> model ------------------------------------------------------------------------


def parsed_file_from_probe(
    answer: Mapping[str, Any], display: str, airflow_version: str | None = None
) -> ParsedFile:
    """The model for one probe answer (pure: tested without Airflow); `airflow_version` is the
    version of the Airflow that imported the file."""
    status = answer.get("status")
    limits = answer.get("limits") or {}
    if status == "timeout":  # the probe's single-file mode; a worker's timeout is its header's
        return _failed(
            display,
            "A2K602",
            f"Airflow did not finish importing the file within the timeout "
            f"of {float(answer.get('timeout', 0)):g} s",
        )
    if status != "ok":
        return _failed(
            display,
            "A2K603",
            f"The process importing the file ended abnormally: "
            f"{answer.get('error', 'no answer')}{_limits_note(limits)}",
        )
    if answer.get("skipped"):
        return ParsedFile(path=display, not_a_dag_file=True)
    diagnostics = [_import_error(error, display, limits) for error in answer.get("import_errors", [])]
    read, repeated = _one_per_dag_id(answer.get("dags", []))
    diagnostics += [
        diag(
            "A2K206",
            f"Airflow's DagBag found {count} DAGs with dag_id {dag_id!r} in this file (a "
            "@dag function called twice, or one DAG bound under two names); it keeps one per dag_id, "
            "the last one built, which is converted",
            file=display,
            dag_id=dag_id,
            severity=Severity.WARNING,
        )
        for dag_id, count in repeated
    ]
    dags = tuple(
        inline_subdags([_dag(data, display, str(answer.get("path", "")), airflow_version) for data in read])
    )
    clock = answer.get("clock")
    if isinstance(clock, dict) and clock.get("reads") and dags:
        timed = [_clock_values(dag, clock) for dag in dags]
        dags = tuple(dag for dag, _ in timed)
        diagnostics += [note for _, note in timed]
    folders = answer.get("sandbox_folders")
    if isinstance(folders, dict) and dags:
        mapped = [_outside_sandbox(dag, folders) for dag in dags]
        dags = tuple(dag for dag, _ in mapped)
        diagnostics += [note for _, notes in mapped for note in notes]
    if not dags and not diagnostics:  # a helper module Airflow imported fine: nothing to convert, no failure
        return ParsedFile(
            path=display,
            not_a_dag_file=True,
            diagnostics=(
                diag(
                    "A2K104",
                    "Airflow's DagBag found no DAG in this file.",
                    file=display,
                    help="Nothing to convert; exclude the file if it is a helper module.",
                ),
            ),
        )
    return ParsedFile(path=display, dags=dags, diagnostics=tuple(diagnostics))


def _one_per_dag_id(dags: Any) -> tuple[list[Mapping[str, Any]], list[tuple[str, int]]]:
    """The probe's DAGs, one per dag_id as DagBag.dags keeps them (a later one replaces an earlier one
    of the same file), and each dag_id found more than once with its count."""
    kept: dict[str, Mapping[str, Any]] = {}
    counts: dict[str, int] = {}
    for data in dags if isinstance(dags, list) else []:
        if isinstance(data, Mapping) and "dag_id" in data:
            dag_id = str(data["dag_id"])
            # the same DAG found twice (bound under two names, or a sub-DAG also listed by its parent)
            # is one DAG; only distinct DAGs of one dag_id are worth a word
            if kept.get(dag_id) != data:
                counts[dag_id] = counts.get(dag_id, 0) + 1
            kept.pop(dag_id, None)
            kept[dag_id] = data
    return list(kept.values()), sorted((dag_id, n) for dag_id, n in counts.items() if n > 1)


# how far from the frozen instant a date computed from it may lie (days_ago(365), a year from now)
CLOCK_WINDOW = datetime.timedelta(days=366)
_WINDOWED = ("start_date", "end_date")


def _clock_values(dag: Dag, clock: Mapping[str, Any]) -> tuple[Dag, Diagnostic]:
    """The file read the clock while it was imported (the probe froze it at `epoch`): say where,
    and drop a start_date/end_date computed from it (in the DAG, its default_args or a task's),
    as the static reading does: "start from now" is a recurring run with no start time."""
    try:
        epoch = datetime.datetime.fromisoformat(str(clock.get("epoch")))
    except ValueError:
        epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    lines = [int(line) for line in clock.get("reads") or [] if isinstance(line, int)]

    def computed(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            return False
        moment = moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
        return epoch - CLOCK_WINDOW <= moment <= epoch + CLOCK_WINDOW

    dropped: set[str] = set()

    def without(values: Mapping[str, Any], where: str) -> dict[str, Any]:
        kept = dict(values)
        for key in _WINDOWED:
            if computed(kept.get(key)):
                kept[key] = Unresolved(f"<{key} computed from the clock when the file was imported>")
                dropped.add(f"{where}{key}")
        if isinstance(kept.get("default_args"), Mapping):
            kept["default_args"] = without(kept["default_args"], f"{where}default_args ")
        return kept

    settings = without(dag.settings, "")
    tasks = tuple(
        dataclasses.replace(
            task, args=dataclasses.replace(task.args, values=without(task.args.values, "tasks' "))
        )
        for task in dag.tasks
    )
    found = ", ".join(str(line) for line in lines[:MAX_LINES]) + (" ..." if len(lines) > MAX_LINES else "")
    dropped_note = f"; dropped, as computed from it: {', '.join(sorted(dropped))}" if dropped else ""
    note = diag(
        "A2K607",
        f"DAG {dag.dag_id!r}: the file reads the clock while it is imported (line {found}): "
        f"values computed from it are as at {epoch.isoformat()}, not when Airflow parses the file"
        f"{dropped_note}",
        file=dag.span.file,
        line=lines[0] if lines else dag.span.line,
        dag_id=dag.dag_id,
    )
    return dataclasses.replace(dag, settings=settings, tasks=tasks), note


MAX_LINES = 5


SANDBOX_ROOT = "/airflow2kfp"  # the sandbox's folders as bubblewrap names them (airflow2kfp.parse.sandbox)


def _outside_sandbox(dag: Dag, folders: Mapping[str, Any]) -> tuple[Dag, list[Diagnostic]]:
    """Values that name the import sandbox's own folders, mapped back or reported (A2K608).

    A path under the working folder was built from a relative one (`os.path.abspath("sql/x.sql")`):
    it becomes that relative path again, resolved where Airflow runs, as in the DAG's own Airflow.
    A path under the sandbox's own temporary folder (without bubblewrap) is a path under /tmp, one
    under its AIRFLOW_HOME or log folder `$AIRFLOW_HOME/...`; any other path in the sandbox's folder
    keeps bubblewrap's fixed name for it, so that no random folder name reaches the output."""
    rules: list[tuple[str, str, str]] = []  # (folder, written as, what the note says)
    cwd = str(folders.get("cwd") or "")
    if cwd:
        rules.append(
            (
                cwd + "/",
                "",
                (
                    "was built from the import's working folder: written relative, as Airflow "
                    "resolves it from its own"
                ),
            )
        )
        rules.append((cwd, ".", "names the import's working folder: written as '.'"))
    tmp = str(folders.get("tmp") or "")
    if tmp and tmp != "/tmp":
        rules.append((tmp, "/tmp", "names the import's temporary folder: written as /tmp"))
    for name, written in (("logs", "$AIRFLOW_HOME/logs"), ("home", "$AIRFLOW_HOME")):
        if folders.get(name):
            rules.append(
                (
                    str(folders[name]),
                    written,
                    f"names the AIRFLOW_HOME of the import's Airflow: written as {written}",
                )
            )
    root = str(folders.get("root") or "")
    if root and root != SANDBOX_ROOT:
        rules.append(
            (root, SANDBOX_ROOT, f"names a folder of the import's sandbox: written under {SANDBOX_ROOT}")
        )
    rules = [rule for rule in rules if rule[0].strip("/")]
    pattern = (
        re.compile(
            "|".join(
                f"({re.escape(folder)})" + ("" if folder.endswith("/") else r"(?![\w.-])")
                for folder, _, _ in rules
            )
        )
        if rules
        else None
    )
    found: dict[str, set[str]] = {}  # where -> what happened
    # where a value is, as a format and its parts: spelt out only for a value that is mapped back

    def walk(value: Any, where: tuple[str, ...]) -> Any:
        if isinstance(value, str) and pattern is not None and "/" in value:

            def replace(match: re.Match[str]) -> str:
                _, written, what = rules[match.lastindex - 1]  # type: ignore[operator]
                found.setdefault(where[0].format(*where[1:]), set()).add(what)
                return written

            return pattern.sub(replace, value)
        if isinstance(value, dict):
            return {key: walk(item, where) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, where) for item in value]
        return value

    tasks = []
    for task in dag.tasks:
        values = {
            key: walk(value, ("task {!r} argument {}", task.task_id, key))
            for key, value in task.args.values.items()
        }
        mapped = {
            key: walk(value, ("task {!r} mapped argument {}", task.task_id, key))
            for key, value in task.mapped_args.items()
        }
        function = task.python_callable
        if function is not None and function.cells:
            function = dataclasses.replace(
                function,
                cells={
                    name: walk(value, ("task {!r} callable's {}", task.task_id, name))
                    for name, value in function.cells.items()
                },
            )
        tasks.append(
            dataclasses.replace(
                task,
                args=dataclasses.replace(task.args, values=values),
                mapped_args=mapped,
                python_callable=function,
            )
        )
    settings = {key: walk(value, ("DAG setting {}", key)) for key, value in dag.settings.items()}
    notes = [
        diag(
            "A2K608",
            f"DAG {dag.dag_id!r}, {where}: the value {'; '.join(sorted(whats))}.",
            file=dag.span.file,
            line=dag.span.line,
            dag_id=dag.dag_id,
        )
        for where, whats in sorted(found.items())
    ]
    return dataclasses.replace(dag, tasks=tuple(tasks), settings=settings), notes


def _limits_note(limits: Mapping[str, Any]) -> str:
    """What the sandbox limited, for a crash whose cause the child could not report itself."""
    parts = [f"memory {limits['memory_mb']} MiB"] if limits.get("memory_mb") else []
    parts += [f"processes {limits['processes']}"] if limits.get("processes") else []
    return f" (limits: {', '.join(parts)})" if parts else ""


def _import_error(error: Mapping[str, Any], display: str, limits: Mapping[str, Any]) -> Diagnostic:
    summary = str(error.get("summary") or error.get("message") or "unknown error")
    line = error.get("line")
    # a MemoryError under RLIMIT_AS, EAGAIN from fork under RLIMIT_NPROC: the limit, not the file, said no
    if limits.get("memory_mb") and summary.startswith("MemoryError"):
        return diag(
            "A2K606",
            f"The import hit the memory limit of {limits['memory_mb']} MiB: {summary}",
            file=display,
            line=line,
        )
    if limits.get("processes") and (
        "BlockingIOError" in summary or "Resource temporarily unavailable" in summary
    ):
        return diag(
            "A2K606",
            f"The import hit the limit of {limits['processes']} processes: {summary}",
            file=display,
            line=line,
        )
    return diag("A2K601", f"Airflow could not import the file: {summary}", file=display, line=line)


def decode_value(value: Any) -> Any:
    """Probe JSON markers back into model values: Duration, XComRef, Unresolved."""
    if isinstance(value, dict):
        if "__duration__" in value:
            seconds = value["__duration__"]
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
                return Duration(float(seconds))
            return Unresolved(repr(seconds))
        if "__xcom__" in value:
            return XComRef(str(value["__xcom__"]), str(value.get("key") or "return_value"))
        if {"__xcom_zip__", "__xcom_map__", "__xcom_concat__"} & set(value):
            return _derived_xcom(value)
        if "__unresolved__" in value:
            return Unresolved(str(value["__unresolved__"]))
        if "__dag__" in value:  # SubDagOperator's subdag
            return DagRef(str(value["__dag__"]))
        if "__mapped_arg__" in value:  # its group is found from the task's (see _in_mapped_groups)
            return MappedArg("", str(value["__mapped_arg__"]))
        if (
            "__object__" in value
        ):  # a Kubernetes object or Secret: its constructor call, as the source writes it
            return Unresolved(_constructor_source(value))
        return {key: decode_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode_value(item) for item in value]
    return value


def _derived_xcom(value: Mapping[str, Any]) -> Any:
    """The probe's zip/map/concat of XComs as the model's XComZip / XComMap / XComConcat (what the
    static reading makes of the same source); Unresolved when a part is not an XCom or a function."""
    if "__xcom_map__" in value:
        arg = decode_value(value["__xcom_map__"])
        found: list[PythonCallable | None] = [
            _callable(c, "", "") if isinstance(c, dict) else None for c in value.get("callables") or []
        ]
        # where the function is written is the static reading's (merge), never the sandbox's path
        callables = tuple(dataclasses.replace(c, span=None) for c in found if c is not None)
        derived: Any = XComMap(arg, callables)
        whole = len(callables) == len(found) > 0
    else:
        args = tuple(decode_value(a) for a in value.get("__xcom_zip__") or value.get("__xcom_concat__") or [])
        if "__xcom_concat__" in value:
            derived = XComConcat(args)
        else:
            filled = "fillvalue" in value
            derived = XComZip(args, filled, decode_value(value["fillvalue"]) if filled else None)
        whole = bool(args)
    parts = [derived.arg] if isinstance(derived, XComMap) else list(derived.args)
    if whole and all(isinstance(p, (XComRef, *DERIVED_XCOMS)) for p in parts):
        return derived
    return Unresolved(derived_text(derived))


def _constructor_source(value: Mapping[str, Any]) -> str:
    """`k8s.V1Toleration(key='gpu', ...)` (Kubernetes client classes on `k8s`, as the mapping writes
    them) or `Secret(...)` from the probe's {"__object__", "module", "kwargs"}."""
    name = str(value["__object__"])
    if not name.isidentifier():
        return repr(value)
    prefix = "k8s." if value.get("module") == "kubernetes.client.models" else ""
    kwargs = value.get("kwargs") if isinstance(value.get("kwargs"), dict) else {}
    parts = [
        f"{key}={_source_of(decode_value(item))}" for key, item in kwargs.items() if str(key).isidentifier()
    ]
    return f"{prefix}{name}({', '.join(parts)})"


def _source_of(value: Any) -> str:
    """Python source for a decoded value inside a constructor call (objects by their own source)."""
    if isinstance(value, Unresolved):
        return value.source
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_source_of(k)}: {_source_of(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_source_of(v) for v in value) + "]"
    if isinstance(value, Duration):
        return f"timedelta(seconds={value.seconds!r})"
    return repr(value)


_DAG_SETTINGS = (
    "schedule",
    "timetable",
    "timetable_summary",
    "timetable_description",
    "timetable_detail",
    "catchup",
    "start_date",
    "end_date",
    "max_active_runs",
    "max_active_tasks",
    "default_args",
    "params",
    "tags",
    "doc_md",
)


def _dag(data: Mapping[str, Any], display: str, probed_path: str, airflow_version: str | None = None) -> Dag:
    line = data.get("line") or 1
    span = SourceSpan(display, line)
    groups = data.get("task_groups", {})
    mapped_groups = {
        gid: decode_value(g["mapped"]) for gid, g in groups.items() if isinstance(g.get("mapped"), dict)
    }
    tasks = tuple(
        _in_mapped_groups(_task(task, display, probed_path, line), groups, mapped_groups)
        for task in data.get("tasks", [])
    )
    return Dag(
        dag_id=str(data["dag_id"]),
        span=span,
        tasks=tasks,
        edges=tuple((str(up), str(down)) for up, down in data.get("edges", [])),
        settings={
            key: decode_value(data.get(key))
            for key in _DAG_SETTINGS + (("template_searchpath",) if "template_searchpath" in data else ())
        },
        description=data.get("description"),
        edge_labels={(up, down): label for up, down, label in data.get("edge_labels", [])},
        task_groups={gid: (g.get("parent"), g.get("tooltip")) for gid, g in groups.items()},
        mapped_groups=mapped_groups,
        source_mode="airflow",
        airflow_version=airflow_version,
    )


def _in_mapped_groups(task: Task, groups: Mapping[str, Any], mapped_groups: Mapping[str, Any]) -> Task:
    """A mapped group's arguments in the task's values, named after the innermost mapped group around it."""
    group_id, owner = task.group_id, None
    while group_id and owner is None:
        owner = group_id if group_id in mapped_groups else None
        group_id = (groups.get(group_id) or {}).get("parent")
    if owner is None:
        return task

    def own(value: Any) -> Any:
        if isinstance(value, MappedArg) and not value.group_id:
            return MappedArg(owner, value.key)
        if isinstance(value, dict):
            return {k: own(v) for k, v in value.items()}
        if isinstance(value, list):
            return [own(v) for v in value]
        return value

    return dataclasses.replace(task, args=dataclasses.replace(task.args, values=own(dict(task.args.values))))


# operator classes Airflow builds for a decorator that names no `custom_operator_name`, as the decorator
# the static reader sees: an `@asset` function runs as its PythonOperator subclass _AssetMainOperator
_DECORATOR_OPERATORS = {
    ("airflow.sdk.definitions.asset.decorators", "_AssetMainOperator"): ("airflow.sdk", "asset"),
}


def _task(data: Mapping[str, Any], display: str, probed_path: str, dag_line: int) -> Task:
    operator = str(data.get("operator") or data.get("operator_class") or "")
    # TaskFlow: "@task.bash" reads as "task.bash", as the static reader names it
    operator = operator.removeprefix("@")
    module = str(data.get("operator_module") or "")
    if (module, operator) in _DECORATOR_OPERATORS:  # the decorator's own operator class
        module, operator = _DECORATOR_OPERATORS[module, operator]
    return Task(
        task_id=str(data["task_id"]),
        operator=operator,
        operator_module=module,
        operator_mro=tuple(str(b) for b in data.get("operator_mro") or ()),
        operator_in_dag_file=bool(data.get("operator_in_dag_file")),
        span=SourceSpan(display, data.get("line") or dag_line),
        args=TaskArgs(
            values=decode_value(data.get("args", {})), explicit=frozenset(data.get("explicit", []))
        ),
        group_id=data.get("group_id"),
        python_callable=_callable(data.get("python_callable"), display, probed_path),
        is_mapped=bool(data.get("is_mapped")),
        mapped_args=decode_value(data.get("mapped_args", {})),
        is_setup=bool(data.get("is_setup")),
        is_teardown=bool(data.get("is_teardown")),
    )


def _callable(data: Mapping[str, Any] | None, display: str, probed_path: str) -> PythonCallable | None:
    if not data:
        return None
    file, line = data.get("file"), data.get("line")
    span = None
    if file and line:
        in_dag_file = os.path.realpath(file) == os.path.realpath(probed_path)
        span = SourceSpan(display if in_dag_file else str(file), int(line))
    bound = data.get("bound_object")
    source = data.get("source")
    return PythonCallable(
        # inspect gives a function defined in a `with DAG` block or a @dag function indented, as in the file
        name=str(data.get("name")),
        source=textwrap.dedent(source) if isinstance(source, str) else None,
        span=span,
        module=data.get("module"),
        partial_args=tuple(decode_value(list(data.get("partial_args") or []))),
        partial_kwargs=decode_value(dict(data.get("partial_kwargs") or {})),
        bound_object=BoundObject(
            str(bound.get("class_name")),
            bound.get("module"),
            bound.get("source"),
            decode_value(bound["state"]) if isinstance(bound.get("state"), dict) else None,
        )
        if isinstance(bound, dict)
        else None,
        cells=decode_value(dict(data.get("cells") or {})),
    )
