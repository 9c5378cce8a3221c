"""Writing the output folder safely: atomic files, owned files only, all or nothing, one run at a time.

The tool records what it wrote in `OUT/.airflow2kfp-manifest.json` (relative path -> sha256): the
converted files under `files`, the rendered reports and indexes under `reports`. Before anything is
written, every target is checked: a file the tool did not write, or edited since it wrote it (or
anything but a regular file), is a conflict, and nothing is written unless `force`. Every new text
is then staged in full in a hidden folder inside OUT (same file system, so renames are atomic), and
moved into place one rename per file; if a rename fails, the files already replaced are put back
from hard-linked backups. A run killed before the renames leaves the previous outputs untouched; the
manifest lists the new hashes as `pending` during the renames (and the report names as
`reports_pending` while reports are rendered), so even a kill in between is recognised as the tool's
own work by the next run, which also removes the staging folders and `.part` files left behind.

One run writes into an OUT at a time: `locked` holds an flock on the folder itself (no lock file is
left behind, except on a file system that cannot lock a folder); another run waits, then gets A2K710.
A fault of the file system (read-only, full, an I/O error) is an `OutputFault` with a code of its own
(A2K711-A2K713), never a traceback.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from airflow2kfp import __version__
from airflow2kfp.diagnostics import Diagnostic, diag

MANIFEST_FILE = ".airflow2kfp-manifest.json"
STAGING_PREFIX = ".airflow2kfp-staging-"
LOCK_FILE = ".airflow2kfp-lock"  # only where the folder itself cannot be locked (some network file systems)
ESCAPES = "the path leads outside the output folder (a symbolic link or an unsafe name)"
NOT_REGULAR = "not a regular file (a link, FIFO or device stands where the output file goes)"
# The output folder's layout, for every module that reads or writes it (run, check, upload, verify)
PIPELINES_DIR = "pipelines"  # <dag>.py, <dag>.yaml, <dag>.recurring.json
V2_DIR = "v2"  # pipelines/v2/: the KFP v2 target's files
SUMMARY_FILE = "conversion.json"
REPORTS_DIR = "reports"  # the rendered reports (airflow2kfp.report)
LOCK_WAIT_SECONDS = 10.0  # how long a run waits for another run into the same OUT to finish
# `.<name>.<8 random letters>.part`: a file being written next to its target (tempfile's and ours)
_PART = re.compile(r"\..+\.[a-z0-9_]{8}\.part")
_GENERATOR = b'<meta name="generator" content="airflow2kfp '


def sha256(data: str | bytes) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


# -- faults ----------------------------------------------------------------------------------------


class OutputFault(Exception):
    """Writing OUT (or a report file) failed for a reason outside the tool: a coded diagnostic, exit 2."""

    def __init__(self, code: str, message: str, path: str | None = None) -> None:
        super().__init__(code, message, path)  # these args: picklable, so a worker can raise it
        self.code, self.message, self.path = code, message, path

    def __str__(self) -> str:
        return self.message

    def diagnostic(self) -> Diagnostic:
        return diag(self.code, self.message, file=self.path)


_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def fault(error: OSError, doing: str, path: Path | str | None = None) -> OutputFault:
    """The OutputFault for an OSError met while `doing` something to OUT (or a report file)."""
    where = error.filename or path
    reason = error.strerror or str(error)
    if error.errno in _NOT_WRITABLE:
        code = "A2K711"
    elif error.errno in _FULL:
        code = "A2K712"
    else:
        code = "A2K713"
    return OutputFault(
        code, f"{doing}: {reason}" + (f": {where}" if where else ""), str(path) if path is not None else None
    )


# -- one run per OUT -------------------------------------------------------------------------------


_held: dict[str, tuple[int, int]] = {}  # real path of OUT -> (descriptor, depth): locks are re-entrant


def _forget_inherited_locks() -> None:
    """In a forked child (a worker): close the lock descriptors it inherited, so that a worker that
    outlives a killed run never holds the folder's lock (an flock lasts while any copy is open)."""
    for descriptor, _ in _held.values():
        try:
            os.close(descriptor)
        except OSError:
            pass
    _held.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited_locks)


