#!/usr/bin/env python
"""Convert Airflow's own example DAGs end to end and print what came out.

    .venv/bin/python scripts/convert_airflow_examples.py [--mode auto|airflow|static]
        [--python AIRFLOW_PYTHON] [--out DIR] [--timeout S]

The examples are copied out of the Airflow environment into a temporary folder (never committed),
converted with `airflow2kfp convert`, and counted from conversion.json: files, DAGs, tasks, how
many DAGs converted, how many compiled workflows order their steps exactly as Airflow does, and
how the tasks were mapped. Exit 1 when a DAG that Airflow loads fails or mismatches.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow2kfp.cli import main as cli_main  # noqa: E402
from airflow2kfp.parse.airflow_examples import copy_examples  # noqa: E402
from airflow2kfp.parse.airflow_import import find_airflow_python, probe_version  # noqa: E402


def counts(document: dict) -> Counter[str]:
    found: Counter[str] = Counter()
    found["files"] = len(document["files"])
    found["files skipped (no DAG)"] = sum(f["status"] == "skipped" for f in document["files"])
    for dag in document["dags"]:
        found["DAGs"] += 1
        found[f"DAGs {dag['status']}"] += 1
        found[f"ordering {dag['ordering']['verdict']}"] += 1
        for task in dag["tasks"]:
            found["tasks"] += 1
            found[f"tasks {task['mapping']}"] += 1
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="auto", choices=["auto", "airflow", "static"])
    parser.add_argument("--python", help="the Airflow interpreter (default: as the converter finds it)")
    parser.add_argument("--out", type=Path, help="keep the converted output here")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per file for the import")
    parser.add_argument(
        "--min-share",
        type=float,
        default=0.0,
        help="exit 1 when fewer emitted tasks than this are runnable (e.g. 0.95)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="list failed and mismatched DAGs and the operators left as placeholders",
    )
    args = parser.parse_args(argv)
    python = find_airflow_python(args.python)
    if python is None:
        print("no Airflow interpreter: pass --python or run scripts/setup_airflow_env.sh", file=sys.stderr)
        return 2
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="airflow-examples-") as tmp:
        roots = copy_examples(python, Path(tmp) / "dags")
        out = args.out or Path(tmp) / "out"
        command = [
            "convert",
            *map(str, roots),
            "--out",
            str(out),
            "--mode",
            args.mode,
            "--no-cache",
            "--airflow-python",
            python,
            "--airflow-timeout",
            str(args.timeout),
            "--fail-on",
            "never",
            "-q",
        ]
        with contextlib.redirect_stdout(io.StringIO()):
            exit_code = cli_main(command)
        document = json.loads((out / "conversion.json").read_text())
    elapsed = time.monotonic() - started
    found = counts(document)
    print(f"Airflow {probe_version(python)} example DAGs, --mode {args.mode} (exit {exit_code})")
    for key in (
        "files",
        "files skipped (no DAG)",
        "DAGs",
        "DAGs converted",
        "DAGs failed",
        "ordering exact",
        "ordering mismatch",
        "ordering unchecked",
        "tasks",
        "tasks direct",
        "tasks approximated",
        "tasks placeholder",
        "tasks removed",
    ):
        print(f"  {key:<26}{found[key]}")
    mapped = found["tasks direct"] + found["tasks approximated"]
    emitted = found["tasks"] - found["tasks removed"]
    share = mapped / emitted if emitted else 1.0
    print(f"  {'runnable share':<26}{share:.1%} of emitted tasks (direct + approximated)")
    print(f"  {'wall time':<26}{elapsed:.1f}s")
    bad = [
        d for d in document["dags"] if d["status"] != "converted" or d["ordering"]["verdict"] == "mismatch"
    ]
    if args.verbose:
        for dag in bad:
            codes = sorted({d["code"] for d in dag["diagnostics"] if d["severity"] == "error"})
            print(
                f"  ! {dag['dag_id']} ({dag['source']}): {dag['status']}, {dag['ordering']['verdict']} {codes}"
            )
        placeholders = Counter(
            t["operator"] for d in document["dags"] for t in d["tasks"] if t["mapping"] == "placeholder"
        )
        for operator, count in placeholders.most_common(10):
            print(f"  placeholder: {count} x {operator}")
    return 1 if bad or share < args.min_share else 0


if __name__ == "__main__":
    sys.exit(main())
