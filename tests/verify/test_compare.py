"""The comparison of both runs, on hand-made results (no Airflow, no executor)."""

import itertools

import pytest

from airflow2kfp.mapping import trigger_rules as tr
from airflow2kfp.verify.airflow_run import AirflowDagRun, AirflowTaskRun, parse_answer
from airflow2kfp.verify.argo_local import NodeRun, Phase, WorkflowRun
from airflow2kfp.verify.compare import (
    Verdict,
    airflow_decision,
    compare,
    guaranteed_orderings,
    same_iteration,
)

DAG = {
    "dag_id": "d",
    "airflow_edges": [["a", "b"], ["b", "c"]],
    "tasks": [
        {"task_id": "a", "kfp_name": "a", "mapping": "direct"},
        {"task_id": "b", "kfp_name": "b", "mapping": "direct"},
        {"task_id": "c", "kfp_name": "c", "mapping": "direct"},
    ],
}


def ti(task_id, state, start="2024-01-01 00:00:01", end="2024-01-01 00:00:02", xcom=None):
    return AirflowTaskRun(
        task_id, -1, state, start, end, 1 if state in ("success", "failed") else 0, xcom or {}
    )


def step(name, phase, waited=(), parameters=None, started=1.0):
    ran = phase in (Phase.SUCCEEDED, Phase.FAILED)
    return NodeRun(
        name,
        name,
        name,
        None,
        phase,
        started=started if ran else None,
        finished=started + 1 if ran else None,
        attempts=1 if ran else 0,
        parameters=parameters or {},
        waited_for=tuple(waited),
    )


def test_the_same_run_passes_with_values_compared():
    airflow = AirflowDagRun(
        "d",
        "success",
        (
            ti("a", "success", end="2024-01-01 00:00:01", xcom={"return_value": {"n": 1}}),
            ti("b", "success", start="2024-01-01 00:00:02", xcom={"return_value": 2}),
            ti("c", "success", start="2024-01-01 00:00:03"),
        ),
    )
    kfp = WorkflowRun(
        Phase.SUCCEEDED,
        (
            step("a", Phase.SUCCEEDED, parameters={"a-Output": '{"n": 1}'}),
            step("b", Phase.SUCCEEDED, ["a"], {"b-Output": "2"}),
            step("c", Phase.SUCCEEDED, ["a", "b"]),
        ),
    )
    result = compare(DAG, airflow, kfp)
    assert result.verdict is Verdict.PASS, result.differences
    assert result.values_checked == 2 and result.orderings_checked == 6


def test_states_values_and_unenforced_orderings_are_differences():
    airflow = AirflowDagRun(
        "d",
        "failed",
        (ti("a", "success", xcom={"return_value": "x"}), ti("b", "failed"), ti("c", "upstream_failed")),
    )
    kfp = WorkflowRun(
        Phase.SUCCEEDED,
        (
            step("a", Phase.SUCCEEDED, parameters={"a-Output": "y"}),
            step("b", Phase.SUCCEEDED, []),
            step("c", Phase.SUCCEEDED, ["b"]),
        ),
    )
    result = compare(DAG, airflow, kfp)
    assert result.verdict is Verdict.DIFFERENT
    messages = [d.message for d in result.differences]
    assert "b: Airflow failed, KFP success" in messages
    assert "c: Airflow upstream_failed, KFP success (did not run in Airflow, ran in KFP)" in messages
    assert "a: XCom return_value is 'x' in Airflow, 'y' in KFP" in messages
    assert "the workflow did not make b wait for a (b)" in messages
    assert "the DAG run ended failed, the workflow Succeeded" in messages


def test_omitted_reads_as_upstream_failed_after_a_failure_and_not_verifiable_never_passes():
    airflow = AirflowDagRun(
        "d", "failed", (ti("a", "failed"), ti("b", "upstream_failed"), ti("c", "upstream_failed"))
    )
    kfp = WorkflowRun(
        Phase.FAILED,
        (step("a", Phase.FAILED), step("b", Phase.OMITTED, ["a"]), step("c", Phase.OMITTED, ["a", "b"])),
    )
    assert compare(DAG, airflow, kfp).verdict is Verdict.PASS
    unverifiable = WorkflowRun(
        Phase.FAILED,
        (
            step("a", Phase.FAILED),
            step("b", Phase.OMITTED, ["a"]),
            step("c", Phase.NOT_VERIFIABLE, ["a", "b"]),
        ),
    )
    result = compare(DAG, airflow, unverifiable)
    assert result.verdict is Verdict.INCOMPLETE and result.not_verifiable == ("c",)
    assert next(t for t in result.tasks if t.task_id == "c").same is None


