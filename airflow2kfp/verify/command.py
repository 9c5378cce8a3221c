"""`airflow2kfp verify SRC...`: convert, run both sides once, compare, record, report.

DESCRIPTION: Run each DAG once with Airflow and its converted pipeline locally, and compare them.

Every DAG found is converted as `convert` does (into --out, else a temporary folder; the same
settings, and by default the same `auto` reading, with the verifying Airflow as the reader), run once
with Airflow's `dag.test()` (one Airflow process per source folder, in a sandbox with a throwaway
database and a fixed logical date) and its compiled workflow run by the local Argo executor as a KFP
one-off run created at that logical date (so `[[CurrentTime...]]` parameters hold it), operator-fallback
steps with the same Airflow. The comparison of each DAG goes into conversion.json (`dags[].verify`,
`summary.verify`) and the DAG's report, with the last log lines of both sides for every task that
failed or differs. Exit 0 when nothing differs, 1 when a verifiable difference is found (or a run
failed), 2 for usage errors (no Airflow interpreter).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow2kfp.outputs import SUMMARY_FILE, OutputConflict, OutputFault, write_tree
from airflow2kfp.parse.airflow_import import find_airflow_python
from airflow2kfp.pipeline import ConvertOptions
from airflow2kfp.run import RunSettings, convert_all
from airflow2kfp.verify.airflow_run import AirflowRunOptions, AirflowRunResult, run_dags
from airflow2kfp.verify.argo_local import LocalOptions, run_workflow
from airflow2kfp.verify.compare import Comparison, TaskCheck, Verdict, compare
from airflow2kfp.verify.host_step import AirflowHost
from airflow2kfp.verify.v2_local import V2LocalOptions, run_ir

CONSOLE_LOG_LINES = 12  # of each side's log, for a task that differs
CONSOLE_LINE_CHARS = 240

DESCRIPTION = "Run each DAG once with Airflow and its converted pipeline locally, and compare them."


@dataclass(frozen=True)
class VerifyOptions:
    airflow_python: str | None = None
    dag_ids: tuple[str, ...] = ()  # empty: every DAG found
    conf: Mapping[str, Any] = field(default_factory=dict)
    task_timeout: float = 60.0
    run_timeout: float = 600.0
    convert: ConvertOptions = field(default_factory=ConvertOptions)
    mode: str = "auto"  # how the DAG files are read for the conversion, as `convert --mode`
    airflow_timeout: float = 5.0  # seconds Airflow may spend importing one file (auto/airflow mode)
    aggregate_json: bool = False  # the local Argo aggregates loop outputs as Argo 3.6+ does
    targets: tuple[str, ...] = ("v1",)  # which converted pipelines run: v1's Argo workflow, v2's IR
    sandbox: str = "auto"  # bubblewrap around the Airflow run: auto | require | off


@dataclass(frozen=True)
class VerifyResult:
    comparisons: tuple[Comparison, ...]
    summary_path: Path | None
    airflow_version: str | None

    @property
    def exit_code(self) -> int:
        return 1 if any(c.verdict in (Verdict.DIFFERENT, Verdict.ERROR) for c in self.comparisons) else 0


class UsageError(Exception):
    """verify cannot start: no Airflow interpreter."""


def _dag_folder(display_source: str, sources: Sequence[Path]) -> Path:
    """The folder Airflow reads a DAG file from: the named folder that holds it, else its own."""
    path = Path(display_source).resolve()
    for source in sources:
        if source.is_dir() and path.is_relative_to(source.resolve()):
            return source.resolve()
    return path.parent


def _airflow_runs(
    documents: list[Mapping[str, Any]], sources: Sequence[Path], python: str, options: VerifyOptions
) -> dict[str, tuple[AirflowRunResult, str]]:
    """One Airflow process per DAG folder; DAG id -> (that process's result, folder)."""
    folders: dict[Path, list[str]] = {}
    for dag in documents:
        folders.setdefault(_dag_folder(str(dag["source"]), sources), []).append(str(dag["dag_id"]))
    runs: dict[str, tuple[AirflowRunResult, str]] = {}
    run_options = AirflowRunOptions(
        task_timeout=options.task_timeout,
        run_timeout=options.run_timeout,
        conf=options.conf,
        sandbox=options.sandbox,
    )
    for folder, dag_ids in folders.items():
        result = run_dags(python, folder, dag_ids, run_options)
        for dag_id in dag_ids:
            runs[dag_id] = (result, str(folder))
    return runs


def verify(
    sources: Sequence[Path],
    out_dir: Path | None,
    options: VerifyOptions,
    on_dag: Callable[[Comparison], None] | None = None,
) -> VerifyResult:
    python = options.airflow_python or find_airflow_python()
    if python is None:
        raise UsageError("no Airflow interpreter: pass --airflow-python or set AIRFLOW2KFP_AIRFLOW_PYTHON")
    python = os.path.abspath(python)  # the sandboxes run in other folders; a venv's link is kept as it is
    with tempfile.TemporaryDirectory(prefix="airflow2kfp-verify-") as scratch:
        target = out_dir or Path(scratch)
        reading = RunSettings(
            mode=options.mode, airflow_python=python, airflow_timeout=options.airflow_timeout
        )
        targets = tuple(
            dict.fromkeys((*options.convert.targets, *options.targets))
        )  # what runs must be converted
        converted = convert_all(sources, target, replace(options.convert, targets=targets), settings=reading)
        document = json.loads(converted.summary_path.read_text(encoding="utf-8"))
        yaml_by_id = {d.dag_id: d.yaml_text for f in converted.files for d in f.dags}
        ir_by_id = {d.dag_id: d.v2.yaml_text for f in converted.files for d in f.dags if d.v2 is not None}
        wanted = [d for d in document["dags"] if not options.dag_ids or d["dag_id"] in options.dag_ids]
        runs = _airflow_runs(wanted, sources, python, options)
        comparisons = []
        version = None
        logical_date = AirflowRunOptions().logical_date
        for dag in wanted:
            airflow_result, folder = runs[str(dag["dag_id"])]
            version = version or airflow_result.airflow_version
            airflow = airflow_result.dags.get(str(dag["dag_id"]))
            parameters = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in options.conf.items()}
            airflow_error = airflow_result.error or (
                None
                if airflow and not airflow.error
                else ((airflow.error if airflow else None) or "Airflow did not run this DAG")
                + _import_error(airflow_result)
            )
            host = AirflowHost(python, airflow_result.airflow_version, folder)
            run_at = datetime.fromisoformat(logical_date)  # the one-off run starts at the logical date
            if "v1" in options.targets:
                yaml_text = yaml_by_id.get(str(dag["dag_id"]))
                local = LocalOptions(
                    task_timeout=options.task_timeout,
                    run_timeout=options.run_timeout,
                    parameters=parameters,
                    run_at=run_at,
                    aggregate_json=options.aggregate_json,
                    airflow=host,
                )
                kfp = run_workflow(yaml_text, local) if yaml_text else None
                comparison = compare(
                    dag, airflow, kfp, airflow_error, None if yaml_text else "the DAG did not convert"
                )
                comparisons.append(comparison)
                dag["verify"] = {
                    **comparison.to_json(),
                    "airflow_version": airflow_result.airflow_version,
                    "logical_date": logical_date,
                }
                if on_dag:
                    on_dag(comparison)
            if "v2" in options.targets:
                ir_text = ir_by_id.get(str(dag["dag_id"]))
                v2_options = V2LocalOptions(
                    task_timeout=options.task_timeout,
                    run_timeout=options.run_timeout,
                    parameters=dict(options.conf),
                    run_at=run_at,
                    airflow=host,
                    kfp2_python=options.convert.kfp2_python,
                )
                kfp = run_ir(ir_text, v2_options) if ir_text else None
                comparison = replace(
                    compare(
                        dag,
                        airflow,
                        kfp,
                        airflow_error,
                        None if ir_text else "the DAG did not convert to KFP v2",
                    ),
                    target="v2",
                )
                comparisons.append(comparison)
                if isinstance(dag.get("v2"), dict):
                    dag["v2"]["verify"] = {
                        **comparison.to_json(),
                        "airflow_version": airflow_result.airflow_version,
                        "logical_date": logical_date,
                    }
                if on_dag:
                    on_dag(comparison)
        for each in options.targets:  # summary.verify for v1 (as before), summary.verify_v2 for v2
            counted = [c for c in comparisons if c.target == each]
            key = "verify" if each == "v1" else f"verify_{each}"
            document["summary"][key] = {v.value: sum(c.verdict is v for c in counted) for v in Verdict}
        summary_path = None
        if out_dir is not None:
            summary_path = _write_json(out_dir, document)
    return VerifyResult(tuple(comparisons), summary_path, version)


