"""Fixture folders: valid DAGs read as real Airflow reads them; invalid ones give their codes.

`fixtures/airflow_dags/airflow_truth.json` is what Airflow 3 itself built from each fixture (task
ids, groups, setup/teardown flags and exact edges); regenerate it with scripts/airflow_truth.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
import tomllib

from airflow2kfp.diagnostics import Severity
from airflow2kfp.parse.static import read_dag_file

ROOT = Path(__file__).resolve().parents[2] / "fixtures"
VALID = ROOT / "airflow_dags"
INVALID = ROOT / "invalid_dags"
TRUTH = json.loads((VALID / "airflow_truth.json").read_text())
EXPECTED = tomllib.loads((INVALID / "EXPECTED.toml").read_text())
TASKFLOW_MODULES = {"airflow.decorators", "airflow.sdk"}


def test_enough_fixtures_and_all_recorded() -> None:
    names = sorted(p.name for p in VALID.glob("*.py"))
    assert len(names) >= 14 and names == sorted(TRUTH)
    assert sorted(p.name for p in INVALID.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_valid_fixture_matches_airflow(name: str) -> None:
    truth = TRUTH[name]
    assert truth["import_errors"] == []
    parsed = read_dag_file(VALID / name)
    assert [d.render() for d in parsed.diagnostics if d.severity is not Severity.INFO] == []
    dags = {dag.dag_id: dag for dag in parsed.dags}
    assert sorted(dags) == sorted(truth["dags"])
    for dag_id, expected in truth["dags"].items():
        dag = dags[dag_id]
        assert sorted(t.task_id for t in dag.tasks) == sorted(expected["tasks"])
        assert sorted(dag.edges) == sorted(tuple(e) for e in expected["edges"])
        assert len(set(dag.edges)) == len(dag.edges)
        assert dag.edge_labels == _task_edge_labels(expected["edge_labels"], dag.edges)
        for task in dag.tasks:
            want = expected["tasks"][task.task_id]
            assert (task.group_id, task.is_setup, task.is_teardown) == (
                want["group"],
                want["is_setup"],
                want["is_teardown"],
            )
            # Airflow reports its own class: compare where the name is the class Airflow instantiates
            if (
                not task.is_mapped
                and task.operator_module not in TASKFLOW_MODULES
                and name != "airflow1_imports.py"
            ):
                assert task.operator == want["operator"]


def _task_edge_labels(
    labels: list[list[str]], edges: tuple[tuple[str, str], ...]
) -> dict[tuple[str, str], str]:
    """Airflow's labels with group join nodes spread over the task edges they stand for.

    Airflow files the label of `group >> Label(...) >> task` under the group's virtual
    `<group>.downstream_join_id` node; the model labels each real edge from the group's leaves.
    """
    spread: dict[tuple[str, str], str] = {}
    for up, down, label in labels:
        ups = _join_members(up, ".downstream_join_id", [e[0] for e in edges if e[1] == down])
        downs = _join_members(down, ".upstream_join_id", [e[1] for e in edges if e[0] == up])
        for u in ups:
            for d in downs:
                if (u, d) in edges:
                    spread[(u, d)] = label
    return spread


def _join_members(node: str, suffix: str, neighbours: list[str]) -> list[str]:
    if not node.endswith(suffix):
        return [node]
    group = node[: -len(suffix)] + "."
    return [n for n in neighbours if n.startswith(group)]


def test_seed_seven_tasks_exactly() -> None:
    [dag] = read_dag_file(VALID / "seed_seven_tasks.py").dags
    assert [t.task_id for t in dag.tasks] == [f"task_{c}" for c in "abcdefg"]
    assert {t.args.values["bash_command"] for t in dag.tasks} == {f"echo Task {c}" for c in "ABCDEFG"}
    assert sorted(dag.edges) == sorted(
        [
            ("task_a", "task_b"),
            ("task_a", "task_c"),
            ("task_a", "task_d"),
            ("task_b", "task_e"),
            ("task_c", "task_e"),
            ("task_d", "task_f"),
            ("task_d", "task_g"),
            ("task_e", "task_g"),
        ]
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_fixture_gives_its_code(name: str) -> None:
    marker = Path("/tmp/airflow2kfp_side_effect_marker")
    marker.unlink(missing_ok=True)
    parsed = read_dag_file(INVALID / name, display_path=f"invalid_dags/{name}")
    codes = [d.code for d in parsed.diagnostics]
    expected = EXPECTED[name]
    if expected == "":
        assert codes == [] and parsed.dags
    elif expected == "A2K202":  # the cycle is found by the shared graph stage from these edges
        [dag] = parsed.dags
        assert nx.find_cycle(nx.DiGraph(list(dag.edges)))
        assert codes == []
    else:
        assert expected in codes
        located = [d for d in parsed.diagnostics if d.code == expected]
        assert all(d.file == f"invalid_dags/{name}" for d in located)
    assert not marker.exists()


AIRFLOW2 = ROOT / "airflow2_dags"
# recorded by scripts/airflow_truth.py under Airflow 2 (.venv-airflow2, after `airflow db migrate`:
# SubDagOperator looks its pool up): Airflow 3 cannot import SubDagOperator
TRUTH2 = json.loads((AIRFLOW2 / "airflow_truth.json").read_text())


def test_airflow2_fixtures_all_recorded() -> None:
    assert sorted(p.name for p in AIRFLOW2.glob("*.py")) == sorted(TRUTH2)


@pytest.mark.parametrize("name", sorted(TRUTH2))
def test_airflow2_fixture_matches_airflow_with_subdags_inlined(name: str) -> None:
    """Airflow 2 lists each sub-DAG as a DAG of its own; the reader inlines it as a group in place of
    its SubDagOperator (parse/subdags.py). The truth is inlined the same way here, by hand."""
    truth = TRUTH2[name]
    assert truth["import_errors"] == []
    parsed = read_dag_file(AIRFLOW2 / name)
    assert [d.render() for d in parsed.diagnostics if d.severity is not Severity.INFO] == []
    expected = _inlined(truth["dags"])
    assert {
        dag.dag_id: (sorted(t.task_id for t in dag.tasks), sorted(dag.edges)) for dag in parsed.dags
    } == expected


def _inlined(dags: dict[str, dict]) -> dict[str, tuple[list[str], list[tuple[str, str]]]]:
    result = {}
    for dag_id, dag in dags.items():
        if "." in dag_id:
            continue  # a sub-DAG: inlined into its parent
        tasks = set(dag["tasks"])
        edges = {tuple(e) for e in dag["edges"]}
        for task_id, task in dag["tasks"].items():
            child = dags.get(f"{dag_id}.{task_id}")
            if task["operator"] != "SubDagOperator" or child is None:
                continue
            inner = [(f"{task_id}.{u}", f"{task_id}.{d}") for u, d in child["edges"]]
            members = [f"{task_id}.{t}" for t in child["tasks"]]
            roots = [t for t in members if all(d != t for _, d in inner)]
            leaves = [t for t in members if all(u != t for u, _ in inner)]
            tasks = (tasks - {task_id}) | set(members)
            edges = (
                {e for e in edges if task_id not in e}
                | set(inner)
                | {(u, r) for u, d in edges if d == task_id for r in roots}
                | {(lf, d) for u, d in edges if u == task_id for lf in leaves}
            )
        result[dag_id] = (sorted(tasks), sorted(edges))
    return result
