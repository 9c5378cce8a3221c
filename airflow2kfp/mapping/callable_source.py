"""A Python callable's source made standalone: the function plus what it uses from its module.

KFP v1 lightweight components copy one function's source into the container, so everything the
callable reaches at module level - imports, constants, helper functions and classes - must travel
inside it. This module finds those statements with libcst (and the standard `symtable` for the
names a piece of code reads), transitively, in file order. It never runs the DAG file.

Speed: libcst is exact but slow, and a repository has hundreds of callables. Where the standard
`ast` (C-fast) gives the same answer provably - which lines a definition spans, its parameters, its
string literals - it is used, with libcst as the fallback for anything unusual; a DAG file's
module-level bindings come from one libcst parse of only the statements that can bind names.

What is knowingly not carried: names bound only inside an enclosing function (a `@task` defined in
a `@dag` function that reads the function's locals), module-level values built from Airflow objects
(`dag = DAG(...)`, `Variable.get(...)` at import time); both are returned as `missing`.
"""

from __future__ import annotations

import ast
import builtins
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import libcst as cst

from airflow2kfp.python_names import names_read as _reads

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
    function: str  # `def ...` (a lambda as a def returning its body), dedented, decorators removed
    parameters: tuple[Parameter, ...]
    prelude: tuple[str, ...]  # module-level statements it needs, in file order
    prelude_names: frozenset[str]  # names the prelude binds
    airflow_names: tuple[str, ...]  # Airflow imports it needs: the image must have Airflow
    missing: tuple[str, ...]  # names it reads that are bound nowhere it can be carried from
    string_literals: frozenset[str]  # string constants in its body (context keys read from **kwargs)

    @property
    def accepts_var_keyword(self) -> bool:
        return any(p.kind == "var_keyword" for p in self.parameters)


@dataclass(frozen=True, eq=False)
class _Binding:
    index: int  # position in the module body: the prelude keeps the file's order
    text: Callable[[], str] = field(repr=False)  # its source; see `source`
    reads: frozenset[str]
    airflow_import: bool
    builds_airflow_object: bool  # an assignment whose value uses Airflow names: not carried

    @cached_property
    def source(self) -> str:
        """Made on first use: most bindings, such as a DAG file's Airflow imports, are never carried."""
        return self.text()


@lru_cache(maxsize=256)
def standalone(name: str, source: str, module_source: str | None) -> StandaloneCallable | None:
    """The callable `name` (its `source` as the reader gave it) with what it needs from the module.

    Returns None when the source does not parse as a function or lambda definition.
    Memoised: a pure function of its arguments, and a `@task` called in a loop, or a callable several
    PythonOperators share, asks again with the same text; the result is immutable.
    """
    function = _strip_decorators(source, name)
    if function is None:
        return None
    text, parameters, literals = function
    found = _carried(frozenset(_reads(text) - {name}), module_source)
    return StandaloneCallable(
        name,
        text,
        parameters,
        found.prelude,
        found.prelude_names,
        found.airflow_names,
        found.missing,
        frozenset(literals),
    )


@dataclass(frozen=True)
class Carried:
    """What a piece of code needs from its module: statements in file order, and what is not there."""

    prelude: tuple[str, ...]
    prelude_names: frozenset[str]
    airflow_names: tuple[str, ...]
    missing: tuple[str, ...]


def carried(code: str, module_source: str | None) -> Carried:
    """The module-level statements `code` (any statements, e.g. `f = Normaliser(0, 200).f`) needs."""
    return _carried(frozenset(_reads(code)), module_source)


@lru_cache(maxsize=256)
def _carried(needed: frozenset[str], module_source: str | None) -> Carried:
    # code reading no global name needs nothing from its module: no need to analyse the module
    bindings = _module_bindings(module_source) if module_source and needed else {}
    seen: set[str] = set()
    chosen: dict[tuple[int, str], _Binding] = {}  # (position, source): one import line binds several
    airflow: set[str] = set()
    missing: set[str] = set()
    todo = sorted(needed)
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
    # a binding is one statement or one imported name: the same object for all the names it binds
    chosen_ids = {id(b) for b in chosen.values()}
    bound = frozenset(n for n, b in bindings.items() if id(b) in chosen_ids)
    return Carried(prelude, bound, tuple(sorted(airflow)), tuple(sorted(missing)))


