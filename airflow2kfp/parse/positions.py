"""Node positions as libcst's `PositionProvider` reports them, computed only for the nodes asked for.

`MetadataWrapper.resolve(PositionProvider)` was most of static reading's time: a codegen pass over
the whole module that splits every token on a regex and builds two position objects per node, plus
a second, empty walk over the tree. The reader asks for a few spans per task. So `Positions` finds
each on demand, the cheapest exact way that applies:

1. A call that is a statement's value or a `with` item (most spans: tasks, DAGs, groups) has the
   range Python's `ast` gives the same expression; the statement is paired with its `ast` twin.
2. Otherwise the innermost statement holding the node (the interpreter passes its statement stack)
   is printed alone, recording character offsets keyed by node id (`_OffsetState`), and shifted to
   where `ast` says that statement starts.
3. Failing both, the whole module is printed that way.

Every path is checked against the source text before its answer is used (the printed statement
must be the text found there; the `ast` range must start with the call's first token and end with
its `)`), and a path whose check fails hands over to the next. Text holding a `\\r` or a form feed
takes libcst's provider itself, computed up front as before: it counts newlines token by token,
which a scan of the text matches only where no `\\r\\n` is split, and it drops a form feed that
stands in indentation, so its positions there are not the text's. tests/parse/test_positions.py
compares every node of the fixtures, a generated repo and edge-case snippets with
`reference_positions`.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from types import TracebackType

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

__all__ = ["Positions", "reference_positions"]

Offsets = tuple[int, int]  # start and end, as character offsets into the module's text


def reference_positions(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """libcst's own answer: every node's `PositionProvider` range (the slow, complete way)."""
    return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


class Positions:
    """Ranges of a module's nodes, found when asked for. `text` is the module's source and `tree`
    its `ast` parse (static reading has both anyway)."""

    def __init__(self, module: cst.Module, text: str, tree: ast.Module) -> None:
        self._module = module  # keeps every recorded node alive: no other object can take its id
        # libcst prints a last newline the file lacks (then drops it) and counts it in positions
        self._text = text if module.has_trailing_newline else text + module.default_newline
        self._tree = tree
        self._ranges: dict[int, Offsets] = {}  # id(node) -> offsets, for every node found so far
        self._line_starts = [0, *(match.end() for match in re.finditer("\n", self._text))]
        self._anchors: dict[int, ast.stmt] | None = None  # statement -> its ast twin, paired on first use
        self._smalls: dict[int, ast.stmt] = {}  # small statement (`x = ...`) -> its ast twin
        self._printed: set[int] = set()  # statements printed already (whatever the check said)
        self._whole = False
        # a \r makes offsets and libcst's token-wise newline count disagree, and libcst drops a form
        # feed in indentation (its positions then are not the text's): its own map, up front as before
        self._provider = reference_positions(module) if "\r" in text or "\f" in text else None

    def get(self, node: cst.CSTNode, statements: Sequence[cst.CSTNode] = ()) -> CodeRange | None:
        """The node's range; `statements` are those being run, innermost last. None for a node
        that is not in the module (one built by `with_changes`)."""
        if self._provider is not None:
            return self._provider.get(node)
        found = self._ranges.get(id(node)) or self._find(node, statements)
        if found is None:
            return None
        return CodeRange(self._position(found[0]), self._position(found[1]))

    def definition(self, node: cst.FunctionDef) -> str:
        """`module.code_for_node(node.with_changes(leading_lines=()))`: the definition printed on
        its own, dedented. Printing it records its nodes' ranges at the same time."""
        printable = node.with_changes(leading_lines=())
        anchor = self._anchor(node) if self._provider is None else None
        if anchor is None or id(node) in self._printed:
            return self._module.code_for_node(printable)
        self._printed.add(id(node))
        state = self._print(printable, anchor)
        self._shift(state, anchor, printable, node)
        return "".join(state.tokens)

    # -- finding a node --------------------------------------------------------------------
    def _find(self, node: cst.CSTNode, statements: Sequence[cst.CSTNode]) -> Offsets | None:
        if isinstance(node, cst.Call) and statements:
            found = self._from_ast(node, statements[-1])
            if found is not None:
                self._ranges[id(node)] = found
                return found
        for statement in (node, *reversed(statements)):
            anchor = self._anchor(statement)
            if anchor is None or id(statement) in self._printed:
                continue
            self._printed.add(id(statement))
            self._shift(self._print(statement, anchor), anchor, statement, statement)
            if id(node) in self._ranges:
                return self._ranges[id(node)]
        if not self._whole:
            self._whole = True
            state = _OffsetState(self._module.default_indent, self._module.default_newline)
            self._module._codegen(state)
            self._ranges.update(state.offsets)
        return self._ranges.get(id(node))

    def _from_ast(self, node: cst.Call, statement: cst.CSTNode) -> Offsets | None:
        """The range of a call that is the value of one of `statement`'s parts, from its ast twin."""
        anchor = self._anchor(statement)
        twin: ast.AST | None = None
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if getattr(small, "value", None) is node:
                    twin = getattr(self._smalls.get(id(small)), "value", None)
        elif (
            isinstance(statement, cst.With)
            and isinstance(anchor, (ast.With, ast.AsyncWith))
            and len(anchor.items) == len(statement.items)
        ):
            for item, ast_item in zip(statement.items, anchor.items, strict=True):
                if item.item is node:
                    twin = ast_item.context_expr
        if not isinstance(twin, ast.Call) or twin.end_lineno is None or twin.end_col_offset is None:
            return None
        start = self._offset(twin.lineno, twin.col_offset)
        end = self._offset(twin.end_lineno, twin.end_col_offset)
        first = _first_token(node)
        if first is None or not self._text.startswith(first, start) or self._text[end - 1 : end] != ")":
            return None
        return start, end

    # -- printing a statement on its own ---------------------------------------------------
    def _anchor(self, statement: cst.CSTNode) -> ast.stmt | None:
        if self._anchors is None:
            self._anchors = {}
            self._pair(self._module.body, self._tree.body)
        return self._anchors.get(id(statement))

    def _print(self, node: cst.CSTNode, anchor: ast.stmt) -> _OffsetState:
        """`node` printed as `code_for_node` prints it (no enclosing indentation), its offsets
        counting the indentation it stands at in the file."""
        start = self._offset(anchor.lineno, anchor.col_offset)
        indent = self._text[self._line_starts[anchor.lineno - 1] : start]
        state = _OffsetState(self._module.default_indent, self._module.default_newline, indent)
        node._codegen(state)
        return state

    def _shift(self, state: _OffsetState, anchor: ast.stmt, printed: cst.CSTNode, node: cst.CSTNode) -> None:
        """Record what `state` printed of statement `node` (as `printed`) where it stands in the text,
        if the text there is exactly what was printed."""
        offsets = state.offsets
        mine = offsets.pop(id(printed))  # `printed` may be a copy, whose id may be reused once it is gone
        shift = self._offset(anchor.lineno, anchor.col_offset) - mine[0]
        if shift < 0 or not self._text.startswith(state.indented_text(), shift):
            return
        ranges = self._ranges
        for key, (start, end) in offsets.items():
            ranges[key] = (start + shift, end + shift)
        ranges[id(node)] = (mine[0] + shift, mine[1] + shift)

    def _pair(self, body: Sequence[cst.BaseStatement], twins: Sequence[ast.stmt]) -> None:
        """Pair statements with their ast twins, block by block; stop at the first disagreement
        (what stays unpaired is found the slower way)."""
        anchors, index = self._anchors, 0
        assert anchors is not None
        for statement in body:
            if isinstance(statement, cst.SimpleStatementLine):
                smalls = twins[index : index + len(statement.body)]
                if len(smalls) != len(statement.body) or any(
                    type(small).__name__ != type(twin).__name__
                    for small, twin in zip(statement.body, smalls, strict=True)
                ):
                    return
                anchors[id(statement)] = smalls[0]
                self._smalls.update(
                    (id(small), twin) for small, twin in zip(statement.body, smalls, strict=True)
                )
                index += len(smalls)
                continue
            twin = twins[index] if index < len(twins) else None
            if twin is None or type(twin).__name__ not in (
                type(statement).__name__,
                f"Async{type(statement).__name__}",
            ):
                return
            anchors[id(statement)] = twin
            self._pair_blocks(statement, twin)
            index += 1

    def _pair_blocks(self, statement: cst.CSTNode, twin: ast.AST) -> None:
        """The blocks of a compound statement, with those of its twin."""
        if isinstance(statement, cst.If) and isinstance(twin, ast.If):
            self._pair_block(statement.body, twin.body)
            orelse = statement.orelse
            if isinstance(orelse, cst.If) and len(twin.orelse) == 1 and isinstance(twin.orelse[0], ast.If):
                self._pair_blocks(orelse, twin.orelse[0])  # an elif prints as `if` alone: not an anchor
            elif isinstance(orelse, cst.Else):
                self._pair_block(orelse.body, twin.orelse)
            return
        body = getattr(statement, "body", None)
        if isinstance(body, cst.BaseSuite):
            self._pair_block(body, getattr(twin, "body", []))
        orelse = getattr(statement, "orelse", None)
        if isinstance(orelse, cst.Else):
            self._pair_block(orelse.body, getattr(twin, "orelse", []))
        if isinstance(statement, (cst.Try, cst.TryStar)) and isinstance(twin, (ast.Try, ast.TryStar)):
            if len(statement.handlers) == len(twin.handlers):
                for handler, ast_handler in zip(statement.handlers, twin.handlers, strict=True):
                    self._pair_block(handler.body, ast_handler.body)
            if statement.finalbody is not None:
                self._pair_block(statement.finalbody.body, twin.finalbody)
        if (
            isinstance(statement, cst.Match)
            and isinstance(twin, ast.Match)
            and len(statement.cases) == len(twin.cases)
        ):
            for case, ast_case in zip(statement.cases, twin.cases, strict=True):
                self._pair_block(case.body, ast_case.body)

    def _pair_block(self, block: cst.BaseSuite, twins: Sequence[ast.stmt]) -> None:
        if isinstance(block, cst.IndentedBlock):  # a same-line suite has no statement of its own line
            self._pair(block.body, twins)

    # -- offsets and positions -------------------------------------------------------------
    def _offset(self, line: int, col_bytes: int) -> int:
        """The text offset of an ast position (its column counts UTF-8 bytes)."""
        start = self._line_starts[line - 1]
        head = self._text[start : start + col_bytes]
        if head.isascii():
            return start + col_bytes
        end = self._line_starts[line] if line < len(self._line_starts) else len(self._text)
        return start + len(self._text[start:end].encode()[:col_bytes].decode(errors="replace"))

    def _position(self, offset: int) -> CodePosition:
        line = bisect_right(self._line_starts, offset)
        return CodePosition(line, offset - self._line_starts[line - 1])


