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

from converter.parse.airflow_examples import copy_examples, read_examples
from converter.parse.airflow_import import AirflowReader, run_in_sandbox

# Collects each folder with DagBag, independently of the probe, and prints one JSON line.
TRUTH_SCRIPT = r"""
import inspect, json, sys
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models.dagbag import DagBag
result = {}
for folder in sys.argv[1:]:
    kwargs = {"dag_folder": folder}
    if "include_examples" in inspect.signature(DagBag.__init__).parameters:
        kwargs["include_examples"] = False
    bag = DagBag(**kwargs)
    result[folder] = {
        dag_id: {"tasks": sorted(dag.task_ids),
                 "edges": sorted([up, t.task_id] for t in dag.tasks for up in t.upstream_task_ids)}
        for dag_id, dag in bag.dags.items()
    }
print("TRUTH:" + json.dumps(result))
"""


def dagbag_truth(python: str, roots: list[Path]) -> dict[str, dict[str, dict[str, list]]]:
    done = run_in_sandbox(python, ["-c", TRUTH_SCRIPT, *map(str, roots)], timeout=600, folders=map(str, roots))
    assert done is not None, "the DagBag truth run did not finish"
    for line in done.stdout.decode().splitlines():
        if line.startswith("TRUTH:"):
            return json.loads(line[len("TRUTH:"):])
    raise AssertionError(f"no truth from DagBag: {done.stderr.decode()[-2000:]}")


@pytest.mark.parametrize("reader_fixture", ["reader", "reader2"])
def test_example_dags_match_dagbag(reader_fixture: str, request: pytest.FixtureRequest, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
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
            read[str(example.root)][dag.dag_id] = (sorted(t.task_id for t in dag.tasks),
                                                   sorted(list(edge) for edge in dag.edges))
            counts["DAGs"] += 1
            counts["tasks"] += len(dag.tasks)
            counts["edges"] += len(dag.edges)

    for root, dags in truth.items():
        assert sorted(read[root]) == sorted(dags), root
        for dag_id, expected in dags.items():
            assert read[root][dag_id] == (expected["tasks"], expected["edges"]), dag_id
    # per file, two files may define the same dag_id; a folder-wide DagBag keeps only one of them
    assert sum(len(dags) for dags in read.values()) == sum(len(dags) for dags in truth.values()) > 0
    with capsys.disabled():
        print(f"\n  {reader.version} example DAGs: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