def _strip_decorators(source: str, name: str) -> tuple[str, tuple[Parameter, ...], set[str]] | None:
    """The definition without its decorators, its parameters and the string literals of its body."""
    text = textwrap.dedent(source).strip() + "\n"
    return _definition_by_ast(text) or _definition_by_cst(text, name)


# one string literal token, as Python's tokenizer ends it (a backslash escapes the next character)
_ONE_STRING = re.compile(
    r"""[rRbBuUfF]{0,2}(?:'''(?:[^'\\]|\\.|'(?!''))*'''"""
    r'''|"""(?:[^"\\]|\\.|"(?!""))*"""'''
    r"""|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")""",
    re.DOTALL,
)
_LINE_END = re.compile(r"\s*(#.*)?")


def _definition_by_ast(text: str) -> tuple[str, tuple[Parameter, ...], set[str]] | None:
    """`_definition_by_cst`'s answer from `ast`, or None where it might differ (then libcst decides).

    libcst keeps the text from the line after the last decorator (or the `def` line) to the end of
    the body; that is certain for one `def` at column 0 whose last line is code, with no backslash
    continuation. Its string literals are the body's `SimpleString`s: `ast` merges `"a" "b"` into
    one constant and parses f-strings differently, so any of those sends the callable to libcst.
    """
    if "\\\n" in text or "\r" in text:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    lines = text.split("\n")  # the last item is "" (the text ends with a newline)
    if len(tree.body) != 1 or not isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    definition = tree.body[0]
    if definition.col_offset != 0 or definition.end_lineno != len(lines) - 1:
        return None  # comments after the body: libcst's footer rules decide which are the function's
    first = definition.lineno
    if definition.decorator_list:
        last = definition.decorator_list[-1]
        assert last.end_lineno is not None and last.end_col_offset is not None
        rest = lines[last.end_lineno - 1].encode()[last.end_col_offset :].decode(errors="replace")
        between = lines[last.end_lineno : definition.lineno - 1]  # libcst's lines_after_decorators
        if not _LINE_END.fullmatch(rest) or not all(_LINE_END.fullmatch(line) for line in between):
            return None  # e.g. `@(task\n)`: the decorator ends after its expression
        first = last.end_lineno + 1
    literals = _ast_literals(definition.body, lines)
    if literals is None:
        return None
    return "\n".join(lines[first - 1 :]), _ast_parameters(definition.args), literals


def _ast_parameters(args: ast.arguments) -> tuple[Parameter, ...]:
    positional = [*args.posonlyargs, *args.args]
    first_default = len(positional) - len(args.defaults)  # defaults belong to the last ones
    found = [Parameter(a.arg, "positional", i >= first_default) for i, a in enumerate(positional)]
    if args.vararg is not None:
        found.append(Parameter(args.vararg.arg, "var_positional", False))
    found += [
        Parameter(a.arg, "keyword_only", d is not None) for a, d in zip(args.kwonlyargs, args.kw_defaults)
    ]
    if args.kwarg is not None:
        found.append(Parameter(args.kwarg.arg, "var_keyword", False))
    return tuple(found)


def _ast_literals(body: list[ast.stmt], lines: list[str]) -> set[str] | None:
    """The str literals libcst's `_literals` finds, or None when `ast` cannot tell them apart."""
    found: set[str] = set()
    todo: list[ast.AST] = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.JoinedStr):
            # libcst counts no text of an f-string, only literals in its expressions: an f-string
            # token whose expressions hold no string adds nothing
            if not _one_string(node, lines) or _strings_inside(node):
                return None
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if not _one_string(node, lines):
                return None  # an implicit concatenation: libcst sees each part
            found.add(node.value)
        todo.extend(ast.iter_child_nodes(node))
    return found


def _strings_inside(joined: ast.JoinedStr) -> bool:
    """Whether an f-string's expressions (format specs included) hold a string or an f-string."""
    for part in joined.values:
        if isinstance(part, ast.FormattedValue):
            if any(
                isinstance(n, ast.JoinedStr) or (isinstance(n, ast.Constant) and isinstance(n.value, str))
                for n in ast.walk(part.value)
            ):
                return True
            if isinstance(part.format_spec, ast.JoinedStr) and _strings_inside(part.format_spec):
                return True
    return False


