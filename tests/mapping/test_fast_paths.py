"""The fast paths of Python mapping give what the libcst paths they stand in for give, and the caches
what the uncached functions give.

Each fast path (ast, or plain text) answers only where it is sure and otherwise defers to libcst: the
cases below check it answers the common cases (so these tests exercise it) and agrees everywhere it
answers, on awkward layouts where a naive text version would differ.
"""

from __future__ import annotations

import dataclasses
import textwrap
from typing import Any

import pytest

from airflow2kfp.mapping import callable_source
from airflow2kfp.mapping.callable_source import standalone
from airflow2kfp.mapping.python import _indented, _indented_by_cst, _line_kinds

# -- decorators stripped, parameters and string literals read (callable_source) ----------------

CALLABLES = {
    "plain": "def f(a, b=1, *rest, c, d=2, **kw):\n    return a\n",
    "decorated": "@task\ndef f(x):\n    '''Doc.'''\n    return x['ds']\n",
    "decorator arguments over lines": "@task(\n    multiple_outputs=True,\n)\n@other  # note\ndef f():\n    pass\n",
    "comments around decorators": "# lead\n@task\n# between\n@other\n\n# after\ndef f():\n    return 1\n",
    "async": "@task\nasync def f(x, /, y):\n    return 'ti'\n",
    "f-string without literals inside": "def f(name):\n    print(f'hello {name!r:>10}')\n    return 'ds'\n",
    "one-line body": "def f(): return 'run_id'\n",
    "nested definitions": "def f():\n    def g(a='ts'):\n        return a\n    return g\n",
    "bytes and docstring": 'def f():\n    """Doc\n    over lines."""\n    return b\'ds\'\n',
}
# where ast cannot tell what libcst sees: libcst must answer
DEFERRED = {
    "implicit concatenation": "def f(**kw):\n    return kw['d' 's']\n",
    "literal inside an f-string": "def f(**kw):\n    return f\"{kw['ds']}\"\n",
    "f-string concatenated": "def f(**kw):\n    return 'ds' f'{kw}'\n",
    "comment after the body": "def f():\n    return 1\n# trailing\n",
    "parenthesized decorator over lines": "@(\n    task\n)\ndef f():\n    pass\n",
    "lambda": "lambda x: x",
    "backslash continuation": "def f():\n    return 1 + \\\n        2\n",
}


@pytest.mark.parametrize("source", CALLABLES.values(), ids=CALLABLES.keys())
def test_ast_reading_of_a_callable_is_libcsts(source: str) -> None:
    text = textwrap.dedent(source).strip() + "\n"
    fast = callable_source._definition_by_ast(text)
    assert fast is not None  # the common case is read without libcst
    assert fast == callable_source._definition_by_cst(text, "f")


@pytest.mark.parametrize("source", DEFERRED.values(), ids=DEFERRED.keys())
def test_callables_ast_cannot_read_exactly_go_to_libcst(source: str) -> None:
    text = textwrap.dedent(source).strip() + "\n"
    assert callable_source._definition_by_ast(text) is None
    assert callable_source._strip_decorators(source, "f") == callable_source._definition_by_cst(text, "f")


# -- module-level bindings (callable_source) ---------------------------------------------------

MODULE = '''"""A DAG file."""
# header comment
from __future__ import annotations

import json, os.path as osp
from airflow import DAG
from airflow.operators.python import (  # the operators
    PythonOperator,
    BranchPythonOperator as Branch,
)
from . import sibling
import a . b

LIMIT = 5; RATE = LIMIT * 2
NAMES: list[str] = ["x", "y"]
first, (second, third) = 1, (2, 3)
CONFIG = DAG("x")
if LIMIT:
    HIDDEN = 1


@decorate
# between
def helper(x):
    """Uses json."""
    return json.dumps(x)[:LIMIT]
    # end of helper
  # less indented: the next statement's
# the class
class Holder:
    value = RATE

    def get(self):
        return osp.join("a", "b")
        # trailing in get
    # trailing in Holder


with DAG("d") as dag:
    t = PythonOperator(task_id="t", python_callable=helper)
x = (1,
  2); y = 3
'''


def _as_data(bindings: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        name: (b.index, b.source, b.reads, b.airflow_import, b.builds_airflow_object)
        for name, b in bindings.items()
    }


