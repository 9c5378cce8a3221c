"""The conversion of one DAG file, stage by stage: read -> check -> map -> emit -> compile -> verify.

`convert_file` returns a value for every file and never raises: a failure anywhere becomes a
diagnostic on that file or DAG, and the other files of the batch go on.
"""

from __future__ import annotations

import re
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from airflow2kfp import graph
from airflow2kfp.compiled.selfcheck import check
from airflow2kfp.compiled.workflow import load_workflow, step_settings, workflow_parameters
from airflow2kfp.diagnostics import UNPROVEN_EDGES, Diagnostic, Severity, diag
from airflow2kfp.emit.compile import compile_source
from airflow2kfp.emit.python import EmitPlan, build_plan, render
from airflow2kfp.emit.recurring import recurring_run
from airflow2kfp.encodable import encodable_dag
from airflow2kfp.mapping import MappingContext, MappingOptions, TaskMapping, map_task
from airflow2kfp.mapping.literals import py_literal
from airflow2kfp.mapping.machine_paths import machine_path_diagnostics
from airflow2kfp.mapping.wiring import wire_outputs
from airflow2kfp.model import Dag, FileLocation, ParsedFile, Task
from airflow2kfp.names import MAX_K8S_NAME
from airflow2kfp.results import DagResult, Fidelity, FileResult, Status, TaskRecord
from airflow2kfp.settings import DEFAULTS


@dataclass(frozen=True)
class ConvertOptions:
    mapping: MappingOptions = field(default_factory=MappingOptions)
    max_file_bytes: int = DEFAULTS.max_file_size
    targets: tuple[str, ...] = ("v1",)  # "v1" (kfp 1.8.22, Argo YAML) and/or "v2" (kfp 2.x, pipeline IR)
    kfp2_python: str | None = (
        None  # the kfp 2.x interpreter for v2 (None: $AIRFLOW2KFP_KFP2_PYTHON, .venv-kfp2)
    )


Reader = Callable[[Path, str], ParsedFile]


