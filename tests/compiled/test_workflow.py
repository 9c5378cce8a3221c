"""`load_workflow`'s one pass over the parser's events reads every workflow as the compose-based
reading (`_load_composed`) does: the same values, in the same key order, or the same error."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow2kfp.compiled import workflow

ROOT = Path(__file__).resolve().parents[2]
GOLDENS = sorted((ROOT / "tests").rglob("*.yaml"))
LOADERS = [
    pytest.param(getattr(yaml, "CSafeLoader", yaml.SafeLoader), id="libyaml"),
    pytest.param(yaml.SafeLoader, id="python"),
]


def _ordered(value: Any) -> Any:
    """`value` with each mapping's key order and each scalar's type in it: == then compares those too
    (and a NaN as its repr)."""
    if isinstance(value, dict):
        return ("dict", [(_ordered(key), _ordered(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [_ordered(item) for item in value])
    return (type(value).__name__, repr(value))


def _read(read: Any, text: str) -> Any:
    try:
        return _ordered(read(text))
    except RecursionError:
        return RecursionError  # its message says where the stack ran out
    except Exception as error:  # noqa: BLE001 - the error is part of the reading: its type and message
        return (type(error), str(error))


@pytest.fixture
def fallbacks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts `load_workflow` handed to the compose-based reading."""
    handed: list[str] = []
    composed = workflow._load_composed

    def counted(text: str) -> Any:
        handed.append(text)
        return composed(text)

    monkeypatch.setattr(workflow, "_load_composed", counted)
    return handed


def _same(text: str, handed: list[str]) -> tuple[Any, bool]:
    """Both readings of `text`, which must be equal; and whether the outline fell back."""
    before = len(handed)
    outline = _read(workflow.load_workflow, text)
    fell_back = len(handed) > before
    assert outline == _read(workflow._load_composed, text)
    return outline, fell_back


# -- real workflows ---------------------------------------------------------------------------------


def test_there_are_goldens() -> None:
    assert len(GOLDENS) > 20


@pytest.mark.parametrize("path", GOLDENS, ids=lambda p: p.stem)
def test_every_golden_reads_as_composed_without_falling_back(path: Path, fallbacks: list[str]) -> None:
    text = path.read_text()
    outline, fell_back = _same(text, fallbacks)
    assert not fell_back and outline[0] == "dict"


@pytest.fixture(scope="module")
def generated_yaml(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A generated DAG (Bash, Python, TaskFlow, pod and empty tasks, groups), compiled."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from generate import generate_single
    finally:
        sys.path.remove(str(ROOT / "bench"))
    from airflow2kfp.pipeline import ConvertOptions
    from airflow2kfp.run import STATIC, convert_all

    root = tmp_path_factory.mktemp("generated")
    result = convert_all(
        [generate_single(root / "dags", 12, seed=3)], root / "out", ConvertOptions(), settings=STATIC
    )
    (dag,) = json.loads(result.summary_path.read_text())["dags"]
    return (root / "out" / dag["yaml"]).read_text()


def test_a_generated_dag_reads_as_composed_without_falling_back(
    generated_yaml: str, fallbacks: list[str]
) -> None:
    _, fell_back = _same(generated_yaml, fallbacks)
    assert not fell_back
    steps = workflow.step_settings(workflow.load_workflow(generated_yaml))
    assert len(steps) >= 6 and any(step.retry for step in steps.values())


@pytest.mark.parametrize("loader", LOADERS)
def test_goldens_read_the_same_with_either_parser(loader: type, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workflow, "_YAML_LOADER", loader)
    for path in GOLDENS[:5]:
        text = path.read_text()
        assert _read(workflow.load_workflow, text) == _read(workflow._load_composed, text)


# -- hand-written workflows ---------------------------------------------------------------------------

BASE = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: p-, annotations: {a: '1'}}
spec:
  entrypoint: p
  arguments:
    parameters:
    - {name: ds, value: '2024-01-01'}
  templates:
  - name: p
    dag:
      tasks:
      - {name: a, template: a}
  - name: a
    container: {image: alpine, command: [sh, -c, echo]}
    retryStrategy: {limit: 2, backoff: {duration: 5m, factor: 2}}
    activeDeadlineSeconds: 3600
  serviceAccountName: runner