def _one_string(node: ast.expr, lines: list[str]) -> bool:
    """Whether the node's source is one string token (not an implicit concatenation)."""
    assert node.end_lineno is not None and node.end_col_offset is not None
    start, end = node.lineno - 1, node.end_lineno - 1
    if start == end:
        segment = lines[start].encode()[node.col_offset : node.end_col_offset]
    else:  # ast columns count UTF-8 bytes
        segment = b"\n".join(
            [
                lines[start].encode()[node.col_offset :],
                *(line.encode() for line in lines[start + 1 : end]),
                lines[end].encode()[: node.end_col_offset],
            ]
        )
    return _ONE_STRING.fullmatch(segment.decode(errors="replace")) is not None


def _definition_by_cst(text: str, name: str) -> tuple[str, tuple[Parameter, ...], set[str]] | None:
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError:
        if not text.startswith("lambda"):
            return None
        try:  # a lambda over several lines, cut out of the brackets that held it
            module = cst.parse_module(f"(\n{text.rstrip()}\n)\n")
        except cst.ParserSyntaxError:
            return None
    definition = next((s for s in module.body if isinstance(s, cst.FunctionDef)), None)
    if definition is None:
        expression = _lambda(module)
        if expression is None:
            return None
        text = _lambda_as_def(module, expression, name)
        return text, _parameters(expression.params), _literals(expression)
    bare = definition.with_changes(decorators=(), leading_lines=())
    return module.code_for_node(bare), _parameters(definition.params), _literals(definition.body)


def _lambda_as_def(module: cst.Module, expression: cst.Lambda, name: str) -> str:
    """A lambda as a `def` of that name returning its body: the same parameters and defaults (evaluated
    once, where the def stands), the same value; a lambda bound to a name is what linters flag (E731)."""
    params = module.code_for_node(expression.params)
    body = module.code_for_node(expression.body)
    if "\n" in body:  # a body over several lines stays inside brackets, as it was in the call
        return f"def {name}({params}):\n    return (\n{body}\n    )\n"
    return f"def {name}({params}):\n    return {body}\n"


def _lambda(module: cst.Module) -> cst.Lambda | None:
    if len(module.body) != 1 or not isinstance(module.body[0], cst.SimpleStatementLine):
        return None
    statement = module.body[0].body[0]
    if isinstance(statement, cst.Expr) and isinstance(statement.value, cst.Lambda):
        return statement.value
    return None


def _parameters(params: cst.Parameters) -> tuple[Parameter, ...]:
    found = [
        Parameter(p.name.value, "positional", p.default is not None)
        for p in (*params.posonly_params, *params.params)
    ]
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


@lru_cache(maxsize=32)
def _module_bindings(module_source: str) -> dict[str, _Binding]:
    """Module-level statements by the names they bind; later bindings win, as at run time."""
    parsed = _binding_statements(module_source)
    if parsed is None:
        return {}
    module, statements = parsed
    airflow_names = _airflow_imports(module)
    bindings: dict[str, _Binding] = {}
    for index, statement in statements:
        names, is_import = _bound_names(statement)
        if not names:
            continue
        if is_import:
            for bound in names:
                bindings[bound] = _single_import(statement, bound, index, module, bound in airflow_names)
            continue
        code = module.code_for_node(statement.with_changes(leading_lines=())).rstrip("\n")
        reads = frozenset(_reads(code))
        binding = _Binding(
            index=index,
            text=lambda code=code: code,  # bound now, not when called
            reads=reads,
            airflow_import=False,
            builds_airflow_object=not isinstance(statement, (cst.FunctionDef, cst.ClassDef))
            and bool(reads & airflow_names),
        )
        for bound in names:
            bindings[bound] = binding
    return bindings


# statements that may bind a module-level name (`_bound_names`); the others are never carried
_BINDING_NODES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Import,
    ast.ImportFrom,
    ast.Assign,
    ast.AnnAssign,
)
_NEWLINE = re.compile(r"\r\n|\r|\n")  # where `ast` counts lines
_BARE_CONTINUATION = re.compile(r"(?:^|[\r\n])[ \t\f]*\\[\r\n]")  # a line that is only `\`


def _binding_statements(module_source: str) -> tuple[cst.Module, list[tuple[int, cst.BaseStatement]]] | None:
    """The module's statements that may bind names, each with its position among all statements.

    A DAG file is mostly its `with DAG(...)` block, which binds nothing carried: libcst parses only
    the other statements, cut out by `ast` (much faster) and joined. Each keeps its exact text: a
    statement's lines run from its first line to the next statement's, and which trailing comment
    lines libcst gives a statement depends only on those lines, the same next to any statement at
    column 0 or at the end. The whole file is parsed when that cut is not certain.
    """
    regions = _statement_regions(module_source)
    if regions is not None:
        indices = [index for index, (_, _, binds) in enumerate(regions) if binds]
        text = "".join(module_source[regions[i][0] : regions[i][1]] for i in indices)
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError:
            module = None
        if module is not None and len(module.body) == len(indices):
            return module, list(zip(indices, module.body))
    try:
        module = cst.parse_module(module_source)
    except cst.ParserSyntaxError:
        return None
    return module, list(enumerate(module.body))


