"""Tasks a DAG makes in a loop over literals, written back as a `for` loop in the pipeline function.

`for table in TABLES: BashOperator(task_id=f"load_{table}", ...)` gives one task per table; the
pipeline would repeat one block per task (a 300-task DAG becomes ~1,900 lines). KFP v1 builds one op
per call at compile time, so a Python loop making the same calls builds the same workflow.

The loop is found in the emitted text itself, whatever read the DAG (the static reader's unrolling
or Airflow's import): consecutive tasks from the same source lines, repeating with a period of `p`
tasks, form `k` iterations when every iteration's statements are token for token the same but for
  - string literals (and comments) that differ only where the loop's values sit: written as
    f-strings over loop variables;
  - numbers that differ: a loop variable;
  - the iteration's own task variables (one per body position), or the previous iteration's (a
    chain: `previous >> step; previous = step`), carried in a variable.
Each f-string is checked to give back every iteration's text exactly; what is not the same text but
for the values stays unrolled. Tasks of an iteration named after the loop are collected in a list
(`load_tasks[2]`, `.after(*load_tasks)`) for the statements after it. The values and the KFP task
names are those of the unrolled blocks, so the compiled workflow is the same bytes.

A block is emit/python.py's TaskBlock (its variable, source line, shared wrappers, prelude, and the
code that may name other tasks: arguments, calls, wrappers, rule call).
"""

from __future__ import annotations

import ast
import copy
import io
import keyword
import re
import tokenize
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from airflow2kfp.names import UniqueNames

MAX_PERIOD = 12  # tasks in one iteration
MAX_VARIABLES = 3  # loop variables: beyond, the loop reads worse than the blocks
_VARYING = (tokenize.NAME, tokenize.STRING, tokenize.NUMBER, tokenize.COMMENT)
_MARK = "\x00"  # never in a value (checked): stands for a loop variable in a template
_PLACEHOLDER = 0xE000  # private-use characters standing for the loop variables in an f-string


@dataclass(frozen=True)
class _Token:
    kind: int
    text: str
    start: tuple[int, int]
    end: tuple[int, int]


@lru_cache(maxsize=4096)  # a block's text is tokenized once, however many loops it is tried in
def _tokens(text: str) -> tuple[_Token, ...] | None:
    try:
        found = tuple(
            _Token(t.type, t.string, t.start, t.end)
            for t in tokenize.generate_tokens(io.StringIO(text).readline)
            if t.type
            not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
        )
    except (tokenize.TokenError, SyntaxError):
        return None
    return found


def _value(token: _Token) -> Any:
    """A STRING or NUMBER token's value; COMMENT: its text after `#`."""
    if token.kind == tokenize.COMMENT:
        return token.text[1:]
    text = token.text
    plain = text[:1] in ("'", '"') and text[-1:] == text[0] and len(text) >= 2 and "\\" not in text
    if plain and not text.startswith(("'''", '"""')):
        return text[1:-1]  # a plain one-line string: what literal_eval would say, without compiling
    if text.isdigit() and (text == "0" or not text.startswith("0")):
        return int(text)
    try:
        return ast.literal_eval(token.text)
    except (ValueError, SyntaxError):
        return None


def _is_fstring(text: str) -> bool:
    prefix = text[: len(text) - len(text.lstrip("rRbBuUfF"))]
    return prefix.lower() == "f" and not text[len(prefix) :].startswith(("'''", '"""'))


def _fstring_body(text: str) -> str:
    return text[2:-1]


@dataclass(frozen=True)
class _Loop:
    """One loop found: where it starts, its period, its iterations and how to write it."""

    start: int
    period: int
    count: int
    text: str  # the loop's statements
    collected: dict[str, str]  # task variable of an iteration -> `list[index]` standing for it after
    lengths: dict[str, int]  # each list of tasks -> its length


