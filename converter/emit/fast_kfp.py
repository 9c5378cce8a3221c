"""kfp 1.8's hot spots made cheaper in the converter's process, giving the same bytes as kfp's code.

kfp dumps every workflow twice (write, then validate) and parses every component it loads with
PyYAML's pure-Python emitter and parser, then builds the component's spec from the parsed dict
through typing introspection; the generated file's post-compile step reads the workflow back and
writes it again. The generated file's `named(...)` loads a component per task, each differing from
its base component only in its name. `install()` swaps, in this process only, module attributes
kfp calls (listed below); `bind()` does the same for the names the generated module imports for
its post-compile re-read and re-write. The generated files, run on their own, still use kfp's code
and give the same bytes (tests/core/test_fast_kfp.py, test_fast_strip.py, test_fast_getsource.py
and test_deferred_write.py check each swap, the e2e goldens the whole):

- Dumping (`dump_yaml`, the compiler's and the post-compile step's): libyaml and PyYAML write the
  same bytes for mappings and lists of printable ASCII text (`plain_text`), where they differ
  elsewhere: escaped strings (non-ASCII, control characters; also multi-line text that cannot be a
  `|` block, i.e. with a space before a line break or at its end), whose long lines PyYAML breaks
  at escapes and libyaml does not; a `|+` block (text ending with two line breaks), after which
  libyaml ends the document with `...`; an empty key (`? ''`) and keys long or multi-line enough to
  be complex (PyYAML from ~124 characters, libyaml from 129); a lone scalar document (PyYAML adds
  `...`). Such a workflow goes to kfp's own dumper. The nodes for libyaml are PyYAML's own, built
  by `_OrderedDumper.represent_data` for exact dicts, lists, strings, ints, bools and None as
  PyYAML's representers would (the same nodes, styles, aliases), and `resolve`, which the C
  serializer calls twice a scalar, is memoised for the dump (its tables do not change meanwhile).
- Post-compile re-read (`write_workflow` as `Compiler._write_workflow`, `load_workflow`): in
  compile_source (`deferred_write`), the compiler's YAML file is read back, once, by the generated
  step, which then writes its own. When the workflow is made of exact dicts, lists, plain strings
  (as above), ints, bools and None, what the loader would build from that text is known without it:
  `loaded_copy`, the same values, mappings as OrderedDicts, one object for an object met twice (a
  YAML alias). So the compiler's write keeps such a copy, taken at once (kfp's own validation may
  change the workflow afterwards), and puts a placeholder in the file; the re-read of exactly the
  placeholder takes the copy (once: its only owner then), any other text is parsed. compile_source
  vouches for the result only when the hand-off took the copy and the placeholder is gone from the
  final text, or the final text is the placeholder itself (then it is the copy's YAML, kfp's text);
  else, or when the step failed with the placeholder not taken, it compiles again as kfp does.
- Loading (`load_yaml`): both parsers build the same events for ASCII text; a text libyaml rejects
  (lone surrogate escapes) or a non-ASCII one goes to kfp's own loader.
- Component specs: `ComponentSpec.from_dict` is a pure function of the dict, so the spec of a
  dict seen before (the name aside) is a copy of the earlier one with its own name and digest.
  `named(...)` passes JSON, which `json` reads as YAML would when it is ASCII without \\u escapes
  or floats (YAML 1.1 reads `1e5` as a string). A JSON text that is json.dumps' own writing of
  its dict, `{"name": "<name>", <rest>}`, read again with another plain name and the same rest, is
  that dict under the other name, so not read again (`_BY_REST`).
- Named copies: `named(...)` loads a component's own `spec.to_dict()` back under a new name;
  `ComponentSpec.to_dict` records the spec it serialises, and the load copies it (as the memo
  above) instead of rebuilding an equal spec. The named copies themselves are not recorded (the
  compiler serialises each task's; their content is their base's): at worst a miss, a from_dict.
- Introspection: kfp.components.modelbase asks `inspect.signature(obj.__init__)` for every object it
  serialises and `get_type_hints(cls.__init__)` for every one it builds (~35k calls on 100 DAGs).
  Both answers depend only on the function (a bound method's signature drops its first parameter,
  whatever the instance), and kfp defines its classes once, so modelbase sees memoised versions
  (`signature`, `get_type_hints`; each caller still gets a dict of its own).
- Parsing a string against a Union (a component's command-line items: `str` or one of ~10
  placeholder classes) tries every member, each failing with an exception whose message formats
  the value, to be sure only one fits; the answer is a function of the string's value and the type
  (`from_dict` of a class cannot read a string; no member has a side effect), and kfp then returns
  the string itself. `parse_object_from_struct_based_on_type` remembers the (string, Union) pairs
  that gave the string back and gives it back at once for them; any other pair, or any other
  value, is kfp's own function (which raises as kfp does).
- Docstrings: _python_op reads each Python component's parameter descriptions with
  `docstring_parser.parse(text)`, which runs all four of its parsers (each compiling its patterns
  anew) and keeps the result with the most entries, the first on a tie. A docstring of one line
  (after `inspect.cleandoc`) that starts with none of `:`, `@`, `.` and does not end with `:` has no
  entry in any of them (reST's and epydoc's start a line with `:`/`@`, numpydoc's need a second line
  or `..`, Google's a line ending with `:`), and none raises: the result is the reST parser's, which
  `parse_docstring` gives at once for it (tests/core/test_fast_kfp.py compares both).
- Name sanitisers (`sanitize_k8s_name` of kfp.compiler._k8s_helper and kfp.dsl._pipeline_param,
  `_naming._normalize_identifier_name`, `dsl_utils._sanitize_name`: a few regex substitutions each,
  ~60k calls for 2,000 tasks, over and over for the same names) are pure functions of their text:
  memoised for exact str (and bool) arguments (`_memoised_names`), anything else is kfp's call.
- `_python_op._module_is_builtin_or_standard(name)` (looks for the module's file in the standard
  library's folder, per Python component with a non-str input) is memoised by name; on CPython and
  POSIX it is a line-for-line copy that computes that folder as distutils' `get_python_lib(
  standard_lib=True)` does (base prefix, `sys.platlibdir`, `pythonX.Y`) instead of importing
  `distutils.sysconfig`, which imports setuptools (~0.15 s a process); tests/core/test_fast_kfp.py
  checks the two folders are the same.
- Type hints stripped from Python components' code (`_python_op.strip_type_hints`): kfp's lib2to3
  pass is cut with `ast` positions instead where that gives the same text, see fast_strip.py; the
  function's source read before (`inspect.getsource` as _python_op sees it) is found with `ast`
  too where that gives the same lines (fast_strip.getsource).
- Validation: kfp dumps the workflow a second time only to look for `{{pipelineparam` in the text;
  looking in its strings finds the same (the marker has no character YAML would escape or fold
  at). With an `argo` binary on PATH kfp also lints, so kfp's own validation runs.
- Data-passing rewrite: kfp.compiler._data_passing_rewriter deep-copies the workflow; its `copy`
  is one whose `deepcopy` walks exact dicts and lists itself, as copy.deepcopy does (a new one per
  container, copied once when met twice, immutable scalars kept) and leaves the rest to it.
- Line-for-line copies: `modelbase.convert_object_to_struct` (with the signature memo above and no
  `hasattr(value, "to_dict")` lookup for builtin values, which have none) and
  `_k8s_helper.convert_k8s_obj_to_json` (its per-call `from six import ...` and `from datetime
  import ...` done once: the same constants).
- Serialised PipelineParams (`{{pipelineparam:op=...;name=...}}`) are looked for in every string
  of every op (`match_serialized_pipelineparam`, `_extract_pipelineparams` in kfp.dsl); a string
  without the pattern's literal start `{{pipelineparam:op=` has none: [] without the regex.
- `extract_pipelineparams_from_any` (kfp.dsl._pipeline_param; ContainerOp.inputs asks it for every op
  several times, walking each op's V1Container attribute by attribute) is a line-for-line copy that
  does not call itself for a None item or attribute, whose answer is [] (`not None`): the same lists
  added, the same sets made.
- ContainerOp.__init__ proxies its container's public callables, calling getattr for every name
  `dir()` lists and skipping those starting with `_`; kfp.dsl._container_op's `dir` leaves those
  out beforehand (`public_dir`; getattr on them has no effect).
- Import: `import kfp` loads modules a v1 compilation never uses, ~30% of its time: the kubernetes
  package's `config`, `dynamic`, `watch`, `stream`, `utils` and `leaderelection` (imported by its
  `__init__` for their names only), kfp.v2.compiler (the v2 compiler, imported by v1's
  v2_compat) and kfp.containers.entrypoint (a component's container entry point). When kfp is not
  imported yet, `install()` imports it with these few loaded lazily (importlib's LazyLoader): each
  is a module object whose code runs when one of its attributes is first read, so anything that
  uses one gets it as if loaded at once. None of them changes anything at import that a compilation
  reads (tests/core/test_fast_kfp.py checks they stay unloaded through a compile and load on use).
- kubernetes' V1Container makes a `Configuration()` each (logger set-up, a CPU count) only to read
  its `client_side_validation` in setters; kfp makes one per task and never changes it, so they
  share one (`shared_configuration`).
- Op names: `Pipeline.add_op` makes each op's name unique against `list(self.ops.keys())`, a new
  list searched from the start for every op (quadratic in a big DAG); `add_op` asks the dict itself
  (`in` on its keys: the same answer for the same names).
- Cyclic garbage: each ContainerOp keeps ~27 closures that refer back to it (its proxies of
  Container's methods), so every op, and all it holds, is garbage only the cyclic GC can free: one
  pass over ~500 objects per task once compile_source turns GC back on. `released_ops()` notes the
  pipelines kfp builds within it and, on leaving, empties their ops' `__dict__` (the compilation is
  over; nothing reads them), so most of it is freed at once by reference counting. For the same
  reason `loaded_copy` and `deepcopy` empty their memo when done (their recursive closure would
  keep every container they copied), and two kfp functions run from their own source with one
  line changed (`_patched`: the same line numbers; kfp's function when its text is not as
  expected): `_components._resolve_command_line_and_paths` (twice a task) drops its two
  placeholder-expanding closures, which call each other, after their last use, and
  `modelbase.parse_object_from_struct_based_on_type` empties the map of the exceptions it caught,
  each holding its frame, which holds the map, once it has their messages or found the one type
  that fits (nothing reads it then).
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import functools
import hashlib
import importlib.abc
import importlib.util
import inspect
import json
import os
import sys
import types
import typing
import uuid
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import yaml

from converter.emit import fast_strip

_MAPPING_TAG = yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG
_FORCED_QUOTES = frozenset(("y", "n", "yes", "no", "true", "false", "on", "off"))


_STR_TAG = "tag:yaml.org,2002:str"
_ScalarNode, _MappingNode, _SequenceNode = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode


class _OrderedDumper(yaml.CDumper):
    """kfp.components._yaml_utils.dump_yaml's OrderedDumper, on the C emitter.

    Its nodes are PyYAML's own, built without the generic dispatch for the types a workflow is made
    of, and the C serializer's two `resolve` calls a scalar are memoised for the dump.
    """

    plain_only = False  # _PlainDumper: raise _NotPlain where plain_text would say False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resolved: dict[str, str] = {}

    def represent_data(self, data: Any) -> yaml.Node:
        """BaseRepresenter.represent_data and the representers below, inlined for exact types."""
        kind = type(data)
        if kind is str:
            if self.plain_only and not plain_string(data):
                raise _NotPlain
            style = "|" if "\n" in data else None  # as _represent_str
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
            else:  # _represent_dict -> represent_mapping, in the dict's order
                if self.plain_only and ("" in data or not all(_simple_key(key) for key in data)):
                    raise _NotPlain
                pairs: list[Any] = []
                node = objects[alias_key] = _MappingNode(_MAPPING_TAG, pairs, None, None, None)
                for key, value in data.items():
                    key_node, value_node = represent(key), represent(value)
                    if best_style and not (isinstance(key_node, _ScalarNode) and not key_node.style
                                           and isinstance(value_node, _ScalarNode) and not value_node.style):
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
            raise _NotPlain  # subclasses: kfp's dumper, as their text is not looked at here
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


def _represent_dict(dumper: yaml.CDumper, data: dict) -> yaml.Node:
    return dumper.represent_mapping(_MAPPING_TAG, data.items())


def _represent_str(dumper: yaml.CDumper, data: str) -> yaml.Node:
    # as kfp: multi-line text as a `|` block, YAML 1.1 booleans quoted
    style = "|" if "\n" in data else None
    if data.lower() in _FORCED_QUOTES:
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style)


_OrderedDumper.add_representer(OrderedDict, _represent_dict)
_OrderedDumper.add_representer(dict, _represent_dict)
_OrderedDumper.add_representer(str, _represent_str)


class _PlainDumper(_OrderedDumper):
    """_OrderedDumper that gives up (_NotPlain) where plain_text would say False, as it goes."""

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
    return (text.replace("\n", "").isprintable() and not text.endswith(("\n\n", " ")) and text != "\n"
            and " \n" not in text)


def plain_text(data: Any) -> bool:
    """True when every string in `data` is plain_string and every key a short line, not empty (see
    _simple_key; PyYAML writes an empty key `? ''`, libyaml `''`)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not plain_string(item):
                return False
        elif isinstance(item, dict):
            if "" in item or not all(_simple_key(key) for key in item):
                return False
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return True


