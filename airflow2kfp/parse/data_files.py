"""Data files a DAG file reads at import (dag-factory style: `configs/*.yaml` turned into DAGs), read
by the static reader as data only, never as code.

What a DAG file computes from its own location (`Path(__file__).parent / "configs"`,
`os.path.join(os.path.dirname(__file__), ...)`) names files of the repository. The reader lists
and reads them as Python would, with these limits, each refusal a reason the caller reports (A2K115)
and leaves the value unknown:

- only paths inside the folder being converted are listed or read, symbolic links resolved (the same
  boundary as the modules it imports: parse/modules.py `boundary_of`); a relative path is opened
  from the working folder of Airflow's process, which is not known, so it is refused too;
- only regular files named with one of DATA_SUFFIXES are read (the static run's cache key holds
  those files' bytes, and the names of every file below the DAG folders: run.py), each up to the
  file-size limit of DAG files, at most `ReadingLimits.data_files` files and
  `ReadingLimits.data_bytes` bytes per DAG file reading, and listings visit at most
  `ReadingLimits.listed_entries` entries;
- YAML is parsed with PyYAML's safe loader only, whatever loader the file names (for documents
  without tags every loader builds the same data): a tag the safe loader refuses
  (`!!python/object`...) is never constructed, the file is refused. JSON with the standard library;
- listings (`os.listdir`, `os.walk`, `glob.glob`, `Path.glob/rglob/iterdir`) come in the file
  system's order in Python, which no reading can know: they are given sorted, marked `Unordered`,
  and the interpreter says when that order could shape a DAG. A symbolic link to a folder is not
  descended into by a recursive listing (pathlib does not either; `glob.glob` does), and said.
"""

from __future__ import annotations

import codecs
import datetime as dt
import fnmatch
import json
import os
import posixpath
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from airflow2kfp.model import is_inside

if TYPE_CHECKING:  # budget.py loads libcst, which a fully cached run never needs (run.py imports this)
    from airflow2kfp.parse.budget import ReadingLimits

# the names of the files read as data; the static run's cache key covers them (run.py)
DATA_SUFFIXES = (".yaml", ".yml", ".json", ".sql", ".txt", ".md")
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when PyYAML has it
_MAGIC = frozenset("*?[")


@dataclass(frozen=True)
class Refused:
    """Why a path was not listed or read: a phrase that follows the path in a message."""

    why: str


class Unordered(list):  # type: ignore[type-arg]
    """A listing in the file system's order in Python, here sorted: only `sorted(...)` makes the
    order one the DAG file can count on. `counted`: items numbered in that order (`enumerate`)."""

    counted = False


def unordered(items: Any, *, counted: bool = False) -> Unordered:
    found = Unordered(items)
    found.counted = counted
    return found


