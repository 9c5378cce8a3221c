"""What the compiled workflows say: depends per trigger rule, conditions, loops, failFast, names."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from airflow2kfp.kfp2.client import find_kfp2_python
from airflow2kfp.mapping.control_flow import LOOP_ARGUMENT_ATTRIBUTES, item_field
from airflow2kfp.pipeline import ConvertOptions
from airflow2kfp.run import STATIC, convert_all

# the two upstreams every rule task has: `extract` (never skipped) and `optional` (after a
# short-circuit, so inside a condition: its node is the condition, which can be Skipped)
RULE_DEPENDS = {
    "all_success": "extract.Succeeded && {o}.Succeeded",
    "all_failed": "(extract.Failed || extract.Errored) && ({o}.Failed || {o}.Errored || {o}.Omitted)",
    "all_done": "(extract.Succeeded || extract.Failed || extract.Errored) && "
    "({o}.Succeeded || {o}.Failed || {o}.Errored || {o}.Skipped || {o}.Omitted)",
    "all_done_min_one_success": "!{o}.Skipped && (extract.Succeeded || {o}.Succeeded)",
    "all_skipped": "extract.Skipped && {o}.Skipped",
    "one_success": "extract.Succeeded || {o}.Succeeded",
    "one_failed": "extract.Failed || extract.Errored || {o}.Failed || {o}.Errored || {o}.Omitted",
    "one_done": "extract.Succeeded || extract.Failed || extract.Errored || {o}.Succeeded || {o}.Failed || {o}.Errored",
    "none_failed": "!(extract.Failed || extract.Errored) && !({o}.Failed || {o}.Errored || {o}.Omitted)",
    "none_failed_min_one_success": "!(extract.Failed || extract.Errored) && !({o}.Failed || {o}.Errored || {o}.Omitted)"
    " && (extract.Succeeded || {o}.Succeeded)",
    "none_skipped": "(extract.Succeeded || extract.Failed || extract.Errored) && !{o}.Skipped",
}


@pytest.mark.parametrize("rule", sorted(RULE_DEPENDS))
def test_each_trigger_rule_compiles_to_its_depends(convert, rule: str) -> None:
    flow = convert("cf_trigger_rules")
    optional = flow.stand_in("optional")
    assert optional.startswith("condition-")
    node = flow.entry[f"on-{rule.replace('_', '-')}"]
    assert "dependencies" not in node
    assert node["depends"] == RULE_DEPENDS[rule].format(o=optional)
    assert flow.task(f"on_{rule}")["trigger_rule"] == rule


def test_always_starts_without_waiting(convert) -> None:
    flow = convert("cf_trigger_rules")
    node = flow.entry["on-always"]
    assert "dependencies" not in node and "depends" not in node
    assert "trigger_rule always" in flow.python


def test_default_rule_without_skippable_upstream_keeps_plain_dependencies(convert) -> None:
    flow = convert("cf_trigger_rules")
    assert flow.entry["plain-after-extract"]["dependencies"] == ["extract"]
    assert "depends" not in flow.entry["plain-after-extract"]
    assert flow.task("plain_after_extract")["semantics"] == {"verdict": "exact", "differences": []}


def test_one_rules_report_that_argo_waits_for_all(convert) -> None:
    flow = convert("cf_trigger_rules")
    for rule in ("one_success", "one_failed", "one_done"):
        task = flow.task(f"on_{rule}")
        assert task["semantics"]["verdict"] == "differs"
        assert "every upstream step finished" in task["semantics"]["differences"][0]
    codes = {(d["task_id"], d["code"]) for d in flow.record["diagnostics"]}
    assert ("on_one_success", "A2K305") in codes and ("on_all_failed", "A2K305") not in codes


def test_every_dag_template_runs_on_after_a_failure(convert) -> None:
    for stem in ("cf_trigger_rules", "cf_mapping", "cf_branch_join"):
        dags = [t for t in convert(stem).workflow["spec"]["templates"] if "dag" in t]
        assert dags and all(t["dag"]["failFast"] is False for t in dags)


def test_branch_paths_are_conditions_on_the_decision(convert) -> None:
    flow = convert("cf_branch_join")
    for task_id in ("small_path", "large_path", "audit"):
        node = flow.entry[flow.stand_in(task_id.replace("_", "-"))]
        output = f"follow_{task_id}"
        assert node["when"] == f'"{{{{tasks.branch.outputs.parameters.branch-{output}}}}}" == "true"'
        assert node["dependencies"] == ["branch"]
    # the decider is a Python step running the DAG's callable, and returns the decision per path
    program = "\n".join(flow.templates["branch"]["container"]["command"])
    assert 'return "small_path"' in program and 'for t in ("small_path", "large_path", "audit")' in program


def test_join_runs_once_after_whichever_branch_ran(convert) -> None:
    flow = convert("cf_branch_join")
    small, audit = flow.stand_in("small-path"), flow.stand_in("audit")
    join = flow.entry["join"]["depends"]
    assert join.endswith(
        "(small-path-stand.Succeeded || large-more.Succeeded || audit-stand.Succeeded)".replace(
            "small-path-stand", small
        ).replace("audit-stand", audit)
    )
    # after a skipped path (condition Skipped, or Omitted behind one) nothing counts as failed
    assert f"!({small}.Failed || {small}.Errored || {small}.Omitted)" in join
    assert "(large-more.Omitted && (" in join  # large_more was Omitted: failed only if large_path failed
    # a task after a conditional one needs its upstream Succeeded, not merely Skipped
    assert flow.entry["large-more"]["depends"] == f"{flow.stand_in('large-path')}.Succeeded"
    assert flow.entry["after-join"]["dependencies"] == ["join"]  # the join itself is never Skipped


def test_day_of_week_branch_decides_from_the_date(convert) -> None:
    flow = convert("cf_branch_join")
    program = flow.templates["is-weekend"]["container"]["command"][2]
    assert 'DAYS = ["SATURDAY", "SUNDAY"]' in program and "weekend_job" in program
    assert flow.task("is_weekend")["mapping"] == "direct"


def test_short_circuit_guards_everything_downstream_whose_rule_could_fire(convert) -> None:
    flow = convert("cf_short_circuit")
    when = '"{{tasks.check.outputs.parameters.check-proceed}}" == "true"'
    assert flow.entry[flow.stand_in("load")]["when"] == when
    cleanup = flow.entry[flow.stand_in("cleanup")]  # all_done: it would run after a skip, so guarded too
    assert (
        cleanup["when"] == when and "check.Succeeded || check.Failed || check.Errored" in cleanup["depends"]
    )
    assert (
        "publish" in flow.entry and flow.entry["publish"]["depends"] == f"{flow.stand_in('load')}.Succeeded"
    )


def test_short_circuit_respecting_downstream_rules_guards_only_direct_tasks(convert) -> None:
    flow = convert("cf_short_circuit")
    assert flow.stand_in("first").startswith("condition-")
    assert flow.stand_in("always-done") == "always-done"
    assert "Skipped" in flow.entry["always-done"]["depends"]


def test_mapped_tasks_become_loops(convert) -> None:
    flow = convert("cf_mapping")
    per_file = flow.entry[flow.stand_in("per-file")]
    assert per_file["withItems"] == ["echo 1", "echo 2", "echo 3"]
    sizes = flow.entry[flow.stand_in("size")]
    assert sizes["withParam"] == "{{tasks.list-files.outputs.parameters.list-files-Output}}"
    by_kwargs = flow.entry[flow.stand_in("by-kwargs")]
    assert by_kwargs["withItems"] == [{"bash_command": "echo x"}, {"bash_command": "echo y"}]
    # the step gets the loop item as its bash command
    assert flow.templates["per-file"]["container"]["command"] == [
        "bash",
        "-c",
        "{{inputs.parameters.loop-item-param-1}}",
    ]
    assert flow.task("any_done")["semantics"]["verdict"] == "differs"


def test_teardown_runs_after_failed_work_when_its_setup_succeeded(convert) -> None:
    flow = convert("cf_setup_teardown")
    assert flow.entry["delete-cluster"]["depends"] == (
        "(report.Succeeded || report.Failed || report.Errored || report.Omitted) && create-cluster.Succeeded"
    )
    assert flow.task("delete_cluster")["trigger_rule"] == "all_done_setup_success"
    assert flow.entry["after-teardown"]["dependencies"] == ["delete-cluster"]


def test_group_paths_are_kept_in_names(convert) -> None:
    flow = convert("cf_groups")
    assert {
        "extract-sources-api",
        "extract-sources-db",
        "extract-merge",
        "flat-task",
        "publish-upload",
    } <= set(flow.entry)
    assert flow.task("extract.sources.api")["group"] == "extract.sources"
    assert "# task group: extract.sources" in flow.python


def test_edge_labels_are_comments(convert) -> None:
    flow = convert("cf_labels")
    assert "# label decide -> accept: 'valid rows'" in flow.python
    assert "# label validate -> decide: 'checked'" in flow.python


def test_running_the_generated_file_reproduces_the_yaml(convert, tmp_path) -> None:
    flow = convert("cf_branch_join")
    target = tmp_path / "again.yaml"
    subprocess.run([sys.executable, str(flow.python_path), str(target)], check=True, capture_output=True)
    assert target.read_text() == flow.yaml_path.read_text()


def test_a_field_named_like_a_loop_variables_attribute_is_read_through_getattr() -> None:
    assert item_field("pairs_item", "size") == "pairs_item.size"
    # `pairs_item.name` is the loop argument's own name in kfp 1.8 and 2 ('Output-loop-item')
    assert item_field("pairs_item", "name") == "pairs_item.__getattr__('name')"
    assert item_field("pairs_item", "value") == "pairs_item.__getattr__('value')"
    assert item_field("pairs_item", "task") == "pairs_item.__getattr__('task')"


def _attributes(source: str, python: str) -> set[str]:
    result = subprocess.run([python, "-c", source], check=True, capture_output=True, text=True)
    return set(result.stdout.split())


KFP1_LOOP = """
from kfp.dsl._for_loop import LoopArguments
from kfp.dsl._pipeline_param import PipelineParam
for loop in (LoopArguments.from_pipeline_param(PipelineParam(name='out', op_name='op')),
             LoopArguments([1, 2], code='abc')):
    print(*(a for a in dir(loop) if not a.startswith('__')))
