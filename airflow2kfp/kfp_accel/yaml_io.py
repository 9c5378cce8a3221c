"""kfp's YAML through libyaml (PyYAML's C binding) where it writes and reads what PyYAML's pure-Python
emitter and parser would; kfp's own functions everywhere else.

kfp 1.8 dumps every workflow twice (the write, then `_validate_workflow`) and parses every component
it loads with PyYAML's pure-Python emitter and parser: most of a compilation.

Dumping: libyaml and PyYAML write the same bytes for mappings and lists of printable ASCII text
(`plain_text`); they differ elsewhere: escaped strings (non-ASCII, control characters; also
multi-line text that cannot be a `|` block, i.e. with a space before a line break or at its end),
whose long lines PyYAML breaks at escapes and libyaml does not; a `|+` block (text ending with two
line breaks), after which libyaml ends the document with `...`; an empty key (`? ''`) and keys long
or multi-line enough to be complex (PyYAML from ~124 characters, libyaml from 129); a lone scalar
document (PyYAML adds `...`). Such data goes to kfp's own dumper. The nodes for libyaml are PyYAML's
own, built by `_OrderedDumper.represent_data` for exact dicts, lists, strings, ints, bools and None
as PyYAML's representers would (the same nodes, styles, aliases), and `resolve`, which the C
serializer calls twice a scalar, is memoised for the dump (its tables do not change meanwhile).

Loading: both parsers build the same events for ASCII text; a text libyaml rejects (lone surrogate
escapes) or a non-ASCII one goes to kfp's own loader.

`loaded_copy` is what loading the dumped text gives, built without the text (deferred_write.py
hands it to the generated file's re-read).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import yaml

_MAPPING_TAG = yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG
_FORCED_QUOTES = frozenset(("y", "n", "yes", "no", "true", "false", "on", "off"))
_STR_TAG = "tag:yaml.org,2002:str"
_ScalarNode, _MappingNode, _SequenceNode = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode


class NotPlain(Exception):
    """The data holds something libyaml may write otherwise than PyYAML, or the hand-off does not
    vouch for."""


class OrderedDumper(yaml.CDumper):
    """kfp.components._yaml_utils.dump_yaml's OrderedDumper, on the C emitter.

    Its nodes are PyYAML's own, built without the generic dispatch for the types a workflow is made
    of, and the C serializer's two `resolve` calls a scalar are memoised for the dump.
    """

    plain_only = False  # PlainDumper: raise NotPlain where plain_text would say False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resolved: dict[str, str] = {}

    def represent_data(self, data: Any) -> yaml.Node:
        """BaseRepresenter.represent_data and the representers below, inlined for exact types."""
        kind = type(data)
        if kind is str:
            if self.plain_only and not plain_string(data):
                raise NotPlain
            style = "|" if "\n" in data else None  # as represent_str
            if data.lower() in _FORCED_QUOTES:
                style = '"'
            return _ScalarNode(_STR_TAG, data, None, None, self.default_style if style is None else style)
        if kind is dict or kind is OrderedDict or kind is list:
            # not an ignore_aliases type: a second sight of the object is the same node (an alias)
            objects = self.represented_objects
            alias_key = id(data)
            if alias_key in objects:
                return objects[alias_key]
            self.object_keeper.append(data)
            represent = self.represent_data
            best_style = True
            if kind is list:  # SafeRepresenter.represent_list -> represent_sequence
                items: list[Any] = []
                node = objects[alias_key] = _SequenceNode("tag:yaml.org,2002:seq", items, None, None, None)
                for item in data:
                    item_node = represent(item)
                    if best_style and not (isinstance(item_node, _ScalarNode) and not item_node.style):
                        best_style = False
                    items.append(item_node)
            else:  # represent_dict -> represent_mapping, in the dict's order
                if self.plain_only and ("" in data or not all(simple_key(key) for key in data)):
                    raise NotPlain
                pairs: list[Any] = []
                node = objects[alias_key] = _MappingNode(_MAPPING_TAG, pairs, None, None, None)
                for key, value in data.items():
                    key_node, value_node = represent(key), represent(value)
                    if best_style and not (
                        isinstance(key_node, _ScalarNode)
                        and not key_node.style
                        and isinstance(value_node, _ScalarNode)
                        and not value_node.style
                    ):
                        best_style = False
                    pairs.append((key_node, value_node))
            node.flow_style = best_style if self.default_flow_style is None else self.default_flow_style
            return node
        if kind is int:  # SafeRepresenter.represent_int
            return _ScalarNode("tag:yaml.org,2002:int", str(data), None, None, self.default_style)
        if kind is bool:  # SafeRepresenter.represent_bool
            value = "true" if data else "false"
            return _ScalarNode("tag:yaml.org,2002:bool", value, None, None, self.default_style)
        if data is None:  # SafeRepresenter.represent_none
            return _ScalarNode("tag:yaml.org,2002:null", "null", None, None, self.default_style)
        if self.plain_only and isinstance(data, str | dict | list):
            raise NotPlain  # subclasses: kfp's dumper, as their text is not looked at here
        return super().represent_data(data)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        """BaseResolver.resolve, its scalar answers memoised for one dump (the tables do not change)."""
        if kind is _ScalarNode and not self.yaml_path_resolvers:
            if not implicit[0]:
                return self.DEFAULT_SCALAR_TAG
            tag = self._resolved.get(value)
            if tag is None:
                tag = self._resolved[value] = super().resolve(kind, value, implicit)
            return tag
        return super().resolve(kind, value, implicit)


def represent_dict(dumper: yaml.CDumper, data: dict) -> yaml.Node:
    return dumper.represent_mapping(_MAPPING_TAG, data.items())


def represent_str(dumper: yaml.CDumper, data: str) -> yaml.Node:
    # as kfp: multi-line text as a `|` block, YAML 1.1 booleans quoted
    style = "|" if "\n" in data else None
    if data.lower() in _FORCED_QUOTES:
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style)


OrderedDumper.add_representer(OrderedDict, represent_dict)
OrderedDumper.add_representer(dict, represent_dict)
OrderedDumper.add_representer(str, represent_str)


class PlainDumper(OrderedDumper):
    """OrderedDumper that gives up (NotPlain) where plain_text would say False, as it goes."""

    plain_only = True


class _OrderedLoader(yaml.CSafeLoader):
    """kfp.components._yaml_utils.load_yaml's OrderedLoader, on the C parser."""


