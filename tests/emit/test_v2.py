"""The v2 emitter's own pieces: condition blocks and sub-pipelines split so no ordering is added
(emit/v2_structure.py), list outputs for loops, and the run-time step standing for KFP v1's run macros."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import pytest

from airflow2kfp import graph
from airflow2kfp.emit import v2_structure as structure
from airflow2kfp.emit.v2_components import (
    items_component,
    product_component,
    python_component,
    run_time_component,
    strftime_of,
)
from airflow2kfp.kfp2.client import find_kfp2_python
from airflow2kfp.mapping.control_flow import Condition, Loop, Product, TaskControl
from airflow2kfp.mapping.cross_product import items_function
from airflow2kfp.mapping.templates import TIME_MACROS, substitute_run_macros
from airflow2kfp.model import XComRef, XComZip
from airflow2kfp.names import UniqueNames
from airflow2kfp.verify import host_step

needs_kfp2 = pytest.mark.skipif(
    find_kfp2_python() is None, reason="no kfp 2.x interpreter (scripts/setup_kfp2_env.sh)"
)
GATE = Condition("gate", "proceed", "short_circuit")


def shape(
    order: list[str], edges: list[tuple[str, str]], conditional: dict[str, tuple[Condition, ...]]
) -> structure.Block:
    controls = {t: TaskControl(t, "all_success", tuple(a for a, b in edges if b == t)) for t in order}
    upstreams = {t: controls[t].after for t in order}
    conditions = {t: conditional.get(t, ()) for t in order}
    root = structure.build_tree(order, conditions, upstreams)
    names = UniqueNames()
    structure.mark_regions(root, edges, names)
    structure.split_regions(root, edges, names)
    structure.order_items(root, upstreams)
    return root


def implied(root: structure.Block, edges: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The orderings the written shape implies: a task waits for what it waits for, and a task (or
    region) outside a region that waits for a task inside waits for all of that region."""
    regions = structure.region_of(root)
    members: dict[str, set[str]] = {}
    for task, region in regions.items():
        members.setdefault(region, set()).add(task)
    implied_edges = set()
    for up, down in edges:
        ups = members[regions[up]] if up in regions and regions.get(down) != regions[up] else {up}
        downs = members[regions[down]] if down in regions and regions.get(up) != regions[down] else {down}
        implied_edges |= {(a, b) for a in ups for b in downs}
    return set(graph.ordering(root.tasks(), sorted(implied_edges)))


def test_a_short_circuit_block_is_split_where_one_sub_pipeline_would_add_orderings() -> None:
    """cf_trigger_rules' shape: `optional` under the gate; `needs_both` (skipped with it, so inside the
    same condition) also waits for `extract`; `join` follows `optional` only."""
    order = ["extract", "gate", "optional", "needs_both", "join"]
    edges = [
        ("gate", "optional"),
        ("extract", "needs_both"),
        ("optional", "needs_both"),
        ("extract", "join"),
        ("optional", "join"),
    ]
    root = shape(order, edges, {"optional": (GATE,), "needs_both": (GATE,)})
    regions = structure.region_of(root)
    assert regions["optional"] != regions["needs_both"]  # one sub-pipeline would order extract -> optional
    assert implied(root, edges) == set(graph.ordering(order, edges))


def test_a_branch_chain_stays_one_sub_pipeline() -> None:
    order = ["choose", "a1", "a2", "join"]
    edges = [("choose", "a1"), ("a1", "a2"), ("a2", "join")]
    branch = Condition("choose", "follow_a1", "branch")
    root = shape(order, edges, {"a1": (branch,), "a2": (branch,)})
    assert structure.region_of(root) == {"a1": "choose-branch", "a2": "choose-branch"}
    assert implied(root, edges) == set(graph.ordering(order, edges))


