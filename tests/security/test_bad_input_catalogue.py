"""The bad-input catalogue through the real CLI, statically and (with Airflow) by import.

One DAG folder holds fixtures/invalid_dags/, fixtures/bad_inputs/ and the cases generated here,
next to one good DAG. Each run must: give every case its code (at its line where one applies),
exit 1, print no traceback, still convert the good DAG, and write nothing outside --out. Static
mode must run no code (marker files); import mode runs each file in the sandbox, whose writes land
in its temporary cwd.

Root reads every file whatever its mode bits, so "unreadable" is a FIFO (opening it would block),
a dangling symlink and a folder named `x.py`. The folder lives in a 0755 temporary folder so that,
as root, the import sandbox can drop to `nobody`; then a file deleting root's files by absolute
path fails. Without root (or a `nobody` user) that protection does not exist: see the skip.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomllib

from airflow2kfp.cli import main
from airflow2kfp.discover import DiscoveryOptions, discover

ROOT = Path(__file__).resolve().parents[2]
INVALID = ROOT / "fixtures" / "invalid_dags"
BAD = ROOT / "fixtures" / "bad_inputs"
GOOD = ROOT / "fixtures" / "airflow_dags" / "seed_seven_tasks.py"
STATIC_MARKER = Path(
    "/tmp/airflow2kfp_side_effect_marker"
)  # what invalid_dags/side_effect_on_import.py writes
WRITES_AND_DELETES = """\
\"\"\"An airflow DAG file that writes a relative file, and writes and deletes files by absolute path.\"\"\"
import os
from datetime import datetime
from pathlib import Path

from airflow import DAG
from airflow.operators.bash import BashOperator

Path("written_by_dag.txt").write_text("relative write")
for attempt in (lambda: Path({created!r}).write_text("absolute write"), lambda: os.remove({victim!r})):
    try:
        attempt()
    except OSError:
        pass

with DAG("writes_and_deletes", start_date=datetime(2024, 1, 1), schedule=None):
    BashOperator(task_id="cwd", bash_command="echo", env={{"CWD": os.getcwd()}})
"""
SECRET = "SECRET-0f3c-outside-the-dag-folder"  # in a template file outside dags/: never in --out
HEADER = "from datetime import datetime\nfrom airflow import DAG\nfrom airflow.operators.bash import BashOperator\n"


@dataclass(frozen=True)
class Case:
    static: str  # expected code, "" for none at error level
    airflow: str | None  # None: not a case for import mode (the static reader's own limits)
    static_line: int = 0
    airflow_line: int = 0


def catalogue() -> dict[str, Case]:
    cases = {
        name: Case(code, None)
        for name, code in tomllib.loads((INVALID / "EXPECTED.toml").read_text()).items()
    }
    for name, entry in tomllib.loads((BAD / "EXPECTED.toml").read_text()).items():
        cases[name] = Case(entry["static"], entry["airflow"], entry["static_line"], entry["airflow_line"])
    cases.update(
        {
            "binary_blob.py": Case("A2K102", "A2K601"),  # bytes that are not UTF-8
            "null_bytes.py": Case("A2K101", "A2K601"),  # UTF-8 with NUL: Python refuses the source
            "long_string_line.py": Case("", ""),  # one 200,000-character line: reads fine
            "long_expression_line.py": Case(
                "A2K107", None
            ),  # 200,000 characters of `1+1+...`: the parser itself gives up, no line
            "deep_parentheses.py": Case("A2K101", None, 4),  # beyond the parser's nesting limit
            "too_large.py": Case("A2K105", None),
            "a_fifo.py": Case("A2K106", "A2K106"),
            "dangling_link.py": Case("A2K106", "A2K106"),
            "writes_and_deletes.py": Case("", ""),
            "reads_outside_templates.py": Case("A2K337", "A2K337"),  # never read: check_run
            # the static reader's budgets (tests/security/test_static_budgets.py has every one, measured)
            "budget_power_tower.py": Case("A2K111", None, 4),
            "budget_task_loops.py": Case("A2K112", None, 7),
        }
    )
    return cases


CASES = catalogue()


def generate(folder: Path, outside: Path) -> None:
    (folder / "binary_blob.py").write_bytes(b"airflow dag\x00\xff\xfe" + bytes(range(256)) * 64)
    (folder / "null_bytes.py").write_bytes(b"# airflow dag\nx = 1\x00\n")
    (folder / "long_string_line.py").write_text(
        HEADER
        + f"LONG = {'a' * 200_000!r}\nwith DAG('long_line', start_date=datetime(2024, 1, 1), schedule=None):\n"
        "    BashOperator(task_id='a', bash_command=LONG[:4])\n"
    )
    (folder / "long_expression_line.py").write_text(HEADER + "x = " + "1+" * 100_000 + "1\n")
    (folder / "deep_parentheses.py").write_text(HEADER + "x = " + "(" * 100_000 + ")" * 100_000 + "\n")
    (folder / "too_large.py").write_text("# airflow dag\n" + "#" * 5_000_100 + "\n")
    os.mkfifo(folder / "a_fifo.py")
    (folder / "dangling_link.py").symlink_to(folder / "no_such_file.py")
    (folder / "folder_named_like.py").mkdir()  # a folder, not a file: walked into, nothing to read
    (folder / "loop").symlink_to(".", target_is_directory=True)  # a symlink loop: walked once
    (folder / "writes_and_deletes.py").write_text(
        WRITES_AND_DELETES.format(
            created=str(outside / "created_by_dag.txt"), victim=str(outside / "victim.txt")
        )
    )
    (outside / "victim.txt").write_text("must survive")
    # template files Airflow would read outside the folder being converted: refused, never read
    (outside / "secret.sh").write_text(f"echo {SECRET}\n")
    (folder / "reads_outside_templates.py").write_text(
        HEADER + f"with DAG('reads_outside', start_date=datetime(2024, 1, 1), schedule=None,\n"
        f"         template_searchpath=[{str(outside)!r}]):\n"
        "    BashOperator(task_id='up', bash_command='../secret.sh')\n"
        "    BashOperator(task_id='searchpath', bash_command='secret.sh')\n"
    )
    (folder / "budget_power_tower.py").write_text(HEADER + "x = (((10**256)**256)**256)**256\n")
    (folder / "budget_task_loops.py").write_text(
        HEADER + "with DAG('loops', start_date=datetime(2024, 1, 1), schedule=None):\n"
        "    for i in range(99999):\n        for j in range(99999):\n"
        "            BashOperator(task_id=f't_{i}_{j}', bash_command='echo')\n"
    )


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Path]:
    # not pytest's tmp_path: its 0700 parent would keep `nobody` (the import sandbox's user) out
    root = Path(tempfile.mkdtemp(prefix="a2k-catalogue-"))
    root.chmod(0o755)
    dags = root / "dags"
    dags.mkdir()
    for source in [*INVALID.glob("*.py"), *BAD.glob("*.py"), GOOD]:
        shutil.copy(source, dags / source.name)
    generate(dags, root)
    for path in dags.iterdir():
        if path.is_file() and not path.is_symlink() and not path.name.startswith("a_fifo"):
            path.chmod(0o644)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def snapshot(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Every entry below `folder` (links not followed): kind, size and mtime, to compare before/after."""
    found = {}
    for path in folder.rglob("*"):
        stat = path.lstat()
        kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
        found[str(path.relative_to(folder))] = (kind, stat.st_size, stat.st_mtime_ns if kind == "file" else 0)
    return found


