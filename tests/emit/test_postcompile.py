"""The post-compile rewrite on small workflows: stand-ins, key order, refusals, failFast."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import pytest
import yaml
from kfp.components._yaml_utils import dump_yaml, load_yaml  # kfp's own, to compare with

from airflow2kfp.emit.postcompile import apply_trigger_rules, run_on_after_failures, support_source
from airflow2kfp.emit.postcompile import dump_yaml as support_dump_yaml
from airflow2kfp.emit.postcompile import load_yaml as support_load_yaml

GOLDENS = Path(__file__).resolve().parents[1] / "goldens" / "dags"

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
spec:
  entrypoint: p
  templates:
  - name: condition-1
    dag:
      tasks:
      - {name: b, template: b}
  - name: p
    dag:
      tasks:
      - {name: a, template: a}
      - name: condition-1
        template: condition-1
        when: x == y
        dependencies: [a]
      - name: c
        template: c
        dependencies: [a, condition-1]
  - name: a
    container: {image: alpine}
  - name: b
    container: {image: alpine}
  - name: c
    container: {image: alpine}
"""


def tasks(workflow: dict) -> dict:
    entry = next(t for t in workflow["spec"]["templates"] if t["name"] == "p")
    return {t["name"]: t for t in entry["dag"]["tasks"]}


def test_a_step_inside_a_condition_is_named_by_its_condition_node() -> None:
    workflow = apply_trigger_rules(load_yaml(WORKFLOW), {"c": "a.Succeeded && (b.Succeeded || b.Skipped)"})
    c = tasks(workflow)["c"]
    assert c["depends"] == "a.Succeeded && (condition-1.Succeeded || condition-1.Skipped)"
    assert list(c) == ["name", "template", "depends"]  # where `dependencies` was


def test_a_condition_node_takes_the_rule_of_the_step_inside() -> None:
    workflow = apply_trigger_rules(load_yaml(WORKFLOW), {"b": "a.Failed"})
    node = tasks(workflow)["condition-1"]
    assert node["depends"] == "a.Failed" and node["when"] == "x == y" and "dependencies" not in node


def test_without_rules_only_fail_fast_changes() -> None:
    before = dump_yaml(load_yaml(WORKFLOW))
    after = dump_yaml(apply_trigger_rules(run_on_after_failures(load_yaml(WORKFLOW)), {}))
    assert after.replace("      failFast: false\n", "") == before
    assert after.count("failFast: false") == 2


def test_a_rule_that_drops_an_ordering_the_compiler_made_is_refused() -> None:
    with pytest.raises(ValueError, match="orders it after"):
        apply_trigger_rules(load_yaml(WORKFLOW), {"c": "a.Succeeded"})


def test_upstreams_in_different_templates_are_refused() -> None:
    workflow = load_yaml(
        WORKFLOW.replace(
            "      - {name: b, template: b}", "      - {name: b, template: b}\n      - {name: d, template: a}"
        )
    )
    with pytest.raises(ValueError, match="not all in one DAG template"):
        apply_trigger_rules(workflow, {"d": "b.Succeeded && a.Succeeded"})


def test_the_generated_files_carry_exactly_this_code() -> None:
    namespace: dict = {"yaml": yaml}  # the generated file imports it
    exec(support_source(trigger_rules=True), namespace)  # noqa: S102 - our own module's text
    assert set(namespace) >= {"apply_trigger_rules", "_dag_paths", "load_yaml", "dump_yaml"}
    assert (
        "import" not in support_source(trigger_rules=True).split("def apply_trigger_rules")[0]
    )  # stdlib only, imported inside
    # without a rule: reading, writing and failFast only
    assert "apply_trigger_rules" not in support_source() and "run_on_after_failures" in support_source()


@pytest.mark.parametrize("path", sorted(GOLDENS.glob("*/pipelines/*.yaml")), ids=lambda p: p.stem)
def test_the_support_code_reads_and_writes_yaml_as_kfp_does(path) -> None:
    """The generated file's own load_yaml/dump_yaml (kfp's public API has none) give kfp's bytes."""
    text = path.read_text(encoding="utf-8")
    assert support_dump_yaml(support_load_yaml(text)) == dump_yaml(load_yaml(text))
    tricky = {"a": "yes", "b": "Off", "c": "two\nlines", "d": OrderedDict(z=1, a=[None, 1.5, True]), "e": ""}
    assert support_dump_yaml(tricky) == dump_yaml(tricky)


def test_an_input_from_a_task_the_rule_waits_for_through_another_is_no_extra_ordering() -> None:
    # c reads an output of a (an XCom pulled from a task further up): the compiler orders c after a,
    # which condition-1's own wait for a already implies
    workflow = load_yaml(WORKFLOW)
    workflow = apply_trigger_rules(workflow, {"c": "b.Succeeded || b.Failed"})
    assert tasks(workflow)["c"]["depends"] == "condition-1.Succeeded || condition-1.Failed"
    assert "dependencies" not in tasks(workflow)["c"]