def fold_loops(
    blocks: Sequence[Any], render: Callable[[Any], str], reserved: set[str] | frozenset[str] = frozenset()
) -> str:
    """The pipeline function's statements for `blocks`, repeated runs of blocks as `for` loops."""
    blocks = list(blocks)
    texts = [render(block) for block in blocks]
    lines = Counter(block.source_line for block in blocks if _eligible(block))
    if all(n == 1 for n in lines.values()):  # most DAGs: nothing to try, nothing to tokenize
        return "".join(texts)
    taken = UniqueNames(reserved=sorted(set(reserved) | _names_in(texts)))
    out: list[str] = []
    index = 0
    while index < len(blocks):
        found = None
        if lines[blocks[index].source_line] > 1:  # a loop starts with a line that comes again
            found = _find_loop(blocks, index, render, taken, lambda end: _names_in(texts[end:]))
        if found is None:
            out.append(texts[index])
            index += 1
            continue
        out.append(found.text)
        index = found.start + found.period * found.count
        if found.collected:  # the statements after it name its tasks through the lists
            for later in range(index, len(blocks)):
                changed = _renamed(blocks[later], found.collected, found.lengths)
                if changed is not blocks[later]:
                    blocks[later] = changed
                    texts[later] = render(changed)
    return "".join(out)


def _names_in(texts: Sequence[str]) -> set[str]:
    return {name for text in texts for name in _names(text)}


_WORD = re.compile(r"[^\W\d]\w*")
_NOT_CODE = re.compile(r"""#[^\n]*|[rRbBuUfF]{0,2}(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')""")


@lru_cache(maxsize=4096)
def _names(text: str) -> frozenset[str]:
    """The names the text's code uses (words outside comments and strings; a name in an f-string's
    field is a parameter or module name, reserved anyway), at a fraction of tokenize's cost."""
    return frozenset(_WORD.findall(_NOT_CODE.sub(" ", text)))


def _assignment(tokens: Sequence[_Token], variable: str) -> int:
    """The index of the token binding the block's task variable (`variable = (`), -1 if none."""
    return next(
        (
            t
            for t, token in enumerate(tokens[:-1])
            if token.kind == tokenize.NAME and token.text == variable and tokens[t + 1].text == "="
        ),
        -1,
    )


def _find_loop(
    blocks: list[Any],
    start: int,
    render: Callable[[Any], str],
    taken: UniqueNames,
    read_after: Callable[[int], set[str]],
) -> _Loop | None:
    """The longest loop starting at `start`, if any."""
    if not _eligible(blocks[start]):
        return None
    candidates: list[tuple[int, int]] = []  # (period, count)
    for period in range(1, MAX_PERIOD + 1):
        lines = [b.source_line for b in blocks[start : start + period]]
        if len(lines) < period or not all(_eligible(b) for b in blocks[start : start + period]):
            break
        count = 1
        while start + (count + 1) * period <= len(blocks) and all(
            _eligible(blocks[start + count * period + q])
            and blocks[start + count * period + q].source_line == lines[q]
            for q in range(period)
        ):
            count += 1
        if count >= 2:
            candidates.append((period, count))
    for period, count in sorted(candidates, key=lambda c: (-c[0] * c[1], c[0])):
        for tried in range(count, 1, -1):
            end = start + period * tried
            loop = _build(blocks[start:end], period, tried, render, taken, read_after(end))
            if loop is not None:
                return replace(loop, start=start)
    return None


def _eligible(block: Any) -> bool:
    """A block that can sit in a loop: none of a mapped task group's shared wrappers, no step of its own."""
    return not block.shared and not block.prelude and bool(block.source_line)