def test_removed_tasks_are_listed_not_compared_and_a_missing_run_is_an_error():
    dag = dict(DAG, tasks=DAG["tasks"] + [{"task_id": "join", "kfp_name": None, "mapping": "removed"}])
    airflow = AirflowDagRun("d", "success", tuple(ti(t, "success") for t in ("a", "b", "c", "join")))
    kfp = WorkflowRun(
        Phase.SUCCEEDED,
        (
            step("a", Phase.SUCCEEDED),
            step("b", Phase.SUCCEEDED, ["a"]),
            step("c", Phase.SUCCEEDED, ["a", "b"]),
        ),
    )
    result = compare(dag, airflow, kfp)
    join = next(t for t in result.tasks if t.task_id == "join")
    assert join.kfp_state == "removed" and join.same is None
    assert compare(dag, None, kfp, airflow_error="boom").verdict is Verdict.ERROR


def test_the_runner_answer_is_read():
    line = (
        'AIRFLOW2KFP-RESULT {"airflow_version": "3.3.2", "import_errors": {}, "dags": [{"dag_id": "d", '
        '"state": "success", "error": null, "tasks": [{"task_id": "a", "map_index": -1, "state": "success", '
        '"start": "s", "end": "e", "try_number": 1, "xcom": {"return_value": 1}}]}]}'
    )
    result = parse_answer("noise\n" + line + "\n")
    assert result.airflow_version == "3.3.2" and result.dags["d"].tasks[0].xcom == {"return_value": 1}
    assert parse_answer("nothing").error


# -- Airflow's own decisions: trigger rules -------------------------------------------------------

STATES = ("success", "failed", "upstream_failed", "skipped")


def airflow_trigger_rule_dep(rule: str, states: tuple[str, ...], setups: tuple[bool, ...]) -> str:
    """Airflow 3.3's decision once every upstream is done, transcribed from
    airflow/ti_deps/deps/trigger_rule_dep.py (the `flag_upstream_failed` block, then the failing
    statuses): 'run', 'skipped' or 'upstream_failed'."""
    n = len(states)
    s, f, uf, k = (states.count(x) for x in STATES)
    setup_states = [state for state, is_setup in zip(states, setups, strict=True) if is_setup]
    s_setup, k_setup = setup_states.count("success"), setup_states.count("skipped")
    new_state = {
        "all_success": "upstream_failed" if uf or f else "skipped" if k else None,
        "all_failed": "skipped" if s or k else None,
        "one_success": "skipped" if n == k else "upstream_failed" if s <= 0 else None,
        "one_failed": "skipped" if not (f or uf) else None,
        "one_done": "skipped" if not (f or s) else None,
        "none_failed": "upstream_failed" if uf or f else None,
        "none_failed_min_one_success": "upstream_failed"
        if uf or f
        else "skipped"
        if k == n
        else "upstream_failed"
        if s == 0
        else None,
        "none_skipped": "skipped" if k else None,
        "all_skipped": "skipped" if s or f or uf else None,
        "all_done_min_one_success": "skipped" if k > 0 else "upstream_failed" if s == 0 else None,
        "all_done_setup_success": "skipped"
        if setup_states and k_setup >= len(setup_states)
        else "upstream_failed"
        if setup_states and s_setup == 0
        else None,
        "all_done": None,
        "always": None,
    }[rule]
    return new_state or "run"


def upstreams_in(states: tuple[str, ...], setups: tuple[bool, ...]) -> list[tr.Upstream]:
    return [
        tr.Upstream(
            node=f"u{i}",
            success=tr.Const(state == "success"),
            failed=tr.Const(state == "failed"),
            upstream_failed=tr.Const(state == "upstream_failed"),
            skipped=tr.Const(state == "skipped"),
            is_setup=setup,
        )
        for i, (state, setup) in enumerate(zip(states, setups, strict=True))
    ]


