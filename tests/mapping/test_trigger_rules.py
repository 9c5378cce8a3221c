"""Each Airflow trigger rule as an Argo `depends` expression: the exact text, and its truth table
checked against Airflow's own decision (transcribed from airflow/ti_deps/deps/trigger_rule_dep.py)."""

from __future__ import annotations

import itertools
import re

import pytest

from airflow2kfp.mapping import trigger_rules as tr
from airflow2kfp.mapping.trigger_rules import Result, upstream

STATES = ("success", "failed", "upstream_failed", "skipped")


def airflow_decision(rule: str, states: tuple[str, ...]) -> str:
    """'run', 'skipped' or 'upstream_failed', as Airflow decides once all upstreams are done."""
    n, s, f, uf, k = (
        len(states),
        states.count("success"),
        states.count("failed"),
        states.count("upstream_failed"),
        states.count("skipped"),
    )
    run = {
        "all_success": s == n,
        "all_failed": f + uf == n,
        "all_done": True,
        "one_success": s > 0,
        "one_failed": f + uf > 0,
        "one_done": s + f > 0,
        "none_failed": f + uf == 0,
        "none_failed_min_one_success": f + uf == 0 and s > 0,
        "none_skipped": k == 0,
        "all_skipped": k == n,
        "all_done_min_one_success": k == 0 and s > 0,
    }[rule]
    if run:
        return "run"
    upstream_failed = {
        "all_success": bool(f or uf),
        "none_failed": True,
        "one_success": k != n,
        "none_failed_min_one_success": bool(f or uf) or (k != n and s == 0),
        "all_done_min_one_success": k == 0,
    }.get(rule, False)
    return "upstream_failed" if upstream_failed else "skipped"


def argo_results(index: int, state: str) -> list[dict[str, str]]:
    """Every way Argo can show upstream u<index> in `state` (p<index> decides what Omitted means)."""
    u, p = f"u{index}", f"p{index}"
    if state == "success":
        return [{u: "Succeeded", p: "Succeeded"}]
    if state == "failed":
        return [{u: "Failed", p: "Succeeded"}, {u: "Errored", p: "Succeeded"}]
    if state == "upstream_failed":
        return [{u: "Omitted", p: "Failed"}]
    return [{u: "Skipped", p: "Succeeded"}, {u: "Skipped", p: "Failed"}, {u: "Omitted", p: "Succeeded"}]


def evaluate(expression: str, results: dict[str, str]) -> bool:
    python = re.sub(
        r"([a-z][a-z0-9-]*)\.([A-Za-z]+)", lambda m: repr(results[m.group(1)] == m.group(2)), expression
    )
    return bool(eval(python.replace("&&", " and ").replace("||", " or ").replace("!", " not ")))  # noqa: S307


def skippable_upstreams(count: int) -> list[tr.Upstream]:
    # Omitted means upstream_failed exactly when the node's own upstream p<i> failed
    return [
        upstream(
            f"u{i}", conditional=True, omittable=True, upstream_failed_if_omitted=Result(f"p{i}", "Failed")
        )
        for i in range(count)
    ]


RULES = [r for r in tr.RULES if r not in ("always", "all_done_setup_success")]


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("count", [1, 2, 3])
def test_rule_matches_airflow_for_every_upstream_state(rule: str, count: int) -> None:
    ups = skippable_upstreams(count)
    expression = tr.depends(rule, ups)
    uf_expr = tr.upstream_failed_when_not_triggered(rule, ups)
    uf = tr.render(uf_expr) if not isinstance(uf_expr, tr.Const) else None
    for states in itertools.product(STATES, repeat=count):
        expected = airflow_decision(rule, states)
        for combo in itertools.product(*(argo_results(i, s) for i, s in enumerate(states))):
            results = {k: v for part in combo for k, v in part.items()}
            assert evaluate(expression, results) == (expected == "run"), (rule, states, results, expression)
            if expected != "run":
                is_uf = evaluate(uf, results) if uf else uf_expr == tr.TRUE
                assert is_uf == (expected == "upstream_failed"), (rule, states, results)


