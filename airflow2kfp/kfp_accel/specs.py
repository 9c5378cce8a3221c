"""Component specs: kfp builds a spec per task from its text; a text seen before gives the same spec.

The generated file's `named(component, name)` serialises each component's spec, sets the task's
name and loads it back (`_load_component_spec_from_component_text`): one spec per task, each built
through typing introspection (`ComponentSpec.from_dict`), each differing from its base component
only in its name.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import typing
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from airflow2kfp.kfp_accel import copies, yaml_io

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


def recording_to_dict(kfp_to_dict: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """ComponentSpec.to_dict (ModelBase's), recording the spec it serialises by its content, the
    name aside, so that loading that content again copies the spec (load_component_spec). The named
    copies themselves are not recorded (the compiler serialises each task's; their content is their
    base's): at worst a miss, a from_dict."""

    @functools.wraps(kfp_to_dict)
    def to_dict(self: Any) -> Any:
        struct = kfp_to_dict(self)
        if _NAMED.get(id(self)) is self:
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
    """kfp.components._components._load_component_spec_from_component_text, memoised by content.

    `ComponentSpec.from_dict` is a pure function of the dict, so the spec of a dict seen before (the
    name aside) is a copy of the earlier one with its own name and digest; the warning and the digest
    are kfp's. `named(...)` passes JSON, which `json` reads as YAML would when it is ASCII without
    \\u escapes or floats (YAML 1.1 reads `1e5` as a string). A JSON text that is json.dumps' own
    writing of its dict, `{"name": "<name>", <rest>}`, read again with another plain name and the
    same rest, is that dict under the other name, so not read again (`_BY_REST`).
    """
    from kfp.components.structures import ContainerImplementation

    named = _split_name(text) if isinstance(text, str) else None
    base = _seen_under_another_name(named[1]) if named is not None else None
    if base is not None:  # the JSON of a spec seen before under another name (see _BY_REST)
        spec = copy.copy(base)
        spec.name = named[0]  # type: ignore[index]
        _NAMED[id(spec)] = spec
    else:
        spec = _load_component_spec(text, named)
    if (
        isinstance(spec.implementation, ContainerImplementation)
        and spec.implementation.container.command is None
    ):
        warnings.warn(_NO_COMMAND, category=FutureWarning, stacklevel=2)
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    spec._digest = hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()
    return spec


def _load_component_spec(text: str | bytes, named: tuple[str, str] | None) -> Any:
    from kfp.components.structures import ComponentSpec

    component_dict = json_as_yaml(text) if isinstance(text, str) else None
    from_json = component_dict is not None
    if component_dict is None:
        component_dict = yaml_io.load_yaml(text)
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
    if named is not None and from_json and key is not None and isinstance(text, str):
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
    name = text[len(_NAME_PREFIX) : end]
    if end < 0 or "\\" in name or not (name.isascii() and name.isprintable()):
        return None
    return name, text[end + 1 :]


def json_as_yaml(text: str) -> Any:
    """`text` read with json when YAML would read it the same; None when unsure."""
    if not (text.startswith("{") and text.isascii() and "\\u" not in text):
        return None
    try:  # a float (`1.5`, `1e5`, `NaN`...) is unsure: json's hooks for them give up
        return json.loads(
            text, object_pairs_hook=OrderedDict, parse_float=_no_float, parse_constant=_no_float
        )
    except ValueError:
        return None


def _no_float(text: str) -> Any:
    raise ValueError(text)


_STRINGS_PARSED: dict[tuple[str, Any], bool] = {}  # (string, Union) pairs kfp parsed as the string itself
_MAX_STRINGS_PARSED = 4096


def remembering_parse(kfp_parse: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """kfp.components.modelbase.parse_object_from_struct_based_on_type, recompiled from kfp's source
    with one line changed (copies.parse_without_cycles), the (string, Union) pairs it parsed as the
    string itself answered at once.

    Parsing a string against a Union (a component's command-line items: `str` or one of ~10
    placeholder classes) tries every member, each failing with an exception whose message formats
    the value, to be sure only one fits; the answer is a function of the string's value and the type
    (`from_dict` of a class cannot read a string; no member has a side effect), and kfp then returns
    the string itself. Any other pair, or any other value, is kfp's own function (which raises as
    kfp does).
    """
    kfp_parse = copies.parse_without_cycles(kfp_parse)

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