def _build(
    blocks: Sequence[Any],
    period: int,
    count: int,
    render: Callable[[Any], str],
    taken: UniqueNames,
    read_after: set[str],
) -> _Loop | None:
    # every block bound to its variable while comparing: the last of a chain is read by nobody
    texts = [render(replace(b, assigned=True)) for b in blocks]
    streams: list[Sequence[_Token]] = []
    for text in texts:
        stream = _tokens(text)
        if stream is None:
            return None
        streams.append(stream)
    variables = [[blocks[j * period + q].variable for q in range(period)] for j in range(count)]
    bound = {name for row in variables for name in row}
    # per body position: [iteration][token]
    positions: list[list[Sequence[_Token]]] = [
        [streams[j * period + q] for j in range(count)] for q in range(period)
    ]
    names: dict[tuple[int, int], tuple[str, Any]] = {}  # (q, token) -> ("own", q') | ("carry", (outer, q'))
    assignments = [_assignment(positions[q][0], variables[0][q]) for q in range(period)]
    literals: dict[tuple[int, int], list[Any]] = {}  # (q, token) -> the values per iteration
    for q, per_iteration in enumerate(positions):
        first = per_iteration[0]
        if any(len(stream) != len(first) for stream in per_iteration):
            return None
        for t, token in enumerate(first):
            column = [stream[t] for stream in per_iteration]
            if any(other.kind != token.kind for other in column):
                return None
            if all(other.text == token.text for other in column):
                if token.kind == tokenize.NAME and token.text in bound:
                    return None  # the same task in every iteration: one of this loop's own
                continue
            if token.kind not in _VARYING or any(other.start[0] != other.end[0] for other in column):
                return None
            if token.kind == tokenize.NAME:
                meaning = _name_kind([other.text for other in column], variables, bound)
                if meaning is None:
                    return None
                names[(q, t)] = meaning
            else:
                values = [_value(other) for other in column]
                if token.kind == tokenize.STRING and _is_fstring(token.text):
                    # an f-string (a template reading pipeline parameters): its text as written,
                    # changed only where it holds the loop's value as plain text (checked in _source)
                    values = [_fstring_body(other.text) for other in column]
                if token.kind == tokenize.STRING and not all(isinstance(v, str) for v in values):
                    return None
                if token.kind == tokenize.NUMBER and not all(type(v) is int for v in values):
                    return None
                literals[(q, t)] = values
    # the values come from the code; a comment that differs otherwise (an edge label) stays unrolled
    code = [key for key in sorted(literals) if positions[key[0]][0][key[1]].kind != tokenize.COMMENT]
    found = _primaries([literals[key] for key in code], count)
    if found is None:
        return None
    primaries = found.vectors
    templates: dict[tuple[int, int], list[str | int]] = {}
    for key, values in literals.items():
        template = _template(values, primaries)
        if template is None:
            return None
        templates[key] = template

    # names: the loop variables, each body task's variable, the carried and collected ones
    body_names = [taken.claim(_body_name([row[q] for row in variables]), sep="_") for q in range(period)]
    # a loop's own variables are dead after it: the next loop may use the same names
    values_own = found.own()
    own_names = _loop_variable_names([primaries[n] for n in values_own], count, copy.deepcopy(taken))
    loop_names = [own_names[values_own.index(n)] if n in values_own else "" for n in range(len(primaries))]
    carried: dict[int, tuple[str, str]] = {}  # q' -> (carry variable, outer name it starts from)
    for kind, target in names.values():
        if kind == "carry":
            outer, q = target
            if q in carried and carried[q][1] != outer:
                return None
            if q not in carried:
                carried[q] = (taken.claim(f"previous_{body_names[q]}", sep="_"), outer)
    # what the body reads of its own tasks (a task's own assignment is not a read)
    read_in_body = {
        target for (q, t), (kind, target) in names.items() if kind == "own" and t != assignments[q]
    }
    read_in_body |= set(carried)
    return _write(
        blocks,
        period,
        count,
        render,
        positions,
        names,
        templates,
        loop_names,
        found,
        body_names,
        carried,
        read_in_body,
        variables,
        taken,
        read_after,
    )


