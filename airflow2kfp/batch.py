"""The `convert` and `check` commands behind the CLI: settings in, exit code out.

Exit codes as ruff's: 0 clean, 1 findings at or above `fail-on` (or, for `check`, out-of-date
outputs), 2 a usage, configuration or output-safety problem, or an internal error.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from airflow2kfp import check as freshness
from airflow2kfp.cache import default_cache_dir
from airflow2kfp.ci import files as report_files
from airflow2kfp.ci.junit import junit_xml
from airflow2kfp.ci.markdown import markdown_summary
from airflow2kfp.ci.sarif import sarif_text
from airflow2kfp.config import ConfigError, Settings, check_airflow_python, check_kfp2_python
from airflow2kfp.console import Reporter, make_console, summary_lines
from airflow2kfp.diagnostics import Severity, diag
from airflow2kfp.discover import DiscoveryOptions
from airflow2kfp.mapping.base import MappingOptions
from airflow2kfp.outputs import (
    OutputConflict,
    OutputFault,
    WriteResult,
    fault,
    locked,
    read_manifest,
    refuse_escaping_folders,
)
from airflow2kfp.parse.sandbox import airflow_environment
from airflow2kfp.pipeline import ConvertOptions
from airflow2kfp.report.render import INDEX_HTML, render_reports
from airflow2kfp.report.views import REPORTS_DIR
from airflow2kfp.results import FileResult, stage_seconds
from airflow2kfp.run import (
    FAIL_ON_RANK,
    SUMMARY_FILE,
    RunSettings,
    collect,
    convert_all,
    default_jobs,
    exit_status,
    findings_status,
    plan,
)

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


@dataclass(frozen=True)
class Output:
    """How results are shown and which machine files are written."""

    format: str = "text"  # "json": conversion.json on stdout, the human text on stderr
    quiet: bool = False
    verbose: bool = False
    color: str = "auto"
    sarif: Path | None = None
    junit: Path | None = None
    markdown: Path | None = None
    timings: bool = False  # print where the run spent its time


def convert_options(settings: Settings) -> ConvertOptions:
    mapping = MappingOptions(
        bash_image=settings.bash_image,
        utility_image=settings.utility_image,
        keep_empty=settings.keep_empty,
        python_image=settings.python_image,
        airflow_image=settings.airflow_image,
        operator_fallback=settings.operator_fallback,
        tool_images=tuple(settings.tool_images.items()),
    )
    return ConvertOptions(
        mapping=mapping,
        max_file_bytes=settings.max_file_size,
        targets=settings.target,
        kfp2_python=settings.kfp2_python,
    )


def run_settings(
    settings: Settings, out_dir: Path, *, force: bool = False, prune: bool = False, writes: bool = True
) -> RunSettings:
    discovery = DiscoveryOptions(
        settings.include, settings.exclude, settings.all_files, settings.ignore_syntax
    )  # type: ignore[arg-type]
    cache_dir = (settings.cache_dir or default_cache_dir(out_dir)) if settings.cache else None
    try:
        airflow_env = airflow_environment(
            sorted(settings.airflow_vars.items()),
            sorted(settings.airflow_conns.items()),
            settings.airflow_env_file,
        )
    except ValueError as error:
        raise ConfigError(str(error)) from error
    return RunSettings(
        discovery=discovery,
        jobs=settings.jobs or default_jobs(),
        cache_dir=cache_dir,
        cache_writes=writes,
        reports=writes,  # convert renders reports after writing: their names are checked first
        ignore=settings.ignore,
        force=force,
        prune=prune,
        mode=settings.mode,
        airflow_python=settings.airflow_python,
        airflow_timeout=settings.airflow_timeout,
        owned=settings.owned,
        sandbox=settings.sandbox,
        airflow_env=airflow_env,
    )


def _reporter(output: Output, fail_on: str) -> Reporter:
    stream = sys.stderr if output.format == "json" else sys.stdout
    fail_rank = FAIL_ON_RANK.get(fail_on, Severity.ERROR.rank + 1)
    return Reporter(
        make_console(output.color, stream), quiet=output.quiet, verbose=output.verbose, fail_rank=fail_rank
    )


def _machine_targets(output: Output) -> dict[str, Path]:
    """The `--sarif/--junit/--markdown` files, checked before any work (airflow2kfp.ci.files)."""
    given = {"--sarif": output.sarif, "--junit": output.junit, "--markdown": output.markdown}
    return {option: report_files.target(option, path) for option, path in given.items() if path is not None}


def _machine_outputs(
    files: Sequence[FileResult], targets: dict[str, Path], lines: list[str], sarif_level: str = "warning"
) -> None:
    texts = {
        "--sarif": lambda: sarif_text(files, sarif_level),
        "--junit": lambda: junit_xml(files),
        "--markdown": lambda: markdown_summary(files, lines),
    }
    for option, path in targets.items():
        report_files.write(option, path, texts[option]())


def _check_out_dir(out_dir: Path) -> None:
    if os.path.lexists(out_dir) and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir}: not a folder")


def timing_lines(stages: dict[str, float], files: int, wall: dict[str, float]) -> list[str]:
    """`--timings`: the run's phases (wall clock, this process), then the conversion's stages (time
    in whichever process converted each file, summed: with -j N it adds up to about N x the wall)."""
    from airflow2kfp.run import IMPORT_TIMINGS

    total = sum(stages.values())
    per_stage = (
        ", ".join(f"{stage} {seconds:.2f}s ({seconds / total:.0%})" for stage, seconds in stages.items())
        if total
        else "nothing converted"
    )
    imports = {k.removeprefix(IMPORT_TIMINGS): v for k, v in wall.items() if k.startswith(IMPORT_TIMINGS)}
    lines = [
        "timings (wall): "
        + ", ".join(
            f"{phase} {seconds:.2f}s"
            for phase, seconds in wall.items()
            if not phase.startswith(IMPORT_TIMINGS)
        ),
        f"timings (converting {files} file(s), summed over workers): {per_stage}",
    ]
    if imports:  # the Airflow import runs beside the conversions, within `convert`
        lines.append(
            "timings (Airflow import, overlapping convert): "
            + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in imports.items())
        )
    return lines


def _guarded(reporter: Reporter, body: Callable[[], int]) -> int:
    """Turns expected run-level failures into exit 2 with a clear message; a bug too, with its trace."""
    try:
        return body()
    except OutputConflict as conflict:
        for c in conflict.conflicts:
            reporter.error(diag("A2K701", f"refusing to overwrite {c.path}: {c.reason}", file=c.path))
        reporter.console.print(
            f"nothing was written: {len(conflict.conflicts)} conflicting file(s); "
            "pass --force to overwrite them"
        )
        return EXIT_ERROR
    except OutputFault as error:
        reporter.error(error.diagnostic())
        return EXIT_ERROR
    except ConfigError as error:
        reporter.console.print(f"error: {error}", markup=False, highlight=False)
        return EXIT_ERROR
    except Exception as error:  # noqa: BLE001 - an internal error must still exit 2, like ruff
        reporter.console.print(f"internal error: {type(error).__name__}: {error}")
        reporter.console.print("".join(traceback.format_exception(error)[-3:]), style="dim")
        return EXIT_ERROR


def _reports(
    out_dir: Path, writes: WriteResult, reporter: Reporter, cache_dir: Path | None, jobs: int, force: bool
) -> Path:
    """Render the HTML/Markdown reports, unless nothing they are made from changed (a cached re-run)
    and the last render finished."""
    index = out_dir / INDEX_HTML
    if writes.written or writes.removed or not index.is_file() or read_manifest(out_dir).reports_pending:
        rendered = render_reports(
            out_dir, memo_dir=cache_dir / "layout" if cache_dir else None, jobs=jobs, force=force
        )
        if rendered.layout_error:
            reporter.line(f"warning: {rendered.layout_error}")
        index = rendered.index_html
    return index


def run_convert(
    sources: Sequence[Path],
    out_dir: Path,
    settings: Settings,
    output: Output,
    *,
    force: bool = False,
    prune: bool = False,
) -> int:
    reporter = _reporter(output, settings.fail_on)

    def body() -> int:
        # everything that can be refused is refused before any work, and before OUT is touched
        check_airflow_python(settings)
        check_kfp2_python(settings)
        _check_out_dir(out_dir)
        targets = _machine_targets(output)
        options = convert_options(settings)
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise fault(error, "cannot create the output folder", out_dir) from None
        with locked(out_dir):  # one run per OUT at a time, from reading the old outputs to the reports
            return convert_locked(options, targets)

    def convert_locked(options: ConvertOptions, targets: dict[str, Path]) -> int:
        with reporter.progress():
            runs = run_settings(settings, out_dir, force=force, prune=prune)
            # a symbolic link in OUT (say, committed with the outputs) must not lead writes outside
            refuse_escaping_folders(out_dir, [REPORTS_DIR])
            result = convert_all(
                sources, out_dir, options, on_file=reporter.file_done, settings=runs, on_start=reporter.start
            )
        reporter.notices(result.notices)
        # said once OUT was read (after the files' own findings were printed): owned and edited DAGs
        reporter.notices(
            tuple(
                d
                for f in result.files
                for dag in f.dags
                for d in dag.diagnostics
                if d.code in ("A2K701", "A2K722")
            )
        )
        status = exit_status(result, settings.fail_on)
        lines = [
            *summary_lines(result.files, result.cached),
            result.reading.describe(),
            *held_lines(result.files),
        ]
        writes = result.writes
        lines.append(
            f"outputs: {len(writes.written)} written, {len(writes.unchanged)} unchanged, "
            f"{len(writes.removed)} pruned"
            + (
                f", {len(writes.orphaned)} of vanished DAGs kept (--prune removes them)"
                if writes.orphaned
                else ""
            )
        )
        _machine_outputs(result.files, targets, lines, settings.sarif_level)
        if output.format == "json":
            sys.stdout.write(result.summary_path.read_text(encoding="utf-8"))
        for line in lines:
            reporter.line(line)
        started = time.perf_counter()
        reporter.line(f"Report: {_reports(out_dir, writes, reporter, runs.cache_dir, runs.jobs, force)}")
        if output.timings:
            converted = [f for f in result.files if f.seconds]  # cached files took no time this run
            wall = {**result.wall, "reports": time.perf_counter() - started}
            for line in timing_lines(stage_seconds(converted), len(converted), wall):
                reporter.console.print(line, markup=False, highlight=False)
        return status

    return _guarded(reporter, body)


def held_lines(files: Sequence[FileResult]) -> list[str]:
    """The console's word on the DAGs whose files a run left alone: owned, or edited (A2K701)."""
    owned = sorted(d.dag_id for f in files for d in f.dags if d.owned)
    edited = sorted(
        d.dag_id
        for f in files
        for d in f.dags
        if not d.owned and any(x.code == "A2K701" for x in d.diagnostics)
    )
    lines = []
    if owned:
        lines.append(f"owned: {len(owned)} DAG(s), their files left as they are: {', '.join(owned)}")
    if edited:
        lines.append(
            f"not written: {len(edited)} DAG(s) whose files were edited (A2K701; own them with "
            f"`# airflow2kfp: owned`, or --force): {', '.join(edited)}"
        )
    return lines


