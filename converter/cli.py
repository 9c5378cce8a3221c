"""Command line: `airflow2kfp convert SRC... --out DIR`, `report DIR`, `codes`, `families`.

`main(argv) -> int`: exit 0 clean, 1 findings (an error diagnostic or a failed DAG), 2 usage or
internal error, as ruff does.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from converter import __version__
from converter.diagnostics import CODES, codes_markdown
from converter.mapping import FAMILIES
from converter.mapping.base import MappingOptions
from converter.pipeline import ConvertOptions, FileResult, Status
from converter.report.render import NoConversion, ReportResult, render_reports
from converter.run import convert_all, exit_status


def _echo_file(result: FileResult, verbose: bool) -> None:
    dags = ", ".join(f"{d.dag_id} [{d.status.value}]" for d in result.dags) or "no DAG"
    if result.status is not Status.SKIPPED or verbose:
        click.echo(f"{result.status.value:>9}  {result.path}  ({dags})")
    diagnostics = [*result.diagnostics, *(d for dag in result.dags for d in dag.diagnostics)]
    for diagnostic in diagnostics:
        if verbose or diagnostic.severity.value != "info":
            click.echo("           " + diagnostic.render().replace("\n", "\n           "))


def _echo_report(result: ReportResult) -> None:
    if result.layout_error:
        click.echo(f"warning: {result.layout_error}", err=True)
    click.echo(f"Report: {result.index_html}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="airflow2kfp")
def cli() -> None:
    """Convert Apache Airflow DAG files into Kubeflow Pipelines (KFP v1 SDK, Argo YAML)."""


@cli.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: pipelines/, conversion.json.")
@click.option("--bash-image", default=MappingOptions.bash_image, show_default=True,
              help="Image for BashOperator steps.")
@click.option("--utility-image", default=MappingOptions.utility_image, show_default=True,
              help="Image for no-op and placeholder steps.")
@click.option("--keep-empty", is_flag=True, help="Keep EmptyOperator tasks as no-op steps.")
@click.option("-v", "--verbose", is_flag=True, help="Also show skipped files and info diagnostics.")
def convert(sources: tuple[Path, ...], out_dir: Path, bash_image: str, utility_image: str,
            keep_empty: bool, verbose: bool) -> int:
    """Convert DAG files (or folders of them) into KFP pipelines under --out."""
    options = ConvertOptions(mapping=MappingOptions(bash_image=bash_image, utility_image=utility_image,
                                                    keep_empty=keep_empty))
    result = convert_all(sources, out_dir, options, on_file=lambda r: _echo_file(r, verbose))
    dags = [d for f in result.files for d in f.dags]
    converted = sum(d.status is Status.CONVERTED for d in dags)
    failed = sum(d.status is Status.FAILED for d in dags)
    skipped = sum(f.status is Status.SKIPPED for f in result.files)
    click.echo(f"\n{converted} DAG(s) converted, {failed} failed, {skipped} file(s) skipped "
               f"from {len(result.files)} file(s).")
    click.echo(f"Summary: {result.summary_path}")
    _echo_report(render_reports(out_dir))
    return exit_status(result)


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
def verify_command(sources: tuple[Path, ...], out_dir: Path | None, dag_ids: tuple[str, ...], conf: str,
                   airflow_python: str | None) -> int:
    """Run each DAG once with Airflow and its converted pipeline locally, and compare them."""
    from converter.verify import command

    return command.main(sources, out_dir, dag_ids, conf, airflow_python)


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