"""


def _doc(**parts: str) -> str:
    """BASE with extra lines: `root`, `spec`, `template` (into template a) and `container` (into its
    container, block style)."""
    text = BASE.replace(
        "container: {image: alpine, command: [sh, -c, echo]}",
        "container:\n      image: alpine\n" + _indent(parts.get("container", ""), 6),
    )
    text = text.replace(
        "  serviceAccountName: runner\n", "  serviceAccountName: runner\n" + _indent(parts.get("spec", ""), 2)
    )
    text = text.replace(
        "    activeDeadlineSeconds: 3600\n",
        "    activeDeadlineSeconds: 3600\n" + _indent(parts.get("template", ""), 4),
    )
    return text + parts.get("root", "")


def _indent(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in text.splitlines())


# (id, text, falls back)
OUTLINE_CASES = [
    ("base", BASE, False),
    (
        "implicit scalars",
        _doc(
            root="""\
metadata:
  ints: [0, -7, 0x1F, 0o17, 017, 1_000, 190:20:30, +12, 0b101]
  floats: [1.5, 1.0e+3, .inf, -.Inf, .nan, 6.8523015e+5, 190:20:30.15, 1e3]
  bools: [yes, No, on, OFF, true, False, y, n]
  nulls: [~, null, NULL, '', ]
  times: [2001-12-14t21:59:43.10-05:00, 2002-12-14, 2001-12-14 21:59:43.10 -5, 2001-12-15T02:59:43.1Z]
  strings: ['1', "true", 0.1.2, -, '~', "2002-12-14"]
  keys: {1: int, true: bool, ~: null, 1.5: float, 2002-12-14: date, "1": str}
  block: |
    two
    lines
  folded: >
    one
    line
