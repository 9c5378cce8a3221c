"""Mapped tasks receive one item per loop iteration; shapes KFP v1 cannot express are reported."""

from __future__ import annotations


def test_a_mapped_task_gets_the_loop_item_not_the_whole_list(convert) -> None:
    converted = convert("cf_mapping_nested")
    assert 'named(PY_DOUBLE, "double")(n=double_n)' in converted.python
    assert 'dsl.ParallelFor(numbers.outputs["Output"]) as double_n' in converted.python


def test_a_loop_over_an_output_inside_a_branch_compiles_with_the_condition_inside(convert) -> None:
    converted = convert("cf_mapping_nested")
    loop = converted.python.index('dsl.ParallelFor(numbers.outputs["Output"])')
    # one `with` line opens both, the loop first
    condition = converted.python.index('dsl.Condition(choose.outputs["follow_double"]')
    assert loop < condition  # KFP 1.8 cannot compile the other nesting
    differences = converted.task("double")["semantics"]["differences"]
    assert any("condition is inside the loop" in d for d in differences)


def test_mapping_over_a_mapped_tasks_results_loops_over_the_list_argo_collects(convert) -> None:
    converted = convert("cf_mapping_nested")
    assert 'with dsl.ParallelFor(results_of(double, "Output")) as add_ten_n:' in converted.python
    assert 'named(PY_COLLECT, "collect")(values=add_ten.outputs["Output"])' in converted.python
    codes = {d["code"] for d in converted.record["diagnostics"] if d["task_id"] in ("add_ten", "collect")}
    assert "A2K311" not in codes
    # compile_pipeline pointed the second loop at the list Argo collects from the first one's
    # iterations, and declared the output on the steps it comes from
    root = converted.templates[converted.workflow["spec"]["entrypoint"]]["dag"]["tasks"]
    second = next(t for t in root if t.get("withParam", "").endswith("double-Output}}"))
    assert (
        second["withParam"] == "{{tasks.for-loop-1.outputs.parameters.double-Output}}"
        and "withItems" not in second
    )
    outputs = converted.templates["double"]["outputs"]
    assert {"name": "double-Output", "valueFrom": {"path": "/tmp/outputs/Output/data"}} in outputs[
        "parameters"
    ]


def test_a_task_after_a_mapped_task_receives_the_list_of_its_results(convert) -> None:
    converted = convert("cf_mapping_nested")
    step = converted.python[converted.python.index("def collect_step") :]
    code = " ".join(step.split())  # as ruff laid it out, on one line
    assert "values = [ _json.loads(_v) if isinstance(_v, str) else _v for _v in _json.loads(values) ]" in code
    root = converted.templates[converted.workflow["spec"]["entrypoint"]]["dag"]["tasks"]
    collect = next(t for t in root if t["name"] == "collect")
    assert collect["arguments"]["parameters"] == [
        {"name": "add-ten-Output", "value": "{{tasks.for-loop-4.outputs.parameters.add-ten-Output}}"}
    ]