@pytest.mark.parametrize(
    "text",
    [MODULE, MODULE.replace("\n", "\r\n"), MODULE + "# footer\n", "x = 1"],
    ids=["module", "crlf", "footer", "no newline"],
)
def test_bindings_from_the_statements_that_bind_are_those_of_the_whole_module(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    regions = callable_source._statement_regions(text)
    assert regions is not None  # the fast path is taken
    fast = _as_data(callable_source._module_bindings.__wrapped__(text))
    monkeypatch.setattr(callable_source, "_statement_regions", lambda _: None)  # the whole file, as before
    assert fast == _as_data(callable_source._module_bindings.__wrapped__(text))
    assert fast


@pytest.mark.parametrize(
    "text",
    ["x = 1\n\\\ny = 2\n", "x = 1\n@(\ntask)\ndef f():\n    pass\n", "x = 1\n\x0cy = 2\n"],
    ids=["bare backslash", "decorator over lines", "form feed"],
)
def test_modules_whose_statements_are_not_certainly_cut_are_parsed_whole(text: str) -> None:
    assert callable_source._statement_regions(text) is None
    assert callable_source._module_bindings.__wrapped__(text)


def test_standalone_is_the_same_cached_or_not_and_does_not_depend_on_earlier_calls() -> None:
    source = "@task\ndef f():\n    return helper(LIMIT)\n"
    other = "LIMIT = 7\n\ndef helper(x):\n    return -x\n"
    standalone.cache_clear()
    first = standalone("f", source, MODULE)
    second = standalone("f", source, other)  # same callable text, another module
    assert standalone("f", source, MODULE) is first  # from the cache
    assert first == standalone.__wrapped__("f", source, MODULE)
    assert second == standalone.__wrapped__("f", source, other)
    assert "LIMIT = 5; RATE = LIMIT * 2" in first.prelude and "LIMIT = 7" in second.prelude
    standalone.cache_clear()
    assert standalone("f", source, other) == second  # in another order: the same results


# -- the component body indented by text (python) ----------------------------------------------

BODIES = {
    "generated": '"""Airflow task \'t\' (task, dag.py:1)."""\nimport json as _json\n\n'
    "# what the callable uses from its DAG file\nLIMIT = 5\n\n"
    "# the callable, as written at dag.py\ndef f(x):\n    return x\n\n"
    "with open(x_path) as _file:\n    x = _json.load(_file)\n_result = f(x)\nreturn _json.dumps(_result)\n",
    "multi-line string": "def f():\n    return '''first\n  second\nthird'''\nx = 1\n",
    "comments at odd indents": "def f():\n  # two\n    x = 1\n# zero\n    y = 2\n    if x:\n        z()\n"
    "      # six\n    # four\n        # eight\n# zero\nw = 3\n",
    "comments before clauses": "try:\n    a()\n# before except\nexcept E:\n    pass\n  # two\nelse:\n    b()\n",
    "brackets": "x = f(\n  1,\n      2,\n# c\n\n    3)\ndef g():\n    y = h(\n  1,\n        2)  # end\n",
    "decorators": "@dec\n  # two\n@other(\n    1)\ndef f():\n    '''doc\n  inner\n'''\n    return 1\n",
    "class footers": "class A:\n    def f(self):\n        pass\n    # end of f\n\n    def g(self):\n        pass\n"
    "        # end of g\nz = 1\n",
    "single-line f-string": "x = f'{a!r:>10} {b}'\ny = 'it''s'\n",
}
# layouts the text pass does not follow: libcst indents them
NOT_FOLLOWED = {
    "two-space indentation": "def f():\n  return 1\nx = 1\n",
    "tabs": "def f():\n\treturn 1\nx = 1\n",
    "backslash continuation": "x = 1 + \\\n  2\n",
    "multi-line f-string": "x = f'''{a}\n  b'''\ny = 1\n",
    "indented blank line": "def f():\n    x = 1\n    \n    return x\ny = 1\n",
    "comment at the end": "x = 1\n# last\n",
}


@pytest.mark.parametrize("source", BODIES.values(), ids=BODIES.keys())
def test_text_indentation_of_a_body_is_libcsts(source: str) -> None:
    header = "def t_step(x_path: InputPath()) -> str:"
    fast = _indented(source)
    assert fast is not None
    assert f"{header}\n{fast}" == _indented_by_cst(header, source)


@pytest.mark.parametrize("source", NOT_FOLLOWED.values(), ids=NOT_FOLLOWED.keys())
def test_layouts_the_text_pass_does_not_follow_go_to_libcst(source: str) -> None:
    assert _indented(source) is None


def test_line_kinds() -> None:
    source = "x = '''a\n# not a comment\n'''  # c\n# c\n\ny = [\n    '[',\n]\n"
    assert _line_kinds(source, source.split("\n")[:-1]) == [
        "statement",
        "string",
        "string",
        "empty",
        "empty",
        "statement",
        "bracket",
        "bracket",
    ]


def test_parameters_match_libcst_for_every_kind() -> None:
    found = standalone("f", CALLABLES["plain"], None)
    assert found is not None
    assert [dataclasses.astuple(p) for p in found.parameters] == [
        ("a", "positional", False),
        ("b", "positional", True),
        ("rest", "var_positional", False),
        ("c", "keyword_only", False),
        ("d", "keyword_only", True),
        ("kw", "var_keyword", False),
    ]
