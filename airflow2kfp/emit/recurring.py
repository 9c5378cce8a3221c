"""A DAG's schedule -> a KFP recurring-run definition, written next to the pipeline as JSON.

The JSON's keys are the arguments of kfp 1.8.22's `kfp.Client.create_recurring_run` (`trigger`
holds `cron_expression` or `interval_second` with `start_time`/`end_time`), so
`airflow2kfp upload` (airflow2kfp/upload.py) passes them straight through. How Airflow's settings map:

- cron strings and presets (Airflow's `cron_presets`, plus croniter's `@midnight`/`@annually`):
  KFP's ScheduledWorkflow parses cron with robfig/cron, which has a leading seconds field, so
  `0 0 * * *` becomes `0 0 0 * * *`. croniter's six-field form puts seconds last; it is moved
  first. robfig/cron v1 has no `L`, `W`, `#` or `H`: such expressions get no recurring run.
- `timedelta`, DeltaTriggerTimetable, DeltaDataIntervalTimetable -> a periodic schedule of that many
  seconds (a calendar interval, relativedelta, has no fixed length: none, A2K314).
- `None` (NullTimetable) -> no recurring run and nothing to say (manual runs, as in Airflow);
  `@once` -> none either (create one run).
- `@continuous`, other timetables, Dataset/Asset (and conditional asset) schedules: KFP v1 triggers
  only on time, never on an event or on the previous run ending: none, A2K314. An asset-or-time
  schedule keeps its time part.
- Reading with Airflow, the timetable object Airflow made decides (`timetable_detail`, recorded by
  the probe: class, cron, interval, time zone, data interval, assets); Airflow 2 fills the DAG's
  `schedule_interval` with the timetable's summary (`'2:00:00'`, `'Dataset'`), which is no cron.
- When the run fires: Airflow 3 turns a cron string or `timedelta` into a trigger timetable whose
  logical date is the firing time, which is what `[[ScheduledTime]]` gives the time parameters.
  Airflow 2 (and `create_cron_data_intervals=True`) use data-interval timetables: the run fires at
  the END of the interval with the logical date at its START, one period earlier than KFP's value.
- catchup -> `no_catchup`; unset, Airflow 3's default (False) is assumed: Airflow 2 defaulted to
  True, which the static reader cannot tell apart, and not catching up is the safer mistake (no
  burst of backfill runs from a start_date in the past). Airflow-mode reading has the real value.
- max_active_runs -> `max_concurrency`, which the KFP API accepts only from 1 to 10.
- start_date / end_date -> start_time / end_time (RFC 3339; naive times are UTC, Airflow's default
  time zone). KFP's cron fires in the controller's time zone (UTC), not the DAG's.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from airflow2kfp.diagnostics import Diagnostic, Severity, diag
from airflow2kfp.model import Dag, Duration, PythonCallable, Unresolved
from airflow2kfp.results import RecurringRun

# Airflow 3.3's airflow.sdk.definitions.timetables._cron.CRON_PRESETS, plus croniter's aliases
CRON_PRESETS: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


def preset_cron(text: str) -> str | None:
    """The cron expression of a preset (`@daily`), None for anything else. Airflow looks the preset up
    exactly, and croniter, which then reads the text, knows its own aliases in any case (`@Daily`
    runs daily); `@quarterly` is Airflow's alone, so only that spelling."""
    if text in CRON_PRESETS:
        return CRON_PRESETS[text]
    lowered = text.lower()
    return CRON_PRESETS[lowered] if lowered in CRON_PRESETS and lowered != "@quarterly" else None


