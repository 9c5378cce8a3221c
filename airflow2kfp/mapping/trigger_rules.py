"""Airflow trigger rules as Argo `depends` expressions: pure, one function per question.

Airflow decides a task's fate from the states of its direct upstream tasks: success, failed,
upstream_failed, skipped (`airflow/ti_deps/deps/trigger_rule_dep.py`). Argo decides a DAG task's
fate from the results of the tasks its `depends` names, once all of them finished: Succeeded,
Failed, Errored, Skipped (its `when` was false) and Omitted (its `depends` was false).

So each upstream's Airflow state is read from its Argo node's result:
- success         = Succeeded
- failed          = Failed || Errored (Errored: the pod could not run; Airflow calls that failed)
- upstream_failed = Omitted, when Airflow would have set upstream_failed rather than skipped
- skipped         = Skipped (a branch or short-circuit condition), or Omitted when Airflow would
                    have set skipped. Which of the two an Omitted task stands for is itself a
                    function of that task's upstreams (`upstream_failed_when_not_triggered`), so
                    the expression may name tasks further up; they have finished by then.
A rule is then a boolean formula over these (`trigger`). What can never happen is folded away
(a task with no `when` is never Skipped), which keeps the expressions short and readable.

Where Argo cannot match Airflow, the caller says so: Argo evaluates `depends` only once every
named task finished, so one_success / one_failed / one_done fire later than in Airflow (the same
tasks run, later).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ALL_SUCCESS = "all_success"
RULES = (
    "all_success",
    "all_failed",
    "all_done",
    "all_done_min_one_success",
    "all_done_setup_success",
    "all_skipped",
    "one_success",
    "one_failed",
    "one_done",
    "none_failed",
    "none_failed_min_one_success",
    "none_skipped",
    "always",
)
# Names earlier Airflow versions accepted, as the rule they are now (Airflow 1.10 - 3.x):
# `dummy` is 1.10's name of `always` (2.x deprecated it, 3.0 removed it); `none_failed_or_skipped`
# (1.10.11 - 2.x) was renamed `none_failed_min_one_success` in 2.2 with the same meaning.
ALIASES = {"dummy": "always", "none_failed_or_skipped": "none_failed_min_one_success"}
# Rules Airflow fires as soon as one upstream is in the right state; Argo waits for all of them.
EAGER_RULES = frozenset({"one_success", "one_failed", "one_done"})
# Rules that can end skipped although no upstream was skipped (e.g. all_failed after a success).
SKIPS_ON_ITS_OWN = frozenset({"all_failed", "one_failed", "one_done", "all_skipped"})
# Rules that never fire when an upstream was skipped (a skipped upstream decides the task's fate).
SKIP_BLOCKS = frozenset({"all_success", "all_failed", "none_skipped", "all_done_min_one_success"})


def canonical(rule: str) -> str | None:
    """The rule a name of Airflow 1.10 - 3.x stands for (`TriggerRule.X` reads as `x`); None for a
    name no Airflow version knows."""
    name = rule.rsplit(".", 1)[-1].strip().lower()
    name = ALIASES.get(name, name)
    return name if name in RULES else None


# -- a small boolean algebra over Argo task results, folded as it is built -------------------


@dataclass(frozen=True)
class Const:
    value: bool


@dataclass(frozen=True)
class Result:
    node: str  # the Argo DAG task name
    result: str  # Succeeded, Failed, Errored, Skipped, Omitted


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Expr, ...]


Expr = Const | Result | Not | And | Or
TRUE, FALSE = Const(True), Const(False)


def neg(expr: Expr) -> Expr:
    if isinstance(expr, Const):
        return Const(not expr.value)
    if isinstance(expr, Not):
        return expr.operand
    return Not(expr)


def _join(kind: type[And] | type[Or], operands: Iterable[Expr]) -> Expr:
    absorbing, neutral = (FALSE, TRUE) if kind is And else (TRUE, FALSE)
    flat: list[Expr] = []
    for operand in operands:
        if operand == absorbing:
            return absorbing
        parts = operand.operands if isinstance(operand, kind) else (operand,)
        flat.extend(part for part in parts if part != neutral and part not in flat)
    if not flat:
        return neutral
    return flat[0] if len(flat) == 1 else kind(tuple(flat))


def all_of(operands: Iterable[Expr]) -> Expr:
    return _join(And, operands)


def any_of(operands: Iterable[Expr]) -> Expr:
    return _join(Or, operands)


def render(expr: Expr, parent: str = "") -> str:
    """Argo `depends` text; parentheses only where `&&` and `||` meet."""
    if isinstance(expr, Const):
        raise ValueError("a constant has no depends expression; the caller decides what it means")
    if isinstance(expr, Result):
        return f"{expr.node}.{expr.result}"
    if isinstance(expr, Not):
        inner = render(expr.operand, "!")
        return f"!{inner}" if isinstance(expr.operand, Result) else f"!({render(expr.operand)})"
    op = " && " if isinstance(expr, And) else " || "
    text = op.join(render(part, op) for part in expr.operands)
    return f"({text})" if parent and parent != op else text


def nodes(expr: Expr) -> list[str]:
    """The Argo tasks an expression names, in first-seen order."""
    if isinstance(expr, Result):
        return [expr.node]
    if isinstance(expr, Not):
        return nodes(expr.operand)
    if isinstance(expr, (And, Or)):
        seen: list[str] = []
        for part in expr.operands:
            seen.extend(n for n in nodes(part) if n not in seen)
        return seen
    return []


# -- Airflow states of one upstream, read from its Argo node -----------------------------------


@dataclass(frozen=True)
class Upstream:
    """One upstream task as the downstream rule sees it: Airflow's four states as Argo formulas."""

    node: str
    success: Expr
    failed: Expr
    upstream_failed: Expr
    skipped: Expr
    is_setup: bool = False
    results: tuple[str, ...] = ("Succeeded", "Failed", "Errored")  # what the node can end as

    @property
    def done(self) -> Expr:
        """Finished in any state; names the node even when no state is in doubt."""
        return any_of(Result(self.node, result) for result in self.results)