def dump_yaml(data: Any) -> str:
    # a workflow is a mapping; PyYAML ends a lone plain scalar with `...`, libyaml does not
    if isinstance(data, dict | list):
        try:  # plain_text(data), found out while building the nodes
            return yaml.dump(data, None, _PlainDumper, default_flow_style=None)
        except _NotPlain:
            pass
    return _kfp_yaml().dump_yaml(data)


def _simple_key(key: Any) -> bool:
    """A key both emitters write as `key:`, not as `? key` (multi-line or long: PyYAML takes keys from
    ~124 characters as complex, libyaml from 129)."""
    if isinstance(key, str):
        return "\n" not in key and len(key) <= 100
    return not isinstance(key, int) or key.bit_length() < 300


class _NotPlain(Exception):
    """The data holds something libyaml may write otherwise than PyYAML, or the hand-off does not
    vouch for."""


def loaded_copy(data: Any) -> Any:
    """What `load_yaml(dump_yaml(data))` gives, built without the text; raises _NotPlain when unsure.

    Only for data made of exact dicts, OrderedDicts and lists (an object met twice is a YAML alias,
    which loads as one object, so it is copied once), strings and keys plain_text accepts (so the
    text is libyaml's), ints, bools and None: the loader reads these back as equal values, mappings
    as OrderedDicts (tests/core/test_fast_kfp.py checks types, values and sharing).
    """
    copies: dict[int, Any] = {}

    def copy_of(item: Any) -> Any:
        kind = type(item)
        if kind is str:
            if plain_string(item):
                return item
            raise _NotPlain
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
                        raise _NotPlain  # dump_yaml's kfp path (see plain_text)
                    copied = copies[id(item)] = OrderedDict()
                    for key, value in item.items():
                        if not _simple_key(key):
                            raise _NotPlain
                        copied[copy_of(key)] = copy_of(value)
            return copied
        raise _NotPlain

    try:
        return copy_of(data)
    finally:
        # copy_of refers to itself (it recurses): through it, `copies` would leave every container
        # copied to the cyclic GC; emptied, they go as soon as the copy does
        copies.clear()


