"""The generated pipeline file laid out by ruff's formatter (pinned in pyproject.toml), as a team
whose code passes `ruff format --check` would write it.

The converter's own parts of the file could be emitted formatted directly, but the step functions
carry the DAG's callables as their authors wrote them: only a formatter lays those out. ruff's binary
formats a file in a few milliseconds (its start included), so each file is formatted once, before
it is compiled (a Python step's source is part of the compiled YAML).

`--isolated`: ruff's defaults (line length 88, double quotes), whatever configuration sits around
the output folder, so the same DAG gives the same bytes everywhere.
"""

from __future__ import annotations

import subprocess
from functools import cache

RUFF = "ruff==0.17.6"  # pyproject.toml pins the same: a formatter's layout changes between versions


class FormatError(Exception):
    """ruff is missing or refused the file (a bug of the emitter: the file is Python it wrote)."""


@cache
def _ruff() -> str:
    try:
        from ruff import find_ruff_bin  # the binary the `ruff` wheel installs
    except ImportError as error:
        raise FormatError(f"{RUFF} is not installed (a dependency of airflow2kfp)") from error
    return str(find_ruff_bin())


def formatted(source: str) -> str:
    """`source` as `ruff format --isolated` writes it."""
    try:
        result = subprocess.run(
            [_ruff(), "format", "--isolated", "--stdin-filename", "pipeline.py", "-"],
            input=source.encode("utf-8"),
            capture_output=True,
            check=False,
        )
    except OSError as error:
        raise FormatError(f"ruff could not run: {error}") from error
    if result.returncode != 0:
        raise FormatError(f"ruff format refused the file: {result.stderr.decode('utf-8', 'replace').strip()}")
    return result.stdout.decode("utf-8")