@dataclass(frozen=True)
class Run:
    code: int
    printed: str
    document: dict
    before: dict
    after: dict


def convert(root: Path, out: str, *args: str) -> Run:
    before = snapshot(root)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = main(
            ["convert", str(root / "dags"), "--out", str(root / out), "--all-files", "-j", "1", *args]
        )
    document = json.loads((root / out / "conversion.json").read_text())
    return Run(code, printed.getvalue(), document, before, snapshot(root))


def findings(document: dict) -> dict[str, list[tuple[str, int | None]]]:
    found: dict[str, list[tuple[str, int | None]]] = {}
    for entry in document["files"]:
        found.setdefault(Path(entry["path"]).name, []).extend(
            (d["code"], d["line"]) for d in entry["diagnostics"]
        )
    for dag in document["dags"]:
        found.setdefault(Path(dag["source"]).name, []).extend(
            (d["code"], d["line"]) for d in dag["diagnostics"]
        )
    return found


def check_case(found: dict[str, list[tuple[str, int | None]]], name: str, code: str, line: int) -> None:
    got = found.get(name, [])
    if not code:
        # A2K607/A2K608 report values the import computed (the clock, the sandbox's folders), not a failure
        assert not [
            c
            for c, _ in got
            if c[:5] in {"A2K10", "A2K20", "A2K40", "A2K50", "A2K60"}
            and c not in {"A2K103", "A2K104", "A2K204", "A2K607", "A2K608"}
        ], (name, got)
        return
    assert code in {c for c, _ in got}, (name, got)
    if line:
        assert (code, line) in got, (name, got)


# what the absolute-path writer touches; contained only when the import child can drop root (see
# _limit_enforced): without user namespaces nothing stops root writing by absolute path
ABSOLUTE_WRITES = {"created_by_dag.txt", "victim.txt"}