def test_a_condition_block_reopens_after_a_task_it_must_wait_for() -> None:
    """t1 -> x -> t3 with t1 and t3 under one condition and x outside: two `dsl.If` blocks of that
    condition, written t1's block, x, t3's block (one block would make x wait inside it)."""
    order = ["gate", "t1", "x", "t3"]
    edges = [("gate", "t1"), ("t1", "x"), ("x", "t3")]
    root = shape(order, edges, {"t1": (GATE,), "t3": (GATE,)})
    flat = [item.tasks() if isinstance(item, structure.Block) else item for item in root.items]
    assert flat == ["gate", ["t1"], "x", ["t3"]]


def test_an_exit_handler_holds_exactly_the_tasks_a_cleanup_follows() -> None:
    order = ["prepare", "boom", "load", "other", "cleanup"]
    edges = [("prepare", "boom"), ("boom", "load"), ("load", "cleanup")]
    root = shape(order, edges, {})
    downs = {"prepare": ["boom"], "boom": ["load"], "load": ["cleanup"]}
    chosen = structure.exit_group(root, "cleanup", frozenset({"prepare", "boom", "load"}), downs)
    assert chosen is not None
    structure.wrap_exit_group(root, "cleanup", chosen)
    block = next(item for item in root.items if isinstance(item, structure.Block))
    assert block.exit_task == "cleanup" and block.tasks() == ["prepare", "boom", "load"]
    assert "cleanup" not in root.items and "other" in root.items
    # a task after an ancestor (KFP rejects an edge out of an ExitHandler), or after the cleanup: none
    root = shape(order, [*edges, ("boom", "other")], {})
    assert (
        structure.exit_group(
            root, "cleanup", frozenset({"prepare", "boom", "load"}), {**downs, "boom": ["load", "other"]}
        )
        is None
    )
    root = shape(order, [*edges, ("cleanup", "other")], {})
    assert (
        structure.exit_group(
            root, "cleanup", frozenset({"prepare", "boom", "load"}), {**downs, "cleanup": ["other"]}
        )
        is None
    )


def test_every_time_layout_is_formatted_as_kfp_formats_its_macro() -> None:
    when = datetime(2024, 3, 9, 7, 5, 2, tzinfo=UTC)
    for _, layout, _ in TIME_MACROS.values():
        assert when.strftime(strftime_of(layout)) == substitute_run_macros(f"[[CurrentTime.{layout}]]", when)


def _step_function(code: str, name: str) -> types.FunctionType:
    """The step function of a v2 component's source, without kfp (a stand-in `dsl`)."""
    namespace = {
        "dsl": types.SimpleNamespace(component=lambda f, **_: f, OutputPath=lambda t: str),
        "NamedTuple": NamedTuple,
    }
    exec(compile(code, "<component>", "exec"), namespace)  # noqa: S102 - the converter's own output
    return namespace[name]


def test_a_looped_output_is_also_returned_as_a_list() -> None:
    code = '''def numbers_step() -> str:
    """Airflow task 'numbers'."""
    import json as _json

    def numbers():
        return [1, "b", {"k": [2]}]

    _result = numbers()
    return _json.dumps(_result)


PY_NUMBERS = components.create_component_from_func(numbers_step, base_image='python:3.11')
'''
    component = python_component("PY_NUMBERS", code, {"Output"})
    assert component.items == {"Output": "Output_items"} and "Output_items" in component.outputs
    assert "from typing import NamedTuple" in component.imports
    text, items = _step_function(component.code, "numbers_step")()
    assert text == '[1, "b", {"k": [2]}]'  # v1's JSON text, unchanged for other consumers
    assert items == ["1", "b", '{"k":[2]}']  # as Argo's {{item}} renders each for v1
    unchanged = python_component("PY_NUMBERS", code)
    assert unchanged.items == {} and "_airflow2kfp_items" not in unchanged.code
    ast.parse(component.code)


def test_looping_over_a_value_that_is_not_a_list_fails_the_step() -> None:
    code = """def one_step() -> str:
    import json as _json
    _result = {"a": 1}
    return _json.dumps(_result)


PY_ONE = components.create_component_from_func(one_step, base_image='python:3.11')
"""
    function = _step_function(python_component("PY_ONE", code, {"Output"}).code, "one_step")
    with pytest.raises(TypeError, match="loops over a list"):
        function()


