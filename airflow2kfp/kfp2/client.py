"""Find the kfp 2.x interpreter and talk to its worker (airflow2kfp/kfp2_side/worker.py).

The interpreter is `--kfp2-python PATH`, else `$AIRFLOW2KFP_KFP2_PYTHON`, else the project's
`.venv-kfp2/bin/python` (made by scripts/setup_kfp2_env.sh). One worker per converting process,
started on first use and kept for the process's life (kfp 2 is imported once, ~1 s); a worker that
dies or hangs is killed and the next request starts a new one. The worker runs from a folder of its
own (a copy of kfp2_side/), with an allow-listed environment, so it never
imports the converter's package (kfp 1.8) and sees no credentials.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow2kfp import kfp2_side

PYTHON_ENV_VAR = "AIRFLOW2KFP_KFP2_PYTHON"
PROJECT_ENV_DIR = ".venv-kfp2"
REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_ALLOWLIST = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
STARTUP_TIMEOUT = 120.0  # importing kfp 2 on a busy machine
COMPILE_TIMEOUT = 120.0


def find_kfp2_python(explicit: str | None = None) -> str | None:
    """The kfp 2.x interpreter: explicit path, else $AIRFLOW2KFP_KFP2_PYTHON, else the project's
    `.venv-kfp2/bin/python`; None when none exists."""
    for candidate in (
        explicit,
        os.environ.get(PYTHON_ENV_VAR),
        str(REPO_ROOT / PROJECT_ENV_DIR / "bin" / "python"),
    ):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


class WorkerError(Exception):
    """The kfp 2 worker could not start, died, or did not answer in time."""


@dataclass(frozen=True)
class Compiled:
    yaml_text: str | None
    error: str | None  # the compiler's complaint, or why no compiler ran


class Kfp2Worker:
    """One worker process answering JSON lines (see airflow2kfp/kfp2_side/worker.py)."""

    def __init__(self, python: str) -> None:
        self.python = python
        self.root = Path(tempfile.mkdtemp(prefix="airflow2kfp-kfp2-"))
        for script in kfp2_side.SCRIPTS:
            shutil.copyfile(script, self.root / script.name)
        (self.root / "home").mkdir()
        self.process: subprocess.Popen[bytes] | None = None
        self.buffer = b""
        self.kfp_version: str | None = None

    def env(self) -> dict[str, str]:
        env = {key: os.environ[key] for key in ENV_ALLOWLIST if key in os.environ}
        env.update(
            HOME=str(self.root / "home"),
            PYTHONHASHSEED="0",
            PYTHONUNBUFFERED="1",
            PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION="python",  # dict-ordered maps: the same IR each run
            PYTHONDONTWRITEBYTECODE="1",
        )
        return env

    def start(self) -> None:
        self.stop()
        log = open(self.root / "worker.log", "ab")  # noqa: SIM115 - the child keeps it
        try:
            self.process = subprocess.Popen(
                [self.python, "-s", str(self.root / kfp2_side.WORKER.name)],
                cwd=self.root,
                env=self.env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        except OSError as error:
            raise WorkerError(f"{self.python}: {error}") from error
        finally:
            log.close()
        self.buffer = b""
        hello = self.read(time.monotonic() + STARTUP_TIMEOUT)
        if not hello.get("hello"):
            raise WorkerError(f"unexpected first answer from the kfp 2 worker: {hello!r}")
        self.kfp_version = str(hello.get("kfp_version"))

    def send(self, request: Mapping[str, Any]) -> None:
        if self.process is None or self.process.poll() is not None:
            self.start()
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
        except OSError as error:
            self.stop()
            raise WorkerError(f"could not send to the kfp 2 worker: {error}") from error

    def read(self, deadline: float) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        fd = self.process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.stop()
                    raise WorkerError("the kfp 2 worker did not answer in time")
                if not selector.select(remaining):
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    tail = self.log_tail()
                    self.stop()
                    raise WorkerError(f"the kfp 2 worker exited: {tail}")
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            answer = json.loads(line)
        except ValueError as error:
            self.stop()
            raise WorkerError(
                f"the kfp 2 worker answered something that is not JSON: {line[:200]!r}"
            ) from error
        return answer if isinstance(answer, dict) else {}

    def request(
        self,
        request: Mapping[str, Any],
        timeout: float,
        on_message: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
        final_key: str | None = None,
    ) -> dict[str, Any]:
        """Send `request`; answers other than the final one (with `final_key`) go to `on_message`,
        whose return value, when not None, is sent back to the worker."""
        self.send(request)
        deadline = time.monotonic() + timeout
        while True:
            answer = self.read(deadline)
            if final_key is None or final_key in answer or "error" in answer or on_message is None:
                return answer
            reply = on_message(answer)
            if reply is not None:
                assert self.process is not None and self.process.stdin is not None
                self.process.stdin.write(json.dumps(reply).encode() + b"\n")
                self.process.stdin.flush()

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = (self.root / "worker.log").read_text(errors="replace")
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
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


_WORKERS: dict[str, Kfp2Worker] = {}  # per interpreter, in this process


def worker(python: str) -> Kfp2Worker:
    """This process's worker for `python`, made on first use and closed when the process exits."""
    found = _WORKERS.get(python)
    if found is None:
        found = _WORKERS[python] = Kfp2Worker(python)
    return found


@atexit.register
def _close_workers() -> None:
    for each in _WORKERS.values():
        each.close()
    _WORKERS.clear()


def compile_v2(source: str, python: str | None) -> Compiled:
    """Compile generated v2 pipeline source with kfp 2.x's own compiler. Never raises."""
    if python is None:
        return Compiled(None, "no kfp 2.x interpreter (run scripts/setup_kfp2_env.sh, or pass --kfp2-python)")
    try:
        answer = worker(python).request({"op": "compile", "source": source}, COMPILE_TIMEOUT)
    except WorkerError as error:
        return Compiled(None, str(error))
    if "yaml" in answer:
        return Compiled(str(answer["yaml"]), None)
    return Compiled(None, str(answer.get("error") or "the kfp 2 worker gave no IR"))


def run_v2(
    ir_text: str,
    arguments: Mapping[str, Any],
    python: str | None,
    on_step: Callable[[dict[str, Any]], dict[str, Any]],
    run_at: str,
    task_timeout: float,
    run_timeout: float,
    run_uuid: str,
) -> dict[str, Any]:
    """Run a compiled v2 pipeline in the kfp 2 worker (kfp2_side/ir_runner.py); `on_step(step)` runs each container
    the worker hands over and returns what it did. Never raises: a failure is a run in phase Error."""
    if python is None:
        return {
            "phase": "Error",
            "steps": [],
            "message": "no kfp 2.x interpreter (run scripts/setup_kfp2_env.sh, or pass --kfp2-python)",
        }
    request = {
        "op": "run",
        "ir": ir_text,
        "arguments": dict(arguments),
        "run_at": run_at,
        "task_timeout": task_timeout,
        "run_uuid": run_uuid,
    }

    def answer_step(message: dict[str, Any]) -> dict[str, Any] | None:
        step = message.get("step")
        return {"step_done": on_step(step)} if isinstance(step, dict) else None

    try:
        answer = worker(python).request(request, run_timeout, on_message=answer_step, final_key="run")
    except WorkerError as error:
        return {"phase": "Error", "steps": [], "message": f"the kfp 2 worker: {error}"}
    run = answer.get("run")
    if not isinstance(run, dict):
        return {
            "phase": "Error",
            "steps": [],
            "message": str(answer.get("error") or "the kfp 2 worker gave no run"),
        }
    return run
