"""Writing the output folder safely: atomic files, owned files only, all or nothing.

The tool records what it wrote in `OUT/.airflow2kfp-manifest.json` (relative path -> sha256).
Before anything is written, every target is checked: a file the tool did not write, or edited since
it wrote it, is a conflict, and nothing is written unless `force`. Every new text is then staged in
full in a hidden folder inside OUT (same file system, so renames are atomic), and moved into place
one rename per file; if a rename fails, the files already replaced are put back from hard-linked
backups. A run killed before the renames leaves the previous outputs untouched; the manifest lists
the new hashes as `pending` during the renames, so even a kill between two renames is recognised
as the tool's own work by the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from converter import __version__

MANIFEST_FILE = ".airflow2kfp-manifest.json"
STAGING_PREFIX = ".airflow2kfp-staging-"
ESCAPES = "the path leads outside the output folder (a symbolic link or an unsafe name)"


def sha256(data: str | bytes) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


@dataclass(frozen=True)
class Manifest:
    files: Mapping[str, str] = field(default_factory=dict)
    pending: Mapping[str, str] = field(default_factory=dict)  # new hashes while renames run

    def owns(self, relative: str, digest: str) -> bool:
        return digest in (self.files.get(relative), self.pending.get(relative))


def is_safe_relative(relative: str) -> bool:
    """A path that names a file inside OUT on every platform: relative, `/`-separated, no `..`."""
    path = PurePosixPath(relative)
    return (bool(relative) and not path.is_absolute() and "\\" not in relative and "\0" not in relative
            and ":" not in relative and all(part not in ("", ".", "..") for part in relative.split("/")))


def read_manifest(out_dir: Path) -> Manifest:
    try:
        data = json.loads((out_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        # the manifest is a file in OUT that anyone may have edited: an entry like "../../x" must
        # never make a prune delete outside OUT, so such entries are not ours
        return Manifest(*({k: v for k, v in dict(data.get(key, {})).items() if is_safe_relative(k)}
                          for key in ("files", "pending")))
    except (OSError, ValueError, AttributeError, TypeError):
        return Manifest()  # no manifest: nothing in OUT is known to be ours


def escapes(out_dir: Path, relative: str, folders: dict[str, bool] | None = None) -> bool:
    """True when writing `relative` would land outside OUT: an unsafe path, or a folder on the way
    that is a symbolic link leading out (the file itself is replaced by rename, never followed).
    `folders` memoises the answer per folder over one plan (thousands of files share a few)."""
    if not is_safe_relative(relative):
        return True
    folder = relative.rpartition("/")[0]
    if folders is not None and folder in folders:
        return folders[folder]
    answer = not (out_dir / relative).parent.resolve().is_relative_to(out_dir.resolve())
    if folders is not None:
        folders[folder] = answer
    return answer


@dataclass(frozen=True)
class Conflict:
    path: str  # relative to OUT
    reason: str


class OutputConflict(Exception):
    def __init__(self, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        super().__init__("; ".join(f"{c.path}: {c.reason}" for c in conflicts))


@dataclass(frozen=True)
class WriteResult:
    written: tuple[str, ...] = ()  # new or changed
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()  # outputs of vanished DAGs, pruned
    orphaned: tuple[str, ...] = ()  # outputs of vanished DAGs, kept (no --prune)


def _current_hash(path: Path) -> str | None:
    try:
        return sha256(path.read_bytes())
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def refuse_escaping_folders(out_dir: Path, folders: list[str]) -> None:
    """Raise OutputConflict when a folder the run writes into (reports, cache) leads outside OUT."""
    bad = [Conflict(folder, ESCAPES) for folder in folders if escapes(out_dir, f"{folder}/file")]
    if bad:
        raise OutputConflict(bad)


def plan_conflicts(
    out_dir: Path, contents: Mapping[str, str], manifest: Manifest, prune: bool
) -> tuple[list[Conflict], list[str], list[str]]:
    """Conflicts, files to write (new or changed), and orphans (owned files no longer produced)."""
    conflicts: list[Conflict] = []
    changed: list[str] = []
    folders: dict[str, bool] = {}
    for relative, text in contents.items():
        target = out_dir / relative
        if escapes(out_dir, relative, folders):
            conflicts.append(Conflict(relative, ESCAPES))
            continue
        if target.is_dir():
            conflicts.append(Conflict(relative, "a folder stands where the output file goes"))
            continue
        current = _current_hash(target)
        if current == sha256(text):
            continue
        changed.append(relative)
        if current is not None and not manifest.owns(relative, current):
            why = (
                "edited since airflow2kfp wrote it"
                if relative in manifest.files
                else "not written by airflow2kfp"
            )
            conflicts.append(Conflict(relative, why))
    orphans = sorted(set(manifest.files) - set(contents))
    if prune:
        for relative in orphans:
            if escapes(out_dir, relative):
                conflicts.append(Conflict(relative, ESCAPES))
                continue
            current = _current_hash(out_dir / relative)
            if current is not None and not manifest.owns(relative, current):
                conflicts.append(Conflict(relative, "to be pruned, but edited since airflow2kfp wrote it"))
    return conflicts, changed, orphans


def _write_manifest(
    out_dir: Path, staging: Path, files: Mapping[str, str], pending: Mapping[str, str]
) -> None:
    document = {
        "tool": {"name": "airflow2kfp", "version": __version__},
        "files": dict(sorted(files.items())),
        "pending": dict(sorted(pending.items())),
    }
    staged = staging / f"manifest-{len(pending)}.json"
    staged.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    os.replace(staged, out_dir / MANIFEST_FILE)


def _replace_all(out_dir: Path, staging: Path, staged: Mapping[str, Path]) -> None:
    """Move staged files into place; on any failure, restore what was replaced and re-raise."""
    done: list[tuple[Path, Path | None]] = []  # (target, backup of its old content or None if new)
    try:
        for index, (relative, source) in enumerate(staged.items()):
            target = out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            backup: Path | None = None
            if target.exists():
                backup = staging / f"backup-{index}"
                try:
                    os.link(target, backup)
                except OSError:  # no hard links here (some network file systems): copy instead
                    shutil.copy2(target, backup)
            os.replace(source, target)
            done.append((target, backup))
    except BaseException:
        for target, backup in reversed(done):
            if backup is None:
                target.unlink(missing_ok=True)
            else:
                os.replace(backup, target)
        raise


def write_tree(
    out_dir: Path, contents: Mapping[str, str], *, force: bool = False, prune: bool = False
) -> WriteResult:
    """Make OUT hold `contents` (relative path -> text), keeping the manifest; see the module doc."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a run that was killed
    manifest = read_manifest(out_dir)
    conflicts, changed, orphans = plan_conflicts(out_dir, contents, manifest, prune)
    if conflicts and (not force or any(c.reason == ESCAPES for c in conflicts)):
        raise OutputConflict(conflicts)  # --force overwrites files in OUT, never writes outside it

    hashes = {relative: sha256(text) for relative, text in contents.items()}
    kept = {} if prune else {r: manifest.files[r] for r in orphans}
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    try:
        staged: dict[str, Path] = {}
        for index, relative in enumerate(changed):
            staged[relative] = staging / f"new-{index}"
            staged[relative].write_text(contents[relative], encoding="utf-8")
        # the old entries stay valid while renames run, so a kill in between is not a conflict later
        _write_manifest(out_dir, staging, {**hashes, **manifest.files}, {r: hashes[r] for r in changed})
        _replace_all(out_dir, staging, staged)
        removed = []
        if prune:
            for relative in orphans:
                (out_dir / relative).unlink(missing_ok=True)
                removed.append(relative)
        _write_manifest(out_dir, staging, {**kept, **hashes}, {})
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    written = set(changed)
    unchanged = tuple(r for r in contents if r not in written)
    return WriteResult(tuple(changed), unchanged, tuple(removed), tuple(sorted(kept)))
