"""When the patches may run: the versions they were checked against, and the switch back to plain kfp.

The patches replace kfp internals with code that gives kfp's own results; that was checked against
these exact releases (kfp and the libraries the patches lean on: docstring_parser's parsers,
kubernetes' V1Container and Configuration, PyYAML's emitter, parser and C binding) and this Python
(`ast` and `inspect` behaviour, bytecode line tables). Anything else runs plain kfp, with a warning
once per process. pyproject.toml pins the same versions; docs/kfp-accel.md says how to move them.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Final

# distribution name -> the version every patch was checked against
CHECKED: Final[dict[str, str]] = {
    "kfp": "1.8.22",
    "docstring-parser": "0.18.0",
    "kubernetes": "25.3.0",
    "PyYAML": "6.0.4",
}
CHECKED_PYTHON: Final = ("cpython", (3, 11))

# set to anything but "" or "0": plain kfp, without a warning (it was asked for)
PLAIN_KFP_SWITCH: Final = "AIRFLOW2KFP_PLAIN_KFP"


class KfpAccelWarning(UserWarning):
    """The installed kfp (or a library the patches lean on) is not the version they were checked
    against: plain kfp compiles, with the same output, more slowly."""


@dataclass(frozen=True)
class Verdict:
    accelerate: bool
    reason: str = ""  # why plain kfp runs, when it does
    requested: bool = False  # plain kfp because the switch asked for it


def installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def mismatches() -> list[str]:
    """What differs from the checked versions, as `name found (checked X)`; [] when nothing does."""
    found = []
    implementation, version = CHECKED_PYTHON
    if sys.implementation.name != implementation or sys.version_info[:2] != version:
        found.append(
            f"{sys.implementation.name} {sys.version_info[0]}.{sys.version_info[1]} "
            f"(checked {implementation} {version[0]}.{version[1]})"
        )
    for distribution, checked in CHECKED.items():
        version_found = installed_version(distribution)
        if version_found != checked:
            found.append(f"{distribution} {version_found or 'not installed'} (checked {checked})")
    return found


_MISMATCHES: list[list[str]] = []  # the installed versions do not change within a process


def verdict() -> Verdict:
    """Whether the patches may run in this process now (the switch is read each time)."""
    if os.environ.get(PLAIN_KFP_SWITCH, "") not in ("", "0"):
        return Verdict(False, f"{PLAIN_KFP_SWITCH} is set", requested=True)
    if not _MISMATCHES:
        _MISMATCHES.append(mismatches())
    if _MISMATCHES[0]:
        return Verdict(
            False, "not the versions the kfp speed-ups were checked against: " + ", ".join(_MISMATCHES[0])
        )
    return Verdict(True)


_WARNED: list[bool] = []


def warn_once(found: Verdict) -> None:
    """A KfpAccelWarning the first time plain kfp runs because of the versions (not when asked for)."""
    if found.accelerate or found.requested or _WARNED:
        return
    _WARNED.append(True)
    warnings.warn(f"plain kfp compiles (same output, slower): {found.reason}", KfpAccelWarning, stacklevel=4)


def said_elsewhere() -> None:
    """The run reports the verdict itself (a coded notice): no Python warning in this process or the
    workers it forks."""
    _WARNED.append(True)
