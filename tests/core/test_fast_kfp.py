"""The converter's fast kfp paths give exactly what kfp's own code gives (the goldens check whole files)."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kfp.components import _components, _yaml_utils

from converter.emit import fast_kfp

EXAMPLES = int(os.environ.get("A2K_EXAMPLES", "200"))

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
    assert fast_kfp.plain_text({"k": ["multi\nline", {"a": " indented\n  lines\n"}]})
    assert not fast_kfp.plain_text(_workflow("multi\nline"))  # a multi-line key is double-quoted
    assert not fast_kfp.plain_text({"k": "trailing space \nbefore a break"})
    assert not fast_kfp.plain_text(_workflow("caf\u00e9"))
    assert not fast_kfp.plain_text(_workflow("tab\there"))


@pytest.mark.parametrize("value", ["\n", "x\n\n", "\n\n", " x\n\n\n"])
def test_keep_chomped_text_goes_to_kfp(value: str) -> None:
    data = {"a": [value], "b": 1}  # libyaml, not PyYAML, ends a document with `...` after a `|+` block
    assert not fast_kfp.plain_text(data) and fast_kfp.dump_yaml(data) == _yaml_utils.dump_yaml(data)


@pytest.mark.parametrize("length", [100, 101, 123, 124, 128, 129])
def test_long_keys_go_to_kfp(length: int) -> None:
    data = {"x" * length: "v", "flow": {"a " * (length // 2): None}}  # PyYAML and libyaml: `? ` from 124, 129
    assert fast_kfp.plain_text(data) == (length <= 100)
    assert fast_kfp.dump_yaml(data) == _yaml_utils.dump_yaml(data)


def test_empty_key_goes_to_kfp() -> None:
    data = {"a": [{"": None}]}  # PyYAML: `{? '' : null}`, libyaml: `{'': null}`
    assert not fast_kfp.plain_text(data) and fast_kfp.dump_yaml(data) == _yaml_utils.dump_yaml(data)
    with pytest.raises(fast_kfp._NotPlain):
        fast_kfp.loaded_copy(data)


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


_PLAIN_TEXT = st.text(alphabet=[chr(c) for c in range(32, 127)] + ["\n"], max_size=40)
_ANY_TEXT = st.text(max_size=20)
_PLAIN_SCALARS = st.one_of(_PLAIN_TEXT, st.sampled_from([t for t in TRICKY if fast_kfp.plain_text(t)]),
                           st.integers(), st.booleans(), st.none())
_ANY_SCALARS = st.one_of(_PLAIN_SCALARS, _ANY_TEXT, st.floats(), st.just(()), st.tuples(st.integers()))


def _trees(scalars: st.SearchStrategy, keys: st.SearchStrategy) -> st.SearchStrategy:
    def containers(children: st.SearchStrategy) -> st.SearchStrategy:
        return st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4),
                         st.dictionaries(keys, children, max_size=4).map(OrderedDict))
    return st.recursive(scalars, containers, max_leaves=25)


@st.composite
def _shared(draw: st.DrawFn, trees: st.SearchStrategy) -> Any:
    """A tree, sometimes with one of its containers met twice (a YAML anchor and alias)."""
    tree = draw(trees)
    if isinstance(tree, (dict, list)) and draw(st.booleans()):
        return {"first": tree, "again": [tree, draw(trees)]}
    return tree


PLAIN_KEYS = st.one_of(_PLAIN_TEXT.filter(bool), st.integers(), st.booleans())  # an empty key is not plain
PLAIN_DATA = _shared(_trees(_PLAIN_SCALARS, PLAIN_KEYS))
ANY_DATA = _shared(_trees(_ANY_SCALARS, st.one_of(_ANY_TEXT, st.integers(), st.booleans(), st.none())))


class _GenericDumper(yaml.CDumper):
    """fast_kfp's dumper as it was: PyYAML's own representer dispatch, kfp's representers."""


_GenericDumper.add_representer(OrderedDict, fast_kfp._represent_dict)
_GenericDumper.add_representer(dict, fast_kfp._represent_dict)
_GenericDumper.add_representer(str, fast_kfp._represent_str)


