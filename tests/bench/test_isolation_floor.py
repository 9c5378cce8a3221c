"""bench/isolation_floor.py: the per-file process's own cost, measured on a generated repo, and the
benchmark's report of it. Figures only: nothing here compares timings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from generate import generate  # noqa: E402
from run import isolation_floor, report  # noqa: E402

FIGURES = ("in_process", "fork_only", "fork_parse", "probe")


def test_each_way_of_parsing_is_measured_over_the_files_that_hold_a_dag(
    airflow_python: str, tmp_path: Path
) -> None:
    generate(tmp_path / "dags", 4)
    found = isolation_floor(airflow_python, tmp_path / "dags", tmp_path / "home")
    assert found is not None
    assert found["files"] == 4  # the DAG files, not the shared helper modules
    assert all(found[name] > 0 for name in FIGURES)


def test_a_file_the_probe_cannot_read_stops_the_measure(airflow_python: str, tmp_path: Path) -> None:
    generate(tmp_path / "dags", 2)
    broken = next((tmp_path / "dags").rglob("*_0000.py"))
    broken.write_text(broken.read_text() + "\nraise RuntimeError('broken on purpose')  # airflow dag\n")
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path / "home"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    done = subprocess.run(
        [airflow_python, str(ROOT / "bench" / "isolation_floor.py"), str(tmp_path / "dags")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode != 0
    assert "the probe did not read a DAG" in done.stderr + done.stdout
    assert not [line for line in done.stdout.splitlines() if line.startswith("{")]


def test_the_report_gives_the_least_ratio_a_process_per_file_allows() -> None:
    size = {
        "dags": 300,
        "tasks": 7000,
        "cold": 10.0,
        "cold_peak": 1,
        "cached": 1.0,
        "cached_peak": 1,
        "edited": 1.5,
        "edited_peak": 1,
        "dagbag": 2.0,
        "dagbag_cpu": 2.0,
        "cold_timings": (),
        "default": 14.0,
        "default_peak": 1,
        "default_timings": (),
        "cold_cpu": 20.0,
        "default_cpu": 28.0,
        "baseline": None,
        "baseline_cpu": None,
        "floor": {"files": 100, "in_process": 4.0, "fork_only": 4.0, "fork_parse": 16.0, "probe": 20.0},
    }
    lines = report([size], [], 1)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    row = next(line for line in lines if line.lstrip().startswith("300 |") and "ms" in line)
    # 300 files x 16 ms = 4.8 s of CPU, against cores x 1.5 x 2.0 s of DagBag's
    assert row.rstrip().endswith(f"{4.8 / cores / 3.0:.2f}")
