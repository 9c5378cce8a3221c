"""Taking a pipeline over: which DAGs' files a run leaves as they are, and why.

A converted pipeline is the user's to edit. Two kinds of DAG are held (their files are neither
written, nor pruned, nor compared by `check`):

- **owned**: the DAG is listed in `owned = [...]` (`--owned`), or its generated `.py` file holds the
  line `# airflow2kfp: owned`. The run reports it as owned (A2K722, `owned` in conversion.json).
- **edited**: a file of the DAG in OUT is not what the tool wrote (edited since, or someone else's)
  and the DAG is not owned. That DAG alone fails (A2K701, exit 1); the other DAGs are written.
  `--force` overwrites instead.

Both `convert` and `check` decide this from the same OUT (under its lock), so they write and
expect the same conversion.json. Only regular files inside OUT are read, never through a link.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from airflow2kfp.outputs import Manifest, escapes, read_regular, sha256

MARKER = "# airflow2kfp: owned"
# the marker as a line of its own (indented or not), anywhere in the generated .py file
_MARKER = re.compile(rb"^[ \t]*#[ \t]*airflow2kfp:[ \t]*owned[ \t]*\r?$", re.MULTILINE)

DagKey = tuple[str, str]  # (source file, dag_id)


@dataclass(frozen=True)
class Holds:
    owned: Mapping[DagKey, str] = field(default_factory=dict)  # -> "marker" | "config"
    edited: Mapping[DagKey, tuple[tuple[str, str], ...]] = field(default_factory=dict)  # -> (path, why)
    paths: frozenset[str] = frozenset()  # every output file of those DAGs, relative to OUT


def marked(out_dir: Path, relative: str) -> bool:
    """Whether the file at `relative` in OUT carries the owned marker line."""
    data = None if escapes(out_dir, relative) else read_regular(out_dir / relative)
    return data is not None and _MARKER.search(data) is not None


def find_holds(
    out_dir: Path,
    dag_files: Mapping[DagKey, Mapping[str, str | None]],
    contents: Mapping[str, str],
    manifest: Manifest,
    owned_ids: Collection[str] = (),
    force: bool = False,
) -> Holds:
    """The DAGs of this plan whose files stay as they are in OUT (see the module doc)."""
    owned: dict[DagKey, str] = {}
    edited: dict[DagKey, tuple[tuple[str, str], ...]] = {}
    paths: set[str] = set()
    for key, files in dag_files.items():
        relatives = [relative for relative in files.values() if relative]
        pythons = [python for kind in ("python", "v2_python") if (python := files.get(kind))]
        if key[1] in owned_ids:
            owned[key] = "config"
        elif any(marked(out_dir, python) for python in pythons):
            owned[key] = "marker"
        elif not force:
            conflicts = tuple(
                (relative, why)
                for relative in relatives
                if (why := _not_ours(out_dir, relative, contents.get(relative), manifest))
            )
            if conflicts:
                edited[key] = conflicts
        if key in owned or key in edited:
            paths.update(relatives)
    return Holds(owned, edited, frozenset(paths))


def _not_ours(out_dir: Path, relative: str, new_text: str | None, manifest: Manifest) -> str | None:
    """Why the regular file at `relative` may not be replaced (None: it may, or it is not a regular
    file in OUT, which the writer refuses for the whole run as before)."""
    if escapes(out_dir, relative):
        return None
    data = read_regular(out_dir / relative)
    if data is None:
        return None
    digest = sha256(data)
    if (new_text is not None and digest == sha256(new_text)) or manifest.owns(relative, digest):
        return None
    return "edited since airflow2kfp wrote it" if relative in manifest.files else "not written by airflow2kfp"
