"""Static reading under budgets: hostile files that used to run for minutes or take gigabytes now
fail alone, quickly, with a coded error at the offending line, and the batch goes on.

Each case is read in a fresh child process whose wall time and peak resident memory are measured
(the child's own getrusage, reported by a parent that waited for it), so the bounds hold for the
reading and nothing else. The bounds are far above what the reading needs (a few seconds and a
hundred MB) and far below what these files took before (minutes; several GB), so a loaded machine
cannot make them flaky. Defaults are what run; the time and memory budgets, which only a slow or
greedy file reaches, are tested with small limits set through the API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from airflow2kfp.parse.budget import ReadingLimits

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "fixtures" / "airflow_dags" / "seed_seven_tasks.py"
HEADER = (
    "from datetime import datetime\nfrom airflow import DAG\nfrom airflow.operators.bash import BashOperator\n"
    "from airflow.utils.helpers import cross_downstream\n"
)
TIME_BOUND = 60.0  # seconds: every case ends in a few; before, the slow ones ran past 5 minutes
MEMORY_BOUND = 400 * 1024  # KiB of peak resident memory: a hundred MB or so is used; before, gigabytes

# reads one file in this process and prints its diagnostics; run as the child
_READ = """
import json, sys
from airflow2kfp.parse.budget import ReadingLimits
from airflow2kfp.parse.static import read_dag_file
limits = ReadingLimits(**json.loads(sys.argv[2]))
parsed = read_dag_file(sys.argv[1], limits=limits)
print(json.dumps({"diagnostics": [[d.code, d.line, d.message] for d in parsed.diagnostics],
                  "dags": [[dag.dag_id, len(dag.tasks)] for dag in parsed.dags]}))
"""
# runs a command, then reports its output, exit code and peak memory (the largest of its processes)
_MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run(json.loads(sys.argv[1]), capture_output=True, text=True)
print(json.dumps({"stdout": done.stdout, "stderr": done.stderr, "returncode": done.returncode,
                  "peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


@dataclass(frozen=True)
class Measured:
    stdout: str
    stderr: str
    returncode: int
    seconds: float
    peak_kib: int


def measure(command: list[str], timeout: float = 300) -> Measured:
    """Run `command` in a fresh process tree; its wall time and peak resident memory."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, json.dumps(command)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    return Measured(report["stdout"], report["stderr"], report["returncode"], seconds, report["peak_kib"])


def read_measured(path: Path, limits: ReadingLimits | None = None) -> tuple[dict, Measured]:
    overrides = (
        {} if limits is None else {k: v for k, v in vars(limits).items() if v != getattr(ReadingLimits(), k)}
    )
    run = measure([sys.executable, "-c", _READ, str(path), json.dumps(overrides)])
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    return json.loads(run.stdout), run


# (name, module-level code after HEADER, code, the line of the offending expression counted in the
# whole file). Each was reported on issue #16 or is the same attack by another route.
HOSTILE = [
    (
        "nested_range_of_tasks",
        """\
        with DAG("tasks", start_date=datetime(2024, 1, 1)):
            for i in range(99999):
                for j in range(99999):
                    BashOperator(task_id=f"t_{i}_{j}", bash_command="echo")
    """,
        "A2K112",
        8,
    ),
    ("power_tower", "x = (((10**256)**256)**256)**256\n", "A2K111", 5),
    ("shift", "x = 1 << 10**10\n", "A2K111", 5),
    ("round_to_huge_power", "x = round(5, -10**9)\n", "A2K111", 5),
    ("nested_comprehension", "x = [a * b for a in range(99999) for b in range(99999)]\n", "A2K110", 5),
    ("format_width", 'x = f"{1:>{3*10**9}}"\n', "A2K111", 5),
    ("zfill", 'x = "1".zfill(3*10**9)\n', "A2K111", 5),
    ("doubling", 's = "x" * 99999\nfor i in range(16):\n    s = s + s\n', "A2K111", 7),
    ("doubling_in_place", 's = "x" * 99999\nfor i in range(16):\n    s += s\n', "A2K111", 7),
    ("percent_star_width", 'x = "%*d" % (10**9, 1)\n', "A2K111", 5),
    ("format_nested_width", 'x = "{:{}}".format(1, 10**9)\n', "A2K111", 5),
    ("format_one_field_many_times", 'x = "{0}{0}{0}{0}{0}".format("x" * 3000000)\n', "A2K111", 5),
    ("join_of_repeats", 'x = ",".join(["x" * 1000000] * 20)\n', "A2K111", 5),
    ("replace_everywhere", 'x = ("x" * 100000).replace("x", "yy" * 100)\n', "A2K111", 5),
    ("list_repetition", "x = [1] * 10**9\n", "A2K111", 5),
    ("list_of_huge_range", "x = list(range(10**12))\n", "A2K111", 5),
    ("sum_of_huge_range", "x = sum(range(10**12))\n", "A2K111", 5),
    ("starred_huge_range", "x = [*range(10**12)]\n", "A2K111", 5),
    ("shared_nesting_printed", 'a = ["x" * 1000] * 1000\nb = [a] * 1000\nc = str(b)\n', "A2K111", 7),
    ("shared_nesting_hashed", 'a = ("x",) * 1000\nb = (a,) * 1000\nc = (b,) * 1000\nd = {c}\n', "A2K111", 8),
    ("list_inside_itself", "l = []\nl.append(l)\nx = str(l)\n", "A2K111", 7),
    # hashing a tuple nested 180,000 deep overflowed C's stack: the reading process died (SIGSEGV)
    (
        "deeply_nested_value_hashed",
        "t = ()\nfor i in range(90000):\n    t = (t,)\nfor i in range(90000):\n    t = (t,)\ns = {t}\n",
        "A2K111",
        10,
    ),
    (
        "edges_product",
        """\
        with DAG("edges", start_date=datetime(2024, 1, 1)):
            left = [BashOperator(task_id=f"l{i}", bash_command="echo") for i in range(3000)]
            right = [BashOperator(task_id=f"r{i}", bash_command="echo") for i in range(3000)]
            cross_downstream(left, right)
    """,
        "A2K110",
        8,
    ),
]


