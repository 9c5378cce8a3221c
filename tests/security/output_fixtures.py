"""Shared by the output-folder security tests: a small real DAG repo, CLI runs in-process and in
child processes, and snapshots of a folder to compare before and after."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

from airflow2kfp.cli import main

ROOT = Path(__file__).resolve().parents[2]

DAG = """\
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator

default_args = {{"owner": "data", "retries": 2, "retry_delay": timedelta(minutes=1)}}


def summarise(**context):
    rows = context["ti"].xcom_pull(task_ids="extract")
    print("rows", rows)


with DAG({dag_id!r}, schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False,
         default_args=default_args, description={description!r}):
    extract = BashOperator(task_id="extract", bash_command="echo {{{{ ds }}}} | wc -c")
    load = PythonOperator(task_id="summarise", python_callable=summarise)
    extract >> load
"""


def write_dag(folder: Path, dag_id: str, description: str = "nightly export") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dag_id}.py"
    path.write_text(DAG.format(dag_id=dag_id, description=description), encoding="utf-8")
    return path


def run(*args: object) -> tuple[int, str]:
    """The CLI in this process: (exit code, everything it printed)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = main([str(a) for a in args])
    return code, printed.getvalue()


def convert(dags: Path, out: Path, *extra: object) -> tuple[int, str]:
    return run("convert", dags, "--out", out, "--mode", "static", "-j", "1", *extra)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every entry below `folder`: files with their bytes, links with their target, others by kind."""
    found: dict[str, bytes] = {}
    if not folder.exists():
        return found
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[relative] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            found[relative] = path.read_bytes()
        elif not path.is_dir():
            found[relative] = b"<special>"
    return found


def leftovers(out: Path) -> list[str]:
    """Staging folders and `.part` files: what a run must never leave behind."""
    return sorted(
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.name.startswith(".airflow2kfp-staging-") or p.name.endswith(".part")
    )


def child(script: str, *args: object, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`python -c script args...` with the repository importable, output captured."""
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=cwd,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