def _import_error(result: AirflowRunResult) -> str:
    if not result.import_errors:
        return ""
    first = next(iter(result.import_errors.values())).strip().splitlines()
    return f": {first[-1] if first else 'import error'}"


def _write_json(out_dir: Path, document: Mapping[str, Any]) -> Path:
    """Rewrite conversion.json through the output manifest, so the next run still owns the file."""
    write_tree(out_dir, {SUMMARY_FILE: json.dumps(document, indent=2, ensure_ascii=False) + "\n"})
    return out_dir / SUMMARY_FILE


def describe(comparison: Comparison) -> list[str]:
    """Lines for the terminal: the verdict, then each difference or unverifiable task."""
    counts = (
        f"{len(comparison.tasks)} tasks, {comparison.orderings_checked} orderings, "
        f"{comparison.values_checked} values checked"
    )
    sides = f"Airflow {comparison.airflow_state}, KFP {comparison.kfp_phase}"
    name = (
        comparison.dag_id if comparison.target == "v1" else f"{comparison.dag_id} [KFP {comparison.target}]"
    )
    lines = [f"{comparison.verdict.value:>10}  {name}  ({sides}; {counts})"]
    if comparison.error:
        lines.append(f"            error: {comparison.error}")
    lines += [f"            {d.kind}: {d.message}" for d in comparison.differences]
    lines += [f"            not verifiable: {t}" for t in comparison.not_verifiable]
    for task in comparison.tasks:
        if task.same is False and (task.airflow_log or task.kfp_log):
            lines += _log_lines(task)
    return lines


