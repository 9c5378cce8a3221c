"""A conversion run over many files: find DAG files, convert each, write the outputs safely.

Outputs are staged in a hidden folder inside the output folder and moved into place file by file
with atomic renames once everything is rendered, `conversion.json` last, so a run that fails half
way never leaves a half-written file behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from converter.diagnostics import Diagnostic
from converter.emit.names import UniqueNames, python_identifier
from converter.parse.static import read_dag_file
from converter.pipeline import ConvertOptions, DagResult, FileResult, Reader, Status, convert_file
from converter.report.summary import all_diagnostics, conversion_json

PIPELINES_DIR = "pipelines"
SUMMARY_FILE = "conversion.json"
STAGING_PREFIX = ".airflow2kfp-staging-"


@dataclass(frozen=True)
class RunResult:
    files: tuple[FileResult, ...]
    out_dir: Path
    summary_path: Path

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return all_diagnostics(self.files)


def discover(sources: Iterable[Path]) -> Iterator[tuple[Path, str]]:
    """(path, display path) of every Python file named or found below a named folder, sorted."""
    for source in sources:
        if source.is_dir():
            for path in sorted(source.rglob("*.py")):
                if not any(part.startswith(".") or part == "__pycache__" for part in path.relative_to(source).parts):
                    yield path, str(path)
        else:
            yield source, str(source)


def static_reader(options: ConvertOptions) -> Reader:
    def read(path: Path, display_path: str):
        return read_dag_file(path, display_path=display_path, max_bytes=options.max_file_bytes)

    return read


def _write_atomic(staging: Path, target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=staging, delete=False, suffix=".part") as handle:
        handle.write(text)
    os.replace(handle.name, target)


def write_outputs(files: list[FileResult], out_dir: Path) -> Path:
    """Write each converted DAG's Python and YAML and the run's conversion.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a run that was killed
    # file names: unique even on case-insensitive file systems, stable for a given set of DAGs
    stems = UniqueNames(casefold=True)
    ordered: list[tuple[FileResult, DagResult]] = sorted(
        ((f, d) for f in files for d in f.dags if d.python_text is not None), key=lambda fd: (fd[1].dag_id, fd[0].path)
    )
    planned: dict[tuple[str, str], dict[str, str | None]] = {}
    contents: list[tuple[str, str]] = []
    for file_result, dag in ordered:
        stem = stems.claim(python_identifier(dag.dag_id), sep="_")
        python_rel = f"{PIPELINES_DIR}/{stem}.py"
        yaml_rel = f"{PIPELINES_DIR}/{stem}.yaml" if dag.yaml_text is not None else None
        planned[(file_result.path, dag.dag_id)] = {"python": python_rel, "yaml": yaml_rel}
        contents.append((python_rel, dag.python_text or ""))
        if yaml_rel:
            contents.append((yaml_rel, dag.yaml_text or ""))
    summary_text = conversion_json(files, planned)

    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    try:
        for relative, text in contents:
            _write_atomic(staging, out_dir / relative, text)
        summary_path = out_dir / SUMMARY_FILE
        _write_atomic(staging, summary_path, summary_text)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary_path


def convert_all(
    sources: Iterable[Path],
    out_dir: Path,
    options: ConvertOptions,
    reader: Reader | None = None,
    on_file: Callable[[FileResult], None] | None = None,
) -> RunResult:
    read = reader or static_reader(options)
    results = []
    for path, display in discover(sources):
        result = convert_file(path, display, read, options)
        results.append(result)
        if on_file:
            on_file(result)
    summary_path = write_outputs(results, out_dir)
    return RunResult(tuple(results), out_dir, summary_path)


def exit_status(result: RunResult) -> int:
    """0 when every DAG converted cleanly (warnings allowed), 1 when any error was found."""
    failed = any(f.status is Status.FAILED for f in result.files)
    return 1 if failed or any(d.severity.value == "error" for d in result.diagnostics) else 0