def _write(
    blocks: Sequence[Any],
    period: int,
    count: int,
    render: Callable[[Any], str],
    positions: list[list[Sequence[_Token]]],
    names: dict[tuple[int, int], tuple[str, Any]],
    templates: dict[tuple[int, int], list[str | int]],
    loop_names: list[str],
    found: _Values,
    body_names: list[str],
    carried: dict[int, tuple[str, str]],
    read_in_body: set[int],
    variables: list[list[str]],
    taken: UniqueNames,
    read_after: set[str],
) -> _Loop | None:
    """The loop's text, and what stands for its tasks afterwards; None when an f-string of the
    body would not give back every iteration's."""
    collected: dict[str, str] = {}
    lengths: dict[str, int] = {}
    lists: dict[int, str] = {}
    for q in range(period):
        if any(variables[j][q] in read_after for j in range(count)):  # a statement after it names it
            lists[q] = taken.claim("tasks" if body_names[q] == "task" else f"{body_names[q]}_tasks", sep="_")
            for j in range(count):
                collected[variables[j][q]] = f"{lists[q]}[{j}]"
            lengths[lists[q]] = count
    body: list[str] = []
    for q in range(period):
        first = blocks[q]
        text = render(replace(first, assigned=True))
        tokens = positions[q][0]
        edits: list[tuple[_Token, str]] = []
        for t, token in enumerate(tokens):
            if (q, t) in names:
                kind, target = names[(q, t)]
                edits.append((token, body_names[target] if kind == "own" else carried[target[1]][0]))
            elif (q, t) in templates:
                written = _source(token, templates[(q, t)], loop_names, found)
                if _is_fstring(token.text) and not all(
                    _fstring_same(positions[q][j][t].text, written, _expressions(found, loop_names, j))
                    for j in range(count)
                ):
                    return None
                edits.append((token, written))
        text = _edited(text, edits)
        if q not in read_in_body and q not in lists:  # read by nothing: not bound (F841)
            text = text.replace(f"{body_names[q]} = (", "(", 1)
        body.append(text)
    lines: list[str] = []
    sources = ", ".join(dict.fromkeys(b.source_line.rsplit(":", 1)[1] for b in blocks[:period]))
    file = blocks[0].source_line.rsplit(":", 1)[0]
    lines.append(f"    # the tasks the DAG's loop at {file}:{sources} makes, for each of its items")
    lines += [f"    {name} = []" for name in lists.values()]
    lines += [f"    {variable} = {outer}" for variable, outer in carried.values()]
    own = found.own()
    lines.append(f"    for {_header([loop_names[n] for n in own], [found.vectors[n] for n in own], count)}:")
    lines += ["    " + line if line else line for text in body for line in text.rstrip("\n").split("\n")]
    lines += [f"        {name}.append({body_names[q]})" for q, name in lists.items()]
    lines += [f"        {carried[q][0]} = {body_names[q]}" for q in carried]
    return _Loop(0, period, count, "\n".join(lines) + "\n", collected, lengths)


def _name_kind(column: list[str], variables: list[list[str]], own: set[str]) -> tuple[str, Any] | None:
    """What a task variable that differs between iterations stands for in the loop body."""
    count = len(column)
    for q in range(len(variables[0])):
        if all(column[j] == variables[j][q] for j in range(count)):
            return ("own", q)
        if column[0] not in own and all(column[j] == variables[j - 1][q] for j in range(1, count)):
            return ("carry", (column[0], q))
    return None


def _split(values: list[str]) -> tuple[str, list[str], str]:
    """The values' common prefix, what differs, and their common suffix; the part that differs
    widened to whole words (`orders`, `customers`, not `order` and `customer` before a shared `s`)."""
    prefix = _common_prefix(values)
    suffix = _common_prefix([v[len(prefix) :][::-1] for v in values])[::-1]
    while prefix and prefix[-1].isalnum():
        prefix = prefix[:-1]
    while suffix and suffix[0].isalnum():
        suffix = suffix[1:]
    return prefix, [v[len(prefix) : len(v) - len(suffix)] for v in values], suffix


def _middle(values: list[str]) -> list[str]:
    """What differs between the values (see _split)."""
    return _split(values)[1]


def _common_prefix(values: list[str]) -> str:
    first = min(values, key=len)
    for index, char in enumerate(first):
        if any(v[index] != char for v in values):
            return first[:index]
    return first


# forms of a string value a loop body may need besides the value itself (KFP task names are the
# task ids lowercased, `_` as `-`): method call written after the loop variable, {q} its quote
_DERIVED: tuple[tuple[str, Callable[[str], str]], ...] = (
    (".replace({q}_{q}, {q}-{q})", lambda x: x.replace("_", "-")),
    (".lower()", str.lower),
    (".lower().replace({q}_{q}, {q}-{q})", lambda x: x.lower().replace("_", "-")),
    (".upper()", str.upper),
)