def _open_lock(out_dir: Path, shared: bool) -> int | None:
    """A descriptor to flock for OUT: the folder itself, else (a file system that cannot lock a
    folder) a lock file in it; None when neither can be locked (a shared lock never creates one)."""
    folder = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(folder, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(folder, fcntl.LOCK_UN)
        return folder
    except BlockingIOError:
        return folder  # it can be locked; someone holds it
    except OSError:
        os.close(folder)
    if shared:
        return None  # `check` writes nothing, not even a lock file
    return os.open(out_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)


@contextmanager
def locked(out_dir: Path, *, shared: bool = False, wait: float | None = None) -> Iterator[None]:
    """Hold OUT for this run: exclusive for a writer, shared for a reader (`check`). Another run
    holding it is waited for up to `wait` seconds (LOCK_WAIT_SECONDS), then an OutputFault A2K710.
    Re-entrant within a process; OUT must exist (a missing OUT is not locked: there is nothing to read)."""
    key = os.path.realpath(out_dir)
    if key in _held:
        held, depth = _held[key]
        _held[key] = (held, depth + 1)
        try:
            yield
        finally:
            held, depth = _held[key]
            _held[key] = (held, depth - 1)
        return
    if not os.path.isdir(key):
        yield
        return
    try:
        descriptor = _open_lock(out_dir, shared)
    except OSError as error:
        raise fault(error, "cannot lock the output folder", out_dir) from None
    if descriptor is None:
        yield
        return
    deadline = time.monotonic() + (LOCK_WAIT_SECONDS if wait is None else wait)
    try:
        while True:
            try:
                fcntl.flock(descriptor, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OutputFault(
                        "A2K710",
                        f"another airflow2kfp run is writing to {out_dir}; nothing was changed",
                        str(out_dir),
                    ) from None
                time.sleep(0.05)
            except OSError as error:
                raise fault(error, "cannot lock the output folder", out_dir) from None
        _held[key] = (descriptor, 1)
        try:
            yield
        finally:
            _held.pop(key, None)
    finally:
        os.close(descriptor)  # closing the last descriptor releases the lock


# -- paths -----------------------------------------------------------------------------------------


def is_safe_relative(relative: str) -> bool:
    """A path that names a file inside OUT on every platform: relative, `/`-separated, no `..`."""
    path = PurePosixPath(relative)
    return (
        bool(relative)
        and not path.is_absolute()
        and "\\" not in relative
        and "\0" not in relative
        and ":" not in relative
        and all(part not in ("", ".", "..") for part in relative.split("/"))
    )


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


def read_regular(path: Path) -> bytes | None:
    """The bytes of `path` if it is a regular file, not through a symbolic link; None if it is
    missing, unreadable or anything else (a FIFO or a device is never opened: it could block, never
    end, or act on being opened)."""
    try:
        before = os.lstat(path)
        if not stat.S_ISREG(before.st_mode):
            return None
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        now = os.fstat(descriptor)
        if (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino) or not stat.S_ISREG(now.st_mode):
            return None  # replaced between the two looks
        return handle.read()


def _kind(path: Path) -> str:
    """ "missing", "file" (a regular file), "folder", or "other" (a link, FIFO, device, socket)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "missing"
    except NotADirectoryError:
        return "missing"  # a file stands where a folder on the way should be: the rename says so
    return "file" if stat.S_ISREG(mode) else "folder" if stat.S_ISDIR(mode) else "other"


def _current_hash(path: Path) -> str | None:
    data = read_regular(path)
    return None if data is None else sha256(data)


# -- the manifest ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    files: Mapping[str, str] = field(default_factory=dict)
    pending: Mapping[str, str] = field(default_factory=dict)  # new hashes while renames run
    reports: Mapping[str, str] = field(default_factory=dict)  # rendered reports and indexes
    reports_pending: frozenset[str] = frozenset()  # report names being rendered (any content is ours)
    legacy: bool = False  # written by a version that did not record reports

    def owns(self, relative: str, digest: str) -> bool:
        return digest in (self.files.get(relative), self.pending.get(relative))

    def owns_report(self, relative: str, digest: str) -> bool:
        return relative in self.reports_pending or self.reports.get(relative) == digest


def read_manifest(out_dir: Path) -> Manifest:
    data = read_regular(out_dir / MANIFEST_FILE)
    if data is None:
        return Manifest()  # no manifest: nothing in OUT is known to be ours
    try:
        document = json.loads(data)
        # the manifest is a file in OUT that anyone may have edited: an entry like "../../x" must
        # never make a prune delete outside OUT, so such entries are not ours
        files, pending, reports = (
            {
                k: v
                for k, v in dict(document.get(key, {})).items()
                if is_safe_relative(k) and isinstance(v, str)
            }
            for key in ("files", "pending", "reports")
        )
        reports_pending = frozenset(
            r for r in document.get("reports_pending", []) if isinstance(r, str) and is_safe_relative(r)
        )
        return Manifest(files, pending, reports, reports_pending, legacy="reports" not in document)
    except (ValueError, AttributeError, TypeError):
        return Manifest()


def _manifest_text(manifest: Manifest) -> str:
    document: dict[str, object] = {
        "tool": {"name": "airflow2kfp", "version": __version__},
        "files": dict(sorted(manifest.files.items())),
        "pending": dict(sorted(manifest.pending.items())),
    }
    if not manifest.legacy:  # a legacy manifest stays one until the reports are recorded
        document.update(
            reports=dict(sorted(manifest.reports.items())), reports_pending=sorted(manifest.reports_pending)
        )
    return json.dumps(document, indent=1) + "\n"


def _write_manifest(out_dir: Path, manifest: Manifest) -> None:
    write_atomic(out_dir / MANIFEST_FILE, _manifest_text(manifest))


def record_reports(out_dir: Path, reports: Mapping[str, str], pending: Collection[str] = ()) -> None:
    """Keep the manifest's converted files, and record the reports (and those being rendered)."""
    with locked(out_dir):
        current = read_manifest(out_dir)
        updated = Manifest(current.files, current.pending, dict(reports), frozenset(pending))
        try:
            if read_regular(out_dir / MANIFEST_FILE) != _manifest_text(updated).encode():
                _write_manifest(out_dir, updated)
        except OSError as error:
            raise fault(error, "cannot record the reports in the manifest", out_dir / MANIFEST_FILE) from None


@dataclass(frozen=True)
class OwnedFiles:
    """The converted files of OUT that the manifest says the tool wrote, read only as it wrote them:
    a path not in the manifest, leading outside OUT, not a regular file, or edited since reads as
    None. What `report` shows of a conversion.json that someone else may have written."""

    out_dir: Path
    manifest: Manifest | None  # None: nothing is read (conversion.json is not the manifest's own)

    def listed(self, relative: object) -> bool:
        return (
            self.manifest is not None
            and isinstance(relative, str)
            and is_safe_relative(relative)
            and (relative in self.manifest.files or relative in self.manifest.pending)
            and not escapes(self.out_dir, relative)
        )

    def read(self, relative: object) -> bytes | None:
        if not self.listed(relative):
            return None
        assert isinstance(relative, str) and self.manifest is not None
        data = read_regular(self.out_dir / relative)
        return data if data is not None and self.manifest.owns(relative, sha256(data)) else None


# -- writing one file ------------------------------------------------------------------------------


def _temporary(folder: Path, name: str) -> tuple[int, Path]:
    """A new file next to its target, named `.<name>.<8 letters>.part` (found and removed by the
    next run if this one is killed); created with 0666 less the umask, as a shell redirect would."""
    while True:
        path = folder / f".{name}.{secrets.token_hex(4)}.part"
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), path
        except FileExistsError:
            continue


def write_atomic(target: Path, data: str | bytes, mode: int | None = None) -> None:
    """Replace `target` with `data` in one rename; on any failure the temporary file is removed and
    the target is as it was. OSError propagates (callers turn it into an OutputFault)."""
    descriptor, temporary = _temporary(target.parent, target.name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def remove_parts(folder: Path, name: str) -> None:
    """The `.part` files a killed run left while writing `folder/name`."""
    try:
        entries = [*os.scandir(folder)]
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(f".{name}.") and _PART.fullmatch(entry.name):
            try:
                if entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)
            except OSError:
                pass


def remove_leftovers(out_dir: Path) -> None:
    """What a killed run left: staging folders in OUT and `.part` files in OUT and OUT/reports.
    Only names the tool makes are touched; a failure here (a read-only OUT) is met again, coded,
    when the run writes."""
    try:
        entries = [*os.scandir(out_dir)]
        reports = out_dir / REPORTS_DIR
        if _kind(reports) == "folder":
            entries += [*os.scandir(reports)]
    except OSError:
        return
    for entry in entries:
        try:
            if entry.name.startswith(STAGING_PREFIX) and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            elif _PART.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
        except OSError:
            pass


# -- conflicts -------------------------------------------------------------------------------------


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


def refuse_escaping_folders(out_dir: Path, folders: list[str]) -> None:
    """Raise OutputConflict when a folder the run writes into (reports, cache) leads outside OUT."""
    bad = [Conflict(folder, ESCAPES) for folder in folders if escapes(out_dir, f"{folder}/file")]
    if bad:
        raise OutputConflict(bad)


def _legacy_report(out_dir: Path, relative: str) -> bool:
    """In an OUT whose manifest predates recorded reports: is this report one the tool rendered?
    An HTML page carries the tool's generator tag; a Markdown file goes with such a page."""
    html = relative[: -len(".md")] + ".html" if relative.endswith(".md") else relative
    head = read_regular(out_dir / html)
    return head is not None and _GENERATOR in head[:2048]


def owns_report(out_dir: Path, relative: str, manifest: Manifest) -> bool:
    """Whether the report file at `relative` (which exists) is the tool's to replace or remove."""
    current = _current_hash(out_dir / relative)
    if current is None:
        return False
    return manifest.owns_report(relative, current) or (manifest.legacy and _legacy_report(out_dir, relative))


def report_conflicts(out_dir: Path, targets: Collection[str], manifest: Manifest) -> list[Conflict]:
    """Reports and indexes to be (re)written over files the tool did not write, or edited since."""
    conflicts: list[Conflict] = []
    folders: dict[str, bool] = {}
    for relative in sorted(targets):
        if escapes(out_dir, relative, folders):
            conflicts.append(Conflict(relative, ESCAPES))
            continue
        kind = _kind(out_dir / relative)
        if kind == "missing":
            continue
        if kind == "folder":
            conflicts.append(Conflict(relative, "a folder stands where the output file goes"))
        elif kind == "other":
            conflicts.append(Conflict(relative, NOT_REGULAR))
        elif not owns_report(out_dir, relative, manifest):
            why = (
                "edited since airflow2kfp wrote it"
                if relative in manifest.reports
                else "not written by airflow2kfp"
            )
            conflicts.append(Conflict(relative, why))
    return conflicts


def plan_conflicts(
    out_dir: Path, contents: Mapping[str, str], manifest: Manifest, prune: bool, held: Collection[str] = ()
) -> tuple[list[Conflict], list[str], list[str]]:
    """Conflicts, files to write (new or changed), and orphans (owned files no longer produced);
    `held` files (airflow2kfp.ownership) are none of these: they stay as they are."""
    conflicts: list[Conflict] = []
    changed: list[str] = []
    folders: dict[str, bool] = {}
    for relative, text in contents.items():
        target = out_dir / relative
        if escapes(out_dir, relative, folders):
            conflicts.append(Conflict(relative, ESCAPES))
            continue
        kind = _kind(target)
        if kind == "folder":
            conflicts.append(Conflict(relative, "a folder stands where the output file goes"))
            continue
        if kind == "other":  # a link, FIFO or device is never read (it could block or never end)
            changed.append(relative)
            conflicts.append(Conflict(relative, NOT_REGULAR))
            continue
        current = _current_hash(target)
        if current == sha256(text):
            continue
        changed.append(relative)
        if kind == "file" and current is None:
            conflicts.append(Conflict(relative, "cannot be read to tell who wrote it"))
        elif current is not None and not manifest.owns(relative, current):
            why = (
                "edited since airflow2kfp wrote it"
                if relative in manifest.files
                else "not written by airflow2kfp"
            )
            conflicts.append(Conflict(relative, why))
    orphans = sorted(set(manifest.files) - set(contents) - set(held))
    if prune:
        for relative in orphans:
            if escapes(out_dir, relative):
                conflicts.append(Conflict(relative, ESCAPES))
                continue
            if _kind(out_dir / relative) == "other":
                conflicts.append(Conflict(relative, "to be pruned, but " + NOT_REGULAR))
                continue
            current = _current_hash(out_dir / relative)
            if current is not None and not manifest.owns(relative, current):
                conflicts.append(Conflict(relative, "to be pruned, but edited since airflow2kfp wrote it"))
    return conflicts, changed, orphans


# -- writing the tree ------------------------------------------------------------------------------


def _replace_all(out_dir: Path, staging: Path, staged: Mapping[str, Path]) -> None:
    """Move staged files into place; on any failure, restore what was replaced and re-raise."""
    done: list[tuple[Path, Path | None]] = []  # (target, backup of its old content or None if new)
    try:
        for index, (relative, source) in enumerate(staged.items()):
            target = out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            backup: Path | None = None
            if os.path.lexists(target):
                backup = staging / f"backup-{index}"
                try:
                    os.link(target, backup, follow_symlinks=False)
                except OSError:  # no hard links here (some network file systems): copy instead
                    shutil.copy2(target, backup, follow_symlinks=False)
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
    out_dir: Path,
    contents: Mapping[str, str],
    *,
    force: bool = False,
    prune: bool = False,
    reports: Callable[[], Collection[str]] | None = None,
    held: Collection[str] = (),
) -> WriteResult:
    """Make OUT hold `contents` (relative path -> text), keeping the manifest; see the module doc.

    `reports` gives the report and index files the run will render next (asked only when something
    is written, as only then are they rendered): a user's file at one of those names is a conflict
    now, before anything is written. `held` files (a DAG the user owns, or edited: airflow2kfp.ownership)
    are left as they are, their manifest entries too. Raises OutputConflict (nothing written) and OutputFault (a file
    system fault; nothing changed, or every replaced file put back).
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise fault(error, "cannot create the output folder", out_dir) from None
    with locked(out_dir):
        remove_leftovers(out_dir)
        manifest = read_manifest(out_dir)
        conflicts, changed, orphans = plan_conflicts(out_dir, contents, manifest, prune, held)
        if reports is not None and (changed or (prune and orphans)):  # else no render follows (or it checks)
            conflicts += report_conflicts(out_dir, reports(), manifest)
        if conflicts and (not force or any(c.reason == ESCAPES for c in conflicts)):
            raise OutputConflict(conflicts)  # --force overwrites files in OUT, never writes outside it
        return _write_planned(out_dir, contents, manifest, changed, orphans, prune, held)


def _write_planned(
    out_dir: Path,
    contents: Mapping[str, str],
    manifest: Manifest,
    changed: list[str],
    orphans: list[str],
    prune: bool,
    held: Collection[str] = (),
) -> WriteResult:
    hashes = {relative: sha256(text) for relative, text in contents.items()}
    kept = {} if prune else {r: manifest.files[r] for r in orphans}
    kept.update({r: manifest.files[r] for r in held if r in manifest.files})  # as they were
    final = Manifest({**kept, **hashes}, {}, manifest.reports, manifest.reports_pending, manifest.legacy)
    written = set(changed)
    unchanged = tuple(r for r in contents if r not in written)
    if (
        not (changed or (prune and orphans))
        and read_regular(out_dir / MANIFEST_FILE) == _manifest_text(final).encode()
    ):
        return WriteResult(
            (), unchanged, (), tuple(orphans if not prune else ())
        )  # nothing to write: read-only OUT is fine
    removed: list[str] = []
    try:
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    except OSError as error:
        raise fault(error, "cannot write the output folder; nothing in it was changed", out_dir) from None
    try:
        try:
            staged: dict[str, Path] = {}
            for index, relative in enumerate(changed):
                staged[relative] = staging / f"new-{index}"
                staged[relative].write_text(contents[relative], encoding="utf-8")
            # the old entries stay valid while renames run, so a kill in between is not a conflict later
            _write_manifest(
                out_dir,
                Manifest(
                    {**hashes, **manifest.files},
                    {r: hashes[r] for r in changed},
                    manifest.reports,
                    manifest.reports_pending,
                    manifest.legacy,
                ),
            )
            _replace_all(out_dir, staging, staged)
        except OSError as error:
            raise fault(error, "cannot write the output folder; nothing in it was changed", out_dir) from None
        try:
            if prune:
                for relative in orphans:
                    (out_dir / relative).unlink(missing_ok=True)
                    removed.append(relative)
            _write_manifest(out_dir, final)
        except OSError as error:  # the new outputs are in place and the manifest owns them (pending)
            raise fault(
                error, "the new outputs are written, but finishing the manifest failed", out_dir
            ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return WriteResult(tuple(changed), unchanged, tuple(removed), tuple(orphans if not prune else ()))
