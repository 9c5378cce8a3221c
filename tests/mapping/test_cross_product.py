"""A task (or mapped task group) mapped over several lists, one known only at run time: one step
computes the cross product in Airflow's map-index order, one loop runs over it."""

from __future__ import annotations

import json
from dataclasses import replace

from airflow2kfp.compiled.selfcheck import WorkflowOrdering, without_steps
from airflow2kfp.mapping.control_flow import Loop, LoopValue, Product, leaf_loops, loops_of, mapped_task
from airflow2kfp.mapping.cross_product import product_component
from airflow2kfp.mapping.fan_in import Collected
from airflow2kfp.model import XComRef
from tests.helpers import dag, task

PY = ("task", "airflow.decorators")


def mapped(task_id: str, **mapped_args):
    return replace(task(task_id, PY), is_mapped=True, mapped_args=mapped_args)


def test_two_upstream_lists_become_one_loop_over_their_product() -> None:
    bash = mapped("bash", env=XComRef("envs"), bash_command=XComRef("cmds"))
    d = dag("d", [task("envs", PY), task("cmds", PY), bash], [("envs", "bash"), ("cmds", "bash")])
    (loop,) = loops_of(bash, d)
    assert isinstance(loop.over, Product) and loop.variable == "bash_item"
    assert [name for name, _ in loop.over.fields] == ["env", "bash_command"]  # Airflow's argument order
    assert [field.over for field in leaf_loops([loop])] == [XComRef("envs"), XComRef("cmds")]
    inside = mapped_task(bash, (loop,))
    assert inside.mapped_args == {
        "env": LoopValue("bash_item.env"),
        "bash_command": LoopValue("bash_item.bash_command"),
    }


def test_literal_lists_keep_their_nested_loops() -> None:
    double = mapped("double", a=[1, 2], b=["x", "y"])
    loops = loops_of(double, dag("d", [double], []))
    assert [loop.over for loop in loops] == [[1, 2], ["x", "y"]]  # Argo nests withItems loops


def test_a_run_time_list_outermost_keeps_its_loop() -> None:
    # a loop over an upstream's output with literal loops inside compiles: no product step
    double = mapped("double", a=XComRef("numbers"), b=["x", "y"])
    loops = loops_of(double, dag("d", [task("numbers", PY), double], [("numbers", "double")]))
    assert [loop.over for loop in loops] == [XComRef("numbers"), ["x", "y"]]


def test_a_mapped_group_over_two_upstream_lists_loops_over_their_product() -> None:
    inner = replace(task("per_region.probe", PY), group_id="per_region")
    d = dag(
        "d",
        [task("regions", PY), task("tiers", PY), inner],
        [("regions", "per_region.probe"), ("tiers", "per_region.probe")],
        mapped_groups={"per_region": {"region": XComRef("regions"), "tier": XComRef("tiers")}},
        task_groups={"per_region": (None, None)},
    )
    (loop,) = loops_of(inner, d)
    assert (
        isinstance(loop.over, Product) and loop.group == "per_region" and loop.variable == "per_region_item"
    )


def _run(code: str, **inputs: str) -> list:
    function = code.split("\n\n\nCROSS_PRODUCT_", 1)[0]
    namespace: dict = {}
    exec(function, namespace)  # the converter's own generated step code, not user code
    name = function.split("def ", 1)[1].split("(", 1)[0]
    return json.loads(namespace[name](**inputs))


def test_the_product_step_returns_airflows_map_order_last_argument_fastest() -> None:
    product = Product("bash", (("env", _field(XComRef("envs"))), ("bash_command", _field(["a", "b", "c"]))))
    component, arguments = product_component(product, "python:3.11")
    assert arguments == {"env": XComRef("envs"), "bash_command": '["a", "b", "c"]'}
    items = _run(
        component.code, env=json.dumps([{"V": "1"}, {"V": "2"}]), bash_command=arguments["bash_command"]
    )
    # Airflow's map index 0..5: env[0] with each command, then env[1] with each
    assert items == [
        {"env": {"V": "1"}, "bash_command": "a"},
        {"env": {"V": "1"}, "bash_command": "b"},
        {"env": {"V": "1"}, "bash_command": "c"},
        {"env": {"V": "2"}, "bash_command": "a"},
        {"env": {"V": "2"}, "bash_command": "b"},
        {"env": {"V": "2"}, "bash_command": "c"},
    ]


def test_the_product_step_reads_a_mapped_tasks_collected_results() -> None:
    product = Product(
        "pair", (("x", _field(Collected("double", "return_value", 1))), ("y", _field(XComRef("ys"))))
    )
    component, _ = product_component(product, "python:3.11")
    collected = json.dumps(["2", "4"])  # Argo's list of each iteration's JSON text
    assert _run(component.code, x=collected, y='["a"]') == [{"x": 2, "y": "a"}, {"x": 4, "y": "a"}]


def _field(over):
    return Loop(over, "unused")


def test_the_self_check_leaves_the_product_step_out_and_keeps_the_orderings_through_it() -> None:
    reading = WorkflowOrdering(
        frozenset({"envs", "cmds", "bash-items", "bash"}),
        frozenset({("envs", "bash-items"), ("cmds", "bash-items"), ("bash-items", "bash")}),
    )
    kept = without_steps(reading, frozenset({"bash-items"}))
    assert kept.steps == {"envs", "cmds", "bash"}
    assert kept.edges == {("envs", "bash"), ("cmds", "bash")}