def _shape(data: Any) -> Any:
    """`data` with its exact types and which containers are the same object, comparable with ==."""
    seen: dict[int, int] = {}

    def walk(item: Any) -> Any:
        if isinstance(item, (dict, list)):
            if id(item) in seen:
                return ("same as", seen[id(item)])
            seen[id(item)] = len(seen)
            if isinstance(item, dict):
                return (type(item).__name__, [(walk(k), walk(v)) for k, v in item.items()])
            return ("list", [walk(v) for v in item])
        return (type(item).__name__, item)

    return walk(data)


@given(ANY_DATA)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_node_builder_is_pyyamls(data: Any) -> None:
    expected = yaml.dump(data, None, _GenericDumper, default_flow_style=None)
    assert yaml.dump(data, None, fast_kfp._OrderedDumper, default_flow_style=None) == expected


@given(ANY_DATA)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_plain_dumper_gives_up_where_plain_text_says_no(data: Any) -> None:
    try:
        text = yaml.dump(data, None, fast_kfp._PlainDumper, default_flow_style=None)
    except fast_kfp._NotPlain:
        assert not fast_kfp.plain_text(data)
    else:
        assert fast_kfp.plain_text(data)
        assert text == yaml.dump(data, None, _GenericDumper, default_flow_style=None)


@given(PLAIN_DATA)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_plain_data_dumps_and_reads_back_as_kfps(data: Any) -> None:
    text = fast_kfp.dump_yaml(data)
    assert text == _yaml_utils.dump_yaml(data)
    try:
        copied = fast_kfp.loaded_copy(data)
    except fast_kfp._NotPlain:
        assert not fast_kfp.plain_text(data)
        return
    assert fast_kfp.plain_text(data)  # so the text was libyaml's
    assert _shape(copied) == _shape(fast_kfp.load_yaml(text)) == _shape(_yaml_utils.load_yaml(text))


@given(ANY_DATA)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_loaded_copy_answers_only_for_plain_data(data: Any) -> None:
    try:
        copied = fast_kfp.loaded_copy(data)
    except fast_kfp._NotPlain:
        return
    assert _shape(copied) == _shape(_yaml_utils.load_yaml(fast_kfp.dump_yaml(data)))


GOLDEN_YAML = sorted((Path(__file__).resolve().parents[1] / "goldens" / "dags").glob("*/pipelines/*.yaml"))


@pytest.mark.parametrize("path", GOLDEN_YAML, ids=lambda p: p.stem)
def test_golden_workflows_read_back_as_their_copy(path: Path) -> None:
    workflow = fast_kfp.load_yaml(path.read_text(encoding="utf-8"))
    text = fast_kfp.dump_yaml(workflow)
    assert text == _yaml_utils.dump_yaml(workflow)
    assert _shape(fast_kfp.loaded_copy(workflow)) == _shape(_yaml_utils.load_yaml(text))


@given(ANY_DATA)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_deepcopy_is_copys(data: Any) -> None:
    import copy

    copied = fast_kfp.deepcopy(data)
    assert _shape(copied) == _shape(copy.deepcopy(data))

    def containers(item: Any) -> list[int]:
        found, stack = [], [item]
        while stack:
            item = stack.pop()
            if isinstance(item, (dict, list)):
                found.append(id(item))
                stack.extend(item.values() if isinstance(item, dict) else item)
        return found

    assert not set(containers(copied)) & set(containers(data))  # nothing shared with the original


def test_shared_configuration_is_a_fresh_one() -> None:
    from kfp.dsl._container_op import Container
    from kubernetes.client.configuration import Configuration

    fast_kfp.install()
    fresh, shared = vars(Configuration()), vars(fast_kfp.shared_configuration())
    formatter = "logger_formatter"  # a logging.Formatter each: compared by its format
    assert {k: v for k, v in fresh.items() if k != formatter} == {k: v for k, v in shared.items() if k != formatter}
    assert fresh[formatter]._fmt == shared[formatter]._fmt
    container = Container(image="bash:5.2", command=["bash"], args=["-c", "echo"])
    assert container.local_vars_configuration is fast_kfp.shared_configuration()


@pytest.mark.parametrize("number", ["1", "-7", "10000000000000000000000", "1.5", "1e5", "-0.0", "NaN", "Infinity",
                                    "-Infinity"])
