"""What the reports show, computed once from conversion.json and the files of the output folder.

The HTML and Markdown templates render these frozen values and nothing else, so the two formats
cannot disagree. Nothing here converts again: `airflow2kfp report DIR` works from DIR alone.
"""

from __future__ import annotations

import functools
import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from airflow2kfp.compiled.workflow import (
    StepInfo,
    duration,
    load_workflow,
    step_settings,
    workflow_parameters,
)
from airflow2kfp.emit.recurring import TIMETABLE_READ, preset_cron, schedule_argument
from airflow2kfp.names import bounded_stem
from airflow2kfp.outputs import REPORTS_DIR, OwnedFiles, read_manifest

FIDELITIES = ("direct", "approximated", "placeholder", "removed")
SEVERITIES = ("error", "warning", "info")


# -- values ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One side of a compared value: its text and whether it is carried (same/approximated/lost)."""

    text: str
    mark: str = ""  # "", "same", "approximated", "lost"


@dataclass(frozen=True)
class TaskRow:
    index: int  # stable anchor: row-N, af-N, kf-N
    task_id: str
    operator: str
    location: str
    trigger_rule: str
    retries: str
    timeout: str
    pool: str
    templated: str
    fidelity: str
    kfp_name: str | None
    component: str
    after: str
    kfp_retry: str
    kfp_timeout: str
    mark: str  # same / approximated / lost
    notes: tuple[str, ...]
    control: str = ""  # group, condition, loop and Argo depends, in one line


@dataclass(frozen=True)
class SettingRow:
    name: str
    airflow: str
    kfp: str
    mark: str


@dataclass(frozen=True)
class DiagnosticView:
    code: str
    severity: str
    location: str
    message: str
    help: str
    task_id: str | None


@dataclass(frozen=True)
class GraphNode:
    index: int
    task_id: str
    label: str
    fidelity: str
    group: str | None = None  # the TaskGroup path, e.g. "extract.sources"


@dataclass(frozen=True)
class Graph:
    nodes: tuple[GraphNode, ...]
    edges: tuple[tuple[int, int], ...]  # by node index


@dataclass(frozen=True)
class Ordering:
    verdict: str  # exact / unproven / mismatch / unchecked
    missing: tuple[tuple[str, str], ...]  # Airflow orders these, KFP does not (Airflow task ids)
    extra: tuple[tuple[str, str], ...]  # KFP orders these, Airflow does not


@dataclass(frozen=True)
class V2TaskRow:
    task_id: str
    step: str | None  # the IR task path of its step, None: no step (removed)
    conditions: tuple[str, ...]
    exit_hook: bool  # ignore_upstream_failure: KFP's backend runs it as an exit hook
    region: str | None  # the sub-pipeline holding it
    semantics: str  # exact / differs
    differences: tuple[str, ...]


@dataclass(frozen=True)
class V2View:
    """The KFP v2 target of one DAG (`--target v2`): its files, the IR's self-check, per task."""

    status: str
    python_link: str | None
    yaml_link: str | None
    recurring_link: str | None
    ordering: Ordering
    error: str | None
    tasks: tuple[V2TaskRow, ...]
    python_text: str | None = None
    yaml_text: str | None = None
    verify: Mapping[str, Any] | None = None  # `airflow2kfp verify --target v2`'s comparison

    @property
    def differing(self) -> int:
        return sum(t.semantics == "differs" for t in self.tasks)


