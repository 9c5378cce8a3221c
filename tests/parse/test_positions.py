"""`Positions` gives every node the range libcst's `PositionProvider` gives it, and reading a file
with it yields exactly what reading with the provider's map yields."""

from __future__ import annotations

import sys
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import CodeRange

from converter.model import ParsedFile
from converter.parse import static
from converter.parse.positions import Positions, reference_positions

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_FILES = sorted(
    path for folder in ("airflow_dags", "invalid_dags", "bad_inputs", "airflow_only", "import_hazards", "verify_dags")
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
    "fstrings_comments": "# head\n\n\nx = f\"{1 + 2!r:>{3}} {{y}}\"  # tail\n\n  # indented comment\nz = x\n",
    "empty": "",
}


class _ProviderPositions:
    """What static reading used before: libcst's provider map, computed up front."""

    def __init__(self, module: cst.Module) -> None:
        self._ranges = reference_positions(module)

    def get(self, node: cst.CSTNode) -> CodeRange | None:
        return self._ranges.get(node)


def _assert_same_positions(text: str) -> int:
    module = cst.parse_module(text)
    expected = reference_positions(module)
    fast = Positions(module)
    mismatched = [(type(node).__name__, want, fast.get(node)) for node, want in expected.items()
                  if fast.get(node) != want]
    assert mismatched == []
    assert fast.get(cst.Name("not_in_the_module")) is None
    return len(expected)


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


def _parsable(path: Path) -> str | None:
    text = path.read_bytes().decode("utf-8", errors="replace").removeprefix("\ufeff")
    try:
        cst.parse_module(text)
    except Exception:  # noqa: BLE001 - files libcst rejects are never positioned
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
def test_fixture_positions_and_reading_match_the_provider(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _parsable(path)
    if text is not None:
        try:
            _assert_same_positions(text)
        except RecursionError:  # too deep for the provider: reading fails as a whole either way
            with pytest.raises(RecursionError):
                Positions(cst.parse_module(text))
    fast, slow = _read_both(path, monkeypatch)
    assert fast == slow


def test_bench_repo_positions_and_reading_match_the_provider(bench_repo: list[Path],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    nodes = spans = 0
    for path in bench_repo:
        nodes += _assert_same_positions(path.read_text(encoding="utf-8"))
        fast, slow = _read_both(path, monkeypatch)
        assert fast == slow, path
        spans += len(_spans(fast))
    assert nodes > 10_000 and spans > 100  # the comparison covered real DAGs, not empty results


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_snippet_positions_match_the_provider(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _assert_same_positions(SNIPPETS[name])
    path = tmp_path / f"{name}.py"
    path.write_bytes(SNIPPETS[name].encode())
    fast, slow = _read_both(path, monkeypatch)
    assert fast == slow


def test_spans_are_real_positions(tmp_path: Path) -> None:
    path = tmp_path / "dag.py"
    path.write_text("from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n\n"
                    "with DAG('d') as dag:\n    a = EmptyOperator(\n        task_id='a',\n    )\n")
    dag = static.read_dag_file(path).dags[0]
    assert [(s.line, s.col, s.end_line, s.end_col) for s in [dag.span, dag.tasks[0].span]] == [
        (4, 5, 4, 13), (5, 8, 7, 5),
    ]
