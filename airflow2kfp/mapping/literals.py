"""Python source for the values a mapping produces: what the generated file writes for an argument.

Mappings (a container's env values) and both emitters (v1, v2) render values through these
functions, so the step's source and the pipeline's agree; they live with the mapping values they
render (LoopValue, XComText, Interpolated, ...) below the emitters.
"""

from __future__ import annotations

import math
import pprint
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from airflow2kfp.mapping.base import Interpolated, ParamRef, RunIdRef
from airflow2kfp.mapping.control_flow import LoopValue
from airflow2kfp.mapping.xcom import XComText, output_name, text_output
from airflow2kfp.model import XComRef


def py_literal(value: Any, refs: Mapping[str, str], one_line: bool = False) -> str:
    """Python source for an argument value; upstream outputs become `task.outputs[...]`.

    Multi-line text is a triple-quoted string, unless `one_line`: a task inside `with` blocks is
    indented, which must not indent the lines of its strings."""
    if isinstance(value, LoopValue):
        return value.variable
    if isinstance(value, XComRef):
        return f"{refs[value.task_id]}.outputs[{output_name(value.key)!r}]"
    if isinstance(value, XComText):
        return f"{refs[value.task_id]}.outputs[{text_output(value.key)!r}]"
    if isinstance(value, ParamRef):
        return value.name
    if isinstance(value, RunIdRef):
        return "dsl.RUN_ID_PLACEHOLDER"
    if isinstance(value, Interpolated):
        return _f_string(value, refs, one_line)
    if isinstance(value, str) and _multi_line(value) and not one_line:
        return '"""' + docstring_text(value) + '"""'
    return _LITERALS.pformat(value)


def _multi_line(text: str) -> bool:
    """Text written between triple quotes, line by line as it reads (docstring_text escapes what
    must be); other text is written as repr() writes it."""
    return "\n" in text and '"""' not in text and not text.endswith("\\")


class _Literals(pprint.PrettyPrinter):
    """pprint's layout of literal values, with the two it does not write as valid Python fixed:
    non-finite floats (`nan`, `inf`) and integers longer than Python prints in decimal."""

    def format(
        self, value: object, context: dict[int, int], maxlevels: int, level: int
    ) -> tuple[str, bool, bool]:
        if isinstance(value, float) and not math.isfinite(value):
            return f"float({str(value)!r})", True, False
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 10_000:
            return hex(value), True, False  # decimal text of it is limited (sys.get_int_max_str_digits)
        return super().format(value, context, maxlevels, level)


_LITERALS = _Literals(width=88, sort_dicts=False)


def _f_string(value: Interpolated, refs: Mapping[str, str], one_line: bool = False) -> str:
    return f_string(value.parts, lambda part: py_literal(part, refs), one_line)


def f_string(parts: Sequence[Any], render: Callable[[Any], str], one_line: bool = False) -> str:
    """An f-string: text with its braces doubled, run-time values (`render(part)`) as `{name}`."""
    expressions = [None if isinstance(part, str) else render(part) for part in parts]
    if any("'" in e for e in expressions if e):  # `task.outputs['x']`: no backslash may escape a quote
        text = "".join(
            part.replace("{", "{{")
            .replace("}", "}}")
            .encode("unicode_escape")
            .decode("ascii")
            .replace('"', '\\"')
            if expression is None
            else "{" + expression + "}"
            for part, expression in zip(parts, expressions)
        )
        return f'f"{text}"'
    body = "".join(
        part.replace("{", "{{").replace("}", "}}") if expression is None else "{" + expression + "}"
        for part, expression in zip(parts, expressions)
    )
    if _multi_line(body) and not one_line:
        return 'f"""' + docstring_text(body) + '"""'
    return "f" + repr(body)


def comment_text(text: object) -> str:
    """Text for a `#` comment on one line: a line break in a task id or path (Airflow's KEY_REGEX
    accepts a trailing newline) would end the comment and put the rest into the code."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))


def docstring_text(text: object) -> str:
    """Text to place between triple quotes of a (non-raw) string, reading back as `text`: backslashes
    doubled, runs of three or more quotes and quotes at the very end escaped (either would close
    the string), and what a source file cannot hold as it is (CR, NUL, form feed, line separators,
    lone surrogates, other controls) as escapes. Lines and tabs stay as they are."""
    escaped = "".join(
        ch if ch.isprintable() or ch in "\n\t" else repr(ch)[1:-1] for ch in str(text).replace("\\", "\\\\")
    )
    return _CLOSING_QUOTES.sub(lambda run: '\\"' * len(run.group()), escaped)


_CLOSING_QUOTES = re.compile('"{3,}|"+\\Z')  # what would close a triple-quoted string early