@dataclass(frozen=True)
class _Values:
    """The loop's values: per variable, its value in each iteration; some are derived from another
    (index -> (that variable's index, the method call giving it))."""

    vectors: list[list[Any]]
    derived: dict[int, tuple[int, str]]

    def own(self) -> list[int]:
        return [n for n in range(len(self.vectors)) if n not in self.derived]


def _primaries(columns: list[list[Any]], count: int) -> _Values | None:
    """The loop's values, per variable and iteration: numbers first, then the shortest differing
    parts of the strings that the others are made of."""
    found: list[list[Any]] = []
    derived: dict[int, tuple[int, str]] = {}
    for values in columns:
        if all(type(v) is int for v in values) and values not in found:
            found.append(values)
    strings = [
        _middle([str(v) for v in values]) for values in columns if not all(type(v) is int for v in values)
    ]
    for middle in sorted(strings, key=lambda m: (sum(map(len, m)), m)):
        if any(_MARK in v or any(0xE000 <= ord(c) <= 0xF8FF for c in v) for v in middle):
            return None
        if _template(middle, found) is None:
            found.append(middle)
    # a vector that is a form of another (the KFP name of a task id) is written as that form of it;
    # the others first: as a task id has it (not upper case, `_` rather than `-`)
    bases: list[int] = []
    for n in sorted(range(len(found)), key=lambda n: _rank(found[n])):
        source = next(
            (
                (m, method)
                for m in bases
                if all(isinstance(v, str) for v in found[m])
                for method, form in _DERIVED
                if [form(v) for v in found[m]] == found[n]
            ),
            None,
        )
        if source is None:
            bases.append(n)
        else:
            derived[n] = source
    own = [p for n, p in enumerate(found) if n not in derived]
    if len(own) > MAX_VARIABLES or any(len(set(map(str, p))) < 2 for p in found):
        return None
    # the loop's own values first (a template names the first that fits), then the forms of them
    order = [n for n in range(len(found)) if n not in derived] + sorted(derived)
    at = {old: new for new, old in enumerate(order)}
    found = [found[n] for n in order]
    derived = {at[n]: (at[m], method) for n, (m, method) in derived.items()}
    # "0", "1", "2": the numbers of a range, as a loop over range(3) writes them
    return _Values([p if n in derived else _as_range(p, count) or p for n, p in enumerate(found)], derived)


def _rank(vector: list[Any]) -> tuple[bool, bool]:
    texts = [str(v) for v in vector]
    return all(t.isupper() for t in texts), any("-" in t for t in texts) and not any("_" in t for t in texts)


def _as_range(values: list[Any], count: int) -> list[int] | None:
    """The values as the consecutive numbers of a range, when that is what they are."""
    if not all(type(v) is int or (isinstance(v, str) and v.isdigit() and str(int(v)) == v) for v in values):
        return None
    numbers = [int(v) for v in values]
    return numbers if numbers == list(range(numbers[0], numbers[0] + count)) else None


def _template(values: list[Any], primaries: list[list[Any]]) -> list[str | int] | None:  # noqa: C901
    """`values` (one per iteration) as text with loop variables (their index) where they differ;
    None when no such template gives back every value."""
    if all(type(v) is int for v in values):
        match = next((i for i, p in enumerate(primaries) if p == values), None)
        return None if match is None else [match]
    texts = [str(v) for v in values]
    for i, p in enumerate(primaries):  # the whole text is one variable
        if [str(x) for x in p] == texts:
            return [i]
    prefix, middles, suffix = _split(texts)
    for i, p in enumerate(primaries):  # what differs is one variable
        if [str(x) for x in p] == middles:
            return [part for part in (prefix, i, suffix) if part != ""]
    usable = sorted(
        (i for i, p in enumerate(primaries) if all(str(x) for x in p)),
        key=lambda i: -len(str(primaries[i][0])),
    )
    marked: list[str] = []
    for j, middle in enumerate(middles):
        for i in usable:
            middle = middle.replace(str(primaries[i][j]), f"{_MARK}{i}{_MARK}")
        marked.append(middle)
    if len(set(marked)) != 1:
        return None
    parts: list[str | int] = [prefix] if prefix else []
    for n, piece in enumerate(marked[0].split(_MARK)):
        if n % 2:
            parts.append(int(piece))
        elif piece:
            parts.append(piece)
    if suffix:
        parts.append(suffix)
    for j, text in enumerate(texts):  # the template gives back every iteration's text
        if "".join(str(primaries[p][j]) if isinstance(p, int) else p for p in parts) != text:
            return None
    return parts


