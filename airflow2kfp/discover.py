"""Finding DAG files the way Airflow's DAG processor does, plus include/exclude globs.

Airflow walks the DAG folder, reads `.airflowignore` in every folder (its patterns apply to that
folder and everything below it), and keeps `.py` files whose bytes mention "airflow" and "dag"
(Airflow 3 also "asset": an `@asset` file defines a DAG; `might_contain_dag_via_default_heuristic`). `.airflowignore` lines are regular
expressions searched in the path relative to the DAG folder (`[core] DAG_IGNORE_FILE_SYNTAX =
regexp`, the default) or gitignore-style globs (`glob`); both are implemented here as Airflow does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pathspec import GitIgnoreSpec
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

IGNORE_FILE = ".airflowignore"
IgnoreSyntax = Literal["regexp", "glob"]


@dataclass(frozen=True)
class DiscoveryOptions:
    include: tuple[str, ...] = ()  # gitignore-style globs relative to the source folder; empty = all
    exclude: tuple[str, ...] = ()
    all_files: bool = False  # read every .py file, not only those that mention DAG and airflow
    ignore_syntax: IgnoreSyntax = "regexp"


@dataclass(frozen=True)
class Found:
    path: Path
    display: str  # as the user named it, for messages and reports
    root: Path  # the DAG folder it was found under (its parent for a file named directly)


def display_path(path: Path) -> str:
    """The path as messages, reports and outputs show it: bytes of its name that are not UTF-8
    (which Python keeps as lone surrogates, that no output could hold) as `\\xNN` escapes."""
    text = str(path)
    return text if text.isascii() else os.fsencode(text).decode("utf-8", "backslashreplace")


_SCAN_CHUNK = 1 << 20
# how much of a file the heuristic reads at most: a DAG file names Airflow and DAG near its top,
# and a file of gigabytes (a generated helper module, a data file named .py) must cost nothing
SCAN_LIMIT = 64 << 20


def might_contain_dag(path: Path) -> bool:
    """Airflow's default heuristic: the file's bytes contain b"airflow" and b"dag" or b"asset" (any
    case; Airflow 2 looks for "dag" only, but an `@asset` file, which only Airflow 3 reads, is a DAG there).

    Read in chunks and at most SCAN_LIMIT bytes, so a file of gigabytes costs neither memory nor
    much time (a chunk keeps the end of the one before, so a word across two chunks is found); a
    DAG file that large is then reported as too large to read, as one under the limit would be."""
    try:
        if not path.is_file():  # a FIFO named x.py would block the read forever
            return True  # let the reader report why it cannot be read
        found = {b"dag": False, b"asset": False, b"airflow": False}
        tail = b""
        with path.open("rb") as stream:
            for _ in range(SCAN_LIMIT // _SCAN_CHUNK):
                if found[b"airflow"] and (found[b"dag"] or found[b"asset"]):
                    break
                chunk = stream.read(_SCAN_CHUNK)
                if not chunk:
                    break
                window = tail + chunk.lower()
                for word in found:
                    found[word] = found[word] or word in window
                tail = window[-(len(b"airflow") - 1) :]
    except OSError:
        return True  # let the reader report why it cannot be read
    return found[b"airflow"] and (found[b"dag"] or found[b"asset"])


@dataclass(frozen=True)
class _RegexpRule:
    pattern: re.Pattern[str]
    base_dir: Path

    def matches(self, path: Path, is_dir: bool) -> bool:
        return self.pattern.search(str(path.relative_to(self.base_dir))) is not None


@dataclass(frozen=True)
class _GlobRule:
    regex: re.Pattern[str]
    raw: str
    include: bool
    relative_to: Path | None  # set when the pattern is anchored: it has a "/" at the start or middle


def _read_ignore_lines(ignore_file: Path) -> list[str]:
    text = ignore_file.read_text(encoding="utf-8", errors="replace")
    # as Airflow: everything after "#" is a comment; blank lines are skipped
    return [line for line in (re.sub(r"\s*#.*", "", raw) for raw in text.split("\n")) if line]


def _compile(
    line: str, syntax: IgnoreSyntax, base_dir: Path, ignore_file: Path
) -> _RegexpRule | _GlobRule | None:
    if syntax == "regexp":
        try:
            return _RegexpRule(re.compile(line), base_dir)
        except re.error:
            return None  # Airflow logs and skips an invalid regexp
    if line.strip() == "/":
        return None
    anchored = line.startswith("/") or "/" in line.rstrip("/")
    pattern = GitIgnoreSpecPattern(line)
    if pattern.include is None or pattern.regex is None:
        return None
    return _GlobRule(pattern.regex, line, pattern.include, ignore_file.parent if anchored else None)


def _ignored(
    path: Path, is_dir: bool, rules: Sequence[_RegexpRule | _GlobRule], syntax: IgnoreSyntax
) -> bool:
    if syntax == "regexp":
        return any(rule.matches(path, is_dir) for rule in rules if isinstance(rule, _RegexpRule))
    matched = False
    for rule in rules:  # later globs override earlier ones, so "!keep.py" can re-include
        if not isinstance(rule, _GlobRule):
            continue
        relative = str(path.relative_to(rule.relative_to)) if rule.relative_to else path.name
        if rule.raw.endswith("/") and is_dir:
            relative += "/"
        if rule.regex.match(relative):
            matched = rule.include
    return matched


def walk_dag_folder(root: Path, syntax: IgnoreSyntax) -> Iterable[Path]:
    """Every file below `root` not ignored by an `.airflowignore`, in sorted order."""
    rules_by_dir: dict[Path, list[_RegexpRule | _GlobRule]] = {}
    seen: set[Path] = set()
    for current, dirs, files in os.walk(root, followlinks=True):
        here = Path(current)
        real = here.resolve()
        if real in seen:  # a symlink loop: Airflow raises; we just stop descending
            dirs[:] = []
            continue
        seen.add(real)
        rules = list(rules_by_dir.get(here, []))
        ignore_file = here / IGNORE_FILE
        if ignore_file.is_file():
            compiled = (_compile(line, syntax, root, ignore_file) for line in _read_ignore_lines(ignore_file))
            rules = list(dict.fromkeys([*rules, *(rule for rule in compiled if rule is not None)]))
        dirs[:] = sorted(
            d for d in dirs if d != "__pycache__" and not _ignored(here / d, True, rules, syntax)
        )
        for sub in dirs:
            rules_by_dir[here / sub] = rules
        for name in sorted(files):
            if name != IGNORE_FILE and not _ignored(here / name, False, rules, syntax):
                yield here / name


def _spec(patterns: tuple[str, ...]) -> GitIgnoreSpec | None:
    return GitIgnoreSpec.from_lines(patterns) if patterns else None


def discover(sources: Iterable[Path], options: DiscoveryOptions = DiscoveryOptions()) -> list[Found]:
    """The DAG files to convert: files named directly always count; folders are walked as Airflow does.

    Include/exclude globs match paths relative to the folder named on the command line.
    """
    include, exclude = _spec(options.include), _spec(options.exclude)
    found: dict[Path, Found] = {}
    for source in sources:
        if not source.is_dir():
            found.setdefault(source.absolute(), Found(source, display_path(source), source.parent))
            continue
        for path in walk_dag_folder(source, options.ignore_syntax):
            if path.suffix != ".py":
                continue
            relative = path.relative_to(source).as_posix()
            if include and not include.match_file(relative):
                continue
            if exclude and exclude.match_file(relative):
                continue
            if not options.all_files and not might_contain_dag(path):
                continue
            found.setdefault(path.absolute(), Found(path, display_path(path), source))
    return list(found.values())
