"""Airflow's own example DAGs, copied out of the Airflow env at test time, read file by file.

Every DAG that Airflow's DagBag loads from an example folder (collected the way Airflow does, in a
separate run that does not use the probe) must come back from AirflowReader with the same task ids
and the same edges.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from airflow2kfp.parse.airflow_examples import copy_examples, read_examples
from airflow2kfp.parse.airflow_import import AirflowReader, run_in_sandbox

# Collects each folder with DagBag, independently of the probe, and prints one JSON line.
TRUTH_SCRIPT = r"""
import inspect, json, sys
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models.dagbag import DagBag
try:  # Airflow 2: SubDagOperator looks its pool up in a database this run does not have (the probe too)
    from airflow.operators.subdag import SubDagOperator
    SubDagOperator._validate_pool = lambda self, session: None
except ImportError:
    SubDagOperator = None
result = {}
for folder in sys.argv[1:]:
    kwargs = {"dag_folder": folder}
    if "include_examples" in inspect.signature(DagBag.__init__).parameters:
        kwargs["include_examples"] = False
    bag = DagBag(**kwargs)
    result[folder] = {
        dag_id: {"tasks": sorted(dag.task_ids),
                 "edges": sorted([up, t.task_id] for t in dag.tasks for up in t.upstream_task_ids),
                 "subdags": {t.task_id: t.subdag.dag_id for t in dag.tasks
                             if SubDagOperator is not None and isinstance(t, SubDagOperator)}}
        for dag_id, dag in bag.dags.items()
    }
print("TRUTH:" + json.dumps(result))
"""


def inlined(dags: dict[str, dict]) -> dict[str, dict]:
    """DagBag's DAGs with each SubDagOperator's sub-DAG as a group of its parent, as the converter
    reads them (airflow2kfp/parse/subdags.py), computed here from DagBag's own tasks and edges."""
    children = {child for dag in dags.values() for child in dag["subdags"].values()}

    def expand(dag_id: str) -> tuple[list[str], list[list[str]]]:
        dag = dags[dag_id]
        tasks, edges = list(dag["tasks"]), [list(e) for e in dag["edges"]]
        for task_id, child in dag["subdags"].items():
            inner_tasks, inner_edges = expand(child)
            roots = [t for t in inner_tasks if all(e[1] != t for e in inner_edges)]
            leaves = [t for t in inner_tasks if all(e[0] != t for e in inner_edges)]
            tasks = [t for t in tasks if t != task_id] + [f"{task_id}.{t}" for t in inner_tasks]
            edges = (
                [e for e in edges if task_id not in e]
                + [[u, f"{task_id}.{r}"] for u, d in edges if d == task_id for r in roots]
                + [[f"{task_id}.{le}", d] for u, d in edges if u == task_id for le in leaves]
                + [[f"{task_id}.{u}", f"{task_id}.{d}"] for u, d in inner_edges]
            )
        return sorted(tasks), sorted(edges)

    return {
        dag_id: dict(zip(("tasks", "edges"), expand(dag_id))) for dag_id in dags if dag_id not in children
    }


def dagbag_truth(python: str, roots: list[Path]) -> dict[str, dict[str, dict[str, list]]]:
    done = run_in_sandbox(
        python, ["-c", TRUTH_SCRIPT, *map(str, roots)], timeout=600, folders=map(str, roots)
    )
    assert done is not None, "the DagBag truth run did not finish"
    for line in done.stdout.decode().splitlines():
        if line.startswith("TRUTH:"):
            return json.loads(line[len("TRUTH:") :])
    raise AssertionError(f"no truth from DagBag: {done.stderr.decode()[-2000:]}")


@pytest.mark.parametrize("reader_fixture", ["reader", "reader2"])
def test_example_dags_match_dagbag(
    reader_fixture: str, request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reader: AirflowReader = request.getfixturevalue(reader_fixture)
    roots = copy_examples(reader.python or "", tmp_path)
    assert roots, "the Airflow environment ships no example DAGs"
    truth = dagbag_truth(reader.python or "", roots)

    read: dict[str, dict[str, tuple[list[str], list[list[str]]]]] = {str(root): {} for root in roots}
    counts: Counter[str] = Counter()
    for example, parsed in read_examples(reader, roots):
        counts["files"] += 1
        counts["import errors"] += sum(d.code == "A2K601" for d in parsed.diagnostics)
        assert not [d for d in parsed.diagnostics if d.code in ("A2K602", "A2K603", "A2K604")], example.path
        for dag in parsed.dags:
            read[str(example.root)][dag.dag_id] = (
                sorted(t.task_id for t in dag.tasks),
                sorted(list(edge) for edge in dag.edges),
            )
            counts["DAGs"] += 1
            counts["tasks"] += len(dag.tasks)
            counts["edges"] += len(dag.edges)

    truth = {root: inlined(dags) for root, dags in truth.items()}
    for root, dags in truth.items():
        assert sorted(read[root]) == sorted(dags), root
        for dag_id, expected in dags.items():
            assert read[root][dag_id] == (expected["tasks"], expected["edges"]), dag_id
    # per file, two files may define the same dag_id; a folder-wide DagBag keeps only one of them
    assert sum(len(dags) for dags in read.values()) == sum(len(dags) for dags in truth.values()) > 0
    with capsys.disabled():
        print(f"\n  {reader.version} example DAGs: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