"""
        ),
        False,
    ),
    (
        "tags in kept parts",
        _doc(
            template="name: !!str 123\nretryStrategy: {limit: !!int '3', x: !!float 1, "
            "y: ! 12, z: !<tag:yaml.org,2002:str> 5, b: !!binary aGk=, "
            "s: !!set {a, b}, o: !!omap [a: 1, b: 2], p: !!pairs [a: 1, a: 2]}"
        ),
        False,
    ),
    ("an unknown tag in a kept part", _doc(root="metadata: !custom {a: 1}\n"), False),
    (
        "unknown tags in skipped parts",
        _doc(container="env: !custom [a, !other b]", spec="volumes: !!python/object:os.system x"),
        False,
    ),
    (
        "tagged collections at the outline's levels",
        BASE.replace("spec:", "spec: !!map").replace("  templates:", "  templates: !!seq"),
        False,
    ),
    ("a tag directive", "%TAG !e! tag:example.com,2000:\n---\n" + _doc(container="env: !e!thing x"), False),
    (
        "flow style",
        (
            "{apiVersion: v1, kind: Workflow, spec: {entrypoint: p, templates: [{name: p, "
            "dag: {tasks: [{name: a, template: a}]}}, {name: a, container: {image: x}, "
            "retryStrategy: {limit: 1}}]}}"
        ),
        False,
    ),
    (
        "merge keys in kept values",
        _doc(
            template="retryStrategy: {<<: [{limit: 1, a: 2}, {limit: 3}], x: 1}",
            root="metadata: {<<: {a: 1}, b: 2}\n",
        ),
        False,
    ),
    (
        "merge keys at the outline's levels",
        _doc(root="<<: {kind: Other}\n", spec="<<: {entrypoint: q}", template="<<: {name: other}"),
        False,
    ),
    ("duplicate keys", _doc(root="kind: Again\nspec: 3\n"), False),
    ("a duplicate spec", BASE + "spec: {entrypoint: q, templates: [{name: q}]}\nkind: Last\n", False),
    ("duplicate spec keys", _doc(spec="templates: none\nentrypoint: again\narguments: {}"), False),
    (
        "duplicate template keys",
        _doc(
            template="name: again\ncontainer: null\nretryStrategy: {limit: 9}\n"
            "activeDeadlineSeconds: 60\ndag: {tasks: []}"
        ),
        False,
    ),
    (
        "non-scalar keys",
        _doc(
            root="? [spec]\n: x\n{kind: a}: y\n",
            spec="[templates]: z\n? {a: 1}\n: [1]",
            template="[name]: z\n? - container\n: w",
        ),
        False,
    ),
    (
        "quoted and block keys",
        BASE.replace("kind:", '"kind":')
        .replace("  entrypoint:", "  'entrypoint':")
        .replace("  - name: p", "  - ? name\n    : p"),
        False,
    ),
    ("no spec", "apiVersion: v1\nkind: Workflow\nmetadata: {name: x}\n", False),
    ("spec a scalar", "kind: Workflow\nspec: 3\n", False),
    ("spec empty", "kind: Workflow\nspec:\napiVersion: v1\n", False),
    ("spec a list", "kind: Workflow\nspec: [templates, 1]\n", False),
    ("spec without templates", "spec: {entrypoint: p, arguments: {parameters: [{name: ds}]}}\n", False),
    ("templates not a list", "spec: {templates: {name: a, container: {}}}\n", False),
    ("templates empty", "spec: {templates: }\n", False),
    ("templates a string", "spec:\n  templates: abc\n  entrypoint: p\n", False),
    (
        "templates that are not mappings",
        ("spec:\n  templates: [a, 1, [x, {name: y}], {name: b, container: 1}, null, 2002-12-14, '', {}]\n"),
        False,
    ),
    (
        "tagged keys at the outline's levels",
        BASE.replace("kind:", "!custom kind:")
        .replace("  entrypoint:", "  !!int entrypoint:")
        .replace("  - name: p", "  - !!str name: p"),
        False,
    ),
    ("an empty mapping", "{}\n", False),
    ("a mapping with a tag at the root", "!!set {apiVersion, kind}\n", False),
    ("an explicit document", "%YAML 1.1\n--- \n" + BASE + "...\n", False),
    ("a comment after the document", BASE + "# end\n", False),
    ("nesting, skipped", _doc(container="env: " + "[" * 90 + "]" * 90), False),
    ("nesting, kept", _doc(root="metadata: " + "{a: [" * 45 + "]}" * 45 + "\n"), False),
    ("unconstructible value", _doc(root="metadata: {a: =}\n"), False),
    ("unconstructible value, skipped", _doc(container="a: =\nb: 2001-13-45"), False),
    ("an impossible date in a kept part", _doc(template="retryStrategy: {limit: 2001-13-45}"), False),
    # what the outline does not read: the compose-based reading decides
    ("an empty text", "", True),
    ("only a comment", "# nothing\n", True),
    ("an empty document", "---\n", True),
    ("an empty document, ended", "---\n...\n", True),
    ("a list", "- not\n- a workflow\n", True),
    ("a scalar", "42\n", True),
    ("null", "null\n", True),
    ("a quoted string", "'text'\n", True),
    ("an ordered map at the root", "!!omap [a: 1, b: 2]\n", True),
    ("an unknown tag on a list root", "!custom [a]\n", True),
    ("two documents", BASE + "---\nkind: Second\n", True),
    ("an empty second document", BASE + "---\n", True),
    (
        "an anchor and alias into a kept part",
        _doc(container="env: &e {limit: 4}", template="retryStrategy: *e"),
        True,
    ),
    ("an anchor and alias in kept parts", _doc(root="metadata: {a: &x 1, b: *x, c: [*x]}\n"), True),
    (
        "a merge of an alias",
        _doc(container="env: &b {limit: 1}", template="retryStrategy: {<<: *b, x: 1}"),
        True,
    ),
    ("an unused anchor", _doc(container="env: &unused [1]"), True),
    ("a duplicate anchor", _doc(container="a: &x 1\nb: &x 2"), True),
    ("an undefined alias", _doc(container="a: *nowhere"), True),
    ("an alias as a key", _doc(spec="? &k templates\n: 1", root="*k : 2\n"), True),
    ("an alias as the root", "*a\n", True),
    ("an anchored root", "&r {kind: Workflow}\n", True),
    ("deep nesting, skipped", _doc(container="env: " + "[" * 500 + "]" * 500), True),
    ("deep nesting, kept", _doc(root="metadata: " + "[" * 500 + "]" * 500 + "\n"), True),
]


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize(("text", "falls_back"), [pytest.param(t, f, id=i) for i, t, f in OUTLINE_CASES])
def test_hand_written_workflows_read_as_composed(
    text: str, falls_back: bool, loader: type, fallbacks: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workflow, "_YAML_LOADER", loader)
    _, fell_back = _same(text, fallbacks)
    assert fell_back == falls_back


def test_the_base_workflow_reads_as_expected() -> None:
    assert workflow.load_workflow(BASE) == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "p-", "annotations": {"a": "1"}},
        "spec": {
            "entrypoint": "p",
            "arguments": {"parameters": [{"name": "ds", "value": "2024-01-01"}]},
            "templates": [
                {"name": "p", "dag": {"tasks": [{"name": "a", "template": "a"}]}},
                {
                    "name": "a",
                    "container": {},
                    "retryStrategy": {"limit": 2, "backoff": {"duration": "5m", "factor": 2}},
                    "activeDeadlineSeconds": 3600,
                },
            ],
        },
    }


def test_values_keep_their_types_and_order() -> None:
    # a repeated key: the last value, at the first key's place (as a dict built in order)
    text = _doc(
        template="retryStrategy: {limit: '3', factor: 1.5, on: yes, when: 2024-01-02}", spec="entrypoint: 7"
    )
    spec = workflow.load_workflow(text)["spec"]
    assert spec["entrypoint"] == 7 and list(spec) == ["entrypoint", "arguments", "templates"]
    assert spec["templates"][1]["retryStrategy"] == {
        "limit": "3",
        "factor": 1.5,
        True: True,
        "when": datetime.date(2024, 1, 2),
    }


def test_a_non_mapping_template_is_kept_whole_and_step_settings_pass_it() -> None:
    text = "spec: {templates: [a, {name: b, container: {}, activeDeadlineSeconds: 90}]}"
    loaded = workflow.load_workflow(text)
    assert loaded["spec"]["templates"] == ["a", {"name": "b", "container": {}, "activeDeadlineSeconds": 90}]
    assert workflow.step_settings(loaded) == {"b": workflow.StepInfo("", "90s")}


def test_tags_that_depend_on_the_path_fall_back(
    fallbacks: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class PathLoader(workflow._YAML_LOADER):  # type: ignore[name-defined, misc]
        pass

    PathLoader.add_path_resolver("tag:yaml.org,2002:int", ["spec", "entrypoint"], str)
    monkeypatch.setattr(workflow, "_YAML_LOADER", PathLoader)
    text = "spec: {entrypoint: '42'}\n"
    assert workflow.load_workflow(text) == {"spec": {"entrypoint": 42}} and fallbacks == [text]


# -- malformed YAML: the parser's own error, as before ----------------------------------------------

MALFORMED = [
    ("an unclosed flow list", "spec: [1, 2\n"),
    ("a mapping in a plain scalar", "a: b: c\n"),
    ("an unterminated quote", "kind: 'unterminated\n"),
    ("a tab as indentation", "spec:\n\ttemplates: []\n"),
    ("a bad dedent", "a:\n  - b\n c: d\n"),
    ("an invalid escape", 'kind: "\\q"\n'),
    ("a bad indent in a kept part", "spec:\n  templates:\n  - name: a\n   bad: indent\n"),
    ("a list then a mapping", "- a\nb: c\n"),
    ("a reserved indicator", "kind: @x\n"),
    ("an unknown tag handle", "kind: !h!x y\n"),
    ("deep in a skipped part", _doc(container="env: {a: [1, }")),
    ("after the document", BASE + "}\n"),
    ("after an impossible date", _doc(template="retryStrategy: {limit: 2001-13-45}") + "spec: [\n"),
    ("after an unconstructible value", _doc(root="metadata: {a: =}\n") + "- x\n"),
    ("a malformed second document", BASE + "--- [\n"),
    ("after an anchor", _doc(container="a: &x 1") + "b: [\n"),
]


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("text", [pytest.param(t, id=i) for i, t in MALFORMED])
def test_malformed_yaml_raises_the_same_yaml_error(
    text: str, loader: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workflow, "_YAML_LOADER", loader)
    with pytest.raises(yaml.YAMLError) as outline:
        workflow.load_workflow(text)
    with pytest.raises(yaml.YAMLError) as composed:
        workflow._load_composed(text)
    assert (type(outline.value), str(outline.value)) == (type(composed.value), str(composed.value))


def test_a_stack_too_short_for_the_outline_falls_back(fallbacks: list[str]) -> None:
    def nested(levels: int) -> Any:
        return nested(levels - 1) if levels else workflow.load_workflow(BASE)

    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 100)
    try:
        for levels in range(100):  # somewhere here the outline runs out of stack, not load_workflow
            try:
                nested(levels)
            except RecursionError:
                pass
    finally:
        sys.setrecursionlimit(limit)
    assert fallbacks
