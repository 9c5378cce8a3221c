"""The compiled Argo Workflow, read once per DAG: the self-check's ordering and the report's facts.

The worker that compiles a DAG parses its YAML once (`load_workflow`); the self-check reads the
ordering from that parse and `step_settings` / `workflow_parameters` what each KFP step really
got (retry, timeout) and the pipeline's parameters, which travel to the report in
conversion.json, so the report does not parse every workflow a second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

# libyaml's parser when PyYAML has it: the same documents, several times faster than pure Python
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class StepInfo:
    retry: str
    timeout: str


def load_workflow(yaml_text: str) -> Any:
    """The workflow's outline: the whole text parsed by libyaml, and built into Python values only
    where the self-check and the report look (entrypoint, parameters, each template's name, DAG,
    retry and timeout; `container` stands as {} for a container template). Building every
    container's command, arguments and annotations was half the cost of reading."""
    root = yaml.compose(yaml_text, Loader=_YAML_LOADER)
    if not isinstance(root, yaml.MappingNode):
        return yaml.load(yaml_text, Loader=_YAML_LOADER)  # not a workflow: the plain parse says what it is
    build = yaml.constructor.SafeConstructor()
    workflow = {key: (build.construct_object(value, deep=True) if key != "spec" else value)
                for key, value in _pairs(root) if key in ("apiVersion", "kind", "metadata", "spec")}
    spec_node = workflow.get("spec")
    if not isinstance(spec_node, yaml.MappingNode):
        workflow.pop("spec", None)
        return workflow
    spec: dict[str, Any] = {}
    for key, value in _pairs(spec_node):
        if key == "templates" and isinstance(value, yaml.SequenceNode):
            spec[key] = [_template(build, node) for node in value.value]
        elif key in ("entrypoint", "arguments"):
            spec[key] = build.construct_object(value, deep=True)
    workflow["spec"] = spec
    return workflow


_TEMPLATE_KEYS = ("name", "dag", "retryStrategy", "activeDeadlineSeconds")


def _template(build: yaml.constructor.SafeConstructor, node: yaml.Node) -> Any:
    if not isinstance(node, yaml.MappingNode):
        return build.construct_object(node, deep=True)
    template: dict[str, Any] = {}
    for key, value in _pairs(node):
        if key in _TEMPLATE_KEYS:
            template[key] = build.construct_object(value, deep=True)
        elif key == "container":
            template[key] = {}
    return template


def _pairs(node: yaml.MappingNode) -> list[tuple[Any, yaml.Node]]:
    """A mapping node's (plain key, value node) pairs; a key that is not a plain scalar is skipped."""
    return [(key.value, value) for key, value in node.value if isinstance(key, yaml.ScalarNode)]


def duration(seconds: float | int) -> str:
    seconds = float(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def step_settings(workflow: Any) -> dict[str, StepInfo]:
    """Retry and timeout of every container step, by template name; {} for a malformed workflow."""
    try:
        templates = workflow["spec"]["templates"]
    except (KeyError, TypeError):
        return {}
    steps = {}
    for template in templates:
        if not isinstance(template, Mapping) or "container" not in template:
            continue
        strategy = template.get("retryStrategy") or {}
        retry = ""
        if strategy:
            retry = f"{strategy.get('limit', '?')} ({strategy.get('retryPolicy', 'OnFailure')}"
            backoff = strategy.get("backoff") or {}
            if backoff.get("duration"):
                retry += f", backoff {backoff['duration']}"
            if backoff.get("factor"):
                retry += f" x{backoff['factor']}"
            retry += ")"
        deadline = template.get("activeDeadlineSeconds")
        steps[str(template["name"])] = StepInfo(retry, duration(deadline) if deadline else "")
    return steps


def workflow_parameters(workflow: Any) -> tuple[str, ...]:
    """The names of the workflow's (the pipeline's) parameters."""
    try:
        parameters = workflow["spec"].get("arguments", {}).get("parameters", [])
    except (KeyError, TypeError, AttributeError):
        return ()
    return tuple(str(p["name"]) for p in parameters if isinstance(p, dict) and "name" in p)