KFP_MAX_CONCURRENCY = 10  # the KFP API server rejects a job outside 1-10
AIRFLOW_MAX_ACTIVE_RUNS = 16  # Airflow's core.max_active_runs_per_dag default
SCHEDULE_KEYS = ("schedule", "schedule_interval", "timetable")
# what reading with Airflow records about the timetable it made: the schedule, in Airflow's words
TIMETABLE_READ = ("timetable_summary", "timetable_description", "timetable_detail")
DATA_INTERVAL_TIMETABLES = ("CronDataIntervalTimetable", "DeltaDataIntervalTimetable")
_ASSET = re.compile(r"\b(Dataset|Asset|AssetAlias|AssetAll|AssetAny|DatasetAll|DatasetAny)\b")
_DELTA_TIMETABLE = re.compile(r"^(DeltaTriggerTimetable|DeltaDataIntervalTimetable)\((.*)\)$", re.DOTALL)
_CRON_TIMETABLE = re.compile(
    r"""^(CronTriggerTimetable|CronDataIntervalTimetable)\(\s*(['"])(.+?)\2(.*)\)$""", re.DOTALL
)
_TIMEZONE_ARG = re.compile(r"""timezone\s*=\s*(?:['"]([^'"]+)['"]|(.+))""")
_UNSUPPORTED_CRON = re.compile(r"[LW#H]")
_NAMES = re.compile(r"JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|MON|TUE|WED|THU|FRI|SAT|SUN", re.I)


@dataclass(frozen=True)
class ScheduleResult:
    run: RecurringRun | None
    diagnostics: tuple[Diagnostic, ...] = ()


def recurring_json(run: RecurringRun, pipeline: str) -> str:
    """The file's text; `pipeline` is the compiled YAML's file name, next to it."""
    return json.dumps(run.to_json(pipeline), indent=2) + "\n"


def recurring_json_v2(run: RecurringRun, pipeline: str) -> str:
    """The v2 target's recurring run: the keyword arguments of kfp 2.x's
    `kfp.Client.create_recurring_run` (`job_name`, `cron_expression` or `interval_second`, `params`,
    ...) for the IR file `pipeline` next to it, with the same schedule as the v1 file."""
    document = {
        "sdk": "kfp 2.x",
        "pipeline_package_path": pipeline,
        "job_name": run.name,
        "description": run.description,
        **(
            {"cron_expression": run.cron}
            if run.cron is not None
            else {"interval_second": run.interval_second}
        ),
        "start_time": run.start_time,
        "end_time": run.end_time,
        "max_concurrency": run.max_concurrency,
        "no_catchup": run.no_catchup,
        "enabled": run.enabled,
        "params": dict(run.parameters),
        "notes": list(run.notes),
    }
    return json.dumps(document, indent=2) + "\n"


@dataclass(frozen=True)
class _Trigger:
    cron: str | None = None
    interval: int | None = None
    problem: str | None = None  # why there is no recurring run (None with no trigger: not scheduled)
    severity: Severity | None = None
    notes: tuple[str, ...] = ()
    timezone: str | None = None  # a cron timetable's own time zone, which wins over start_date's
    data_interval: bool = False  # the logical date is the start of the period that ends at the firing


def kfp_cron(expression: str) -> tuple[str | None, str | None]:
    """Airflow's (croniter's) cron -> robfig/cron's six fields; or None and why not."""
    fields = expression.split()
    if len(fields) == 6:  # croniter's optional seconds field comes last
        fields = [fields[5], *fields[:5]]
    elif len(fields) == 5:
        fields = ["0", *fields]
    else:
        return None, f"cron {expression!r} has {len(fields)} fields, not 5 (or croniter's 6)"
    # month and weekday names (JAN, MON) are in both grammars; L, W, # and Jenkins' H are not
    unsupported = sorted(set(_UNSUPPORTED_CRON.findall(_NAMES.sub("", " ".join(fields)).upper())))
    if unsupported:
        return None, (
            f"cron {expression!r} uses {', '.join(unsupported)}, which KFP's cron parser "
            "(robfig/cron v1) does not support"
        )
    fields[5] = ",".join(_weekday(token) for token in fields[5].split(","))
    return " ".join(fields), None


def _weekday(token: str) -> str:
    # croniter accepts 7 for Sunday; robfig/cron's weekdays are 0-6
    if token == "7":
        return "0"
    match = re.fullmatch(r"(\d)-7", token)
    return f"{match.group(1)}-6,0" if match else token


def schedule_argument(settings: Mapping[str, Any]) -> tuple[str, Any]:
    """The schedule argument as the DAG file gave it. A `timetable` that is a string is the class
    name an import recorded (Airflow's own `timetable=` argument takes an object), never a schedule."""
    key = next(
        (
            k
            for k in SCHEDULE_KEYS
            if settings.get(k) is not None and not (k == "timetable" and isinstance(settings[k], str))
        ),
        "schedule",
    )
    return key, settings.get(key)