@pytest.mark.parametrize(("name", "code", "expected", "line"), HOSTILE, ids=[case[0] for case in HOSTILE])
def test_hostile_file_fails_alone_quickly_and_small(
    tmp_path: Path, name: str, code: str, expected: str, line: int
) -> None:
    path = tmp_path / f"{name}.py"
    path.write_text(
        HEADER + textwrap.dedent(code) + 'with DAG("after", start_date=datetime(2024, 1, 1)):\n'
        '    BashOperator(task_id="a", bash_command="echo")\n'
    )
    result, run = read_measured(path)
    assert [d[:2] for d in result["diagnostics"]] == [[expected, line]], result
    assert result["dags"] == []  # the reading stopped: nothing half-read is converted
    assert run.seconds < TIME_BOUND, f"{name} took {run.seconds:.1f} s"
    assert run.peak_kib < MEMORY_BOUND, f"{name} peaked at {run.peak_kib // 1024} MiB"


def test_the_defaults_leave_a_generated_2000_task_dag_alone(tmp_path: Path) -> None:
    """The budgets are far above what a big real DAG needs (bench/generate.py's 2,000 tasks)."""
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "generate.py"), str(tmp_path / "big"), "--single", "2000"],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    (path,) = (tmp_path / "big").glob("big_*.py")
    result, _ = read_measured(path)
    assert result["dags"] == [["big_2000", 2000]], result["diagnostics"][:3]
    assert not [d for d in result["diagnostics"] if d[0].startswith("A2K11")]


def test_the_steps_budget_has_room_for_ten_thousand_tasks(tmp_path: Path) -> None:
    path = tmp_path / "wide.py"
    path.write_text(
        HEADER
        + textwrap.dedent("""\
        with DAG("wide", start_date=datetime(2024, 1, 1)):
            previous = None
            for region in range(100):
                for table in range(100):
                    task = BashOperator(task_id=f"load_{region}_{table}", bash_command=f"load {region} {table}",
                                        retries=2, env={"REGION": str(region)})
                    if previous is not None:
                        previous >> task
                    previous = task
    """)
    )
    result, _ = read_measured(path)
    assert result["dags"] == [["wide", 10_000]], result["diagnostics"][:3]


def test_membership_in_a_large_set_is_not_walked_again_and_again(tmp_path: Path) -> None:
    """`if t in SKIP` over thousands of tables costs one step, as in Python, not a walk of SKIP."""
    path = tmp_path / "member.py"
    path.write_text(
        HEADER
        + textwrap.dedent("""\
        TABLES = [f"table_{i}" for i in range(5000)]
        SKIP = {f"table_{i}" for i in range(0, 5000, 2)}
        with DAG("member", start_date=datetime(2024, 1, 1)):
            for t in TABLES:
                if t in SKIP or not TABLES:
                    continue
                BashOperator(task_id=f"load_{t}", bash_command=f"load {t}")
    """)
    )
    result, _ = read_measured(path)
    assert result == {"diagnostics": [], "dags": [["member", 2500]]}


def test_wall_time_budget(tmp_path: Path) -> None:
    """Work no other budget counts still ends: with 2 s of wall time (steps unbounded), the reading
    stops at the line it was running when the time ran out."""
    path = tmp_path / "slow.py"
    path.write_text(HEADER + "x = [a * b for a in range(99999) for b in range(99999)]\n")
    result, run = read_measured(path, ReadingLimits(steps=10**12, seconds=2.0))
    assert [d[:2] for d in result["diagnostics"]] == [["A2K113", 5]], result
    assert "2 s of wall time" in result["diagnostics"][0][2]
    assert run.seconds < TIME_BOUND


