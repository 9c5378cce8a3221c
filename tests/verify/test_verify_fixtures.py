"""`verify` end to end on fixtures/verify_dags: Airflow runs each DAG, the converted pipeline runs
locally, and each DAG's verdict is exactly the one below, with its precise differences.

Bash, Python, TaskFlow, Empty, a branch, a failing task with an all_done cleanup, a short-circuit
and operators without a mapping (run in an Airflow image, verified with the Airflow interpreter) are
exact and pass; so do the data-passing fixtures (XComs in templates, env, op_kwargs and
templates_dict; multiple_outputs; xcom_push keys; a Bash task's output read downstream), the run
context (ds, params, dag_run.conf, logical_date, get_current_context, **context) and Variables read
with a default. The skip-on-exit-code fixture is a real semantic difference that verify must report
precisely, with both sides' logs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow2kfp.verify.command import VerifyOptions, verify
from airflow2kfp.verify.compare import Verdict

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "verify_dags"

EXPECTED: dict[str, tuple[Verdict, list[str]]] = {
    "verify_bash_chain": (Verdict.PASS, []),
    "verify_failure_cleanup": (Verdict.PASS, []),
    "verify_branch": (Verdict.PASS, []),
    "verify_data_passing": (Verdict.PASS, []),
    "verify_short_circuit": (Verdict.PASS, []),
    "verify_fallback_operators": (Verdict.PASS, []),
    "verify_xcom_templates": (Verdict.PASS, []),
    "verify_taskflow_outputs": (Verdict.PASS, []),
    "verify_run_context": (Verdict.PASS, []),
    "verify_variables": (Verdict.PASS, []),
    "verify_callables": (Verdict.PASS, []),
    "verify_branch_helpers": (Verdict.PASS, []),
    "verify_mapped_reduce": (Verdict.PASS, []),
    "verify_mapped_operators": (Verdict.PASS, []),
    "verify_mapped_group": (Verdict.PASS, []),
    "verify_mapped_zip_map": (Verdict.PASS, []),
    "verify_mapped_cross_product": (Verdict.PASS, []),
    # BashOperator skips on exit code 99; a KFP step that exits 99 fails (the converter warns, A2K320)
    "verify_skip_exit_code": (
        Verdict.DIFFERENT,
        [
            "probe: Airflow skipped, KFP failed (did not run in Airflow, ran in KFP)",
            "load: Airflow skipped, KFP upstream_failed",
            "the DAG run ended success, the workflow Failed",
        ],
    ),
}


# DAGs whose verdict waits on the local runner (airflow2kfp/verify/): the reason, as a strict xfail
NEEDS_RUNNER: dict[str, str] = {}


@pytest.fixture(scope="module")
def verified(airflow_python, tmp_path_factory):
    out = tmp_path_factory.mktemp("verified")
    result = verify(
        [FIXTURES], out, VerifyOptions(airflow_python=airflow_python, task_timeout=30, run_timeout=300)
    )
    return result, out


@pytest.mark.parametrize(
    "dag_id",
    [
        pytest.param(d, marks=pytest.mark.xfail(strict=True, reason=NEEDS_RUNNER[d]))
        if d in NEEDS_RUNNER
        else d
        for d in sorted(EXPECTED)
    ],
)
def test_each_fixture_has_its_verdict_and_differences(verified, dag_id):
    result, _ = verified
    comparison = next(c for c in result.comparisons if c.dag_id == dag_id)
    verdict, differences = EXPECTED[dag_id]
    assert (comparison.verdict, [d.message for d in comparison.differences]) == (verdict, differences)


def test_the_passing_dag_checked_every_task_and_ordering(verified):
    result, _ = verified
    chain = next(c for c in result.comparisons if c.dag_id == "verify_bash_chain")
    assert {t.task_id: (t.airflow_state, t.kfp_state) for t in chain.tasks} == {
        "start": ("success", "removed"),
        "hello": ("success", "success"),
        "count": ("success", "success"),
        "shout": ("success", "success"),
        "done": ("success", "success"),
    }
    # both sides, for each ordered pair of tasks that ran (start is removed from the pipeline)
    assert chain.orderings_checked == 4 + 2 * 5
    assert result.exit_code == 1  # verify_skip_exit_code differs


def test_the_comparison_is_recorded_and_reported(verified):
    _, out = verified
    document = json.loads((out / "conversion.json").read_text())
    passing = sum(v == (Verdict.PASS, []) for d, v in EXPECTED.items() if d not in NEEDS_RUNNER)
    assert document["summary"]["verify"] == {
        "pass": passing,
        "different": 1 + len(NEEDS_RUNNER),
        "incomplete": 0,
        "error": 0,
    }
    entry = next(d for d in document["dags"] if d["dag_id"] == "verify_skip_exit_code")
    assert entry["verify"]["verdict"] == "different" and entry["verify"]["airflow_version"]
    from airflow2kfp.report.render import render_reports

    render_reports(out)
    assert "Verified run" in (out / "reports" / "verify_skip_exit_code.md").read_text()
    assert 'id="verified-run"' in (out / "reports" / "verify_bash_chain.html").read_text()


def test_operators_without_a_mapping_ran_airflow_s_own_code_on_both_sides(verified):
    result, out = verified
    fallback = next(c for c in result.comparisons if c.dag_id == "verify_fallback_operators")
    greet = next(t for t in fallback.tasks if t.task_id == "greet")
    assert (greet.airflow_state, greet.kfp_state, greet.kfp_attempts) == ("success", "success", 1)
    assert [(v.key, v.airflow, v.same) for v in greet.values] == [
        (
            "return_value",
            {"said": "good morning analytics, good morning analytics", "day": "2024-01-01"},
            True,
        )
    ]
    assert fallback.values_checked == 2 and not fallback.not_verifiable
    # the DAG imports from no airflow.sdk, but Airflow 3 read it: the Airflow 3 image
    workflow = (out / "pipelines" / "verify_fallback_operators.yaml").read_text()
    assert "image: apache/airflow:3.3.2-python3.11" in workflow and "apache/airflow:2" not in workflow


def test_a_failing_step_shows_both_sides_last_lines(verified):
    result, out = verified
    chain = next(c for c in result.comparisons if c.dag_id == "verify_skip_exit_code")
    probe = next(t for t in chain.tasks if t.task_id == "probe")
    assert "nothing new" in probe.kfp_log and "exit code 99" in probe.airflow_log
    from airflow2kfp.verify.command import describe

    lines = describe(chain)
    assert "            probe (KFP log, last lines)" in lines and "              | nothing new" in lines
    report = (out / "reports" / "verify_skip_exit_code.html").read_text()
    assert 'id="verify-logs"' in report and "nothing new" in report


def test_airflow_2_runs_the_same_way(airflow2_python, tmp_path):
    # Airflow 2.10's dag.test() stores no start date for the tasks it ran, so only the workflow's
    # side of each ordering is checked there
    result = verify(
        [FIXTURES],
        None,
        VerifyOptions(
            airflow_python=airflow2_python, dag_ids=("verify_bash_chain",), task_timeout=30, run_timeout=300
        ),
    )
    (chain,) = result.comparisons
    assert result.airflow_version.startswith("2.") and chain.verdict is Verdict.PASS, chain.differences
    assert chain.orderings_checked == 5


def test_verify_again_into_the_same_folder(verified, airflow_python):
    # conversion.json is rewritten through the output manifest: the next run still owns it
    _, out = verified
    again = verify(
        [FIXTURES], out, VerifyOptions(airflow_python=airflow_python, dag_ids=("verify_bash_chain",))
    )
    assert [c.verdict for c in again.comparisons] == [Verdict.PASS]


def test_airflow_2_runs_operators_without_a_mapping_in_an_airflow_2_image(airflow2_python, tmp_path):
    import shutil

    shutil.copytree(FIXTURES / "team_operators", tmp_path / "dags" / "team_operators")
    (tmp_path / "dags" / "greet2.py").write_text(
        "from datetime import datetime\n"
        "from airflow import DAG\n"
        "from airflow.operators.smooth import SmoothOperator\n"
        "from team_operators.greetings import GreetingOperator\n"
        "with DAG('fallback_airflow2', start_date=datetime(2024, 1, 1), schedule=None, catchup=False,\n"
        "         default_args={'greeting': 'hi'}, params={'team': 'ops'}):\n"
        "    SmoothOperator(task_id='warm_up') >> GreetingOperator(task_id='greet', name='{{ params.team }}')\n"
    )
    out = tmp_path / "out"
    result = verify([tmp_path / "dags"], out, VerifyOptions(airflow_python=airflow2_python, run_timeout=300))
    (comparison,) = result.comparisons
    assert comparison.verdict is Verdict.PASS and comparison.values_checked == 1, comparison
    assert (
        "image: apache/airflow:2.10.5-python3.11"
        in (out / "pipelines" / "fallback_airflow2.yaml").read_text()
    )


def test_the_run_context_passes_with_the_dates_kfp_substitutes(airflow_python):
    # what KFP's API server writes for [[CurrentTime...]] when a run is created at verify's logical date,
    # passed as the run's parameters (verify passes --conf keys as workflow arguments; this DAG reads
    # only dag_run.conf["region"] from the conf Airflow gets too)
    import datetime

    from airflow2kfp.mapping.templates import TIME_MACROS, substitute_run_macros
    from airflow2kfp.verify.airflow_run import LOGICAL_DATE

    when = datetime.datetime.fromisoformat(LOGICAL_DATE)
    dates = {
        name: substitute_run_macros(f"[[CurrentTime.{layout}]]", when)
        for name, layout, _ in TIME_MACROS.values()
    }
    result = verify(
        [FIXTURES],
        None,
        VerifyOptions(
            airflow_python=airflow_python,
            dag_ids=("verify_run_context",),
            conf=dates,
            task_timeout=30,
            run_timeout=300,
        ),
    )
    (comparison,) = result.comparisons
    assert comparison.verdict is Verdict.PASS, comparison.differences
    assert comparison.values_checked >= 3  # describe_run's dates, label, stamp
