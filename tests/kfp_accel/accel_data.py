"""Inputs the kfp_accel tests share: tricky strings, data trees (hypothesis), the goldens."""

from __future__ import annotations

import ast
import itertools
import os
import textwrap
from collections import OrderedDict
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
GOLDENS = ROOT / "tests" / "goldens" / "dags"
GOLDEN_SOURCES = sorted(GOLDENS.glob("*/pipelines/*.py"))
GOLDEN_YAML = sorted(GOLDENS.glob("*/pipelines/*.yaml"))
EXAMPLES = int(os.environ.get("A2K_EXAMPLES", "200"))

TRICKY = [
    "plain",
    "yes",
    "No",
    "on",
    "~",
    "null",
    "- x",
    ": x",
    "#x",
    "a #b",
    "a: b",
    "[list]",
    "{map}",
    "@at",
    "`tick`",
    "%pct",
    "!bang",
    "*star",
    "|pipe",
    ">gt",
    "0123",
    "1e5",
    "0x1F",
    "2024-01-01",
    "12:30",
    "",
    "  ",
    "  leading",
    "trailing  ",
    'it\'s "quoted"',
    "back\\slash \\n",
    "{{ ds }} and {{ params.x }}",
    "x" * 200,
    ("word " * 60).strip(),
    "x" * 79 + " y",
    "multi\nline  \n  indented\n",
    "multi\n\n\nblank\n\n",
    "\nstarts with newline",
    "k: v\n- item\n",
    "--- doc",
    "...",
    "?",
    "-",
    # escaped: kfp's own dumper takes these
    "caf\u00e9 \u4e2d\u6587",
    "emoji \U0001f600",
    "tab\there",
    "cr\rlf",
    "bell\x07",
    "long " + "\u00e9" * 100,
]


def workflow_with(value: str) -> dict:
    """A workflow-shaped mapping holding `value` as a key, in lists, in flow and block collections."""
    return {
        "metadata": {"annotations": {"k": value, value or "empty": [value, 1, None, True]}},
        "spec": OrderedDict(args=[value, {"inner": value}], flow={"a": value}),
    }


PLAIN_TEXT = st.text(alphabet=[chr(c) for c in range(32, 127)] + ["\n"], max_size=40)
_ANY_TEXT = st.text(max_size=20)


def _plain_scalars() -> st.SearchStrategy:
    from airflow2kfp.kfp_accel.yaml_io import plain_text

    return st.one_of(
        PLAIN_TEXT,
        st.sampled_from([t for t in TRICKY if plain_text(t)]),
        st.integers(),
        st.booleans(),
        st.none(),
    )


_PLAIN_SCALARS = _plain_scalars()
_ANY_SCALARS = st.one_of(_PLAIN_SCALARS, _ANY_TEXT, st.floats(), st.just(()), st.tuples(st.integers()))


def _trees(scalars: st.SearchStrategy, keys: st.SearchStrategy) -> st.SearchStrategy:
    def containers(children: st.SearchStrategy) -> st.SearchStrategy:
        return st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys, children, max_size=4),
            st.dictionaries(keys, children, max_size=4).map(OrderedDict),
        )

    return st.recursive(scalars, containers, max_leaves=25)


@st.composite
def _shared(draw: st.DrawFn, trees: st.SearchStrategy) -> Any:
    """A tree, sometimes with one of its containers met twice (a YAML anchor and alias)."""
    tree = draw(trees)
    if isinstance(tree, (dict, list)) and draw(st.booleans()):
        return {"first": tree, "again": [tree, draw(trees)]}
    return tree


PLAIN_KEYS = st.one_of(PLAIN_TEXT.filter(bool), st.integers(), st.booleans())  # an empty key is not plain
PLAIN_DATA = _shared(_trees(_PLAIN_SCALARS, PLAIN_KEYS))
ANY_DATA = _shared(_trees(_ANY_SCALARS, st.one_of(_ANY_TEXT, st.integers(), st.booleans(), st.none())))


def shape(data: Any) -> Any:
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


def outcome(function: Any, *args: Any, **kwargs: Any) -> str:
    """What `function(*args)` gives or raises, as text (no exception kept: it would hold frames)."""
    try:
        return repr(function(*args, **kwargs))
    except Exception as error:  # noqa: BLE001
        return f"{type(error).__name__}: {error}"


def kfp_sources(text: str) -> list[str]:
    """Every def in `text` as kfp's _get_function_source_definition gives it: dedented, from `def` on."""
    lines = text.splitlines(keepends=True)
    sources = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            source = textwrap.dedent("".join(lines[first - 1 : node.end_lineno]))
            sources.append(
                "\n".join(itertools.dropwhile(lambda x: not x.startswith("def"), source.split("\n")))
            )
    return sources
