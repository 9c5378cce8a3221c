"""`verify` end to end on fixtures/verify_dags: Airflow runs each DAG, the converted pipeline runs
locally, and each DAG's verdict is exactly the one below, with its precise differences.

Today the converter maps Bash and Empty tasks; Python/TaskFlow tasks are placeholders (steps that
fail) and trigger rules other than all_success are approximated, so only the Bash chain passes and
the others report exactly what differs. When Python components and control flow land, update
EXPECTED: those DAGs should then pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from converter.verify.command import VerifyOptions, verify
from converter.verify.compare import Verdict

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "verify_dags"

EXPECTED: dict[str, tuple[Verdict, list[str]]] = {
    "verify_bash_chain": (Verdict.PASS, []),
    "verify_failure_cleanup": (
        Verdict.DIFFERENT,
        [
            "cleanup: Airflow success, KFP upstream_failed (ran in Airflow, did not run in KFP)",
            "the DAG run ended success, the workflow Failed",
        ],
    ),
    "verify_branch": (
        Verdict.DIFFERENT,
        [
            "small: Airflow success, KFP upstream_failed (ran in Airflow, did not run in KFP)",
            "large: Airflow skipped, KFP upstream_failed",
            "join: Airflow success, KFP upstream_failed (ran in Airflow, did not run in KFP)",
            "publish: Airflow success, KFP upstream_failed (ran in Airflow, did not run in KFP)",
            "choose: Airflow success, KFP failed",
            "the DAG run ended success, the workflow Failed",
        ],
    ),
    "verify_data_passing": (
        Verdict.DIFFERENT,
        [
            "double: Airflow success, KFP upstream_failed (ran in Airflow, did not run in KFP)",
            "extract: Airflow success, KFP failed",
            "total: Airflow success, KFP upstream_failed (ran in Airflow, did not run in KFP)",
            "report: Airflow success, KFP upstream_failed (ran in Airflow, did not run in KFP)",
            "the DAG run ended success, the workflow Failed",
        ],
    ),
    "verify_short_circuit": (
        Verdict.DIFFERENT,
        [
            "notify: Airflow skipped, KFP upstream_failed",
            "archive: Airflow skipped, KFP upstream_failed",
            "is_weekend: Airflow success, KFP failed",
            "the DAG run ended success, the workflow Failed",
        ],
    ),
}


@pytest.fixture(scope="module")
def verified(airflow_python, tmp_path_factory):
    out = tmp_path_factory.mktemp("verified")
    result = verify(
        [FIXTURES], out, VerifyOptions(airflow_python=airflow_python, task_timeout=30, run_timeout=300)
    )
    return result, out


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
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
    assert result.exit_code == 1  # the other fixtures differ


def test_the_comparison_is_recorded_and_reported(verified):
    _, out = verified
    document = json.loads((out / "conversion.json").read_text())
    assert document["summary"]["verify"] == {"pass": 1, "different": 4, "incomplete": 0, "error": 0}
    entry = next(d for d in document["dags"] if d["dag_id"] == "verify_failure_cleanup")
    assert entry["verify"]["verdict"] == "different" and entry["verify"]["airflow_version"]
    from converter.report.render import render_reports

    render_reports(out)
    assert "Verified run" in (out / "reports" / "verify_failure_cleanup.md").read_text()
    assert 'id="verified-run"' in (out / "reports" / "verify_bash_chain.html").read_text()


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
    again = verify([FIXTURES], out, VerifyOptions(airflow_python=airflow_python, dag_ids=("verify_bash_chain",)))
    assert [c.verdict for c in again.comparisons] == [Verdict.PASS]
