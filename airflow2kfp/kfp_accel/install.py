"""Applying the table and undoing it: `accelerated()` installs on entry and restores kfp on the last exit.

Entries nest (a count, under a lock): compile_source enters for each compilation, and a worker
process that only compiles may enter once for its lifetime (`keep`), so that each compilation's
entry costs nothing. Each replacement is built once per kfp value it stands for and kept across
installs, so its memos outlive an uninstall (they are pure functions of their arguments).
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from airflow2kfp.kfp_accel import guard, lazy_import
from airflow2kfp.kfp_accel.patch import ABSENT, Patch, found_under

_LOCK = threading.RLock()
_APPLIED: list[tuple[Any, str, Any]] = []  # (owner, name, its own value before) in the order applied
_BUILT: dict[str, tuple[Any, Any]] = {}  # patch target -> (kfp value, replacement built from it)
_OWNERS: dict[str, tuple[Any, str]] = {}  # patch target -> (module or class, attribute name): found once


class _State:
    depth = 0  # accelerated() entries not exited yet
    active = False  # the table is installed


def table() -> tuple[Patch, ...]:
    from airflow2kfp.kfp_accel.patches import PATCHES  # imports kfp's internals: only when installing

    return PATCHES


def replacement(patch: Patch, kfp_value: Any) -> Any:
    """The replacement for `patch` built from kfp's value, the same object each time for that value."""
    built = _BUILT.get(patch.target)
    if built is None or built[0] is not kfp_value:
        built = _BUILT[patch.target] = (kfp_value, patch.replace(kfp_value))
    return built[1]


def original(patch: Patch) -> Any:
    """kfp's value that `patch`'s replacement was last built from (the one it stands for while installed)."""
    return _BUILT[patch.target][0]


def install() -> bool:
    """Apply every patch of the table, kfp imported first (its unused modules lazily); False, with
    nothing applied, when the guard says plain kfp, or when a patch could not be built (a warning)."""
    found = guard.verdict()
    if not found.accelerate:
        guard.warn_once(found)
        return False
    lazy_import.import_kfp()
    applied: list[tuple[Any, str, Any]] = []
    try:
        for patch in table():
            place = _OWNERS.get(patch.target)
            if place is None:
                place = _OWNERS[patch.target] = patch.owner()
            owner, name = place
            own = vars(owner).get(name, ABSENT)
            ours = replacement(patch, found_under(owner, name))
            setattr(owner, name, ours)
            applied.append((owner, name, own))
    except Exception as error:  # noqa: BLE001 - kfp's own code still works: run it
        _restore(applied)
        guard.warn_once(
            guard.Verdict(False, f"a patch could not be applied ({type(error).__name__}: {error})")
        )
        return False
    _APPLIED[:] = applied
    return True


def uninstall() -> None:
    """Put back every attribute install() replaced, last first."""
    _restore(_APPLIED)
    _APPLIED.clear()


def _restore(applied: list[tuple[Any, str, Any]]) -> None:
    for owner, name, own in reversed(applied):
        if own is ABSENT:
            if name in vars(owner):
                delattr(owner, name)
        else:
            setattr(owner, name, own)


class Acceleration:
    """`with accelerated() as active:` kfp patched within (active True), or plain kfp (False)."""

    def __enter__(self) -> bool:
        with _LOCK:
            if _State.depth == 0:
                _State.active = install()
            _State.depth += 1
            return _State.active

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        with _LOCK:
            _State.depth -= 1
            if _State.depth == 0 and _State.active:
                uninstall()
                _State.active = False


def accelerated() -> Acceleration:
    """kfp patched within (nesting: the last exit restores kfp), unless the guard says plain kfp."""
    return Acceleration()


_KEPT: list[Acceleration] = []


def keep() -> bool:
    """Enter accelerated() once for the rest of this process (a worker that compiles until it exits);
    whether kfp is patched."""
    with _LOCK:
        if not _KEPT:
            kept = accelerated()
            kept.__enter__()
            _KEPT.append(kept)  # never exited: referenced until the process ends
        return _State.active


def active() -> bool:
    """Whether the table is installed now."""
    return _State.active