@dataclass
class DataFiles:
    """The data files and folders one DAG file reading looks at, inside `boundary`, under budgets."""

    boundary: str  # real path of the folder being converted
    limits: ReadingLimits
    max_bytes: int  # per file: the limit of DAG files (--max-file-size)
    read_count: int = 0
    read_bytes: int = 0
    listed: int = 0
    incomplete: list[str] = field(default_factory=list)  # symbolic links to folders a listing skipped

    # -- where -------------------------------------------------------------------------------
    def inside(self, path: str) -> str | Refused:
        """The real path of `path` when it lies inside the folder being converted."""
        if "\0" in path:
            return Refused("is no valid path")
        if not posixpath.isabs(path):
            return Refused(
                "is relative: Python opens it from the working folder of Airflow's process, "
                "which the static reading does not know"
            )
        real = os.path.realpath(path)
        if not is_inside(self.boundary, real):
            return Refused("lies outside the folder being converted (symbolic links followed)")
        return real

    def test(self, path: str, what: str) -> bool | Refused:
        """`os.path.exists/isfile/isdir`, `Path.exists/is_file/is_dir` on a path inside the folder."""
        real = self.inside(path)
        if isinstance(real, Refused):
            return real
        if what == "exists":
            return os.path.exists(real)
        return os.path.isfile(real) if what == "isfile" else os.path.isdir(real)

    # -- reading -----------------------------------------------------------------------------
    def read(self, path: str) -> bytes | Refused:
        real = self.inside(path)
        if isinstance(real, Refused):
            return real
        if not real.endswith(DATA_SUFFIXES):
            return Refused(
                f"is not read as data: only files named *{', *'.join(DATA_SUFFIXES)} are (the cache "
                "of a static run covers those)"
            )
        if self.read_count >= self.limits.data_files:
            return Refused(f"is one data file too many: a DAG file may read {self.limits.data_files:,}")
        try:
            info = os.stat(real)
            if not stat.S_ISREG(info.st_mode):
                return Refused("is not a regular file")
            limit = min(self.max_bytes, self.limits.data_bytes - self.read_bytes)
            if info.st_size > limit:
                return Refused(f"is {info.st_size:,} bytes, over the {limit:,}-byte limit of data files")
            with open(real, "rb") as stream:  # noqa: PTH123 - the real path just checked
                data = stream.read(limit + 1)
        except FileNotFoundError:
            return Refused("does not exist (Airflow's import fails on it)")
        except OSError as error:
            return Refused(f"could not be read: {error.strerror or error}")
        if len(data) > limit:
            return Refused(f"is over the {limit:,}-byte limit of data files")
        self.read_count += 1
        self.read_bytes += len(data)
        return data

    # -- listing -----------------------------------------------------------------------------
    def listdir(self, path: str) -> list[str] | Refused:
        real = self.inside(path)
        if isinstance(real, Refused):
            return real
        return self._names(real)

    def _names(self, real: str) -> list[str] | Refused:
        try:
            names = sorted(os.listdir(real))
        except NotADirectoryError:
            return Refused("is not a folder")
        except FileNotFoundError:
            return Refused("does not exist (Airflow's import fails on it)")
        except OSError as error:
            return Refused(f"could not be listed: {error.strerror or error}")
        self.listed += len(names) + 1
        if self.listed > self.limits.listed_entries:
            return Refused(f"lists more than {self.limits.listed_entries:,} entries in all")
        return names

    def walk(self, top: str) -> list[tuple[str, list[str], list[str]]] | Refused:
        """`os.walk(top)` top-down, symbolic links to folders not followed (os.walk's default)."""
        real = self.inside(top)
        if isinstance(real, Refused):
            return real
        found: list[tuple[str, list[str], list[str]]] = []
        pending = [(top, real)]
        while pending:
            shown, folder = pending.pop(0)
            names = self._names(folder)
            if isinstance(names, Refused):
                if not found:
                    return names if "more than" in names.why or not os.path.isdir(folder) else []
                if "more than" in names.why:
                    return names
                continue  # os.walk skips a folder it cannot list
            dirs = [n for n in names if os.path.isdir(os.path.join(folder, n))]
            files = [n for n in names if n not in dirs]
            found.append((shown, Unordered(dirs), Unordered(files)))
            pending[:0] = [
                (posixpath.join(shown, d), os.path.join(folder, d))
                for d in dirs
                if not os.path.islink(os.path.join(folder, d))
            ]
        return found

    def glob(self, base: str, pattern: str, *, pathlib: bool, recursive: bool = True) -> list[str] | Refused:
        """The paths below `base` matching `pattern` (relative, `/`-separated), as `base`-relative
        paths: `Path(base).glob(pattern)` with `pathlib`, else `glob.glob(base/pattern)`, which
        skips hidden names unless the pattern part starts with a dot, and reads `**` as one part
        unless `recursive`."""
        real = self.inside(base)
        if isinstance(real, Refused):
            return real
        if not pattern or pattern.startswith("/"):
            return Refused("is no pattern a glob reads relative to a folder")
        parts = [p for p in pattern.split("/") if p not in ("", ".")]
        states: list[str] = [""]  # relative paths matched so far
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            following: dict[str, None] = {}
            for relative in states:
                folder = os.path.join(real, relative) if relative else real
                if part == "**" and recursive:
                    below = self._folders_below(folder, relative, hidden=pathlib)
                    if isinstance(below, Refused):
                        return below
                    if last and not pathlib:  # glob.glob: `dir/**` is every file and folder below
                        files = self._everything_below(folder, relative)
                        if isinstance(files, Refused):
                            return files
                        below = files
                    following.update(dict.fromkeys(below))
                    continue
                if not any(c in _MAGIC for c in part):
                    candidate = posixpath.join(relative, part) if relative else part
                    if os.path.lexists(os.path.join(real, candidate)) and (
                        last or os.path.isdir(os.path.join(real, candidate))
                    ):
                        following[candidate] = None
                    continue
                if not os.path.isdir(folder):
                    continue
                if not is_inside(self.boundary, os.path.realpath(folder)):
                    self.incomplete.append(folder)
                    continue
                names = self._names(folder)
                if isinstance(names, Refused):
                    if "more than" in names.why:
                        return names
                    continue
                for name in names:
                    if not pathlib and name.startswith(".") and not part.startswith("."):
                        continue
                    if fnmatch.fnmatchcase(name, part) and (
                        last or os.path.isdir(os.path.join(folder, name))
                    ):
                        following[posixpath.join(relative, name) if relative else name] = None
            states = list(following)
        return [s for s in states if s]

    def _folders_below(self, folder: str, relative: str, *, hidden: bool) -> list[str] | Refused:
        """`relative` itself and every folder below it, symbolic links to folders not followed."""
        found = [relative]
        pending = [(folder, relative)]
        while pending:
            current, shown = pending.pop()
            names = self._names(current)
            if isinstance(names, Refused):
                if "more than" in names.why:
                    return names
                continue
            for name in names:
                if not hidden and name.startswith("."):
                    continue
                path = os.path.join(current, name)
                if os.path.isdir(path):
                    if os.path.islink(path):
                        self.incomplete.append(path)
                        continue
                    child = posixpath.join(shown, name) if shown else name
                    found.append(child)
                    pending.append((path, child))
        return sorted(found)

    def _everything_below(self, folder: str, relative: str) -> list[str] | Refused:
        walked = self.walk(folder)
        if isinstance(walked, Refused):
            return walked
        found: list[str] = [relative] if relative else []
        for current, dirs, files in walked:
            inner = posixpath.relpath(current, folder)
            prefix = relative if inner == "." else posixpath.join(relative, inner) if relative else inner
            for name in [*dirs, *files]:
                if not name.startswith("."):
                    found.append(posixpath.join(prefix, name) if prefix else name)
        return sorted(found)