PLAIN = [upstream("a"), upstream("b")]  # can neither be skipped nor omitted
EXPECTED_PLAIN = {
    "all_success": "a.Succeeded && b.Succeeded",
    "all_failed": "(a.Failed || a.Errored) && (b.Failed || b.Errored)",
    "all_done": "(a.Succeeded || a.Failed || a.Errored) && (b.Succeeded || b.Failed || b.Errored)",
    "all_skipped": "a.Skipped && b.Skipped",  # never true: neither has a `when`
    "one_success": "a.Succeeded || b.Succeeded",
    "one_failed": "a.Failed || a.Errored || b.Failed || b.Errored",
    "one_done": "a.Succeeded || a.Failed || a.Errored || b.Succeeded || b.Failed || b.Errored",
    "none_failed": "!(a.Failed || a.Errored) && !(b.Failed || b.Errored)",
    "none_failed_min_one_success": "!(a.Failed || a.Errored) && !(b.Failed || b.Errored) && (a.Succeeded || b.Succeeded)",
    "none_skipped": "(a.Succeeded || a.Failed || a.Errored) && (b.Succeeded || b.Failed || b.Errored)",
    "all_done_min_one_success": "a.Succeeded || b.Succeeded",
}


@pytest.mark.parametrize("rule", sorted(EXPECTED_PLAIN))
def test_rule_expression_over_plain_upstreams(rule: str) -> None:
    assert tr.depends(rule, PLAIN) == EXPECTED_PLAIN[rule]


def test_default_rule_is_not_satisfied_by_a_skipped_upstream() -> None:
    branch = upstream("a", conditional=True)  # a `when` makes it Skipped, which `dependencies` accepts
    assert tr.depends("all_success", [branch, upstream("b")]) == "a.Succeeded && b.Succeeded"


def test_join_after_branches_runs_after_whichever_ran() -> None:
    ups = [upstream("left", conditional=True), upstream("right", conditional=True)]
    assert tr.depends("none_failed_min_one_success", ups) == (
        "!(left.Failed || left.Errored) && !(right.Failed || right.Errored) && (left.Succeeded || right.Succeeded)"
    )


def test_setup_success_rule_needs_one_setup_succeeded() -> None:
    ups = [upstream("create", is_setup=True), upstream("work", omittable=True)]
    assert tr.depends("all_done_setup_success", ups) == (
        "(work.Succeeded || work.Failed || work.Errored || work.Omitted) && create.Succeeded"
    )
    assert (
        tr.depends("all_done_setup_success", [upstream("work")])
        == "work.Succeeded || work.Failed || work.Errored"
    )


def test_unknown_rule_is_refused() -> None:
    with pytest.raises(ValueError):
        tr.trigger("sometimes", PLAIN)


# every name TriggerRule had, Airflow 1.10 to 3.x (airflow/utils/trigger_rule.py, airflow/task/trigger_rule.py)
EVERY_NAME = {
    "all_success": "all_success",
    "all_failed": "all_failed",
    "all_done": "all_done",
    "all_done_min_one_success": "all_done_min_one_success",
    "all_done_setup_success": "all_done_setup_success",
    "one_success": "one_success",
    "one_failed": "one_failed",
    "one_done": "one_done",
    "none_failed": "none_failed",
    "none_failed_min_one_success": "none_failed_min_one_success",
    "none_skipped": "none_skipped",
    "always": "always",
    "all_skipped": "all_skipped",
    "none_failed_or_skipped": "none_failed_min_one_success",  # 1.10.11 - 2.x, renamed in 2.2
    "dummy": "always",  # 1.10's name, deprecated in 2.x, removed in 3.0
}


@pytest.mark.parametrize(("name", "rule"), sorted(EVERY_NAME.items()))
def test_every_rule_name_of_airflow_1_to_3_is_its_rule(name: str, rule: str) -> None:
    assert tr.canonical(name) == rule
    assert tr.canonical(f"TriggerRule.{name.upper()}") == rule
    assert tr.depends(tr.canonical(name), skippable_upstreams(2))  # an expression for every one


def test_a_name_no_airflow_knows_has_no_rule() -> None:
    assert tr.canonical("sometimes") is None
