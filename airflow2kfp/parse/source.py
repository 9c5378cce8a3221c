"""Reading a DAG file's bytes into text, with every way that can fail turned into a diagnostic.

The text is decoded as Python decodes source (PEP 263): UTF-8, a UTF-8 byte-order mark, or the
encoding a `# -*- coding: ... -*-` line names in the first two lines (`tokenize.detect_encoding`,
the standard library's own reading of those rules). A codec Python does not know, or one that is
not a text encoding, is a syntax error as Python reports it (A2K101, at the coding line); bytes
that are not valid in the file's encoding are A2K102, at their line.
"""

from __future__ import annotations

import ast
import codecs
import io
import re
import tokenize
import warnings
from pathlib import Path

from airflow2kfp.diagnostics import Diagnostic, diag

MAX_SYNTAX_DEPTH = 1000  # libcst parses ~6,000 levels before its native parser crashes
# tokenize's own pattern for a coding declaration (PEP 263), to say on which line a bad one stands
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def read_source(path: Path, display: str, max_bytes: int) -> str | Diagnostic:
    """The file's text, or the diagnostic saying why it cannot be read as Python source.

    The size check comes first (from stat, before reading) so a huge file is never loaded.
    """
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return diag("A2K105", f"The file is {size} bytes, over the {max_bytes}-byte limit.", file=display)
        if not path.is_file():
            return diag("A2K106", "The path is not a regular file.", file=display)
        data = path.read_bytes()
    except OSError as error:
        return diag("A2K106", f"The file could not be read: {error.strerror or error}.", file=display)
    return decode_source(data, display)


def decode_source(data: bytes, display: str) -> str | Diagnostic:
    """`data` decoded as Python decodes a source file, without the UTF-8 byte-order mark."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        if "invalid or missing encoding declaration" not in error.msg:  # "unknown encoding: x", a BOM...
            return diag("A2K101", f"Invalid Python: {error.msg}", file=display, line=_coding_line(data))
        encoding = "utf-8"  # the first lines are not UTF-8 and declare nothing: say where UTF-8 fails
    try:
        text = data.decode(encoding)  # rot13, hex...: "not a text encoding", as Python says
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        if encoding in ("utf-8", "utf-8-sig"):
            return diag("A2K102", f"Byte {error.start} is not valid UTF-8.", file=display, line=line)
        return diag(
            "A2K102",
            f"Byte {error.start} is not valid in the file's encoding, {encoding} (its coding line).",
            file=display,
            line=line,
        )
    except (LookupError, UnicodeError, ValueError) as error:
        return diag(
            "A2K101",
            f"Invalid Python: source encoding {encoding}: {error}",
            file=display,
            line=_coding_line(data),
        )
    if encoding not in ("utf-8", "utf-8-sig"):
        # a codec that decodes the bytes is not yet one Python reads source with (utf-16 is not):
        # its own parser of the bytes has the last word; it only parses, it runs nothing
        try:
            compile(data, display, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
        except SyntaxError as error:
            return diag(
                "A2K101",
                f"Invalid Python: {error.msg}",
                file=display,
                line=error.lineno or _coding_line(data),
                col=max((error.offset or 1) - 1, 0),
            )
        except (ValueError, RecursionError, MemoryError):
            pass  # nesting and the like: the parse of the text says it, with its line
    return text


def _coding_line(data: bytes) -> int | None:
    """The line of the coding declaration (PEP 263 allows the first two), or None."""
    for number, line in enumerate(data.splitlines()[:2], start=1):
        if _CODING.match(line.removeprefix(codecs.BOM_UTF8)):
            return number
    return 1 if data.startswith(codecs.BOM_UTF8) else None


def check_syntax(text: str, display: str) -> Diagnostic | ast.Module:
    """Syntax errors and excessive nesting, found by Python's own parser before libcst sees the text.

    `ast.parse` only parses; it runs nothing. It names errors better than libcst (`expected ':'` on
    the right line), and it fails cleanly on nesting where libcst's native parser would overflow
    the C stack and crash the process; the depth limit keeps libcst well inside what it survives.
    """
    try:
        with warnings.catch_warnings():  # invalid escapes etc. warn at import; not our concern here
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except SyntaxError as error:
        return diag(
            "A2K101",
            f"Invalid Python: {error.msg}",
            file=display,
            line=error.lineno,
            col=max((error.offset or 1) - 1, 0),
        )
    except (RecursionError, MemoryError):
        return diag("A2K107", file=display)
    if _depth(tree) > MAX_SYNTAX_DEPTH:
        depth, line, col = _max_depth(tree)
        return diag(
            "A2K107",
            f"The syntax tree is {depth} levels deep (the limit is {MAX_SYNTAX_DEPTH}).",
            file=display,
            line=line,
            col=col,
        )
    return tree


def _depth(tree: ast.AST) -> int:
    """The depth of the deepest node, level by level (iterative, and cheaper than `_max_depth`)."""
    depth, level = 0, [tree]
    while level:
        depth += 1
        level = [child for node in level for child in ast.iter_child_nodes(node)]
    return depth


def _max_depth(tree: ast.AST) -> tuple[int, int, int]:
    """The depth of the deepest node, and the line and column where it stands."""
    deepest, stack = (0, 1, 0), [(tree, 1, 1, 0)]
    while stack:  # iterative: the point is not to recurse on a deep tree
        node, depth, line, col = stack.pop()
        line, col = getattr(node, "lineno", line), getattr(node, "col_offset", col)
        deepest = max(deepest, (depth, line, col), key=lambda found: found[0])
        stack.extend((child, depth + 1, line, col) for child in ast.iter_child_nodes(node))
    return deepest