def _source_text(value: Any) -> str:
    if isinstance(value, Unresolved):
        return value.source
    if isinstance(value, PythonCallable):  # only an `@asset` function can be a schedule
        return value.name
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_source_text(v) for v in value) + "]"
    return repr(value)


def _names_asset_function(value: Any) -> bool:
    """A schedule naming an `@asset` function (the static reader's value of one), alone or in a list."""
    if isinstance(value, (list, tuple)):
        return any(_names_asset_function(v) for v in value)
    return isinstance(value, PythonCallable)


def _trigger(settings: Mapping[str, Any]) -> _Trigger:
    detail = settings.get("timetable_detail")
    if isinstance(detail, Mapping) and isinstance(detail.get("class"), str):
        return _timetable_trigger(detail, settings.get("timetable_description"))
    timetable = settings.get("timetable")
    if isinstance(timetable, str):  # an import that recorded only the timetable's class and summary
        summary, raw = settings.get("timetable_summary"), settings.get("schedule")
        return _timetable_trigger(
            {
                "class": timetable,
                "cron": summary if "Cron" in timetable and isinstance(summary, str) else None,
                "delta": raw if "Delta" in timetable and isinstance(raw, Duration) else None,
                "data_interval": timetable in DATA_INTERVAL_TIMETABLES,
                "assets": timetable.startswith(("Dataset", "Asset")),
            },
            settings.get("timetable_description"),
        )
    return _argument_trigger(settings)


def _timetable_trigger(detail: Mapping[str, Any], description: Any = None) -> _Trigger:
    """The trigger of the timetable Airflow made from the DAG's schedule (reading with Airflow):
    its class, cron expression or interval and time zone, read from the object, in any version."""
    name = str(detail["class"])
    if name == "NullTimetable":
        return _Trigger()  # schedule=None: manual runs only, which is what a pipeline without one gets
    if name == "OnceTimetable":
        return _trigger_of("@once")
    if name == "ContinuousTimetable":
        return _trigger_of("@continuous")
    time = detail.get("time")
    if detail.get("assets"):
        events = (
            f"schedule {name}: the DAG runs when assets/datasets are updated; KFP v1 has no event-driven "
            "triggering, only cron and interval schedules"
        )
        if isinstance(time, Mapping) and isinstance(time.get("class"), str):
            on_time = _timetable_trigger(time)
            if on_time.cron is None and on_time.interval is None:
                return dataclasses.replace(on_time, problem=f"{events}; {on_time.problem or 'nor on time'}")
            return dataclasses.replace(on_time, problem=f"{events}: only its time schedule is carried")
        return _Trigger(problem=events)
    crons = detail.get("crons")
    if isinstance(crons, list) and len(crons) > 1:
        return _Trigger(
            problem=f"schedule {name} fires on {len(crons)} cron expressions "
            f"({', '.join(map(repr, crons))}); a KFP recurring run has one: write one run per cron"
        )
    cron_text = detail.get("cron") or (crons[0] if isinstance(crons, list) and crons else None)
    interval = bool(detail.get("data_interval"))
    if isinstance(cron_text, str):
        cron, problem = kfp_cron(preset_cron(cron_text) or cron_text)
        zone = detail.get("timezone")
        return _Trigger(
            cron=cron,
            problem=problem,
            timezone=zone if isinstance(zone, str) else None,
            data_interval=interval,
        )
    delta = detail.get("delta")
    if isinstance(delta, Duration):
        return dataclasses.replace(_duration_trigger("schedule", delta), data_interval=interval)
    if delta is not None:
        return _Trigger(
            problem=f"schedule {name} every {_source_text(delta)}: not a fixed number of seconds "
            "(a calendar interval), which is all KFP's periodic schedule takes"
        )
    said = f" ({description})" if isinstance(description, str) and description else ""
    return _Trigger(
        problem=f"schedule {name}{said}: a timetable KFP cannot express (KFP schedules only by a "
        "cron expression or a fixed interval)"
    )


def _duration_trigger(key: str, value: Duration) -> _Trigger:
    interval = math.ceil(value.seconds)
    notes = (f"interval rounded up to {interval} s",) if interval != value.seconds else ()
    if interval <= 0:
        return _Trigger(problem=f"{key}={value.seconds} s is not a positive interval")
    return _Trigger(interval=interval, notes=notes)


