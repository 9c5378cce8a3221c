"""Command line: `airflow2kfp convert SRC... --out DIR`, `check`, `report DIR`, `codes`, `families`.

`main(argv) -> int`: exit 0 clean, 1 findings (an error diagnostic or a failed DAG), 2 usage or
internal error, as ruff does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from converter import __version__
from converter.batch import Output, run_check, run_convert
from converter.config import FAIL_ON, MODES, SYNTAXES, ConfigError, Settings, load_settings, override
from converter.diagnostics import CODES, codes_markdown
from converter.mapping import FAMILIES
from converter.mapping.base import MappingOptions
from converter.parse.sandbox import SANDBOX_MODES, split_assignment
from converter.report.render import NoConversion, ReportResult, render_reports


def _echo_report(result: ReportResult) -> None:
    if result.layout_error:
        click.echo(f"warning: {result.layout_error}", err=True)
    click.echo(f"Report: {result.index_html}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="airflow2kfp")
def cli() -> None:
    """Convert Apache Airflow DAG files into Kubeflow Pipelines (KFP v1 SDK, Argo YAML)."""


def _run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options `convert` and `check` share; None means "not given", so the config file's value holds."""
    options = [
        click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path)),
        click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
                     help="Output folder: pipelines/, conversion.json."),
        click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Settings file (default: the nearest airflow2kfp.toml, or pyproject.toml "
                          "with [tool.airflow2kfp])."),
        click.option("--bash-image", help=f"Image for BashOperator steps [{MappingOptions.bash_image}]."),
        click.option("--utility-image",
                     help=f"Fallback image: no-op and placeholder steps [{MappingOptions.utility_image}]."),
        click.option("--python-image", help=f"Base image of Python steps [{MappingOptions.python_image}]."),
        click.option("--airflow-image",
                     help=f"Image that runs operators without a mapping [{MappingOptions.airflow_image}]."),
        click.option("--operator-fallback/--no-operator-fallback", default=None,
                     help="Run operators without a mapping in the Airflow image, or emit placeholders [on]."),
        click.option("--keep-empty/--drop-empty", default=None,
                     help="Keep EmptyOperator tasks as no-op steps."),
        click.option("--mode", type=click.Choice(MODES),
                     help="Read DAG files statically, by importing them with Airflow, or both [static]."),
        click.option("--airflow-python", metavar="PATH",
                     help="Airflow interpreter for --mode airflow/auto [$AIRFLOW2KFP_AIRFLOW_PYTHON]."),
        click.option("--airflow-timeout", type=click.FloatRange(min=0.1), metavar="SECONDS",
                     help="Time Airflow may spend importing one file [5]."),
        click.option("--sandbox", type=click.Choice(SANDBOX_MODES),
                     help="Import DAG files under bubblewrap: auto (warn when it cannot run), require, off "
                          "[auto]; see docs/sandbox.md."),
        click.option("--airflow-var", "airflow_var", multiple=True, metavar="NAME=VALUE",
                     help="A Variable DAG files read while they are imported (AIRFLOW_VAR_NAME; repeatable)."),
        click.option("--airflow-conn", "airflow_conn", multiple=True, metavar="NAME=URI",
                     help="A Connection DAG files read while they are imported (AIRFLOW_CONN_NAME; repeatable)."),
        click.option("--airflow-env-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="AIRFLOW_VAR_*/AIRFLOW_CONN_* lines (NAME=VALUE) handed to the imports."),
        click.option("--fail-on", type=click.Choice(FAIL_ON),
                     help="Lowest severity that makes the exit code 1 [error]."),
        click.option("--ignore", multiple=True, metavar="CODE",
                     help="Suppress a diagnostic code (repeatable)."),
        click.option("--include", multiple=True, metavar="GLOB",
                     help="Only files matching (gitignore syntax, repeatable)."),
        click.option("--exclude", multiple=True, metavar="GLOB",
                     help="Skip files matching (gitignore syntax, repeatable)."),
        click.option("--all-files/--dag-files", "all_files", default=None,
                     help="Read every .py file, not only those mentioning both 'dag' and 'airflow'."),
        click.option("--ignore-syntax", type=click.Choice(SYNTAXES),
                     help=".airflowignore syntax, as [core] DAG_IGNORE_FILE_SYNTAX [regexp]."),
        click.option("-j", "--jobs", type=click.IntRange(min=0),
                     help="Worker processes; 0 = one per core [0]."),
        click.option("--cache/--no-cache", "cache", default=None,
                     help="Reuse results of unchanged DAGs [on]."),
        click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Cache folder [the user cache folder, e.g. ~/.cache/airflow2kfp/<hash of OUT>]; safe to delete."),
        click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
                     show_default=True, help="json: print conversion.json to stdout (text goes to stderr)."),
        click.option("--sarif", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write SARIF 2.1.0 here."),
        click.option("--junit", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write JUnit XML here."),
        click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write a Markdown summary here."),
        click.option("-q", "--quiet", is_flag=True, help="Print only the diagnostics that fail the run."),
        click.option("-v", "--verbose", is_flag=True, help="Also print every file and info diagnostics."),
        click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
                     show_default=True, help="Colour output; NO_COLOR is honoured under auto."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _prepare(kwargs: dict[str, Any]) -> tuple[Settings, Output]:
    """Settings (config file, then flags) and output options from the shared command-line values."""
    output = Output(format=kwargs.pop("output_format"), quiet=kwargs.pop("quiet"),
                    verbose=kwargs.pop("verbose"), color=kwargs.pop("color"), sarif=kwargs.pop("sarif"),
                    junit=kwargs.pop("junit"), markdown=kwargs.pop("markdown"))
    settings = load_settings(kwargs.pop("config"))
    for key in ("ignore", "include", "exclude"):  # repeatable flags add to the file's lists
        extra = tuple(kwargs.pop(key))
        kwargs[key] = getattr(settings, key) + extra if extra else None
    for flag, key in (("airflow_var", "airflow_vars"), ("airflow_conn", "airflow_conns")):
        kwargs[key] = _assignments(flag, kwargs.pop(flag), getattr(settings, key))
    return override(settings, **kwargs), output


def _assignments(flag: str, given: tuple[str, ...], configured: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...] | None:
    """NAME=VALUE flags over the configuration file's table (a flag wins on the same name)."""
    if not given:
        return None
    merged = dict(configured)
    for text in given:
        try:
            name, value = split_assignment(text)
        except ValueError as error:
            raise ConfigError(f"--{flag.replace('_', '-')}: {error}") from error
        merged[name] = value
    return tuple(sorted(merged.items()))


@cli.command()
@_run_options
@click.option("--force", is_flag=True, help="Overwrite files in OUT that airflow2kfp did not write.")
@click.option("--prune", is_flag=True, help="Remove the outputs of DAGs that no longer exist.")
@click.option("--timings", is_flag=True, help="Print where the run spent its time, by phase and stage.")
def convert(sources: tuple[Path, ...], out_dir: Path, force: bool, prune: bool, timings: bool, **kwargs: Any) -> int:
    """Convert DAG files (or folders of them) into KFP pipelines under --out."""
    try:
        settings, output = _prepare(kwargs)
    except ConfigError as error:
        raise click.UsageError(str(error)) from error
    output = replace(output, timings=timings)
    return run_convert(sources, out_dir, settings, output, force=force, prune=prune)


@cli.command()
@_run_options
@click.option("--diff", is_flag=True, help="Show a unified diff for every stale file.")
def check(sources: tuple[Path, ...], out_dir: Path, diff: bool, **kwargs: Any) -> int:
    """Exit 1 if the files in --out are not what the DAG files convert to now (nothing is written)."""
    try:
        settings, output = _prepare(kwargs)
    except ConfigError as error:
        raise click.UsageError(str(error)) from error
    return run_check(sources, out_dir, settings, output, diff=diff)


@cli.command()
@click.argument("out_dir", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--source-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder the DAG paths in conversion.json are relative to (default: current folder).")
def report(out_dir: Path, source_root: Path | None) -> int:
    """Re-render the HTML and Markdown reports of an output folder from its conversion.json."""
    try:
        result = render_reports(out_dir, source_root)
    except NoConversion as error:
        click.echo(f"error: {error}", err=True)
        return 2
    _echo_report(result)
    return 0


@cli.command()
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (as in the README).")
def codes(markdown: bool) -> int:
    """List every diagnostic code with its meaning."""
    if markdown:
        click.echo(codes_markdown())
    else:
        for info in CODES.values():
            click.echo(f"{info.code}  {info.severity.value:<7}  {info.name:<28} {info.summary}")
    return 0


@cli.command(name="verify")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder: the conversion, with the comparison in conversion.json and the reports.")
@click.option("--dag-id", "dag_ids", multiple=True, help="Verify only this DAG (repeatable).")
@click.option("--conf", default="{}", help="The DAG run's conf, as JSON.")
@click.option("--airflow-python", default=None, help="The Airflow interpreter (default: $AIRFLOW2KFP_AIRFLOW_PYTHON).")
@click.option("--sandbox", type=click.Choice(SANDBOX_MODES), default="auto", show_default=True,
              help="Run Airflow under bubblewrap (docs/sandbox.md).")
def verify_command(sources: tuple[Path, ...], out_dir: Path | None, dag_ids: tuple[str, ...], conf: str,
                   airflow_python: str | None, sandbox: str) -> int:
    """Run each DAG once with Airflow and its converted pipeline locally, and compare them."""
    from converter.verify import command

    return command.main(sources, out_dir, dag_ids, conf, airflow_python, sandbox)


@cli.command()
def families() -> int:
    """List the operator families that have a mapping."""
    for family in FAMILIES:
        click.echo(f"{family.name:<10} {family.description}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name="airflow2kfp",
                          standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 2
    except click.ClickException as error:
        error.show()
        return 2
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