def test_memory_budget(tmp_path: Path) -> None:
    """Many values each under the size budget still add up: with 150 MiB to grow by, the reading
    stops once it has, at the statement building the next one."""
    path = tmp_path / "greedy.py"
    path.write_text(HEADER + 'xs = []\nfor i in range(1000):\n    xs.append("x" * 5000000 + str(i))\n')
    result, run = read_measured(path, ReadingLimits(memory=150 * 1024 * 1024))
    assert [d[:2] for d in result["diagnostics"]] == [["A2K113", 7]], result
    assert "150 MiB of memory" in result["diagnostics"][0][2]
    assert run.peak_kib < MEMORY_BOUND, f"peaked at {run.peak_kib // 1024} MiB"


_HARD_STOPS = """
import resource, time
from airflow2kfp.parse.budget import Clock, OverBudget, ReadingLimits, hard_stops

before = resource.getrlimit(resource.RLIMIT_AS)
clock = Clock(ReadingLimits(seconds=0.4, memory=200 * 1024 * 1024))
started = time.monotonic()
try:
    with hard_stops(clock, lambda: ()):
        while True:  # pure Python the cooperative checks never see: only the alarm ends it
            pass
except OverBudget as over:
    print("alarm", over.budget.code, round(time.monotonic() - started, 1))
try:
    with hard_stops(Clock(ReadingLimits(memory=200 * 1024 * 1024)), lambda: ()):
        block = bytearray(4 * 1024**3)  # one allocation past the address-space cap
except MemoryError:
    print("memory", "MemoryError")
print("restored", resource.getrlimit(resource.RLIMIT_AS) == before)
"""


def test_hard_stops_raise_in_the_reading_process_and_restore_its_limits() -> None:
    """The last line of defence: SIGALRM and RLIMIT_AS raise where the reading is (the process and
    its pool live on), and the process's own limits are as they were afterwards."""
    run = measure([sys.executable, "-c", _HARD_STOPS])
    assert run.returncode == 0, run.stderr
    lines = run.stdout.split("\n")
    alarm = lines[0].split()
    assert alarm[:2] == ["alarm", "A2K113"] and float(alarm[2]) < 10
    assert lines[1:3] == ["memory MemoryError", "restored True"]
    assert run.peak_kib < MEMORY_BOUND


def _batch_folder(root: Path) -> Path:
    dags = root / "dags"
    dags.mkdir()
    (dags / GOOD.name).write_text(GOOD.read_text())
    for name, code, _, _ in HOSTILE[:8]:
        (dags / f"{name}.py").write_text(HEADER + textwrap.dedent(code))
    # a DAG importing a 3 GB helper module (sparse: no disk used), which names Airflow and its
    # DAG at the top, so the DAG heuristic finds it too
    (dags / "uses_helper.py").write_text(
        HEADER + "from helpers import COMMAND\n"
        'with DAG("uses_helper", start_date=datetime(2024, 1, 1)):\n'
        '    BashOperator(task_id="a", bash_command="echo")\n'
    )
    with (dags / "helpers.py").open("wb") as helper:
        helper.write(b'COMMAND = "echo"  # for the airflow dag\n')
        helper.truncate(3 * 1024**3)
    return dags


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_batch_goes_on(tmp_path: Path, jobs: str) -> None:
    """Hostile files among good ones, serially (read in the CLI's own process) and in a worker
    pool: each hostile file fails alone at its line, the good DAGs convert, and the whole run
    stays small and quick - the 3 GB helper module is neither read nor hashed whole."""
    dags = _batch_folder(tmp_path)
    out = tmp_path / "out"
    run = measure(
        [
            sys.executable,
            "-m",
            "airflow2kfp.cli",
            "convert",
            str(dags),
            "--out",
            str(out),
            "--mode",
            "static",
            "-j",
            jobs,
        ]
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    document = json.loads((out / "conversion.json").read_text())
    found = {
        Path(f["path"]).stem: [(d["code"], d["line"]) for d in f["diagnostics"]] for f in document["files"]
    }
    for name, _, code, line in HOSTILE[:8]:
        assert found[name] == [(code, line)], (name, found[name])
    assert found["helpers"] == [("A2K105", None)]
    converted = {d["dag_id"] for d in document["dags"] if d["status"] == "converted"}
    assert converted == {"seed_seven_tasks", "uses_helper"}
    assert run.seconds < TIME_BOUND * 2, f"the batch took {run.seconds:.1f} s"
    assert run.peak_kib < 2 * MEMORY_BOUND, f"the batch peaked at {run.peak_kib // 1024} MiB"
