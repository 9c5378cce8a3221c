"""What converting a file yields: the values every later stage (cache, outputs, reports, CI formats)
reads. The bottom layer of the results side: it imports only the model and the diagnostics.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from airflow2kfp.diagnostics import Diagnostic, Suppression


class Fidelity(str, Enum):
    DIRECT = "direct"  # runs as in Airflow
    APPROXIMATED = "approximated"  # runs, with differences the diagnostics name
    PLACEHOLDER = "placeholder"  # emitted so the graph is complete; fails when run
    REMOVED = "removed"  # not emitted; the ordering it carried is kept between the other tasks


@dataclass(frozen=True)
class StepInfo:
    retry: str
    timeout: str


@dataclass(frozen=True)
class SelfCheck:
    exact: bool
    missing: tuple[tuple[str, str], ...] = ()  # Airflow orders these, the workflow does not
    extra: tuple[tuple[str, str], ...] = ()  # the workflow orders these, Airflow does not
    missing_steps: tuple[str, ...] = ()
    extra_steps: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        if self.exact and not self.problems:
            return "exact"
        parts = []
        if self.missing_steps:
            parts.append(f"steps missing from the workflow: {', '.join(self.missing_steps)}")
        if self.extra_steps:
            parts.append(f"steps not in the DAG: {', '.join(self.extra_steps)}")
        if self.missing:
            parts.append("not ordered in KFP: " + ", ".join(f"{a} -> {b}" for a, b in self.missing))
        if self.extra:
            parts.append("ordered only in KFP: " + ", ".join(f"{a} -> {b}" for a, b in self.extra))
        return "; ".join(parts + list(self.problems))


@dataclass(frozen=True)
class RecurringRun:
    """What `kfp.Client.create_recurring_run` needs, besides the experiment and the pipeline."""

    name: str
    description: str | None
    cron: str | None  # six fields, seconds first; or
    interval_second: int | None  # a periodic schedule
    start_time: str | None
    end_time: str | None
    max_concurrency: int
    no_catchup: bool
    parameters: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    enabled: bool = True

    def to_json(self, pipeline: str) -> dict[str, Any]:
        window = {"start_time": self.start_time, "end_time": self.end_time}
        trigger = (
            {"cron_schedule": {"cron": self.cron, **window}}
            if self.cron is not None
            else {"periodic_schedule": {"interval_second": self.interval_second, **window}}
        )
        return {
            "name": self.name,
            "description": self.description,
            "pipeline": pipeline,
            "trigger": trigger,
            "max_concurrency": self.max_concurrency,
            "no_catchup": self.no_catchup,
            "enabled": self.enabled,
            "parameters": dict(self.parameters),
            "notes": list(self.notes),
        }


class Status(str, Enum):
    CONVERTED = "converted"
    FAILED = "failed"
    SKIPPED = "skipped"


TARGETS = ("v1", "v2")  # KFP v1 (kfp 1.8.22, Argo YAML; the default) and KFP v2 (kfp 2.x, pipeline IR)


@dataclass(frozen=True)
class V2Task:
    """One Airflow task in the KFP v2 pipeline."""

    task_id: str
    step: str | None  # the IR task path from the root DAG ("region/condition-1/bash"), None when removed
    conditions: tuple[str, ...] = ()  # the dsl.If conditions around it, "<decider>.<output> == true"
    ignore_upstream_failure: bool = False
    region: str | None = None  # the sub-pipeline holding it
    exit_handler: bool = False  # the exit task of a dsl.ExitHandler around every task it follows
    semantics: str = "exact"  # "exact" or "differs"
    differences: tuple[str, ...] = ()


@dataclass(frozen=True)
class V2Result:
    """The KFP v2 target of one DAG: its Python, its compiled IR, the IR's self-check."""

    status: Status
    python_text: str | None
    yaml_text: str | None
    selfcheck: SelfCheck | None
    tasks: tuple[V2Task, ...] = ()
    recurring: RecurringRun | None = None
    error: str | None = None  # why there is no v2 pipeline (the A2K80x diagnostic says it too)