def _first_token(node: cst.Call) -> str | None:
    """The text a call starts with: its leftmost name, or the parenthesis around it."""
    part: cst.CSTNode = node.func
    while True:
        if getattr(part, "lpar", None):
            return "("
        if isinstance(part, cst.Name):
            return part.value
        if isinstance(part, (cst.Attribute, cst.Subscript)):
            part = part.value
        elif isinstance(part, cst.Call):
            part = part.func
        else:
            return None


class _OffsetState(CodegenState):
    """Codegen that notes where each node starts and ends, as offsets into the generated text.

    It mirrors `PositionProvidingCodegenState`: `before/after_codegen` give the whitespace-inclusive
    range, which a node's syntactic range (recorded inside its codegen) takes precedence over.
    `indent` is the indentation the printed node stands at: counted in the offsets, left out of
    the tokens (as `code_for_node` leaves it out); `indented_text()` puts it back.
    """

    __slots__ = ("_indent", "_indented_at", "_starts", "offset", "offsets")

    def __init__(self, default_indent: str, default_newline: str, indent: str = "") -> None:
        super().__init__(default_indent, default_newline)
        self.offset = 0
        self.offsets: dict[int, Offsets] = {}
        self._starts: list[int] = []
        self._indent = indent
        self._indented_at: list[int] = []  # token indices where `indent` was left out

    def indented_text(self) -> str:
        if not self._indent:
            return "".join(self.tokens)
        pieces, previous = [], 0
        for index in self._indented_at:
            pieces += self.tokens[previous:index]
            pieces.append(self._indent)
            previous = index
        pieces += self.tokens[previous:]
        return "".join(pieces)

    def add_indent_tokens(self) -> None:
        if self._indent:
            self._indented_at.append(len(self.tokens))
            self.offset += len(self._indent)
        self.tokens.extend(self.indent_tokens)
        self.offset += sum(map(len, self.indent_tokens))

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self.offset += len(value)

    def pop_trailing_newline(self) -> None:
        # libcst's position state pops the token but keeps its position past it, so the module's
        # range ends after the newline: keep the token too (only the whole module calls this)
        pass

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._starts.append(self.offset)

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._starts.pop()
        self.offsets.setdefault(id(node), (start, self.offset))

    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> _Syntactic:
        return _Syntactic(self, node, start_node, end_node)


class _Syntactic:
    """The context `record_syntactic_position` returns; a class, cheaper than a generator's."""

    __slots__ = ("_end_node", "_node", "_start", "_start_node", "_state")

    def __init__(
        self,
        state: _OffsetState,
        node: cst.CSTNode,
        start_node: cst.CSTNode | None,
        end_node: cst.CSTNode | None,
    ) -> None:
        self._state, self._node, self._start_node, self._end_node = state, node, start_node, end_node
        self._start = state.offset

    def __enter__(self) -> None:
        pass

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is not None:  # printing failed (too deep): let that error through, not a KeyError here
            return
        offsets = self._state.offsets
        start = offsets[id(self._start_node)][0] if self._start_node is not None else self._start
        end = offsets[id(self._end_node)][1] if self._end_node is not None else self._state.offset
        offsets[id(self._node)] = (start, end)
