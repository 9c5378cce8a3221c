"""Callables of every kind, run the way the step runs them: the generated step function is executed."""

from __future__ import annotations

import json
from typing import Any

from airflow2kfp.mapping import MappingContext, MappingOptions, map_task
from airflow2kfp.mapping.base import Fidelity, TaskMapping
from airflow2kfp.mapping.callables import prepare
from airflow2kfp.model import BoundObject, PythonCallable, SourceSpan, Task, TaskArgs
from tests.helpers import dag

PY = ("PythonOperator", "airflow.operators.python")
MODULE = """import math
from airflow import DAG

RATE = 0.2


def _round(value):
    return round(value, 2)


def gross(net, rate=RATE):
    return _round(net * (1 + rate))


class Exporter:
    def __init__(self, target, compress=False):
        self.target = target
        self.compress = compress

    def export(self, table, **context):
        return f"{self.target}/{table}" + (".gz" if self.compress else "")

    def __call__(self, table):
        return self.export(table)

with DAG("d") as dag:
    pass
"""
EXPORT = """def export(self, table, **context):
    return f"{self.target}/{table}" + (".gz" if self.compress else "")"""


def mapped(callable_: PythonCallable, task_id: str = "t", consumed: bool = True, **args: Any) -> TaskMapping:
    task = Task(
        task_id, *PY, SourceSpan("dag.py", 1), TaskArgs(args, frozenset(args)), python_callable=callable_
    )
    reader = Task("reader", *PY, SourceSpan("dag.py", 2), TaskArgs({"op_args": [_ref(task_id)]}))
    tasks = (task, reader) if consumed else (task,)
    return map_task(
        task, MappingContext(dag("d", tasks, [(task_id, "reader")] if consumed else []), MappingOptions())
    )


def _ref(task_id: str):
    from airflow2kfp.model import XComRef

    return XComRef(task_id)


def run(mapping: TaskMapping) -> Any:
    """Execute the step function the component is made from, with its literal arguments."""
    assert mapping.component is not None and mapping.component.code is not None
    code = mapping.component.code.split("\n\n\nPY_", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "<step>", "exec"), namespace)  # noqa: S102 - the converter's own output
    step = next(v for k, v in namespace.items() if k.endswith("_step"))
    return json.loads(step(**mapping.arguments))


def test_a_function_with_its_helpers_constants_and_defaults() -> None:
    source = "def gross(net, rate=RATE):\n    return _round(net * (1 + rate))"
    mapping = mapped(PythonCallable("gross", source, module_source=MODULE), op_args=[100])
    assert run(mapping) == 120.0 and mapping.fidelity is Fidelity.DIRECT


def test_a_lambda_with_module_names_and_captured_values() -> None:
    lam = PythonCallable(
        "<lambda>", "lambda: math.ceil(total / RATE)", module_source=MODULE, cells={"total": 3}
    )
    mapping = mapped(lam)
    # a lambda becomes a def of the name it is called by (a bound lambda is what linters flag)
    assert "def python_callable():\n        return math.ceil(total / RATE)" in mapping.component.code
    assert run(mapping) == 15


def test_a_lambda_over_several_lines_as_cut_from_its_brackets() -> None:
    lam = PythonCallable("<lambda>", "lambda x: (\n        x\n        * 2\n    )", module_source=MODULE)
    assert run(mapped(lam, op_args=[21])) == 42


def test_functools_partial_passes_its_arguments_first() -> None:
    source = "def gross(net, rate=RATE):\n    return _round(net * (1 + rate))"
    partial = PythonCallable("gross", source, module_source=MODULE, partial_kwargs={"rate": 0.5})
    assert run(mapped(partial, op_args=[10])) == 15.0
    positional = PythonCallable("gross", source, module_source=MODULE, partial_args=(10,))
    assert run(mapped(positional, op_kwargs={"rate": 1.0})) == 20.0


def test_a_bound_method_rebuilds_its_object_from_source_or_recorded_attributes() -> None:
    from_source = PythonCallable(
        "export",
        EXPORT,
        module_source=MODULE,
        bound_object=BoundObject("Exporter", None, 'Exporter("s3://x", compress=True)'),
    )
    mapping = mapped(from_source, op_args=["orders"])
    assert 'export = Exporter("s3://x", compress=True).export' in mapping.component.code
    assert run(mapping) == "s3://x/orders.gz"
    recorded = PythonCallable(
        "export",
        EXPORT,
        module_source=MODULE,
        bound_object=BoundObject("Exporter", None, None, {"target": "gs://y", "compress": False}),
    )
    assert run(mapped(recorded, op_args=["refunds"])) == "gs://y/refunds"


def test_an_object_with_call_is_called_itself() -> None:
    source = "def __call__(self, table):\n    return self.export(table)"
    callable_ = PythonCallable(
        "__call__",
        source,
        module_source=MODULE,
        bound_object=BoundObject("Exporter", None, 'Exporter("ftp://z")'),
    )
    mapping = mapped(callable_, op_args=["t1"])
    assert 'python_callable = Exporter("ftp://z")' in mapping.component.code
    assert run(mapping) == "ftp://z/t1"


def test_a_closure_gets_its_cells_and_names_bound_nowhere_are_reported() -> None:
    source = "def check(table):\n    return f'{table}<={limit}'"
    assert (
        run(mapped(PythonCallable("check", source, module_source=MODULE, cells={"limit": 3}), op_args=["a"]))
        == "a<=3"
    )
    missing = mapped(PythonCallable("check", source, module_source=MODULE), op_args=["a"])
    assert missing.fidelity is Fidelity.APPROXIMATED
    assert any(d.code == "A2K306" and "limit" in d.message for d in missing.diagnostics)


def test_cells_that_are_not_plain_data_are_not_written() -> None:
    prepared = prepare(PythonCallable("f", "def f():\n    return x", cells={"x": float("nan")}))
    assert not isinstance(prepared, str) and prepared.missing == ("x",)


def test_an_imported_class_is_imported_and_a_callable_without_source_or_module_is_no_step() -> None:
    imported = prepare(
        PythonCallable("run", None, bound_object=BoundObject("Job", "etl.jobs", "Job('daily')"))
    )
    assert not isinstance(imported, str)
    assert imported.prelude == ("from etl.jobs import Job",) and imported.definition == (
        "run = Job('daily').run",
    )
    assert imported.parameters is None  # not known: every argument is passed
    assert isinstance(prepare(PythonCallable("mystery", None)), str)