def check_run(run: Run, root: Path, out: str, absolute_writes_contained: bool = True) -> None:
    assert run.code == 1
    assert "Traceback" not in run.printed
    good = [d for d in run.document["dags"] if Path(d["source"]).name == GOOD.name]
    assert good and good[0]["status"] == "converted"

    # nothing outside --out changed: the parent folder's tree, minus OUT, is as it was
    def outside(tree: dict) -> dict:
        return {
            k: v
            for k, v in tree.items()
            if not k.startswith(out + "/")
            and k != out
            and (absolute_writes_contained or k not in ABSOLUTE_WRITES)
        }

    assert outside(run.after) == outside(run.before)
    assert not [p for p in (root / out).rglob("*") if p.is_file() and SECRET in p.read_text(errors="replace")]


@pytest.fixture(scope="module")
def static_run(sandbox: Path) -> Run:
    if STATIC_MARKER.exists():
        STATIC_MARKER.unlink()
    return convert(sandbox, "out-static", "--mode", "static")  # with the cache: it hashes every file too


@pytest.mark.parametrize("name", sorted(CASES))
def test_static_code(static_run: Run, name: str) -> None:
    case = CASES[name]
    check_case(findings(static_run.document), name, case.static, case.static_line)


def test_static_run_is_safe_and_runs_no_code(static_run: Run, sandbox: Path) -> None:
    check_run(static_run, sandbox, "out-static")
    assert not STATIC_MARKER.exists()  # side_effect_on_import.py was not run
    assert not (sandbox / "created_by_dag.txt").exists() and (sandbox / "victim.txt").exists()


def test_discovery_survives_symlink_loops_and_odd_entries(sandbox: Path) -> None:
    found = discover([sandbox / "dags"], DiscoveryOptions(all_files=True))
    names = [item.path.name for item in found]
    assert len(names) == len(set(names))  # `loop -> .` is walked once, not again and again
    assert "a_fifo.py" in names and "dangling_link.py" in names and "folder_named_like.py" not in names


def test_a_deeper_symlink_loop_terminates(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "up").symlink_to(tmp_path / "a", target_is_directory=True)
    (tmp_path / "a" / "b" / "dag.py").write_text("# airflow dag\n")
    assert [f.path.name for f in discover([tmp_path], DiscoveryOptions(all_files=True))] == ["dag.py"]


@pytest.fixture(scope="module")
def airflow_run(sandbox: Path) -> Run:
    from airflow2kfp.parse.airflow_import import find_airflow_python

    if find_airflow_python() is None:
        pytest.skip("no Airflow interpreter: set AIRFLOW2KFP_AIRFLOW_PYTHON")
    return convert(sandbox, "out-airflow", "--mode", "airflow", "--airflow-timeout", "3", "--no-cache")


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.airflow is not None))
def test_airflow_code(airflow_run: Run, name: str) -> None:
    case = CASES[name]
    assert case.airflow is not None
    if name == "spawns_processes.py" and not _limit_enforced():
        pytest.skip(
            "RLIMIT_NPROC does not bind root, and the child cannot become `nobody` (no such user, or "
            "the Airflow interpreter's libraries are not readable by it)"
        )
    check_case(findings(airflow_run.document), name, case.airflow, case.airflow_line)


def test_airflow_run_is_safe_and_names_its_limits(airflow_run: Run, sandbox: Path) -> None:
    check_run(airflow_run, sandbox, "out-airflow", absolute_writes_contained=_limit_enforced())
    messages = [d["message"] for f in airflow_run.document["files"] for d in f["diagnostics"]]
    assert any("within the timeout of 3 s" in m for m in messages)
    if _limit_enforced():
        assert any("limit of 64 processes" in m for m in messages)
    # the relative write landed in the sandbox's cwd, which is gone; the DAG folder is unchanged
    (dag,) = [d for d in airflow_run.document["dags"] if d["dag_id"] == "writes_and_deletes"]
    assert dag["status"] == "converted"
    assert not (sandbox / "dags" / "written_by_dag.txt").exists()
    if os.geteuid() == 0 and _limit_enforced():  # as `nobody`, root's files are out of reach
        assert (sandbox / "victim.txt").read_text() == "must survive"
        assert not (sandbox / "created_by_dag.txt").exists()


def _limit_enforced() -> bool:
    """Whether the import child runs under RLIMIT_NPROC: always for a normal user; as root only when
    it can become `nobody`, which needs the Airflow interpreter's libraries readable by others (in
    the bubblewrap sandbox they are: the folders above its binds are open to others)."""
    import json
    import pwd
    import stat
    import subprocess

    from airflow2kfp.airflow_side import probe
    from airflow2kfp.parse.airflow_import import find_airflow_python
    from airflow2kfp.parse.sandbox import support

    if os.geteuid() != 0 or support().available:
        return True
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return False
    python = find_airflow_python()
    listing = "import json, sys; sys.path.insert(0, sys.argv[1]); import probe; print(json.dumps(probe.code_folders()))"
    folders = json.loads(
        subprocess.run(
            [python, "-c", listing, os.path.dirname(probe.__file__)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    return all(probe.readable_by_others(f, stat.S_IROTH | stat.S_IXOTH) for f in folders)
