"""Airflow Jinja templates in task arguments -> pipeline parameters and KFP/Argo run variables.

Airflow renders templated fields just before a task runs; KFP renders nothing. The common macros
have a natural KFP home, so they are translated; anything else is kept verbatim with a diagnostic
naming it, so the user sees exactly which text will reach the step unrendered.

- `ds`, `ds_nodash`, `ts`, `ts_nodash`, `ts_nodash_with_tz`, `logical_date` / `execution_date`:
  a pipeline parameter each. Its default is KFP's run macro `[[CurrentTime.<Go format>]]`, which
  the KFP API server substitutes when a run is created; the recurring-run definition passes
  `[[ScheduledTime.<Go format>]]` instead, which the ScheduledWorkflow controller substitutes with
  the time the run was scheduled for (both macros are backend features, available in the KFP 1.x
  backends kfp 1.8 targets). That is Airflow 3's logical date for cron schedules; Airflow 2's
  data-interval timetables put the logical date one interval earlier (the diagnostic says so).
- `run_id`: `dsl.RUN_ID_PLACEHOLDER` (`{{workflow.uid}}`, substituted by Argo in every run).
- `dag.dag_id`, `task.task_id` (and through `ti` / `task_instance` / `dag_run`): constants.
- `params.x`, `params['x']`: the DAG param's pipeline parameter (see `dag_params.py`).
- `ti.xcom_pull(task_ids='t', key='k')` alone in a block, where the caller passes `pulls`: the text of
  that upstream's output (`xcom.text_pulls`), which KFP substitutes when the step starts.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.mapping.base import Interpolated, ParamRef, PipelineParameter, RunIdRef, task_location
from airflow2kfp.mapping.dag_params import dag_parameters
from airflow2kfp.model import Dag, Task

# macro -> (pipeline parameter name, Go time format, what Airflow renders)
TIME_MACROS: dict[str, tuple[str, str, str]] = {
    "ds": ("ds", "2006-01-02", "the logical date as YYYY-MM-DD"),
    "ds_nodash": ("ds_nodash", "20060102", "the logical date as YYYYMMDD"),
    "ts": ("ts", "2006-01-02T15:04:05-07:00", "the logical date in ISO 8601"),
    "ts_nodash": ("ts_nodash", "20060102T150405", "the logical date as YYYYMMDDTHHMMSS"),
    "ts_nodash_with_tz": ("ts_nodash_with_tz", "20060102T150405-0700", "the logical date with its offset"),
    # str() of Airflow 3's pendulum 3 datetime: '2024-01-01 00:00:00+00:00'
    "logical_date": ("logical_date", "2006-01-02 15:04:05-07:00", "the logical date"),
    "execution_date": ("logical_date", "2006-01-02 15:04:05-07:00", "the logical date"),
}
_BLOCK = re.compile(r"{{(.*?)}}|{%.*?%}|{#.*?#}", re.DOTALL)
_PARAM = re.compile(r"""^params(?:\.(\w+)|\[\s*(['"])(.+?)\2\s*\])$""")
_DAG_ID = re.compile(r"^(dag|dag_run|ti|task_instance)\.dag_id$")
_TASK_ID = re.compile(r"^(task|ti|task_instance)\.task_id$")
MARKERS = ("{{", "{%", "{#")


@dataclass(frozen=True)
class Translation:
    value: Any  # the argument value: the text unchanged, or an Interpolated
    parameters: tuple[PipelineParameter, ...]
    kept: tuple[str, ...]  # template expressions left verbatim


# KFP's run macros in a parameter's value, substituted by its API server (runs) or the ScheduledWorkflow
# controller (recurring runs) with the time formatted by Go's layout
RUN_MACRO = re.compile(r"\[\[(CurrentTime|ScheduledTime)\.([^\]]*)\]\]")
_GO_LAYOUT = re.compile(r"Z07:00|-07:00|Z0700|-0700|2006|01|02|15|04|05")


def substitute_run_macros(text: str, when: datetime.datetime) -> str:
    """`text` with KFP's `[[CurrentTime.<layout>]]` / `[[ScheduledTime.<layout>]]` replaced as KFP does for a
    run at `when` (aware), for the layout elements the converter writes (`TIME_MACROS`); for local runs."""

    def go_format(layout: str) -> str:
        def element(match: re.Match[str]) -> str:
            token = match.group(0)
            if token in ("-07:00", "Z07:00", "-0700", "Z0700"):
                offset = when.strftime("%z")  # +HHMM
                if token.startswith("Z") and offset == "+0000":
                    return "Z"
                return f"{offset[:3]}:{offset[3:]}" if ":" in token else offset
            return when.strftime(
                {"2006": "%Y", "01": "%m", "02": "%d", "15": "%H", "04": "%M", "05": "%S"}[token]
            )

        return _GO_LAYOUT.sub(element, layout)

    return RUN_MACRO.sub(lambda match: go_format(match.group(2)), text)


def time_parameter(macro: str) -> PipelineParameter:
    name, go_format, meaning = TIME_MACROS[macro]
    return PipelineParameter(
        name=name,
        annotation="str",
        default=f"[[CurrentTime.{go_format}]]",
        description=f"Airflow's `{macro}`: {meaning} (the run's creation time; the scheduled time in recurring runs)",
        scheduled_value=f"[[ScheduledTime.{go_format}]]",
    )


def has_template(value: Any) -> bool:
    return isinstance(value, str) and any(marker in value for marker in MARKERS)


# a simple `xcom_pull(...)` expression -> the value standing for its text, or None when it has none
PullResolver = Callable[[str], Any]


def translate(text: str, task: Task, dag: Dag, pulls: PullResolver | None = None) -> Translation:
    """`text` with the macros KFP can supply replaced; the rest kept as written."""
    if not has_template(text):
        return Translation(text, (), ())
    params = {p.key: p for p in dag_parameters(dag) if p.key is not None}  # by the key a template names
    parts: list[Any] = []
    parameters: dict[str, PipelineParameter] = {}
    kept: list[str] = []
    position = 0
    for match in _BLOCK.finditer(text):
        parts.append(text[position : match.start()])
        position = match.end()
        expression = (match.group(1) or "").strip()
        replacement = _replacement(expression, task, dag, params) if match.group(1) is not None else None
        if (
            replacement is None
            and pulls is not None
            and match.group(1) is not None
            and "xcom_pull" in expression
        ):
            replacement = pulls(expression)
        if replacement is None:
            parts.append(match.group(0))
            kept.append(match.group(0))
        elif isinstance(replacement, PipelineParameter):
            parameters.setdefault(replacement.name, replacement)
            parts.append(ParamRef(replacement.name))
        else:
            parts.append(replacement)
    parts.append(text[position:])
    merged = _merge_text(parts)
    if all(isinstance(p, str) for p in merged):
        return Translation("".join(merged), tuple(parameters.values()), tuple(kept))
    if len(merged) == 1 and isinstance(merged[0], ParamRef):
        return Translation(merged[0], tuple(parameters.values()), tuple(kept))
    if len(merged) == 1 and not isinstance(merged[0], RunIdRef):  # an upstream's text, alone
        return Translation(merged[0], tuple(parameters.values()), tuple(kept))
    return Translation(Interpolated(tuple(merged)), tuple(parameters.values()), tuple(kept))


def _replacement(
    expression: str, task: Task, dag: Dag, params: Mapping[str, PipelineParameter]
) -> PipelineParameter | RunIdRef | str | None:
    if expression in TIME_MACROS:
        return time_parameter(expression)
    if expression in ("run_id", "dag_run.run_id"):
        return RunIdRef()
    if _DAG_ID.match(expression):
        return dag.dag_id
    if _TASK_ID.match(expression):
        return task.task_id
    match = _PARAM.match(expression)
    if match:
        key = match.group(1) or match.group(3)
        return params.get(key)
    return None


def _merge_text(parts: list[Any]) -> list[Any]:
    merged: list[Any] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    return merged


def translate_value(
    value: Any,
    task: Task,
    dag: Dag,
    field_name: str,
    found: list[Diagnostic],
    parameters: dict[str, PipelineParameter],
    pulls: PullResolver | None = None,
) -> Any:
    """Translate every template inside a value (strings in lists and dicts too).

    Appends an A2K302 diagnostic per field with kept templates, and the parameters used.
    """
    if isinstance(value, str):
        result = translate(value, task, dag, pulls)
        for parameter in result.parameters:
            parameters.setdefault(parameter.name, parameter)
        if result.kept:
            shown = ", ".join(dict.fromkeys(result.kept))
            found.append(
                diag("A2K302", f"{field_name}: template kept verbatim: {shown}", **task_location(task))
            )
        return result.value
    if isinstance(value, list):
        return [translate_value(v, task, dag, field_name, found, parameters, pulls) for v in value]
    if isinstance(value, tuple):
        return tuple(translate_value(v, task, dag, field_name, found, parameters, pulls) for v in value)
    if isinstance(value, dict):
        return {
            k: translate_value(v, task, dag, f"{field_name}[{k!r}]", found, parameters, pulls)
            for k, v in value.items()
        }
    return value


def time_macro_note(parameters: Mapping[str, PipelineParameter]) -> str | None:
    """A note when a time macro was translated: its meaning differs slightly between Airflow versions."""
    used = sorted(n for n in parameters if n in {name for name, _, _ in TIME_MACROS.values()})
    if not used:
        return None
    return (
        f"{', '.join(used)}: the run's creation time, or the scheduled time in recurring runs "
        "(Airflow 2's data-interval schedules use the start of the interval)"
    )
