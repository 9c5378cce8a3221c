"""Command line: `airflow2kfp convert SRC... --out DIR`, `check`, `report DIR`, `verify`, `upload`,
`codes`, `families`.

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

from airflow2kfp import __version__
from airflow2kfp.batch import Output, run_check, run_convert
from airflow2kfp.config import ConfigError, Settings, load_settings, override
from airflow2kfp.diagnostics import CODES, codes_markdown, diag
from airflow2kfp.mapping import FAMILIES
from airflow2kfp.outputs import OutputConflict, OutputFault
from airflow2kfp.report.render import NoConversion, ReportResult, render_reports
from airflow2kfp.settings import (
    OPTIONS,
    SettingError,
    check_interpreter,
    check_seconds,
    flag_of,
    key_of,
    parse_targets,
    shown_default,
    split_pair,
)


def _echo_report(result: ReportResult) -> None:
    if result.layout_error:
        click.echo(f"warning: {result.layout_error}", err=True)
    for note in result.unread:
        click.echo(f"warning: {note}", err=True)
    click.echo(f"Report: {result.index_html}")


class _Path(click.Path):
    """click.Path that refuses an empty value: `--out ''` would otherwise mean the current folder."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value:
            self.fail("must not be empty", param, ctx)
        return super().convert(value, param, ctx)


class _Seconds(click.ParamType):
    """A finite timeout in seconds within the configured bounds (nan, inf and 1e309 are not)."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        problem = check_seconds(seconds)
        if problem:
            self.fail(f"{value!r}: {problem}", param, ctx)
        return seconds


class _Interpreter(click.ParamType):
    """An existing executable file, kept as the string given (a missing one is never replaced by
    another interpreter)."""

    name = "path"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        problem = "must not be empty" if not value else check_interpreter(str(value))
        if problem:
            self.fail(f"{value!r}: {problem}", param, ctx)
        return str(value)


class _Pair(click.ParamType):
    """NAME=VALUE, as a (name, value) pair."""

    name = "pair"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        pair = split_pair(str(value))
        if pair is None:
            self.fail(f"{value!r} is not NAME=VALUE", param, ctx)
        return pair


class _Targets(click.ParamType):
    """v1, v2 or v1,v2, as a tuple of targets."""

    name = "targets"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        try:
            return parse_targets(str(value))
        except SettingError as error:
            self.fail(str(error).removeprefix("target "), param, ctx)


def _click_type(name: str) -> Any:
    spec = OPTIONS[name]
    if spec.choices:
        return click.Choice(spec.choices)
    return {
        "int": click.INT,
        "seconds": _Seconds(),
        "interpreter": _Interpreter(),
        "path": _Path(file_okay=False, path_type=Path),
        "table": _Pair(),
        "targets": _Targets(),
        "file": _Path(exists=True, dir_okay=False, path_type=Path),
    }.get(spec.kind)


def setting_option(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The click option of the setting `name`, from the settings model (airflow2kfp.settings). Its
    value is None (or empty) when not given, so the settings file's value holds."""
    spec = OPTIONS[name]
    flag = flag_of(name)
    shown = shown_default(name)
    help_text = spec.help + (f" [{shown}]" if shown is not None else "")
    if spec.kind == "flag":
        decls = [name, f"{flag}/{spec.negative or '--no-' + key_of(name)}"]
        return click.option(*decls, default=None, help=help_text)
    decls = [name, *([spec.short] if spec.short else []), flag]
    return click.option(
        *decls,
        type=_click_type(name),
        multiple=spec.repeatable,
        metavar=spec.metavar,
        default=None,
        help=help_text,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="airflow2kfp")
def cli() -> None:
    """Convert Apache Airflow DAG files into Kubeflow Pipelines (KFP v1 SDK, Argo YAML)."""


