"""Where Airflow runs someone else's DAG files: a bubblewrap sandbox on Linux (docs/sandbox.md).

Every Airflow process the converter starts (the import workers, the one-shot probes, `airflow db
migrate`, `verify`'s `dag.test()` runner) is started here, from a `Box`: the interpreter, the DAG
folders it may read, the scripts it runs, its AIRFLOW_HOME and the AIRFLOW_VAR_*/AIRFLOW_CONN_*
values the user handed it. With bubblewrap (`bwrap`) the process gets new user, PID, IPC, UTS,
network and cgroup namespaces; a root file system of read-only binds (/usr, a few /etc files, the
interpreter's own folders, the DAG folders at their own paths, our scripts) with private tmpfs for
/tmp, /dev/shm and Airflow's logs; its own /proc; no $HOME; an environment built from the
allow-list only (`--clearenv`, every option passed through a memfd so no value shows in `ps`);
`--die-with-parent` and `--new-session`.

Two flavours, chosen by who runs the converter:
- "user" (not root): bubblewrap maps the user to itself in a new user namespace; the sandbox has
  no capabilities and may not create further user namespaces.
- "root": a user namespace made here maps root and `nobody` (65534) to themselves; the sandbox's
  first process keeps, in that namespace only, what it needs to drop each DAG file's process to
  `nobody` and to clean up after it (see airflow_side/probe.py). RLIMIT_NPROC then binds, which it never
  does for root.
Without bubblewrap (`--sandbox off`, or not Linux / no user namespaces under `auto`) the process
runs in a temporary folder with the same environment: weaker, and every run says so (A2K610).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any

from airflow2kfp.airflow_side.sandbox_inside import CWD, NOBODY
from airflow2kfp.diagnostics import Diagnostic, diag

INSIDE = "/airflow2kfp"
SCRIPTS = f"{INSIDE}/bin"  # our scripts, read-only; the scripts' folder is their sys.path[0]
HOME = f"{INSIDE}/home"  # AIRFLOW_HOME
LOGS = f"{INSIDE}/logs"  # Airflow's log folders (Airflow 2 will not start without them)
EMPTY_DAGS = f"{INSIDE}/dags"  # [core] dags_folder until a file sets its own
SCRATCH_SIZE = 512 * 1024 * 1024  # bytes of /tmp per sandbox (tmpfs lives in memory)
HOSTNAME = "airflow2kfp"

# Only these variables of the user's environment reach Airflow: an allow-list, so cloud and
# cluster credentials (AWS_*, GOOGLE_*, AZURE_*, KUBECONFIG, tokens, ...) never do.
# SOURCE_DATE_EPOCH: the instant a DAG file's clock reads while imported (airflow_side/probe.py's _FrozenClock)
ENV_ALLOWLIST = (
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "SOURCE_DATE_EPOCH",
    # the Airflow settings that decide which timetable a DAG's schedule makes, and its
    # catchup and time zone: schedules are read as the user's Airflow makes them
    "AIRFLOW__SCHEDULER__CREATE_CRON_DATA_INTERVALS",
    "AIRFLOW__SCHEDULER__CREATE_DELTA_DATA_INTERVALS",
    "AIRFLOW__SCHEDULER__CATCHUP_BY_DEFAULT",
    "AIRFLOW__CORE__DEFAULT_TIMEZONE",
)
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# /etc holds host secrets (shadow, ssh host keys, ssl/private): only these, none of them secret
ETC_ENTRIES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "ssl/certs",
    "ca-certificates",
    "ca-certificates.conf",
    "mime.types",
    "nsswitch.conf",
    "protocols",
    "services",
    "os-release",
    "alternatives",
)
# what the worker of the root flavour keeps, in the sandbox's user namespace only
ROOT_CAPABILITIES = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER")
_PARSE_TIME_PREFIXES = ("AIRFLOW_VAR_", "AIRFLOW_CONN_")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class SandboxMode(str, Enum):
    AUTO = "auto"  # bubblewrap when it can run, else a warning (A2K610) and the temporary folder
    REQUIRE = "require"  # bubblewrap or no import at all (A2K611)
    OFF = "off"  # never bubblewrap (A2K613)


SANDBOX_MODES = tuple(mode.value for mode in SandboxMode)


class SandboxError(Exception):
    """The sandbox could not be set up (internal: callers turn it into a diagnostic)."""


# -- can bubblewrap run here? -------------------------------------------------------------------


@dataclass(frozen=True)
class Support:
    flavour: str | None  # "root" | "user"; None: bubblewrap cannot run here
    reason: str = ""  # why not
    disable_userns: bool = True  # "user": --disable-userns works here (no nested user namespaces)

    @property
    def available(self) -> bool:
        return self.flavour is not None


@functools.cache
def support() -> Support:
    """Whether bubblewrap can run a sandbox here, found by running one (once per process)."""
    if not sys.platform.startswith("linux"):
        return Support(None, f"bubblewrap runs on Linux only, not {sys.platform}")
    if shutil.which("bwrap") is None:
        return Support(None, "bubblewrap (`bwrap`) is not installed")
    flavour = "root" if os.geteuid() == 0 else "user"
    true = shutil.which("true", path="/usr/bin:/bin") or "/bin/true"
    problem = ""
    # a kernel that will not let bubblewrap forbid nested user namespaces still gets the rest
    for disable_userns in (True, False) if flavour == "user" else (True,):
        try:
            with _Launch(
                Box(python=true), flavour, interpreter=False, disable_userns=disable_userns
            ) as launch:
                done = subprocess.run(
                    launch.argv([true]),
                    pass_fds=launch.fds,
                    env={},
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=30,
                    check=False,
                )
        except (OSError, SandboxError, subprocess.TimeoutExpired) as error:
            return Support(None, f"bubblewrap cannot start a sandbox: {error}")
        if done.returncode == 0:
            return Support(flavour, disable_userns=disable_userns)
        message = done.stderr.decode(errors="replace").strip().splitlines()
        problem = problem or (message[-1] if message else f"exit status {done.returncode}")
    return Support(None, f"bubblewrap cannot start a sandbox: {problem}")


def resolve(mode: SandboxMode | str) -> tuple[bool, Diagnostic | None]:
    """(run under bubblewrap?, the run's notice): `auto` without bubblewrap warns, `require`
    without it is an error (and nothing may be imported), `off` says so."""
    mode = SandboxMode(mode)
    if mode is SandboxMode.OFF:
        return False, diag("A2K613", "--sandbox off: DAG files were imported without the bubblewrap sandbox")
    found = support()
    if found.available:
        return True, None
    if mode is SandboxMode.REQUIRE:
        return False, diag(
            "A2K611",
            f"--sandbox require: {found.reason}; no DAG file was imported with "
            "Airflow (read statically instead)",
        )
    return False, diag("A2K610", f"DAG files were imported without the bubblewrap sandbox: {found.reason}")


# -- the interpreter --------------------------------------------------------------------------


def absolute_python(python: str) -> str:
    """A path to `python` against the current working folder, as the user meant it; a bare name
    (`python3`) stays one for PATH; a venv's link is kept as it is (it decides sys.prefix)."""
    return os.path.abspath(python) if os.sep in python else python


@functools.cache
def interpreter_paths(python: str) -> tuple[str, ...]:
    """Where `python` imports from: its prefixes (a venv and the base Python it links to) and every
    folder on its sys.path (.pth files, editable installs), as the interpreter itself says. Asked
    in a sandbox that sees the whole file system read-only and nothing else of ours, when
    bubblewrap can run; else directly (the interpreter's own start-up, no DAG file's code)."""
    code = (
        "import json, sys; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix,"
        " sys.base_exec_prefix, *sys.path]))"
    )
    command = [absolute_python(python), "-B", "-s", "-c", code]  # run from "/"
    if support().available:
        command = [
            "bwrap",
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--ro-bind",
            "/",
            "/",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",
            "--chdir",
            "/tmp",
            "--clearenv",
            "--setenv",
            "PATH",
            PATH,
            *(["--cap-drop", "ALL"] if os.geteuid() == 0 else []),
            *command,
        ]
    try:
        done = subprocess.run(
            command,
            env={"PATH": PATH},
            cwd="/",
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
            check=False,
        )
        paths = json.loads(done.stdout) if done.returncode == 0 else []
    except (OSError, ValueError, subprocess.TimeoutExpired):
        paths = []
    found = [
        os.path.normpath(p) for p in paths if isinstance(p, str) and os.path.isabs(p) and os.path.exists(p)
    ]
    return tuple(dict.fromkeys(found))


def interpreter_folders(python: str) -> tuple[str, ...]:
    """The folders to bind read-only for `python`: interpreter_paths, its own folder's prefix and the
    one its executable resolves to, without what is bound anyway or must never be."""
    own = [
        os.path.dirname(os.path.dirname(os.path.abspath(python))),
        os.path.dirname(os.path.dirname(os.path.realpath(python))),
    ]
    return _outermost(f for f in [*own, *interpreter_paths(python)] if _may_bind(f))


def _may_bind(path: str) -> bool:
    """Not the root, not a system folder bound anyway, and never the user's home or above it."""
    home = os.path.realpath(os.path.expanduser("~"))
    real = os.path.realpath(path)
    if real == "/" or any(real == d or real.startswith(d + "/") for d in SYSTEM_DIRS if os.path.isdir(d)):
        return False
    return not (real == home or home.startswith(real.rstrip("/") + "/"))


def _outermost(paths: Iterable[str]) -> tuple[str, ...]:
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return tuple(kept)


@functools.cache
def installation_key(python: str) -> str:
    """Identifies an Airflow installation: the interpreter and every distribution it has installed
    (a provider upgraded changes how DAGs import, so cached imports must not outlive it)."""
    digest = hashlib.sha256(f"{os.path.abspath(python)}|{os.path.realpath(python)}".encode())
    for folder in interpreter_paths(python):
        if os.path.basename(folder) not in ("site-packages", "dist-packages"):
            continue
        try:
            names = sorted(
                entry.name for entry in os.scandir(folder) if entry.name.endswith((".dist-info", ".egg-info"))
            )
        except OSError:
            continue
        digest.update(f"{folder}:{','.join(names)}\0".encode())
    return digest.hexdigest()[:16]


# -- parse-time Variables and Connections --------------------------------------------------------


def airflow_environment(
    variables: Iterable[tuple[str, str]] = (),
    connections: Iterable[tuple[str, str]] = (),
    env_file: Path | None = None,
) -> tuple[tuple[str, str], ...]:
    """The AIRFLOW_VAR_*/AIRFLOW_CONN_* variables a repo needs at parse time, from an env file
    (NAME=VALUE lines as docker's --env-file reads them: no quotes or escapes, # comments) and
    --airflow-var/--airflow-conn (which win). ValueError names what is wrong."""
    env: dict[str, str] = {}
    if env_file is not None:
        env.update(read_env_file(env_file))
    for prefix, pairs in (("AIRFLOW_VAR_", variables), ("AIRFLOW_CONN_", connections)):
        for name, value in pairs:
            if not _NAME.match(name):
                raise ValueError(f"{prefix.lower()}: {name!r} is not a valid name (letters, digits, _ . -)")
            env[prefix + name.upper()] = _checked_value(name, value)
    return tuple(sorted(env.items()))


def read_env_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read the Airflow env file: {error}") from error
    env: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise ValueError(f"{path}:{number}: expected NAME=VALUE")
        if not name.startswith(_PARSE_TIME_PREFIXES):
            raise ValueError(
                f"{path}:{number}: {name} is not an AIRFLOW_VAR_* or AIRFLOW_CONN_* variable; "
                "nothing else of the environment goes into the sandbox"
            )
        env[name] = _checked_value(name, value)
    return env


def split_assignment(text: str) -> tuple[str, str]:
    """NAME=VALUE from the command line; ValueError without the `=`."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _checked_value(name: str, value: str) -> str:
    if "\0" in value:
        raise ValueError(f"{name}: a value cannot hold a NUL character")
    return value


def env_digest(pairs: Iterable[tuple[str, str]]) -> str:
    """For cache keys: the values may be secrets, so only a hash of them is kept."""
    return hashlib.sha256(json.dumps(sorted(pairs)).encode()).hexdigest()


def import_fingerprint(python: str, sandboxed: bool, extra_env: Iterable[tuple[str, str]]) -> str:
    """Everything besides the files that an import can read and that may change its result."""
    allowed = {key: os.environ[key] for key in ENV_ALLOWLIST if key in os.environ}
    return "|".join(
        (
            installation_key(python),
            "bwrap" if sandboxed else "no-bwrap",
            env_digest(list(extra_env) + sorted(allowed.items())),
        )
    )


# -- one sandboxed process --------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """What one Airflow process sees; a frozen value, so a worker restarts with the same view."""

    python: str
    sandboxed: bool = True  # bubblewrap; False: a temporary folder with the same environment
    folders: tuple[str, ...] = ()  # DAG folders, read-only at their own paths
    scripts: tuple[Path, ...] = ()  # our scripts, read-only in SCRIPTS (their sys.path[0])
    home: Path | None = None  # a folder with what AIRFLOW_HOME holds (a migrated database)
    home_access: str = "read"  # "read": bound read-only; "copy": a private writable copy (verify
    # runs tasks); "write": bound read-write (only `airflow db migrate`, making `home`)
    extra_env: tuple[tuple[str, str], ...] = ()  # AIRFLOW_VAR_*/AIRFLOW_CONN_* handed in
    scratch_size: int = SCRATCH_SIZE

    def __post_init__(self) -> None:
        # a relative interpreter (`.venv-airflow/bin/python`) means the caller's working folder,
        # which the sandbox replaces (bubblewrap's --chdir, the fallback's temporary folder)
        object.__setattr__(self, "python", absolute_python(self.python))

    def with_folders(self, folders: Iterable[str]) -> Box:
        return replace(self, folders=_outermost([*self.folders, *folders]))


class Sandbox:
    """Starts processes of one Box: under bubblewrap, or in a temporary folder. Reusable (a worker
    restarts in the same sandbox); `close` releases what it holds (a user namespace, a folder)."""

    def __init__(self, box: Box) -> None:
        self.box = box
        self._flavour = support().flavour if box.sandboxed else None
        if box.sandboxed and self._flavour is None:
            raise SandboxError(support().reason)
        self._userns: int | None = None
        self._fallback: _Fallback | None = None

    def script(self, path: Path) -> str:
        """Where one of the Box's scripts is, seen from inside."""
        if self._flavour is not None:
            return f"{SCRIPTS}/{path.name}"
        return str(self._temporary().scripts / path.name)

    def popen(self, args: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """`python -B -s args...` in the sandbox; kwargs as subprocess.Popen's (stdin/stdout/stderr)."""
        if self._flavour is None:
            fallback = self._temporary()
            return subprocess.Popen(
                [self.box.python, "-B", "-s", *args],
                cwd=fallback.cwd,
                env=fallback.environment(self.box),
                start_new_session=True,
                **kwargs,
            )
        if self._flavour == "root" and self._userns is None:
            self._userns = own_user_namespace()
        with _Launch(
            self.box, self._flavour, self._userns, disable_userns=support().disable_userns
        ) as launch:
            # its own session and group: the caller kills it as one (bubblewrap's die-with-parent
            # takes everything inside with it)
            return subprocess.Popen(
                launch.argv([self.box.python, "-B", "-s", *args]),
                pass_fds=launch.fds,
                env={},
                start_new_session=True,
                **kwargs,
            )

    def run(self, args: Sequence[str], timeout: float) -> subprocess.CompletedProcess[bytes] | None:
        """Run to the end; None when it could not start or timed out (then it is killed)."""
        try:
            process = self.popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except (OSError, SandboxError):
            return None
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(process)
            process.communicate()
            return None
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def home_output(self) -> Path | None:
        """The fallback's AIRFLOW_HOME on the host (to collect what a run wrote there)."""
        return self._fallback.home if self._fallback else None

    def _temporary(self) -> _Fallback:
        if self._fallback is None:
            self._fallback = _Fallback(self.box)
        return self._fallback

    def close(self) -> None:
        if self._userns is not None:
            os.close(self._userns)
            self._userns = None
        if self._fallback is not None:
            self._fallback.close()
            self._fallback = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill a process started by Sandbox.popen and everything in its group; wait for it."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
    process.wait()


def environment(box: Box, home: str, logs: str, tmp: str, dags: str) -> dict[str, str]:
    env = {key: os.environ[key] for key in ENV_ALLOWLIST if key in os.environ}
    database = f"sqlite:///{home}/airflow.db"
    env.update(
        PATH=f"{os.path.dirname(os.path.abspath(box.python))}:{PATH}",
        HOME=tmp,
        TMPDIR=tmp,
        AIRFLOW_HOME=home,
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=dags,
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=database,
        AIRFLOW__CORE__SQL_ALCHEMY_CONN=database,
        # the probe enforces the timeout (and kills what the file spawned); Airflow's SIGALRM would
        # turn a hang into an import error instead
        AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="0",
        AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACKS="True",
        AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACK_DEPTH="50",
        AIRFLOW__LOGGING__LOGGING_LEVEL="ERROR",
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=logs,
        AIRFLOW__SCHEDULER__CHILD_PROCESS_LOG_DIRECTORY=f"{logs}/scheduler",
        AIRFLOW__LOGGING__DAG_PROCESSOR_MANAGER_LOG_LOCATION=f"{logs}/dag_processor_manager.log",
        PYTHONHASHSEED="0",
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(box.extra_env)
    return env


class _Launch:
    """The bubblewrap command line for one process of a Box. Options go through a memfd
    (`--args`), so no value (a Connection's password) shows in the host's process list."""

    def __init__(
        self,
        box: Box,
        flavour: str,
        userns: int | None = None,
        interpreter: bool = True,
        disable_userns: bool = True,
    ) -> None:
        self.box = box
        self.interpreter = interpreter  # bind the interpreter's folders (not for support()'s `true`)
        self.disable_userns = disable_userns
        self.flavour = flavour
        self.userns = userns
        self._fds: list[int] = []

    @property
    def fds(self) -> tuple[int, ...]:
        """The descriptors bubblewrap must inherit (call after argv)."""
        return tuple({*self._fds, *([self.userns] if self.userns is not None else [])})

    def argv(self, command: Sequence[str]) -> list[str]:
        options = self._options()
        return ["bwrap", "--args", str(self._memfd("\0".join(options) + "\0")), *command]

    def _memfd(self, text: str | bytes) -> int:
        fd = os.memfd_create("airflow2kfp", 0)
        self._fds.append(fd)
        data = text.encode() if isinstance(text, str) else text
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
        os.set_inheritable(fd, True)
        return fd

    def _options(self) -> list[str]:
        box = self.box
        options = [
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            HOSTNAME,
            "--die-with-parent",
            "--new-session",
        ]
        if self.flavour == "root":
            if self.userns is None:
                self.userns = own_user_namespace()
                self._fds.append(self.userns)
            os.set_inheritable(self.userns, True)
            options += ["--userns", str(self.userns), "--uid", "0", "--gid", "0", "--cap-drop", "ALL"]
            for capability in ROOT_CAPABILITIES:
                options += ["--cap-add", capability]
        else:
            options += ["--unshare-user", *(["--disable-userns"] if self.disable_userns else [])]
        options.append("--clearenv")
        for key, value in sorted(environment(box, HOME, LOGS, "/tmp", EMPTY_DAGS).items()):
            options += ["--setenv", key, value]
        for folder in SYSTEM_DIRS:
            if os.path.islink(folder):
                options += ["--symlink", os.readlink(folder), folder]
            elif os.path.isdir(folder):
                options += ["--ro-bind", folder, folder]
        for folder in _ancestors(f"/etc/{entry}" for entry in ETC_ENTRIES):
            options += ["--perms", "0755", "--dir", folder]
        for entry in ETC_ENTRIES:
            options += ["--ro-bind-try", f"/etc/{entry}", f"/etc/{entry}"]
        for name, text in _identity_files(self.flavour).items():
            options += ["--perms", "0644", "--ro-bind-data", str(self._memfd(text)), f"/etc/{name}"]
        size = str(box.scratch_size)  # each tmpfs lives in memory: all are bounded
        options += [
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--perms",
            "1777",
            "--size",
            size,
            "--tmpfs",
            "/dev/shm",
            "--perms",
            "1777",
            "--size",
            size,
            "--tmpfs",
            "/tmp",
        ]
        binds = [*(interpreter_folders(box.python) if self.interpreter else ()), *box.folders]
        for folder in _ancestors([*binds, INSIDE + "/x"]):
            options += ["--perms", "0755", "--dir", folder]
        for folder in sorted(set(binds), key=lambda f: (f.count("/"), f)):
            options += ["--ro-bind", folder, folder]
        options += ["--perms", "0755", "--dir", SCRIPTS]
        for script in box.scripts:
            options += ["--ro-bind", str(script), f"{SCRIPTS}/{script.name}"]
        options += self._home_options()
        options += [
            "--perms",
            "1777",
            "--size",
            size,
            "--tmpfs",
            LOGS,
            "--perms",
            "0755",
            "--dir",
            EMPTY_DAGS,
            "--perms",
            "1777",
            "--size",
            size,
            "--tmpfs",
            CWD,
            "--chdir",
            CWD,
            "--remount-ro",
            "/dev",
            "--remount-ro",
            "/",
        ]
        return options

    def _home_options(self) -> list[str]:
        box = self.box
        if box.home is None:
            return ["--perms", "0755", "--dir", HOME]
        if box.home_access == "read":  # file by file: the folder itself may be private to its owner
            options = ["--perms", "0755", "--dir", HOME]
            for entry in sorted(box.home.iterdir()):
                if entry.is_file() and not entry.is_symlink():
                    options += ["--ro-bind", str(entry), f"{HOME}/{entry.name}"]
            return options
        if box.home_access == "write":
            return ["--bind", str(box.home), HOME]
        options = ["--perms", "1777", "--size", str(box.scratch_size), "--tmpfs", HOME]
        for entry in sorted(box.home.iterdir()):
            if entry.is_file() and not entry.is_symlink():
                with open(entry, "rb") as handle:
                    fd = self._memfd(handle.read())
                options += ["--perms", "0666", "--file", str(fd), f"{HOME}/{entry.name}"]
        return options

    def __enter__(self) -> _Launch:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in self._fds:  # the child has its copies; bubblewrap reads them at once
            os.close(fd)
        self._fds.clear()


def _ancestors(paths: Iterable[str]) -> list[str]:
    """Every folder above the bind targets, to create with mode 0755 (bubblewrap makes the ones it
    creates itself 0700, which `nobody` cannot cross), parents first; none inside a bind."""
    paths = list(paths)
    found: set[str] = set()
    for path in paths:
        parent = os.path.dirname(path)
        while parent not in ("/", ""):
            found.add(parent)
            parent = os.path.dirname(parent)
    covered = [p for p in paths if p not in found]
    return sorted(
        (
            f
            for f in found
            if f not in SYSTEM_DIRS and not any(f.startswith(c.rstrip("/") + "/") for c in covered)
        ),
        key=lambda f: (f.count("/"), f),
    )


def _identity_files(flavour: str) -> dict[str, str]:
    """/etc/passwd, group and hosts naming only the sandbox's own users (getpass.getuser() works;
    the host's accounts stay unknown)."""
    users = {0: "root", NOBODY: "nobody"}
    if flavour == "user":
        users[os.getuid()] = _user_name()
    passwd = "".join(
        f"{name}:x:{uid}:{uid}:{name}:/tmp:/usr/sbin/nologin\n" for uid, name in sorted(users.items())
    )
    groups = (
        {0: "root", NOBODY: "nogroup", os.getgid(): "users"}
        if flavour == "user"
        else {0: "root", NOBODY: "nogroup"}
    )
    group = "".join(f"{name}:x:{gid}:\n" for gid, name in sorted(groups.items()))
    hosts = f"127.0.0.1 localhost {HOSTNAME}\n::1 localhost\n"
    return {"passwd": passwd, "group": group, "hosts": hosts}


def _user_name() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (KeyError, ImportError):
        return "user"


_UNSHARE = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
    print("error", ctypes.get_errno(), flush=True)
    sys.exit(1)
print("ready", flush=True)
sys.stdin.read()
"""


def own_user_namespace() -> int:
    """A new user namespace mapping root and `nobody` to themselves, as an open file descriptor.

    Root may map any id (bubblewrap maps only the caller's); with `nobody` mapped, the sandbox's
    first process can drop each DAG file's process to a user that RLIMIT_NPROC binds and that owns
    nothing outside. A helper process creates the namespace; the descriptor keeps it alive."""
    helper = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", _UNSHARE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={},
    )
    try:
        assert helper.stdout is not None and helper.stdin is not None
        line = helper.stdout.readline().decode(errors="replace").strip()
        if line != "ready":
            raise SandboxError(f"cannot create a user namespace ({line or 'no answer'})")
        mapping = f"0 0 1\n{NOBODY} {NOBODY} 1\n"
        for name in ("uid_map", "gid_map"):
            with open(f"/proc/{helper.pid}/{name}", "w") as handle:
                handle.write(mapping)
        return os.open(f"/proc/{helper.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:
        raise SandboxError(f"cannot map users in a new user namespace: {error}") from error
    finally:
        if helper.stdin is not None:
            helper.stdin.close()
        helper.wait()
        if helper.stdout is not None:
            helper.stdout.close()


class _Fallback:
    """Without bubblewrap: a temporary folder holding the process's cwd, AIRFLOW_HOME, logs, an
    empty DAGs folder and copies of our scripts (their folder becomes sys.path[0])."""

    def __init__(self, box: Box) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="airflow2kfp-"))
        self.home = self.root / "airflow_home"
        self.cwd = self.root / "cwd"
        self.tmp = self.root / "tmp"
        self.logs = self.root / "logs"
        self.dags = self.root / "dags"
        self.scripts = self.root / "bin"
        for folder in (self.home, self.cwd, self.tmp, self.logs, self.dags, self.scripts):
            folder.mkdir()
        if box.home is not None and box.home_access == "write":
            self.home = box.home
        elif box.home is not None:
            for entry in box.home.iterdir():
                if entry.is_file() and not entry.is_symlink():
                    shutil.copyfile(entry, self.home / entry.name)
        for script in box.scripts:
            shutil.copyfile(script, self.scripts / script.name)

    def environment(self, box: Box) -> dict[str, str]:
        return environment(box, str(self.home), str(self.logs), str(self.tmp), str(self.dags))

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


# -- Airflow's metadata database ---------------------------------------------------------------


def _home_cache() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("airflow2kfp", appauthor=False)) / "airflow-home"


def migrated_home(python: str, sandboxed: bool, timeout: float = 300.0) -> Path | None:
    """A folder holding an empty metadata database migrated by this Airflow (`airflow db migrate`),
    made once per installation and kept in the user's cache folder: what AIRFLOW_HOME holds in
    the sandbox, so operators that query the database while a DAG file is parsed (SubDagOperator
    looks up its pool) load. None when the migration failed."""
    folder = _home_cache() / installation_key(python)
    database = folder / "airflow.db"
    if _owned_regular_file(database):
        return folder
    made = Path(tempfile.mkdtemp(prefix="airflow2kfp-migrate-"))
    try:
        box = Box(python=python, sandboxed=sandboxed, home=made, home_access="write")
        with Sandbox(box) as sandbox:
            done = _migrate(sandbox, timeout)
        if not done or not (made / "airflow.db").is_file():
            return None
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = folder / f".airflow.db.{os.getpid()}.part"
        shutil.copyfile(made / "airflow.db", partial)
        os.replace(partial, database)  # atomic: concurrent runs never see half a file
    except (OSError, SandboxError):
        return None
    finally:
        shutil.rmtree(made, ignore_errors=True)
    return folder


def _migrate(sandbox: Sandbox, timeout: float) -> bool:
    done = sandbox.run(["-m", "airflow", "db", "migrate"], timeout=timeout)
    return done is not None and done.returncode == 0


def _owned_regular_file(path: Path) -> bool:
    """A regular file of this user that nobody else may write: what a cache may hand to Airflow."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o022


__all__ = [
    "SANDBOX_MODES",
    "Box",
    "Sandbox",
    "SandboxError",
    "SandboxMode",
    "Support",
    "airflow_environment",
    "import_fingerprint",
    "kill_group",
    "migrated_home",
    "resolve",
    "split_assignment",
    "support",
]