@needs_kfp2
@pytest.mark.parametrize(
    ("given", "created", "expected"),
    [
        ("", "2024-01-01T00:00:00Z", "2024-01-01"),  # a one-off run: its creation time
        ("2023-05-06", "2024-01-01T00:00:00Z", "2023-05-06"),  # a value passed wins
        ("[[ScheduledTime.2006-01-02]]", "2024-01-01T00:00:00Z", "2024-01-01"),  # a macro the backend left
        ("", "{{$.pipeline_job_create_time_utc}}", None),  # KFP before 2.16 resolves no time placeholder
    ],
)
def test_the_run_time_step_gives_the_logical_date(
    tmp_path: Path, given: str, created: str, expected: str | None
) -> None:
    component = run_time_component("RUN_TIME", "python:3.11", {"ds": "2006-01-02"})
    program = ast.literal_eval(component.code.split("command=['python3', '-c', ", 1)[1].split("],\n", 1)[0])
    output = tmp_path / "out" / "ds"
    template = {
        "container": {
            "image": "python:3.11",
            "command": [
                "python3",
                "-c",
                program,
                created,
                "{{$.pipeline_job_schedule_time_utc}}",
                "%Y-%m-%d",
                given,
                str(output),
            ],
        }
    }
    result = host_step.run_container(template, tmp_path / "step", 30, python=find_kfp2_python())
    if expected is None:
        assert not result.succeeded and "KFP 2.16+" in result.log_tail
    else:
        assert result.succeeded, result.log_tail
        assert output.read_text() == expected


def _program(code: str) -> str:
    """The Python program a v2 container component runs (`python3 -c <program>`)."""
    command = next(
        node.value
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.keyword) and node.arg == "command"
    )
    assert isinstance(command, ast.List)
    return ast.literal_eval(command.elts[2])


def test_the_product_step_writes_each_field_as_argo_renders_it_for_v1(tmp_path: Path) -> None:
    """A number from a literal list reaches a step that declares the loop value a string: as its
    text, as Argo's {{item.size}} gives it in v1 (kfp.local passed the number, a float, on)."""
    component = product_component("LABEL_PRODUCT", "python:3.11", ["size", "name", "env"])
    output = tmp_path / "out" / "items"
    lists = [[1, 2.5], ["eu", "10"], [{"B": "2", "A": 1}, [1, True]]]
    subprocess.run(
        [sys.executable, "-c", _program(component.code), '["size", "name", "env"]', str(output)]
        + [json.dumps(values) for values in lists],
        check=True,
    )
    items = json.loads(output.read_text())
    assert items[:4] == [  # Airflow's map-index order: the last argument fastest
        {"size": "1", "name": "eu", "env": '{"A":1,"B":"2"}'},
        {"size": "1", "name": "eu", "env": "[1,true]"},
        {"size": "1", "name": "10", "env": '{"A":1,"B":"2"}'},
        {"size": "1", "name": "10", "env": "[1,true]"},
    ]
    assert len(items) == 8 and items[4]["size"] == "2.5"


def test_a_cross_product_with_a_zip_writes_each_field_as_text(tmp_path: Path) -> None:
    product = Product(
        "pair",
        (
            ("xy", Loop(XComZip((XComRef("xs"), XComRef("ys"))), "pair_xy")),
            ("n", Loop([1, 2], "pair_n")),
        ),
    )
    component = items_component("PAIR_PRODUCT", "python:3.11", items_function(product), texts=False)
    output = tmp_path / "out" / "items"
    subprocess.run(
        [sys.executable, "-c", _program(component.code), str(output), "[1, 2]", '["a", "b"]', "[1, 2]"],
        check=True,
    )
    assert json.loads(output.read_text()) == [
        {"xy": '[1,"a"]', "n": "1"},
        {"xy": '[1,"a"]', "n": "2"},
        {"xy": '[2,"b"]', "n": "1"},
        {"xy": '[2,"b"]', "n": "2"},
    ]
