"""scripts/measure_repos.py: its verdicts against Airflow's edges, on synthetic conversion records and YAML."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from measure_repos import (  # noqa: E402 - scripts/ is not a package
    INTENDED_WAIT,
    RepoResult,
    airflow_waits,
    compare_dag,
    compare_mode,
    false_file_failures,
    folder_differences,
    inlined_subdags,
    totals,
)

# a -> b -> c, as the compiled Argo workflow orders them
CHAIN = """
spec:
  entrypoint: p
  templates:
  - name: p
    dag:
      tasks:
      - {name: a, template: a}
      - {name: b, template: b, dependencies: [a]}
      - {name: c, template: c, dependencies: [b]}
  - {name: a, container: {image: x}}
  - {name: b, container: {image: x}}
  - {name: c, container: {image: x}}
"""


def record(task_id: str, kfp_name: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "kfp_name": kfp_name if kfp_name is not None else task_id,
        "after": [],
        "trigger_rule": "all_success",
        "semantics": {"verdict": "exact", "differences": []},
        **fields,
    }


def entry(
    dag_id: str, records: list[dict[str, Any]], status: str = "converted", codes: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "dag_id": dag_id,
        "status": status,
        "tasks": records,
        "yaml": f"pipelines/{dag_id}.yaml",
        "diagnostics": [{"code": c, "severity": "error"} for c in codes],
    }


TRUTH = {"file": "d.py", "tasks": ["a", "b", "c"], "edges": [["a", "b"], ["b", "c"]]}
RECORDS = [record("a"), record("b"), record("c")]


def test_the_same_ordering_as_airflow_is_exact() -> None:
    verdict = compare_dag("d", TRUTH, [entry("d", RECORDS)], CHAIN)
    assert (verdict.outcome, verdict.emitted, verdict.internal) == ("exact", 1, ())


def test_an_edge_airflow_has_and_the_workflow_lacks_is_a_difference() -> None:
    truth = dict(TRUTH, edges=[["a", "b"], ["b", "c"], ["a", "c"]])  # implied by the chain: still exact
    assert compare_dag("d", truth, [entry("d", RECORDS)], CHAIN).outcome == "exact"
    truth = dict(TRUTH, edges=[["a", "b"]])  # Airflow lets c start at once; the workflow makes it wait
    verdict = compare_dag("d", truth, [entry("d", RECORDS)], CHAIN)
    assert verdict.outcome == "ordering-differs" and "extra" in verdict.detail


def test_the_truth_is_airflows_not_the_converters_own_reading() -> None:
    """The converter's records may agree with its YAML and still differ from Airflow: a difference."""
    truth = dict(TRUTH, edges=[["a", "c"], ["b", "c"]])
    verdict = compare_dag("d", truth, [entry("d", RECORDS)], CHAIN)
    assert verdict.outcome == "ordering-differs" and "('b', 'c')" not in verdict.detail


def test_a_task_missing_from_the_conversion_is_reported_before_ordering() -> None:
    truth = dict(TRUTH, tasks=["a", "b", "c", "d"])
    verdict = compare_dag("d", truth, [entry("d", RECORDS)], CHAIN)
    assert (verdict.outcome, verdict.detail) == ("tasks-differ", "missing tasks d")


def test_a_removed_task_keeps_its_ordering_through_the_others() -> None:
    # b became no step (an EmptyOperator): a -> c must still hold in the workflow
    yaml = CHAIN.replace("      - {name: b, template: b, dependencies: [a]}\n", "").replace("[b]", "[a]")
    records = [record("a"), dict(record("b"), kfp_name=None), record("c")]
    assert compare_dag("d", TRUTH, [entry("d", records)], yaml).outcome == "exact"
    unordered = yaml.replace(", dependencies: [a]}", "}")
    assert compare_dag("d", TRUTH, [entry("d", records)], unordered).outcome == "ordering-differs"


def test_an_always_task_that_waits_for_nothing_drops_its_incoming_edges() -> None:
    records = [record("a"), record("b"), record("c", trigger_rule="always")]
    assert airflow_waits([["a", "b"], ["b", "c"]], records) == [("a", "b")]
    waiting = [record("a"), record("b"), record("c", trigger_rule="always", after=["b"])]
    assert airflow_waits([["a", "b"], ["b", "c"]], waiting) == [("a", "b"), ("b", "c")]


def test_a_documented_loop_wait_is_counted_apart_not_as_a_difference() -> None:
    truth = dict(TRUTH, edges=[["a", "b"]])
    noted = [
        record("a"),
        record("b"),
        record(
            "c", semantics={"verdict": "differs", "differences": [f"waits for the loop; {INTENDED_WAIT}"]}
        ),
    ]
    verdict = compare_dag("d", truth, [entry("d", noted)], CHAIN)
    assert (verdict.outcome, verdict.intended_extra) == ("exact", 2)  # (a, c) and (b, c)


