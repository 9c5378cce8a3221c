"""`check`: are the converted files in OUT what the DAG files convert to now?

The DAGs are converted exactly as `convert` would (same `run.collect` and `run.plan`, so the same
bytes) into memory instead of OUT, then compared file by file. Nothing is written, in OUT or
anywhere else. Missing and stale files are A2K702, files of vanished DAGs A2K703. OUT may come
from a pull request: only regular files are read, never through a symbolic link (a link to a
secret would otherwise be printed by `--diff`), and a FIFO or device is never opened.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from converter.diagnostics import Diagnostic, diag
from converter.outputs import escapes, read_manifest, read_regular


@dataclass(frozen=True)
class Finding:
    path: str  # relative to OUT
    kind: str  # "missing" | "stale" | "not-regular" | "extra"
    diff: str = ""

    def diagnostic(self, out_dir: Path) -> Diagnostic:
        where = str(out_dir / self.path)
        if self.kind == "extra":
            return diag("A2K703", f"{self.path} belongs to a DAG that no longer exists", file=where)
        message = {"missing": f"{self.path} is missing",
                   "not-regular": f"{self.path} is not a regular file (a link, FIFO or device); it is not read"
                   }.get(self.kind, f"{self.path} is out of date")
        return diag("A2K702", message, file=where)


def _read(out_dir: Path, relative: str) -> str | None:
    data = None if escapes(out_dir, relative) else read_regular(out_dir / relative)
    try:
        return data.decode("utf-8") if data is not None else None
    except UnicodeDecodeError:
        return "\ufffd"  # not what the tool writes: stale (its diff shows it as replaced)


def compare(out_dir: Path, contents: Mapping[str, str]) -> list[Finding]:
    findings: list[Finding] = []
    for relative, expected in sorted(contents.items()):
        actual = _read(out_dir, relative)
        if actual is None:
            there = os.path.lexists(out_dir / relative) and not (out_dir / relative).is_dir()
            findings.append(Finding(relative, "not-regular" if there else "missing"))
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
