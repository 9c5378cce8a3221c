"""DAG files only an import can read: config loops, factories in helper modules, DAGs from loops."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow2kfp.mapping import family_for, map_task
from airflow2kfp.mapping.base import MappingContext, MappingOptions
from airflow2kfp.mapping.kubernetes import FAMILY as PODS
from airflow2kfp.model import Dag, Duration, ParsedFile, Unresolved, XComRef
from airflow2kfp.parse.airflow_import import AirflowReader, ReaderOptions

AIRFLOW_ONLY = Path(__file__).resolve().parents[2] / "fixtures" / "airflow_only"


def read(reader: AirflowReader, name: str) -> ParsedFile:
    return reader.read(str(AIRFLOW_ONLY / name), f"airflow_only/{name}", dag_folder=str(AIRFLOW_ONLY))


def by_id(parsed: ParsedFile) -> dict[str, Dag]:
    return {dag.dag_id: dag for dag in parsed.dags}


def check_config_loop(parsed: ParsedFile) -> None:
    assert parsed.diagnostics == ()
    (dag,) = parsed.dags
    assert [task.task_id for task in dag.tasks] == ["extract", "clean", "load", "report_a", "report_b"]
    assert set(dag.edges) == {
        ("extract", "clean"),
        ("clean", "load"),
        ("load", "report_a"),
        ("load", "report_b"),
    }
    assert dag.task("clean").args.get("bash_command") == "echo clean"
    assert dag.source_mode == "airflow"
    assert dag.span.file == "airflow_only/config_loop.py" and dag.span.line == 12
    assert dag.task("extract").span.line == 15  # the line inside the loop that created it


def check_factory(parsed: ParsedFile) -> None:
    assert parsed.diagnostics == ()
    dags = by_id(parsed)
    assert sorted(dags) == ["etl_sales", "etl_users"]
    sales = dags["etl_sales"]
    assert set(sales.edges) == {
        ("start", "tables.copy_orders"),
        ("start", "tables.copy_refunds"),
        ("tables.copy_orders", "done"),
        ("tables.copy_refunds", "done"),
    }
    assert set(dags["etl_users"].edges) == {
        ("start", "tables.copy_accounts"),
        ("tables.copy_accounts", "done"),
    }
    copy = sales.task("tables.copy_orders")
    assert copy.group_id == "tables" and sales.task_groups == {"tables": (None, None)}
    assert copy.args.get("retries") == 2 and copy.args.get("retry_delay") == Duration(300.0)
    assert "retries" not in copy.args.explicit and "bash_command" in copy.args.explicit
    assert sales.task("done").trigger_rule == "all_done"
    assert sales.settings["schedule"] == "@daily" and sales.settings["tags"] == ["factory", "sales"]
    # created in the helper module: the best line in the DAG file is the factory call
    assert sales.span.line == 11 and copy.span.line == 11


def check_yaml_loop(parsed: ParsedFile) -> None:
    assert parsed.diagnostics == ()
    dags = by_id(parsed)
    assert sorted(dags) == ["region_apac", "region_eu", "region_us"]
    for dag_id, shards in (("region_eu", 2), ("region_us", 3), ("region_apac", 1)):
        assert set(dags[dag_id].edges) == {(f"shard_{i}", "merge") for i in range(shards)}
        assert len(dags[dag_id].tasks) == shards + 1


def check_company_pods(parsed: ParsedFile) -> None:
    """A KubernetesPodOperator subclass from a helper module: a pod, with what its constructor set."""
    assert parsed.diagnostics == ()
    (dag,) = parsed.dags
    ingest = dag.task("ingest")
    assert (
        ingest.qualified_operator == "dag_helpers.pods.CompanyPodOperator" and not ingest.operator_in_dag_file
    )
    assert family_for(ingest) is PODS
    calls = map_task(ingest, MappingContext(dag, MappingOptions())).task_calls
    assert "set_cpu_request('500m')" in calls and "add_pod_label('cost-center', 'data-eng')" in calls
    assert "set_image_pull_policy('Always')" in calls


def check_clock(parsed: ParsedFile) -> None:
    """The file computes dates from the time of import: the clock was frozen, the reads reported."""
    (dag,) = parsed.dags
    (note,) = [d for d in parsed.diagnostics if d.code == "A2K607"]
    assert "line 11, 15, 24" in note.message and "1970-01-01T00:00:00+00:00" in note.message
    assert isinstance(dag.settings["default_args"]["start_date"], Unresolved)
    assert "orders_19700101.csv" in dag.task("extract").args.get("bash_command")


CASES = {
    "config_loop.py": check_config_loop,
    "factory_dags.py": check_factory,
    "yaml_loop_dags.py": check_yaml_loop,
    "clock_import_time.py": check_clock,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_airflow3_reads_what_only_import_can(reader: AirflowReader, name: str) -> None:
    CASES[name](read(reader, name))


@pytest.mark.parametrize("name", sorted(CASES))
def test_airflow2_reads_the_same(reader2: AirflowReader, name: str) -> None:
    CASES[name](read(reader2, name))


@pytest.mark.parametrize("python_fixture", ["airflow_python", "airflow2_python"])
def test_a_pod_operator_subclass_from_a_helper_module_is_a_pod(
    python_fixture: str, request: pytest.FixtureRequest
) -> None:
    # importing the Kubernetes provider takes seconds of its own: a timeout for it, not the tests' short one
    with AirflowReader(request.getfixturevalue(python_fixture), ReaderOptions(timeout=60)) as reader:
        check_company_pods(read(reader, "company_pods.py"))


def test_helper_module_without_dag_is_not_a_failure(reader: AirflowReader) -> None:
    parsed = read(reader, "dag_helpers/factory.py")
    assert parsed.dags == () and [d.code for d in parsed.diagnostics] == ["A2K104"]
    assert read(reader, "dag_helpers/__init__.py").not_a_dag_file  # Airflow's safe mode skips it


def test_taskflow_and_mapping_are_read(reader: AirflowReader, tmp_path) -> None:
    dag_file = tmp_path / "taskflow_dag.py"
    dag_file.write_text(
        "from datetime import datetime, timedelta\n"
        "from airflow.sdk import dag, task\n"
        "@dag(schedule=None, start_date=datetime(2024, 1, 1), default_args={'execution_timeout': timedelta(minutes=2)})\n"
        "def flow():\n"
        "    @task\n"
        "    def numbers():\n"
        "        return [1, 2, 3]\n"
        "    @task\n"
        "    def double(x):\n"
        "        return 2 * x\n"
        "    double.expand(x=numbers())\n"
        "flow()\n"
    )
    (parsed_dag,) = reader.read(str(dag_file), "taskflow_dag.py").dags
    assert parsed_dag.dag_id == "flow" and parsed_dag.edges == (("numbers", "double"),)
    numbers, double = parsed_dag.task("numbers"), parsed_dag.task("double")
    assert numbers.operator == "task" and numbers.span.line == 11
    assert numbers.python_callable is not None and numbers.python_callable.name == "numbers"
    assert "return [1, 2, 3]" in (numbers.python_callable.source or "")
    assert numbers.python_callable.span is not None and numbers.python_callable.span.line == 5
    assert numbers.args.get("execution_timeout") == Duration(120.0)
    assert double.is_mapped and double.mapped_args == {"x": XComRef("numbers")}
    assert double.span.line == 11


def test_a_pool_of_workers_reads_the_same_in_order(airflow_python: str) -> None:
    names = sorted(CASES) + ["dag_helpers/factory.py"]
    items = [(str(AIRFLOW_ONLY / name), f"airflow_only/{name}") for name in names]
    with AirflowReader(airflow_python, ReaderOptions(workers=2)) as pool:
        results = list(pool.read_many(items, dag_folder=str(AIRFLOW_ONLY)))
    assert [parsed.path for parsed in results] == [display for _, display in items]
    for name, parsed in zip(names, results):
        if name in CASES:
            CASES[name](parsed)


def test_a_missing_file_is_a_diagnostic(reader: AirflowReader) -> None:
    parsed = reader.read(str(AIRFLOW_ONLY / "no_such_dag.py"), "no_such_dag.py")
    assert [d.code for d in parsed.diagnostics] == ["A2K106"]