@dataclass(frozen=True)
class DagView:
    stem: str
    dag_id: str
    status: str
    source: str
    source_line: int
    source_link: str  # relative to the reports folder
    python_link: str | None  # relative to the reports folder
    yaml_link: str | None
    pipeline_function: str | None
    source_mode: str
    ordering: Ordering
    counts: Mapping[str, int]  # fidelity -> tasks
    severity_counts: Mapping[str, int]
    code_counts: tuple[tuple[str, str, int], ...]  # (code, severity, n), worst first
    tasks: tuple[TaskRow, ...]
    settings: tuple[SettingRow, ...]
    diagnostics: tuple[DiagnosticView, ...]
    airflow_graph: Graph
    kfp_graph: Graph
    python_text: str | None
    yaml_text: str | None
    verify: Mapping[str, Any] | None = None  # conversion.json's `verify` entry, set by `airflow2kfp verify`
    owned: str | None = (
        None  # the user owns the pipeline's files: "marker" or "config" (airflow2kfp.ownership)
    )
    targets: tuple[str, ...] = ("v1",)  # what the DAG was converted to
    v2: V2View | None = None

    @property
    def worst_severity(self) -> str | None:
        return next((s for s in SEVERITIES if self.severity_counts.get(s)), None)


@dataclass(frozen=True)
class FileRow:
    path: str
    status: str
    diagnostics: tuple[DiagnosticView, ...]


@dataclass(frozen=True)
class IndexView:
    tool_version: str
    dags: tuple[DagView, ...]  # worst first
    files: tuple[FileRow, ...]  # files with problems of their own (no DAG, unreadable, ...)
    totals: Mapping[str, int]  # fidelity -> tasks over all DAGs
    severity_totals: Mapping[str, int]
    code_totals: tuple[tuple[str, str, int], ...]
    status_totals: Mapping[str, int]
    ordering_totals: Mapping[str, int]


# -- formatting model values (as conversion.json writes them) ------------------------------------


