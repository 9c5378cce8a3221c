"""`Positions` gives every node the range libcst's `PositionProvider` gives it, and reading a file
with it yields exactly what reading with the provider's map yields."""

from __future__ import annotations

import ast
import sys
from collections.abc import Sequence
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import CodeRange

from airflow2kfp.diagnostics import Diagnostic
from airflow2kfp.model import ParsedFile
from airflow2kfp.parse import static
from airflow2kfp.parse.positions import Positions, reference_positions

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_FILES = sorted(
    path
    for folder in (
        "airflow_dags",
        "invalid_dags",
        "bad_inputs",
        "airflow_only",
        "import_hazards",
        "verify_dags",
    )
    for path in (ROOT / "fixtures" / folder).rglob("*.py")
)
SNIPPETS = {
    "crlf": "from airflow import DAG\r\nx = [\r\n  1,  # one\r\n]\r\nwith DAG('d'):\r\n    pass\r\n",
    "lone_cr": "x = 1\ry = (\r  2)\r",
    "mixed_newlines": "x = '''a\r\nb'''\ny = 2\r\nz = 3\n",
    "no_trailing_newline": "from airflow import DAG\nwith DAG('d') as dag:\n    x = 1",
    "semicolons_decorators": "import a; b = 1; c = (b,\n  2)\n\n# note\n@a.task(x=1)\n@a.b\ndef f(y, *, z=3):\n"
    "    '''doc\n    more'''\n    return y\n",
    "unicode_tabs_continuations": "s = 'é€😀'  ;  t = s + \\\n\t'x'\nif s:\n\tu = {'k': [1,\n\t\t2]}\n"
    "class K(object):\n\tdef m(self): return lambda q: q\n",
    "fstrings_comments": '# head\n\n\nx = f"{1 + 2!r:>{3}} {{y}}"  # tail\n\n  # indented comment\nz = x\n',
    "empty": "",
    "unicode_calls": "from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator as Op\n"
    "with DAG('dé€') as d, Op(task_id='ü'):\n    x = 'é'; t = Op(task_id='😀', doc='ö')\n"
    "    u = Op(\n        task_id='é€',\n        doc='😀😀')  # ü\n    (Op)(task_id='z').x\n"
    "    v = (Op(task_id='p'))\n    w: Op = Op(task_id='q'); w >>= Op(task_id='r')\n"
    "    ((Op))(task_id='y')\n    Op(task_id='a')(1)(2)\n    Op.partial(task_id='b').expand(x=[1])\n"
    "    d.x[0](task_id='c')\n    Op (task_id='e' , )\n    return Op(task_id=f'{x!r:>{3}}')\n",
    "compound_statements": "import x\n\n\n@x.d(\n    1)\n@(x\n  .e)\nasync def f(a, /, b=x.g(), *c, d, **e):\n"
    "    'doc'\n    async with x.h() as i, x.j():\n        pass\n    async for k in x.l(): await k\n"
    "    return [m for m in x.n() if m] or (lambda q: q)(x.o())\n\n"
    "class C(x.B, metaclass=x.M):\n    a = x.p()\n    def g(self): return x.q()\n\n"
    "try:\n    r = x.s()\nexcept (ValueError, x.E) as err:\n    pass\nelse:\n    t = x.u()\n"
    "finally:\n    x.v()\n"
    "if x.w():\n    pass\nelif x.y():\n    z = x.z()\nelif 1: pass\nelse:\n    if x.a(): pass\n"
    "while x.b():\n    break\nelse:\n    x.c()\n"
    "for i in x.d():\n    continue\nelse:\n    x.e()\n"
    "match x.f():\n    case [1, *rest] if x.g():\n        x.h()\n    case _:\n        pass\n"
    "with (x.i() as a,\n      x.j() as b):\n    x.k(a, b)\n"
    "if True: x.l(); x.m()\n",
    "form_feed_and_tabs": "import x\n\x0cdef f():\n\tif x:\n\t\treturn x.a(\n\t\t\t1)\n\x0c\n\tx.b()\n",
    "comments_everywhere": "# a\nimport x  # b\n\n# c\n@x.d  # d\n# e\ndef f(  # f\n    a,  # g\n):  # h\n"
    "    # i\n    return x.y(  # j\n        a,  # k\n    )  # l\n    # m\n# n\n",
    "try_star_and_nested_defs": "def outer():\n    def inner():\n        return f()\n    try:\n        g()\n"
    "    except* ValueError:\n        h()\n    return inner\n",
}


class _ProviderPositions:
    """What static reading used before: libcst's provider map computed up front, and definitions
    printed with `code_for_node`."""

    def __init__(self, module: cst.Module, text: str, tree: ast.Module) -> None:
        self._module = module
        self._ranges = reference_positions(module)

    def get(self, node: cst.CSTNode, statements: Sequence[cst.CSTNode] = ()) -> CodeRange | None:
        return self._ranges.get(node)

    def definition(self, node: cst.FunctionDef) -> str:
        return self._module.code_for_node(node.with_changes(leading_lines=()))


