"""Python steps and the run context they cannot serve: what A2K335 says is what the generated step
does (the DAG is converted, and the generated step functions are run)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from airflow2kfp.pipeline import ConvertOptions
from airflow2kfp.run import STATIC, convert_all

AUDIT_DAG = '''\
"""Audits each run: the callables read the DAG object from the run context, as Airflow serves it."""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.decorators import task
from airflow.operators.python import PythonOperator, get_current_context


def describe(dag=None, ds=None):
    """Named context parameters, Airflow 2 style."""
    return {"dag": None if dag is None else dag.dag_id, "ds": ds}


def audit(**context):
    """The context as keyword arguments."""
    return {"has_dag": "dag" in context, "dag": context.get("dag"), "ds": context["ds"]}


def owner_of(**context):
    return context["dag"].owner


with DAG(
    dag_id="audit",
    start_date=datetime(2024, 1, 1),
    schedule="@daily",
    catchup=False,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
) as dag:
    described = PythonOperator(task_id="describe", python_callable=describe)
    audited = PythonOperator(task_id="audit", python_callable=audit)
    owner = PythonOperator(task_id="owner", python_callable=owner_of)

    @task
    def current():
        context = get_current_context()
        return {"has_dag": "dag" in context, "ds": context["ds"]}

    @task
    def report(described: dict, audited: dict, current: dict):
        print(described, audited, current)

    report(described.output, audited.output, current()) >> owner
'''


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], ModuleType]:
    """The DAG converted: each task's A2K335 message, and the generated pipeline module."""
    root = tmp_path_factory.mktemp("audit")
    (root / "dags").mkdir()
    (root / "dags" / "audit.py").write_text(AUDIT_DAG)
    result = convert_all([root / "dags"], root / "out", ConvertOptions(), settings=STATIC)
    (record,) = json.loads(result.summary_path.read_text())["dags"]
    assert record["status"] == "converted", record["diagnostics"]
    messages = {d["task_id"]: d["message"] for d in record["diagnostics"] if d["code"] == "A2K335"}
    return messages, _load(root / "out" / record["python"])


def test_a_named_context_parameter_the_step_cannot_serve_gets_none(audit) -> None:
    messages, module = audit
    assert messages["describe"] == (
        "Airflow context a KFP step cannot serve: the callable's parameter dag gets None"
    )
    assert json.loads(module.describe_step(ds="2024-03-05")) == {"dag": None, "ds": "2024-03-05"}


def test_a_context_key_the_step_cannot_serve_is_absent_from_the_kwargs_it_passes(audit) -> None:
    messages, module = audit
    said = "the **context dict the step passes has no key dag (context['dag'] raises KeyError, .get() gives None)"
    assert messages["audit"].endswith(said) and messages["owner"].endswith(said)
    assert json.loads(module.audit_step(ds="2024-03-05")) == {
        "has_dag": False,
        "dag": None,
        "ds": "2024-03-05",
    }
    with pytest.raises(KeyError, match="dag"):
        module.owner_step()


def test_get_current_context_in_the_step_returns_a_dict_without_the_key(audit) -> None:
    messages, module = audit
    assert messages["current"].endswith("the dict get_current_context() returns in the step has no key dag")
    assert json.loads(module.current_step(ds="2024-03-05")) == {"has_dag": False, "ds": "2024-03-05"}


def test_the_message_names_each_way_one_callable_reads_the_context() -> None:
    from airflow2kfp.mapping.python import _unserved_message

    message = _unserved_message({"task", "dag"}, {"conf"}, {"conf"}, "kwargs")
    assert message == (
        "Airflow context a KFP step cannot serve: the callable's parameters dag, task get None; the "
        "**kwargs dict the step passes has no key conf (kwargs['conf'] raises KeyError, .get() gives "
        "None); the dict get_current_context() returns in the step has no key conf"
    )