class Unsure(Exception):
    """A deferred write may have been seen by something other than `load_workflow`."""


class _DeferredWrite:
    """The compiler's write of the workflow, kept in memory for the post-compile step's re-read."""

    def __init__(self) -> None:
        self.reset(armed=False)

    def reset(self, armed: bool) -> None:
        self.armed = armed
        self.placeholder: str | None = None  # what the file holds meanwhile
        self.workflow: Any = None  # loaded_copy of what the compiler would have written
        self.taken = False  # by load_workflow, once

    def write(self, workflow: Any, package_path: Any) -> bool:
        """Keep `workflow` instead of writing it to `package_path`; False when not armed or unsure."""
        if not self.armed or self.placeholder is not None:
            return False
        if not (isinstance(package_path, str) and package_path.endswith((".yaml", ".yml"))):
            return False  # kfp archives .zip and .tar.gz: its own write
        try:
            # a copy taken now: what the text would say even if `workflow` changes afterwards (kfp's
            # own _validate_workflow adds empty argument values), and shared with nobody
            copied = loaded_copy(workflow)
        except (_NotPlain, RecursionError):
            return False
        self.placeholder = f"# airflow2kfp: compiled workflow {uuid.uuid4().hex}, kept in memory\n"
        with open(package_path, "w") as stream:  # as kfp opens it
            stream.write(self.placeholder)
        self.workflow = copied
        return True

    def take(self, text: Any) -> Any:
        """The workflow, when `text` is the placeholder read back for the first time; else None."""
        if self.placeholder is None or self.taken or type(text) is not str or text != self.placeholder:
            return None
        self.taken = True
        return self.workflow  # handed over: its only owner from now on

    def pending(self) -> bool:
        """The placeholder is in the file and the hand-off has not taken the workflow."""
        return self.placeholder is not None and not self.taken

    def result(self, text: str) -> str:
        """The compiled file's final text as kfp's own write would have left it; Unsure when the
        placeholder may have been seen by anything but the hand-off."""
        if self.placeholder is None:
            return text
        if text == self.placeholder and not self.taken:  # nothing rewrote the compiler's output
            return dump_yaml(self.workflow)  # its text, as kfp's _write_workflow writes it
        if self.pending() or self.placeholder in text:
            raise Unsure
        return text


_DEFERRED = _DeferredWrite()


@contextlib.contextmanager
def deferred_write(armed: bool) -> Iterator[_DeferredWrite]:
    """Within: the compiler keeps the workflow in memory (when `armed`), see the module docstring."""
    _DEFERRED.reset(armed)
    try:
        yield _DEFERRED
    finally:
        _DEFERRED.reset(armed=False)


