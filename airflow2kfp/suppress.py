"""Ignoring diagnostics: per code in the settings, or inline on the DAG line they point to.

    t = SomeOperator(task_id="x")  # airflow2kfp: ignore[A2K301]
    u = Other(task_id="y")         # airflow2kfp: ignore[A2K301, A2K302]
    v = Third(task_id="z")         # airflow2kfp: ignore            (every code on this line)

A suppressed diagnostic moves to `FileResult.suppressed`: it is counted and listed as suppressed,
never silently dropped. Ignoring a code does not turn a failed DAG into a converted one.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Collection, Mapping
from dataclasses import replace
from pathlib import Path

from airflow2kfp.diagnostics import Diagnostic, Suppression
from airflow2kfp.results import FileResult

_INLINE = re.compile(r"#\s*airflow2kfp:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?")
ALL = frozenset({"*"})


def inline_ignores(text: str) -> dict[int, frozenset[str]]:
    """Line number -> codes ignored there ({"*"} for a bare ignore). Only real comments count."""
    found: dict[int, frozenset[str]] = {}
    if "airflow2kfp" not in text:  # the common case, without tokenizing
        return found
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):  # a broken file: fall back to a plain line scan
        tokens = [
            tokenize.TokenInfo(tokenize.COMMENT, line[line.index("#") :], (n, 0), (n, 0), line)
            for n, line in enumerate(text.splitlines(), 1)
            if "#" in line
        ]
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        match = _INLINE.search(token.string)
        if match is None:
            continue
        codes = match.group("codes")
        ignored = ALL if codes is None else frozenset(c.strip() for c in codes.split(",") if c.strip())
        found[token.start[0]] = found.get(token.start[0], frozenset()) | ignored
    return found


def _why(
    d: Diagnostic, path: str, inline: Mapping[int, frozenset[str]], config: Collection[str]
) -> str | None:
    if d.code in config:
        return "config"
    if d.file == path and d.line is not None:
        codes = inline.get(d.line, frozenset())
        if "*" in codes or d.code in codes:
            return "inline"
    return None


def apply(result: FileResult, source: Path | None, config_ignores: Collection[str]) -> FileResult:
    """`result` with ignored diagnostics moved to `suppressed`; `source` is the DAG file to scan."""
    inline: dict[int, frozenset[str]] = {}
    # only a file something points into is read again: one too large to read has no lines
    lined = any(
        d.line is not None
        for d in (*result.diagnostics, *(x for dag in result.dags for x in dag.diagnostics))
    )
    if lined and source is not None and source.is_file():  # a FIFO named x.py would block the read forever
        try:
            inline = inline_ignores(source.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            pass  # the reader already reported why the file cannot be read
    if not inline and not config_ignores:
        return result
    silenced: list[Suppression] = list(result.suppressed)

    def keep(diagnostics: tuple[Diagnostic, ...]) -> tuple[Diagnostic, ...]:
        kept = []
        for d in diagnostics:
            why = _why(d, result.path, inline, config_ignores)
            if why is None:
                kept.append(d)
            else:
                silenced.append(Suppression(d, why))
        return tuple(kept)

    file_diagnostics = keep(result.diagnostics)
    dags = tuple(replace(dag, diagnostics=keep(dag.diagnostics)) for dag in result.dags)
    return replace(result, diagnostics=file_diagnostics, dags=dags, suppressed=tuple(silenced))