def test_json_read_as_yaml_only_without_floats(number: str) -> None:
    text = json.dumps({"name": "x", "inputs": [{"name": "a", "default": 0}], "n": [0]}).replace("0", number)
    data = fast_kfp._json_as_yaml(text)
    if data is not None:
        assert data == _yaml_utils.load_yaml(text) and "." not in number and "e" not in number
    else:
        assert any(isinstance(v, float) for v in json.loads(text)["n"])


def test_container_op_proxies_the_same_names() -> None:
    from kfp.dsl import _container_op

    def make() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _container_op.ContainerOp(name="x", image="bash:5.2", command=["bash", "-c"], arguments=["echo"])

    fast_kfp.install()
    assert _container_op.dir is fast_kfp.public_dir
    fast = make()
    try:
        del _container_op.dir  # builtins.dir, as kfp runs it
        kfps = make()
    finally:
        _container_op.dir = fast_kfp.public_dir
    assert list(vars(fast)) == list(vars(kfps))
    assert [k for k, v in vars(fast).items() if callable(v)] == [k for k, v in vars(kfps).items() if callable(v)]


def test_named_copies_are_not_recorded_and_still_load_as_kfps() -> None:
    fast_kfp.install()
    base = ('{"name": "%s", "inputs": [{"name": "command", "type": "String"}], "implementation": {"container": '
            '{"image": "bash:5.3", "command": ["bash", "-c", {"inputValue": "command"}]}}}')
    first = fast_kfp.load_component_spec(base % "a")
    named = fast_kfp.load_component_spec(json.dumps({**first.to_dict(), "name": "b"}))
    recorded = len(fast_kfp._SERIALISED)
    again = fast_kfp.load_component_spec(json.dumps({**named.to_dict(), "name": "c"}))  # named twice
    assert len(fast_kfp._SERIALISED) == recorded and fast_kfp._NAMED.get(id(named)) is named
    kfp_spec = _components.ComponentSpec.from_dict(_yaml_utils.load_yaml(json.dumps({**named.to_dict(), "name": "c"})))
    assert again == kfp_spec and again.to_dict() == kfp_spec.to_dict()


_REST = (', "inputs": [{"name": "command", "type": "String"}], "implementation": {"container": '
         '{"image": "bash:5.1", "command": ["bash", "-c", {"inputValue": "command"}]}}}')


@given(st.lists(st.text(alphabet=[chr(c) for c in range(32, 127)], max_size=12), min_size=1, max_size=4))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_json_texts_differing_in_their_name_load_as_kfps(names: list[str]) -> None:
    texts = ['{"name": ' + json.dumps(name) + _REST for name in names]
    texts.append('{"name": "dup", "inputs": [], "name": "last"}')  # two names: json keeps the last
    texts.append('{"name": "dup2", "inputs": [], "name": "last"}')
    texts.append('{"name":  "spaced"' + _REST)  # not json.dumps' own spacing
    for text in texts:
        fast = fast_kfp.load_component_spec(text)
        kfp_spec = _components.ComponentSpec.from_dict(_yaml_utils.load_yaml(text))
        assert fast == kfp_spec and fast.to_dict() == kfp_spec.to_dict() and fast.name == kfp_spec.name
        assert fast._digest == hashlib.sha256(text.encode()).hexdigest()


_PARAM_TEXT = st.lists(st.sampled_from(["{{pipelineparam:op=", "{{pipelineparam:op=;name=x}}", "op-1", ";name=",
                                        "}}", "{{", "a b", "-", "_", "{{pipelineparam:op=t 1;name=out_put}}", "é"]),
                       max_size=6).map("".join)


@given(st.one_of(_PARAM_TEXT, st.text(max_size=30)))
@settings(max_examples=EXAMPLES, deadline=None)
def test_pipelineparam_search_is_kfps(payload: str) -> None:
    from kfp.dsl import _pipeline_param

    fast_kfp.install()
    fast_match, fast_extract = _pipeline_param.match_serialized_pipelineparam, _pipeline_param._extract_pipelineparams
    kfp_match, kfp_extract = fast_match.__wrapped__, fast_extract.__wrapped__


    def outcome(function: Any, argument: Any) -> Any:
        try:
            return sorted(map(repr, function(argument)))
        except Exception as error:  # noqa: BLE001 - kfp rejects some names: so must the fast path
            return type(error)

    assert fast_match(payload) == kfp_match(payload)
    assert outcome(fast_extract, payload) == outcome(kfp_extract, payload)
    assert outcome(fast_extract, [payload, "x"]) == outcome(kfp_extract, [payload, "x"])