def _construct_mapping(loader: yaml.CSafeLoader, node: yaml.MappingNode) -> OrderedDict:
    loader.flatten_mapping(node)
    return OrderedDict(loader.construct_pairs(node))


_OrderedLoader.add_constructor(_MAPPING_TAG, _construct_mapping)


def plain_string(text: str) -> bool:
    """Printable ASCII, or multi-line text both emitters write as a `|` block (as dump_yaml asks).

    Not as blocks: text with a space before a line break or at its end (double-quoted, and folded
    at escapes differently) and keys (see plain_text); nor text ending with two line breaks (or one
    alone): a `|+` block, after which libyaml ends the document with `...` where PyYAML does not.
    """
    if not text.isascii():
        return False
    if text.isprintable():
        return True
    return (
        text.replace("\n", "").isprintable()
        and not text.endswith(("\n\n", " "))
        and text != "\n"
        and " \n" not in text
    )


def plain_text(data: Any) -> bool:
    """True when every string in `data` is plain_string and every key a short line, not empty (see
    simple_key; PyYAML writes an empty key `? ''`, libyaml `''`)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not plain_string(item):
                return False
        elif isinstance(item, dict):
            if "" in item or not all(simple_key(key) for key in item):
                return False
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return True


def simple_key(key: Any) -> bool:
    """A key both emitters write as `key:`, not as `? key` (multi-line or long: PyYAML takes keys from
    ~124 characters as complex, libyaml from 129)."""
    if isinstance(key, str):
        return "\n" not in key and len(key) <= 100
    return not isinstance(key, int) or key.bit_length() < 300


def dump_yaml(data: Any) -> str:
    """kfp.components._yaml_utils.dump_yaml: libyaml's text for plain data (the same bytes), kfp's
    own dump otherwise."""
    # a workflow is a mapping; PyYAML ends a lone plain scalar with `...`, libyaml does not
    if isinstance(data, dict | list):
        try:  # plain_text(data), found out while building the nodes
            return yaml.dump(data, None, PlainDumper, default_flow_style=None)
        except NotPlain:
            pass
    return kfp_yaml().dump_yaml(data)


def load_yaml(stream: Any) -> Any:
    """kfp.components._yaml_utils.load_yaml: libyaml's parser for ASCII text (the same events), kfp's
    own loader otherwise, and for any text libyaml rejects (kfp's loader decides, and raises its own)."""
    if hasattr(stream, "read"):  # a text file (the generated post-compile step): the same as its text
        stream = stream.read()
    if isinstance(stream, str) and stream.isascii():
        try:
            return yaml.load(stream, _OrderedLoader)  # a safe loader (the C one)
        except yaml.YAMLError:
            pass
    return kfp_yaml().load_yaml(stream)


def loaded_copy(data: Any) -> Any:
    """What `load_yaml(dump_yaml(data))` gives, built without the text; raises NotPlain when unsure.

    Only for data made of exact dicts, OrderedDicts and lists (an object met twice is a YAML alias,
    which loads as one object, so it is copied once), strings and keys plain_text accepts (so the
    text is libyaml's), ints, bools and None: the loader reads these back as equal values, mappings
    as OrderedDicts (tests/kfp_accel/test_yaml_io.py checks types, values and sharing).
    """
    copies: dict[int, Any] = {}

    def copy_of(item: Any) -> Any:
        kind = type(item)
        if kind is str:
            if plain_string(item):
                return item
            raise NotPlain
        if kind is int or kind is bool or item is None:
            return item
        if kind is dict or kind is OrderedDict or kind is list:
            copied = copies.get(id(item))
            if copied is None:
                if kind is list:
                    copied = copies[id(item)] = []
                    copied.extend([copy_of(element) for element in item])
                else:
                    if "" in item:
                        raise NotPlain  # dump_yaml's kfp path (see plain_text)
                    copied = copies[id(item)] = OrderedDict()
                    for key, value in item.items():
                        if not simple_key(key):
                            raise NotPlain
                        copied[copy_of(key)] = copy_of(value)
            return copied
        raise NotPlain

    try:
        return copy_of(data)
    finally:
        # copy_of refers to itself (it recurses): through it, `copies` would leave every container
        # copied to the cyclic GC; emptied, they go as soon as the copy does
        copies.clear()


_UNRESOLVED = (
    "Internal compiler error: Found unresolved PipelineParam.\n"  # kfp's words
    "Please create a new issue at https://github.com/kubeflow/pipelines/issues attaching the pipeline "
    "code and the pipeline package."
)


def validating(kfp_validate: Callable[[dict], None]) -> Callable[[dict], None]:
    """kfp.compiler.compiler._validate_workflow without its second dump.

    kfp gives each pipeline argument without a value an empty one (in the workflow itself: its copy
    is shallow), as here, then dumps the workflow again only to look for `{{pipelineparam` in the
    text; looking in its strings finds the same (the marker has no character YAML would escape or
    fold at). With an `argo` binary on PATH kfp also lints: then kfp's own function runs.
    """

    def _validate_workflow(workflow: dict) -> None:
        import shutil

        if shutil.which("argo"):
            return kfp_validate(workflow)
        for argument in workflow["spec"].get("arguments", {}).get("parameters", []):  # as kfp
            if "value" not in argument:
                argument["value"] = ""
        stack: list[Any] = [workflow]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                if "{{pipelineparam" in item:
                    raise RuntimeError(_UNRESOLVED)
            elif isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, (list, tuple)):
                stack.extend(item)
        return None

    return _validate_workflow


def kfp_yaml() -> Any:
    """kfp.components._yaml_utils (imported on use: kfp may be imported lazily, see lazy_import.py)."""
    from kfp.components import _yaml_utils

    return _yaml_utils
