"""Node positions as libcst's `PositionProvider` reports them, at a fraction of its cost.

`MetadataWrapper.resolve(PositionProvider)` was most of static reading's time: beside its codegen
pass it walks the whole tree once more (an empty batched visit), and its codegen splits every
token on a regex and builds two position objects per node. `Positions` runs the same codegen
with a state that records only character offsets, keyed by node id, and turns an offset into a
line and column when a span is asked for, by bisecting the text's line starts.

The ranges are the provider's exactly: the same codegen hooks record them (syntactic where a node
records one, whitespace-inclusive otherwise), and the test in tests/parse compares every node of
every fixture with `reference_positions`. Text holding a `\\r` takes the provider itself: it counts
newlines token by token, which a scan of the whole text matches only where no `\\r\\n` is split.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping
from types import TracebackType

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

__all__ = ["Positions", "reference_positions"]


def reference_positions(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """libcst's own answer: every node's `PositionProvider` range (the slow, complete way)."""
    return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


class Positions:
    """Ranges of a module's nodes.

    Computed when made, as the provider was, so that a tree too deep to print fails here, before
    the interpreter runs, and the file fails as a whole (A2K107) as it did.
    """

    def __init__(self, module: cst.Module) -> None:
        self._module = module  # keeps every recorded node alive: no other object can take its id
        state = _OffsetState(module.default_indent, module.default_newline)
        module._codegen(state)
        text = "".join(state.tokens)
        self._fallback = reference_positions(module) if "\r" in text else None
        self._offsets = state.offsets  # id(node) -> start and end offsets into text
        self._line_starts = [0, *(match.end() for match in re.finditer("\n", text))]

    def get(self, node: cst.CSTNode) -> CodeRange | None:
        """The node's range; None for a node not in the module (one built by `with_changes`)."""
        if self._fallback is not None:
            return self._fallback.get(node)
        found = self._offsets.get(id(node))
        if found is None:
            return None
        return CodeRange(self._position(found[0]), self._position(found[1]))

    def _position(self, offset: int) -> CodePosition:
        line = bisect_right(self._line_starts, offset)
        return CodePosition(line, offset - self._line_starts[line - 1])


class _OffsetState(CodegenState):
    """Codegen that notes where each node starts and ends, as offsets into the generated text.

    It mirrors `PositionProvidingCodegenState`: `before/after_codegen` give the whitespace-inclusive
    range, which a node's syntactic range (recorded inside its codegen) takes precedence over.
    """

    __slots__ = ("_starts", "offset", "offsets")

    def __init__(self, default_indent: str, default_newline: str) -> None:
        super().__init__(default_indent, default_newline)
        self.offset = 0
        self.offsets: dict[int, tuple[int, int]] = {}
        self._starts: list[int] = []

    def add_indent_tokens(self) -> None:
        self.tokens.extend(self.indent_tokens)
        self.offset += sum(map(len, self.indent_tokens))

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self.offset += len(value)

    def pop_trailing_newline(self) -> None:
        # libcst's position state pops the token but keeps its position past it, so the module's
        # range ends after the newline: keep the token, whose text the line starts are taken from
        pass

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._starts.append(self.offset)

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._starts.pop()
        self.offsets.setdefault(id(node), (start, self.offset))

    def record_syntactic_position(  # type: ignore[override]
        self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None, end_node: cst.CSTNode | None = None,
    ) -> _Syntactic:
        return _Syntactic(self, node, start_node, end_node)


class _Syntactic:
    """The context `record_syntactic_position` returns; a class, cheaper than a generator's."""

    __slots__ = ("_end_node", "_node", "_start", "_start_node", "_state")

    def __init__(self, state: _OffsetState, node: cst.CSTNode, start_node: cst.CSTNode | None,
                 end_node: cst.CSTNode | None) -> None:
        self._state, self._node, self._start_node, self._end_node = state, node, start_node, end_node
        self._start = state.offset

    def __enter__(self) -> None:
        pass

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        offsets = self._state.offsets
        start = offsets[id(self._start_node)][0] if self._start_node is not None else self._start
        end = offsets[id(self._end_node)][1] if self._end_node is not None else self._state.offset
        offsets[id(self._node)] = (start, end)
