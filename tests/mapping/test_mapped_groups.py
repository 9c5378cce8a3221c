"""A mapped task group is one loop around its tasks; what the loop changes is written and reported."""

from __future__ import annotations


def test_the_groups_tasks_share_one_loop_and_pass_values_inside_it(convert) -> None:
    converted = convert("cf_mapped_groups")
    python = converted.python
    loop = 'with dsl.ParallelFor(regions.outputs["Output"]) as per_region_region:'
    assert python.count(loop) == 1
    inside = python[python.index(loop) : python.index("# total:")]
    for variable in ("per_region_extract", "per_region_note", "per_region_load"):
        assert f"        {variable} = (" in inside
    # load reads extract's value of the same instance, not a collected list
    assert 'row=per_region_extract.outputs["Output"]' in inside
    assert 'named(PY_TOTAL, "total")(counts=per_region_load.outputs["Output"])' in python


def test_the_loop_waits_for_every_upstream_of_its_tasks(convert) -> None:
    converted = convert("cf_mapped_groups")
    (loop,) = [t for t in converted.entry.values() if t["name"].startswith("for-loop")]
    # extract waits for prepare (behind the branch: Succeeded), note for audit under all_done
    assert loop["depends"].startswith("(") and "regions" in loop["depends"]
    assert converted.stand_in("prepare") + ".Succeeded" in loop["depends"]
    assert converted.stand_in("audit") + ".Omitted" in loop["depends"]
    differences = converted.task("per_region.load")["semantics"]["differences"]
    assert any("also waits for audit" in d for d in differences)
    assert any("whole loop" in d for d in converted.task("total")["semantics"]["differences"])