def upstream(
    node: str,
    *,
    conditional: bool = False,
    omittable: bool = False,
    upstream_failed_if_omitted: Expr = TRUE,
    is_setup: bool = False,
) -> Upstream:
    """The states of a node: `conditional` when it has a `when` (a branch or short-circuit
    condition), `omittable` when its `depends` can be false."""
    omitted = Result(node, "Omitted") if omittable else FALSE
    skipped_by_when = Result(node, "Skipped") if conditional else FALSE
    return Upstream(
        node=node,
        success=Result(node, "Succeeded"),
        failed=any_of((Result(node, "Failed"), Result(node, "Errored"))),
        upstream_failed=all_of((omitted, upstream_failed_if_omitted)),
        skipped=any_of((skipped_by_when, all_of((omitted, neg(upstream_failed_if_omitted))))),
        is_setup=is_setup,
        results=("Succeeded", "Failed", "Errored")
        + (("Skipped",) if conditional else ())
        + (("Omitted",) if omittable else ()),
    )


def _failed(up: Upstream) -> Expr:
    return any_of((up.failed, up.upstream_failed))


def trigger(rule: str, ups: Sequence[Upstream]) -> Expr:
    """When Airflow runs a task with `rule`, once all of `ups` finished (trigger_rule_dep.py)."""
    success = [u.success for u in ups]
    skipped = [u.skipped for u in ups]
    failed = [_failed(u) for u in ups]
    if rule == "all_success":
        return all_of(success)
    if rule == "all_failed":
        return all_of(failed)
    if rule in ("all_done", "always"):
        return TRUE
    if rule == "all_done_min_one_success":
        return all_of([*map(neg, skipped), any_of(success)])
    if rule == "all_done_setup_success":
        setups = [u.success for u in ups if u.is_setup]
        return any_of(setups) if setups else TRUE
    if rule == "all_skipped":
        return all_of(skipped)
    if rule == "one_success":
        return any_of(success)
    if rule == "one_failed":
        return any_of(failed)
    if rule == "one_done":  # Airflow counts success + failed here, not upstream_failed
        return any_of(any_of((u.success, u.failed)) for u in ups)
    if rule == "none_failed":
        return all_of(map(neg, failed))
    if rule == "none_failed_min_one_success":
        return all_of([*map(neg, failed), any_of(success)])
    if rule == "none_skipped":
        return all_of(map(neg, skipped))
    raise ValueError(f"unknown trigger rule {rule!r}")


def upstream_failed_when_not_triggered(rule: str, ups: Sequence[Upstream]) -> Expr:
    """Whether Airflow marks a task upstream_failed (else skipped) when its rule does not fire."""
    failed = any_of(_failed(u) for u in ups)
    if rule in ("all_success", "none_failed_min_one_success"):
        return failed
    if rule == "none_failed":
        return TRUE
    if rule == "one_success":
        return neg(all_of(u.skipped for u in ups))
    if rule == "all_done_min_one_success":
        return neg(any_of(u.skipped for u in ups))
    if rule == "all_done_setup_success":
        return neg(all_of(u.skipped for u in ups if u.is_setup))
    return FALSE  # all_failed, all_skipped, one_failed, one_done, none_skipped: skipped


def depends(rule: str, ups: Sequence[Upstream], waits: Sequence[Upstream] = ()) -> str:
    """The `depends` text for a task with `rule` after `ups`: the rule, and every upstream finished.

    `waits` are further nodes the task must wait for without their state deciding anything (the
    task that decides its condition, when it is not a direct upstream)."""
    condition = trigger(rule, ups)
    if condition == FALSE:  # the rule can never fire here: say so in Argo's terms, naming every upstream
        return render(all_of(Result(u.node, "Skipped") for u in ups))
    named = set(nodes(condition))
    # a tautology per node Argo must wait for that the rule does not name
    pending = [u.done for u in [*ups, *waits] if u.node not in named]
    expr = all_of([*pending, condition])
    return render(expr)


def can_be_omitted(rule: str, has_upstream: bool) -> bool:
    return has_upstream and rule not in ("all_done", "always")
