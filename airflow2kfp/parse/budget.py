"""Budgets for static reading: what one DAG file can make the reader compute, build and spend.

Static reading never runs the file, but it does evaluate the file's literal arithmetic, strings,
loops and helper calls. Unbounded, `(10**256)**256...`, `"1".zfill(3*10**9)` or nested
`range(99999)` loops of tasks ran for minutes or took gigabytes. Each budget is checked *before*
the work it bounds, wherever the size of the result can be known from the operands:

- steps: expressions and statements evaluated, plus the nodes walked when a value is measured,
  an edge is added or a value becomes part of the model (A2K110);
- integer bit length, from the operands' bit lengths before `**`, `*`, `<<` (A2K111);
- sizes: characters of a string and items of a container before they are built (format widths,
  `zfill`, `*` repetition, `replace`, joins), and the size of a value counted through its nesting
  before anything walks it whole (`str()`, comparisons, hashing) (A2K111);
- tasks per DAG (A2K112);
- wall time and memory growth while the file's statements run (A2K113): checked every
  CHECK_EVERY steps and before large values are built, with two hard stops behind them for what
  the checks miss, both raising in the reading process instead of killing it (a dead worker would
  fail the files queued behind it): SIGALRM in the main thread, and RLIMIT_AS.

Over budget, the reading of the file stops with one coded error at the line of the offending
expression, and the batch goes on. The defaults are far above what real DAG files need (a
generated 2,000-task DAG takes about 40,000 steps of 2,000,000); docs/static-reading.md lists them.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import libcst as cst

from airflow2kfp.model import SourceSpan

CHECK_EVERY = 1024  # steps between wall-time and memory checks (about a millisecond of reading)
BIG_VALUE = 1_000_000  # characters or items: building one checks time and memory first
HARD_STOP_GRACE = 5.0  # seconds past the time budget (at most a quarter of it) before SIGALRM rings


@dataclass(frozen=True)
class ReadingLimits:
    """The budgets of reading one file statically. Defaults fit every real DAG file many times over."""

    steps: int = 2_000_000  # evaluation steps per file (a generated 2,000-task DAG takes ~40,000)
    tasks_per_dag: int = 10_000  # tasks one DAG may unroll to
    int_bits: int = 14_000  # bits of an integer: Python prints at most 4,300 digits (~14,280 bits)
    size: int = 10_000_000  # characters of a string; characters plus items of a value, counted deep
    items: int = 1_000_000  # items of one list, tuple, set or dict
    depth: int = 100  # levels of nesting of a value (hashing a deeply nested tuple overflows C's stack)
    seconds: float = 60.0  # wall time to run the file's statements and build its model
    memory: int = 2 * 1024**3  # bytes the process may grow by while doing so
    # data files the file reads at import (parse/data_files.py): files, bytes in all, listed entries
    data_files: int = 1_000
    data_bytes: int = 50_000_000
    listed_entries: int = 100_000


DEFAULT_LIMITS = ReadingLimits()


@dataclass(frozen=True)
class Budget:
    """A budget's code and what it bounds, for messages."""

    code: str
    what: str


STEPS = Budget("A2K110", "evaluation steps")
VALUE = Budget("A2K111", "value size")
TASKS = Budget("A2K112", "tasks per DAG")
LIMIT = Budget("A2K113", "wall time and memory")


class OverBudget(Exception):
    """Raised where a budget is exceeded; the reading of the file stops. `where` is the span of the
    offending expression; the hard stop, which cannot look spans up where it rings, leaves it None
    and gives the statements being run instead (innermost last)."""

    def __init__(
        self,
        budget: Budget,
        message: str,
        where: SourceSpan | None = None,
        statements: tuple[cst.CSTNode, ...] = (),
    ) -> None:
        super().__init__(message)
        self.budget = budget
        self.message = message
        self.where = where
        self.statements = statements


def resident_bytes() -> int | None:
    """The process's resident memory now (Linux); None where /proc is not there."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return None


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return None


class Clock:
    """Wall time and memory growth since the reading started, checked when asked."""

    def __init__(self, limits: ReadingLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.seconds
        base = resident_bytes()
        self.memory_ceiling = None if base is None else base + limits.memory
        self.expired = False  # set by the hard stop: the next check raises, whatever swallowed the first

    def exceeded(self) -> str | None:
        """What is over budget now, or None."""
        if self.expired or time.monotonic() > self.deadline:
            self.expired = True
            return _too_long(self.limits)
        if self.memory_ceiling is not None:
            resident = resident_bytes()
            if resident is not None and resident > self.memory_ceiling:
                return memory_message(self.limits)
        return None


def _too_long(limits: ReadingLimits) -> str:
    return f"Reading the file statically took more than {limits.seconds:g} s of wall time."


def memory_message(limits: ReadingLimits) -> str:
    return f"Reading the file statically needed more than {limits.memory // 1024**2:,} MiB of memory."


@contextlib.contextmanager
def hard_stops(clock: Clock, running: Callable[[], tuple[cst.CSTNode, ...]]) -> Iterator[None]:
    """The last line of defence around a reading: SIGALRM a little after the time budget (only in
    the main thread, and only when no other timer is set) and an address-space limit a little above
    the memory budget. Both raise in this process (OverBudget, MemoryError), so the caller turns
    them into the file's error and the process lives on. `running` gives the statements being run
    when the alarm rings, for the error's line."""
    limits = clock.limits
    alarm = threading.current_thread() is threading.main_thread() and signal.getitimer(
        signal.ITIMER_REAL
    ) == (0.0, 0.0)
    previous_handler: Any = None
    armed = True  # cleared first thing on the way out: a ring after that must not raise there
    if alarm:

        def ring(signum: int, frame: Any) -> None:
            clock.expired = True
            if armed:
                raise OverBudget(LIMIT, _too_long(limits), None, running())

        previous_handler = signal.signal(signal.SIGALRM, ring)
        signal.setitimer(signal.ITIMER_REAL, limits.seconds + min(HARD_STOP_GRACE, limits.seconds / 4))
    previous_limit = _lower_address_space(limits.memory)
    try:
        yield
    finally:
        armed = False
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_handler)
        if previous_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, previous_limit)


def _lower_address_space(memory: int) -> tuple[int, int] | None:
    """Cap the address space at its current size plus `memory` and half as much again (address
    space grows faster than resident memory); the previous limits, to restore, or None."""
    current = _address_space()
    if current is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = current + memory + memory // 2
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft <= wanted:
        return None  # already at least as tight
    try:
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
    except (ValueError, OSError):
        return None
    return soft, hard