def _run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options `convert` and `check` share; None means "not given", so the config file's value holds."""
    options = [
        click.argument("sources", nargs=-1, required=True, type=_Path(exists=True, path_type=Path)),
        click.option(
            "--out",
            "out_dir",
            required=True,
            type=_Path(file_okay=False, path_type=Path),
            help="Output folder: pipelines/, conversion.json.",
        ),
        click.option(
            "--config",
            type=_Path(exists=True, dir_okay=False, path_type=Path),
            help="Settings file (default: the nearest airflow2kfp.toml, or pyproject.toml "
            "with [tool.airflow2kfp]).",
        ),
        *(setting_option(name) for name in OPTIONS),
        click.option(
            "--format",
            "output_format",
            type=click.Choice(["text", "json"]),
            default="text",
            show_default=True,
            help="json: print conversion.json to stdout (text goes to stderr).",
        ),
        click.option("--sarif", type=_Path(dir_okay=False, path_type=Path), help="Write SARIF 2.1.0 here."),
        click.option("--junit", type=_Path(dir_okay=False, path_type=Path), help="Write JUnit XML here."),
        click.option(
            "--markdown", type=_Path(dir_okay=False, path_type=Path), help="Write a Markdown summary here."
        ),
        click.option("-q", "--quiet", is_flag=True, help="Print only the diagnostics that fail the run."),
        click.option("-v", "--verbose", is_flag=True, help="Also print every file and info diagnostics."),
        click.option(
            "--color",
            type=click.Choice(["auto", "always", "never"]),
            default="auto",
            show_default=True,
            help="Colour output; NO_COLOR is honoured under auto.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _prepare(kwargs: dict[str, Any]) -> tuple[Settings, Output]:
    """Settings (config file, then flags) and output options from the shared command-line values."""
    output = Output(
        format=kwargs.pop("output_format"),
        quiet=kwargs.pop("quiet"),
        verbose=kwargs.pop("verbose"),
        color=kwargs.pop("color"),
        sarif=kwargs.pop("sarif"),
        junit=kwargs.pop("junit"),
        markdown=kwargs.pop("markdown"),
    )
    settings = load_settings(kwargs.pop("config"))
    return override(settings, **kwargs), output


@cli.command()
@_run_options
@click.option("--force", is_flag=True, help="Overwrite files in OUT that airflow2kfp did not write.")
@click.option("--prune", is_flag=True, help="Remove the outputs of DAGs that no longer exist.")
@click.option("--timings", is_flag=True, help="Print where the run spent its time, by phase and stage.")
def convert(
    sources: tuple[Path, ...], out_dir: Path, force: bool, prune: bool, timings: bool, **kwargs: Any
) -> int:
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
@click.argument("out_dir", metavar="DIR", type=_Path(file_okay=False, path_type=Path))
@click.option(
    "--source-root",
    type=_Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder the DAG paths in conversion.json are relative to (default: current folder).",
)
@click.option("--force", is_flag=True, help="Overwrite report files in DIR that airflow2kfp did not write.")
def report(out_dir: Path, source_root: Path | None, force: bool) -> int:
    """Re-render the HTML and Markdown reports of an output folder from its conversion.json.

    Only files that conversion.json's own run wrote in DIR (as its manifest records) are read."""
    try:
        result = render_reports(out_dir, source_root, force=force)
    except NoConversion as error:
        click.echo(f"error: {error}", err=True)
        return 2
    except OutputConflict as conflict:
        for c in conflict.conflicts:
            click.echo(
                diag("A2K701", f"refusing to overwrite {c.path}: {c.reason}", file=c.path).render(), err=True
            )
        click.echo(
            f"nothing was written: {len(conflict.conflicts)} conflicting file(s); "
            "pass --force to overwrite them",
            err=True,
        )
        return 2
    except OutputFault as error:
        click.echo(error.diagnostic().render(), err=True)
        return 2
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # a conversion.json of another shape
        click.echo(
            f"error: {out_dir / 'conversion.json'} cannot be rendered, it is not as airflow2kfp "
            f"writes it ({type(error).__name__}: {error})",
            err=True,
        )
        return 2
    _echo_report(result)
    return 0


@cli.command()
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (as in docs/codes.md).")
def codes(markdown: bool) -> int:
    """List every diagnostic code with its meaning."""
    if markdown:
        click.echo(codes_markdown())
    else:
        for info in CODES.values():
            click.echo(f"{info.code}  {info.severity.value:<7}  {info.name:<28} {info.summary}")
    return 0


@cli.command(name="verify")
@click.argument("sources", nargs=-1, required=True, type=_Path(exists=True, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=_Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder: the conversion, with the comparison in conversion.json and the reports.",
)
@click.option("--dag-id", "dag_ids", multiple=True, help="Verify only this DAG (repeatable).")
@click.option("--conf", default="{}", help="The DAG run's conf, as JSON.")
@setting_option("airflow_python")
@setting_option("mode")
@setting_option("sandbox")
@click.option(
    "--loop-outputs",
    type=click.Choice(["strings", "json"]),
    default="strings",
    show_default=True,
    help="How Argo aggregates a loop's outputs: a list of strings (Argo < 3.6, KFP 1.8's), or JSON "
    "values when all are objects or arrays (Argo 3.6+).",
)
@click.option(
    "--target",
    "target",
    metavar="v1|v2|v1,v2",
    type=_Targets(),
    help="Which converted pipeline runs: v1 (the Argo workflow, by a local Argo executor), v2 (the "
    "pipeline IR, by kfp.local with KFP's backend's rules), or both [v1].",
)
def verify_command(
    sources: tuple[Path, ...],
    out_dir: Path | None,
    dag_ids: tuple[str, ...],
    conf: str,
    airflow_python: str | None,
    mode: str | None,
    sandbox: str | None,
    loop_outputs: str,
    target: tuple[str, ...] | None,
) -> int:
    """Run each DAG once with Airflow and its converted pipeline locally, and compare them."""
    from airflow2kfp.verify import command

    return command.main(
        sources,
        out_dir,
        dag_ids,
        conf,
        airflow_python,
        mode,
        loop_outputs == "json",
        target or ("v1",),
        sandbox,
    )


@cli.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--host",
    envvar="KF_PIPELINES_ENDPOINT",
    show_envvar=True,
    help="The KFP API endpoint, e.g. http://localhost:8080 (kfp.Client's host).",
)
@click.option(
    "--experiment", default="airflow2kfp", show_default=True, help="Experiment of the recurring runs."
)
@click.option("--namespace", help="Kubernetes namespace (multi-user KFP).")
@click.option("--dry-run", is_flag=True, help="Print the calls that would change the cluster; contact none.")
def upload(path: Path, host: str | None, experiment: str, namespace: str | None, dry_run: bool) -> int:
    """Upload converted pipelines (an output folder, or one compiled YAML in one) and their recurring
    runs to KFP; idempotent: run it again and nothing is duplicated."""
    from airflow2kfp import upload as uploading

    if not dry_run and not host:
        raise click.UsageError("--host (or $KF_PIPELINES_ENDPOINT) is required unless --dry-run is given")
    try:
        uploads, refused = uploading.find_uploads(path)
    except uploading.UploadError as error:
        raise click.UsageError(str(error)) from None
    for dag_id in refused:
        click.echo(f"{dag_id}: not uploaded: its conversion failed", err=True)
    try:
        client = uploading.DryRun(click.echo) if dry_run else uploading.kfp_client(host or "", namespace)
        uploader = uploading.Uploader(client, experiment, namespace, click.echo)
        for item in uploads:
            uploader.upload(item)
    except Exception as error:  # noqa: BLE001 - the API's errors (ApiException, connection): say which, stop
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        click.echo(f"error: {type(error).__name__}: {message}", err=True)
        return 1
    return 1 if refused else 0


@cli.command()
def families() -> int:
    """List the operator families that have a mapping."""
    for family in FAMILIES:
        click.echo(f"{family.name:<10} {family.description}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name="airflow2kfp", standalone_mode=False
        )
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 2
    except click.ClickException as error:
        error.show()
        return 2
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