def write_workflow(workflow: Any, package_path: Any = None) -> Any:
    """kfp.compiler.Compiler._write_workflow, deferred within `deferred_write`."""
    if _DEFERRED.write(workflow, package_path):
        return None
    return _KFP_WRITE[0](workflow, package_path)


_KFP_WRITE: list[Any] = []


def load_workflow(stream: Any) -> Any:
    """load_yaml for the post-compile re-read: the compiler's workflow when it is the deferred one."""
    if hasattr(stream, "read"):
        stream = stream.read()
    workflow = _DEFERRED.take(stream)
    return load_yaml(stream) if workflow is None else workflow


def load_yaml(stream: Any) -> Any:
    if hasattr(stream, "read"):  # a text file (the generated post-compile step): the same as its text
        stream = stream.read()
    if isinstance(stream, str) and stream.isascii():
        try:
            return yaml.load(stream, _OrderedLoader)  # a safe loader (the C one)
        except yaml.YAMLError:
            pass  # kfp's own loader decides (and raises its own error)
    return _kfp_yaml().load_yaml(stream)


_NO_COMMAND = (  # kfp's own warning, word for word
    "Container component must specify command to be compatible with KFP v2 compatible mode and emissary "
    "executor, which will be the default executor for KFP v2."
    "https://www.kubeflow.org/docs/components/pipelines/installation/choose-executor/"
)
_SPECS: dict[str, Any] = {}  # component dict without its name, as JSON -> ComponentSpec
_MAX_SPECS = 512
# spec.to_dict() without its name, as JSON -> that spec: the generated `named(component, name)`
# serialises each Python component's spec and loads it back under the task's name; from_dict of a
# spec's own to_dict() is that spec again, so the copy spares the typing-driven rebuild
_SERIALISED: dict[str, Any] = {}
_MAX_SERIALISED = 256


# specs load_component_spec made (not recorded), by id: weak, as ModelBase hashes by repr()
_NAMED: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()


def _recording_to_dict(kfp_to_dict: Any) -> Any:
    @functools.wraps(kfp_to_dict)
    def to_dict(self: Any) -> Any:
        struct = kfp_to_dict(self)
        if _NAMED.get(id(self)) is self:
            # a named copy (the compiler serialises each task's): its content, the name aside, is
            # its base's, already recorded or memoised; a miss would only cost a from_dict
            return struct
        try:
            key = json.dumps({k: v for k, v in struct.items() if k != "name"})
        except (TypeError, ValueError, AttributeError):
            return struct
        if len(_SERIALISED) >= _MAX_SERIALISED:
            _SERIALISED.clear()
        _SERIALISED[key] = copy.copy(self)
        return struct

    return to_dict


def load_component_spec(text: str | bytes) -> Any:
    """kfp.components._components._load_component_spec_from_component_text, memoised by content."""
    from kfp.components.structures import ContainerImplementation

    named = _split_name(text) if isinstance(text, str) else None
    base = _seen_under_another_name(named[1]) if named is not None else None
    if base is not None:  # the JSON of a spec seen before under another name (see _BY_REST)
        spec = copy.copy(base)
        spec.name = named[0]  # type: ignore[index]
        _NAMED[id(spec)] = spec
    else:
        spec = _load_component_spec(text, named)
    if isinstance(spec.implementation, ContainerImplementation) and spec.implementation.container.command is None:
        warnings.warn(_NO_COMMAND, category=FutureWarning, stacklevel=2)
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    spec._digest = hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()
    return spec


def _load_component_spec(text: str | bytes, named: tuple[str, str] | None) -> Any:
    from kfp.components.structures import ComponentSpec

    component_dict = _json_as_yaml(text) if isinstance(text, str) else None
    from_json = component_dict is not None
    if component_dict is None:
        component_dict = load_yaml(text)
    try:
        key = json.dumps({k: v for k, v in component_dict.items() if k != "name"})
    except (TypeError, ValueError, AttributeError):  # not a plain mapping (dates...): no memo
        key = None
    name = component_dict.get("name")
    base = _SPECS.get(key) if key is not None and isinstance(name, (str, type(None))) else None
    if base is None and key is not None and isinstance(name, (str, type(None))):
        base = _SERIALISED.get(key)  # the text is a spec's own to_dict() (the generated `named`)
    if base is None:
        spec = ComponentSpec.from_dict(component_dict)
        base = copy.copy(spec)
        if key is not None and len(_SPECS) < _MAX_SPECS:
            _SPECS[key] = base
    else:
        spec = copy.copy(base)
        spec.name = name
        _NAMED[id(spec)] = spec
    if named is not None and from_json and key is not None:
        if len(_BY_REST) >= _MAX_SPECS:
            _BY_REST.clear()
        _BY_REST[named[1]] = (base, text)  # checked if the rest comes again
    return spec


# the text after `{"name": "<name>"` -> the spec (its name aside) of a text read by json that is
# exactly what json.dumps writes of its dict (so one "name" key): a text with the same rest and a
# plain name is that dict under the other name, the same key and spec above. Each entry is
# (spec, text) until a second text shows up with its rest, then checked: (spec, None).
_BY_REST: dict[str, tuple[Any, str | None]] = {}
_NAME_PREFIX = '{"name": "'


def _seen_under_another_name(rest: str) -> Any:
    entry = _BY_REST.get(rest)
    if entry is None:
        return None
    base, text = entry
    if text is not None:
        if json.dumps(json.loads(text, object_pairs_hook=OrderedDict)) != text:
            del _BY_REST[rest]
            return None
        _BY_REST[rest] = (base, None)
    return base


def _split_name(text: str) -> tuple[str, str] | None:
    """(name, the rest) of a text starting `{"name": "<printable ASCII, no escape>"`; else None."""
    if not text.startswith(_NAME_PREFIX):
        return None
    end = text.find('"', len(_NAME_PREFIX))
    name = text[len(_NAME_PREFIX):end]
    if end < 0 or "\\" in name or not (name.isascii() and name.isprintable()):
        return None
    return name, text[end + 1:]


