"""A Python callable's source made standalone: the function plus what it uses from its module.

KFP v1 lightweight components copy one function's source into the container, so everything the
callable reaches at module level - imports, constants, helper functions and classes - must travel
inside it. This module finds those statements with libcst (and the standard `symtable` for the
names a piece of code reads), transitively, in file order. It never runs the DAG file.

What is knowingly not carried: names bound only inside an enclosing function (a `@task` defined in
a `@dag` function that reads the function's locals), module-level values built from Airflow objects
(`dag = DAG(...)`, `Variable.get(...)` at import time); both are returned as `missing`.
"""

from __future__ import annotations

import builtins
import symtable
import textwrap
from dataclasses import dataclass
from functools import lru_cache

import libcst as cst

BUILTINS = frozenset(dir(builtins))
AIRFLOW_PREFIXES = ("airflow", "airflow.")


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str  # "positional" (may be passed by position), "keyword_only", "var_positional", "var_keyword"
    has_default: bool


@dataclass(frozen=True)
class StandaloneCallable:
    """The callable's source without its decorators, and the module-level code it needs."""

    name: str
    function: str  # `def ...` (or `name = lambda ...`), dedented, decorators removed
    parameters: tuple[Parameter, ...]
    prelude: tuple[str, ...]  # module-level statements it needs, in file order
    prelude_names: frozenset[str]  # names the prelude binds
    airflow_names: tuple[str, ...]  # Airflow imports it needs: the image must have Airflow
    missing: tuple[str, ...]  # names it reads that are bound nowhere it can be carried from
    string_literals: frozenset[str]  # string constants in its body (context keys read from **kwargs)

    @property
    def accepts_var_keyword(self) -> bool:
        return any(p.kind == "var_keyword" for p in self.parameters)


@dataclass(frozen=True)
class _Binding:
    index: int  # position in the module body: the prelude keeps the file's order
    source: str
    reads: frozenset[str]
    airflow_import: bool
    builds_airflow_object: bool  # an assignment whose value uses Airflow names: not carried


def standalone(name: str, source: str, module_source: str | None) -> StandaloneCallable | None:
    """The callable `name` (its `source` as the reader gave it) with what it needs from the module.

    Returns None when the source does not parse as a function or lambda definition.
    """
    function = _strip_decorators(source, name)
    if function is None:
        return None
    text, parameters, literals = function
    bindings = _module_bindings(module_source) if module_source else {}
    needed = _reads(text)
    seen: set[str] = set()
    chosen: dict[tuple[int, str], _Binding] = {}  # (position, source): one import line binds several
    airflow: set[str] = set()
    missing: set[str] = set()
    todo = sorted(needed - {name})
    while todo:
        wanted = todo.pop()
        if wanted in seen:
            continue
        seen.add(wanted)
        binding = bindings.get(wanted)
        if binding is None or binding.builds_airflow_object:
            if wanted not in BUILTINS:
                missing.add(wanted)
            continue
        if binding.airflow_import:
            airflow.add(wanted)
        chosen[(binding.index, binding.source)] = binding
        todo.extend(sorted(binding.reads - seen))
    prelude = tuple(chosen[i].source for i in sorted(chosen))
    bound = frozenset(n for n, b in bindings.items() if (b.index, b.source) in chosen)
    return StandaloneCallable(name, text, parameters, prelude, bound, tuple(sorted(airflow)),
                              tuple(sorted(missing)), frozenset(literals))


def _strip_decorators(source: str, name: str) -> tuple[str, tuple[Parameter, ...], set[str]] | None:
    try:
        module = cst.parse_module(textwrap.dedent(source).strip() + "\n")
    except cst.ParserSyntaxError:
        return None
    definition = next((s for s in module.body if isinstance(s, cst.FunctionDef)), None)
    if definition is None:
        expression = _lambda(module)
        if expression is None:
            return None
        text = f"{name} = {module.code_for_node(expression)}\n"  # a lambda, bound to a name to call it
        return text, _parameters(expression.params), _literals(expression)
    bare = definition.with_changes(decorators=(), leading_lines=())
    return module.code_for_node(bare), _parameters(definition.params), _literals(definition.body)


def _lambda(module: cst.Module) -> cst.Lambda | None:
    if len(module.body) != 1 or not isinstance(module.body[0], cst.SimpleStatementLine):
        return None
    statement = module.body[0].body[0]
    if isinstance(statement, cst.Expr) and isinstance(statement.value, cst.Lambda):
        return statement.value
    return None


