"""Sensors: the poke program and its interval/timeout, a leave-alone case, and honest diagnostics."""

from __future__ import annotations

from airflow2kfp.mapping import MappingContext, MappingOptions, map_task
from airflow2kfp.mapping.base import Fidelity
from airflow2kfp.model import Duration, Unresolved
from tests.helpers import dag, task

CONTEXT = MappingContext(dag=dag("d", [], []), options=MappingOptions())
HTTP = ("HttpSensor", "airflow.providers.http.sensors.http")
FILE = ("FileSensor", "airflow.sensors.filesystem")
EXTERNAL = ("ExternalTaskSensor", "airflow.sensors.external_task")
DATETIME = ("DateTimeSensor", "airflow.sensors.date_time")


def poke(program: str) -> bool:
    namespace: dict = {}
    exec(program, namespace)  # noqa: S102 - the program the converter wrote
    return bool(namespace["poke"]())


def test_file_sensor_polls_the_glob_with_its_interval_and_timeout(tmp_path) -> None:
    mapping = map_task(
        task("landed", FILE, filepath=str(tmp_path / "*.csv"), poke_interval=30, timeout=Duration(600)),
        CONTEXT,
    )
    assert mapping.component.key == "SENSOR" and mapping.fidelity is Fidelity.APPROXIMATED
    assert (mapping.arguments["poke_interval"], mapping.arguments["timeout"]) == (30.0, 600.0)
    assert not poke(mapping.arguments["program"])
    (tmp_path / "a.csv").write_text("x")
    assert poke(mapping.arguments["program"])


def test_airflow_defaults_apply_when_not_given(tmp_path) -> None:
    mapping = map_task(task("at", DATETIME, target_time="2000-01-01T00:00:00"), CONTEXT)
    assert (mapping.arguments["poke_interval"], mapping.arguments["timeout"]) == (60.0, 7 * 24 * 3600.0)
    assert poke(mapping.arguments["program"]) and mapping.fidelity is Fidelity.DIRECT


def test_http_sensor_reads_the_connection_from_airflow_s_environment_variable() -> None:
    mapping = map_task(task("api", HTTP, http_conn_id="orders_api", endpoint="health"), CONTEXT)
    assert "os.environ['AIRFLOW_CONN_ORDERS_API']" in mapping.arguments["program"]
    assert [d.code for d in mapping.diagnostics] == ["A2K320"]


def test_external_task_sensor_is_a_reported_non_wait() -> None:
    mapping = map_task(task("wait", EXTERNAL, external_dag_id="ingest", external_task_id="publish"), CONTEXT)
    assert mapping.arguments == {"waits_for": "ingest.publish"} and mapping.fidelity is Fidelity.APPROXIMATED
    assert [d.code for d in mapping.diagnostics] == ["A2K321"]


def test_a_templated_or_unreadable_condition_is_a_placeholder() -> None:
    assert map_task(task("f", FILE, filepath="/data/{{ ds }}.csv"), CONTEXT).fidelity is Fidelity.PLACEHOLDER
    assert map_task(task("f", FILE, filepath=Unresolved("path()")), CONTEXT).fidelity is Fidelity.PLACEHOLDER


def test_a_class_of_the_same_name_outside_airflow_is_left_alone() -> None:
    mine = map_task(task("f", ("FileSensor", "mycompany.sensors"), filepath="/x"), CONTEXT)
    assert mine.component.key in {"PLACEHOLDER", "AIRFLOW_OPERATOR"}  # the generic fallback, not SENSOR


def test_compiled_sensors_carry_their_poke_settings(convert) -> None:
    flow = convert("cf_sensors")
    command = flow.templates["file-landed"]["container"]["command"]  # KFP inlines constant arguments
    assert command[0:2] == ["python3", "-c"] and command[-2:] == ["30.0", "600.0"]
    assert flow.task("file_landed")["semantics"]["verdict"] == "differs"
    assert any("soft_fail" in d for d in flow.task("file_landed")["semantics"]["differences"])
    assert flow.task("wait_for_ingest")["semantics"]["differences"] == [
        "waits for ingest.publish in Airflow; the step does not wait"
    ]
