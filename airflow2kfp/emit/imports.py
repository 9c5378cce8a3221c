"""The import block of a generated file, laid out as isort (and ruff's I001 rule) lays it out.

The standard library first, then third-party modules, a blank line between; within a section, plain
`import x` lines before `from x import y` lines, each sorted by module name; the names one
`from` line imports merged and sorted constants first, then classes, then the rest. An `as` import
keeps a line of its own, as isort writes it by default.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable


def import_block(lines: Iterable[str]) -> str:
    """The lines (each one `import ...` or `from ... import ...` statement) as one sorted block."""
    plain: dict[bool, set[str]] = {True: set(), False: set()}  # in the standard library -> lines
    merged: dict[bool, dict[str, set[str]]] = {True: {}, False: {}}  # -> module -> names
    aliased: dict[bool, set[tuple[str, str]]] = {True: set(), False: set()}  # -> (module, `name as alias`)
    for line in lines:
        (statement,) = ast.parse(line).body
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                text = f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
                plain[_standard(alias.name)].add(text)
        elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            standard = _standard(statement.module)
            for alias in statement.names:
                if alias.asname:
                    aliased[standard].add((statement.module, f"{alias.name} as {alias.asname}"))
                else:
                    merged[standard].setdefault(statement.module, set()).add(alias.name)
        else:
            raise ValueError(f"not an absolute import statement: {line!r}")
    sections = []
    for standard in (True, False):
        froms = [
            (module, ", ".join(sorted(names, key=_member_order)))
            for module, names in merged[standard].items()
        ]
        froms += sorted(aliased[standard])
        section = sorted(plain[standard], key=lambda text: _module_order(text.split()[1]))
        section += [
            f"from {module} import {names}"
            for module, names in sorted(froms, key=lambda item: (_module_order(item[0]), item[1]))
        ]
        if section:
            sections.append("\n".join(section))
    return "\n\n".join(sections)


def _standard(module: str) -> bool:
    return module.partition(".")[0] in sys.stdlib_module_names


def _module_order(module: str) -> tuple[str, str]:
    return module.lower(), module


def _member_order(name: str) -> tuple[int, str, str]:
    """isort's order-by-type: CONSTANTS, then Classes, then functions and variables."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name.lower(), name
