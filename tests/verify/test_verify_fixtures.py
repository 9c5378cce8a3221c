"""`verify` end to end on fixtures/verify_dags: Airflow runs each DAG, the converted pipeline runs
locally, and each DAG's verdict is exactly the one below, with its precise differences.

Bash, Python, TaskFlow, Empty, a branch, a failing task with an all_done cleanup and a short-circuit
are exact and pass; the skip-on-exit-code fixture is a real semantic difference that verify must
report precisely.
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
    "verify_failure_cleanup": (Verdict.PASS, []),
    "verify_branch": (Verdict.PASS, []),
    "verify_data_passing": (Verdict.PASS, []),
    "verify_short_circuit": (Verdict.PASS, []),
    "verify_callables": (Verdict.PASS, []),
    "verify_branch_helpers": (Verdict.PASS, []),
    "verify_mapped_reduce": (Verdict.PASS, []),
    "verify_mapped_operators": (Verdict.PASS, []),
    # the same values and states; verify still checks orderings between all instances of two mapped
    # tasks, where in a mapped task group Airflow orders each instance after the same instance only
    "verify_mapped_group": (
        Verdict.DIFFERENT,
        [
            "the workflow did not make process.transform wait for process.extract (for-loop-1(0:1).process-"
            "transform, for-loop-1(1:2).process-transform, for-loop-1(2:4).process-transform)",
        ],
    ),
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
    assert result.exit_code == 1  # verify_skip_exit_code differs


def test_the_comparison_is_recorded_and_reported(verified):
    _, out = verified
    document = json.loads((out / "conversion.json").read_text())
    # verify_run_context needs the KFP run macros of the verify-side branch; verify_mapped_group see EXPECTED
    assert document["summary"]["verify"] == {"pass": 12, "different": 3, "incomplete": 0, "error": 0}
    entry = next(d for d in document["dags"] if d["dag_id"] == "verify_skip_exit_code")
    assert entry["verify"]["verdict"] == "different" and entry["verify"]["airflow_version"]
    from converter.report.render import render_reports

    render_reports(out)
    assert "Verified run" in (out / "reports" / "verify_skip_exit_code.md").read_text()
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
