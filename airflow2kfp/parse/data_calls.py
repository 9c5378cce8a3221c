"""Calls that read the repository's data files, paths and the module's namespace, as the interpreter
evaluates them: `open(...)`, `Path.glob/read_text/open`, `os.listdir/walk`, `glob.glob`,
`yaml.safe_load`, `json.load(s)`, `datetime.strptime`, `globals()`.

Files are listed and read by parse/data_files.py, inside the folder being converted and under the
reading's budgets; every refusal is an A2K115 warning at the call, and the value is left unknown
(what is built from it then says so with the usual diagnostics).
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
from pathlib import PurePosixPath
from typing import Any

import libcst as cst

from airflow2kfp.diagnostics import Severity
from airflow2kfp.model import Unresolved
from airflow2kfp.parse.data_files import (
    DataFiles,
    Refused,
    Unordered,
    as_reader_values,
    decode,
    load_json,
    load_yaml,
)
from airflow2kfp.parse.importing import Importing
from airflow2kfp.parse.imports import DATA_LOAD_CALLS, DATA_TIME_CALLS
from airflow2kfp.parse.state import short
from airflow2kfp.parse.values import DataFileValue, GlobalsValue, Ref, Scope

# `yaml.load(..., Loader=X)`: every loader builds the same data from a document without tags, and
# the document is always read with the safe loader (a tag it refuses is never constructed)
_YAML_LOADERS = frozenset(
    f"yaml{where}.{prefix}{name}"
    for where in ("", ".loader", ".cyaml")
    for prefix in ("", "C")
    for name in ("SafeLoader", "FullLoader", "Loader", "UnsafeLoader")
)
_READ_MODES = frozenset({"r", "rt", "tr", "rb", "br"})
_PATH_TESTS = {"exists": "exists", "is_file": "isfile", "is_dir": "isdir"}
_PURE_PATH_METHODS = frozenset({"joinpath", "with_suffix", "with_name", "with_stem", "relative_to", "match"})


class DataCalls(Importing):
    _data: DataFiles | None = None
    _said: set[tuple[str, int | None, str]]

    @property
    def data(self) -> DataFiles | None:
        """The data files of this reading; None when the reading has no folder (no finder)."""
        if self._data is None and self.finder is not None:
            self._data = DataFiles(self.finder.boundary, self.limits, self.max_bytes)
            self._said = set()
        return self._data

    def refuse(self, node: cst.CSTNode, path: Any, refused: Refused) -> Unresolved:
        """A2K115 at the call (once per line and reason), and the call's value unknown."""
        shown = self.shown_path(path)
        message = (
            f"`{short(self.source(node))}`: {shown} {refused.why}; it is not read, and what the file "
            "builds from it is not known statically."
        )
        where = (self.file, self.span(node).line or None, message)
        if self.data is not None and where not in self._said:
            self._said.add(where)
            self.report("A2K115", message, node, severity=Severity.WARNING)
        return self.unresolved(node)

    def shown_path(self, path: Any) -> str:
        """A path as messages show it: relative to the folder being converted when inside it."""
        text = os.fspath(path) if isinstance(path, (str, PurePosixPath)) else str(path)
        data = self.data
        if data is not None and posixpath.isabs(text):
            relative = posixpath.relpath(text, data.boundary)
            if not relative.startswith(".."):
                return repr(relative)
        return repr(text)

    # -- builtins ----------------------------------------------------------------------------
    def data_builtin(self, node: cst.Call, name: str, scope: Scope) -> Any:
        """`open(...)` and `globals()` (not shadowed by a name of the file)."""
        args, kwargs = self.arguments(node, scope)
        if args is None or kwargs is None:
            return self.unresolved(node)
        if name == "globals":
            root = scope
            while root.parent is not None:
                root = root.parent
            return GlobalsValue(self.source(node), scope=root) if not args and not kwargs else None
        names = ["file", "mode", "buffering", "encoding"]
        given = {**dict(zip(names, args, strict=False)), **kwargs}
        return self.open_file(node, given.get("file"), given.get("mode", "r"), given.get("encoding"))

    def open_file(self, node: cst.Call, path: Any, mode: Any, encoding: Any) -> Any:
        if not isinstance(path, (str, PurePosixPath)) or mode not in _READ_MODES or self.data is None:
            return self.unresolved(node)  # writing, or a path not known: nothing to read
        data = self.data.read(os.fspath(path))
        if isinstance(data, Refused):
            return self.refuse(node, path, data)
        self.charge(len(data) >> 10, node)
        return DataFileValue(
            self.source(node), path=os.fspath(path), data=data, encoding=encoding, binary="b" in mode
        )

    def file_content(self, node: cst.CSTNode, value: DataFileValue) -> str | bytes | Unresolved:
        if value.binary:
            return value.data
        text = decode(value.data, value.encoding)
        return self.refuse(node, value.path, text) if isinstance(text, Refused) else text

    def file_method(self, node: cst.Call, file: DataFileValue, name: str, scope: Scope) -> Any:
        args, kwargs = self.arguments(node, scope)
        if args or kwargs or args is None:
            return self.unresolved(node)
        if name == "read":
            return self.file_content(node, file)
        if name == "readlines":
            content = self.file_content(node, file)
            return content.splitlines(keepends=True) if isinstance(content, (str, bytes)) else content
        if name == "close":
            return None
        return self.unresolved(node)

    # -- the module's namespace --------------------------------------------------------------
    def globals_method(self, node: cst.Call, namespace: GlobalsValue, name: str, scope: Scope) -> Any:
        args, kwargs = self.arguments(node, scope)
        if args is None or kwargs is None:
            return self.unknown_call(node, args, kwargs)
        if name == "update" and len(args) <= 1:
            added = dict(args[0]) if args and isinstance(args[0], dict) else {} if not args else None
            if added is None or not all(isinstance(k, str) for k in [*added, *kwargs]):
                return self.unknown_call(node, args, kwargs)
            self.charge(len(added) + len(kwargs), node)
            namespace.scope.vars.update({**added, **kwargs})
            return None
        if name == "get" and args and isinstance(args[0], str):
            found, value = namespace.scope.lookup(args[0])
            return value if found else (args[1] if len(args) > 1 else None)
        return self.unknown_call(node, args, kwargs)

    # -- paths -------------------------------------------------------------------------------
    def path_method(self, node: cst.Call, path: PurePosixPath, name: str, scope: Scope) -> Any:
        args, kwargs = self.arguments(node, scope)
        if args is None or kwargs is None or not self.is_data([args, kwargs], node):
            return self.unresolved(node)
        if name in _PURE_PATH_METHODS:
            try:
                return getattr(path, name)(*args, **kwargs)
            except (TypeError, ValueError):
                return self.unresolved(node)
        if name == "as_posix" and not args and not kwargs:
            return path.as_posix()
        if name == "is_absolute" and not args and not kwargs:
            return path.is_absolute()
        data = self.data
        if data is None:
            return self.unresolved(node)
        if name in ("resolve", "absolute") and not args:
            real = data.inside(str(path))
            if isinstance(real, Refused):
                return self.refuse(node, path, real)
            return PurePosixPath(real) if name == "resolve" else path
        if name in _PATH_TESTS and not args:
            return self.tested(node, path, _PATH_TESTS[name])
        if name in ("glob", "rglob") and len(args) == 1 and isinstance(args[0], str) and not kwargs:
            pattern = args[0] if name == "glob" else f"**/{args[0]}"
            found = data.glob(str(path), pattern, pathlib=True)
            if isinstance(found, Refused):
                return self.refuse(node, path, found)
            self.said_incomplete(node)
            return Unordered(path / relative for relative in found)
        if name == "iterdir" and not args and not kwargs:
            names = data.listdir(str(path))
            if isinstance(names, Refused):
                return self.refuse(node, path, names)
            return Unordered(path / n for n in names)
        if name == "open":
            given = {**dict(zip(["mode", "buffering", "encoding"], args, strict=False)), **kwargs}
            return self.open_file(node, path, given.get("mode", "r"), given.get("encoding"))
        if name in ("read_text", "read_bytes"):
            given = {**dict(zip(["encoding"], args, strict=False)), **kwargs}
            opened = self.open_file(node, path, "rb" if name == "read_bytes" else "r", given.get("encoding"))
            return self.file_content(node, opened) if isinstance(opened, DataFileValue) else opened
        return self.unresolved(node)

    def tested(self, node: cst.CSTNode, path: Any, what: str) -> Any:
        """Whether a path exists (is a file, a folder); unknown outside the folder being converted,
        where nothing is looked at (an `if` on it then says what it may miss, as for any unknown)."""
        assert self.data is not None
        found = self.data.test(os.fspath(path), what)
        return self.unresolved(node) if isinstance(found, Refused) else found

    def said_incomplete(self, node: cst.CSTNode) -> None:
        """A recursive listing that skipped symbolic links to folders (Airflow's may follow them)."""
        assert self.data is not None
        if self.data.incomplete:
            skipped = self.data.incomplete[0]
            self.data.incomplete.clear()
            self.refuse(
                node,
                skipped,
                Refused(
                    "is a symbolic link to a folder, not followed by this listing (glob.glob follows it)"
                ),
            )

    # -- functions of the standard library and PyYAML ----------------------------------------
    def data_call(self, node: cst.Call, ref: Ref, args: list[Any], kwargs: dict[str, Any]) -> Any:
        name = ref.qualname
        if name in DATA_TIME_CALLS:
            return self.parsed_time(node, name, args, kwargs)
        if name in DATA_LOAD_CALLS:
            return self.load_data(node, name, args, kwargs)
        data = self.data
        if data is None:
            return self.unresolved(node)
        path = args[0] if len(args) == 1 and not kwargs else kwargs.get("path") if not args else None
        if name in ("os.path.exists", "os.path.isfile", "os.path.isdir"):
            if not isinstance(path, (str, PurePosixPath)):
                return self.unresolved(node)
            return self.tested(node, path, name.rpartition(".")[2])
        if name in ("os.path.abspath", "os.path.realpath"):
            if not isinstance(path, (str, PurePosixPath)):
                return self.unresolved(node)
            real = data.inside(os.fspath(path)) if name.endswith("realpath") else None
            if isinstance(real, Refused) or (real is None and not posixpath.isabs(os.fspath(path))):
                return self.refuse(
                    node, path, real or Refused("is relative: its folder is Airflow's working folder")
                )
            return real if real is not None else posixpath.normpath(os.fspath(path))
        if name == "os.listdir":
            if not isinstance(path, (str, PurePosixPath)):
                return self.unresolved(node)
            names = data.listdir(os.fspath(path))
            return self.refuse(node, path, names) if isinstance(names, Refused) else Unordered(names)
        if name == "os.walk":
            top = args[0] if args else kwargs.get("top")
            if not isinstance(top, (str, PurePosixPath)) or set(kwargs) - {"top"} or len(args) > 1:
                return self.unresolved(node)
            walked = data.walk(os.fspath(top))
            return self.refuse(node, top, walked) if isinstance(walked, Refused) else Unordered(walked)
        if name in ("glob.glob", "glob.iglob"):
            return self.glob_call(node, args, kwargs)
        return self.unresolved(node)

    def glob_call(self, node: cst.Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """`glob.glob(pattern, recursive=..., root_dir=...)`: the folder the pattern starts from is
        its leading parts without wildcards."""
        assert self.data is not None
        pattern = args[0] if args else kwargs.get("pathname")
        recursive = kwargs.get("recursive", False)
        root = kwargs.get("root_dir")
        if (
            len(args) > 1
            or set(kwargs) - {"pathname", "recursive", "root_dir"}
            or not isinstance(pattern, (str, PurePosixPath))
            or not isinstance(recursive, bool)
            or not (root is None or isinstance(root, (str, PurePosixPath)))
        ):
            return self.unresolved(node)
        pattern = os.fspath(pattern)
        parts = pattern.split("/")
        fixed = next((i for i, p in enumerate(parts) if any(c in "*?[" for c in p)), len(parts))
        prefix = "/".join(parts[:fixed]) or ("/" if pattern.startswith("/") else "")
        base = posixpath.join(os.fspath(root), prefix) if root is not None else prefix
        if fixed == len(parts):  # no wildcard: the path itself, if it is there
            found = self.tested(node, base, "exists")
            return Unordered([pattern] if found is True else []) if isinstance(found, bool) else found
        matched = self.data.glob(base, "/".join(parts[fixed:]), pathlib=False, recursive=recursive)
        if isinstance(matched, Refused):
            return self.refuse(node, base, matched)
        self.said_incomplete(node)
        return Unordered(posixpath.join(prefix, m) if prefix else m for m in matched)

    def load_data(self, node: cst.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        source = (
            args[0]
            if args
            else kwargs.get("stream" if name.startswith("yaml") else "s" if name == "json.loads" else "fp")
        )
        options = set(kwargs) - {"stream", "s", "fp"}
        if name.startswith("yaml.load"):
            loader = kwargs.get("Loader", args[1] if len(args) > 1 else None)
            if not (isinstance(loader, Ref) and loader.qualname in _YAML_LOADERS):
                return self.unresolved(node)  # no loader (PyYAML 6 refuses) or one not known
            options -= {"Loader"}
        if options or len(args) > (2 if name.startswith("yaml.load") else 1):
            return self.unresolved(node)
        if isinstance(source, DataFileValue):
            path: Any = source.path
            content = self.file_content(node, source)
        elif isinstance(source, (str, bytes)) and name != "json.load":
            path, content = None, source
        else:
            return self.unresolved(node)
        if isinstance(content, Unresolved):
            return content
        self.charge(len(content) >> 8, node)
        loaded = (
            load_json(content)
            if name.startswith("json")
            else load_yaml(content, every_document=name.endswith("_all"))
        )
        if isinstance(loaded, Refused):
            return self.refuse(node, path if path is not None else "the text", loaded)
        self.walk(loaded, node)  # over the size or depth budget: the reading stops here
        return as_reader_values(loaded)

    def parsed_time(self, node: cst.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """`datetime.strptime("2024-01-01", "%Y-%m-%d")` as the ISO text `datetime(2024, 1, 1)` reads as."""
        if kwargs or not all(isinstance(a, str) for a in args):
            return self.unresolved(node)
        try:
            if name.endswith("strptime") and len(args) == 2:
                return dt.datetime.strptime(args[0], args[1]).isoformat()  # noqa: DTZ007 - as the file does
            if len(args) == 1:
                kind = dt.date if name.startswith("datetime.date.") else dt.datetime
                return kind.fromisoformat(args[0]).isoformat()
        except ValueError:
            pass
        return self.unresolved(node)
