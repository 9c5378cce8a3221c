#!/usr/bin/env python
"""Read Airflow's own example DAGs through AirflowReader and print counts and wall time.

    python scripts/airflow_examples_counts.py [--python AIRFLOW_PYTHON] [--timeout S] [--workers N]

The Airflow interpreter is --python, else $AIRFLOW2KFP_AIRFLOW_PYTHON, else .venv-airflow.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow2kfp.model import ParsedFile  # noqa: E402
from airflow2kfp.parse.airflow_examples import copy_examples, read_examples  # noqa: E402
from airflow2kfp.parse.airflow_import import AirflowReader, ReaderOptions, find_airflow_python, probe_version  # noqa: E402


def tally(counts: Counter[str], parsed: ParsedFile) -> None:
    counts["files"] += 1
    counts["skipped (not DAG files)"] += parsed.not_a_dag_file
    counts["files with DAGs"] += bool(parsed.dags)
    counts["DAGs"] += len(parsed.dags)
    counts["tasks"] += sum(len(dag.tasks) for dag in parsed.dags)
    counts["edges"] += sum(len(dag.edges) for dag in parsed.dags)
    for found in parsed.diagnostics:
        counts[
            {
                "A2K601": "import errors",
                "A2K602": "timeouts",
                "A2K603": "crashes",
                "A2K604": "airflow unavailable",
            }.get(found.code, "other diagnostics")
        ] += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", help="the Airflow interpreter")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per file (default 5)")
    parser.add_argument("--workers", type=int, default=1, help="probe worker processes (default 1)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every diagnostic")
    args = parser.parse_args(argv)
    python = find_airflow_python(args.python)
    if python is None:
        print("no Airflow interpreter: pass --python or run scripts/setup_airflow_env.sh", file=sys.stderr)
        return 2
    started = time.monotonic()
    counts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="airflow-examples-") as tmp:
        roots = copy_examples(python, Path(tmp))
        options = ReaderOptions(timeout=args.timeout, workers=args.workers)
        with AirflowReader(python, options) as reader:
            for _example, parsed in read_examples(reader, roots):
                tally(counts, parsed)
                if args.verbose:
                    for found in parsed.diagnostics:
                        print(found.render())
    print(f"Airflow {probe_version(python)} example DAGs ({python})")
    for key in (
        "files",
        "skipped (not DAG files)",
        "files with DAGs",
        "DAGs",
        "tasks",
        "edges",
        "import errors",
        "timeouts",
        "crashes",
        "airflow unavailable",
        "other diagnostics",
    ):
        print(f"  {key:<26}{counts[key]}")
    print(f"  {'wall time':<26}{time.monotonic() - started:.1f}s")
    return 0 if not (counts["timeouts"] or counts["crashes"] or counts["airflow unavailable"]) else 1


if __name__ == "__main__":
    sys.exit(main())
