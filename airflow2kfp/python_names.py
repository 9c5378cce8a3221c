"""The global names a piece of Python code reads, from the standard `symtable` (nothing is run).

Shared by the static reader (which names a callable takes from the function around it) and the
mapping (which module-level statements must travel into a step with the callable).
"""

from __future__ import annotations

import symtable


def names_read(code: str) -> set[str]:
    """Global names the code reads, at any nesting depth (what it needs from its surroundings).

    A name the code binds itself at its top level (the def's own name, an assignment) is not
    needed; code that does not compile reads nothing.
    """
    try:
        table = symtable.symtable(code, "<callable>", "exec")
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    module_assigned = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}

    def walk(scope: symtable.SymbolTable, top: bool) -> None:
        for symbol in scope.get_symbols():
            if symbol.is_referenced() and (top or symbol.is_global()):
                names.add(symbol.get_name())
        for child in scope.get_children():
            walk(child, False)

    walk(table, True)
    return names - module_assigned
