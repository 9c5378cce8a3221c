"""The `convert` and `check` commands behind the CLI: settings in, exit code out.

Exit codes as ruff's: 0 clean, 1 findings at or above `fail-on` (or, for `check`, out-of-date
outputs), 2 a usage, configuration or output-safety problem, or an internal error.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from converter import check as freshness
from converter.cache import default_cache_dir
from converter.ci.junit import junit_xml
from converter.ci.markdown import markdown_summary
from converter.ci.sarif import sarif_text
from converter.config import ConfigError, Settings
from converter.console import Reporter, make_console, summary_lines
from converter.diagnostics import Severity, diag
from converter.discover import DiscoveryOptions
from converter.mapping.base import MappingOptions
from converter.outputs import OutputConflict, WriteResult, refuse_escaping_folders
from converter.parse.sandbox import airflow_environment
from converter.pipeline import ConvertOptions
from converter.report.render import INDEX_HTML, render_reports
from converter.report.views import REPORTS_DIR
from converter.results import FileResult, stage_seconds
from converter.run import (
    FAIL_ON_RANK,
    SUMMARY_FILE,
    RunSettings,
    collect,
    convert_all,
    default_jobs,
    exit_status,
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
        bash_image=settings.bash_image, utility_image=settings.utility_image, keep_empty=settings.keep_empty,
        python_image=settings.python_image, airflow_image=settings.airflow_image,
        operator_fallback=settings.operator_fallback,
    )
    return ConvertOptions(mapping=mapping, max_file_bytes=settings.max_file_size)


def run_settings(
    settings: Settings, out_dir: Path, *, force: bool = False, prune: bool = False, writes: bool = True
) -> RunSettings:
    discovery = DiscoveryOptions(
        settings.include, settings.exclude, settings.all_files, settings.ignore_syntax
    )  # type: ignore[arg-type]
    cache_dir = (settings.cache_dir or default_cache_dir(out_dir)) if settings.cache else None
    try:
        airflow_env = airflow_environment(settings.airflow_vars, settings.airflow_conns, settings.airflow_env_file)
    except ValueError as error:
        raise ConfigError(str(error)) from error
    return RunSettings(
        discovery=discovery,
        jobs=settings.jobs or default_jobs(),
        cache_dir=cache_dir,
        cache_writes=writes,
        ignore=settings.ignore,
        force=force,
        prune=prune,
        mode=settings.mode,
        airflow_python=settings.airflow_python,
        airflow_timeout=settings.airflow_timeout,
        sandbox=settings.sandbox,
        airflow_env=airflow_env,
    )


def _reporter(output: Output, fail_on: str) -> Reporter:
    stream = sys.stderr if output.format == "json" else sys.stdout
    fail_rank = FAIL_ON_RANK.get(fail_on, Severity.ERROR.rank + 1)
    return Reporter(
        make_console(output.color, stream), quiet=output.quiet, verbose=output.verbose, fail_rank=fail_rank
    )


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, delete=False, prefix=f".{path.name}.", suffix=".part"
    ) as handle:
        handle.write(text)
    os.replace(handle.name, path)


def _machine_outputs(files: Sequence[FileResult], output: Output, lines: list[str]) -> None:
    if output.sarif:
        _write_text(output.sarif, sarif_text(files))
    if output.junit:
        _write_text(output.junit, junit_xml(files))
    if output.markdown:
        _write_text(output.markdown, markdown_summary(files, lines))


def timing_lines(stages: dict[str, float], files: int, wall: dict[str, float]) -> list[str]:
    """`--timings`: the run's phases (wall clock, this process), then the conversion's stages (time
    in whichever process converted each file, summed: with -j N it adds up to about N x the wall)."""
    total = sum(stages.values())
    per_stage = ", ".join(f"{stage} {seconds:.2f}s ({seconds / total:.0%})" for stage, seconds in stages.items()
                          ) if total else "nothing converted"
    return [
        "timings (wall): " + ", ".join(f"{phase} {seconds:.2f}s" for phase, seconds in wall.items()),
        f"timings (converting {files} file(s), summed over workers): {per_stage}",
    ]


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
    except ConfigError as error:
        reporter.console.print(f"error: {error}")
        return EXIT_ERROR
    except Exception as error:  # noqa: BLE001 - an internal error must still exit 2, like ruff
        reporter.console.print(f"internal error: {type(error).__name__}: {error}")
        reporter.console.print("".join(traceback.format_exception(error)[-3:]), style="dim")
        return EXIT_ERROR


def _reports(out_dir: Path, writes: WriteResult, reporter: Reporter, cache_dir: Path | None, jobs: int) -> Path:
    """Render the HTML/Markdown reports, unless nothing they are made from changed (a cached re-run)."""
    index = out_dir / INDEX_HTML
    if writes.written or writes.removed or not index.is_file():
        rendered = render_reports(out_dir, memo_dir=cache_dir / "layout" if cache_dir else None, jobs=jobs)
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
        options = convert_options(settings)
        with reporter.progress():
            runs = run_settings(settings, out_dir, force=force, prune=prune)
            # a symbolic link in OUT (say, committed with the outputs) must not lead writes outside
            refuse_escaping_folders(out_dir, [REPORTS_DIR] if out_dir.exists() else [])
            result = convert_all(
                sources, out_dir, options, on_file=reporter.file_done, settings=runs, on_start=reporter.start
            )
        reporter.notices(result.notices)
        status = exit_status(result, settings.fail_on)
        lines = summary_lines(result.files, result.cached)
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
        _machine_outputs(result.files, output, lines)
        if output.format == "json":
            sys.stdout.write(result.summary_path.read_text(encoding="utf-8"))
        for line in lines:
            reporter.line(line)
        started = time.perf_counter()
        reporter.line(f"Report: {_reports(out_dir, writes, reporter, runs.cache_dir, runs.jobs)}")
        if output.timings:
            converted = [f for f in result.files if f.seconds]  # cached files took no time this run
            wall = {**result.wall, "reports": time.perf_counter() - started}
            for line in timing_lines(stage_seconds(converted), len(converted), wall):
                reporter.console.print(line, markup=False, highlight=False)
        return status

    return _guarded(reporter, body)


def run_check(
    sources: Sequence[Path], out_dir: Path, settings: Settings, output: Output, *, diff: bool = False
) -> int:
    reporter = _reporter(output, settings.fail_on)

    def body() -> int:
        options = convert_options(settings)
        runs = run_settings(settings, out_dir, writes=False)  # check writes nothing, anywhere
        with reporter.progress():
            collected = collect(sources, options, None, runs, reporter.start, reporter.file_done)
        reporter.notices(collected.notices)
        outputs = plan(collected.files)
        findings = freshness.compare(out_dir, outputs.contents)
        _machine_outputs(collected.files, output, summary_lines(collected.files, collected.cached))
        if output.format == "json":
            sys.stdout.write(outputs.contents[SUMMARY_FILE])
        for finding in findings:
            reporter.error(finding.diagnostic(out_dir))
            if diff and finding.diff:
                reporter.console.print(finding.diff, markup=False, highlight=False, end="")
        if findings:
            reporter.console.print(
                f"{len(findings)} file(s) in {out_dir} are not up to date with the DAGs; "
                f"run `airflow2kfp convert` and commit the result"
            )
            return EXIT_FINDINGS
        reporter.line(f"{len(outputs.contents)} file(s) in {out_dir} are up to date.")
        return EXIT_CLEAN

    return _guarded(reporter, body)