def _parameters(params: cst.Parameters) -> tuple[Parameter, ...]:
    found = [Parameter(p.name.value, "positional", p.default is not None)
             for p in (*params.posonly_params, *params.params)]
    if isinstance(params.star_arg, cst.Param):
        found.append(Parameter(params.star_arg.name.value, "var_positional", False))
    found += [Parameter(p.name.value, "keyword_only", p.default is not None) for p in params.kwonly_params]
    if params.star_kwarg is not None:
        found.append(Parameter(params.star_kwarg.name.value, "var_keyword", False))
    return tuple(found)


def _literals(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class Visitor(cst.CSTVisitor):
        def visit_SimpleString(self, string: cst.SimpleString) -> None:
            value = string.evaluated_value
            if isinstance(value, str):
                found.add(value)

    node.visit(Visitor())
    return found


def _reads(code: str) -> set[str]:
    """Global names the code reads, at any nesting depth (what it needs from its surroundings)."""
    try:
        table = symtable.symtable(code, "<callable>", "exec")
    except SyntaxError:
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
    # a name the code binds itself at its top level (the def's own name, an assignment) is not needed
    return names - module_assigned


@lru_cache(maxsize=32)
def _module_bindings(module_source: str) -> dict[str, _Binding]:
    """Module-level statements by the names they bind; later bindings win, as at run time."""
    try:
        module = cst.parse_module(module_source)
    except cst.ParserSyntaxError:
        return {}
    airflow_names = _airflow_imports(module)
    bindings: dict[str, _Binding] = {}
    for index, statement in enumerate(module.body):
        names, is_import = _bound_names(statement)
        if not names:
            continue
        code = module.code_for_node(statement.with_changes(leading_lines=()))
        reads = frozenset(_reads(code)) if not is_import else frozenset()
        binding = _Binding(
            index=index,
            source=code.rstrip("\n"),
            reads=reads,
            airflow_import=is_import and bool(names & airflow_names),
            builds_airflow_object=not is_import and not isinstance(statement, (cst.FunctionDef, cst.ClassDef))
            and bool(reads & airflow_names),
        )
        for bound in names:
            bindings[bound] = binding if not is_import else _single_import(statement, bound, index, module,
                                                                            bound in airflow_names)
    return bindings


def _airflow_imports(module: cst.Module) -> set[str]:
    names: set[str] = set()
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and small.module is not None:
                dotted = cst.Module([]).code_for_node(small.module)
                if dotted.startswith(AIRFLOW_PREFIXES) and not isinstance(small.names, cst.ImportStar):
                    names |= {_alias_name(a) for a in small.names}
            elif isinstance(small, cst.Import):
                names |= {_alias_name(a) for a in small.names
                          if cst.Module([]).code_for_node(a.name).startswith(AIRFLOW_PREFIXES)}
    return names


def _alias_name(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return cst.Module([]).code_for_node(alias.name).split(".")[0]


def _single_import(statement: cst.CSTNode, name: str, index: int, module: cst.Module, airflow: bool) -> _Binding:
    """One imported name as its own statement: `from x import a, b` carries only what is used."""
    assert isinstance(statement, cst.SimpleStatementLine)
    for small in statement.body:
        if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(small.names, cst.ImportStar):
            for alias in small.names:
                if _alias_name(alias) == name:
                    one = small.with_changes(names=[alias.with_changes(comma=cst.MaybeSentinel.DEFAULT)])
                    if isinstance(one, cst.ImportFrom):
                        one = one.with_changes(lpar=None, rpar=None)
                    return _Binding(index, module.code_for_node(one), frozenset(), airflow, False)
    raise AssertionError(f"{name} is not imported by this statement")


def _bound_names(statement: cst.CSTNode) -> tuple[set[str], bool]:
    """Names a module-level statement binds, and whether it is an import."""
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        return {statement.name.value}, False
    if not isinstance(statement, cst.SimpleStatementLine):
        return set(), False  # `with DAG(...)`, `if`, loops: DAG-building code, not carried
    names: set[str] = set()
    is_import = False
    for small in statement.body:
        if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(small.names, cst.ImportStar):
            is_import = True
            names |= {_alias_name(a) for a in small.names}
        elif isinstance(small, cst.Assign):
            for target in small.targets:
                names |= _target_names(target.target)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            names |= _target_names(small.target)
    return names, is_import


def _target_names(target: cst.BaseExpression) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return {n for element in target.elements for n in _target_names(element.value)}
    return set()