def _log_lines(task: TaskCheck) -> list[str]:
    """The end of both sides' logs of a task that differs, indented under the verdict."""
    lines: list[str] = []
    for side, log in (("Airflow", task.airflow_log), ("KFP", task.kfp_log)):
        tail = log.splitlines()[-CONSOLE_LOG_LINES:]
        lines.append(
            f"            {task.task_id} ({side} log{', last lines' if tail else ': nothing written'})"
        )
        lines += [f"              | {line[:CONSOLE_LINE_CHARS]}" for line in tail]
    return lines


def main(
    sources: Sequence[Path],
    out_dir: Path | None,
    dag_ids: Sequence[str],
    conf: str,
    airflow_python: str | None,
    mode: str | None = None,
    aggregate_json: bool = False,
    targets: tuple[str, ...] = ("v1",),
    sandbox: str | None = None,
) -> int:
    """The `verify` command behind the CLI: exit 0 same, 1 a difference or a failed run, 2 usage."""
    import click

    from airflow2kfp.batch import convert_options
    from airflow2kfp.config import ConfigError, load_settings
    from airflow2kfp.report.render import render_reports

    try:  # the team's settings (images, fallback, reading mode) convert here as in `convert`
        settings = load_settings()
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        return 2

    try:
        parsed = json.loads(conf)
    except ValueError as error:
        click.echo(f"error: --conf is not JSON: {error}", err=True)
        return 2
    if not isinstance(parsed, dict):
        click.echo("error: --conf must be a JSON object", err=True)
        return 2
    options = VerifyOptions(
        airflow_python=airflow_python or settings.airflow_python,
        dag_ids=tuple(dag_ids),
        conf=parsed,
        convert=convert_options(settings),
        mode=mode or settings.mode,
        airflow_timeout=settings.airflow_timeout,
        aggregate_json=aggregate_json,
        targets=targets,
        sandbox=sandbox or settings.sandbox,
    )
    try:
        result = verify(list(sources), out_dir, options, on_dag=lambda c: click.echo("\n".join(describe(c))))
    except (UsageError, OutputConflict, OutputFault) as error:
        click.echo(f"error: {error}", err=True)
        return 2
    for each in targets:
        mine = [c for c in result.comparisons if c.target == each]
        totals = {v.value: sum(c.verdict is v for c in mine) for v in Verdict}
        against = "" if targets == ("v1",) else f" (KFP {each})"
        click.echo(
            f"\n{len(mine)} DAG(s) verified with Airflow {result.airflow_version}{against}: "
            + ", ".join(f"{n} {k}" for k, n in totals.items() if n)
        )
    if out_dir is not None and result.summary_path is not None:
        click.echo(f"Summary: {result.summary_path}")
        try:
            report = render_reports(out_dir)
        except (OutputConflict, OutputFault) as error:  # a user's file where a report goes; a full disk
            click.echo(f"error: {error}", err=True)
            return 2
        click.echo(f"Report: {report.index_html}")
    return result.exit_code
