"""strip.getsource gives inspect.getsource's text for every function, wherever its block is found."""

from __future__ import annotations

import inspect
import itertools
import linecache
import os
import sysconfig
import types
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow2kfp.kfp_accel import strip

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("A2K_EXAMPLES", "200"))
_COUNTER = itertools.count()


def top_level_functions(text: str) -> tuple[list[types.FunctionType], list[str]]:
    """Functions for the top-level defs of `text` (not run), with its text registered as a file."""
    filename = f"/nonexistent/a2k-getsource-{next(_COUNTER)}.py"
    lines = text.splitlines(keepends=True)
    linecache.cache[filename] = (len(text), None, lines, filename)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = compile(text, filename, "exec", dont_inherit=True)
    functions = [
        types.FunctionType(c, {})
        for c in code.co_consts
        if isinstance(c, types.CodeType) and c.co_name.isidentifier()
    ]
    return functions, lines


def compare(text: str) -> int:
    """Asserts both give the same for each top-level function; how many this module's path answered."""
    functions, lines = top_level_functions(text)
    answered = 0
    for function in functions:
        try:
            expected: object = inspect.getsource(function)
        except Exception as error:  # noqa: BLE001 - the same error either way
            with pytest.raises(type(error)):
                strip.getsource(function)
            continue
        assert strip.getsource(function) == expected, (text, function.__name__)
        answered += strip._top_level_block(lines, function.__code__.co_firstlineno - 1) is not None
    return answered


def sources(*roots: Path) -> list[str]:
    texts = []
    for root in roots:
        for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            try:
                text = path.read_text(encoding="utf-8")
                compile(text, str(path), "exec", dont_inherit=True)
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue  # fixtures of unreadable DAG files
            texts.append(text)
    return texts


def test_goldens_fixtures_converter_and_stdlib_functions_read_as_inspect() -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts = sources(ROOT / "tests" / "goldens", ROOT / "fixtures", ROOT / "airflow2kfp")
    texts += sources(*sorted(stdlib.glob("*.py")))  # the standard library's top-level modules
    answered = sum(compare(text) for text in texts)
    assert answered > 2000  # the common case goes through ast


TRICKY = [
    "def f():\n    return 1\n",
    "def f():\n    return 1",  # no line break at the end of the file
    "def f(): return 1\n\nx = 1\n",  # body on the def line: inspect
    "def f(\n    a,\n    b,\n):\n    return a\n",
    "def f():\n    x = 1\n    # kept: indented as the body\n\n    # kept too\n  # not: less indented\n# not\nx = 2\n",
    "def f():\n    x = 1\n      # deeper: kept\ny = 2\n",
    "def f():\n    if x:\n        y = 1\n    # body level\n        # deeper\n  # shallower\n\n\nz = 3\n",
    "def f():\n    s = '''\ncolumn zero inside a string\n'''\n    return s\n\n\ndef g():\n    return 2\n",
    "def f():\n    s = '''\n# looks like a comment\n'''\n    return s\n# after\n",
    "def f():\n    return (1,\n2)\n\nx = 1\n",  # a column-0 line inside brackets
    "def f():\n    x = 1 + \\\n2\n    return x\n",
    "def f():\n    x = 1 \\\n\n\ny = 2\n",
    "def f():\n    '''doc'''\n\n\n# a comment\n\ndef g():\n    pass\n    # trailing\n",
    "def f():\n\n    # before the body\n    return 1\n    # after\n",
    "def f():  # a comment on the def line\n    return 1  # and here\n",
    "def f():\n\treturn 1\n\t# tab\n",  # tabs: inspect
    "def f():\n    return 1\n\x0c\ndef g():\n    pass\n",  # form feed: inspect
    "@decorator\ndef f():\n    return 1\n",
    "@decorator(1)\ndef f():\n    return 1\n\n\nclass C:\n    def m(self):\n        return 2\n",
    "async def f():\n    return 1\n",
    "def f():\n    def g():\n        return 1\n    return g\n    # trailing\n",
    "def f():\n    class C:\n        pass\n    return C\n",
    "def f(x=lambda: 0):\n    return x\n",
    "def f():\n    return '''\n'''\n#\n",
    "def f():\n    pass\n    \n  \n    # after spaces-only lines\n",
    "def f():\n    x = 'caf\u00e9'\n    # \u00e9\n    return x\n",
    "def f():\n    return 1\n;\n",
    "def f():\n    return 1\n)\n",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_blocks_read_as_inspect(text: str) -> None:
    try:
        compile(text, "<tricky>", "exec", dont_inherit=True)
    except SyntaxError:
        pytest.skip("not Python")
    compare(text)


@st.composite
def modules(draw: st.DrawFn) -> str:
    """Top-level defs whose bodies end in the ways a block finder has to decide about."""
    pieces = []
    for index in range(draw(st.integers(1, 3))):
        indent = " " * draw(st.sampled_from([2, 4, 8]))
        header = draw(
            st.sampled_from(
                [
                    f"def f{index}():\n",
                    f"def f{index}(a,\n        b=1):\n",
                    f"def f{index}(a: int) -> str:  # c\n",
                ]
            )
        )
        body = draw(
            st.lists(
                st.sampled_from(
                    [
                        "x = 1\n",
                        "'''doc\n'''\n",
                        "s = '''\ncol0\n'''\n",
                        "if x:\n{i}y = (1,\n2)\n",
                        "# c\n",
                        "\n",
                        "return 1\n",
                        "z = [\n{i}1]  # end\n",
                        "for a in b:\n{i}pass\n",
                        "w = 1 + \\\n  2\n",
                    ]
                ),
                min_size=1,
                max_size=5,
            )
        )
        text = header
        for line in body:
            text += "".join(
                (indent + part if part.strip() else part)
                for part in line.replace("{i}", indent).splitlines(keepends=True)
            )
        tail = draw(
            st.lists(
                st.sampled_from(
                    ["\n", "# c\n", " # c\n", indent + "# c\n", indent + "  # c\n", "   \n", "\\\n"]
                ),
                max_size=4,
            )
        )
        text += "".join(tail) + draw(st.sampled_from(["", "x = 1\n", "@d\n", "class C:\n    pass\n"]))
        pieces.append(text)
    return "".join(pieces)


@given(modules())
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_blocks_read_as_inspect(text: str) -> None:
    try:
        compile(text, "<generated>", "exec", dont_inherit=True)
    except SyntaxError:
        return
    compare(text)
