"""What a person sees: diagnostics as ruff prints them, a progress bar on a terminal, one summary.

Quiet when all is well: by default only warnings and errors are printed, then the summary.
`--quiet` prints only the diagnostics that fail the run; `--verbose` adds a line per file and info
diagnostics. Colour follows `--color`; under `auto`, NO_COLOR (and a non-terminal) turns it off.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from airflow2kfp.diagnostics import Diagnostic, Severity
from airflow2kfp.results import Fidelity, FileResult, Status

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def make_console(color: str, stream: TextIO | None = None) -> Console:
    stream = stream or sys.stdout
    if color == "always":
        return Console(
            file=stream,
            force_terminal=True,
            color_system="standard",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    if color == "never" or os.environ.get("NO_COLOR"):
        return Console(
            file=stream, no_color=True, color_system=None, highlight=False, soft_wrap=True, markup=False
        )
    return Console(file=stream, highlight=False, soft_wrap=True, markup=False)


def diagnostic_text(d: Diagnostic, prefix: str = "") -> Text:
    text = Text(prefix)
    text.append(d.code, style=_STYLE[d.severity])
    text.append(f" [{d.severity.value}] {d.message}")
    if d.task_id:
        text.append(f" (task {d.task_id})")
    if d.file:
        text.append(" --> ", style="dim")
        text.append(d.location(), style="bold")
    text.append(f"\n{prefix}  help: ", style="dim")
    text.append(d.help)
    return text


class Reporter:
    """Prints one run's progress, diagnostics and summary; `fail_rank` is what --quiet still shows."""

    def __init__(
        self,
        console: Console,
        *,
        quiet: bool = False,
        verbose: bool = False,
        fail_rank: int = Severity.ERROR.rank,
    ) -> None:
        self.console = console
        self.quiet = quiet
        self.verbose = verbose
        if quiet:
            self.threshold = fail_rank
        else:
            self.threshold = Severity.INFO.rank if verbose else Severity.WARNING.rank
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    @contextmanager
    def progress(self) -> Iterator[Reporter]:
        """A transient bar on a real terminal; nothing extra elsewhere (CI logs stay short)."""
        if self.quiet or not self.console.is_terminal or not self.console.file.isatty():
            yield self
            return
        columns = (TextColumn("converting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self.console, transient=True) as progress:
            self._progress = progress
            try:
                yield self
            finally:
                self._progress = None

    def start(self, total: int) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task("convert", total=total)

    def file_done(self, result: FileResult) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)
        if self.verbose:
            dags = ", ".join(f"{d.dag_id} [{d.status.value}]" for d in result.dags) or "no DAG"
            self.console.print(f"{result.status.value:>9}  {result.path}  ({dags})")
        for d in (*result.diagnostics, *(d for dag in result.dags for d in dag.diagnostics)):
            if d.severity.rank >= self.threshold:
                self.console.print(diagnostic_text(d))

    def notices(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        """Run-level diagnostics (about how files were read), shown like a file's."""
        for d in diagnostics:
            if d.severity.rank >= self.threshold:
                self.console.print(diagnostic_text(d))

    def line(self, message: str, style: str | None = None) -> None:
        if not self.quiet:
            self.console.print(message, style=style)

    def error(self, d: Diagnostic) -> None:
        """Run-level problems are printed even with --quiet."""
        self.console.print(diagnostic_text(d))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_lines(files: tuple[FileResult, ...] | list[FileResult], cached: int) -> list[str]:
    dags = [d for f in files for d in f.dags]
    by_dag = Counter(d.status for d in dags)
    skipped = sum(f.status is Status.SKIPPED for f in files)
    broken = sum(f.status is Status.FAILED and not f.dags for f in files)
    tasks = Counter(t.mapping for d in dags for t in d.tasks)
    severities = Counter(
        d.severity for f in files for d in (*f.diagnostics, *(x for dag in f.dags for x in dag.diagnostics))
    )
    suppressed = sum(len(f.suppressed) for f in files)
    failed_text = f"{by_dag[Status.FAILED]} failed" + (
        f" (+{_plural(broken, 'file')} unreadable)" if broken else ""
    )
    return [
        f"{_plural(len(files), 'file')}: {by_dag[Status.CONVERTED]} DAGs converted, {failed_text}, "
        f"{_plural(skipped, 'file')} skipped ({cached} from cache)",
        "tasks: " + ", ".join(f"{tasks[m]} {m.value}" for m in Fidelity),
        f"diagnostics: {_plural(severities[Severity.ERROR], 'error')}, "
        f"{_plural(severities[Severity.WARNING], 'warning')}, {severities[Severity.INFO]} info, "
        f"{suppressed} suppressed",
    ]
