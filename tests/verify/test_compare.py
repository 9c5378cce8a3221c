"""The comparison of both runs, on hand-made results (no Airflow, no executor)."""

from converter.verify.airflow_run import AirflowDagRun, AirflowTaskRun, parse_answer
from converter.verify.argo_local import NodeRun, Phase, WorkflowRun
from converter.verify.compare import Verdict, compare

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