def show(value: Any) -> str:
    """A conversion.json value as short text: durations in seconds, unresolved source as is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dict):
        if "duration_seconds" in value:
            return duration(value["duration_seconds"])
        if "unresolved" in value:
            return f"{value['unresolved']} (unresolved)"
        if "xcom" in value:
            return f"XCom {value['xcom']}[{value.get('key', 'return_value')}]"
        return ", ".join(f"{k}={show(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(show(v) for v in value)
    return str(value)


# -- the compiled workflow: what each KFP step really does -----------------------------------------


@functools.lru_cache(maxsize=2)
def _workflow(yaml_text: str) -> Any:
    """The parsed workflow, read-only: the steps and the parameters of one DAG share one parse."""
    return load_workflow(yaml_text)


def workflow_steps(yaml_text: str | None) -> dict[str, StepInfo]:
    """Retry and timeout of every container step of the compiled workflow, by template name."""
    try:
        return step_settings(_workflow(yaml_text)) if yaml_text else {}
    except yaml.YAMLError:
        return {}


def pipeline_parameters(yaml_text: str | None) -> tuple[str, ...]:
    try:
        return workflow_parameters(_workflow(yaml_text)) if yaml_text else ()
    except yaml.YAMLError:
        return ()


def compiled_facts(
    dag: Mapping[str, Any], yaml_text: str | None
) -> tuple[dict[str, StepInfo], tuple[str, ...]]:
    """The steps' retry/timeout and the pipeline parameters: from conversion.json, where the worker
    that compiled the DAG put them, or from the YAML (a conversion.json from before they were kept)."""
    if "kfp_steps" in dag and "pipeline_parameters" in dag:
        steps = {
            name: StepInfo(str(step.get("retry", "")), str(step.get("timeout", "")))
            for name, step in (dag["kfp_steps"] or {}).items()
        }
        return steps, tuple(str(name) for name in dag["pipeline_parameters"] or ())
    return workflow_steps(yaml_text), pipeline_parameters(yaml_text)


# -- per-task rows ---------------------------------------------------------------------------------


def _fidelity(task: Mapping[str, Any]) -> str:
    """conversion.json's `mapping`; a direct step whose control flow differs is approximated (as the
    converter now records it: an older conversion.json kept it direct)."""
    fidelity = str(task["mapping"])
    differs = task.get("semantics", {}).get("verdict") == "differs"
    return "approximated" if fidelity == "direct" and differs else fidelity


def _task_mark(task: Mapping[str, Any]) -> str:
    """The row's mark, from the task's fidelity alone (conversion.json's `mapping`, which the header
    counts): a setting that is not carried (A2K303) is listed on the row, it does not change how the
    step runs. An older conversion.json that kept `direct` for a differing trigger rule reads as
    approximated here too."""
    fidelity = _fidelity(task)
    return {"placeholder": "lost", "approximated": "approximated"}.get(fidelity, "same")


def task_rows(dag: Mapping[str, Any], steps: Mapping[str, StepInfo]) -> tuple[TaskRow, ...]:
    tasks = dag.get("tasks", [])
    kfp_of = {t["task_id"]: t.get("kfp_name") for t in tasks}
    not_carried: dict[str, list[str]] = {}  # task -> the settings A2K303 says are not carried
    for d in dag.get("diagnostics", []):
        if d.get("task_id") and d.get("code") == "A2K303":
            not_carried.setdefault(d["task_id"], []).append(str(d.get("message", "")).split(":", 1)[0])
    rows = []
    for index, task in enumerate(tasks):
        kfp_name = task.get("kfp_name")
        step = steps.get(kfp_name or "", StepInfo("", ""))
        rows.append(
            TaskRow(
                index=index,
                task_id=task["task_id"],
                operator=task["operator"].rsplit(".", 1)[-1],
                location=f"{dag['source']}:{task['line']}",
                trigger_rule=task.get("trigger_rule", "all_success"),
                retries=show(task.get("retries"))
                + (f" every {show(task['retry_delay'])}" if task.get("retry_delay") else ""),
                timeout=show(task.get("execution_timeout")),
                pool=show(task.get("pool")),
                templated=", ".join(task.get("templated_fields", [])),
                fidelity=_fidelity(task),
                kfp_name=kfp_name,
                component=task.get("component") or "",
                after=", ".join(kfp_of.get(a) or a for a in task.get("after", [])),
                kfp_retry=step.retry,
                kfp_timeout=step.timeout,
                mark=_task_mark(task),
                notes=tuple(task.get("notes", []))
                + (
                    (f"not carried: {', '.join(not_carried[task['task_id']])}",)
                    if task["task_id"] in not_carried
                    else ()
                )
                + tuple(f"differs: {d}" for d in task.get("semantics", {}).get("differences", [])),
                control=control_flow(task),
            )
        )
    return tuple(rows)


def control_flow(task: Mapping[str, Any]) -> str:
    """Where the step sits and when it runs: its task group, conditions, loops, Argo depends."""
    parts = [f"group {task['group']}"] if task.get("group") else []
    parts += [f"if {c}" for c in task.get("conditions", [])]
    parts += [f"for each in {loop}" for loop in task.get("loops", [])]
    if task.get("depends"):
        parts.append(f"depends: {task['depends']}")
    return "; ".join(parts)


# -- DAG-level settings ----------------------------------------------------------------------------


def schedule_row(settings: Mapping[str, Any]) -> SettingRow:
    key, value = schedule_argument(settings)
    if value is None:
        return SettingRow(key, "None (manual)", "no recurring run (manual runs)", "same")
    if isinstance(value, dict) and "duration_seconds" in value:
        return SettingRow(
            key,
            show(value),
            f"recurring run, interval {duration(value['duration_seconds'])} (create it with this interval)",
            "approximated",
        )
    if isinstance(value, str) and value == "@once":
        return SettingRow(key, value, "one run (create a single run)", "approximated")
    preset = preset_cron(value) if isinstance(value, str) else None
    if isinstance(value, str) and (preset or len(value.split()) == 5):
        cron = f"0 {preset or value}"  # KFP's cron has a seconds field first
        return SettingRow(
            key, value, f"recurring run, cron '{cron}' (create it with this cron)", "approximated"
        )
    return SettingRow(key, show(value), "no KFP equivalent: set the recurring run by hand", "lost")


def recurring_rows(settings: Mapping[str, Any], recurring: Mapping[str, Any] | None) -> list[SettingRow]:
    """The schedule settings as the recurring-run JSON the converter wrote holds them (None: it wrote none)."""
    key, _ = schedule_argument(settings)
    if recurring is None:
        if settings.get(key) is None:
            return [SettingRow(key, "None (manual)", "no recurring run (manual runs)", "same")]
        return [
            SettingRow(
                key, show(settings[key]), "no recurring run: KFP cannot express it (see A2K314)", "lost"
            )
        ]
    trigger = recurring.get("trigger") or {}
    window = trigger.get("cron_schedule") or trigger.get("periodic_schedule") or {}
    if "cron_schedule" in trigger:
        kfp = f"recurring run, cron '{window.get('cron')}' (seconds first)"
    else:
        kfp = f"recurring run, every {duration(window.get('interval_second') or 0)}"
    rows = [SettingRow(key, show(settings[key]), kfp, "approximated" if recurring.get("notes") else "same")]
    catchup = settings.get("catchup")
    rows.append(
        SettingRow(
            "catchup",
            show(catchup) if catchup is not None else "unset",
            f"no_catchup={str(recurring.get('no_catchup')).lower()}",
            "same" if isinstance(catchup, bool) else "approximated",
        )
    )
    runs = settings.get("max_active_runs")
    rows.append(
        SettingRow(
            "max_active_runs",
            show(runs) if runs is not None else "unset",
            f"max_concurrency={recurring.get('max_concurrency')}",
            "same" if runs == recurring.get("max_concurrency") else "approximated",
        )
    )
    for name, field_name in (("start_date", "start_time"), ("end_date", "end_time")):
        if settings.get(name) is not None or window.get(field_name):
            rows.append(
                SettingRow(
                    name,
                    show(settings.get(name)),
                    f"{field_name}={window.get(field_name) or 'none'}",
                    "same" if window.get(field_name) else "lost",
                )
            )
    for name, value in (recurring.get("parameters") or {}).items():
        rows.append(SettingRow(f"recurring run: {name}", "logical date", value, "approximated"))
    return rows


def params_rows(settings: Mapping[str, Any], parameters: Sequence[str]) -> list[SettingRow]:
    params = settings.get("params")
    if not isinstance(params, dict) or not params:
        return [SettingRow("params", "none", ", ".join(parameters) or "no pipeline parameters", "same")]
    rows = []
    for name, value in params.items():
        carried = name in parameters
        rows.append(
            SettingRow(
                f"params.{name}",
                show(value),
                f"pipeline parameter {name}" if carried else "not a pipeline parameter",
                "same" if carried else "lost",
            )
        )
    return rows


def _simple_rows(settings: Mapping[str, Any], description: str | None) -> list[SettingRow]:
    rows = []
    if "catchup" in settings:
        catchup = settings["catchup"]
        rows.append(
            SettingRow(
                "catchup",
                show(catchup),
                f"recurring run no_catchup={not catchup}"
                if isinstance(catchup, bool)
                else "set no_catchup on the recurring run",
                "same" if isinstance(catchup, bool) else "lost",
            )
        )
    if "max_active_runs" in settings:
        rows.append(
            SettingRow(
                "max_active_runs",
                show(settings["max_active_runs"]),
                f"recurring run max_concurrency={show(settings['max_active_runs'])}",
                "same",
            )
        )
    for key in ("start_date", "end_date"):
        if key in settings:
            rows.append(
                SettingRow(
                    key, show(settings[key]), f"recurring run {key.replace('_date', '_time')}", "approximated"
                )
            )
    if "tags" in settings:
        rows.append(SettingRow("tags", show(settings["tags"]), "KFP v1 pipelines have no tags", "lost"))
    docs = [k for k in ("doc_md", "doc", "doc_rst", "doc_json", "doc_yaml") if k in settings]
    for key in docs:
        text = show(settings[key])
        # the first doc becomes the pipeline description when the DAG has none (emit/python.py)
        first = next(
            (
                k
                for k in ("doc_md", "doc", "doc_rst")
                if isinstance(settings.get(k), str) and settings[k].strip()
            ),
            None,
        )
        carried = key == first and not (description or settings.get("description"))
        rows.append(
            SettingRow(
                key,
                text[:80] + ("..." if len(text) > 80 else ""),
                "pipeline description (first paragraph)" if carried else "not carried",
                "approximated" if carried else "lost",
            )
        )
    if description or "description" in settings:
        rows.append(
            SettingRow(
                "description", show(settings.get("description", description)), "pipeline description", "same"
            )
        )
    return rows


def setting_rows(
    settings: Mapping[str, Any],
    parameters: Sequence[str],
    description: str | None = None,
    recurring: Mapping[str, Any] | None = None,
    computed: bool = False,
) -> tuple[SettingRow, ...]:
    """`computed`: the run recorded its recurring run (`recurring`, None when there is none); older
    conversion.json files did not, and their schedule rows describe what to create by hand."""
    shown = {
        "schedule",
        "schedule_interval",
        "timetable",
        *TIMETABLE_READ,
        "params",
        "catchup",
        "max_active_runs",
        "start_date",
        "end_date",
        "tags",
        "doc_md",
        "doc",
        "doc_rst",
        "doc_json",
        "doc_yaml",
        "description",
        "default_args",
    }
    if computed:
        schedule = recurring_rows(settings, recurring)
        covered = {row.name for row in schedule}
        simple = [row for row in _simple_rows(settings, description) if row.name not in covered]
        rows = [schedule[0], *params_rows(settings, parameters), *schedule[1:], *simple]
    else:
        rows = [
            schedule_row(settings),
            *params_rows(settings, parameters),
            *_simple_rows(settings, description),
        ]
    if isinstance(settings.get("default_args"), dict):
        rows.append(
            SettingRow(
                "default_args", show(settings["default_args"]), "applied to each task (see tasks)", "same"
            )
        )
    for key in sorted(set(settings) - shown):
        rows.append(SettingRow(key, show(settings[key]), "no KFP equivalent", "lost"))
    return tuple(rows)


# -- diagnostics, graphs, ordering -----------------------------------------------------------------


def diagnostic_view(d: Mapping[str, Any]) -> DiagnosticView:
    location = "<unknown>"
    if d.get("file"):
        location = (
            d["file"] if d.get("line") is None else f"{d['file']}:{d['line']}:{(d.get('col') or 0) + 1}"
        )
    return DiagnosticView(d["code"], d["severity"], location, d["message"], d["help"], d.get("task_id"))


def code_counts(diagnostics: Sequence[DiagnosticView]) -> tuple[tuple[str, str, int], ...]:
    counted = Counter((d.code, d.severity) for d in diagnostics)
    return tuple(
        sorted(
            ((code, sev, n) for (code, sev), n in counted.items()),
            key=lambda row: (SEVERITIES.index(row[1]) if row[1] in SEVERITIES else 9, row[0]),
        )
    )


def graphs(dag: Mapping[str, Any]) -> tuple[Graph, Graph]:
    tasks = dag.get("tasks", [])
    index = {t["task_id"]: i for i, t in enumerate(tasks)}
    by_kfp = {t["kfp_name"]: i for i, t in enumerate(tasks) if t.get("kfp_name")}
    airflow = Graph(
        tuple(
            GraphNode(i, t["task_id"], t["task_id"], t["mapping"], t.get("group"))
            for i, t in enumerate(tasks)
        ),
        tuple((index[a], index[b]) for a, b in dag.get("airflow_edges", []) if a in index and b in index),
    )
    kfp = Graph(
        tuple(
            GraphNode(i, t["task_id"], t["kfp_name"], t["mapping"], t.get("group"))
            for i, t in enumerate(tasks)
            if t.get("kfp_name")
        ),
        tuple((by_kfp[a], by_kfp[b]) for a, b in dag.get("kfp_edges", []) if a in by_kfp and b in by_kfp),
    )
    return airflow, kfp


def ordering(dag: Mapping[str, Any]) -> Ordering:
    data = dag.get("ordering") or {}
    airflow_id = {t["kfp_name"]: t["task_id"] for t in dag.get("tasks", []) if t.get("kfp_name")}

    def pairs(key: str) -> tuple[tuple[str, str], ...]:
        return tuple((airflow_id.get(a, a), airflow_id.get(b, b)) for a, b in data.get(key, []))

    return Ordering(data.get("verdict", "unchecked"), pairs("missing"), pairs("extra"))


# -- one DAG, the run ------------------------------------------------------------------------------


def _read(files: OwnedFiles, relative: object) -> str | None:
    """A converted file's text, if the manifest says this tool wrote it (see OwnedFiles)."""
    data = files.read(relative) if relative else None
    try:
        return data.decode("utf-8") if data is not None else None
    except UnicodeDecodeError:
        return None


