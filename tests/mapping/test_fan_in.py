"""A mapped task's results collected for the task after it: the decoding in the step, and the
compile step that declares the loop's outputs and points a loop over results at Argo's list."""

from __future__ import annotations

import copy
import json

from airflow2kfp.emit.postcompile import RESULTS_OF, collect_loop_outputs
from airflow2kfp.mapping.fan_in import decoding


def decoded(text: str, depth: int = 1, as_text: bool = False) -> list:
    namespace = {"_json": json, "values": text}
    exec("\n".join(decoding("values", depth, text=as_text)), namespace)  # noqa: S102 - the converter's lines
    return namespace["values"]


def test_each_instance_value_is_decoded_once() -> None:
    # a scalar among the values (or Argo before 3.6): every value is listed as the string it was
    assert decoded(json.dumps(["3", '"b"', "null", '"[1]"'])) == [3, "b", None, "[1]"]


def test_objects_and_arrays_argo_keeps_as_json_are_not_decoded_again() -> None:
    # every value a JSON object or array: Argo 3.6+ lists them as JSON; a string in them stays a string
    assert decoded(json.dumps([{"a": 1}, ["x", "[1]"]])) == [{"a": 1}, ["x", "[1]"]]
    assert decoded(json.dumps(['{"a": 1}', '["x", "[1]"]'])) == [{"a": 1}, ["x", "[1]"]]


def test_two_loops_give_one_flat_list_in_order() -> None:
    inner = [json.dumps(["1", "2"]), json.dumps(["3", "4"])]
    assert decoded(json.dumps(inner), depth=2) == [1, 2, 3, 4]  # strings all the way (argo before 3.6)
    assert decoded(json.dumps([["1", "2"], ["3", "4"]]), depth=2) == [1, 2, 3, 4]  # inner lists kept as JSON


def test_text_values_of_a_bash_task_are_its_lines() -> None:
    assert decoded(json.dumps(["hello ada", "{not json"]), as_text=True) == ["hello ada", "{not json"]


def _workflow() -> dict:
    """What kfp 1.8 compiles for: produce; a loop of `size` over its output; `total` after the loop;
    a loop of `twice` over size's results (a placeholder list, see results_of)."""
    return {
        "spec": {
            "entrypoint": "p",
            "templates": [
                {
                    "name": "p",
                    "dag": {
                        "tasks": [
                            {"name": "produce", "template": "produce"},
                            {
                                "name": "for-loop-1",
                                "template": "for-loop-1",
                                "dependencies": ["produce"],
                                "withParam": "{{tasks.produce.outputs.parameters.produce-Output}}",
                            },
                            {
                                "name": "total",
                                "template": "total",
                                "dependencies": ["for-loop-1"],
                                "arguments": {
                                    "parameters": [
                                        {
                                            "name": "size-Output",
                                            "value": "{{tasks.for-loop-1.outputs.parameters.size-Output}}",
                                        }
                                    ]
                                },
                            },
                            {
                                "name": "for-loop-2",
                                "template": "for-loop-2",
                                "dependencies": ["for-loop-1"],
                                "withItems": [f"{RESULTS_OF}size/Output"],
                            },
                        ]
                    },
                },
                {
                    "name": "for-loop-1",
                    "outputs": {
                        "parameters": [
                            {
                                "name": "size-Output",
                                "valueFrom": {"parameter": "{{tasks.size.outputs.parameters.size-Output}}"},
                            }
                        ]
                    },
                    "dag": {"tasks": [{"name": "size", "template": "size"}]},
                },
                {"name": "for-loop-2", "dag": {"tasks": [{"name": "twice", "template": "twice"}]}},
                {
                    "name": "produce",
                    "container": {},
                    "outputs": {
                        "parameters": [
                            {"name": "produce-Output", "valueFrom": {"path": "/tmp/outputs/Output/data"}}
                        ]
                    },
                },
                {
                    "name": "size",
                    "container": {},
                    "outputs": {"artifacts": [{"name": "size-Output", "path": "/tmp/outputs/Output/data"}]},
                },
                {"name": "total", "container": {}},
                {"name": "twice", "container": {}},
            ],
        }
    }


def test_the_step_inside_the_loop_declares_the_output_the_loop_passes_on() -> None:
    workflow = collect_loop_outputs(_workflow())
    templates = {t["name"]: t for t in workflow["spec"]["templates"]}
    assert templates["size"]["outputs"] == {
        "parameters": [{"name": "size-Output", "valueFrom": {"path": "/tmp/outputs/Output/data"}}],
        "artifacts": [{"name": "size-Output", "path": "/tmp/outputs/Output/data"}],  # kept for other readers
    }


def test_a_loop_over_results_iterates_over_the_list_argo_collects() -> None:
    workflow = collect_loop_outputs(_workflow())
    loop = next(t for t in workflow["spec"]["templates"][0]["dag"]["tasks"] if t["name"] == "for-loop-2")
    assert (
        loop["withParam"] == "{{tasks.for-loop-1.outputs.parameters.size-Output}}" and "withItems" not in loop
    )


def test_a_workflow_without_loop_outputs_is_left_as_it_was() -> None:
    workflow = _workflow()
    del workflow["spec"]["templates"][1]["outputs"]
    workflow["spec"]["templates"][0]["dag"]["tasks"].pop()
    before = copy.deepcopy(workflow)
    assert collect_loop_outputs(workflow) == before