@pytest.mark.parametrize("rule", sorted(tr.RULES))
@pytest.mark.parametrize("count", [1, 2, 3])
def test_verify_names_every_rule_s_outcome_as_airflow_does(rule, count):
    # Verify reads an Omitted step through the table the converter wrote its `depends` from
    # (trigger_rules.trigger / upstream_failed_when_not_triggered); here that table is checked
    # against Airflow's own code for every combination of upstream states (and setup upstreams)
    for states in itertools.product(STATES, repeat=count):
        for setups in (
            itertools.product((False, True), repeat=count)
            if rule == "all_done_setup_success"
            else [(False,) * count]
        ):
            expected = airflow_trigger_rule_dep(rule, states, setups)
            assert airflow_decision(rule, upstreams_in(states, setups)) == expected, (rule, states, setups)


def test_a_task_airflow_skips_under_all_failed_is_no_difference_when_kfp_omitted_it_for_that_reason():
    # s succeeded, f failed: all_failed is not met, and Airflow marks `cleanup` skipped (not
    # upstream_failed), although a step it waited for failed; the Omitted step reads the same
    dag = {
        "dag_id": "d",
        "airflow_edges": [["s", "cleanup"], ["f", "cleanup"], ["f", "after"]],
        "tasks": [
            {"task_id": "s", "kfp_name": "s"},
            {"task_id": "f", "kfp_name": "f"},
            {"task_id": "cleanup", "kfp_name": "cleanup", "trigger_rule": "all_failed"},
            {"task_id": "after", "kfp_name": "after"},
        ],
    }
    airflow = AirflowDagRun(
        "d",
        "failed",
        (ti("s", "success"), ti("f", "failed"), ti("cleanup", "skipped"), ti("after", "upstream_failed")),
    )
    kfp = WorkflowRun(
        Phase.FAILED,
        (
            step("s", Phase.SUCCEEDED),
            step("f", Phase.FAILED),
            step("cleanup", Phase.OMITTED, ["s", "f"]),
            step("after", Phase.OMITTED, ["f"]),
        ),
    )
    result = compare(dag, airflow, kfp)
    assert result.verdict is Verdict.PASS, result.differences
    assert {t.task_id: t.kfp_state for t in result.tasks}["cleanup"] == "skipped"
    assert {t.task_id: t.kfp_state for t in result.tasks}["after"] == "upstream_failed"


def test_an_omitted_step_after_a_removed_task_takes_the_state_airflow_gives_the_removed_task():
    # f failed -> join (EmptyOperator, removed by the conversion) is upstream_failed in Airflow ->
    # load (all_success) is upstream_failed too; none_failed_min_one_success `report` is as well
    dag = {
        "dag_id": "d",
        "airflow_edges": [["f", "join"], ["join", "load"]],
        "tasks": [
            {"task_id": "f", "kfp_name": "f"},
            {"task_id": "join", "kfp_name": None, "mapping": "removed"},
            {"task_id": "load", "kfp_name": "load"},
        ],
    }
    airflow = AirflowDagRun(
        "d", "failed", (ti("f", "failed"), ti("join", "upstream_failed"), ti("load", "upstream_failed"))
    )
    kfp = WorkflowRun(Phase.FAILED, (step("f", Phase.FAILED), step("load", Phase.OMITTED, ["f"])))
    assert compare(dag, airflow, kfp).verdict is Verdict.PASS