def _link(out_dir: Path, target: Path) -> str:
    """A relative link from OUT/reports/ to `target` (a link only: nothing is read there)."""
    link = Path(os.path.relpath(target.resolve(), (out_dir / REPORTS_DIR).resolve())).as_posix()
    # a first segment with a colon would read as a URL scheme (`javascript:`) in a browser
    return f"./{link}" if ":" in link.split("/", 1)[0] else link


def dag_stem(dag: Mapping[str, Any], taken: set[str]) -> str:
    """The pipeline file's stem; a DAG without one (it failed early) gets a unique name from its id."""
    if dag.get("python"):
        stem = Path(dag["python"]).stem
    else:
        name = "".join(c if c.isalnum() or c in "-_" else "_" for c in dag["dag_id"]) or "dag"
        stem = bounded_stem(name, dag["dag_id"])  # a 250-letter unicode id is too long a file name
        base, n = stem, 2
        while stem.casefold() in taken:
            stem, n = f"{base}_{n}", n + 1
    taken.add(stem.casefold())
    return stem


def dag_view(
    dag: Mapping[str, Any], out_dir: Path, stem: str, source_root: Path, files: OwnedFiles | None = None
) -> DagView:
    """One DAG's report; relative source paths are linked relative to `source_root` (where convert
    ran); the pipeline files are read through `files` (default: those OUT's manifest lists)."""
    files = files or OwnedFiles(out_dir, read_manifest(out_dir))
    python_text, yaml_text = _read(files, dag.get("python")), _read(files, dag.get("yaml"))
    recurring_text = _read(files, dag.get("recurring_run"))
    try:
        recurring = json.loads(recurring_text) if recurring_text else None
    except ValueError:
        recurring = None
    diagnostics = tuple(diagnostic_view(d) for d in dag.get("diagnostics", []))
    airflow_graph, kfp_graph = graphs(dag)
    steps, parameters = compiled_facts(dag, yaml_text)
    tasks = task_rows(dag, steps)
    return DagView(
        stem=stem,
        dag_id=dag["dag_id"],
        status=dag["status"],
        source=dag["source"],
        source_line=dag.get("line") or 1,
        source_link=_link(out_dir, source_root / dag["source"]),
        python_link=_link(out_dir, out_dir / dag["python"]) if python_text is not None else None,
        yaml_link=_link(out_dir, out_dir / dag["yaml"]) if yaml_text is not None else None,
        pipeline_function=dag.get("pipeline_function"),
        source_mode=dag.get("source_mode", "static"),
        ordering=ordering(dag),
        counts={f: sum(t.fidelity == f for t in tasks) for f in FIDELITIES},
        severity_counts={s: sum(d.severity == s for d in diagnostics) for s in SEVERITIES},
        code_counts=code_counts(diagnostics),
        tasks=tasks,
        settings=setting_rows(
            dag.get("settings") or {}, parameters, recurring=recurring, computed="recurring_run" in dag
        ),
        diagnostics=diagnostics,
        airflow_graph=airflow_graph,
        kfp_graph=kfp_graph,
        python_text=python_text,
        yaml_text=yaml_text,
        verify=dag.get("verify"),
        owned=dag.get("owned") if dag.get("owned") in ("marker", "config") else None,
        targets=tuple(str(t) for t in dag.get("targets") or ("v1",)),
        v2=v2_view(dag, out_dir, files),
    )


