"""A task mapped over the cross product of lists, one of them an upstream task's result, converted to
KFP v2 and run (airflow2kfp/kfp2_side/ir_runner.py, KFP's backend's rules): every instance gets the
arguments Airflow gives it, and the task after it gets the results in Airflow's map-index order (the
last argument fastest). The expected values are those Airflow's own run gives
(tests/verify/test_verify_fixtures.py runs both sides on the same fixture)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airflow2kfp.kfp2.client import find_kfp2_python
from airflow2kfp.pipeline import ConvertOptions
from airflow2kfp.run import STATIC, convert_all
from airflow2kfp.verify.argo_local import Phase
from airflow2kfp.verify.v2_local import V2LocalOptions, run_ir

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path("fixtures/verify_dags/mapped_cross_product.py")

pytestmark = pytest.mark.skipif(
    find_kfp2_python() is None, reason="no kfp 2.x interpreter (scripts/setup_kfp2_env.sh)"
)

# each reducer's result in Airflow's run of the fixture (dag.test(), logical date 2024-01-01)
AIRFLOW_RESULTS = {
    # add.expand(x=batch_sizes(), y=[1, 2]): a loop over the upstream's list around a literal loop
    "sums": "11,12,21,22",
    # label.expand(size=[1, 2], name=regions()): the product step; numbers from the literal list
    "literal_first": "eu:1,us:1,ap:1,eu:2,us:2,ap:2",
    # label.expand(size=batch_sizes(), name=regions()): two upstream lists, a field called `name`
    "pairs": "eu:10,us:10,ap:10,eu:20,us:20,ap:20",
    # PythonOperator op_args from upstream, op_kwargs literal, the run's ds from the context
    "scaled_all": "2024-01-01 10kg,2024-01-01 15kg,2024-01-01 4t,2024-01-01 6t",
    # BashOperator bash_command literal, env from upstream (the product step)
    "greeted": "hello eu on 2024-01-01,hello us on 2024-01-01,bye eu,bye us",
    # a mapped task group over two upstream lists
    "planned": "eu=1000,us=1000,ap=1000,eu=2000,us=2000,ap=2000",
}


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("v2-cross-product")
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = convert_all([FIXTURE], out, ConvertOptions(targets=("v2",)), settings=STATIC)
    finally:
        os.chdir(cwd)
    (record,) = json.loads(result.summary_path.read_text())["dags"]
    assert record["v2"]["status"] == "converted", record["diagnostics"]
    ir = (out / "pipelines" / "v2" / "verify_mapped_cross_product.yaml").read_text()
    python = (out / "pipelines" / "v2" / "verify_mapped_cross_product.py").read_text()
    run = run_ir(
        ir, V2LocalOptions(run_at=datetime(2024, 1, 1, tzinfo=UTC), task_timeout=60, run_timeout=600)
    )
    return run, python


def _outputs(run, name: str) -> list[str]:
    return [node.parameters.get("Output", "") for node in run.nodes if node.display_name == name]


def test_the_v2_run_succeeds_with_every_instance_airflow_runs(ran) -> None:
    run, _ = ran
    failed = [(n.display_name, n.message) for n in run.nodes if n.phase is not Phase.SUCCEEDED]
    assert run.phase is Phase.SUCCEEDED and not failed, failed
    counts = {
        name: len(_outputs(run, name)) for name in ("add", "label_literal_first", "label_pairs", "scaled")
    }
    assert counts == {"add": 4, "label_literal_first": 6, "label_pairs": 6, "scaled": 4}


@pytest.mark.parametrize("reducer", sorted(AIRFLOW_RESULTS))
def test_each_reducer_gets_the_results_airflow_gives_in_map_index_order(ran, reducer: str) -> None:
    run, _ = ran
    (text,) = _outputs(run, reducer)
    assert json.loads(text) == AIRFLOW_RESULTS[reducer]


def test_each_instance_gets_its_arguments_as_airflow_passes_them(ran) -> None:
    run, _ = ran
    # in map-index order: the numbers as ints (not 1.0), the field `name` as the item's, not the loop's
    assert [json.loads(t) for t in _outputs(run, "label_literal_first")] == [
        "eu:1",
        "us:1",
        "ap:1",
        "eu:2",
        "us:2",
        "ap:2",
    ]
    assert [json.loads(t) for t in _outputs(run, "add")] == [11, 12, 21, 22]


def test_the_product_fields_are_text_and_a_field_called_name_is_the_items(ran) -> None:
    _, python = ran
    assert "PY_LABEL_PAIRS(size=label_pairs_item.size, name=label_pairs_item.__getattr__('name'))" in python
