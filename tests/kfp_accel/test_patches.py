"""Every patch of the table gives kfp's own result on representative inputs: one check per target.

A check gets kfp's value (a callable runs with every patch off, as plain kfp: kfp's functions call
each other through module globals the table replaces) and ours (run with the table installed).
The goldens compare whole files both ways (test_plain_kfp.py).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import inspect
import io
import json
import re
import tempfile
import types
import typing
import warnings
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kfp.components import _yaml_utils

from airflow2kfp.kfp_accel import accelerated, install
from airflow2kfp.kfp_accel.copies import patched, standard_lib_dir
from airflow2kfp.kfp_accel.patch import ABSENT, Kind, Patch, source_digest
from airflow2kfp.kfp_accel.patches import PATCHES, patches_markdown
from tests.kfp_accel.accel_data import (
    ANY_DATA,
    EXAMPLES,
    GOLDEN_SOURCES,
    GOLDEN_YAML,
    TRICKY,
    kfp_sources,
    outcome,
    shape,
    workflow_with,
)

CHECKS: dict[str, Callable[[Any, Any], None]] = {}  # patch target -> check(kfp's value, ours)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(*targets: str) -> Callable[[Callable[[Any, Any], None]], Callable[[Any, Any], None]]:
    def register(function: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        for target in targets:
            assert target not in CHECKS, target
            CHECKS[target] = function
        return function

    return register


@contextlib.contextmanager
def plain_kfp() -> Iterator[None]:
    """Within an accelerated() block: kfp's own attributes back for a while."""
    assert install.active()
    install.uninstall()
    try:
        yield
    finally:
        assert install.install()


def as_plain_kfp(kfp_value: Any) -> Any:
    """kfp's function, called with every patch off; a module (a proxy's original) as it is."""
    if isinstance(kfp_value, types.ModuleType) or not callable(kfp_value):
        return kfp_value

    @functools.wraps(kfp_value)
    def call(*args: Any, **kwargs: Any) -> Any:
        with plain_kfp():
            return kfp_value(*args, **kwargs)

    return call


@pytest.mark.parametrize("patch", PATCHES, ids=lambda p: p.target)
def test_patch_gives_kfps_result(patch: Patch) -> None:
    with accelerated() as active:
        assert active
        ours = patch.current()
        assert ours is not install.original(patch)
        CHECKS[patch.target](as_plain_kfp(install.original(patch)), ours)


def test_every_patch_has_a_check_and_a_reason() -> None:
    targets = [p.target for p in PATCHES]
    assert len(set(targets)) == len(targets)  # one entry per swap
    assert sorted(CHECKS) == sorted(targets)
    assert all(len(p.why) > 40 for p in PATCHES)


DOCS = Path(__file__).resolve().parents[2] / "docs" / "kfp-accel.md"
_TABLE = re.compile(r"<!-- patches:start -->\n(.*?)<!-- patches:end -->", re.DOTALL)


def test_the_docs_show_the_table(request: pytest.FixtureRequest) -> None:
    text = DOCS.read_text(encoding="utf-8")
    if request.config.getoption("--update-goldens"):
        DOCS.write_text(
            _TABLE.sub(lambda _: f"<!-- patches:start -->\n{patches_markdown()}<!-- patches:end -->", text),
            encoding="utf-8",
        )
        return
    found = _TABLE.search(text)
    assert found is not None and found.group(1) == patches_markdown(), (
        "run pytest tests/kfp_accel --update-goldens"
    )


@pytest.mark.parametrize("patch", [p for p in PATCHES if p.kind is Kind.COPY], ids=lambda p: p.target)
def test_copies_were_made_from_the_installed_kfps_source(patch: Patch) -> None:
    """A new kfp release whose function changed fails here: read the copy again (docs/kfp-accel.md)."""
    assert patch.copied_from == source_digest(patch.current())


# -- YAML ----------------------------------------------------------------------------------------