def v2_view(dag: Mapping[str, Any], out_dir: Path, files: OwnedFiles) -> V2View | None:
    """The DAG's v2 record (conversion.json's `v2`), None when it was not converted to v2."""
    v2 = dag.get("v2")
    if not isinstance(v2, Mapping):
        return None
    python_text, yaml_text = _read(files, v2.get("python")), _read(files, v2.get("yaml"))
    recurring = v2.get("recurring_run")
    data = v2.get("ordering") or {}
    rows = tuple(
        V2TaskRow(
            task_id=str(t.get("task_id")),
            step=t.get("step"),
            conditions=tuple(t.get("conditions") or ()),
            exit_hook=bool(t.get("ignore_upstream_failure") or t.get("exit_handler")),
            region=t.get("region"),
            semantics=str((t.get("semantics") or {}).get("verdict", "exact")),
            differences=tuple((t.get("semantics") or {}).get("differences") or ()),
        )
        for t in v2.get("tasks") or []
    )
    return V2View(
        status=str(v2.get("status", "failed")),
        python_link=_link(out_dir, out_dir / v2["python"]) if python_text is not None else None,
        yaml_link=_link(out_dir, out_dir / v2["yaml"]) if yaml_text is not None else None,
        recurring_link=_link(out_dir, out_dir / recurring)
        if recurring and _read(files, recurring) is not None
        else None,
        ordering=Ordering(
            str(data.get("verdict", "unchecked")),
            tuple(tuple(p) for p in data.get("missing") or ()),
            tuple(tuple(p) for p in data.get("extra") or ()),
        ),
        error=v2.get("error"),
        tasks=rows,
        python_text=python_text,
        yaml_text=yaml_text,
        verify=v2.get("verify"),
    )