def test_failed_twice_emitted_and_internal_errors_are_reported() -> None:
    verdict = compare_dag("d", TRUTH, [entry("d", RECORDS, "failed", ("A2K401",))], None)
    assert (verdict.outcome, verdict.internal, verdict.codes) == ("failed", ("A2K401",), ("A2K401",))
    verdict = compare_dag("d", TRUTH, [entry("d", RECORDS), entry("d", RECORDS)], CHAIN)
    assert verdict.emitted == 2
    assert compare_dag("d", TRUTH, [], None).outcome == "not-emitted"
    assert compare_dag("d", TRUTH, [entry("d", RECORDS, "failed", ("A2K601",))], None).internal == ()


def test_compare_mode_reads_the_yaml_each_dag_names(tmp_path: Path) -> None:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "d.yaml").write_text(CHAIN)
    conversion = {"dags": [entry("d", RECORDS), entry("other", [])]}
    verdicts = compare_mode({"d": TRUTH, "gone": dict(TRUTH, file="g.py")}, conversion, tmp_path)
    assert [(v.dag_id, v.outcome) for v in verdicts] == [("d", "exact"), ("gone", "not-emitted")]


def test_a_helper_file_failed_is_a_false_failure_an_import_error_is_not(tmp_path: Path) -> None:
    truth = {"dags": {"d": TRUTH}, "import_errors": {"broken.py": "ImportError"}}
    conversion = {
        "files": [
            {"path": str(tmp_path / name), "status": "failed"}
            for name in ("d.py", "broken.py", "helpers/common.py")
        ]
    }
    assert false_file_failures(truth, conversion, tmp_path) == ["helpers/common.py"]


def test_output_folders_compare_bytes_after_the_goldens_volatile_fields(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for folder, when in ((first, "2024-01-01"), (second, "2025-06-30")):
        (folder / "pipelines").mkdir(parents=True)
        (folder / "pipelines" / "d.yaml").write_text(f"pipeline_compilation_time: '{when}'\n")
        (folder / "conversion.json").write_text('{"start_date": "2024-01-01"}')
    assert folder_differences(first, second) == []
    (second / "conversion.json").write_text('{"start_date": "2026-12-05"}')
    (second / "extra.txt").write_text("")
    assert folder_differences(first, second) == ["conversion.json", "extra.txt (only in the second)"]


def test_totals_fail_the_done_when_on_each_criterion() -> None:
    exact = compare_dag("d", TRUTH, [entry("d", RECORDS)], CHAIN)
    good = RepoResult("r", airflow_dags=1, verdicts={"auto": [exact], "static": [exact]})
    assert totals([good]).done() == []
    twice = compare_dag("d", TRUTH, [entry("d", RECORDS)] * 2, CHAIN)
    broken = compare_dag("d", TRUTH, [entry("d", RECORDS, "failed", ("A2K501",))], None)
    bad = RepoResult(
        "s",
        airflow_dags=2,
        verdicts={"auto": [twice, broken], "static": [broken, broken]},
        nondeterministic=["conversion.json"],
    )
    failing = " | ".join(totals([good, bad]).done())
    for expected in (
        "1 of 3 DAGs not exact",
        "internal error",
        "emitted twice",
        "static mode: 33.3%",
        "two default-mode runs differ",
    ):
        assert expected in failing


def test_internal_errors_anywhere_are_listed_with_their_file(tmp_path: Path) -> None:
    from measure_repos import internal_errors

    bad = {
        "code": "A2K402",
        "severity": "error",
        "message": "internal error: KeyError",
        "file": str(tmp_path / "a.py"),
    }
    user = {"code": "A2K601", "severity": "error", "message": "ImportError", "file": str(tmp_path / "b.py")}
    conversion = {
        "files": [{"path": str(tmp_path / "a.py"), "diagnostics": [bad, user]}],
        "dags": [{"source": str(tmp_path / "a.py"), "diagnostics": [bad]}],
    }
    assert internal_errors(conversion, tmp_path) == ["a.py: A2K402 internal error: KeyError"]


class _Task:
    """The parts of an Airflow operator the truth reads (task id, upstream ids, a SubDagOperator's DAG)."""

    def __init__(self, task_id: str, upstream: tuple[str, ...] = (), subdag: Any = None) -> None:
        self.task_id, self.upstream_task_ids, self.subdag = task_id, set(upstream), subdag


class _Dag:
    def __init__(self, *tasks: _Task) -> None:
        self.tasks = list(tasks)
        downstream = {u for t in tasks for u in t.upstream_task_ids}
        self.roots = [t for t in tasks if not t.upstream_task_ids]
        self.leaves = [t for t in tasks if t.task_id not in downstream]


def test_a_subdag_is_read_into_its_parent_as_the_converter_inlines_it() -> None:
    # start >> group >> end, group a SubDAG of start >> [a, b] (11_parent_dag's shape, Airflow 2)
    inner = _Dag(_Task("start"), _Task("a", ("start",)), _Task("b", ("start",)))
    parent = _Dag(_Task("start"), _Task("group", ("start",), subdag=inner), _Task("end", ("group",)))
    tasks, edges = inlined_subdags(parent)
    assert tasks == ["end", "group.a", "group.b", "group.start", "start"]
    assert edges == [
        ["group.a", "end"],
        ["group.b", "end"],
        ["group.start", "group.a"],
        ["group.start", "group.b"],
        ["start", "group.start"],
    ]