# -- parsing ---------------------------------------------------------------------------------
def decode(data: bytes, encoding: Any) -> str | Refused:
    """Bytes as text, as `open(path, encoding=...)` reads them (UTF-8 where none is named: what
    Airflow's processes run with)."""
    name = "utf-8" if encoding is None else encoding
    if not isinstance(name, str):
        return Refused("is opened with an encoding the static reading does not know")
    try:
        if not codecs.lookup(name)._is_text_encoding:
            return Refused(f"is opened with {name!r}, which is not a text encoding")
        return data.decode(name)
    except LookupError:
        return Refused(f"is opened with the unknown encoding {name!r}")
    except UnicodeDecodeError as error:
        return Refused(f"is not valid {name} text (byte {error.start})")


def load_yaml(text: str | bytes, *, every_document: bool = False) -> Any:
    """`yaml.safe_load` (`safe_load_all` with `every_document`), or why not."""
    try:
        if every_document:
            return list(yaml.load_all(text, Loader=_SAFE_LOADER))
        return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - the safe loader, libyaml's or PyYAML's
    except yaml.constructor.ConstructorError as error:
        return Refused(
            f"holds {_problem(error)}, which PyYAML's safe loader refuses: it is never constructed"
        )
    except yaml.YAMLError as error:
        return Refused(f"is not valid YAML: {_problem(error)}")


def load_json(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except (ValueError, TypeError) as error:  # JSONDecodeError, UnicodeDecodeError, a too-long integer
        return Refused(f"is not valid JSON: {error}")


def _problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError):
        where = f" (line {error.problem_mark.line + 1})" if error.problem_mark is not None else ""
        return f"{error.problem or error.context or 'an error'}{where}"
    return str(error)


def as_reader_values(value: Any) -> Any:
    """Loaded data as the reader's values: dates and times as the ISO text the reader gives
    `datetime(...)` (evaluate.make_datetime); a container shared by YAML aliases stays shared."""
    made: dict[int, Any] = {}

    def convert(item: Any) -> Any:
        if isinstance(item, (dt.datetime, dt.date)):
            return item.isoformat()
        if not isinstance(item, (list, tuple, dict, set)):
            return item
        if id(item) in made:
            return made[id(item)]
        if isinstance(item, dict):
            result: Any = {}
            made[id(item)] = result
            result.update({convert(k): convert(v) for k, v in item.items()})
        elif isinstance(item, list):
            result = []
            made[id(item)] = result
            result.extend(convert(v) for v in item)
        else:
            result = type(item)(convert(v) for v in item)
            made[id(item)] = result
        return result

    return convert(value)