def _json_as_yaml(text: str) -> Any:
    """`text` read with json when YAML would read it the same; None when unsure."""
    if not (text.startswith("{") and text.isascii() and "\\u" not in text):
        return None
    try:  # a float (`1.5`, `1e5`, `NaN`...) is unsure: json's hooks for them give up
        return json.loads(text, object_pairs_hook=OrderedDict, parse_float=_no_float, parse_constant=_no_float)
    except ValueError:
        return None


def _no_float(text: str) -> Any:
    raise ValueError(text)


def validate_workflow(workflow: dict) -> None:
    """kfp.compiler.compiler._validate_workflow without its second dump (see the module docstring)."""
    import shutil

    if shutil.which("argo"):
        return _KFP_VALIDATE[0](workflow)
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


_UNRESOLVED = ("Internal compiler error: Found unresolved PipelineParam.\n"  # kfp's words
               "Please create a new issue at https://github.com/kubeflow/pipelines/issues attaching the pipeline "
               "code and the pipeline package.")
_KFP_VALIDATE: list[Any] = []


_SIGNATURES: dict[Any, inspect.Signature] = {}  # function -> its bound methods' signature
_TYPE_HINTS: dict[Any, dict[str, Any]] = {}  # function -> typing.get_type_hints(function)


def signature(obj: Any) -> inspect.Signature:
    """inspect.signature, memoised for bound methods of plain functions (what modelbase asks for)."""
    if type(obj) is not types.MethodType or type(obj.__func__) is not types.FunctionType:
        return inspect.signature(obj)
    # a bound method's signature is its function's without the first parameter, whatever it is bound to
    function = obj.__func__
    found = _SIGNATURES.get(function)
    if found is None:
        found = _SIGNATURES[function] = inspect.signature(obj)
    return found


def get_type_hints(obj: Any) -> dict[str, Any]:
    """typing.get_type_hints for a plain function, memoised (modelbase asks with a class's __init__)."""
    if type(obj) is not types.FunctionType:
        return typing.get_type_hints(obj)
    found = _TYPE_HINTS.get(obj)
    if found is None:
        found = _TYPE_HINTS[obj] = typing.get_type_hints(obj)
    return dict(found)  # a dict of its own, as typing gives


class _MemoInspect:
    """The `inspect` module as kfp.components.modelbase sees it: `signature` memoised."""

    signature = staticmethod(signature)

    def __getattr__(self, name: str) -> Any:
        return getattr(inspect, name)


class _SourceInspect:
    """The `inspect` module as kfp.components._python_op sees it: `getsource` from fast_strip."""

    getsource = staticmethod(fast_strip.getsource)

    def __getattr__(self, name: str) -> Any:
        return getattr(inspect, name)


def deepcopy(data: Any, memo: dict[int, Any] | None = None) -> Any:
    """copy.deepcopy, doing itself what it does for exact dicts and lists (a new container per
    container, met-twice ones copied once) and for str, int, float, bool and None (the object
    itself); anything else is copy.deepcopy's, with the same memo."""
    owned = memo is None
    if memo is None:
        memo = {}

    def copy_of(item: Any) -> Any:
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None or kind is float:
            return item
        if kind is dict or kind is list:
            copied = memo.get(id(item))
            if copied is None:
                if kind is list:
                    copied = memo[id(item)] = []
                    copied.extend([copy_of(element) for element in item])
                else:
                    copied = memo[id(item)] = {}
                    for key, value in item.items():
                        copied[copy_of(key)] = copy_of(value)
            return copied
        return copy.deepcopy(item, memo)

    try:
        return copy_of(data)
    finally:
        if owned:
            memo.clear()  # copy_of refers to itself: see loaded_copy


_NO_TO_DICT = frozenset((str, int, float, bool, type(None), list, dict))  # builtins: never a to_dict


def _has_to_dict(value: Any) -> bool:
    return type(value) not in _NO_TO_DICT and hasattr(value, "to_dict")


def convert_object_to_struct(obj: Any, serialized_names: Any = {}) -> dict[str, Any]:  # noqa: B006 - kfp's
    """kfp.components.modelbase.convert_object_to_struct, line for line, with its signature memoised
    and `hasattr(value, "to_dict")` answered at once for builtin values (which have none)."""
    parameters = signature(obj.__init__).parameters
    result = {}
    for python_name in parameters:
        value = getattr(obj, python_name)
        if python_name.startswith("_"):
            continue
        attr_name = serialized_names.get(python_name, python_name)
        if _has_to_dict(value):
            result[attr_name] = value.to_dict()
        elif isinstance(value, list):
            result[attr_name] = [(x.to_dict() if _has_to_dict(x) else x) for x in value]
        elif isinstance(value, dict):
            result[attr_name] = {k: (v.to_dict() if _has_to_dict(v) else v) for k, v in value.items()}
        else:
            param = parameters.get(python_name, None)
            if param is None or param.default == inspect.Parameter.empty or value != param.default:
                result[attr_name] = value
    return result


def convert_k8s_obj_to_json(k8s_obj: Any) -> Any:
    """kfp.compiler._k8s_helper.convert_k8s_obj_to_json, line for line, its per-call imports (six,
    datetime) made once: the same constants."""
    if k8s_obj is None:
        return None
    elif isinstance(k8s_obj, _PRIMITIVE_TYPES):
        return k8s_obj
    elif isinstance(k8s_obj, list):
        return [convert_k8s_obj_to_json(sub_obj) for sub_obj in k8s_obj]
    elif isinstance(k8s_obj, tuple):
        return tuple(convert_k8s_obj_to_json(sub_obj) for sub_obj in k8s_obj)
    elif isinstance(k8s_obj, (datetime.datetime, datetime.date)):
        return k8s_obj.isoformat()
    elif isinstance(k8s_obj, _PIPELINE_PARAM[0]):
        if isinstance(k8s_obj.value, str):
            return k8s_obj.value
        return f"{{{{inputs.parameters.{k8s_obj.full_name}}}}}"
    if isinstance(k8s_obj, dict):
        obj_dict = k8s_obj
    else:
        obj_dict = {
            k8s_obj.attribute_map[attr]: getattr(k8s_obj, attr)
            for attr in k8s_obj.attribute_map
            if getattr(k8s_obj, attr) is not None
        }
    return {key: convert_k8s_obj_to_json(val) for key, val in obj_dict.items()}