def _statement_regions(text: str) -> list[tuple[int, int, bool]] | None:
    """(start, end, may bind) text offsets of the module's statements as libcst sees them, or None.

    Statements sharing a line (`a = 1; b = 2`) are one libcst statement; a statement starts at its
    first decorator and runs to the next one's start (its trailing comments, blank lines and the
    next one's leading comments included).
    """
    if text.startswith("\ufeff") or _BARE_CONTINUATION.search(text):
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    line_starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]
    lines: list[list[int]] = []  # [first line, last line, may bind]
    for node in tree.body:
        first = node.lineno
        decorators = getattr(node, "decorator_list", [])
        if decorators:  # ast places a decorator at its expression, after the `@`
            top = min(decorators, key=lambda d: (d.lineno, d.col_offset))
            line = text[line_starts[top.lineno - 1] :].encode()[: top.col_offset]
            if line.strip() != b"@":  # e.g. `@(\n    task\n)`: where its `@` is is not certain
                return None
            first = top.lineno
        binds = isinstance(node, _BINDING_NODES)
        assert node.end_lineno is not None
        if lines and first <= lines[-1][1]:  # on the last line of the previous statement
            lines[-1][1] = max(lines[-1][1], node.end_lineno)
            lines[-1][2] |= binds
        else:
            lines.append([first, node.end_lineno, binds])
    starts = [line_starts[first - 1] for first, _, _ in lines] + [len(text)]
    if any(text[start] in " \t\f" for start in starts[:-1]):
        return None  # a statement not at the start of its line (after a form feed, say)
    return [(starts[i], starts[i + 1], bool(b)) for i, (_, _, b) in enumerate(lines)]


def _airflow_imports(module: cst.Module) -> set[str]:
    names: set[str] = set()
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and small.module is not None:
                dotted = _dotted(small.module)
                if dotted.startswith(AIRFLOW_PREFIXES) and not isinstance(small.names, cst.ImportStar):
                    names |= {_alias_name(a) for a in small.names}
            elif isinstance(small, cst.Import):
                names |= {_alias_name(a) for a in small.names if _dotted(a.name).startswith(AIRFLOW_PREFIXES)}
    return names


def _alias_name(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return _dotted(alias.name).split(".")[0]


def _dotted(name: cst.BaseExpression) -> str:
    """The source of an imported (dotted) name: libcst's `code_for_node`, without its overhead."""
    if isinstance(name, cst.Name) and not name.lpar and not name.rpar:
        return name.value
    if (
        isinstance(name, cst.Attribute)
        and not name.lpar
        and not name.rpar
        and isinstance(name.dot, cst.Dot)
        and isinstance(name.dot.whitespace_before, cst.SimpleWhitespace)
        and isinstance(name.dot.whitespace_after, cst.SimpleWhitespace)
    ):
        dot = name.dot
        return (
            f"{_dotted(name.value)}{dot.whitespace_before.value}.{dot.whitespace_after.value}"
            f"{_dotted(name.attr)}"
        )
    return cst.Module([]).code_for_node(name)


def _single_import(
    statement: cst.CSTNode, name: str, index: int, module: cst.Module, airflow: bool
) -> _Binding:
    """One imported name as its own statement: `from x import a, b` carries only what is used."""
    assert isinstance(statement, cst.SimpleStatementLine)
    for small in statement.body:
        if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(small.names, cst.ImportStar):
            for alias in small.names:
                if _alias_name(alias) == name:
                    return _Binding(
                        index,
                        lambda small=small, alias=alias: _one_import(module, small, alias),
                        frozenset(),
                        airflow,
                        False,
                    )
    raise AssertionError(f"{name} is not imported by this statement")


def _one_import(module: cst.Module, statement: cst.Import | cst.ImportFrom, alias: cst.ImportAlias) -> str:
    one = statement.with_changes(names=[alias.with_changes(comma=cst.MaybeSentinel.DEFAULT)])
    if isinstance(one, cst.ImportFrom):
        one = one.with_changes(lpar=None, rpar=None)
    return module.code_for_node(one)


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
