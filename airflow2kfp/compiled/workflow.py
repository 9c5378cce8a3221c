"""The compiled Argo Workflow, read once per DAG: the self-check's ordering and the report's facts.

The worker that compiles a DAG parses its YAML once (`load_workflow`); the self-check reads the
ordering from that parse and `step_settings` / `workflow_parameters` what each KFP step really
got (retry, timeout) and the pipeline's parameters, which travel to the report in
conversion.json, so the report does not parse every workflow a second time.

`load_workflow` reads libyaml's events once (`_Outline`): it composes nodes only for the parts
it keeps and passes over the rest by counting depth, building nothing (composing every node, with
the implicit-tag resolution of each scalar in Python, was most of the cost of a big workflow:
2,000 tasks, 4 MB, 0.65 s before, 0.3 s now). The nodes it keeps are those `yaml.compose` would
make (PyYAML's own Resolver gives their tags), and `_from_nodes` builds them with PyYAML's
SafeConstructor as it does the composed tree, so the values are the same, in the same order.
What the outline does not read as `yaml.compose` would (an anchor or alias, a root that is not
one mapping, an empty or multi-document stream, nesting past `_DEEP`) goes to `_load_composed`,
the compose-based reading. Malformed YAML raises the parser's own error either way: the outline
reads every event before building anything, as compose does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import yaml
from yaml.events import (
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

from airflow2kfp.results import StepInfo

# libyaml's parser when PyYAML has it: the same documents, several times faster than pure Python
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_workflow(yaml_text: str) -> Any:
    """The workflow's outline: the whole text parsed by libyaml, and built into Python values only
    where the self-check and the report look (entrypoint, parameters, each template's name, DAG,
    retry and timeout; `container` stands as {} for a container template). The same value as
    `_load_composed(yaml_text)`, or the same error."""
    try:
        root = _Outline(yaml_text).root()
    except (_Unusual, RecursionError):  # RecursionError: the caller's stack was nearly full
        return _load_composed(yaml_text)
    return _from_nodes(root)


def _load_composed(yaml_text: str) -> Any:
    """The whole text composed into nodes, then the outline's parts built: the reading the outline
    must equal, and its fallback."""
    root = yaml.compose(yaml_text, Loader=_YAML_LOADER)
    if not isinstance(root, yaml.MappingNode):
        return yaml.load(yaml_text, Loader=_YAML_LOADER)  # not a workflow: the plain parse says what it is
    return _from_nodes(root)


_WORKFLOW_KEYS = ("apiVersion", "kind", "metadata", "spec")
_SPEC_KEYS = ("entrypoint", "arguments")
_TEMPLATE_KEYS = ("name", "dag", "retryStrategy", "activeDeadlineSeconds")


def _from_nodes(root: MappingNode) -> dict[str, Any]:
    """The outline's values from a composed workflow: the whole tree, or `_Outline`'s part of it."""
    build = yaml.constructor.SafeConstructor()
    workflow = {
        key: (build.construct_object(value, deep=True) if key != "spec" else value)
        for key, value in _pairs(root)
        if key in _WORKFLOW_KEYS
    }
    spec_node = workflow.get("spec")
    if not isinstance(spec_node, yaml.MappingNode):
        workflow.pop("spec", None)
        return workflow
    spec: dict[str, Any] = {}
    for key, value in _pairs(spec_node):
        if key == "templates" and isinstance(value, yaml.SequenceNode):
            spec[key] = [_template(build, node) for node in value.value]
        elif key in _SPEC_KEYS:
            spec[key] = build.construct_object(value, deep=True)
    workflow["spec"] = spec
    return workflow


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


_Collection = TypeVar("_Collection", bound=CollectionNode)


class _Unusual(Exception):
    """The text has what the outline does not read as `yaml.compose` would: `_load_composed` reads it."""


class _Outline:
    """One pass over the parser's events, making the composed tree less what `_from_nodes` does
    not read: at the workflow, spec and template levels only the pairs it reads (by the key's text,
    as `_pairs` does), each kept value composed whole; every other subtree passed over.
    The stand-in `_NOTHING` marks a value whose content is not read (`container`, and a `spec` or
    `templates` that is not a mapping or a list, which `_from_nodes` leaves out)."""

    def __init__(self, yaml_text: str) -> None:
        self.loader = _YAML_LOADER(yaml_text)
        self.get: Callable[[], Event] = self.loader.get_event
        self.resolve = self.loader.resolve
        # (kind, value, implicit) -> tag: the resolver's answer depends on nothing else (no path
        # resolvers), and a workflow repeats its keys and values thousands of times
        self.tags: dict[tuple[type[Node], str | None, Any], str] = {}

    def root(self) -> MappingNode:
        try:
            if self.loader.yaml_path_resolvers:
                raise _Unusual  # tags that depend on the node's path: compose knows the path
            get = self.get
            get()  # the stream's start
            if get().__class__ is not DocumentStartEvent:
                raise _Unusual  # an empty stream
            event = get()
            if event.__class__ is not MappingStartEvent:
                raise _Unusual  # not a mapping: `yaml.load` says what it is
            root = self.mapping(event, _WORKFLOW)
            get()  # the document's end
            if get().__class__ is not StreamEndEvent:
                raise _Unusual  # another document: compose raises its own error
            return root
        finally:
            self.loader.dispose()

    def mapping(self, start: Event, keep: Mapping[str, Keep]) -> MappingNode:
        """The mapping that starts with `start`, with the pairs `keep` names, their values read by
        `keep`'s function; a key that is not a scalar is passed over with its value, as by `_pairs`."""
        node = self.collection(MappingNode, start)
        get, pairs = self.get, node.value
        event = get()
        while event.__class__ is not MappingEndEvent:
            read = keep.get(event.value) if event.__class__ is ScalarEvent else None
            if read is None:
                self.skip(event)
                self.skip(get())
            else:
                pairs.append((self.node(event), read(self, get())))
            event = get()
        node.end_mark = event.end_mark
        return node

    def spec(self, event: Event) -> Node:
        if event.__class__ is MappingStartEvent:
            return self.mapping(event, _SPEC)
        return self.nothing(event)

    def templates(self, event: Event) -> Node:
        if event.__class__ is not SequenceStartEvent:
            return self.nothing(event)
        node = self.collection(SequenceNode, event)
        get, items = self.get, node.value
        event = get()
        while event.__class__ is not SequenceEndEvent:
            # a template that is not a mapping is built whole, as `_template` does
            items.append(
                self.mapping(event, _TEMPLATE) if event.__class__ is MappingStartEvent else self.node(event)
            )
            event = get()
        node.end_mark = event.end_mark
        return node

    def nothing(self, event: Event) -> Node:
        self.skip(event)
        return _NOTHING

    def node(self, event: Event, depth: int = 0) -> Node:
        """The node that starts with `event`, composed as `yaml.compose` composes it."""
        cls = event.__class__
        if cls is ScalarEvent:
            if event.anchor is not None:
                raise _Unusual
            return ScalarNode(
                self.tag(ScalarNode, event.value, event),
                event.value,
                event.start_mark,
                event.end_mark,
                event.style,
            )
        if depth > _DEEP:
            raise _Unusual  # as in `skip`
        get, compose = self.get, self.node
        collection: MappingNode | SequenceNode
        if cls is MappingStartEvent:
            collection = self.collection(MappingNode, event)
            pairs = collection.value
            event = get()
            while event.__class__ is not MappingEndEvent:
                pairs.append((compose(event, depth + 1), compose(get(), depth + 1)))
                event = get()
        elif cls is SequenceStartEvent:
            collection = self.collection(SequenceNode, event)
            items = collection.value
            event = get()
            while event.__class__ is not SequenceEndEvent:
                items.append(compose(event, depth + 1))
                event = get()
        else:
            raise _Unusual  # an alias
        collection.end_mark = event.end_mark
        return collection

    def collection(self, kind: type[_Collection], start: Event) -> _Collection:
        """The collection node that starts with `start`, still empty; its tag as the composer gives it."""
        if start.anchor is not None:
            raise _Unusual
        return kind(self.tag(kind, None, start), [], start.start_mark, None, start.flow_style)

    def tag(self, kind: type[Node], value: str | None, event: Event) -> str:
        """The event's own tag, or (none, or `!`) the one the resolver gives, as the composer does."""
        tag = event.tag
        if tag is None or tag == "!":
            key = (kind, value, event.implicit)
            tag = self.tags.get(key)
            if tag is None:
                tag = self.tags[key] = self.resolve(*key)
        return tag

    def skip(self, event: Event) -> None:
        """Pass over the node that starts with `event`, building nothing. An anchor here is unusual
        too: compose checks that anchors are not repeated, and a kept alias may name it; and so is
        nesting beyond `_DEEP`, where the pure-Python composer may run out of stack."""
        get = self.get
        depth = 0
        while True:
            cls = event.__class__
            if cls is ScalarEvent:
                if event.anchor is not None:
                    raise _Unusual
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                depth -= 1
            elif cls is MappingStartEvent or cls is SequenceStartEvent:
                depth += 1
                if event.anchor is not None or depth > _DEEP:
                    raise _Unusual
            else:
                raise _Unusual  # an alias
            if not depth:
                return
            event = get()


_DEEP = 100  # levels of nesting; a workflow has about 10
Keep = Callable[[_Outline, Event], Node]
_NOTHING = ScalarNode("tag:yaml.org,2002:null", "")
_WORKFLOW: dict[str, Keep] = {**dict.fromkeys(_WORKFLOW_KEYS, _Outline.node), "spec": _Outline.spec}
_SPEC: dict[str, Keep] = {**dict.fromkeys(_SPEC_KEYS, _Outline.node), "templates": _Outline.templates}
_TEMPLATE: dict[str, Keep] = {**dict.fromkeys(_TEMPLATE_KEYS, _Outline.node), "container": _Outline.nothing}


def duration(seconds: float) -> str:
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