_PRIMITIVE_TYPES = (float, bool, bytes, str, int)  # six's (float, bool, bytes, text_type) + integer_types
_PIPELINE_PARAM: list[Any] = []  # kfp.dsl.PipelineParam and kfp.dsl._pipeline_param, once kfp is imported
KFP_ORIGINAL: dict[str, Any] = {}  # kfp's own functions replaced line for line (tests compare)


def parse_docstring(text: str | None, style: Any = None) -> Any:
    """docstring_parser.parse(text, style), the reST parser's result at once for a docstring none of
    its parsers finds an entry in (see the module docstring)."""
    import docstring_parser
    from docstring_parser import rest

    if style is None:
        style = docstring_parser.DocstringStyle.AUTO
    if style == docstring_parser.DocstringStyle.AUTO and (not text or _no_docstring_entries(text)):
        return rest.parse(text)
    return docstring_parser.parse(text, style)


def _no_docstring_entries(text: str) -> bool:
    cleaned = inspect.cleandoc(text)
    return ("\n" not in cleaned and not cleaned.startswith((":", "@", "."))
            and not cleaned.rstrip(" \t\r\f\v").endswith(":"))


class _FastDocstringParser:
    """The docstring_parser module as kfp.components._python_op sees it: `parse` above."""

    parse = staticmethod(parse_docstring)

    def __getattr__(self, name: str) -> Any:
        import docstring_parser

        return getattr(docstring_parser, name)


_MAX_NAMES = 65536  # names remembered per sanitiser (the least recently used dropped beyond)


def _memoised_names(kfp_sanitise: Any) -> Any:
    """kfp's name sanitiser `kfp_sanitise(name[, flag])` remembered for a str name and a bool flag
    (a pure function of them: regex substitutions); any other argument is kfp's call."""
    remembered = functools.lru_cache(maxsize=_MAX_NAMES)(kfp_sanitise)

    @functools.wraps(kfp_sanitise)
    def sanitise(name: Any, *flag: Any, **keywords: Any) -> Any:
        # exact types only: lru_cache would take 1 for True, and a str subclass for its text
        if type(name) is not str or keywords or len(flag) > 1 or (flag and type(flag[0]) is not bool):
            return kfp_sanitise(name, *flag, **keywords)
        return remembered(name, *flag)

    return sanitise


_STRINGS_PARSED: dict[tuple[str, Any], bool] = {}  # (string, Union) pairs kfp parsed as the string itself
_MAX_STRINGS_PARSED = 4096


def _remembering_parse(kfp_parse: Any) -> Any:
    """kfp.components.modelbase.parse_object_from_struct_based_on_type, the (string, Union) pairs it
    parsed as the string itself answered at once (see the module docstring)."""

    @functools.wraps(kfp_parse)
    def parse_object_from_struct_based_on_type(struct: Any, typ: Any) -> Any:
        if type(struct) is not str or getattr(typ, "__origin__", None) is not typing.Union:
            return kfp_parse(struct, typ)
        key = (struct, typ)
        if key in _STRINGS_PARSED:
            return struct
        result = kfp_parse(struct, typ)
        if result is struct:
            if len(_STRINGS_PARSED) >= _MAX_STRINGS_PARSED:
                _STRINGS_PARSED.clear()
            _STRINGS_PARSED[key] = True
        return result

    return parse_object_from_struct_based_on_type


def standard_lib_dir() -> str:
    """distutils.sysconfig.get_python_lib(standard_lib=True) on CPython and POSIX (setuptools' and
    the standard library's distutils alike): base prefix, platform library folder, pythonX.Y."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return os.path.join(os.path.normpath(sys.base_prefix), sys.platlibdir, version)


def module_is_builtin_or_standard(module_name: str) -> bool:
    """kfp.components._python_op._module_is_builtin_or_standard, line for line, with the standard
    library's folder from standard_lib_dir() instead of an import of distutils.sysconfig."""
    if module_name in sys.builtin_module_names:
        return True
    std_lib_dir = standard_lib_dir()
    module_name_parts = module_name.split('.')
    expected_module_path = os.path.join(std_lib_dir, *module_name_parts)
    return os.path.exists(expected_module_path) or os.path.exists(expected_module_path + '.py')


def public_dir(obj: Any) -> list[str]:
    """dir(obj) without the names starting with `_`, in its order."""
    return [name for name in dir(obj) if name[0] != "_"]


_PARAM_MARK = "{{pipelineparam:op="  # what kfp's pattern for a serialised PipelineParam starts with


def _without_params_first(kfp_function: Any) -> Any:
    """kfp's function of a serialised-PipelineParam search, answering [] at once for a string
    without the pattern's literal start (its regex finds nothing there: the same empty list)."""

    @functools.wraps(kfp_function)
    def search(payload: Any) -> Any:
        if type(payload) is str and _PARAM_MARK not in payload:
            return []
        return kfp_function(payload)

    return search


def extract_pipelineparams_from_any(payload: Any) -> list[Any]:
    """kfp.dsl._pipeline_param.extract_pipelineparams_from_any, line for line, without calling itself
    for None (its answer: [], which adds nothing)."""
    if not payload:
        return []

    # PipelineParam
    if isinstance(payload, _PIPELINE_PARAM[0]):
        return [payload]

    # str
    if isinstance(payload, str):
        return list(set(_PIPELINE_PARAM[1]._extract_pipelineparams(payload)))

    # list or tuple
    if isinstance(payload, list | tuple):
        pipeline_params = []
        for item in payload:
            if item is not None:
                pipeline_params += extract_pipelineparams_from_any(item)
        return list(set(pipeline_params))

    # dict
    if isinstance(payload, dict):
        pipeline_params = []
        for key, value in payload.items():
            if key is not None:
                pipeline_params += extract_pipelineparams_from_any(key)
            if value is not None:
                pipeline_params += extract_pipelineparams_from_any(value)
        return list(set(pipeline_params))

    # k8s OpenAPI object
    if hasattr(payload, 'attribute_map') and isinstance(payload.attribute_map, dict):
        pipeline_params = []
        for key in payload.attribute_map:
            value = getattr(payload, key)
            if value is not None:
                pipeline_params += extract_pipelineparams_from_any(value)

        return list(set(pipeline_params))

    # return empty list
    return []