def test_an_always_task_orders_nothing_and_eager_rules_only_what_they_wait_for():
    # `always` starts at once in Airflow and in the workflow; c (all_success) waits for b only, so
    # nothing orders a before c either. one_success may start once one upstream is done.
    dag = {
        "dag_id": "d",
        "airflow_edges": [["a", "b"], ["b", "c"], ["a", "d"], ["x", "d"]],
        "tasks": [
            {"task_id": "a", "kfp_name": "a"},
            {"task_id": "b", "kfp_name": "b", "trigger_rule": "always"},
            {"task_id": "c", "kfp_name": "c"},
            {"task_id": "x", "kfp_name": "x"},
            {"task_id": "d", "kfp_name": "d", "trigger_rule": "one_success"},
        ],
    }
    assert guaranteed_orderings(dag) == {("b", "c")}
    airflow = AirflowDagRun(
        "d",
        "success",
        (
            ti("b", "success", start="2024-01-01 00:00:01", end="2024-01-01 00:00:02"),
            ti("c", "success", start="2024-01-01 00:00:03", end="2024-01-01 00:00:04"),
            ti("a", "success", start="2024-01-01 00:00:03", end="2024-01-01 00:00:05"),
            ti("d", "success", start="2024-01-01 00:00:06", end="2024-01-01 00:00:07"),
            ti("x", "success", start="2024-01-01 00:00:08", end="2024-01-01 00:00:09"),
        ),
    )
    kfp = WorkflowRun(
        Phase.SUCCEEDED,
        (
            step("b", Phase.SUCCEEDED),
            step("a", Phase.SUCCEEDED),
            step("c", Phase.SUCCEEDED, ["b"]),
            step("x", Phase.SUCCEEDED),
            step("d", Phase.SUCCEEDED, ["a", "x"]),
        ),
    )
    result = compare(dag, airflow, kfp)
    assert result.verdict is Verdict.PASS, result.differences
    assert result.orderings_checked == 2  # b before c, on both sides
    unordered = WorkflowRun(Phase.SUCCEEDED, (*kfp.nodes[:2], step("c", Phase.SUCCEEDED), *kfp.nodes[3:]))
    assert [d.message for d in compare(dag, airflow, unordered).differences] == [
        "the workflow did not make c wait for b (c)"
    ]


def test_both_sides_logs_are_kept_for_a_task_that_failed_or_differs():
    airflow = AirflowDagRun(
        "d",
        "failed",
        (
            AirflowTaskRun("a", -1, "success", "s", "e", 1, {}, log="a ran"),
            AirflowTaskRun("b", -1, "failed", "s", "e", 1, {}, log="Traceback\nValueError: boom"),
            ti("c", "upstream_failed"),
        ),
    )
    failed_b = NodeRun(
        "b",
        "b",
        "b",
        None,
        Phase.FAILED,
        "exit code 1",
        2.0,
        3.0,
        1,
        waited_for=("a",),
        log_tail="ValueError: boom",
    )
    kfp = WorkflowRun(
        Phase.FAILED,
        (step("a", Phase.SUCCEEDED), failed_b, step("c", Phase.OMITTED, ["a", "b"])),
    )
    result = compare(DAG, airflow, kfp)
    logs = {t.task_id: (t.airflow_log, t.kfp_log) for t in result.tasks}
    assert result.verdict is Verdict.PASS
    assert logs == {"a": ("", ""), "b": ("Traceback\nValueError: boom", "ValueError: boom"), "c": ("", "")}


def test_each_task_s_log_is_cut_from_the_dag_test_output():
    from airflow2kfp.airflow_side.dag_test_runner import task_logs

    output = [
        "[info] Filling up the DagBag\n",
        "2024 [info] [DAG TEST] starting task_id=a map_index=-1 [airflow.sdk.definitions.dag]\n",
        "\x1b[32mhello from a\x1b[0m\n",
        "[info] Task instance state updated [airflow.api_fastapi.execution_api.routes.task_instances]\n",
        "2024 [info] [DAG TEST] end task task_id=a map_index=-1\n",
        "[DAG TEST] starting task_id=m map_index=1\n",
        "item 1\n",
        "[DAG TEST] end task task_id=m map_index=1\n",
        "after every task\n",
    ]
    assert task_logs(output) == {("a", -1): "hello from a", ("m", 1): "item 1"}


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("for-loop-1(0:1).process-extract", "for-loop-1(0:1).process-transform", True),
        ("for-loop-1(0:1).process-extract", "for-loop-1(1:2).process-transform", False),
        ("for-loop-1(1:1).a", "for-loop-1(10:2).b", False),  # indexes that start alike
        ("for-loop-1(10:1).a", "for-loop-1(1:2).b", False),
        ("for-loop-1(2:1).a", "produce", None),
        ("for-loop-1(2:1).a", "for-loop-2(2:1).b", None),  # two loops: no iteration in common
        ("outer(0:a).inner(1:b).s", "outer(0:a).inner(2:b).t", False),
        ("outer(0:a).inner(1:b).s", "outer(0:a).t", True),
        ("outer(0:a).inner(1:b).s", "outer(1:a).t", False),
    ],
)
def test_steps_in_one_loop_are_paired_by_iteration(first, second, same):
    # a mapped task group runs as one loop over the group's DAG: a step waits for its upstream of
    # the same iteration only, as Airflow's instances wait for the same map index
    assert same_iteration(first, second) is same
