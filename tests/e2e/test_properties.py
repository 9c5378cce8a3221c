"""Property tests: random DAGs, rendered as Airflow source, converted and compiled by the real stack.

For every generated DAG: the static reader finds exactly the generated tasks and edges, the DAG
converts, the compiled workflow's ordering (read back from the YAML independently of the
converter's own self-check) equals the generated graph's transitive closure over the steps that
exist in KFP, and every KFP name is a valid, unique RFC 1123 label. With an Airflow interpreter, a
smaller sample also checks that Airflow's own import of the same file agrees with the static one.

A2K_EXAMPLES raises the example count for a longer hunt (default: bounded for CI).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow2kfp.compiled.selfcheck import read_workflow
from airflow2kfp.parse.static import read_dag_file
from airflow2kfp.pipeline import ConvertOptions, convert_parsed
from airflow2kfp.results import Status
from tests.e2e.dag_gen import GeneratedDag, generated_dags

EXAMPLES = int(os.environ.get("A2K_EXAMPLES", 40))
AIRFLOW_EXAMPLES = max(3, EXAMPLES // 5)
RFC1123 = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
CHECKED: dict[str, int] = {"generated": 0, "airflow": 0}  # printed in the summary at session end

_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


def closure(nodes: list[str], edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    return {(a, b) for a in nodes for b in nx.descendants(graph, a)}


def write(tmp_path: Path, dag: GeneratedDag) -> Path:
    path = tmp_path / "generated_dag.py"
    path.write_text(dag.source(), encoding="utf-8")
    return path


@_SETTINGS
@given(dag=generated_dags())
def test_generated_dags_convert_with_their_ordering(tmp_path: Path, dag: GeneratedDag) -> None:
    path = write(tmp_path, dag)
    parsed = read_dag_file(path, display_path="generated_dag.py")
    assert [d.render() for d in parsed.diagnostics] == [], dag.source()
    (read,) = parsed.dags
    assert [t.task_id for t in read.tasks] == dag.ids
    assert set(read.edges) == dag.edge_ids()

    result = convert_parsed(parsed, ConvertOptions())
    (converted,) = result.dags
    assert converted.status is Status.CONVERTED, [d.render() for d in converted.diagnostics]
    assert converted.selfcheck is not None and converted.selfcheck.exact

    # the ordering read back from the YAML against the generated graph, not the reader's
    kfp_names = {t.task_id: t.kfp_name for t in converted.tasks if t.kfp_name is not None}
    assert set(kfp_names) == {dag.ids[i] for i in range(len(dag.ids)) if i not in dag.empty}
    workflow = read_workflow(converted.yaml_text or "")
    assert workflow.problems == ()
    expected = {
        (kfp_names[a], kfp_names[b])
        for a, b in closure(dag.ids, dag.edge_ids())
        if a in kfp_names and b in kfp_names
    }
    assert closure(sorted(workflow.steps), set(workflow.edges)) == expected

    names = list(kfp_names.values())
    assert len(set(names)) == len(names)
    assert all(RFC1123.match(name) for name in names), names
    CHECKED["generated"] += 1


@pytest.fixture(scope="module")
def airflow_reader():
    from airflow2kfp.parse.airflow_import import AirflowReader, ReaderOptions, find_airflow_python

    python = find_airflow_python()
    if python is None:
        pytest.skip("no Airflow interpreter: set AIRFLOW2KFP_AIRFLOW_PYTHON")
    with AirflowReader(python, ReaderOptions(timeout=60)) as reader:
        yield reader


@settings(_SETTINGS, max_examples=AIRFLOW_EXAMPLES)
@given(dag=generated_dags(max_tasks=60, max_statements=60))
def test_static_reading_equals_airflows_import(tmp_path: Path, airflow_reader, dag: GeneratedDag) -> None:
    path = write(tmp_path, dag)
    static = read_dag_file(path, display_path="generated_dag.py")
    imported = airflow_reader.read(str(path), "generated_dag.py", dag_folder=str(tmp_path))
    assert [d.render() for d in imported.diagnostics] == [], dag.source()
    (by_airflow,) = imported.dags
    (by_reader,) = static.dags
    assert by_airflow.dag_id == by_reader.dag_id == dag.dag_id
    assert {t.task_id for t in by_airflow.tasks} == {t.task_id for t in by_reader.tasks} == set(dag.ids)
    assert set(by_airflow.edges) == set(by_reader.edges) == dag.edge_ids()
    assert {t.task_id: t.group_id for t in by_airflow.tasks} == {
        t.task_id: t.group_id for t in by_reader.tasks
    }
    CHECKED["airflow"] += 1


@given(st.data())
@settings(max_examples=1, deadline=None)
def test_the_generator_makes_acyclic_graphs(data: st.DataObject) -> None:
    """The premise of the ordering checks: every statement only orders lower indexes first."""
    dag = data.draw(generated_dags(max_tasks=30))
    assert all(a < b for a, b in dag.edges)
