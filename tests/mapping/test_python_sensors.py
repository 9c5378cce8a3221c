"""Python sensors (`@task.sensor`, PythonSensor) run their callable until it holds, and pass on the
`xcom_value` of the PokeReturnValue it returned, as Airflow's sensor does: kfp's local runner runs
the converted pipeline, and the downstream step receives the sensed value."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import kfp

from airflow2kfp.mapping.sensors import _without_poke_return_value
from airflow2kfp.pipeline import ConvertOptions
from airflow2kfp.run import STATIC, convert_all

DAG = """from datetime import datetime

from airflow.decorators import dag, task
from airflow.sensors.base import PokeReturnValue
from airflow.sensors.python import PythonSensor


def ready() -> bool:
    return True


@dag(schedule=None, start_date=datetime(2024, 1, 1))
def sensed_user():
    @task.sensor(poke_interval=1, timeout=30)
    def user_available() -> PokeReturnValue:
        return PokeReturnValue(is_done=True, xcom_value={"id": 7, "name": "Ada"})

    @task
    def extract_user(user, gate):
        return {"id": user["id"], "name": user["name"].upper(), "gate": gate}

    @task
    def report(user):
        print(user)

    gate = PythonSensor(task_id="gate", python_callable=ready, poke_interval=1, timeout=30)
    report(extract_user(user_available(), gate.output))


sensed_user()
"""


def test_a_sensed_value_reaches_the_downstream_step(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "sensed.py").write_text(DAG)
    convert_all([dags], tmp_path / "out", ConvertOptions(), settings=STATIC)
    summary = json.loads((tmp_path / "out" / "conversion.json").read_text())
    codes = {d["code"] for dag in summary["dags"] for d in dag["diagnostics"]}
    assert "A2K311" not in codes  # the XCom is passed
    path = tmp_path / "out" / "pipelines" / "sensed_user.py"
    spec = importlib.util.spec_from_file_location("sensed_user", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    root = tmp_path / "runs"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = kfp.run_pipeline_func_locally(
            module.sensed_user_pipeline,
            {},
            pipeline_root=str(root),
            execution_mode=kfp.LocalClient.ExecutionMode("local"),
        )
    assert result.success() is not False
    data = json.loads((root / result.run_id / "extract-user" / "outputs" / "Output" / "data").read_text())
    # a PythonSensor returning True has no XCom: None, as in Airflow
    assert data == {"id": 7, "name": "ADA", "gate": None}


def test_only_airflows_poke_return_value_is_replaced() -> None:
    assert _without_poke_return_value("from airflow.sensors.base import PokeReturnValue") == ""
    assert (
        _without_poke_return_value("from airflow.sdk import PokeReturnValue, task")
        == "from airflow.sdk import task"
    )
    assert _without_poke_return_value("import json") == "import json"
    assert (
        _without_poke_return_value("from mylib import PokeReturnValue") == "from mylib import PokeReturnValue"
    )
