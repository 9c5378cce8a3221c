"""Task values that name the DAG folder by its absolute path on the machine that converted it.

`os.path.dirname(__file__)` and `Path(__file__).parent` give the folder the DAG file was read from:
on the converting machine, the folder being converted (both readers see it there: the static one
reads the repository, the sandbox binds it at its own path). A step that receives such a value runs
in an image where that path need not exist, and the generated pipeline changes with where the
repository was checked out. The value is kept as Airflow computed it, and said.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.mapping.base import task_location
from airflow2kfp.model import Dag, FileLocation

DAG_FOLDER_PATH = "A2K338"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _strings(item)


def machine_path_diagnostics(dag: Dag, location: FileLocation | None) -> tuple[Diagnostic, ...]:
    """One warning per task whose arguments name the folder being converted by its absolute path."""
    if location is None or location.boundary in ("", "/"):
        return ()
    folder = location.boundary  # a real path already (FileLocation)
    # the folder itself, or a path below it: not a longer name that merely starts the same way
    pattern = re.compile(re.escape(folder) + r"(?![\w.-])")
    found = []
    for task in dag.tasks:
        names = sorted(
            name
            for name, value in task.args.values.items()
            if any(pattern.search(text) for text in _strings(value))
        )
        if names:
            found.append(
                diag(
                    DAG_FOLDER_PATH,
                    f"{', '.join(names)} name{'s' if len(names) == 1 else ''} {folder}, the DAG "
                    "folder's path on the machine that converted it: kept as written, so the step needs "
                    "the DAG folder at that path in its image, and the output changes with where the "
                    "repository is checked out",
                    **task_location(task),
                )
            )
    return tuple(found)


__all__ = ["DAG_FOLDER_PATH", "machine_path_diagnostics"]
