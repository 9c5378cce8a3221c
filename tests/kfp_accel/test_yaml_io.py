"""yaml_io's parts: where libyaml is trusted (plain_text), its node builder, and loaded_copy.

The patches built on them (compiler.dump_yaml, _components.load_yaml) are compared with kfp's in
test_patches.py; these tests pin the pieces they rest on.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from kfp.components import _yaml_utils

from airflow2kfp.kfp_accel import yaml_io
from tests.kfp_accel.accel_data import ANY_DATA, EXAMPLES, GOLDEN_YAML, PLAIN_DATA, shape, workflow_with


def test_escaped_text_goes_to_kfp() -> None:
    assert yaml_io.plain_text({"k": ["multi\nline", {"a": " indented\n  lines\n"}]})
    assert not yaml_io.plain_text(workflow_with("multi\nline"))  # a multi-line key is double-quoted
    assert not yaml_io.plain_text({"k": "trailing space \nbefore a break"})
    assert not yaml_io.plain_text(workflow_with("caf\u00e9"))
    assert not yaml_io.plain_text(workflow_with("tab\there"))


@pytest.mark.parametrize("value", ["\n", "x\n\n", "\n\n", " x\n\n\n"])
def test_keep_chomped_text_goes_to_kfp(value: str) -> None:
    data = {"a": [value], "b": 1}  # libyaml, not PyYAML, ends a document with `...` after a `|+` block
    assert not yaml_io.plain_text(data) and yaml_io.dump_yaml(data) == _yaml_utils.dump_yaml(data)


@pytest.mark.parametrize("length", [100, 101, 123, 124, 128, 129])
def test_long_keys_go_to_kfp(length: int) -> None:
    data = {"x" * length: "v", "flow": {"a " * (length // 2): None}}  # PyYAML and libyaml: `? ` from 124, 129
    assert yaml_io.plain_text(data) == (length <= 100)
    assert yaml_io.dump_yaml(data) == _yaml_utils.dump_yaml(data)


def test_empty_key_goes_to_kfp() -> None:
    data = {"a": [{"": None}]}  # PyYAML: `{? '' : null}`, libyaml: `{'': null}`
    assert not yaml_io.plain_text(data) and yaml_io.dump_yaml(data) == _yaml_utils.dump_yaml(data)
    with pytest.raises(yaml_io.NotPlain):
        yaml_io.loaded_copy(data)


class _GenericDumper(yaml.CDumper):
    """The dumper as it was: PyYAML's own representer dispatch, kfp's representers."""


_GenericDumper.add_representer(OrderedDict, yaml_io.represent_dict)
_GenericDumper.add_representer(dict, yaml_io.represent_dict)
_GenericDumper.add_representer(str, yaml_io.represent_str)


@given(ANY_DATA)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_node_builder_is_pyyamls(data: Any) -> None:
    expected = yaml.dump(data, None, _GenericDumper, default_flow_style=None)
    assert yaml.dump(data, None, yaml_io.OrderedDumper, default_flow_style=None) == expected


@given(ANY_DATA)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_plain_dumper_gives_up_where_plain_text_says_no(data: Any) -> None:
    try:
        text = yaml.dump(data, None, yaml_io.PlainDumper, default_flow_style=None)
    except yaml_io.NotPlain:
        assert not yaml_io.plain_text(data)
    else:
        assert yaml_io.plain_text(data)
        assert text == yaml.dump(data, None, _GenericDumper, default_flow_style=None)


@given(PLAIN_DATA)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_plain_data_dumps_and_reads_back_as_kfps(data: Any) -> None:
    text = yaml_io.dump_yaml(data)
    assert text == _yaml_utils.dump_yaml(data)
    try:
        copied = yaml_io.loaded_copy(data)
    except yaml_io.NotPlain:
        assert not yaml_io.plain_text(data)
        return
    assert yaml_io.plain_text(data)  # so the text was libyaml's
    assert shape(copied) == shape(yaml_io.load_yaml(text)) == shape(_yaml_utils.load_yaml(text))


@given(ANY_DATA)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_loaded_copy_answers_only_for_plain_data(data: Any) -> None:
    try:
        copied = yaml_io.loaded_copy(data)
    except yaml_io.NotPlain:
        return
    assert shape(copied) == shape(_yaml_utils.load_yaml(yaml_io.dump_yaml(data)))


@pytest.mark.parametrize("path", GOLDEN_YAML, ids=lambda p: p.stem)
def test_golden_workflows_read_back_as_their_copy(path: Path) -> None:
    workflow = yaml_io.load_yaml(path.read_text(encoding="utf-8"))
    text = yaml_io.dump_yaml(workflow)
    assert text == _yaml_utils.dump_yaml(workflow)
    assert shape(yaml_io.loaded_copy(workflow)) == shape(_yaml_utils.load_yaml(text))