class _FastCopy:
    """The `copy` module as kfp.compiler._data_passing_rewriter sees it: `deepcopy` above."""

    deepcopy = staticmethod(deepcopy)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def add_op(self: Any, op: Any, define_only: bool) -> str:
    """kfp.dsl._pipeline.Pipeline.add_op, line for line, the unique name asked of `self.ops` itself
    (kfp passes `list(self.ops.keys())`: the same names, searched linearly for every op)."""
    from kfp.components import _naming

    # Sanitizing the op name.
    op_name = _naming._sanitize_python_function_name(op.human_name).replace('_', '-')
    # If there is an existing op with this name then generate a new name.
    op_name = _naming._make_name_unique_by_adding_index(op_name, self.ops.keys(), '-')
    if op_name == '':
        op_name = _naming._make_name_unique_by_adding_index('task', self.ops.keys(), '-')

    self.ops[op_name] = op
    if not define_only:
        self.groups[-1].ops.append(op)

    return op_name


_BUILDING: list[list[Any]] = []  # per released_ops() in progress: the pipelines entered meanwhile


def _noting_enter(kfp_enter: Any) -> Any:
    @functools.wraps(kfp_enter)
    def __enter__(self: Any) -> Any:
        if _BUILDING:
            _BUILDING[-1].append(self)
        return kfp_enter(self)

    return __enter__


@contextlib.contextmanager
def released_ops() -> Iterator[None]:
    """Within: the pipelines kfp enters are noted; on leaving, their ops' attributes are dropped, which
    breaks each op's cycle through its proxies (see the module docstring)."""
    pipelines: list[Any] = []
    _BUILDING.append(pipelines)
    try:
        yield
    finally:
        _BUILDING.remove(pipelines)
        for pipeline in pipelines:
            for op in list(pipeline.ops.values()):
                op.__dict__.clear()


def _patched(function: Any, *changes: tuple[str, str]) -> Any:
    """kfp's `function` compiled from its own source with each line `old` replaced by its `new` (one
    line: tracebacks keep kfp's line numbers), in its module; `function` itself when its source
    cannot be read or does not hold each `old` once."""
    try:
        lines, first = inspect.getsourcelines(function)
    except (OSError, TypeError):
        return function
    source = "".join(lines)
    for old, new in changes:
        if source.count(old) != 1 or "\n" in old.rstrip("\n") or "\n" in new.rstrip("\n"):
            return function
        source = source.replace(old, new)
    code = compile("\n" * (first - 1) + source, function.__code__.co_filename, "exec", dont_inherit=True)
    namespace: dict[str, Any] = {}
    exec(code, function.__globals__, namespace)  # noqa: S102 - kfp's own def statement
    return namespace[function.__name__]


# the line of kfp's function that each patch changes, as it is in kfp 1.8.22, and what it becomes
_DROPPED_CLOSURES = [("    expanded_args = expand_argument_list(container_spec.args)\n",
                      ("    expanded_args = expand_argument_list(container_spec.args); "
                       "expand_command_part = expand_argument_list = None\n"))]
_EMPTIED_EXCEPTIONS = [("                return list(results.values())[0]\n",
                        "                exception_map.clear(); return list(results.values())[0]\n"),
                       ("            exception_lines = [str(e) for t, e in exception_map.items()]\n",
                        "            exception_lines = [str(e) for t, e in exception_map.items()]; exception_map.clear()\n")]


_CONFIGURATION: list[Any] = []


def shared_configuration() -> Any:
    """kubernetes' `Configuration()`, made once: what each V1Container kfp makes keeps (for its
    setters' client-side validation, which only reads it); making one sets logger levels again."""
    if not _CONFIGURATION:
        from kubernetes.client.configuration import Configuration

        _CONFIGURATION.append(Configuration())
    return _CONFIGURATION[0]


def _kfp_yaml() -> Any:
    from kfp.components import _yaml_utils

    return _yaml_utils


# modules `import kfp` loads that a v1 compilation never reads (see the module docstring)
UNUSED_ON_IMPORT = ("kubernetes.config", "kubernetes.dynamic", "kubernetes.watch", "kubernetes.stream",
                    "kubernetes.utils", "kubernetes.leaderelection", "kfp.v2.compiler", "kfp.containers.entrypoint")


