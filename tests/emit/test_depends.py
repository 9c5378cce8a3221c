"""Long Argo `depends` expressions are written as all_of/any_of/none_of parts that give back the
same text; short ones stay one string."""

from __future__ import annotations

import ast

import pytest

from airflow2kfp.emit.depends import all_of, any_of, depends_source, none_of, uses_helpers
from airflow2kfp.mapping import trigger_rules as tr

HELPERS = {"all_of": all_of, "any_of": any_of, "none_of": none_of}


def evaluated(source: str) -> str:
    """The value of `depends_source`'s text, calling nothing but the helpers."""
    node = ast.parse(source, mode="eval").body

    def value(node: ast.expr) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name), ast.dump(node)
        return HELPERS[node.func.id](*(value(argument) for argument in node.args))

    return value(node)


def ups(count: int) -> list[tr.Upstream]:
    """Upstreams of every kind: plain, behind a condition, omittable, failed-or-skipped when omitted."""
    found = []
    for n in range(count):
        kind = n % 4
        found.append(
            tr.upstream(
                f"extract-table-{n}",
                conditional=kind == 1,
                omittable=kind >= 2,
                upstream_failed_if_omitted=tr.TRUE if kind == 2 else tr.Result(f"source-{n}", "Failed"),
            )
        )
    return found


@pytest.mark.parametrize("rule", [r for r in tr.RULES if r not in ("always", "all_done_setup_success")])
@pytest.mark.parametrize("count", [1, 2, 5, 30])
def test_every_rule_over_many_upstreams_gives_back_the_same_depends(rule: str, count: int) -> None:
    expression = tr.depends(rule, ups(count))
    source = depends_source(expression)
    assert evaluated(source) == expression
    if len(expression) > 200:  # a wall of text becomes parts, none of them long
        assert uses_helpers(source)
        strings = [n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant)]
        assert max(map(len, strings)) <= 120


def test_a_short_depends_stays_one_string() -> None:
    assert depends_source("extract.Succeeded && load.Succeeded") == "'extract.Succeeded && load.Succeeded'"


def test_a_fan_in_reads_as_one_part_per_upstream() -> None:
    expression = tr.depends("none_failed_min_one_success", [tr.upstream(f"load-{n}") for n in range(3)])
    assert depends_source(expression) == (
        "all_of('!(load-0.Failed || load-0.Errored)', '!(load-1.Failed || load-1.Errored)', "
        "'!(load-2.Failed || load-2.Errored)', '(load-0.Succeeded || load-1.Succeeded || load-2.Succeeded)')"
    )


def test_what_it_cannot_read_stays_one_string() -> None:
    odd = "(" * 3 + "a.Succeeded || b.Succeeded && c.Failed" + ")" * 2 + " && d.Succeeded " * 5
    assert depends_source(odd) == repr(odd)
