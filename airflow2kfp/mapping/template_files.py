"""Template files (`bash_command="scripts/run.sh"`), found as Airflow's Jinja loader finds them and
read only inside the folder being converted.

A templated field whose text ends with one of the operator's `template_ext` names a file, which
Airflow reads and renders in its place. `DAG.get_template_env()` (Airflow 2.x and 3.x alike) gives
Jinja a `FileSystemLoader` over `[DAG.folder, *template_searchpath]`, and:

- `DAG.folder` is the folder of `DAG.fileloc`, which the DagBag sets to the file it loaded the DAG
  from (`module.__file__`), also for a DAG or task a helper module builds: the helper's folder is
  not searched;
- the name is split by Jinja's `split_template_path`: a `..` part is never found (Airflow fails the
  task with TemplateNotFound), a leading `/` is dropped (`/scripts/run.sh` is looked for as
  `scripts/run.sh` in each folder);
- the first folder that holds the file wins; a relative folder is relative to the working folder of
  the Airflow process that renders (Jinja opens `posixpath.join(folder, name)`), here to the
  converter's, and the step's notes say so.

DAG files are hostile input (they come from pull requests, converted in CI): a file that resolves
outside the folder being converted (an absolute `template_searchpath`, a symbolic link) is never
read, nor is an outside folder looked into (A2K337); the field is then kept as written.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from jinja2 import TemplateNotFound
from jinja2.loaders import split_template_path

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.model import Dag, FileLocation, Unresolved, is_inside
from airflow2kfp.settings import DEFAULTS

MAX_TEMPLATE_BYTES = DEFAULTS.max_file_size  # as large as a DAG file may be, no larger
# the extensions of the template files mappings read (BashOperator's template_ext): a static run's
# cache key holds the files named so below the DAG folders (run.py)
TEMPLATE_SUFFIXES = (".sh", ".bash")


@dataclass(frozen=True)
class TemplateText:
    """A template file's text, and the relative template_searchpath entry it was found through
    (None: found in the DAG's folder or through an absolute entry)."""

    text: str
    relative_entry: str | None = None


@dataclass(frozen=True)
class _Folder:
    path: str | None  # None: an entry the reading could not evaluate
    shown: str  # how messages name it


def dag_location(dag: Dag, location: FileLocation | None) -> FileLocation:
    """Where the DAG's file lies; without a reader's location, the DAG's own file, bounded to its folder."""
    if location is not None:
        return location
    return FileLocation(dag.span.file, os.path.realpath(os.path.dirname(dag.span.file) or "."))


def read_template(
    name: str, field: str, dag: Dag, location: FileLocation | None, where: Mapping[str, Any]
) -> TemplateText | Diagnostic:
    """The text of the template file `name` (the value of `field`), or why it was not read: A2K306
    (in no folder Airflow searches, or not readable as text), A2K337 (refused)."""
    place = dag_location(dag, location)
    kept = "; the command is kept as written"
    try:
        pieces = split_template_path(name)
    except TemplateNotFound:
        return diag(
            "A2K337",
            f"{field} names the template {name!r}: Airflow's Jinja loader refuses '..' in a template "
            f"name (the task fails with TemplateNotFound when Airflow renders it); it is not read{kept}",
            **where,
        )
    folders = [_Folder(os.path.dirname(place.fileloc) or ".", "the DAG's folder"), *_searchpath(dag)]
    for index, folder in enumerate(folders):
        if folder.path is None:
            return diag(
                "A2K306",
                f"{field} names the template {name!r}, which is not in {_listed(folders[:index])}, and "
                f"template_searchpath {folder.shown} could not be read: where Airflow finds it is "
                f"unknown{kept}",
                **where,
            )
        candidate = posixpath.join(folder.path, *pieces)
        if "\0" in candidate:  # no file is named so: Jinja's os.path.isfile says False
            continue
        if not is_inside(place.boundary, os.path.realpath(candidate)):
            after = f"after {_listed(folders[:index])}, " if index else ""
            return diag(
                "A2K337",
                f"{field} names the template {name!r}: {after}Airflow looks for it at {candidate!r}, "
                f"which lies outside the folder being converted (symbolic links followed); it is not "
                f"read{kept}",
                **where,
            )
        if not os.path.isfile(candidate):  # as Jinja's loader tests each folder
            continue
        text = _read_text(candidate)
        if isinstance(text, _Unreadable):
            return diag(
                "A2K306", f"{field} names the template {name!r}, but {candidate!r} {text.why}{kept}", **where
            )
        relative = index > 0 and not os.path.isabs(folder.path)
        return TemplateText(text, folder.path if relative else None)
    dropped = (
        f" (Airflow's loader drops the leading '/': it looks for {'/'.join(pieces)!r} in each)"
        if name.startswith("/")
        else ""
    )
    return diag(
        "A2K306",
        f"{field} names the template {name!r}, which is in none of the folders Airflow searches: "
        f"{_listed(folders)}{dropped}{kept}",
        **where,
    )


def _searchpath(dag: Dag) -> list[_Folder]:
    """The DAG's template_searchpath entries, in order (a string is one entry, as Airflow takes it)."""
    value = dag.settings.get("template_searchpath")
    entries = value if isinstance(value, (list, tuple)) else [] if value is None else [value]
    folders = []
    for entry in entries:
        if isinstance(entry, (str, PurePath)):
            folders.append(_Folder(os.fspath(entry), repr(os.fspath(entry))))
        else:
            folders.append(_Folder(None, entry.source if isinstance(entry, Unresolved) else repr(entry)))
    return folders


def _listed(folders: list[_Folder]) -> str:
    """`the DAG's folder`, then the searchpath entries among `folders`, as a message names them."""
    entries = [folder.shown for folder in folders[1:]]
    return folders[0].shown + (f", template_searchpath {', '.join(entries)}" if entries else "")


@dataclass(frozen=True)
class _Unreadable:
    why: str  # a phrase: "could not be read: ..."


def _read_text(path: str) -> str | _Unreadable:
    """The file's text as Airflow's loader reads it (UTF-8), or why it cannot be."""
    try:
        size = os.stat(path).st_size
        if size > MAX_TEMPLATE_BYTES:
            return _Unreadable(f"is {size} bytes, over the {MAX_TEMPLATE_BYTES}-byte limit")
        with open(path, "rb") as stream:  # noqa: PTH123 - a path string, as Jinja's loader opens it
            data = stream.read(MAX_TEMPLATE_BYTES + 1)
    except OSError as error:
        return _Unreadable(f"could not be read: {error.strerror or error}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        return _Unreadable(f"is not UTF-8 text (byte {error.start}), which Airflow's loader fails on")
