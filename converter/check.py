"""`check`: are the converted files in OUT what the DAG files convert to now?

The DAGs are converted exactly as `convert` would (same `run.collect` and `run.plan`, so the same
bytes) into memory instead of OUT, then compared file by file. Nothing in OUT is changed (the
cache folder aside). Missing and stale files are A2K702, files of vanished DAGs A2K703.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from converter.diagnostics import Diagnostic, diag
from converter.outputs import read_manifest


@dataclass(frozen=True)
class Finding:
    path: str  # relative to OUT
    kind: str  # "missing" | "stale" | "extra"
    diff: str = ""

    def diagnostic(self, out_dir: Path) -> Diagnostic:
        where = str(out_dir / self.path)
        if self.kind == "extra":
            return diag("A2K703", f"{self.path} belongs to a DAG that no longer exists", file=where)
        message = f"{self.path} is missing" if self.kind == "missing" else f"{self.path} is out of date"
        return diag("A2K702", message, file=where)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, UnicodeDecodeError):
        return None


def compare(out_dir: Path, contents: Mapping[str, str]) -> list[Finding]:
    findings: list[Finding] = []
    for relative, expected in sorted(contents.items()):
        actual = _read(out_dir / relative)
        if actual is None:
            findings.append(Finding(relative, "missing"))
        elif actual != expected:
            diff = "".join(
                difflib.unified_diff(
                    actual.splitlines(keepends=True),
                    expected.splitlines(keepends=True),
                    f"a/{relative}",
                    f"b/{relative}",
                )
            )
            findings.append(Finding(relative, "stale", diff))
    for relative in sorted(set(read_manifest(out_dir).files) - set(contents)):
        if (out_dir / relative).is_file():
            findings.append(Finding(relative, "extra"))
    return findings
