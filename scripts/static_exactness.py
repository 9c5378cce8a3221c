"""How many DAGs the static reader reads exactly as Airflow built them.

    .venv/bin/python scripts/static_exactness.py [fixtures/airflow_dags]
    .venv/bin/python scripts/static_exactness.py --airflow-examples .venv-airflow/bin/python

The first form compares `--mode static`'s reading of every fixture with `airflow_truth.json`
(recorded by scripts/airflow_truth.py under the Airflow venv); the second reads Airflow's own example
DAGs, copied out of that Airflow, and compares with what its DagBag builds (sub-DAGs inlined as the
reader inlines them; tests/parse/test_airflow_examples.py's truth run). A DAG is exact when its task
ids and edges (and, for fixtures, setup/teardown flags) are Airflow's. Prints one line per DAG that
differs, with what the reading said about it (an A2K203 error fails the DAG, a warning makes its
ordering unproven), then the totals: a DAG read wrong *and* claimed exact is the one thing that must
never happen.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: its tests' DagBag helpers

from airflow2kfp.diagnostics import Severity
from airflow2kfp.model import ParsedFile
from airflow2kfp.parse.static import read_dag_file

Expected = dict[str, tuple[dict[str, tuple[bool, bool]], set[tuple[str, str]]]]


def fixture_truth(folder: Path) -> tuple[list[Path], Expected]:
    """The recorded truth, each SubDagOperator's sub-DAG (Airflow 2 lists it as a DAG of its own)
    inlined into its parent as the reader inlines it."""
    from tests.parse.test_airflow_examples import inlined

    truth = json.loads((folder / "airflow_truth.json").read_text())
    expected: Expected = {}
    for recorded in truth.values():
        dags = recorded["dags"]
        flags = {
            (dag_id, t): (v["is_setup"], v["is_teardown"])
            for dag_id, d in dags.items()
            for t, v in d["tasks"].items()
        }
        shaped = {
            dag_id: {
                "tasks": sorted(d["tasks"]),
                "edges": d["edges"],
                "subdags": {
                    t: f"{dag_id}.{t}"
                    for t, v in d["tasks"].items()
                    if v["operator"] == "SubDagOperator" and f"{dag_id}.{t}" in dags
                },
            }
            for dag_id, d in dags.items()
        }
        for dag_id, dag in inlined(shaped).items():
            tasks = {
                t: flags.get(
                    (dag_id, t),
                    flags.get((f"{dag_id}.{t.split('.')[0]}", t.split(".", 1)[-1]), (False, False)),
                )
                for t in dag["tasks"]
            }
            expected[dag_id] = (tasks, {tuple(e) for e in dag["edges"]})  # type: ignore[misc]
    return [folder / name for name in sorted(truth)], expected


def example_truth(python: str, scratch: Path) -> tuple[list[Path], Expected]:
    from airflow2kfp.parse.airflow_examples import copy_examples
    from tests.parse.test_airflow_examples import dagbag_truth, inlined

    roots = copy_examples(python, scratch)
    expected: Expected = {}
    for dags in dagbag_truth(python, roots).values():
        for dag_id, dag in inlined(dags).items():
            expected[dag_id] = (dict.fromkeys(dag["tasks"], (False, False)), {tuple(e) for e in dag["edges"]})  # type: ignore[misc]
    return sorted(p for root in roots for p in root.rglob("*.py")), expected


def verdict(parsed: ParsedFile, dag_id: str) -> str:
    found = [d for d in parsed.diagnostics if d.dag_id in (dag_id, None)]
    if any(d.severity is Severity.ERROR for d in found):
        return "failed"
    if any(d.code == "A2K203" and d.severity is Severity.WARNING and d.dag_id == dag_id for d in found):
        return "unproven"
    return "exact"


def measure(files: Iterable[Path], expected: Expected, *, flags: bool) -> int:
    counts: Counter[tuple[str, bool]] = Counter()
    for path in files:
        parsed = read_dag_file(path)
        for dag in parsed.dags:
            if dag.dag_id not in expected:
                continue
            want_tasks, want_edges = expected[dag.dag_id]
            tasks = {t.task_id: (t.is_setup, t.is_teardown) if flags else (False, False) for t in dag.tasks}
            same = tasks == want_tasks and set(dag.edges) == want_edges
            said = verdict(parsed, dag.dag_id)
            counts[(said, same)] += 1
            if not same:
                print(
                    f"{path.name}: {dag.dag_id}: read as {said}; tasks {'ok' if tasks == want_tasks else 'differ'}, "
                    f"edges missing {sorted(want_edges - set(dag.edges))}, extra {sorted(set(dag.edges) - want_edges)}"
                )
    total = sum(counts.values())
    print(
        f"{len(expected)} DAGs Airflow built, {total} read statically: exact and right {counts[('exact', True)]}, "
        f"unproven {counts[('unproven', True)] + counts[('unproven', False)]} "
        f"({counts[('unproven', False)]} of them wrong), failed {counts[('failed', True)] + counts[('failed', False)]}, "
        f"claimed exact but wrong {counts[('exact', False)]}"
    )
    return 1 if counts[("exact", False)] else 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--airflow-examples"]:
        with tempfile.TemporaryDirectory(prefix="static-exactness-") as scratch:
            files, expected = example_truth(argv[1], Path(scratch))
            return measure(files, expected, flags=False)
    files, expected = fixture_truth(Path(argv[0] if argv else "fixtures/airflow_dags"))
    return measure(files, expected, flags=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