def _golden_component_specs() -> list[Any]:
    specs = []
    for path in GOLDEN_YAML:
        workflow = fast_kfp.load_yaml(path.read_text(encoding="utf-8"))
        for template in workflow["spec"]["templates"]:
            text = template.get("metadata", {}).get("annotations", {}).get("pipelines.kubeflow.org/component_spec")
            if text:
                specs.append(_components.ComponentSpec.from_dict(json.loads(text)))
    return specs


def test_object_to_struct_is_kfps_on_every_golden_component() -> None:
    from kfp.components import modelbase

    fast_kfp.install()
    kfp_convert = fast_kfp.KFP_ORIGINAL["convert_object_to_struct"]
    objects, specs = [], _golden_component_specs()
    assert len(specs) > 50
    for spec in specs:
        stack = [spec]
        while stack:  # the spec and every model object in it
            item = stack.pop()
            if isinstance(item, modelbase.ModelBase):
                objects.append(item)
                stack.extend(getattr(item, name) for name in item._get_field_names())
            elif isinstance(item, (list, tuple)):
                stack.extend(item)
            elif isinstance(item, dict):
                stack.extend(item.values())
    for item in objects:
        names = item._serialized_names
        assert fast_kfp.convert_object_to_struct(item, names) == kfp_convert(item, names)
        assert fast_kfp.convert_object_to_struct(item) == kfp_convert(item)


def test_k8s_obj_to_json_is_kfps() -> None:
    import datetime as dt

    from kfp import dsl
    from kubernetes.client import models as k8s

    fast_kfp.install()
    kfp_convert = fast_kfp.KFP_ORIGINAL["convert_k8s_obj_to_json"]
    container = k8s.V1Container(
        name="main", image="bash", command=["bash", "-c"], args=("a", dsl.PipelineParam("p", value="v")),
        env=[k8s.V1EnvVar(name="E", value="1"), k8s.V1EnvVar(name="F", value_from=k8s.V1EnvVarSource(
            field_ref=k8s.V1ObjectFieldSelector(field_path="metadata.name")))],
        resources=k8s.V1ResourceRequirements(limits={"cpu": "1", "memory": dsl.PipelineParam("m", "op-1")}))
    samples = [None, 1, 1.5, True, b"x", "s", [1, (2, 3)], {"a": [container]}, dt.date(2024, 1, 2),
               dt.datetime(2024, 1, 2, 3, 4), dsl.PipelineParam("q", "op-2"), dsl.PipelineParam("r", value=7),
               container, k8s.V1Toleration(key="k", operator="Exists"), ({"t": (dsl.PipelineParam("s"),)},)]
    for sample in samples:
        assert repr(fast_kfp.convert_k8s_obj_to_json(sample)) == repr(kfp_convert(sample))


@given(st.lists(st.sampled_from(["task", "Task", "my_task", "my-task", "my task", "", "_", "-", "task-2", "task 2",
                                 "a" * 70, "étape", "x.y", "task-2-2"]), max_size=12))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_op_names_are_made_unique_as_kfp_does(names: list[str]) -> None:
    from kfp import dsl

    fast_kfp.install()

    class Op:  # what add_op reads of an op
        def __init__(self, human_name: str) -> None:
            self.human_name = human_name

    given_names = {}
    for add_op in (fast_kfp.add_op, fast_kfp.KFP_ORIGINAL["add_op"]):
        pipeline = dsl.Pipeline("p")
        ops = [Op(name) for name in names]
        given_names[add_op] = [add_op(pipeline, op, define_only=i % 2 == 0) for i, op in enumerate(ops)]
        assert list(pipeline.ops.values()) == ops
        assert pipeline.groups[-1].ops == [op for i, op in enumerate(ops) if i % 2]
    assert given_names[fast_kfp.add_op] == given_names[fast_kfp.KFP_ORIGINAL["add_op"]]