"""
KFP2_LOOP = """
from kfp.dsl import for_loop, pipeline_channel
channel = pipeline_channel.PipelineParameterChannel(name='Output', channel_type='List', task_name='t')
for loop in (for_loop.LoopParameterArgument.from_pipeline_channel(channel),
             for_loop.LoopParameterArgument.from_raw_items([1, 2], name_code='1')):
    print(*(a for a in dir(loop) if not a.startswith('__')))
"""


def test_every_attribute_of_a_loop_variable_is_known_in_kfp_1_and_2() -> None:
    assert _attributes(KFP1_LOOP, sys.executable) <= LOOP_ARGUMENT_ATTRIBUTES
    kfp2 = find_kfp2_python()
    if kfp2 is None:
        pytest.skip("no kfp 2.x interpreter (scripts/setup_kfp2_env.sh)")
    assert _attributes(KFP2_LOOP, str(kfp2)) <= LOOP_ARGUMENT_ATTRIBUTES


CROSS_PRODUCT_DAG = """
from datetime import datetime
from airflow.decorators import task, task_group
from airflow.models.dag import DAG
from airflow.operators.bash import BashOperator

with DAG("named_fields", start_date=datetime(2024, 1, 1), schedule=None):
    @task
    def sizes() -> list[int]:
        return [10, 20]

    @task
    def names() -> list[str]:
        return ["eu", "us"]

    @task
    def label(value: int, name: str) -> str:
        return f"{name}:{value}"

    label.expand(value=sizes(), name=names())

    @task
    def people() -> list[dict]:
        return [{"name": "ada", "value": 1}, {"name": "alan", "value": 2}]

    @task_group
    def greet(name: str, value: int):
        label.override(task_id="hello")(value=value, name=name)

    greet.expand_kwargs(people())
    BashOperator.partial(task_id="echo").expand_kwargs([{"bash_command": "echo $N", "env": {"N": "1"}}])