class _LazyFinder(importlib.abc.MetaPathFinder):
    """Finds UNUSED_ON_IMPORT's modules as the other finders do, to be loaded on first use."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in UNUSED_ON_IMPORT:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None) if finder is not self else None
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


def _import_kfp() -> None:
    """`import kfp`, UNUSED_ON_IMPORT loaded lazily if it is the first import of kfp."""
    if "kfp" in sys.modules:
        return
    finder = _LazyFinder()
    sys.meta_path.insert(0, finder)
    try:
        import kfp.compiler  # noqa: F401 - kfp's __init__ imports its dsl, components and compiler
    finally:
        sys.meta_path.remove(finder)


@functools.cache
def install() -> None:
    """Route kfp's YAML through the functions above, in this process; idempotent."""
    _import_kfp()
    from kfp.compiler import compiler
    from kfp.components import _components, _python_op, modelbase

    # whether a module is in the standard library: the same answer for a name all along
    KFP_ORIGINAL.update(module_is_builtin_or_standard=_python_op._module_is_builtin_or_standard)
    standard = module_is_builtin_or_standard if os.name == "posix" and sys.implementation.name == "cpython" else (
        _python_op._module_is_builtin_or_standard)
    _python_op._module_is_builtin_or_standard = functools.cache(standard)  # type: ignore[attr-defined]
    _python_op.strip_type_hints = functools.partial(fast_strip.strip_type_hints,  # type: ignore[attr-defined]
                                                    kfp_strip=_python_op.strip_type_hints)
    modelbase.inspect = _MemoInspect()  # type: ignore[attr-defined]
    _python_op.inspect = _SourceInspect()  # type: ignore[attr-defined]
    _python_op.docstring_parser = _FastDocstringParser()  # type: ignore[attr-defined]
    modelbase.get_type_hints = get_type_hints  # type: ignore[attr-defined]
    KFP_ORIGINAL.update(parse_object_from_struct_based_on_type=modelbase.parse_object_from_struct_based_on_type)
    parse = _patched(modelbase.parse_object_from_struct_based_on_type, *_EMPTIED_EXCEPTIONS)
    modelbase.parse_object_from_struct_based_on_type = _remembering_parse(parse)  # type: ignore[attr-defined]
    from kfp.compiler import _data_passing_rewriter
    from kfp.dsl import _container_op
    from kubernetes.client.models import v1_container

    _data_passing_rewriter.copy = _FastCopy()  # type: ignore[attr-defined]
    # every string of every op is searched for serialised PipelineParams; most have none
    from kfp import dsl
    from kfp.compiler import _k8s_helper, _op_to_template
    from kfp.dsl import _pipeline_param

    _PIPELINE_PARAM.extend((dsl.PipelineParam, _pipeline_param))
    KFP_ORIGINAL.update(convert_k8s_obj_to_json=_k8s_helper.convert_k8s_obj_to_json,
                        convert_object_to_struct=modelbase.convert_object_to_struct)
    for module in (_k8s_helper, _op_to_template, compiler):
        module.convert_k8s_obj_to_json = convert_k8s_obj_to_json  # type: ignore[attr-defined]
    modelbase.convert_object_to_struct = convert_object_to_struct  # type: ignore[attr-defined]

    _pipeline_param.match_serialized_pipelineparam = _without_params_first(  # type: ignore[attr-defined]
        _pipeline_param.match_serialized_pipelineparam)
    _pipeline_param._extract_pipelineparams = _without_params_first(  # type: ignore[attr-defined]
        _pipeline_param._extract_pipelineparams)
    dsl.match_serialized_pipelineparam = _pipeline_param.match_serialized_pipelineparam  # type: ignore[attr-defined]
    KFP_ORIGINAL.update(extract_pipelineparams_from_any=_pipeline_param.extract_pipelineparams_from_any)
    for module in (_pipeline_param, compiler):
        module.extract_pipelineparams_from_any = extract_pipelineparams_from_any  # type: ignore[attr-defined]
    # ContainerOp.__init__ proxies its container's public callables, looking at every name dir()
    # gives (getattr, then `name[0] != '_'`); the names it would skip are not listed
    _container_op.dir = public_dir  # type: ignore[attr-defined]
    v1_container.Configuration = shared_configuration  # type: ignore[attr-defined]
    from kfp.dsl import _pipeline

    KFP_ORIGINAL.update(add_op=_pipeline.Pipeline.add_op)
    _pipeline.Pipeline.add_op = add_op  # type: ignore[method-assign]
    _pipeline.Pipeline.__enter__ = _noting_enter(_pipeline.Pipeline.__enter__)  # type: ignore[method-assign]
    _KFP_VALIDATE.append(compiler._validate_workflow)
    compiler._validate_workflow = validate_workflow  # type: ignore[attr-defined]
    compiler.dump_yaml = dump_yaml  # type: ignore[attr-defined]
    _KFP_WRITE.append(compiler.Compiler._write_workflow)
    compiler.Compiler._write_workflow = staticmethod(write_workflow)  # type: ignore[method-assign]
    _components.load_yaml = load_yaml  # type: ignore[attr-defined]
    # pure functions of the names they sanitise, asked again and again for the same ones
    from kfp.components import _naming
    from kfp.dsl import dsl_utils

    KFP_ORIGINAL.update(sanitize_k8s_name=_k8s_helper.sanitize_k8s_name,
                        param_sanitize_k8s_name=_pipeline_param.sanitize_k8s_name,
                        _normalize_identifier_name=_naming._normalize_identifier_name,
                        _sanitize_name=dsl_utils._sanitize_name)
    k8s_name = _memoised_names(_k8s_helper.sanitize_k8s_name)
    for module in (_k8s_helper, compiler):
        module.sanitize_k8s_name = k8s_name  # type: ignore[attr-defined]
    _pipeline_param.sanitize_k8s_name = _memoised_names(  # type: ignore[attr-defined]
        _pipeline_param.sanitize_k8s_name)
    _naming._normalize_identifier_name = _memoised_names(  # type: ignore[attr-defined]
        _naming._normalize_identifier_name)
    dsl_utils._sanitize_name = _memoised_names(dsl_utils._sanitize_name)  # type: ignore[attr-defined]
    KFP_ORIGINAL.update(_resolve_command_line_and_paths=_components._resolve_command_line_and_paths)
    _components._resolve_command_line_and_paths = _patched(  # type: ignore[attr-defined]
        _components._resolve_command_line_and_paths, *_DROPPED_CLOSURES)
    _components._load_component_spec_from_component_text = load_component_spec  # type: ignore[attr-defined]
    from kfp.components.structures import ComponentSpec

    ComponentSpec.to_dict = _recording_to_dict(ComponentSpec.to_dict)  # type: ignore[method-assign]


def bind(namespace: dict[str, Any]) -> bool:
    """Point a generated module's own `load_yaml`/`dump_yaml` (kfp's, imported by name for its
    post-compile step) at the functions above; names bound to anything else are left alone.
    True when its `load_yaml` is `load_workflow` now."""
    kfp_yaml = _kfp_yaml()
    for name, fast in (("load_yaml", load_workflow), ("dump_yaml", dump_yaml)):
        if namespace.get(name) is getattr(kfp_yaml, name):
            namespace[name] = fast
    return namespace.get("load_yaml") is load_workflow
