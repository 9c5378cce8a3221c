"""Where `--sarif`, `--junit` and `--markdown` go: checked before a run starts, written as a shell
redirect would write them.

The user names these files, so they are not the output folder's (no manifest): a symbolic link is
followed to the file it points to, as `> link` would; a FIFO, a device, a socket or a folder there is
refused (as root, replacing `/dev/full` with a regular file would break the machine), and so is a
folder that does not exist. Both are usage errors before any work starts. The file is replaced in
one rename, keeping its permissions, so a reader never sees half of it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from airflow2kfp.config import ConfigError
from airflow2kfp.outputs import fault, remove_parts, write_atomic

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link that leads nowhere"),
)


def _not_regular(path: Path) -> str | None:
    """What stands at `path` if it is neither missing nor a regular file (links not followed)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"unusable ({error.strerror})"
    return (
        None
        if stat.S_ISREG(mode)
        else next((name for test, name in _KINDS if test(mode)), "not a regular file")
    )


def target(option: str, path: Path) -> Path:
    """The file `option` writes to: `path` with its links followed. ConfigError (a usage error, exit
    2) when that is not a regular file or cannot be created in an existing folder."""
    resolved = Path(os.path.realpath(path))
    if not resolved.parent.is_dir():
        raise ConfigError(f"{option} {path}: the folder {resolved.parent} does not exist")
    kind = _not_regular(resolved)
    if kind:
        where = "" if resolved == path.absolute() else f" ({resolved})"
        raise ConfigError(f"{option} {path}: {kind} is there{where}; it must be a regular file or not exist")
    return resolved


def write(option: str, resolved: Path, text: str) -> None:
    """Write a file `target` accepted: replaced atomically, keeping the permissions it had (a new
    one gets 0666 less the umask). OutputFault when the file system refuses (read-only, full)."""
    kind = _not_regular(resolved)
    if kind:  # changed since the run started
        raise ConfigError(f"{option} {resolved}: {kind} is there now; it must be a regular file or not exist")
    try:
        mode = stat.S_IMODE(os.stat(resolved).st_mode) if resolved.exists() else None
        remove_parts(resolved.parent, resolved.name)  # what a killed run left next to it
        write_atomic(resolved, text, mode=mode)
    except OSError as error:
        raise fault(error, f"cannot write {option}", resolved) from None