def badness(view: DagView) -> tuple:
    """Sort key: failed first, then ordering mismatches, errors, placeholders, approximations."""
    return (
        view.status != "failed",
        view.ordering.verdict != "mismatch",
        -view.severity_counts.get("error", 0),
        -view.counts.get("placeholder", 0),
        -view.counts.get("approximated", 0),
        -view.severity_counts.get("warning", 0),
        view.dag_id,
        view.stem,
    )


def dag_entries(document: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], str]]:
    """Every DAG of conversion.json with its report's stem."""
    taken: set[str] = set()
    # stems of converted DAGs first, so a failed DAG never takes a pipeline file's name
    ordered = sorted(document.get("dags", []), key=lambda d: d.get("python") is None)
    return [(d, dag_stem(d, taken)) for d in ordered]


def index_view(document: Mapping[str, Any], out_dir: Path, source_root: Path) -> IndexView:
    files = OwnedFiles(out_dir, read_manifest(out_dir))
    views = [dag_view(d, out_dir, stem, source_root, files) for d, stem in dag_entries(document)]
    return index_of(document, views)


def index_of(document: Mapping[str, Any], views: Sequence[DagView]) -> IndexView:
    """The index over DAG views already made (render.py makes them in parallel)."""
    dags = tuple(sorted(views, key=badness))
    files = tuple(
        FileRow(f["path"], f["status"], tuple(diagnostic_view(d) for d in f.get("diagnostics", [])))
        for f in document.get("files", [])
        if f.get("diagnostics") and f.get("status") != "skipped"
    )
    all_diagnostics = [d for v in dags for d in v.diagnostics] + [d for f in files for d in f.diagnostics]
    return IndexView(
        tool_version=str(document.get("tool", {}).get("version", "")),
        dags=dags,
        files=files,
        totals={f: sum(v.counts[f] for v in dags) for f in FIDELITIES},
        severity_totals={s: sum(d.severity == s for d in all_diagnostics) for s in SEVERITIES},
        code_totals=code_counts(all_diagnostics),
        status_totals=dict(sorted(Counter(v.status for v in dags).items())),
        ordering_totals=dict(sorted(Counter(v.ordering.verdict for v in dags).items())),
    )
