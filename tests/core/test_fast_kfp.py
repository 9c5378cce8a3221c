"""The converter's fast kfp paths give exactly what kfp's own code gives (the goldens check whole files)."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict

import pytest
from kfp.components import _components, _yaml_utils

from converter.emit import fast_kfp

TRICKY = [
    "plain", "yes", "No", "on", "~", "null", "- x", ": x", "#x", "a #b", "a: b", "[list]", "{map}", "@at",
    "`tick`", "%pct", "!bang", "*star", "|pipe", ">gt", "0123", "1e5", "0x1F", "2024-01-01", "12:30", "",
    "  ", "  leading", "trailing  ", "it's \"quoted\"", "back\\slash \\n", "{{ ds }} and {{ params.x }}",
    "x" * 200, ("word " * 60).strip(), "x" * 79 + " y", "multi\nline  \n  indented\n", "multi\n\n\nblank\n\n",
    "\nstarts with newline", "k: v\n- item\n", "--- doc", "...", "?", "-",
    # escaped: kfp's own dumper takes these
    "caf\u00e9 \u4e2d\u6587", "emoji \U0001F600", "tab\there", "cr\rlf", "bell\x07", "long " + "\u00e9" * 100,
]


def _workflow(value: str) -> dict:
    return {"metadata": {"annotations": {"k": value, value or "empty": [value, 1, None, True]}},
            "spec": OrderedDict(args=[value, {"inner": value}], flow={"a": value})}


@pytest.mark.parametrize("value", TRICKY)
def test_dump_is_kfps(value: str) -> None:
    assert fast_kfp.dump_yaml(_workflow(value)) == _yaml_utils.dump_yaml(_workflow(value))


def test_escaped_text_goes_to_kfp() -> None:
    assert fast_kfp.plain_text(_workflow("multi\nline"))
    assert not fast_kfp.plain_text(_workflow("caf\u00e9"))
    assert not fast_kfp.plain_text(_workflow("tab\there"))


@pytest.mark.parametrize("value", TRICKY + ["\ud83d lone surrogate"])
def test_load_is_kfps(value: str) -> None:
    for text in (json.dumps({"name": value, "inputs": [{"name": "x"}]}), _yaml_utils.dump_yaml(_workflow(value))):
        try:
            expected = _yaml_utils.load_yaml(text)
        except Exception as error:  # noqa: BLE001
            with pytest.raises(type(error)):
                fast_kfp.load_yaml(text)
        else:
            assert fast_kfp.load_yaml(text) == expected


def test_component_spec_memo_keeps_name_and_digest() -> None:
    base = ('{"name": "%s", "inputs": [{"name": "command", "type": "String"}], "implementation": {"container": '
            '{"image": "bash:5.2", "command": ["bash", "-c", {"inputValue": "command"}]}}}')
    for name in ("task-a", "task-b", "task-a"):
        text = base % name
        fast = fast_kfp.load_component_spec(text)
        kfp_spec = _components.ComponentSpec.from_dict(_yaml_utils.load_yaml(text))
        assert fast == kfp_spec and fast.name == name and fast.to_dict() == kfp_spec.to_dict()
    assert fast._digest == hashlib.sha256((base % "task-a").encode()).hexdigest()


def _step(table: str, limit: int = 3, flag: bool = False) -> str:
    return f"{table}:{limit}:{flag}"


def test_named_copy_equals_kfps_spec() -> None:
    from kfp import components

    fast_kfp.install()
    component = components.create_component_from_func(_step, base_image="python:3.11")
    spec_dict = component.component_spec.to_dict()  # recorded, as the generated `named` does
    spec_dict["name"] = "task-x"
    text = json.dumps(spec_dict)
    fast = fast_kfp.load_component_spec(text)
    kfp_spec = _components.ComponentSpec.from_dict(_yaml_utils.load_yaml(text))
    assert fast == kfp_spec and fast.to_dict() == kfp_spec.to_dict() and fast.name == "task-x"
    assert fast._digest == hashlib.sha256(text.encode()).hexdigest()
    assert all(type(getattr(fast, f)) is type(getattr(kfp_spec, f)) for f in fast._get_field_names())


def _model_classes() -> list[type]:
    from kfp.components import _structures, modelbase

    return [c for c in vars(_structures).values() if isinstance(c, type) and issubclass(c, modelbase.ModelBase)]


@pytest.mark.parametrize("cls", _model_classes(), ids=lambda c: c.__name__)
def test_memoised_introspection_is_inspects(cls: type) -> None:
    import inspect
    import types
    import typing

    bound = types.MethodType(cls.__init__, object())
    for _ in range(2):  # the memo's answer, first and second time
        assert fast_kfp.signature(bound) == inspect.signature(bound)
        assert fast_kfp.get_type_hints(cls.__init__) == typing.get_type_hints(cls.__init__)
    assert fast_kfp.get_type_hints(cls.__init__) is not fast_kfp.get_type_hints(cls.__init__)  # each its own dict
