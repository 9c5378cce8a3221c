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
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.outputs import SUMMARY_FILE, escapes, read_manifest, read_regular

_READ_AS = {
    "static": "statically (no DAG code run)",
    "airflow": "by importing them with Airflow",
    "auto": "with Airflow and statically, merged",
}


@dataclass(frozen=True)
class Finding:
    path: str  # relative to OUT
    kind: str  # "missing" | "stale" | "not-regular" | "extra" | "mode" | "edited"
    diff: str = ""
    message: str = ""  # "mode": how the outputs were read and how this check reads

    def diagnostic(self, out_dir: Path) -> Diagnostic:
        where = str(out_dir / self.path)
        if self.kind == "mode":
            return diag("A2K721", self.message, file=where)
        if self.kind == "edited":
            return diag("A2K701", f"{self.path} was edited since airflow2kfp wrote it", file=where)
        if self.kind == "extra":
            return diag("A2K703", f"{self.path} belongs to a DAG that no longer exists", file=where)
        message = {
            "missing": f"{self.path} is missing",
            "not-regular": f"{self.path} is not a regular file (a link, FIFO or device); it is not read",
        }.get(self.kind, f"{self.path} is out of date")
        return diag("A2K702", message, file=where)


def _read(out_dir: Path, relative: str) -> str | None:
    data = None if escapes(out_dir, relative) else read_regular(out_dir / relative)
    try:
        return data.decode("utf-8") if data is not None else None
    except UnicodeDecodeError:
        return "\ufffd"  # not what the tool writes: stale (its diff shows it as replaced)


def made_reading(out_dir: Path) -> dict[str, str] | None:
    """How the outputs in OUT were read, as their conversion.json records it (None: not recorded,
    or no conversion.json that airflow2kfp could have written)."""
    data = None if escapes(out_dir, SUMMARY_FILE) else read_regular(out_dir / SUMMARY_FILE)
    try:
        document: Any = orjson.loads(data) if data is not None else None
    except orjson.JSONDecodeError:
        return None
    reading = document.get("reading") if isinstance(document, dict) else None
    if not isinstance(reading, dict) or not all(
        isinstance(reading.get(k), str) for k in ("mode", "effective")
    ):
        return None
    return {"mode": reading["mode"], "effective": reading["effective"]}


def mode_finding(made: Mapping[str, str], mode: str, effective: str, why: str = "") -> Finding:
    """The outputs were read in another effective mode than this check reads: one finding, instead of
    every file reported stale."""

    def said(reading_mode: str, asked: str) -> str:
        return f"{_READ_AS.get(reading_mode, reading_mode)} (mode {asked})"

    message = (
        f"the outputs were made reading the DAG files {said(made['effective'], made['mode'])}; this check "
        f"reads them {said(effective, mode)}{f', {why}' if why else ''}: the files are not compared"
    )
    return Finding(SUMMARY_FILE, "mode", message=message)


def compare(out_dir: Path, contents: Mapping[str, str], held: Collection[str] = ()) -> list[Finding]:
    """Missing, stale and extra files. `held` files (owned, or edited: airflow2kfp.ownership) are not
    compared; the caller reports the edited ones."""
    findings: list[Finding] = []
    manifest = read_manifest(out_dir)
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
    for relative in sorted(set(manifest.files) - set(contents) - set(held)):  # held: owned or edited
        if (out_dir / relative).is_file():
            findings.append(Finding(relative, "extra"))
    return findings
