"""How many fixture DAGs the static reader reads exactly as Airflow built them.

    .venv/bin/python scripts/static_exactness.py [fixtures/airflow_dags]

Compares `--mode static`'s reading of every fixture with `airflow_truth.json` (recorded by
scripts/airflow_truth.py under the Airflow venv): a DAG is exact when its task ids, setup/teardown
flags and edges are Airflow's. Prints one line per DAG that differs (and whether the reading said so:
an A2K203 error fails the DAG, a warning makes its ordering unproven), then the totals.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from converter.diagnostics import Severity
from converter.parse.static import read_dag_file


def main(folder: Path) -> int:
    truth = json.loads((folder / "airflow_truth.json").read_text())
    exact = total = unproven = 0
    for name, recorded in sorted(truth.items()):
        parsed = read_dag_file(folder / name)
        dags = {dag.dag_id: dag for dag in parsed.dags}
        for dag_id, expected in sorted(recorded["dags"].items()):
            total += 1
            dag = dags.get(dag_id)
            severities = {d.severity for d in parsed.diagnostics if d.code == "A2K203" and d.dag_id == dag_id}
            unsure = " (A2K203 error: not converted)" if Severity.ERROR in severities else (
                " (A2K203 warning: unproven)" if Severity.WARNING in severities else "")
            unproven += Severity.WARNING in severities and Severity.ERROR not in severities
            if dag is None:
                print(f"{name}: {dag_id}: not read")
                continue
            tasks = {t.task_id: (t.is_setup, t.is_teardown) for t in dag.tasks}
            want = {t: (v["is_setup"], v["is_teardown"]) for t, v in expected["tasks"].items()}
            edges, want_edges = set(dag.edges), {tuple(e) for e in expected["edges"]}
            if tasks == want and edges == want_edges:
                exact += 1
                continue
            missing, extra = sorted(want_edges - edges), sorted(edges - want_edges)
            print(f"{name}: {dag_id}: tasks {'ok' if tasks == want else 'differ'}, "
                  f"edges missing {missing}, extra {extra}{unsure}")
    print(f"exact {exact}/{total} DAGs; {unproven} read with an A2K203 warning (ordering unproven)")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "fixtures/airflow_dags")))
