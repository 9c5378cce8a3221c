"""`verify --target v2` end to end on fixtures/verify_dags: Airflow runs each DAG, the compiled KFP v2
pipeline runs locally as KFP's backend would run it (airflow2kfp/kfp2_side/ir_runner.py), and each DAG's
verdict is exactly the one below. Those that pass for v1 pass for v2, except where KFP v2 itself
cannot do what Airflow does; each such difference is stated here and in the task's `semantics`."""

from __future__ import annotations

import json

import pytest

from airflow2kfp.kfp2.client import find_kfp2_python
from airflow2kfp.verify.command import VerifyOptions, verify
from airflow2kfp.verify.compare import Verdict
from tests.verify.test_verify_fixtures import EXPECTED, FIXTURES, NEEDS_RUNNER

pytestmark = pytest.mark.skipif(find_kfp2_python() is None, reason="no kfp 2.x interpreter")

# where KFP v2 differs from Airflow (and from v1, which passes)
V2_DIFFERS: dict[str, tuple[Verdict, list[str]]] = {
    # cleanup (all_done) runs as the exit task of a dsl.ExitHandler around prepare, boom and load, so
    # it runs after boom failed, as in Airflow; but KFP's run fails with its body (an exit hook's state
    # does not count), where Airflow's DAG run takes its leaf task's state: cleanup's success
    "verify_failure_cleanup": (Verdict.DIFFERENT, ["the DAG run ended success, the workflow Failed"]),
}
EXPECTED_V2 = {**EXPECTED, **V2_DIFFERS}
# fixtures that do not pass for v1 either, for the same reason (strict: a fix shows up as a failure)
V2_NEEDS = dict(NEEDS_RUNNER)


@pytest.fixture(scope="module")
def verified(airflow_python, tmp_path_factory):
    out = tmp_path_factory.mktemp("verified-v2")
    result = verify(
        [FIXTURES],
        out,
        VerifyOptions(airflow_python=airflow_python, task_timeout=30, run_timeout=300, targets=("v2",)),
    )
    return result, out


@pytest.mark.parametrize(
    "dag_id",
    [
        pytest.param(d, marks=pytest.mark.xfail(strict=True, reason=V2_NEEDS[d])) if d in V2_NEEDS else d
        for d in sorted(EXPECTED_V2)
    ],
)
def test_each_fixture_has_its_v2_verdict_and_differences(verified, dag_id):
    result, _ = verified
    comparison = next(c for c in result.comparisons if c.dag_id == dag_id)
    assert comparison.target == "v2"
    verdict, differences = EXPECTED_V2[dag_id]
    assert (comparison.verdict, [d.message for d in comparison.differences]) == (verdict, differences)


def test_the_difference_is_said_at_conversion(verified):
    """verify finds no difference the conversion did not already state for the task."""
    _, out = verified
    document = json.loads((out / "conversion.json").read_text())
    dag = next(d for d in document["dags"] if d["dag_id"] == "verify_failure_cleanup")
    cleanup = next(t for t in dag["v2"]["tasks"] if t["task_id"] == "cleanup")
    assert cleanup["exit_handler"] and any(
        "does not count in the run's" in d for d in cleanup["semantics"]["differences"]
    )
    assert dag["v2"]["verify"]["verdict"] == "different"
    assert document["summary"]["verify_v2"]["pass"] == sum(
        v == (Verdict.PASS, []) for d, v in EXPECTED_V2.items() if d not in V2_NEEDS
    )


def test_a_passing_v2_run_checked_orderings_and_values(verified):
    result, _ = verified
    data = next(c for c in result.comparisons if c.dag_id == "verify_data_passing")
    assert data.verdict is Verdict.PASS and data.orderings_checked and data.values_checked
