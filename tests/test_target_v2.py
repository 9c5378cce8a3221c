"""The KFP v2 target: trigger rules on v2's terms, and fixtures converted to both targets with the
IR's ordering checked by the self-check and by a second, independent reading here."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
import yaml

from airflow2kfp.kfp2.client import find_kfp2_python
from airflow2kfp.mapping import trigger_rules as tr
from airflow2kfp.mapping import trigger_rules_v2 as v2r
from airflow2kfp.pipeline import ConvertOptions
from airflow2kfp.report.render import render_reports
from airflow2kfp.run import RunSettings, convert_all

ROOT = Path(__file__).resolve().parents[1]
needs_kfp2 = pytest.mark.skipif(
    find_kfp2_python() is None, reason="no kfp 2.x interpreter (scripts/setup_kfp2_env.sh)"
)


def test_every_rule_has_a_v2_mapping() -> None:
    assert {rule for rule, _, _ in v2r.TABLE} == set(tr.RULES)
    plain = [v2r.UpstreamView("a", may_skip=False, may_not_run=False)]
    for rule in tr.RULES:
        v2r.v2_rule(rule, plain)  # no rule raises


def test_the_docs_table_is_the_rules_table() -> None:
    """docs/targets.md lists every rule as trigger_rules_v2.TABLE says."""
    docs = (ROOT / "docs" / "targets.md").read_text()
    for rule, v2, exact in v2r.TABLE:
        assert any(
            line.startswith(f"| `{rule}` |") and line.endswith(f"| {v2} | {exact} |")
            for line in docs.splitlines()
        ), rule


def test_exact_and_differing_rules() -> None:
    alone = [v2r.UpstreamView("a", may_skip=False, may_not_run=False)]
    both = alone + [v2r.UpstreamView("b", may_skip=False, may_not_run=True)]
    assert v2r.v2_rule("all_success", both) == v2r.V2Rule(False)
    # one upstream that always runs: only the exit hook's failure not failing the run differs
    assert v2r.v2_rule("all_done", alone) == v2r.V2Rule(True, (v2r.EXIT_HOOK_FAILURE,))
    several = v2r.v2_rule("all_done", both)
    assert several.ignore_upstream_failure and any("may not run" in d for d in several.differences)
    failed = v2r.v2_rule("one_failed", alone)
    assert failed.ignore_upstream_failure and "no condition on an upstream's failure" in failed.differences[0]
    skipped = [v2r.UpstreamView("a", may_skip=True, may_not_run=True)]
    assert v2r.v2_rule("none_failed_min_one_success", skipped).differences
    assert not v2r.v2_rule("none_failed_min_one_success", skipped + alone).differences


def test_exit_hook_blockers() -> None:
    """KFP's backend (argocompiler/dag.go) runs an ALL_UPSTREAM_TASKS_COMPLETED task as the exit hook of
    each task it depends on: only one upstream, not a loop, nothing after it, one hook per upstream."""
    assert v2r.exit_hook_blocker(["a"], set(), False, set()) is None
    assert "no task can wait" in str(v2r.exit_hook_blocker(["a"], set(), True, set()))
    assert "once per upstream" in str(v2r.exit_hook_blocker(["a", "b"], set(), False, set()))
    assert "loop" in str(v2r.exit_hook_blocker(["a"], {"a"}, False, set()))
    assert "one exit hook per upstream" in str(v2r.exit_hook_blocker(["a"], set(), False, {"a"}))
    assert "only when one upstream failed" in v2r.without_exit_hook("one_failed", "why")


def independent_ordering(ir_text: str) -> set[tuple[str, str]]:
    """The IR's ordering read another way: every step's chain of enclosing IR tasks, and `b` after `a`
    when some enclosing task of `b` depends, through its DAG's dependentTasks, on one of `a`'s."""
    spec = next(d for d in yaml.safe_load_all(ir_text) if d and "root" in d)
    chains: dict[str, list[tuple[int, str]]] = {}  # step name -> [(id of the DAG, task key), ...]
    graphs: dict[int, nx.DiGraph] = {}

    def visit(tasks: dict, chain: list[tuple[int, str]]) -> None:
        graph = graphs.setdefault(id(tasks), nx.DiGraph())
        for key, task in tasks.items():
            graph.add_node(key)
            graph.add_edges_from((up, key) for up in task.get("dependentTasks", []))
            component = spec["components"][task["componentRef"]["name"]]
            here = chain + [(id(tasks), key)]
            if "dag" in component:
                visit(component["dag"]["tasks"], here)
            else:
                chains[task["taskInfo"]["name"]] = here

    visit(spec["root"]["dag"]["tasks"], [])
    ordered = set()
    for a, chain_a in chains.items():
        for b, chain_b in chains.items():
            for (dag_a, key_a), (dag_b, key_b) in zip(chain_a, chain_b):
                if dag_a != dag_b:
                    break
                if key_a != key_b:
                    if nx.has_path(graphs[dag_a], key_a, key_b):
                        ordered.add((a, b))
                    break
    return ordered


FIXTURES = sorted(
    [*(ROOT / "fixtures/verify_dags").glob("*.py"), *(ROOT / "fixtures/airflow_dags").glob("*.py")]
)


@needs_kfp2
def test_fixtures_convert_to_both_targets(tmp_path: Path) -> None:
    """v1 is written as before; every DAG gets a v2 pipeline, and its IR orders the steps as Airflow
    does, by the self-check and by `independent_ordering`."""
    options = ConvertOptions(targets=("v1", "v2"))
    result = convert_all(FIXTURES, tmp_path, options, settings=RunSettings(mode="static", reports=True))
    render_reports(tmp_path)
    document = json.loads(result.summary_path.read_text())
    compiled = 0
    for dag in document["dags"]:
        assert dag["targets"] == ["v1", "v2"]
        v2 = dag["v2"]
        assert v2["yaml"] is not None, (dag["dag_id"], [d["message"] for d in dag["diagnostics"]])
        compiled += 1
        ir = (tmp_path / v2["yaml"]).read_text()
        steps = {t["task_id"] for t in v2["tasks"] if t["step"]}
        # Airflow starts an `always` task at once: its edges order nothing unless its step waits anyway
        waiting = {b for _, b in dag["kfp_edges"]}
        free = {
            t["task_id"]
            for t in dag["tasks"]
            if t["trigger_rule"] == "always" and t["kfp_name"] not in waiting
        }
        expected = nx.transitive_closure_dag(
            nx.DiGraph([(a, b) for a, b in dag["airflow_edges"] if b not in free])
        )
        expected.add_nodes_from(t["task_id"] for t in dag["tasks"])
        wanted = {(a, b) for a, b in expected.edges if a in steps and b in steps}
        assert v2["ordering"]["verdict"] == "exact", (dag["dag_id"], v2["ordering"])
        # steps that stand for no Airflow task (the run-time step, a DAG's one no-op step) order nothing
        assert {(a, b) for a, b in independent_ordering(ir) if a in steps and b in steps} == wanted, dag[
            "dag_id"
        ]
    assert compiled == len(document["dags"]) > 40
    # the report says which targets each DAG went to, and links the v2 files beside Airflow's graph
    page = (tmp_path / "reports" / "cf_trigger_rules.html").read_text()
    assert 'id="targets"' in page and "<strong>KFP v1</strong>, <strong>KFP v2</strong>" in page
    assert 'href="../pipelines/v2/cf_trigger_rules.yaml">IR</a> (exact ordering)' in page
    assert 'id="v2-tasks"' in page and "KFP v2 IR: ../pipelines/v2/cf_trigger_rules.yaml" in page
    assert "(v1+v2; v2 exact)" in (tmp_path / "index.md").read_text()


@needs_kfp2
def test_branch_join_runs_after_a_sub_pipeline(tmp_path: Path) -> None:
    options = ConvertOptions(targets=("v2",))
    result = convert_all([ROOT / "fixtures/verify_dags/branch.py"], tmp_path, options, settings=RunSettings())
    dag = json.loads(result.summary_path.read_text())["dags"][0]
    assert dag["python"] is None and dag["v2"]["ordering"]["verdict"] == "exact"  # v2 only: no v1 files
    source = (tmp_path / dag["v2"]["python"]).read_text()
    assert "with dsl.If(choose_follow_small == 'true'):" in source
    assert ".after(choose_branch, choose_branch_2)" in source
    join = next(t for t in dag["v2"]["tasks"] if t["task_id"] == "join")
    assert join["semantics"]["verdict"] == "differs"
    assert not (tmp_path / "pipelines/verify_branch.py").exists()