def test_released_ops_empty_the_ops_of_the_pipelines_built_within() -> None:
    from kfp import compiler, components, dsl

    fast_kfp.install()
    bash = components.load_component_from_text(
        "name: b\ninputs:\n- {name: c, type: String}\nimplementation:\n  container:\n    image: bash\n"
        "    command: [bash, -c, {inputValue: c}]\n")

    @dsl.pipeline(name="p")
    def pipeline() -> None:
        first = bash(c="1")
        bash(c="2").after(first)

    built: list[Any] = []
    with fast_kfp.released_ops():
        workflow = compiler.Compiler()._create_workflow(pipeline)
        built.extend(fast_kfp._BUILDING[-1])
        ops = [op for p in built for op in p.ops.values()]
        assert len(ops) == 2 and all(vars(op) for op in ops)  # whole while the compilation runs
    assert all(vars(op) == {} for op in ops) and fast_kfp._BUILDING == []
    assert [t["name"] for t in workflow["spec"]["templates"]] == ["b", "b-2", "p"]
    outside = compiler.Compiler()._create_workflow(pipeline)  # not within: nothing noted, nothing emptied
    assert outside["spec"] == workflow["spec"] and fast_kfp._BUILDING == []  # (metadata: the time)


_LAZY_CHECK = """
import sys, tempfile, types
from pathlib import Path
from converter.emit import fast_kfp
from converter.emit.compile import compile_source

source = Path(sys.argv[1]).read_text(encoding="utf-8")
with tempfile.TemporaryDirectory() as workdir:
    result = compile_source(source, "pipeline", Path(workdir))
assert result.error is None and "kind: Workflow" in result.yaml_text  # (the goldens check its text)
lazy = [n for n in fast_kfp.UNUSED_ON_IMPORT if type(sys.modules[n]) is not types.ModuleType]
assert lazy == list(fast_kfp.UNUSED_ON_IMPORT), lazy  # not loaded by the compilation
import kubernetes, kfp.v2.compiler, kfp.containers.entrypoint
assert callable(kubernetes.config.load_kube_config) and kfp.v2.compiler.Compiler and kfp.containers.entrypoint.main
assert callable(kubernetes.stream.stream) and kubernetes.watch.Watch and kubernetes.utils.create_from_yaml
assert all(type(sys.modules[n]) is types.ModuleType for n in ("kubernetes.config", "kfp.v2.compiler"))
assert not any(isinstance(f, fast_kfp._LazyFinder) for f in sys.meta_path)
"""


def test_unused_modules_load_on_first_use(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    golden = min((root / "tests" / "goldens" / "dags").glob("*/pipelines/*.py"))
    script = tmp_path / "check.py"
    script.write_text(_LAZY_CHECK, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script), str(golden)], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(root)}, check=False)
    assert done.returncode == 0, done.stderr


def test_standard_library_folder_is_distutils() -> None:
    import distutils.sysconfig  # what kfp imports for it (setuptools' distutils in a venv)

    fast_kfp.install()
    assert fast_kfp.standard_lib_dir() == distutils.sysconfig.get_python_lib(standard_lib=True)
    kfp_answer = fast_kfp.KFP_ORIGINAL["module_is_builtin_or_standard"]
    for name in ("sys", "json", "os.path", "email.mime.text", "kfp.components._data_passing", "yaml", "nope.x",
                 "concurrent", "lib2to3.fixes", "__future__", "encodings.utf_8"):
        assert fast_kfp.module_is_builtin_or_standard(name) == kfp_answer(name), name


def _union_types() -> list[Any]:
    """Every Union in the type hints of kfp's component structures, and some of their parts."""
    import typing

    from kfp.components import _structures

    # typing's own Union objects, as kfp's hints are written
    found: list[Any] = [typing.Union[str, int], typing.Optional[str], typing.Union[int, float]]  # noqa: UP007, UP045
    pending = [hint for cls in _model_classes() for hint in typing.get_type_hints(cls.__init__).values()]
    pending.append(_structures.CommandlineArgumentType)
    while pending:
        hint = pending.pop()
        if getattr(hint, "__origin__", None) is typing.Union and hint not in found:
            found.append(hint)
        pending.extend(getattr(hint, "__args__", ()))
    return found