def _source(token: _Token, template: list[str | int], loop_names: list[str], values: _Values) -> str:
    """The token's text with the loop variables: a name, comment text, or an f-string."""

    def name(n: int, quote: str) -> str:
        if n in values.derived:
            base, method = values.derived[n]
            return loop_names[base] + method.format(q=quote)
        return loop_names[n]

    if token.kind == tokenize.NUMBER:
        return loop_names[template[0]]  # type: ignore[index]
    if token.kind == tokenize.COMMENT:
        return "#" + "".join(f"{{{name(p, chr(34))}}}" if isinstance(p, int) else p for p in template)
    if _is_fstring(token.text):
        quote = token.text[1]
        inner = "'" if quote == '"' else '"'
        body = "".join(f"{{{name(p, inner)}}}" if isinstance(p, int) else p for p in template)
        return f"f{quote}{body}{quote}"
    if (
        len(template) == 1
        and isinstance(template[0], int)
        and all(isinstance(v, str) for v in values.vectors[template[0]])
    ):
        return name(template[0], '"')  # the whole string is the loop's value
    # the literal parts as repr escapes them, braces doubled; a variable as a private-use character
    # repr writes as an escape (values holding one are refused in _primaries)
    text = "".join(
        chr(_PLACEHOLDER + p) if isinstance(p, int) else p.replace("{", "{{").replace("}", "}}")
        for p in template
    )
    source = repr(text)
    inner = '"' if source[0] == "'" else "'"
    for n in range(len(values.vectors)):
        source = source.replace(repr(chr(_PLACEHOLDER + n))[1:-1], f"{{{name(n, inner)}}}")
    return "f" + source


def _expressions(found: _Values, loop_names: list[str], iteration: int) -> dict[str, str]:
    """Each loop variable, and each form derived from one, as source -> its text in an iteration."""
    expressions = {}
    for n, vector in enumerate(found.vectors):
        if n in found.derived:
            base, method = found.derived[n]
            expressions[loop_names[base] + method.format(q='"')] = str(vector[iteration])
        else:
            expressions[loop_names[n]] = str(vector[iteration])
    return expressions


def _fstring_same(original: str, written: str, names: dict[str, str]) -> bool:
    """Whether the f-string `written`, with the loop's expressions (source -> value) in it, is
    `original`: the same literal text and the same replacement fields."""

    def parts(source: str, known: dict[str, str]) -> list[tuple[str, str]] | None:
        try:
            node = ast.parse(source, mode="eval").body
        except SyntaxError:
            return None
        if not isinstance(node, ast.JoinedStr):
            return None
        found: list[tuple[str, str]] = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                text = value.value
            elif isinstance(value, ast.FormattedValue) and ast.unparse(value.value) in known:
                if value.conversion != -1 or value.format_spec is not None:
                    return None
                text = known[ast.unparse(value.value)]
            else:
                found.append(("field", ast.dump(value)))
                continue
            if found and found[-1][0] == "text":
                found[-1] = ("text", found[-1][1] + text)
            else:
                found.append(("text", text))
        return found

    mine = parts(written, {ast.unparse(ast.parse(k, mode="eval").body): v for k, v in names.items()})
    return mine is not None and mine == parts(original, {})


def _edited(text: str, edits: list[tuple[_Token, str]]) -> str:
    """`text` with each token replaced, tokens on one line each (checked by the caller)."""
    lines = text.split("\n")
    for token, new in sorted(edits, key=lambda e: e[0].start, reverse=True):
        row, start = token.start
        line = lines[row - 1]
        lines[row - 1] = line[:start] + new + line[token.end[1] :]
    return "\n".join(lines)


