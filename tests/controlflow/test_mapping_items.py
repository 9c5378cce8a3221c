"""Mapped tasks receive one item per loop iteration; shapes KFP v1 cannot express are reported."""

from __future__ import annotations


def test_a_mapped_task_gets_the_loop_item_not_the_whole_list(convert) -> None:
    converted = convert("cf_mapping_nested")
    assert "named(PY_DOUBLE, 'double')(n=double_n)" in converted.python
    assert "with dsl.ParallelFor(numbers.outputs['Output']) as double_n:" in converted.python


def test_a_loop_over_an_output_inside_a_branch_compiles_with_the_condition_inside(convert) -> None:
    converted = convert("cf_mapping_nested")
    loop = converted.python.index("with dsl.ParallelFor(numbers.outputs['Output'])")
    condition = converted.python.index("with dsl.Condition(choose.outputs['follow_double']")
    assert loop < condition  # KFP 1.8 cannot compile the other nesting
    differences = converted.task("double")["semantics"]["differences"]
    assert any("condition is inside the loop" in d for d in differences)


def test_mapping_over_a_mapped_tasks_results_is_one_step_and_reported(convert) -> None:
    converted = convert("cf_mapping_nested")
    assert "as add_ten_n" not in converted.python  # no loop: KFP v1 has no fan-in out of a ParallelFor
    codes = {d["code"] for d in converted.record["diagnostics"] if d["task_id"] in ("add_ten", "collect")}
    assert "A2K311" in codes
    assert "named(PY_COLLECT, 'collect')()" in converted.python  # the collected list cannot be passed