@pytest.mark.parametrize("typ", _union_types(), ids=str)
def test_strings_parsed_against_unions_as_kfp_does(typ: Any) -> None:
    from kfp.components import modelbase

    fast_kfp.install()
    kfp_parse = fast_kfp.KFP_ORIGINAL["parse_object_from_struct_based_on_type"]
    for value in ["--step", "5", "", "{inputValue: x}", "None", "true", "1.5", "a" * 300, "{{pipelineparam:op=;name=x}}"]:
        for _ in range(2):  # the first answer, then the remembered one
            struct = "".join(value)  # an equal string, another object: kfp gives back the one it is given
            try:
                expected = kfp_parse(struct, typ)
            except Exception as error:  # noqa: BLE001
                with pytest.raises(type(error)) as raised:
                    modelbase.parse_object_from_struct_based_on_type(struct, typ)
                assert str(raised.value) == str(error)
            else:
                got = modelbase.parse_object_from_struct_based_on_type(struct, typ)
                assert got == expected and type(got) is type(expected) and (got is struct) == (expected is struct)


DOCSTRINGS = [None, "", "   ", "One line.", "Airflow task 'x' (task, /tmp/a.py:41).", ":param x: y", "@param x: y",
              ".. deprecated:: 1.0", "Args:", "Args:   ", "Returns:", "Ends with a colon:", "  indented  ",
              "Two\nlines", "Summary.\n\nArgs:\n    x: the x.", "Summary.\n\n:param x: the x",
              "Summary.\n\nParameters\n----------\nx : int\n    the x", "\tTabbed: line", "x:y", "a : b", "-" * 10,
              "Note:", "..", "... e"]


def _docstring_state(parsed: Any) -> Any:
    return (parsed.short_description, parsed.long_description, parsed.blank_after_short_description,
            parsed.blank_after_long_description, parsed.style, [(type(m), vars(m)) for m in parsed.meta])


@pytest.mark.parametrize("text", DOCSTRINGS)
def test_docstrings_parse_as_kfps_parser(text: str | None) -> None:
    import docstring_parser

    try:
        expected = _docstring_state(docstring_parser.parse(text))
    except Exception as error:  # noqa: BLE001
        with pytest.raises(type(error)):
            fast_kfp.parse_docstring(text)
    else:
        assert _docstring_state(fast_kfp.parse_docstring(text)) == expected


@given(st.lists(st.sampled_from(list(" \t\n:@.-_aAr()'/0123456789") + ["Args", "Returns", "param", "Example"]),
                max_size=20).map("".join))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_docstrings_parse_as_kfps_parser(text: str) -> None:
    test_docstrings_parse_as_kfps_parser(text)


def test_python_op_parses_docstrings_through_it() -> None:
    from kfp.components import _python_op

    fast_kfp.install()
    assert _python_op.docstring_parser.parse is fast_kfp.parse_docstring
    assert _python_op.docstring_parser.DocstringStyle is __import__("docstring_parser").DocstringStyle


def test_pipelineparams_extracted_as_kfp_does() -> None:
    from kfp import dsl
    from kubernetes.client import models as k8s

    fast_kfp.install()
    kfp_extract = fast_kfp.KFP_ORIGINAL["extract_pipelineparams_from_any"]
    p1, p2, p3 = dsl.PipelineParam("a", "op-1"), dsl.PipelineParam("b"), dsl.PipelineParam("c", value="v")
    container = k8s.V1Container(name="main", image=str(p1), command=["bash", None, f"x {p2} {p1}"],
                                env=[k8s.V1EnvVar(name="E", value=str(p3)), None],
                                resources=k8s.V1ResourceRequirements(limits={"cpu": p2, None: "1", str(p3): None}))
    samples = [None, "", 0, [], {}, "plain", str(p1), f"{p1}{p2}{p1}", p3, [None, str(p2), [p1, None]], (p1, None),
               {None: None, str(p1): [None, p2], "k": None}, container, [container, None, {"c": container}],
               k8s.V1Toleration(key=str(p2)), [0, False, "", (), None]]
    for sample in samples:
        assert fast_kfp.extract_pipelineparams_from_any(sample) == kfp_extract(sample)