@dataclass(frozen=True)
class TaskRecord:
    task_id: str
    kfp_name: str | None
    operator: str
    mapping: Fidelity
    line: int
    upstream: tuple[str, ...]  # Airflow upstream task ids
    after: tuple[str, ...]  # Airflow ids of the steps it runs after in KFP (after removals)
    trigger_rule: str
    notes: tuple[str, ...]
    # what the report shows next to each task; raw model values (json_value renders them)
    col: int = 0
    retries: Any = None
    retry_delay: Any = None
    execution_timeout: Any = None
    pool: Any = None
    templated_fields: tuple[str, ...] = ()  # arguments holding a Jinja template, kept verbatim
    component: str | None = None  # the KFP component the step runs ("bash", "noop", ...)
    kfp_calls: tuple[str, ...] = ()  # the emitted task's method calls, e.g. 'set_retry(2, ...)'
    # control flow: the Argo `depends` the rule became (None: plain `dependencies`), the conditions
    # and loops around the step, and whether it runs exactly when Airflow would run it
    depends: str | None = None
    conditions: tuple[str, ...] = ()  # "<deciding task>.<output> == true"
    loops: tuple[str, ...] = ()  # what each dsl.ParallelFor maps over, as Python source
    semantics: str = "exact"  # "exact" or "differs"
    differences: tuple[str, ...] = ()
    group: str | None = None  # the TaskGroup path


@dataclass(frozen=True)
class DagResult:
    dag_id: str
    source: str
    line: int
    status: Status
    pipeline_function: str | None
    tasks: tuple[TaskRecord, ...]
    airflow_edges: tuple[tuple[str, str], ...]
    kfp_edges: tuple[tuple[str, str], ...]  # in KFP task names
    diagnostics: tuple[Diagnostic, ...]
    selfcheck: SelfCheck | None
    python_text: str | None = None
    yaml_text: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    source_mode: str = "static"
    owned: str | None = None  # the user owns its files: "marker" (a line in the .py) or "config" (`owned`)
    recurring: RecurringRun | None = None  # the schedule as a KFP recurring run, when it has one
    # what the compiled workflow gives each step (retry, timeout) and its parameters, for the report
    kfp_steps: Mapping[str, StepInfo] = field(default_factory=dict)
    kfp_parameters: tuple[str, ...] = ()
    # seconds spent per stage (STAGES) on this DAG: for `convert --timings`, never compared or written
    seconds: Mapping[str, float] = field(default_factory=dict, compare=False)
    targets: tuple[str, ...] = ("v1",)  # what the run was asked to write
    v2: V2Result | None = None  # the KFP v2 target, when asked for
    # the static reading said it may have missed dependencies (an A2K203 warning), kept here so that a
    # suppressed warning still leaves the ordering "unproven", never "exact"
    edges_unproven: bool = False


@dataclass(frozen=True)
class FileResult:
    path: str
    status: Status
    diagnostics: tuple[Diagnostic, ...]  # about the file itself, not one of its DAGs
    dags: tuple[DagResult, ...] = ()
    suppressed: tuple[Suppression, ...] = ()  # file's and DAGs' diagnostics silenced by ignores
    seconds: Mapping[str, float] = field(default_factory=dict, compare=False)  # per stage, its DAGs' too


# where a file's conversion spends its time (`convert --timings`): `compile` is kfp's compiler
STAGES = ("read", "map", "emit", "compile", "self-check")


def stage_seconds(files: Iterable[FileResult]) -> dict[str, float]:
    """Seconds per stage summed over `files` (CPU time of whichever process converted each)."""
    total = dict.fromkeys(STAGES, 0.0)
    for file in files:
        for stage, seconds in file.seconds.items():
            total[stage] = total.get(stage, 0.0) + seconds
    return total