"""


def test_a_field_called_name_reaches_the_step_as_the_items_field(tmp_path) -> None:
    """In a loop over a step's output (a cross product's items, an upstream's dicts) through
    `__getattr__`; over literal dicts as the plain attribute kfp sets for each key."""
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "named_fields.py").write_text(CROSS_PRODUCT_DAG)
    result = convert_all([tmp_path / "dags"], tmp_path / "out", ConvertOptions(), settings=STATIC)
    (record,) = json.loads(result.summary_path.read_text())["dags"]
    assert record["status"] == "converted", record["diagnostics"]
    python = (tmp_path / "out" / record["python"]).read_text()
    assert 'value=label_item.__getattr__("value")' in python
    assert 'name=label_item.__getattr__("name")' in python
    assert 'value=greet_kwargs.__getattr__("value")' in python
    assert 'name=greet_kwargs.__getattr__("name")' in python
    assert "echo_kwargs.bash_command" in python and "echo_kwargs.env__N" in python
    workflow = yaml.safe_load((tmp_path / "out" / record["yaml"]).read_text())
    entry = next(t for t in workflow["spec"]["templates"] if t["name"] == workflow["spec"]["entrypoint"])
    for loop in (t for t in entry["dag"]["tasks"] if "withParam" in t):  # label's and greet's
        arguments = {p["value"] for p in loop["arguments"]["parameters"]}
        assert {"{{item.value}}", "{{item.name}}"} <= arguments