def _assert_same_positions(text: str) -> int:
    """Every node's range, asked for in a fresh `Positions` each (so each takes the path it would
    take first), then all in one, equals the provider's; so does every definition's text."""
    module, tree = cst.parse_module(text), ast.parse(text)
    expected = reference_positions(module)
    holders = _holders(module)
    mismatched = []
    for node in expected:  # alone: each of these takes the path it would take first
        if isinstance(node, (cst.Call, cst.BaseStatement, cst.Lambda, cst.Decorator)):
            got = Positions(module, text, tree).get(node, holders[id(node)])
            if got != expected[node]:
                mismatched.append(("alone", type(node).__name__, expected[node], got))
    shared = Positions(module, text, tree)
    for node in expected:
        if isinstance(node, cst.FunctionDef):
            assert shared.definition(node) == module.code_for_node(node.with_changes(leading_lines=()))
    for node, want in expected.items():  # together: later ones reuse what earlier ones printed
        got = shared.get(node, holders[id(node)])
        if got != want:
            mismatched.append(("shared", type(node).__name__, want, got))
    assert mismatched == []
    assert shared.get(cst.Name("not_in_the_module")) is None
    return len(expected)


def _holders(module: cst.Module) -> dict[int, list[cst.CSTNode]]:
    """For each node, the statements it stands in, outermost first (the interpreter's stack)."""
    holders: dict[int, list[cst.CSTNode]] = {}
    stack: list[tuple[cst.CSTNode, list[cst.CSTNode]]] = [(module, [])]
    while stack:
        node, chain = stack.pop()
        holders[id(node)] = chain
        if isinstance(node, (cst.BaseStatement, cst.BaseSmallStatement)):
            chain = [*chain, node]
        stack.extend((child, chain) for child in node.children)
    return holders


def _read_both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ParsedFile, ParsedFile]:
    fast = static.read_dag_file(path, display_path=path.name)
    with monkeypatch.context() as patched:
        patched.setattr(static, "Positions", _ProviderPositions)
        slow = static.read_dag_file(path, display_path=path.name)
    return fast, slow


def _spans(parsed: ParsedFile) -> list[tuple[int, int, int | None, int | None]]:
    found = []
    for dag in parsed.dags:
        found += [(s.line, s.col, s.end_line, s.end_col) for s in [dag.span, *(t.span for t in dag.tasks)]]
    return found


def _readable(path: Path) -> str | None:
    """The text of a file static reading gets as far as positioning, else None."""
    text = path.read_bytes().decode("utf-8", errors="replace").removeprefix("\ufeff")
    if not text.strip() or isinstance(static._python_check(text, path.name), Diagnostic):
        return None
    try:
        cst.parse_module(text)
    except cst.ParserSyntaxError:
        return None
    return text


@pytest.fixture(scope="module")
def bench_repo(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import generate  # type: ignore[import-not-found]

    root = tmp_path_factory.mktemp("bench")
    generate(root, 12, seed=11)
    return sorted(root.rglob("*.py"))


def test_fixture_files_are_found() -> None:
    assert len(FIXTURE_FILES) >= 50


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: str(p.relative_to(ROOT / "fixtures")))
def test_fixture_positions_and_reading_match_the_provider(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _readable(path)
    if text is not None:
        _assert_same_positions(text)
    fast, slow = _read_both(path, monkeypatch)
    assert fast == slow


def test_bench_repo_positions_and_reading_match_the_provider(
    bench_repo: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    nodes = spans = 0
    for path in bench_repo:
        nodes += _assert_same_positions(path.read_text(encoding="utf-8"))
        fast, slow = _read_both(path, monkeypatch)
        assert fast == slow, path
        spans += len(_spans(fast))
    assert nodes > 10_000 and spans > 100  # the comparison covered real DAGs, not empty results


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_snippet_positions_match_the_provider(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _assert_same_positions(SNIPPETS[name])
    path = tmp_path / f"{name}.py"
    path.write_bytes(SNIPPETS[name].encode())
    fast, slow = _read_both(path, monkeypatch)
    assert fast == slow


def test_spans_are_real_positions(tmp_path: Path) -> None:
    path = tmp_path / "dag.py"
    path.write_text(
        "from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n\n"
        "with DAG('d') as dag:\n    a = EmptyOperator(\n        task_id='a',\n    )\n"
    )
    dag = static.read_dag_file(path).dags[0]
    assert [(s.line, s.col, s.end_line, s.end_col) for s in [dag.span, dag.tasks[0].span]] == [
        (4, 5, 4, 13),
        (5, 8, 7, 5),
    ]


@pytest.mark.parametrize("shape", ["binop", "attribute"])
def test_nesting_under_the_depth_limit_but_too_deep_to_print_fails_as_a_whole(
    tmp_path: Path, shape: str
) -> None:
    """700 levels pass the ast depth check but not Python's recursion limit: the file is A2K107,
    not an exception out of the reader (the provider's KeyError while unwinding used to escape)."""
    deep = " + ".join(["1"] * 700) if shape == "binop" else "a" + ".b" * 700
    path = tmp_path / "deep.py"
    path.write_text(
        "from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
        f"with DAG('d'):\n    x = {deep} + EmptyOperator(task_id='t')\n"
    )
    parsed = static.read_dag_file(path)
    assert [d.code for d in parsed.diagnostics] == ["A2K107"] and parsed.dags == ()
