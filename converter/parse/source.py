"""Reading a DAG file's bytes into text, with every way that can fail turned into a diagnostic."""

from __future__ import annotations

from pathlib import Path

from converter.diagnostics import Diagnostic, diag

_BOM = b"\xef\xbb\xbf"


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
    if data.startswith(_BOM):  # Python accepts a UTF-8 BOM; libcst wants text without it
        data = data[len(_BOM):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return diag("A2K102", f"Byte {error.start} is not valid UTF-8.", file=display, line=line)