def _loop_variable_names(primaries: list[list[Any]], count: int, taken: UniqueNames) -> list[str]:
    if len(primaries) == 1:
        base = ["index" if _as_range(primaries[0], count) else "item"]
    else:
        base = ["index" if p == list(range(count)) else f"item_{n + 1}" for n, p in enumerate(primaries)]
    return [taken.claim(name, sep="_") for name in base]


def _header(loop_names: list[str], primaries: list[list[Any]], count: int) -> str:
    """`item in [...]`, `a, b in [(..), ...]`, or `index, item in enumerate([...])`."""
    indexed = [n for n, p in enumerate(primaries) if p == list(range(count))]
    others = [n for n in range(len(primaries)) if n not in indexed]
    if indexed and others:
        index = indexed[0]
        rest = [n for n in range(len(primaries)) if n != index]
        values = _values_list(rest, primaries, count)
        targets = ", ".join(loop_names[n] for n in rest)
        return f"{loop_names[index]}, {targets if len(rest) == 1 else '(' + targets + ')'} in enumerate({values})"
    if len(primaries) == 1 and _as_range(primaries[0], count):
        first = primaries[0][0]
        return f"{loop_names[0]} in range({count if first == 0 else f'{first}, {first + count}'})"
    return f"{', '.join(loop_names)} in {_values_list(list(range(len(primaries))), primaries, count)}"


def _values_list(which: list[int], primaries: list[list[Any]], count: int) -> str:
    if len(which) == 1:
        return repr([primaries[which[0]][j] for j in range(count)])
    return repr([tuple(primaries[n][j] for n in which) for j in range(count)])


def _body_name(variables: list[str]) -> str:
    """A body task's variable: the words its variables share (`load_orders`, `load_customers` ->
    `load`; `step_0`, `step_1` -> `step`)."""
    words = [v.split("_") for v in variables]
    head = 0
    while all(len(w) > head + 1 and w[head] == words[0][head] for w in words):
        head += 1
    tail = 0
    while all(len(w) > head + tail + 1 and w[-1 - tail] == words[0][-1 - tail] for w in words):
        tail += 1
    name = "_".join(words[0][:head] + (words[0][len(words[0]) - tail :] if tail else [])).strip("_")
    return name if name.isidentifier() and not keyword.iskeyword(name) else "task"


def _renamed(block: Any, collected: dict[str, str], lengths: dict[str, int]) -> Any:
    """The block with each collected task variable as the list item standing for it, and an
    `.after(...)` naming every item of a list as `*list`."""

    def rename(text: str) -> str:
        tokens = _tokens(text)
        if tokens is None:
            return text
        edits = [(t, collected[t.text]) for t in tokens if t.kind == tokenize.NAME and t.text in collected]
        return _edited(text, edits) if edits else text

    calls = tuple(rename(call) for call in block.calls)
    if calls and calls[0].startswith("after(") and calls[0] != block.calls[0]:
        calls = (_after_with_lists(calls[0], lengths),) + calls[1:]
    changed = replace(
        block,
        arguments=rename(block.arguments),
        calls=calls,
        wrappers=tuple(rename(w) for w in block.wrappers),
        rule_call=rename(block.rule_call) if block.rule_call else block.rule_call,
    )
    return block if changed == block else changed


def _after_with_lists(call: str, lengths: dict[str, int]) -> str:
    """`after(a, xs[0], xs[1], b)` as `after(a, *xs, b)` when it names every item of `xs`."""
    arguments = [a.strip() for a in call[len("after(") : -1].split(",")]
    items: dict[str, set[int]] = {}
    for argument in arguments:
        match = re.fullmatch(r"(\w+)\[(\d+)\]", argument)
        if match:
            items.setdefault(match.group(1), set()).add(int(match.group(2)))
    whole = {name for name, found in items.items() if found == set(range(lengths.get(name, -1)))}
    out: list[str] = []
    for argument in arguments:
        match = re.fullmatch(r"(\w+)\[(\d+)\]", argument)
        if match and match.group(1) in whole:
            if f"*{match.group(1)}" not in out:
                out.append(f"*{match.group(1)}")
            continue
        out.append(argument)
    return f"after({', '.join(out)})"
