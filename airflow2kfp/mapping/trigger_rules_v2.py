"""Airflow trigger rules on KFP v2's terms: what each task becomes, and what differs, stated exactly.

KFP v2's pipeline IR decides whether a task runs from its `triggerPolicy` alone:
`ALL_UPSTREAM_TASKS_SUCCEEDED` (the default: every task in `dependentTasks` succeeded) or
`ALL_UPSTREAM_TASKS_COMPLETED` (`.ignore_upstream_failure()`: they finished, in any state), plus a
`condition` on values (`dsl.If`). There is no condition on an upstream's state. KFP's backend
compiles `dependentTasks` to Argo `depends: a.Succeeded && b.Succeeded`, so an upstream that was
skipped (its `dsl.If` was false) or never ran blocks the task, as a failure does; and it runs an
`ALL_UPSTREAM_TASKS_COMPLETED` task as an exit hook of each upstream step
(backend/src/v2/compiler/argocompiler/dag.go).

The converter places every task whose rule is skipped by a skipped upstream inside its upstreams'
conditions (`dsl.If`), which is exact, and puts a branch's or short circuit's conditional tasks in
a sub-pipeline that a task with another rule (a join) runs after: that sub-pipeline succeeds when
the conditional tasks inside it succeeded or were skipped. `v2_rule` says, for one task, whether it
gets `.ignore_upstream_failure()` and every way it then differs from Airflow. docs/targets.md has
the table for both targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from airflow2kfp.mapping import trigger_rules as tr

# rules a skipped upstream skips (Airflow): inside the upstream's conditions they are exact
INHERIT_CONDITIONS = tr.SKIP_BLOCKS
# rules that must run after failed upstream steps: ALL_UPSTREAM_TASKS_COMPLETED
AFTER_FAILURES = frozenset(
    {"all_done", "one_failed", "all_failed", "one_done", "all_done_min_one_success", "all_done_setup_success"}
)


# KFP's backend runs an ALL_UPSTREAM_TASKS_COMPLETED task as an Argo exit hook; Argo assesses a DAG's
# phase from its tasks, never their hooks (workflow/controller/dag.go, assessDAGPhase)
EXIT_HOOK_FAILURE = (
    "KFP's backend runs the task as an exit hook, whose state does not count in the run's: a "
    "failing task does not fail the run, and the run fails with the tasks before it even when "
    "this one succeeds; Airflow's DAG run takes its leaf tasks' states"
)


def without_exit_hook(rule: str, why: str) -> str:
    """The difference when a rule that must run after failures cannot get ignore_upstream_failure."""
    airflow = {"one_failed": "only when one upstream failed", "all_failed": "only when every upstream failed"}
    return (
        f"trigger_rule {rule}: {why}, so in KFP v2 the task runs only when its upstream steps succeeded; "
        f"Airflow runs it {airflow.get(rule, 'after failed upstream tasks too')}"
    )


def exit_hook_blocker(
    upstream_units: list[str], loops: set[str], downstream: bool, claimed: set[str]
) -> str | None:
    """Why a task cannot be an exit hook on KFP's backend (argocompiler/dag.go runs an
    ALL_UPSTREAM_TASKS_COMPLETED task as the exit hook of each task it depends on: once per upstream,
    without waiting for the others; one hook per upstream, the last by name; none on a loop; and no
    task can wait for a hook), or None. `upstream_units` are what it waits for in its own DAG."""
    if downstream:
        return (
            "KFP's backend runs an ignore_upstream_failure task as an exit hook, which no task can wait for"
        )
    if len(upstream_units) != 1:
        return (
            "KFP's backend runs an ignore_upstream_failure task as an exit hook of each upstream step, once "
            "per upstream and without waiting for the others"
        )
    if upstream_units[0] in loops:
        return "KFP's backend sets no exit hook on a loop (dsl.ParallelFor)"
    if upstream_units[0] in claimed:
        return "KFP's backend keeps one exit hook per upstream step, and another task already has it"
    return None


@dataclass(frozen=True)
class UpstreamView:
    """One upstream as the v2 rule sees it."""

    task_id: str
    may_skip: bool  # reached through a sub-pipeline whose conditional tasks may be skipped
    may_not_run: bool  # may end without running (skipped, or not run after a failure further up)


@dataclass(frozen=True)
class V2Rule:
    ignore_upstream_failure: bool
    differences: tuple[str, ...] = ()


def v2_rule(rule: str, upstreams: Sequence[UpstreamView]) -> V2Rule:
    """What a task with `rule` after `upstreams` (its emitted upstream steps) becomes in KFP v2."""
    if not upstreams or rule == "all_success":
        return V2Rule(False)
    not_run = any(u.may_not_run for u in upstreams)
    if rule == "always":
        return V2Rule(
            False,
            (
                (
                    "trigger_rule always: the step uses an upstream's output, so it waits for that "
                    "upstream to succeed; Airflow starts it at once"
                ),
            ),
        )
    if rule == "none_failed":
        return V2Rule(False)
    if rule == "none_failed_min_one_success":
        if all(u.may_skip for u in upstreams):
            return V2Rule(
                False,
                (
                    (
                        "trigger_rule none_failed_min_one_success: when every upstream was skipped "
                        "Airflow skips the task; KFP runs it (the sub-pipelines it waits for succeed)"
                    ),
                ),
            )
        return V2Rule(False)
    if rule == "none_skipped":
        return V2Rule(
            False,
            (
                (
                    "trigger_rule none_skipped: KFP runs the task only when every upstream succeeded; "
                    "Airflow also runs it after failed upstream tasks"
                ),
            ),
        )
    if rule == "one_success":
        return V2Rule(
            False,
            (
                (
                    "trigger_rule one_success: KFP runs the task only when no upstream failed, once "
                    "all finished; Airflow runs it as soon as one succeeded, whatever the others do"
                ),
            ),
        )
    if rule == "all_skipped":
        return V2Rule(
            False,
            (
                (
                    "trigger_rule all_skipped: KFP v2 has no condition on an upstream being skipped; "
                    "the task runs when its upstream steps succeeded, Airflow only when all were skipped"
                ),
            ),
        )
    if rule in AFTER_FAILURES:
        differences = []
        if rule in ("one_failed", "all_failed"):
            differences.append(
                f"trigger_rule {rule}: KFP v2 has no condition on an upstream's failure: the task "
                "runs (ignore_upstream_failure) whatever its upstream steps ended in; Airflow runs "
                f"it only when {'one' if rule == 'one_failed' else 'every'} upstream failed"
            )
        elif rule == "one_done":
            differences.append(
                "trigger_rule one_done: the task runs once its upstream steps finished, in any "
                "state; Airflow runs it as soon as one succeeded or failed, and skips it when none did"
            )
        elif rule == "all_done_min_one_success":
            differences.append(
                "trigger_rule all_done_min_one_success: the task runs once its upstream steps "
                "finished, in any state; Airflow skips it when none succeeded"
            )
        elif rule == "all_done_setup_success":
            differences.append(
                "trigger_rule all_done_setup_success (teardown): the task runs once its upstream "
                "steps finished, in any state; Airflow skips it when its setup tasks did not succeed"
            )
        if not_run:
            differences.append(
                "ignore_upstream_failure after an upstream step that may not run (skipped, or not "
                "run after a failure further up): KFP's exit hook fires only for a step that ran; "
                "Airflow runs the task after upstream_failed or skipped upstream tasks too"
            )
        differences.append(EXIT_HOOK_FAILURE)
        return V2Rule(True, tuple(differences))
    raise ValueError(f"unknown trigger rule {rule!r}")


# every rule, for the docs table and its test: (rule, what the task becomes in v2, exact when)
TABLE = (
    ("all_success", "`.after(...)` (ALL_UPSTREAM_TASKS_SUCCEEDED); inside its upstreams' `dsl.If`", "always"),
    ("all_failed", "`.after(...).ignore_upstream_failure()`; inside its upstreams' `dsl.If`", "never"),
    (
        "all_done",
        "`.after(...).ignore_upstream_failure()`",
        "never (a failing exit hook does not fail the run)",
    ),
    (
        "all_done_min_one_success",
        "`.after(...).ignore_upstream_failure()`; inside its upstreams' `dsl.If`",
        "never",
    ),
    ("all_done_setup_success", "`.after(...).ignore_upstream_failure()`", "never"),
    ("all_skipped", "`.after(...)`", "never"),
    ("one_success", "`.after(...)`", "never"),
    ("one_failed", "`.after(...).ignore_upstream_failure()`", "never"),
    ("one_done", "`.after(...).ignore_upstream_failure()`", "never"),
    ("none_failed", "`.after(...)`; after a branch, `.after(<sub-pipeline>)`", "always"),
    (
        "none_failed_min_one_success",
        "`.after(...)`; after a branch, `.after(<sub-pipeline>)`",
        "when some upstream cannot be skipped",
    ),
    ("none_skipped", "`.after(...)`; inside its upstreams' `dsl.If`", "never"),
    ("always", "no `.after`: starts at once", "when it uses no upstream's output"),
)
assert {rule for rule, _, _ in TABLE} == set(tr.RULES)