def test_patched_kfp_functions_keep_kfps_lines_and_leave_no_cycles() -> None:
    import gc

    from kfp.components import _components, _structures, modelbase

    fast_kfp.install()
    kfp_resolve = fast_kfp.KFP_ORIGINAL["_resolve_command_line_and_paths"]
    kfp_parse = fast_kfp.KFP_ORIGINAL["parse_object_from_struct_based_on_type"]
    resolve, parse = _components._resolve_command_line_and_paths, modelbase.parse_object_from_struct_based_on_type
    parse = parse.__wrapped__  # under the (string, Union) memo
    for patched, kfp in ((resolve, kfp_resolve), (parse, kfp_parse)):
        assert patched is not kfp and patched.__code__.co_filename == kfp.__code__.co_filename
        assert patched.__code__.co_firstlineno == kfp.__code__.co_firstlineno
        assert {line for *_, line in patched.__code__.co_lines()} == {line for *_, line in kfp.__code__.co_lines()}
    text = json.dumps({"name": "c", "inputs": [{"name": "a"}, {"name": "b", "optional": True}],
                       "outputs": [{"name": "o"}], "implementation": {"container": {
                           "image": "i", "command": ["sh", {"inputValue": "a"}, {"outputPath": "o"}],
                           "args": [{"if": {"cond": {"isPresent": "b"}, "then": ["--b", {"inputPath": "b"}]}},
                                    {"concat": ["x", {"inputValue": "a"}]}]}}})
    spec = _components.ComponentSpec.from_dict(json.loads(text))
    typ = _structures.CommandlineArgumentType
    expected_command_line = kfp_resolve(component_spec=spec, arguments={"a": "1", "b": "2"})
    structs = [{"inputValue": "a"}, ["x", {"outputPath": "o"}], {"nope": 1}, 3.5]
    expected = [_outcome(kfp_parse, struct, typ) for struct in structs]
    gc.collect()
    gc.disable()
    try:
        for function, leaves_cycles in ((kfp_resolve, True), (resolve, False)):
            result = function(component_spec=spec, arguments={"a": "1", "b": "2"},
                              placeholder_resolver=lambda arg, component_spec, arguments: None)
            assert result == expected_command_line
            assert (gc.collect() > 0) == leaves_cycles
        for function, leaves_cycles in ((kfp_parse, True), (parse, False)):
            assert [_outcome(function, struct, typ) for struct in structs] == expected
            assert (gc.collect() > 0) == leaves_cycles
    finally:
        gc.enable()


def _outcome(function: Any, *args: Any) -> str:
    """What `function(*args)` gives or raises, as text (no exception kept: it would hold frames)."""
    try:
        return repr(function(*args))
    except Exception as error:  # noqa: BLE001
        return f"{type(error).__name__}: {error}"


def test_unexpected_kfp_source_is_not_patched() -> None:
    from kfp.components import _components

    kfp_resolve = fast_kfp.KFP_ORIGINAL.get("_resolve_command_line_and_paths", _components._resolve_command_line_and_paths)
    assert fast_kfp._patched(kfp_resolve, ("no such line\n", "x = 1\n")) is kfp_resolve
    assert fast_kfp._patched(len, ("x\n", "y\n")) is len  # no source


@given(st.lists(st.text(alphabet=list("aZ09-_ .é/\t"), max_size=12), min_size=1, max_size=6))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_memoised_name_sanitisers_answer_as_kfps(names: list[str]) -> None:
    from kfp.compiler import _k8s_helper, compiler
    from kfp.components import _naming
    from kfp.dsl import _pipeline_param, dsl_utils

    fast_kfp.install()
    pairs = [(_k8s_helper.sanitize_k8s_name, fast_kfp.KFP_ORIGINAL["sanitize_k8s_name"]),
             (compiler.sanitize_k8s_name, fast_kfp.KFP_ORIGINAL["sanitize_k8s_name"]),
             (_pipeline_param.sanitize_k8s_name, fast_kfp.KFP_ORIGINAL["param_sanitize_k8s_name"]),
             (_naming._normalize_identifier_name, fast_kfp.KFP_ORIGINAL["_normalize_identifier_name"]),
             (dsl_utils._sanitize_name, fast_kfp.KFP_ORIGINAL["_sanitize_name"])]
    for name in names + names:  # the first answer, then the remembered one
        for memoised, kfp in pairs[:3]:
            for args in ((name,), (name, True), (name, False), (name, 1)):
                assert memoised(*args) == kfp(*args)
            assert memoised(name=name, allow_capital_underscore=True) == kfp(name, True)
        for memoised, kfp in pairs[3:]:
            assert memoised(name) == kfp(name)
    for memoised, kfp in pairs:
        assert _outcome(memoised, None) == _outcome(kfp, None)  # not a str: kfp's own error
    assert _naming._sanitize_python_function_name("My task-1") == "my_task_1"  # through the memo
