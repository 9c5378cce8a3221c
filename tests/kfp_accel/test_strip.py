"""strip.strip_with_ast gives kfp's lib2to3 stripping, text for text, wherever it answers (and lib2to3 reads it)."""

from __future__ import annotations

import itertools
import os
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kfp.components._python_op import _strip_type_hints_using_lib2to3

from airflow2kfp.kfp_accel.strip import strip_with_ast
from tests.kfp_accel.accel_data import kfp_sources

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("A2K_EXAMPLES", "200"))


def lib2to3(source: str) -> str | None:
    """kfp's stripper proper; None where lib2to3 cannot read the source (kfp then tries others)."""
    try:
        return _strip_type_hints_using_lib2to3(source)
    except Exception:  # noqa: BLE001 - whatever lib2to3 raises, kfp moves on
        return None


def same_as_kfp(source: str) -> str | None:
    ours = strip_with_ast(source)
    if ours is not None:
        assert ours == lib2to3(source), source
    return ours


def corpus() -> list[str]:
    files = [
        *sorted((ROOT / "tests" / "goldens" / "dags").glob("*/pipelines/*.py")),
        *sorted((ROOT / "fixtures").rglob("*.py")),
        *sorted((ROOT / "airflow2kfp").rglob("*.py")),
    ]
    sources = []
    for path in files:
        try:
            sources += kfp_sources(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue  # fixtures of unreadable DAG files
    return [s for s in sources if s.strip()]


def test_goldens_fixtures_and_converter_functions_strip_as_kfp() -> None:
    sources = corpus()
    fast = [s for s in sources if same_as_kfp(s) is not None]
    assert len(sources) > 500 and len(fast) > 0.9 * len(sources)


SIGNATURES = [  # (source, answered here rather than by kfp)
    ("def f(a: int, b : str='x', *args: int, c: 'T' = 1, **kw: dict) -> str:\n    return a\n", True),
    ("def f(a:int,b:List[int]=None)->Dict[str, int] :\n    pass\n", True),
    (
        "def f(\n    a: int,  # first\n    b: Optional[\n        str  # inner\n    ] = None,\n) -> None:\n    pass\n",
        True,
    ),
    (
        "def f(a, /, b: int, *, c: str) -> None:\n    def g(x: int = 1) -> int:\n        return x\n    return g\n",
        True,
    ),
    ("def f(a: (int)) -> None:\n    pass\n", False),
    ("def f(a: (a)[b], b: a | (b), c: lambda: (x)) -> (a).b:\n    pass\n", True),
    ("def f(a) -> (int):\n    pass\n", False),
    ("def f(a: 'caf\u00e9' = '\u00e9', \u00e9t\u00e9: int = 1) -> '\u00e9':\n    return '\u00e9'\n", True),
    ("def f(a: int):\n    exec('x = 1')\n", False),
    ("def f(a: int):\n    if (n := a):\n        pass\n", False),
    ("def f(a: int):\n    match a:\n        case 1:\n            pass\n", False),
    ("def f(a: int):\n    with (open(a) as b, open(a) as c):\n        pass\n", False),
    ("def f(a: int):\n    with open(a) as b, open(a) as c:\n        pass\n", True),
    ("def f(a: int):\n    return a[*b]\n", False),
    ("def f(*a: *Ts):\n    pass\n", False),
    ("def f(a: int):\n    for x in *a, a:\n        pass\n", False),
    ("def f(a: int):\n    x: tuple = 1, 2\n", False),
    ("def f(a: int):\n    x: int = 1\n    y = *a, a\n    return *a, a\n", True),
    ("def f(a: int):\n    @functools.wraps(a)\n    def g(b: int) -> int:\n        return b\n", True),
    ("def f(a: int):\n    @a[0]\n    def g(b: int) -> int:\n        return b\n", False),
    ("def f(a: int):\n    @(a)\n    def g(b: int) -> int:\n        return b\n", False),
    ("def f(a: int):\n    class C:\n        def m(self, v: int) -> None:\n            pass\n", True),
    ("def f(a: int):\n    async def g(b: int):\n        await b\n", False),
    ("def f(a: int):\n    try:\n        pass\n    except* ValueError:\n        pass\n", False),
    ("def f(a: int) -> int:\n    return a", False),  # no final newline
    ("def f(a: int) \\\n        -> int:\n    return a\n", False),
    ("def f(a \\\n      : int):\n    return a\n", False),
    (
        "def f(a: int, b=lambda x, y=1: x) -> str:\n    print(f'{a!r:>{b}}', sep='')\n    return 'x' 'y'\n",
        True,
    ),
    ("def f(a: int) -> int:\n    pass\n\n# trailing comment\n", True),
    ("def f(a: int):\n    s = '''\n  def g(b: int) -> int:\n'''\n    return s\n", True),
]


@pytest.mark.parametrize(("source", "answered"), SIGNATURES)
def test_signatures_strip_as_kfp(source: str, answered: bool) -> None:
    assert (same_as_kfp(source) is not None) == answered


_NAMES = st.sampled_from(["a", "b_1", "table", "_p", "\u00e9t\u00e9", "limit", "value"])
_ANNOTATIONS = st.sampled_from(
    [
        "int",
        "str",
        "'Foo'",
        '"Bar"',
        "List[int]",
        "Dict[str, int]",
        "Optional[List['X']]",
        "(int)",
        "((a, b))",
        "(a)[b]",
        "a | None",
        "a|(b)",
        "lambda: 1",
        "List[\n    int,  # note\n]",
        "typing.Tuple[int, ...]",
        "f'{x}'",
        "NamedTuple('O', [('a', int)])",
        "InputPath('CSV')",
        "a if b else c",
        "-1",
        "[int, str]",
        "{'a': int}",
        "(yield)",
        "*Ts",
        "not a",
        "a.b.c",
        "x[1:2]",
    ]
)
_DEFAULTS = st.sampled_from([None, "1", "'x'", "None", "lambda y: y", "(1, 2)", "[]", "{}"])
_SPACES = st.sampled_from(["", " ", "  ", "\t"])
_BODIES = st.sampled_from(
    [
        "return 1",
        "x = [*a, *b]",
        "if (n := 1):\n    pass",
        "match x:\n    case 1:\n        pass",
        "exec('1')",
        "with open(p) as f:\n    pass",
        "with (open(p) as f):\n    pass",
        "for i in *a, b:\n    pass",
        "y: int = 1",
        "y: T = 1, 2",
        "print(f'{x!r}')",
        "@functools.wraps(f)\ndef inner(q: int) -> str:\n    return q",
        "@a[0]\ndef g():\n    pass",
        "class C:\n    def m(self, v: int=1) -> None:\n        pass",
        "h = lambda *a, **k: 0",
        "async def h(q: int):\n    await q",
        "global z",
        "try:\n    pass\nexcept* E:\n    pass",
        "x = a[1:2, ::3]",
        "del a[0]",
        "assert x, 'm'",
        "raise E from None",
        "yield from g()",
        "s = '''multi\ndef k(a: int) -> int:\n'''",
        "def k(a: int, *, b: (int) = 2) -> 'R':\n    pass",
        "import os  # a comment",
        "x = a[*b]",
        "return *a, b",
    ]
)


@st.composite
def function_sources(draw: st.DrawFn) -> str:
    names = draw(st.lists(_NAMES, min_size=0, max_size=5, unique=True))
    one_per_line = draw(st.booleans())
    parameters = []
    for index, name in enumerate(names):
        star = draw(st.sampled_from(["", "", "", "*", "**"])) if index == len(names) - 1 else ""
        text = star + name
        if draw(st.booleans()):
            text += draw(_SPACES) + ":" + draw(_SPACES) + draw(_ANNOTATIONS)
        default = draw(_DEFAULTS) if not star else None
        if default is not None:
            text += draw(st.sampled_from(["=", " = "])) + default
        parameters.append(text)
    if names and draw(st.booleans()):
        parameters.insert(draw(st.integers(1, len(parameters))), draw(st.sampled_from(["/", "*"])))
    separator = ",\n    " if one_per_line else ", "
    signature = f"def f({separator.join(parameters)})"
    if draw(st.booleans()):
        signature += draw(_SPACES) + "->" + draw(_SPACES) + draw(_ANNOTATIONS)
    body = "\n".join(draw(st.lists(_BODIES, min_size=1, max_size=3)))
    return signature + ":\n" + textwrap.indent(body, "    ") + "\n"


@given(function_sources())
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_functions_strip_as_kfp(source: str) -> None:
    same_as_kfp(source)


def test_generated_functions_are_mostly_answered_here() -> None:
    """The property above is not vacuous: most plain signatures are stripped here."""
    answered = [
        same_as_kfp(
            f"def f({a}: {t}, b{s}:{s}{t} = 1, *c: {t}, d: {t}, **e: {t}){s}->{s}{t}:\n    return a\n"
        )
        for a, t, s in itertools.product(["a", "x_1"], ["int", "List[int]", "'T'", "a.b[c, d]"], ["", " "])
    ]
    assert all(answer is not None for answer in answered)
