"""Task settings every family shares: retries, timeouts, and what KFP cannot express.

These become method calls on the KFP task (`set_retry`, `set_timeout`) or diagnostics saying what
is not carried over. Airflow semantics, and how each maps:
- retries: further attempts after the first, like Argo's `retryStrategy.limit`. Airflow retries
  any failure, so the policy is "Always". The delay between attempts is `retry_delay` (Airflow's
  default is 300 s), which becomes Argo's backoff duration.
- retry_exponential_backoff: Airflow doubles the delay each try (with jitter); Argo's factor 2
  doubles it without jitter, so this is approximated.
- max_retry_delay caps each delay in Airflow; Argo's backoff maxDuration caps the total time of all
  retries instead, so it is not carried.
- execution_timeout: per attempt in Airflow, like `activeDeadlineSeconds` on the step's pod.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.mapping.base import task_location
from airflow2kfp.model import Duration, Task

AIRFLOW_DEFAULT_RETRY_DELAY = 300.0

# Airflow settings with no KFP v1 equivalent, and what the user should know about each.
NOT_CARRIED = {
    "pool": "Airflow pools limit concurrency across DAGs; KFP has no pools",
    "pool_slots": "Airflow pool slots have no KFP equivalent",
    "queue": "executor queues have no KFP equivalent (use node selectors)",
    "priority_weight": "task priority has no KFP equivalent",
    "weight_rule": "task priority has no KFP equivalent",
    "sla": "SLAs have no KFP equivalent",
    "depends_on_past": "KFP runs do not depend on previous runs",
    "wait_for_downstream": "KFP runs do not depend on previous runs",
    "on_failure_callback": "callbacks are not carried (use an exit handler)",
    "on_success_callback": "callbacks are not carried",
    "on_retry_callback": "callbacks are not carried",
    "on_execute_callback": "callbacks are not carried",
    "email": "Airflow e-mail alerts are not carried",
    "max_active_tis_per_dag": "per-task concurrency limits are not carried",
    "executor_config": "executor_config is not carried",
}
# Values Airflow sets on every task; only a value other than these is worth mentioning.
AIRFLOW_DEFAULTS = {
    "pool": "default_pool",
    "queue": "default",
    "priority_weight": 1,
    "weight_rule": "downstream",
    "pool_slots": 1,
}


@dataclass(frozen=True)
class TaskSettings:
    task_calls: tuple[str, ...]
    diagnostics: tuple[Diagnostic, ...]
    notes: tuple[str, ...]


def _seconds(value: object) -> float | None:
    if isinstance(value, Duration):
        return value.seconds
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _duration_text(seconds: float) -> str:
    return f"{math.ceil(seconds)}s"


def map_settings(task: Task) -> TaskSettings:
    calls: list[str] = []
    diagnostics: list[Diagnostic] = []
    notes: list[str] = []
    where = task_location(task)

    retries = task.args.get("retries")
    if isinstance(retries, int) and not isinstance(retries, bool) and retries > 0:
        delay = _seconds(task.args.get("retry_delay", AIRFLOW_DEFAULT_RETRY_DELAY))
        backoff = f', backoff_duration="{_duration_text(delay)}"' if delay else ""
        if task.args.get("retry_exponential_backoff") is True:
            backoff += ", backoff_factor=2"
            diagnostics.append(
                diag(
                    "A2K303",
                    "retry_exponential_backoff becomes a factor-2 backoff without Airflow's jitter",
                    **where,
                )
            )
            notes.append("exponential backoff without jitter")
        calls.append(f'set_retry({retries}, policy="Always"{backoff})')
        if task.args.get("max_retry_delay") is not None:
            diagnostics.append(
                diag(
                    "A2K303",
                    "max_retry_delay is not carried: Argo caps the total retry time, not each delay",
                    **where,
                )
            )
    elif retries is not None and not isinstance(retries, int):
        diagnostics.append(diag("A2K204", f"retries could not be read statically: {retries!r}", **where))

    timeout = _seconds(task.args.get("execution_timeout"))
    if timeout:
        calls.append(f"set_timeout({math.ceil(timeout)})")

    # trigger rules become Argo `depends` (control_flow.py), with their differences reported there

    for key in sorted(NOT_CARRIED):
        value = task.args.get(key)
        if value not in (None, False, [], (), "") and value != AIRFLOW_DEFAULTS.get(key):
            diagnostics.append(diag("A2K303", f"{key}: {NOT_CARRIED[key]}", **where))
    return TaskSettings(tuple(calls), tuple(diagnostics), tuple(notes))