def run_check(
    sources: Sequence[Path], out_dir: Path, settings: Settings, output: Output, *, diff: bool = False
) -> int:
    """Exit 1 when OUT is not what the DAGs convert to now (stale, missing, orphaned or edited
    files; outputs made in another reading mode), or when the conversion's findings reach
    `--fail-on` exactly as `convert`'s would; 0 otherwise; 2 for usage and internal errors."""
    reporter = _reporter(output, settings.fail_on)

    def body() -> int:
        check_airflow_python(settings)
        check_kfp2_python(settings)
        _check_out_dir(out_dir)
        targets = _machine_targets(output)
        options = convert_options(settings)
        runs = run_settings(settings, out_dir, writes=False)  # check writes nothing, anywhere
        with reporter.progress():
            collected = collect(sources, options, None, runs, reporter.start, reporter.file_done)
        reporter.notices(collected.notices)
        reading = collected.reading
        with locked(out_dir, shared=True):  # not while a convert is replacing the files
            made = freshness.made_reading(out_dir)
            if made is not None and made["effective"] != reading.effective:
                outputs = plan(collected.files, reading)
                why = "no Airflow interpreter found" if reading.mode != reading.effective else ""
                findings = [freshness.mode_finding(made, reading.mode, reading.effective, why)]
            else:
                # the mode asked for is recorded, but files made the same way are not stale for it
                recorded = replace(reading, mode=made["mode"]) if made is not None else reading
                outputs = plan(collected.files, recorded, out_dir, settings.owned)
                findings = freshness.compare(out_dir, outputs.contents, outputs.holds.paths)
                findings += [
                    freshness.Finding(relative, "edited")
                    for conflicts in outputs.holds.edited.values()
                    for relative, _ in conflicts
                ]
        files = outputs.files or collected.files
        status = findings_status(files, collected.notices, settings.fail_on)
        lines = [*summary_lines(files, collected.cached), reading.describe(), *held_lines(files)]
        _machine_outputs(files, targets, lines, settings.sarif_level)
        if output.format == "json":
            sys.stdout.write(outputs.contents[SUMMARY_FILE])
        for line in lines:
            reporter.line(line)
        for finding in sorted(findings, key=lambda f: f.path):
            reporter.error(finding.diagnostic(out_dir))
            if diff and finding.diff:
                reporter.console.print(finding.diff, markup=False, highlight=False, end="")
        if findings:
            reporter.console.print(
                f"{len(findings)} file(s) in {out_dir} are not up to date with the DAGs; "
                f"run `airflow2kfp convert` and commit the result"
                if all(f.kind != "mode" for f in findings)
                else f"the outputs in {out_dir} were not compared: they were made in another reading mode"
            )
            return EXIT_FINDINGS
        reporter.line(f"{len(outputs.contents)} file(s) in {out_dir} are up to date.")
        if status:
            reporter.console.print(f"findings at or above --fail-on {settings.fail_on}: exit 1")
        return status

    return _guarded(reporter, body)
