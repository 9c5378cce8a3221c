"""Record what real Airflow makes of each fixture DAG, as the reference the static reader is tested against.

Run with an interpreter that has Airflow installed (never imported by the converter itself):
    AIRFLOW_HOME=/tmp/af-home python scripts/airflow_truth.py fixtures/airflow_dags
It writes `airflow_truth.json` next to the fixtures: per file, per DAG, the task ids, operator
classes, group ids, the exact edges and edge labels (sorted), plus any import errors.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def describe(folder: Path) -> dict[str, object]:
    from airflow.models.dagbag import DagBag

    truth: dict[str, object] = {}
    for path in sorted(folder.glob("*.py")):
        try:
            bag = DagBag(dag_folder=str(path), include_examples=False, safe_mode=False)
        except TypeError:  # Airflow 3.3 removed include_examples (examples are never loaded there)
            bag = DagBag(dag_folder=str(path), safe_mode=False)
        dags = {}
        for dag_id, dag in sorted(bag.dags.items()):
            dags[dag_id] = {
                "tasks": {
                    t.task_id: {
                        "operator": type(t).__name__,
                        "group": t.task_group.group_id if t.task_group else None,
                        "is_setup": t.is_setup,
                        "is_teardown": t.is_teardown,
                    }
                    for t in dag.tasks
                },
                "edges": sorted([u, t.task_id] for t in dag.tasks for u in t.upstream_task_ids),
                "edge_labels": sorted(
                    [up, down, info["label"]]
                    for up, downs in dag.edge_info.items()
                    for down, info in downs.items()
                    if info.get("label")
                ),
            }
        truth[path.name] = {"dags": dags, "import_errors": sorted(bag.import_errors.values())}
    return truth


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    out = folder / "airflow_truth.json"
    out.write_text(json.dumps(describe(folder), indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}")
