"""Read DAG files the way Airflow does: import them with Airflow's DagBag in a separate interpreter.

kfp 1.x needs pydantic 1 and Airflow 3 needs pydantic 2, so Airflow never runs in this process.
`airflow_probe.py` runs under an Airflow interpreter as a long-lived worker (Airflow is imported
once) in a throwaway sandbox: temporary cwd and AIRFLOW_HOME, an allow-listed environment without
credentials, a per-file timeout and memory limit. Whatever a DAG file does (hang, exit, crash,
fail to import) ends as a coded diagnostic for that file; `read` never raises for a bad file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import selectors
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from converter.diagnostics import Diagnostic, diag
from converter.model import (
    BoundObject, Dag, DagRef, Duration, MappedArg, ParsedFile, PythonCallable, SourceSpan, Task, TaskArgs, Unresolved,
    XComRef,
)
from converter.parse.subdags import inline_subdags

PROBE = Path(__file__).with_name("airflow_probe.py")
PYTHON_ENV_VAR = "AIRFLOW2KFP_AIRFLOW_PYTHON"
PROJECT_ENV_DIR = ".venv-airflow"
REPO_ROOT = Path(__file__).resolve().parents[2]

# Only these variables reach the Airflow process: an allow-list, so cloud and cluster credentials
# (AWS_*, GOOGLE_*, AZURE_*, KUBECONFIG, tokens, ...) can never leak into code run by DAG files.
ENV_ALLOWLIST = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")


@dataclass(frozen=True)
class ReaderOptions:
    timeout: float = 5.0  # seconds Airflow may spend importing one file
    memory_mb: int = 2048  # address space one file may add on top of an idle worker
    max_processes: int = 64  # processes one file may start (RLIMIT_NPROC; see airflow_probe)
    startup_timeout: float = 180.0  # importing Airflow itself is slow, more so on a busy machine
    workers: int = 1
    extra_env: Mapping[str, str] = field(default_factory=dict)  # e.g. AIRFLOW_VAR_* a DAG needs
    # the worker enforces `timeout` itself; this much longer without an answer and it is killed
    backstop_grace: float = 10.0


def find_airflow_python(explicit: str | None = None) -> str | None:
    """The Airflow interpreter to use: explicit path, else $AIRFLOW2KFP_AIRFLOW_PYTHON, else the
    project's own `.venv-airflow/bin/python` (made by scripts/setup_airflow_env.sh)."""
    for candidate in (explicit, os.environ.get(PYTHON_ENV_VAR), str(REPO_ROOT / PROJECT_ENV_DIR / "bin" / "python")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def probe_version(python: str, timeout: float = 180.0) -> str | None:
    """The Airflow version `python` provides, or None when it has no working Airflow."""
    answer = run_probe(python, "--version", timeout=timeout)
    return str(answer["airflow_version"]) if answer and "airflow_version" in answer else None


def run_probe(python: str, *args: str, timeout: float = 180.0) -> dict[str, Any] | None:
    """Run the probe once (not as a worker) in a sandbox; its JSON answer, or None if it failed."""
    with _Sandbox() as sandbox:
        done = run_in_sandbox(python, [str(sandbox.probe), *args], timeout=timeout, sandbox=sandbox)
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


def run_in_sandbox(python: str, argv: list[str], timeout: float = 180.0,
                   sandbox: _Sandbox | None = None) -> subprocess.CompletedProcess[bytes] | None:
    """Run `python argv...` with the same sandbox (cwd, AIRFLOW_HOME, scrubbed env) as the workers."""
    owned = sandbox is None
    box = sandbox or _Sandbox()
    try:
        return subprocess.run(
            [python, "-B", "-s", *argv], cwd=box.cwd, env=box.env({}), stdin=subprocess.DEVNULL,
            capture_output=True, timeout=timeout, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        if owned:
            box.close()


# -- the sandbox and one worker -----------------------------------------------------------------


class _Sandbox:
    """A temporary folder holding the worker's cwd, AIRFLOW_HOME, an empty DAGs folder and logs."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="airflow2kfp-"))
        self.home = self.root / "airflow_home"
        self.cwd = self.root / "cwd"
        self.dags = self.root / "dags"
        self.tmp = self.root / "tmp"
        for folder in (self.home, self.cwd, self.dags, self.tmp):
            folder.mkdir()
        # run the probe from a folder of its own: its directory becomes sys.path[0]
        self.probe = self.root / "probe" / PROBE.name
        self.probe.parent.mkdir()
        shutil.copyfile(PROBE, self.probe)

    def command(self, python: str, *args: str) -> list[str]:
        # -B: never write __pycache__ into the user's DAG folder; -s: no user site-packages
        return [python, "-B", "-s", str(self.probe), *args]

    def env(self, extra: Mapping[str, str]) -> dict[str, str]:
        env = {key: os.environ[key] for key in ENV_ALLOWLIST if key in os.environ}
        env.update(
            HOME=str(self.home),
            TMPDIR=str(self.tmp),
            AIRFLOW_HOME=str(self.home),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__UNIT_TEST_MODE="True",
            AIRFLOW__CORE__DAGS_FOLDER=str(self.dags),
            # DagBag parsing needs no database; this keeps anything that looks for one in the sandbox
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{self.home / 'airflow.db'}",
            AIRFLOW__CORE__SQL_ALCHEMY_CONN=f"sqlite:///{self.home / 'airflow.db'}",
            # the probe enforces the timeout (and kills what the file spawned); Airflow's SIGALRM would
            # turn a hang into an import error instead
            AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="0",
            AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACKS="True",
            AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACK_DEPTH="50",
            AIRFLOW__CORE__DAG_DISCOVERY_SAFE_MODE="True",
            AIRFLOW__LOGGING__LOGGING_LEVEL="ERROR",
            PYTHONHASHSEED="0",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> _Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _WorkerDied(Exception):
    """Internal: the worker process ended or missed the backstop deadline."""


class _Worker:
    """One probe process serving files one at a time over stdin/stdout JSON lines."""

    def __init__(self, python: str, options: ReaderOptions) -> None:
        self.python = python
        self.options = options
        self.sandbox = _Sandbox()
        self.log_path = self.sandbox.root / "worker.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.buffer = b""
        self.version: str | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.sandbox.command(self.python, "--worker"),
                cwd=self.sandbox.cwd, env=self.sandbox.env(self.options.extra_env),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                start_new_session=True,  # its own process group, killed as one
            )
        self.buffer = b""
        hello = self._read_line(time.monotonic() + self.options.startup_timeout)
        if not hello.get("hello"):
            raise _WorkerDied(f"unexpected first line from the Airflow probe: {hello!r}")
        self.version = str(hello.get("airflow_version"))

    def request(self, path: str, dag_folder: str) -> dict[str, Any]:
        if self.process is None or self.process.poll() is not None:
            self.start()
        assert self.process is not None and self.process.stdin is not None
        line = json.dumps({"path": path, "dag_folder": dag_folder, "timeout": self.options.timeout,
                           "memory_mb": self.options.memory_mb, "max_processes": self.options.max_processes})
        try:
            self.process.stdin.write(line.encode() + b"\n")
            self.process.stdin.flush()
        except OSError as exc:
            raise _WorkerDied(f"could not send the request: {exc}") from exc
        return self._read_line(time.monotonic() + self.options.timeout + self.options.backstop_grace)

    def _read_line(self, deadline: float) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        fd = self.process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _WorkerDied("the Airflow worker did not answer in time")
                if not selector.select(remaining):
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise _WorkerDied(f"the Airflow worker exited: {self.log_tail()}")
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            answer = json.loads(line)
        except ValueError as exc:
            raise _WorkerDied(f"the Airflow worker answered something that is not JSON: {line[:200]!r}") from exc
        return answer if isinstance(answer, dict) else {}

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.process.kill()
        self.process.wait()
        self.version = None
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self.process = None

    def close(self) -> None:
        self.stop()
        self.sandbox.close()


# -- the reader ---------------------------------------------------------------------------------


class AirflowReader:
    """Owns a pool of Airflow workers; `read` turns one DAG file into a ParsedFile.

    Use as a context manager so workers and sandboxes are cleaned up:
        with AirflowReader(find_airflow_python()) as reader:
            parsed = reader.read("dags/etl.py", "dags/etl.py", dag_folder="dags")
    """

    def __init__(self, python: str | None, options: ReaderOptions | None = None) -> None:
        self.python = python
        self.options = options or ReaderOptions()
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._all: list[_Worker] = []
        self._unavailable: str | None = None if python else "no Airflow interpreter is configured"
        if python:
            for _ in range(max(1, self.options.workers)):
                worker = _Worker(python, self.options)
                self._all.append(worker)
                self._idle.put(worker)

    def __enter__(self) -> AirflowReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in self._all:
            worker.close()

    @property
    def version(self) -> str | None:
        """The Airflow version of the workers (starting one if none has run yet)."""
        if not self._all or self._unavailable:
            return None
        worker = self._idle.get()
        try:
            if worker.version is None:
                worker.start()
            return worker.version
        except (_WorkerDied, OSError) as exc:
            self._unavailable = str(exc)
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
            return _failed(display, "A2K604", f"Airflow is not available: {self._unavailable}")
        worker = self._idle.get()
        try:
            answer = worker.request(absolute, folder)
        except _WorkerDied as exc:
            return self._after_death(worker, display, exc)
        except OSError as exc:  # the interpreter cannot be started at all
            worker.stop()
            self._unavailable = f"{self.python}: {exc}"
            return _failed(display, "A2K604", f"Airflow is not available: {self._unavailable}")
        finally:
            self._idle.put(worker)
        return parsed_file_from_probe(answer, display, self.version)

    def _after_death(self, worker: _Worker, display: str, exc: _WorkerDied) -> ParsedFile:
        started = worker.version is not None
        tail = worker.log_tail()
        worker.stop()  # a fresh worker starts with the next file
        if not started:
            self._unavailable = f"the Airflow worker did not start ({exc}) {tail}".strip()
            return _failed(display, "A2K604", f"Airflow is not available: {self._unavailable}")
        if "did not answer in time" in str(exc):
            return _failed(display, "A2K602", f"Airflow did not finish importing the file within the "
                                              f"timeout of {self.options.timeout:g} s (the worker was restarted)")
        return _failed(display, "A2K603", f"The Airflow worker died while importing the file: {exc}")

    def read_many(self, items: Iterable[tuple[str, str]], dag_folder: str | None = None) -> Iterator[ParsedFile]:
        """Read (path, display_path) pairs across the worker pool; results in input order."""
        if len(self._all) <= 1:
            for path, display in items:
                yield self.read(path, display, dag_folder)
            return
        with ThreadPoolExecutor(max_workers=len(self._all)) as pool:
            yield from pool.map(lambda item: self.read(item[0], item[1], dag_folder), items)


def _failed(display: str, code: str, message: str, line: int | None = None) -> ParsedFile:
    return ParsedFile(path=display, diagnostics=(diag(code, message, file=display, line=line),))


# -- probe JSON -> model ------------------------------------------------------------------------


def parsed_file_from_probe(answer: Mapping[str, Any], display: str, airflow_version: str | None = None) -> ParsedFile:
    """The model for one probe answer (pure: tested without Airflow); `airflow_version` is the
    version of the Airflow that imported the file."""
    status = answer.get("status")
    limits = answer.get("limits") or {}
    if status == "timeout":
        return _failed(display, "A2K602", f"Airflow did not finish importing the file within the timeout "
                                          f"of {float(answer.get('timeout', 0)):g} s")
    if status != "ok":
        return _failed(display, "A2K603", f"The process importing the file ended abnormally: "
                                          f"{answer.get('error', 'no answer')}{_limits_note(limits)}")
    if answer.get("skipped"):
        return ParsedFile(path=display, not_a_dag_file=True)
    diagnostics = [_import_error(error, display, limits) for error in answer.get("import_errors", [])]
    dags = tuple(inline_subdags([_dag(data, display, str(answer.get("path", "")), airflow_version)
                                 for data in answer.get("dags", [])]))
    if not dags and not diagnostics:
        diagnostics.append(diag("A2K104", "Airflow's DagBag found no DAG in this file.", file=display,
                                help="Nothing to convert; exclude the file if it is a helper module."))
    return ParsedFile(path=display, dags=dags, diagnostics=tuple(diagnostics))


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
        return diag("A2K606", f"The import hit the memory limit of {limits['memory_mb']} MiB: {summary}",
                    file=display, line=line)
    if limits.get("processes") and ("BlockingIOError" in summary or "Resource temporarily unavailable" in summary):
        return diag("A2K606", f"The import hit the limit of {limits['processes']} processes: {summary}",
                    file=display, line=line)
    return diag("A2K601", f"Airflow could not import the file: {summary}", file=display, line=line)


def decode_value(value: Any) -> Any:
    """Probe JSON markers back into model values: Duration, XComRef, Unresolved."""
    if isinstance(value, dict):
        if "__duration__" in value:
            return Duration(float(value["__duration__"]))
        if "__xcom__" in value:
            return XComRef(str(value["__xcom__"]), str(value.get("key") or "return_value"))
        if "__unresolved__" in value:
            return Unresolved(str(value["__unresolved__"]))
        if "__dag__" in value:  # SubDagOperator's subdag
            return DagRef(str(value["__dag__"]))
        if "__mapped_arg__" in value:  # its group is found from the task's (see _in_mapped_groups)
            return MappedArg("", str(value["__mapped_arg__"]))
        return {key: decode_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode_value(item) for item in value]
    return value


_DAG_SETTINGS = ("schedule", "timetable", "timetable_summary", "timetable_description", "catchup", "start_date",
                 "end_date", "max_active_runs", "max_active_tasks", "default_args", "params", "tags", "doc_md")


def _dag(data: Mapping[str, Any], display: str, probed_path: str, airflow_version: str | None = None) -> Dag:
    line = data.get("line") or 1
    span = SourceSpan(display, line)
    groups = data.get("task_groups", {})
    mapped_groups = {gid: decode_value(g["mapped"]) for gid, g in groups.items() if isinstance(g.get("mapped"), dict)}
    tasks = tuple(_in_mapped_groups(_task(task, display, probed_path, line), groups, mapped_groups)
                  for task in data.get("tasks", []))
    return Dag(
        dag_id=str(data["dag_id"]),
        span=span,
        tasks=tasks,
        edges=tuple((str(up), str(down)) for up, down in data.get("edges", [])),
        settings={key: decode_value(data.get(key)) for key in _DAG_SETTINGS},
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


def _task(data: Mapping[str, Any], display: str, probed_path: str, dag_line: int) -> Task:
    operator = str(data.get("operator") or data.get("operator_class") or "")
    # TaskFlow: "@task.bash" reads as "task.bash", as the static reader names it
    operator = operator.removeprefix("@")
    return Task(
        task_id=str(data["task_id"]),
        operator=operator,
        operator_module=str(data.get("operator_module") or ""),
        span=SourceSpan(display, data.get("line") or dag_line),
        args=TaskArgs(values=decode_value(data.get("args", {})), explicit=frozenset(data.get("explicit", []))),
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
        name=str(data.get("name")), source=textwrap.dedent(source) if isinstance(source, str) else None,
        span=span, module=data.get("module"),
        partial_args=tuple(decode_value(list(data.get("partial_args") or []))),
        partial_kwargs=decode_value(dict(data.get("partial_kwargs") or {})),
        bound_object=BoundObject(str(bound.get("class_name")), bound.get("module"), bound.get("source"),
                                 decode_value(bound["state"]) if isinstance(bound.get("state"), dict) else None)
        if isinstance(bound, dict) else None,
        cells=decode_value(dict(data.get("cells") or {})),
    )