def _dump_samples() -> list[Any]:
    samples: list[Any] = [workflow_with(value) for value in TRICKY]
    samples += [{"a": [value], "b": 1} for value in ("\n", "x\n\n", "\n\n", " x\n\n\n")]  # `|+` blocks
    samples += [{"x" * n: "v", "flow": {"a " * (n // 2): None}} for n in (100, 101, 124, 129)]  # long keys
    samples += [
        {"a": [{"": None}]},
        "lone scalar",
        1,
        None,
        "multi\nline",
        ["x", 1.5],
        {"f": 1.5},
        OrderedDict(a=1),
    ]
    samples += [_yaml_utils.load_yaml(path.read_text(encoding="utf-8")) for path in GOLDEN_YAML]
    return samples


@check("kfp.compiler.compiler.dump_yaml")
def _dumps_as_kfp(kfp: Any, ours: Any) -> None:
    for data in _dump_samples():
        assert ours(data) == kfp(data)

    @given(ANY_DATA)
    @SETTINGS
    def any_data(data: Any) -> None:
        assert ours(data) == kfp(data)

    any_data()


@check("kfp.compiler.compiler._validate_workflow")
def _validates_as_kfp(kfp: Any, ours: Any) -> None:
    import shutil

    assert shutil.which("argo") is None  # else ours is kfp's own: nothing to compare
    marker = "{{pipelineparam:op=a;name=b}}"
    samples: list[Any] = [_yaml_utils.load_yaml(path.read_text(encoding="utf-8")) for path in GOLDEN_YAML[:5]]
    samples += [
        {"spec": {"arguments": {"parameters": [{"name": "p"}, {"name": "q", "value": "v"}]}}},
        {"spec": {"templates": [{"args": ["x", marker]}]}},
        {"spec": {marker: 1}},
        {"spec": {}},
        {"spec": {"arguments": {"parameters": [{"name": marker}]}}},
        {"metadata": {}},
    ]
    for sample in samples:
        mine, theirs = copy.deepcopy(sample), copy.deepcopy(sample)
        assert outcome(ours, mine) == outcome(kfp, theirs)
        assert mine == theirs  # kfp gives each argument without a value an empty one


@check("kfp.compiler.compiler.Compiler._write_workflow")
def _writes_as_kfp(kfp: Any, ours: Any) -> None:
    """Outside compile_source's deferred_write (test_deferred_write.py covers it within)."""
    workflow = workflow_with("x")
    assert ours(workflow) == kfp(workflow)  # no path: the text
    with tempfile.TemporaryDirectory() as folder:
        for name in ("w.yaml", "w.yml", "w.zip", "w.txt"):
            mine, theirs = Path(folder, "ours-" + name), Path(folder, "kfp-" + name)
            assert outcome(ours, workflow, str(mine)).replace("ours-", "") == outcome(
                kfp, workflow, str(theirs)
            ).replace("kfp-", "")
            assert mine.exists() == theirs.exists()
            if name.endswith(".zip"):
                with zipfile.ZipFile(mine) as a, zipfile.ZipFile(theirs) as b:
                    assert [(i.filename, a.read(i)) for i in a.infolist()] == [
                        (i.filename, b.read(i)) for i in b.infolist()
                    ]
            elif mine.exists():
                assert mine.read_bytes() == theirs.read_bytes()


@check("kfp.components._components.load_yaml")
def _loads_as_kfp(kfp: Any, ours: Any) -> None:
    texts = [
        json.dumps({"name": value, "inputs": [{"name": "x"}]}) for value in [*TRICKY, "\ud83d lone surrogate"]
    ]
    texts += [_yaml_utils.dump_yaml(workflow_with(value)) for value in TRICKY]
    texts += [path.read_text(encoding="utf-8") for path in GOLDEN_YAML]
    texts += [
        "a: [1, 2\n",
        "- x\n- &a {k: v}\n- *a\n",
        "x: 1e5\ny: 0x1F\nz: 2024-01-01\n",
        "",
        "k: caf\u00e9\n",
    ]

    def loaded(load: Any, text: Any) -> str:
        return outcome(lambda: shape(load(text)))

    for text in texts:
        expected = loaded(kfp, text)
        assert loaded(ours, text) == expected
        assert loaded(ours, io.StringIO(text)) == expected  # a stream as its text


# -- component specs -----------------------------------------------------------------------------

_BASH = (
    '{"name": "%s", "inputs": [{"name": "command", "type": "String"}], "implementation": {"container": '
    '{"image": "bash:5.2", "command": ["bash", "-c", {"inputValue": "command"}]}}}'
)
_REST = (
    ', "inputs": [{"name": "command", "type": "String"}], "implementation": {"container": '
    '{"image": "bash:5.1", "command": ["bash", "-c", {"inputValue": "command"}]}}}'
)


def _step(table: str, limit: int = 3, flag: bool = False) -> str:
    return f"{table}:{limit}:{flag}"


def _same_spec(kfp: Any, ours: Any, text: Any) -> None:
    with warnings.catch_warnings(record=True) as theirs_said:
        warnings.simplefilter("always")
        try:
            theirs = kfp(text)
        except Exception as error:  # noqa: BLE001 - then ours raises the same
            with pytest.raises(type(error)) as raised:
                ours(text)
            assert str(raised.value) == str(error)
            return
    with warnings.catch_warnings(record=True) as mine_said:
        warnings.simplefilter("always")
        mine = ours(text)
    assert mine == theirs and mine.to_dict() == theirs.to_dict() and mine.name == theirs.name
    assert mine._digest == theirs._digest
    assert all(type(getattr(mine, f)) is type(getattr(theirs, f)) for f in mine._get_field_names())
    assert [(w.category, str(w.message)) for w in mine_said] == [
        (w.category, str(w.message)) for w in theirs_said
    ]


@check("kfp.components._components._load_component_spec_from_component_text")
def _loads_specs_as_kfp(kfp: Any, ours: Any) -> None:
    from kfp import components

    from airflow2kfp.kfp_accel import specs

    specs._SERIALISED.clear()  # the memo is bounded (cleared when full): count from empty, whatever ran before
    for name in ("task-a", "task-b", "task-a"):  # the memo's first answer, then copies
        _same_spec(kfp, ours, _BASH % name)
    no_command = "name: c\nimplementation:\n  container:\n    image: bash\n"  # kfp's FutureWarning
    for text in (
        no_command,
        no_command.encode(),
        "name: y\r\ninputs:\r\n- {name: a, default: 1.5}\r\n",
        '{"name": "f", "inputs": [{"name": "a", "default": 1e5}]}',
    ):
        _same_spec(kfp, ours, text)
    # the generated `named(...)`: a spec's own to_dict() (recorded) loaded back under a task's name
    component = components.create_component_from_func(_step, base_image="python:3.11")
    spec_dict = component.component_spec.to_dict()
    for name in ("task-x", "task-y"):
        _same_spec(kfp, ours, json.dumps({**spec_dict, "name": name}))
    first = ours(_BASH % "a")
    named = ours(json.dumps({**first.to_dict(), "name": "b"}))
    recorded = len(specs._SERIALISED)
    _same_spec(kfp, ours, json.dumps({**named.to_dict(), "name": "c"}))  # a named copy is not recorded
    assert len(specs._SERIALISED) == recorded

    @given(st.lists(st.text(alphabet=[chr(c) for c in range(32, 127)], max_size=12), min_size=1, max_size=4))
    @SETTINGS
    def texts_differing_in_their_name(names: list[str]) -> None:
        texts = ['{"name": ' + json.dumps(name) + _REST for name in names]
        texts.append('{"name": "dup", "inputs": [], "name": "last"}')  # two names: json keeps the last
        texts.append('{"name": "dup2", "inputs": [], "name": "last"}')
        texts.append('{"name":  "spaced"' + _REST)  # not json.dumps' own spacing
        for text in texts:
            _same_spec(kfp, ours, text)

    texts_differing_in_their_name()


@pytest.mark.parametrize(
    "number", ["1", "-7", "10000000000000000000000", "1.5", "1e5", "-0.0", "NaN", "Infinity", "-Infinity"]
)
def test_json_is_read_as_yaml_only_without_floats(number: str) -> None:
    from airflow2kfp.kfp_accel.specs import json_as_yaml

    text = json.dumps({"name": "x", "inputs": [{"name": "a", "default": 0}], "n": [0]}).replace("0", number)
    data = json_as_yaml(text)
    if data is not None:  # YAML 1.1 reads `1e5` as a string, json as a float: only ints are read by json
        assert data == _yaml_utils.load_yaml(text) and "." not in number and "e" not in number
    else:
        assert any(isinstance(v, float) for v in json.loads(text)["n"])


def _golden_component_specs() -> list[Any]:
    from kfp.components import _components

    specs = []
    for path in GOLDEN_YAML:
        workflow = _yaml_utils.load_yaml(path.read_text(encoding="utf-8"))
        for template in workflow["spec"]["templates"]:
            text = (
                template.get("metadata", {})
                .get("annotations", {})
                .get("pipelines.kubeflow.org/component_spec")
            )
            if text:
                specs.append(_components.ComponentSpec.from_dict(json.loads(text)))
    assert len(specs) > 50
    return specs


@check("kfp.components._structures.ComponentSpec.to_dict")
def _serialises_specs_as_kfp(kfp: Any, ours: Any) -> None:
    from airflow2kfp.kfp_accel import specs as memo

    for spec in _golden_component_specs():
        assert ours(spec) == kfp(spec)
        key = json.dumps({k: v for k, v in ours(spec).items() if k != "name"})
        assert memo._SERIALISED[key] == spec  # recorded, for a `named(...)` load of the same content


def _model_classes() -> list[type]:
    from kfp.components import _structures, modelbase

    return [
        c for c in vars(_structures).values() if isinstance(c, type) and issubclass(c, modelbase.ModelBase)
    ]


def _union_types() -> list[Any]:
    """Every Union in the type hints of kfp's component structures, and some of their parts."""
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


def _same_lines(patched_function: Any, kfp_function: Any) -> None:
    """Recompiled from kfp's source: kfp's file and line numbers in tracebacks."""
    assert patched_function is not kfp_function
    assert patched_function.__code__.co_filename == kfp_function.__code__.co_filename
    assert patched_function.__code__.co_firstlineno == kfp_function.__code__.co_firstlineno
    assert {line for *_, line in patched_function.__code__.co_lines()} == {
        line for *_, line in kfp_function.__code__.co_lines()
    }


def _leaves_cycles(function: Callable[[], Any]) -> bool:
    import gc

    gc.collect()
    gc.disable()
    try:
        function()
        return gc.collect() > 0
    finally:
        gc.enable()


@check("kfp.components.modelbase.parse_object_from_struct_based_on_type")
def _parses_as_kfp(kfp: Any, ours: Any) -> None:
    from kfp.components import _structures

    values = [
        "--step",
        "5",
        "",
        "{inputValue: x}",
        "None",
        "true",
        "1.5",
        "a" * 300,
        "{{pipelineparam:op=;name=x}}",
    ]
    for typ in _union_types():
        for value in values:
            for _ in range(2):  # the first answer, then the remembered one
                struct = "".join(value)  # an equal string, another object: kfp gives back the one it is given
                try:
                    expected = kfp(struct, typ)
                except Exception as error:  # noqa: BLE001
                    with pytest.raises(type(error)) as raised:
                        ours(struct, typ)
                    assert str(raised.value) == str(error)
                else:
                    got = ours(struct, typ)
                    assert (
                        got == expected
                        and type(got) is type(expected)
                        and (got is struct) == (expected is struct)
                    )
    # under the memo: kfp's source with one line changed, which leaves no cycle behind
    typ = _structures.CommandlineArgumentType
    structs = [{"inputValue": "a"}, ["x", {"outputPath": "o"}], {"nope": 1}, 3.5]
    recompiled, kfp_function = ours.__wrapped__, kfp.__wrapped__
    _same_lines(recompiled, kfp_function)
    assert [outcome(recompiled, s, typ) for s in structs] == [outcome(kfp, s, typ) for s in structs]
    assert _leaves_cycles(lambda: [outcome(kfp_function, s, typ) for s in structs])
    assert not _leaves_cycles(lambda: [outcome(recompiled, s, typ) for s in structs])


@check("kfp.components._components._resolve_command_line_and_paths")
def _resolves_command_lines_as_kfp(kfp: Any, ours: Any) -> None:
    from kfp.components import _components

    _same_lines(ours, kfp.__wrapped__)
    text = json.dumps(
        {
            "name": "c",
            "inputs": [{"name": "a"}, {"name": "b", "optional": True}],
            "outputs": [{"name": "o"}],
            "implementation": {
                "container": {
                    "image": "i",
                    "command": ["sh", {"inputValue": "a"}, {"outputPath": "o"}],
                    "args": [
                        {"if": {"cond": {"isPresent": "b"}, "then": ["--b", {"inputPath": "b"}]}},
                        {"concat": ["x", {"inputValue": "a"}]},
                    ],
                }
            },
        }
    )
    spec = _components.ComponentSpec.from_dict(json.loads(text))
    for arguments in ({"a": "1", "b": "2"}, {"a": "1"}, {}):
        assert outcome(ours, component_spec=spec, arguments=arguments) == outcome(
            kfp, component_spec=spec, arguments=arguments
        )
    resolver = {"placeholder_resolver": lambda arg, component_spec, arguments: None}
    assert _leaves_cycles(lambda: kfp.__wrapped__(component_spec=spec, arguments={"a": "1"}, **resolver))
    assert not _leaves_cycles(lambda: ours(component_spec=spec, arguments={"a": "1"}, **resolver))


# -- introspection -------------------------------------------------------------------------------


@check("kfp.components.modelbase.inspect")
def _signatures_as_inspect(kfp: Any, ours: Any) -> None:
    for cls in _model_classes():
        bound = types.MethodType(cls.__init__, object())
        for _ in range(2):  # the memo's answer, first and second time
            assert ours.signature(bound) == kfp.signature(bound)
        assert ours.signature(cls) == kfp.signature(cls)
    assert ours.Parameter is kfp.Parameter and ours.getsource is kfp.getsource  # the rest is inspect's


@check("kfp.components.modelbase.get_type_hints")
def _type_hints_as_typing(kfp: Any, ours: Any) -> None:
    for cls in _model_classes():
        for _ in range(2):
            assert ours(cls.__init__) == kfp(cls.__init__)
        assert ours(cls.__init__) is not ours(cls.__init__)  # each its own dict
        assert outcome(ours, cls) == outcome(kfp, cls)


@check("kfp.components.modelbase.convert_object_to_struct")
def _converts_objects_as_kfp(kfp: Any, ours: Any) -> None:
    from kfp.components import modelbase

    objects = []
    for spec in _golden_component_specs():
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
        assert ours(item, item._serialized_names) == kfp(item, item._serialized_names)
        assert ours(item) == kfp(item)


def _functions_of(*modules: types.ModuleType) -> list[Any]:
    return [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, types.FunctionType) and value.__module__ == module.__name__
    ]


@check("kfp.components._python_op.inspect")
def _sources_as_inspect(kfp: Any, ours: Any) -> None:
    import sys

    from airflow2kfp.kfp_accel import copies, specs, strip

    functions = _functions_of(copies, specs, strip, sys.modules[__name__])
    assert len(functions) > 30
    for function in functions:
        assert ours.getsource(function) == kfp.getsource(function)
    module = sys.modules[__name__]
    assert ours.getsource(module) == kfp.getsource(module)  # not a function: inspect's own
    assert ours.signature is kfp.signature  # the rest is inspect's


@check("kfp.components._python_op.strip_type_hints")
def _strips_as_kfp(kfp: Any, ours: Any) -> None:
    sources = [
        s for path in GOLDEN_SOURCES for s in kfp_sources(path.read_text(encoding="utf-8")) if s.strip()
    ]
    sources += ["def f(a: int):\n    if (n := a):\n        pass\n", "def f(a: (int)) -> None:\n    pass\n"]
    assert len(sources) > 100
    for source in sources:
        assert ours(source) == kfp(source)


DOCSTRINGS = [
    None,
    "",
    "   ",
    "One line.",
    "Airflow task 'x' (task, /tmp/a.py:41).",
    ":param x: y",
    "@param x: y",
    ".. deprecated:: 1.0",
    "Args:",
    "Args:   ",
    "Returns:",
    "Ends with a colon:",
    "  indented  ",
    "Two\nlines",
    "Summary.\n\nArgs:\n    x: the x.",
    "Summary.\n\n:param x: the x",
    "Summary.\n\nParameters\n----------\nx : int\n    the x",
    "\tTabbed: line",
    "x:y",
    "a : b",
    "-" * 10,
    "Note:",
    "..",
    "... e",
]


def _docstring_state(parsed: Any) -> Any:
    return (
        parsed.short_description,
        parsed.long_description,
        parsed.blank_after_short_description,
        parsed.blank_after_long_description,
        parsed.style,
        [(type(m), vars(m)) for m in parsed.meta],
    )


@check("kfp.components._python_op.docstring_parser")
def _parses_docstrings_as_docstring_parser(kfp: Any, ours: Any) -> None:
    def same(text: str | None) -> None:
        assert outcome(lambda: _docstring_state(ours.parse(text))) == outcome(
            lambda: _docstring_state(kfp.parse(text))
        )

    for text in DOCSTRINGS:
        same(text)
    assert ours.DocstringStyle is kfp.DocstringStyle and ours.ParseError is kfp.ParseError

    @given(
        st.lists(
            st.sampled_from(list(" \t\n:@.-_aAr()'/0123456789") + ["Args", "Returns", "param", "Example"]),
            max_size=20,
        ).map("".join)
    )
    @SETTINGS
    def generated(text: str) -> None:
        same(text)

    generated()


@check("kfp.components._python_op._module_is_builtin_or_standard")
def _finds_standard_modules_as_kfp(kfp: Any, ours: Any) -> None:
    import distutils.sysconfig  # what kfp imports for it (setuptools' distutils in a venv)

    assert standard_lib_dir() == distutils.sysconfig.get_python_lib(standard_lib=True)
    for name in (
        "sys",
        "json",
        "os.path",
        "email.mime.text",
        "kfp.components._data_passing",
        "yaml",
        "nope.x",
        "concurrent",
        "lib2to3.fixes",
        "__future__",
        "encodings.utf_8",
        "typing",
    ):
        for _ in range(2):
            assert ours(name) == kfp(name), name


# -- Kubernetes objects and PipelineParams ---------------------------------------------------------


@check(
    "kfp.compiler._k8s_helper.convert_k8s_obj_to_json",
    "kfp.compiler._op_to_template.convert_k8s_obj_to_json",
    "kfp.compiler.compiler.convert_k8s_obj_to_json",
)
def _converts_k8s_objects_as_kfp(kfp: Any, ours: Any) -> None:
    import datetime as dt

    from kfp import dsl
    from kubernetes.client import models as k8s

    container = k8s.V1Container(
        name="main",
        image="bash",
        command=["bash", "-c"],
        args=("a", dsl.PipelineParam("p", value="v")),
        env=[
            k8s.V1EnvVar(name="E", value="1"),
            k8s.V1EnvVar(
                name="F",
                value_from=k8s.V1EnvVarSource(
                    field_ref=k8s.V1ObjectFieldSelector(field_path="metadata.name")
                ),
            ),
        ],
        resources=k8s.V1ResourceRequirements(limits={"cpu": "1", "memory": dsl.PipelineParam("m", "op-1")}),
    )
    samples = [
        None,
        1,
        1.5,
        True,
        b"x",
        "s",
        [1, (2, 3)],
        {"a": [container]},
        dt.date(2024, 1, 2),
        dt.datetime(2024, 1, 2, 3, 4),
        dsl.PipelineParam("q", "op-2"),
        dsl.PipelineParam("r", value=7),
        container,
        k8s.V1Toleration(key="k", operator="Exists"),
        ({"t": (dsl.PipelineParam("s"),)},),
        object(),
    ]
    for sample in samples:
        assert outcome(ours, sample) == outcome(kfp, sample)


@check(
    "kfp.dsl._pipeline_param.extract_pipelineparams_from_any",
    "kfp.compiler.compiler.extract_pipelineparams_from_any",
)
def _extracts_pipelineparams_as_kfp(kfp: Any, ours: Any) -> None:
    from kfp import dsl
    from kubernetes.client import models as k8s

    p1, p2, p3 = dsl.PipelineParam("a", "op-1"), dsl.PipelineParam("b"), dsl.PipelineParam("c", value="v")
    container = k8s.V1Container(
        name="main",
        image=str(p1),
        command=["bash", None, f"x {p2} {p1}"],
        env=[k8s.V1EnvVar(name="E", value=str(p3)), None],
        resources=k8s.V1ResourceRequirements(limits={"cpu": p2, None: "1", str(p3): None}),
    )
    samples = [
        None,
        "",
        0,
        [],
        {},
        "plain",
        str(p1),
        f"{p1}{p2}{p1}",
        p3,
        [None, str(p2), [p1, None]],
        (p1, None),
        {None: None, str(p1): [None, p2], "k": None},
        container,
        [container, None, {"c": container}],
        k8s.V1Toleration(key=str(p2)),
        [0, False, "", (), None],
    ]
    for sample in samples:
        assert sorted(map(repr, ours(sample))) == sorted(map(repr, kfp(sample)))


_PARAM_TEXT = st.lists(
    st.sampled_from(
        [
            "{{pipelineparam:op=",
            "{{pipelineparam:op=;name=x}}",
            "op-1",
            ";name=",
            "}}",
            "{{",
            "a b",
            "-",
            "_",
            "{{pipelineparam:op=t 1;name=out_put}}",
            "é",
        ]
    ),
    max_size=6,
).map("".join)


@check(
    "kfp.dsl._pipeline_param.match_serialized_pipelineparam",
    "kfp.dsl.match_serialized_pipelineparam",
    "kfp.dsl._pipeline_param._extract_pipelineparams",
)
def _searches_pipelineparams_as_kfp(kfp: Any, ours: Any) -> None:
    def found(function: Any, argument: Any) -> Any:
        try:
            return sorted(map(repr, function(argument)))
        except Exception as error:  # noqa: BLE001 - kfp rejects some names: so must the fast path
            return type(error)

    @given(st.one_of(_PARAM_TEXT, st.text(max_size=30)))
    @SETTINGS
    def payloads(payload: str) -> None:
        assert found(ours, payload) == found(kfp, payload)
        assert found(ours, [payload, "x"]) == found(
            kfp, [payload, "x"]
        )  # _extract_pipelineparams takes lists

    payloads()


# -- names -------------------------------------------------------------------------------------------


@check(
    "kfp.compiler._k8s_helper.sanitize_k8s_name",
    "kfp.compiler.compiler.sanitize_k8s_name",
    "kfp.dsl._pipeline_param.sanitize_k8s_name",
    "kfp.components._naming._normalize_identifier_name",
    "kfp.dsl.dsl_utils._sanitize_name",
)
def _sanitises_names_as_kfp(kfp: Any, ours: Any) -> None:
    @given(st.lists(st.text(alphabet=list("aZ09-_ .é/\t"), max_size=12), min_size=1, max_size=6))
    @SETTINGS
    def names(given_names: list[str]) -> None:
        for name in given_names + given_names:  # the first answer, then the remembered one
            for args in ((name,), (name, True), (name, False), (name, 1), (name, True, 2)):
                assert outcome(ours, *args) == outcome(kfp, *args)
            assert outcome(ours, name=name) == outcome(kfp, name=name)
            assert outcome(ours, name, allow_capital_underscore=True) == outcome(
                kfp, name, allow_capital_underscore=True
            )
        assert outcome(ours, None) == outcome(kfp, None)  # not a str: kfp's own error

    names()


# -- ops ---------------------------------------------------------------------------------------------


@check("kfp.compiler._data_passing_rewriter.copy")
def _deep_copies_as_copy(kfp: Any, ours: Any) -> None:
    def containers(item: Any) -> list[int]:
        found, stack = [], [item]
        while stack:
            item = stack.pop()
            if isinstance(item, (dict, list)):
                found.append(id(item))
                stack.extend(item.values() if isinstance(item, dict) else item)
        return found

    @given(ANY_DATA)
    @SETTINGS
    def data(tree: Any) -> None:
        copied = ours.deepcopy(tree)
        assert shape(copied) == shape(kfp.deepcopy(tree))
        assert not set(containers(copied)) & set(containers(tree))  # nothing shared with the original

    data()
    assert ours.copy is kfp.copy  # the rest is copy's


def _container_op(name: str) -> Any:
    from kfp.dsl import _container_op

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _container_op.ContainerOp(
            name=name, image="bash:5.2", command=["bash", "-c"], arguments=["echo"]
        )


@check("kfp.dsl._container_op.dir")
def _proxies_the_same_names(kfp: Any, ours: Any) -> None:
    from kfp.dsl._container_op import Container

    container = Container(image="bash:5.2", command=["bash"], args=["-c", "echo"])
    for obj in (container, object(), [], _container_op("a")):
        assert ours(obj) == [name for name in kfp(obj) if not name.startswith("_")]
    fast = _container_op("x")
    with plain_kfp():
        theirs = _container_op("x")
    assert list(vars(fast)) == list(vars(theirs))
    assert [k for k, v in vars(fast).items() if callable(v)] == [
        k for k, v in vars(theirs).items() if callable(v)
    ]


@check("kubernetes.client.models.v1_container.Configuration")
def _configures_containers_as_kubernetes(kfp: Any, ours: Any) -> None:
    from kfp.dsl._container_op import Container

    fresh, shared = vars(kfp()), vars(ours())
    formatter = "logger_formatter"  # a logging.Formatter each: compared by its format
    assert {k: v for k, v in fresh.items() if k != formatter} == {
        k: v for k, v in shared.items() if k != formatter
    }
    assert fresh[formatter]._fmt == shared[formatter]._fmt
    container = Container(image="bash:5.2", command=["bash"], args=["-c", "echo"])
    assert container.local_vars_configuration is ours()


@check("kfp.dsl._pipeline.Pipeline.add_op")
def _names_ops_as_kfp(kfp: Any, ours: Any) -> None:
    from kfp import dsl

    class Op:  # what add_op reads of an op
        def __init__(self, human_name: str) -> None:
            self.human_name = human_name

    @given(
        st.lists(
            st.sampled_from(
                [
                    "task",
                    "Task",
                    "my_task",
                    "my-task",
                    "my task",
                    "",
                    "_",
                    "-",
                    "task-2",
                    "task 2",
                    "a" * 70,
                    "étape",
                    "x.y",
                    "task-2-2",
                ]
            ),
            max_size=12,
        )
    )
    @SETTINGS
    def names(given_names: list[str]) -> None:
        given: dict[str, list[str]] = {}
        for label, add_op in (("ours", ours), ("kfp", kfp)):
            pipeline = dsl.Pipeline("p")
            ops = [Op(name) for name in given_names]
            given[label] = [add_op(pipeline, op, define_only=i % 2 == 0) for i, op in enumerate(ops)]
            assert list(pipeline.ops.values()) == ops
            assert pipeline.groups[-1].ops == [op for i, op in enumerate(ops) if i % 2]
        assert given["ours"] == given["kfp"]

    names()


@check("kfp.dsl._pipeline.Pipeline.__enter__")
def _enters_pipelines_as_kfp_and_releases_ops(kfp: Any, ours: Any) -> None:
    from kfp import compiler, components, dsl
    from kfp.dsl import _pipeline

    from airflow2kfp.kfp_accel import ops

    for enter in (ours, kfp):
        pipeline = dsl.Pipeline("p")
        assert enter(pipeline) is pipeline and _pipeline.Pipeline.get_default_pipeline() is pipeline
        pipeline.__exit__(None, None, None)
        assert _pipeline.Pipeline.get_default_pipeline() is None
    bash = components.load_component_from_text(
        "name: b\ninputs:\n- {name: c, type: String}\nimplementation:\n  container:\n    image: bash\n"
        "    command: [bash, -c, {inputValue: c}]\n"
    )

    @dsl.pipeline(name="p")
    def pipeline_function() -> None:
        first = bash(c="1")
        bash(c="2").after(first)

    built: list[Any] = []
    with ops.released_ops():
        workflow = compiler.Compiler()._create_workflow(pipeline_function)
        built.extend(ops._BUILDING[-1])
        made = [op for p in built for op in p.ops.values()]
        assert len(made) == 2 and all(vars(op) for op in made)  # whole while the compilation runs
    assert all(vars(op) == {} for op in made) and ops._BUILDING == []
    assert [t["name"] for t in workflow["spec"]["templates"]] == ["b", "b-2", "p"]
    outside = compiler.Compiler()._create_workflow(pipeline_function)  # not within: nothing noted or emptied
    assert outside["spec"] == workflow["spec"] and ops._BUILDING == []  # (metadata: the time)


# -- the means themselves ------------------------------------------------------------------------------


def test_unexpected_kfp_source_is_not_patched() -> None:
    from kfp.components import _components

    with accelerated():
        kfp_resolve = install.original(
            next(p for p in PATCHES if p.attribute == "_resolve_command_line_and_paths")
        )
    assert patched(kfp_resolve, ("no such line\n", "x = 1\n")) is kfp_resolve
    assert patched(len, ("x\n", "y\n")) is len  # no source
    assert _components._resolve_command_line_and_paths is kfp_resolve  # uninstalled


def test_patches_name_attributes_kfp_has() -> None:
    for patch in PATCHES:
        owner, name = patch.owner()
        if patch.attribute != "dir":  # the builtin, as _container_op finds it
            assert patch.own_value() is not ABSENT or hasattr(owner, name), patch.target
    assert hashlib.sha256(b"").hexdigest()  # (the digests above are sha256 of kfp's source text)
    assert inspect.isfunction(install.replacement)