def _trigger_of(value: str) -> _Trigger:
    """A schedule string: `@once`, `@continuous`, a preset or a cron expression."""
    if value == "@once":
        return _Trigger(
            problem="schedule '@once': Airflow runs the DAG once after start_date; KFP has "
            "no one-shot schedule, so create one run instead",
            severity=Severity.INFO,
        )
    if value == "@continuous":
        return _Trigger(
            problem="schedule '@continuous': Airflow starts the next run as soon as the last "
            "one ends; KFP triggers runs only on a cron or an interval"
        )
    cron, problem = kfp_cron(preset_cron(value) or value)
    return _Trigger(cron=cron, problem=problem)


def _argument_trigger(settings: Mapping[str, Any]) -> _Trigger:
    """The trigger of the schedule argument as the static reader read it."""
    key, value = schedule_argument(settings)
    if value is None:
        return _Trigger()
    if isinstance(value, Duration):
        return _duration_trigger(key, value)
    if isinstance(value, str):
        return _trigger_of(value)
    text = _source_text(value)
    if _ASSET.search(text) or _names_asset_function(value):
        kind = "a conditional asset expression" if re.search(r"[|&]|Any\b|All\b", text) else "assets/datasets"
        return _Trigger(
            problem=f"schedule {text}: the DAG runs when {kind} are updated; KFP v1 has no "
            "event-driven triggering, only cron and interval schedules"
        )
    match = _CRON_TIMETABLE.match(text.strip())
    if match:
        cron, problem = kfp_cron(match.group(3))
        tz = _TIMEZONE_ARG.search(match.group(4))
        zone = tz and (tz.group(1) or tz.group(2).strip())
        return _Trigger(
            cron=cron,
            problem=problem,
            timezone=zone or None,
            data_interval=match.group(1) == "CronDataIntervalTimetable",
        )
    match = _DELTA_TIMETABLE.match(text.strip())
    delta = _timedelta_of(match.group(2)) if match else None
    if match and delta is not None:
        return dataclasses.replace(
            _duration_trigger(key, delta), data_interval=match.group(1) == "DeltaDataIntervalTimetable"
        )
    return _Trigger(
        problem=f"schedule {text}: a timetable KFP cannot express (KFP schedules only by a cron "
        "expression or a fixed interval)"
    )


_TIMEDELTA_UNITS = {
    "weeks": 604800,
    "days": 86400,
    "hours": 3600,
    "minutes": 60,
    "seconds": 1,
    "milliseconds": 0.001,
    "microseconds": 0.000001,
}