def _has_error(diagnostics: tuple[Diagnostic, ...]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


def structure_diagnostics(dag: Dag) -> tuple[Diagnostic, ...]:
    """Checks every reader's output gets: the graph must be acyclic and name existing tasks."""
    ids = {t.task_id for t in dag.tasks}
    found: list[Diagnostic] = []
    unknown = sorted({task_id for edge in dag.edges for task_id in edge if task_id not in ids})
    if unknown:
        found.append(
            diag(
                "A2K203",
                f"dependencies name tasks that do not exist: {', '.join(unknown)}",
                file=dag.span.file,
                line=dag.span.line,
                dag_id=dag.dag_id,
            )
        )
        return tuple(found)
    cycle = graph.find_cycle([t.task_id for t in dag.tasks], dag.edges)  # in task order: deterministic
    if cycle:
        first = dag.task(cycle[0])
        found.append(
            diag(
                "A2K202",
                f"dependency cycle: {' >> '.join(cycle)}",
                file=first.span.file,
                line=first.span.line,
                col=first.span.col,
                task_id=first.task_id,
                dag_id=dag.dag_id,
            )
        )
    return tuple(found)


def templated_fields(task: Task) -> tuple[str, ...]:
    """The task's arguments whose text holds a Jinja template (Airflow renders them, KFP does not)."""
    return tuple(
        sorted(
            key
            for key, value in task.args.values.items()
            if isinstance(value, str) and ("{{" in value or "{%" in value)
        )
    )


def _component_name(mapping: TaskMapping | None) -> str | None:
    if mapping is None or mapping.component is None:
        return None
    spec_name = (mapping.component.spec or {}).get("name")
    return str(spec_name) if spec_name else mapping.component.key.lower()


CONTROL_FLOW_CODES = ("A2K320", "A2K321")  # what a mapping says about behaviour differing from Airflow's


def _control_fields(plan: EmitPlan | None, task_id: str, mapping: TaskMapping | None) -> dict[str, Any]:
    control = plan.controls.get(task_id) if plan else None
    if plan is None or control is None:
        return {}
    differences = tuple(
        d.message for d in (mapping.diagnostics if mapping else ()) if d.code in CONTROL_FLOW_CODES
    )
    differences += control.semantics.differences
    return dict(
        depends=control.depends,
        conditions=tuple(f"{c.source}.{c.output} == true" for c in control.conditions),
        loops=tuple(py_literal(loop.over, {t: t for t in plan.kfp_names}) for loop in control.loops),
        semantics="differs" if differences else "exact",
        differences=differences,
    )


def rename_diagnostics(dag: Dag, kfp_names: Mapping[str, str]) -> tuple[Diagnostic, ...]:
    """Tasks whose KFP name is not just their id in KFP's alphabet: collisions, cuts, prefixes."""
    found = []
    for task_id, name in kfp_names.items():
        plain = re.sub(r"[^a-z0-9]+", "-", task_id.lower()).strip("-")
        if name == plain:
            continue
        if len(plain) > MAX_K8S_NAME:
            why = f"KFP task names are at most {MAX_K8S_NAME} characters"
        elif plain and plain[0].isalpha():
            why = f"{plain!r} is taken by another task or the pipeline itself"
        else:
            why = "KFP task names start with a letter"
        task = dag.task(task_id)
        found.append(
            diag(
                "A2K304",
                f"task {task_id!r} is named {name!r} in KFP: {why}",
                file=task.span.file,
                line=task.span.line,
                col=task.span.col,
                task_id=task_id,
                dag_id=dag.dag_id,
            )
        )
    return tuple(found)


def semantic_diagnostics(dag: Dag, plan: EmitPlan) -> tuple[Diagnostic, ...]:
    """Each way a task's control flow differs from Airflow's, as a diagnostic on that task."""
    found = []
    for task_id, control in plan.controls.items():
        task = dag.task(task_id)
        for difference in control.semantics.differences:
            code = "A2K305" if difference.startswith("trigger_rule") else "A2K320"
            found.append(
                diag(
                    code,
                    difference,
                    file=task.span.file,
                    line=task.span.line,
                    col=task.span.col,
                    task_id=task_id,
                    dag_id=dag.dag_id,
                )
            )
    return tuple(found)


def _task_records(
    dag: Dag,
    mappings: dict[str, TaskMapping],
    kfp_names: dict[str, str],
    after: dict[str, tuple[str, ...]],
    plan: EmitPlan | None = None,
) -> tuple[TaskRecord, ...]:
    upstream: dict[str, list[str]] = {}  # Dag.upstream's answers in one pass over the edges, not one per task
    for up, down in dag.edges:
        upstream.setdefault(down, []).append(up)
    records = []
    for task in dag.tasks:
        mapping = mappings.get(task.task_id)
        control = _control_fields(plan, task.task_id, mapping)
        fidelity = mapping.fidelity if mapping is not None else Fidelity.PLACEHOLDER
        if fidelity is Fidelity.DIRECT and control.get("semantics") == "differs":
            fidelity = Fidelity.APPROXIMATED  # the step runs, but not when or as Airflow would run it
        records.append(
            TaskRecord(
                task_id=task.task_id,
                kfp_name=kfp_names.get(task.task_id),
                operator=task.qualified_operator,
                mapping=fidelity,
                line=task.span.line,
                upstream=tuple(upstream.get(task.task_id, ())),
                after=after.get(task.task_id, ()),
                trigger_rule=plan.controls[task.task_id].rule
                if plan and task.task_id in plan.controls
                else task.trigger_rule,
                notes=mapping.notes if mapping is not None else (),
                col=task.span.col,
                retries=task.args.get("retries"),
                retry_delay=task.args.get("retry_delay"),
                execution_timeout=task.args.get("execution_timeout"),
                pool=task.args.get("pool"),
                templated_fields=templated_fields(task),
                component=_component_name(mapping),
                kfp_calls=mapping.task_calls if mapping is not None else (),
                group=task.group_id,
                **control,
            )
        )
    return tuple(records)


def airflow_ordering(dag: Dag, plan: EmitPlan) -> tuple[tuple[str, str], ...]:
    """The edges Airflow waits on: all of them, except into a task with trigger_rule always (Airflow
    starts it at once) when its step does not wait either."""
    free = {t for t, c in plan.controls.items() if c.rule == "always" and not c.after}
    return tuple(edge for edge in dag.edges if edge[1] not in free)


def convert_dag(
    dag: Dag,
    inherited: tuple[Diagnostic, ...],
    options: ConvertOptions,
    location: FileLocation | None = None,
) -> DagResult:
    """Map, emit, compile and self-check one DAG (read from the file at `location`); errors make it
    `failed` with no outputs."""
    diagnostics = inherited + structure_diagnostics(dag)
    # what every outcome shares, as a failure with no outputs; each outcome replaces what it has
    failed = DagResult(
        dag_id=dag.dag_id,
        source=dag.span.file,
        line=dag.span.line,
        status=Status.FAILED,
        pipeline_function=None,
        tasks=(),
        airflow_edges=dag.edges,
        kfp_edges=(),
        diagnostics=diagnostics,
        selfcheck=None,
        settings=dict(dag.settings),
        source_mode=dag.source_mode,
        edges_unproven=any(d.code == UNPROVEN_EDGES and d.severity is Severity.WARNING for d in inherited),
    )
    if _has_error(diagnostics):
        return replace(failed, tasks=_task_records(dag, {}, {}, {}))

    started = time.perf_counter()
    context = MappingContext(dag=dag, options=options.mapping, location=location)
    mappings = wire_outputs(dag, {task.task_id: map_task(task, context) for task in dag.tasks})
    mapped = time.perf_counter()
    diagnostics += tuple(d for m in mappings.values() for d in m.diagnostics)
    plan = build_plan(dag, mappings, file_stem=dag.dag_id, python_image=options.mapping.python_image)
    source = render(plan)
    after = {t.task_id: t.upstream for t in plan.tasks}
    diagnostics += semantic_diagnostics(dag, plan)
    diagnostics += machine_path_diagnostics(dag, location)
    diagnostics += rename_diagnostics(dag, plan.kfp_names)
    schedule = recurring_run(dag, plan.scheduled_values, plan.description)
    diagnostics += schedule.diagnostics
    records = _task_records(dag, mappings, dict(plan.kfp_names), after, plan)
    kfp_edges = tuple((plan.kfp_names[a], plan.kfp_names[b]) for a, b in plan.edges)
    emitted = time.perf_counter()
    seconds = {"map": mapped - started, "emit": emitted - mapped}
    partial = replace(
        failed,
        pipeline_function=plan.function_name,
        tasks=records,
        kfp_edges=kfp_edges,
        python_text=source,
        recurring=schedule.run,
        seconds=seconds,
        targets=options.targets,
    )
    if "v2" in options.targets:
        from airflow2kfp.target_v2 import convert_v2  # kfp 2 runs in a worker; imported only when asked for

        started_v2 = time.perf_counter()
        v2, v2_diagnostics = convert_v2(
            dag,
            plan,
            mappings,
            airflow_ordering(dag, plan),
            schedule.run,
            options.kfp2_python,
            options.mapping,
        )
        partial = replace(partial, v2=v2)
        diagnostics += v2_diagnostics
        emitted = time.perf_counter()
        seconds["v2"] = emitted - started_v2  # its own compile and self-check included

    if "v1" not in options.targets:
        # v2 alone: the v2 pipeline comes from v1's plan, not its compiled workflow; nothing of v1 is written
        status = Status.FAILED if _has_error(diagnostics) else Status.CONVERTED
        return replace(partial, status=status, diagnostics=diagnostics)
    with tempfile.TemporaryDirectory(prefix="airflow2kfp-compile-") as workdir:
        compiled = compile_source(source, "pipeline", Path(workdir))
    checking = time.perf_counter()
    seconds["compile"] = checking - emitted
    if compiled.yaml_text is None:
        failure = diag(
            "A2K401",
            f"the KFP compiler failed: {compiled.error}",
            file=dag.span.file,
            line=dag.span.line,
            dag_id=dag.dag_id,
        )
        return replace(partial, diagnostics=diagnostics + (failure,))

    workflow = load_workflow(compiled.yaml_text)  # once: the self-check and the report's facts
    # a mapped task group's loop waits for every upstream of its tasks: those orderings are intended
    verdict = check(
        compiled.yaml_text,
        [t.task_id for t in dag.tasks],
        airflow_ordering(dag, plan) + plan.loop_edges,
        plan.kfp_names,
        workflow,
        helpers=plan.helper_steps,
    )
    if not verdict.exact:
        diagnostics += (
            diag(
                "A2K501",
                f"ordering differs from Airflow: {verdict.summary()}",
                file=dag.span.file,
                line=dag.span.line,
                dag_id=dag.dag_id,
            ),
        )
    if verdict.problems:
        diagnostics += (
            diag(
                "A2K502",
                "; ".join(verdict.problems),
                file=dag.span.file,
                line=dag.span.line,
                dag_id=dag.dag_id,
            ),
        )
    status = Status.FAILED if _has_error(diagnostics) else Status.CONVERTED
    seconds["self-check"] = time.perf_counter() - checking
    return replace(
        partial,
        status=status,
        diagnostics=diagnostics,
        selfcheck=verdict,
        yaml_text=compiled.yaml_text,
        kfp_steps=step_settings(workflow),
        kfp_parameters=workflow_parameters(workflow),
    )


def convert_parsed(parsed: ParsedFile, options: ConvertOptions, read_seconds: float = 0.0) -> FileResult:
    dag_ids = {dag.dag_id for dag in parsed.dags}
    file_diagnostics = tuple(d for d in parsed.diagnostics if d.dag_id not in dag_ids)
    checked = [encodable_dag(dag) for dag in parsed.dags]  # a lone surrogate fails its DAG alone
    dags = tuple(
        convert_dag(
            dag,
            tuple(d for d in parsed.diagnostics if d.dag_id == dag.dag_id) + unencodable,
            options,
            parsed.location,
        )
        for dag, unencodable in checked
    )
    if parsed.not_a_dag_file and not dags:
        status = Status.SKIPPED
    elif _has_error(file_diagnostics) or any(d.status is Status.FAILED for d in dags) or not dags:
        status = Status.FAILED
    else:
        status = Status.CONVERTED
    seconds = {"read": read_seconds}
    for dag in dags:
        for stage, spent in dag.seconds.items():
            seconds[stage] = seconds.get(stage, 0.0) + spent
    return FileResult(parsed.path, status, file_diagnostics, dags, seconds=seconds)


def convert_file(path: Path, display_path: str, reader: Reader, options: ConvertOptions) -> FileResult:
    """Read and convert one DAG file. Never raises: an internal failure is an A2K402 diagnostic."""
    started = time.perf_counter()
    parsed = read_file(path, display_path, reader)
    if isinstance(parsed, FileResult):
        return parsed
    return convert_read(parsed, display_path, options, time.perf_counter() - started)


def read_file(path: Path, display_path: str, reader: Reader) -> ParsedFile | FileResult:
    """The first half of `convert_file`: the file read, or its failure. Never raises."""
    try:
        return reader(path, display_path)
    except Exception as error:  # noqa: BLE001 - a converter bug must not stop the batch
        return _internal_error(display_path, error)


def convert_read(
    parsed: ParsedFile, display_path: str, options: ConvertOptions, read_seconds: float
) -> FileResult:
    """The second half of `convert_file`: `convert_parsed`, never raising."""
    try:
        return convert_parsed(parsed, options, read_seconds)
    except Exception as error:  # noqa: BLE001 - a converter bug must not stop the batch
        return _internal_error(display_path, error)


def _internal_error(display_path: str, error: Exception) -> FileResult:
    where = traceback.extract_tb(error.__traceback__)[-1]
    message = (
        f"internal error: {type(error).__name__}: {error} (at {Path(where.filename).name}:{where.lineno})"
    )
    return FileResult(display_path, Status.FAILED, (diag("A2K402", message, file=display_path),))