def _timedelta_of(text: str) -> Duration | None:
    """`timedelta(hours=2)` (or `datetime.timedelta`, pendulum's `duration`) with literal numbers, read
    from source text without running it; None for anything else (a relativedelta, a variable)."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if called not in ("timedelta", "duration"):
        return None
    order = ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks")
    if called == "duration" and node.args:
        return None  # pendulum's duration() takes keywords only in practice; positional order differs
    pairs = [*zip(order, node.args), *((k.arg, k.value) for k in node.keywords)]
    total = 0.0
    for unit, value in pairs:
        if (
            unit not in _TIMEDELTA_UNITS
            or not isinstance(value, ast.Constant)
            or not isinstance(value.value, (int, float))
            or isinstance(value.value, bool)
        ):
            return None
        total += value.value * _TIMEDELTA_UNITS[unit]
    return Duration(total)


def rfc3339(value: Any) -> str | None:
    """An ISO date/datetime as RFC 3339; naive times read as UTC (Airflow's default time zone)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")


def _setting(settings: Mapping[str, Any], key: str) -> Any:
    """A DAG argument, else the same key in default_args (Airflow reads start_date/end_date there too)."""
    if settings.get(key) is not None:
        return settings[key]
    default_args = settings.get("default_args")
    return default_args.get(key) if isinstance(default_args, Mapping) else None


def recurring_run(dag: Dag, scheduled: Mapping[str, str], description: str | None) -> ScheduleResult:
    """The recurring run for `dag`; `scheduled` maps time parameters to their `[[ScheduledTime]]` value."""
    settings = dag.settings
    where = {"file": dag.span.file, "line": dag.span.line, "dag_id": dag.dag_id}
    found: list[Diagnostic] = []

    def report(message: str, severity: Severity | None = None) -> None:
        found.append(diag("A2K314", message, severity=severity, **where))

    trigger = _trigger(settings)
    if trigger.problem:
        report(trigger.problem, trigger.severity)
    if trigger.cron is None and trigger.interval is None:
        return ScheduleResult(None, tuple(found))
    notes = list(trigger.notes)

    catchup = settings.get("catchup")
    if isinstance(catchup, bool):
        no_catchup = not catchup
    else:
        no_catchup = True
        unread = (
            "catchup is not set"
            if catchup is None
            else f"catchup could not be read ({_source_text(catchup)})"
        )
        report(
            f"{unread}: assuming Airflow 3's default catchup=False (no_catchup=true); Airflow 2 "
            "defaulted to True (scheduler.catchup_by_default), and the static reader cannot tell "
            "which Airflow the DAG targets",
            Severity.INFO if catchup is None else None,
        )

    runs = settings.get("max_active_runs")
    if isinstance(runs, int) and not isinstance(runs, bool) and runs > 0:
        concurrency = min(runs, KFP_MAX_CONCURRENCY)
        if runs == AIRFLOW_MAX_ACTIVE_RUNS:  # Airflow-mode reading fills in the default: no warning for it
            notes.append(
                f"max_active_runs={runs} (Airflow's default): KFP's maximum is {KFP_MAX_CONCURRENCY}"
            )
        elif runs > KFP_MAX_CONCURRENCY:
            report(
                f"max_active_runs={runs}: KFP allows at most {KFP_MAX_CONCURRENCY} concurrent runs of a "
                f"recurring run; max_concurrency={KFP_MAX_CONCURRENCY}"
            )
    else:
        concurrency = KFP_MAX_CONCURRENCY
        if runs is not None:
            report(
                f"max_active_runs could not be read ({_source_text(runs)}); "
                f"max_concurrency={KFP_MAX_CONCURRENCY}"
            )
        else:
            notes.append(
                f"max_active_runs unset: Airflow's default is {AIRFLOW_MAX_ACTIVE_RUNS}, "
                f"KFP's maximum {KFP_MAX_CONCURRENCY}"
            )

    window: dict[str, str | None] = {}
    for key, target in (("start_date", "start_time"), ("end_date", "end_time")):
        value = _setting(settings, key)
        window[target] = rfc3339(value)
        if value is not None and window[target] is None:
            report(f"{key} could not be read ({_source_text(value)}); the recurring run has no {target}")
    start = window["start_time"]
    if trigger.cron and trigger.timezone is not None:
        if trigger.timezone.upper() not in ("UTC", "ETC/UTC", "Z"):
            report(
                f"the cron fires in {trigger.timezone} in Airflow (the timetable's time zone), in UTC in KFP "
                "(the ScheduledWorkflow controller's); the cron fields were not shifted"
            )
    elif trigger.cron and start and not start.endswith("Z"):
        report(
            f"start_date {start} is not in UTC: Airflow fires the cron in the DAG's time zone, KFP in the "
            "ScheduledWorkflow controller's (UTC); the cron fields were not shifted"
        )

    if scheduled:
        names = ", ".join(sorted(scheduled))
        if trigger.data_interval:
            report(
                f"logical-date parameters ({names}): Airflow's data-interval timetable fires at the end "
                "of each data interval with the logical date at its start; KFP's [[ScheduledTime]] is the "
                "firing time, one period later"
            )
        else:
            notes.append(
                f"logical-date parameters ({names}) get the firing time ([[ScheduledTime]]): "
                "Airflow 3's logical date for cron and timedelta schedules; under Airflow 2 data "
                "intervals the logical date is one period earlier"
            )

    run = RecurringRun(
        name=dag.dag_id,
        description=description,
        cron=trigger.cron,
        interval_second=trigger.interval,
        start_time=start,
        end_time=window["end_time"],
        max_concurrency=concurrency,
        no_catchup=no_catchup,
        parameters=dict(sorted(scheduled.items())),
        notes=tuple(notes),
    )
    return ScheduleResult(run, tuple(found))
