"""What the KFP API server does to a run's parameters before Argo sees them, and Go's JSON text.

KFP v1 substitutes run macros in the workflow's parameters when it creates a run (backend
`ParameterFormatter.FormatWorkflowParameters`, `NewRunParameterFormatter(runUUID, runAt)`):
`[[RunUUID]]` becomes the run's id and `[[CurrentTime]]` / `[[CurrentTime.<Go layout>]]` the run's
creation time in UTC (default layout `20060102150405`). `[[ScheduledTime...]]` is substituted only in
runs a recurring run starts (`NewSWFParameterFormatter`): a one-off run keeps it as written, and so
does `verify`, which runs the workflow once as if it was created at the DAG run's logical date.

Argo writes JSON with Go's `encoding/json` (loop output aggregation): `go_json` gives the same text
for the values JSON can hold: no spaces, object keys sorted, `<`, `>`, `&`, U+2028 and U+2029
escaped, non-ASCII kept, numbers as Go formats a float64.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

_MACRO = re.compile(r"\[\[(.*?)\]\]")
DEFAULT_LAYOUT = "20060102150405"

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def format_run_macros(text: str, run_uuid: str, run_at: datetime) -> str:
    """`text` with KFP's run macros substituted, each match once, as the API server does."""

    def substitute(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole.startswith("[[RunUUID]]"):
            return run_uuid
        if whole.startswith("[[CurrentTime]]"):
            return go_time(run_at, DEFAULT_LAYOUT)
        if whole.startswith("[[CurrentTime."):
            return go_time(run_at, whole[len("[[CurrentTime.") : -2])
        return whole  # [[ScheduledTime...]], [[Index]]: recurring runs only

    return _MACRO.sub(substitute, text)


def _lower_follows(layout: str, index: int) -> bool:
    return index < len(layout) and "a" <= layout[index] <= "z"


def _chunk(layout: str, i: int) -> tuple[str, int] | None:
    """The Go layout element starting at `i` and its length (Go's `nextStdChunk`), else None."""
    rest = layout[i:]
    c = rest[0]
    if c == "J" and rest.startswith("Jan"):
        if rest.startswith("January"):
            return "January", 7
        if not _lower_follows(layout, i + 3):
            return "Jan", 3
    if c == "M":
        if rest.startswith("Mon"):
            if rest.startswith("Monday"):
                return "Monday", 6
            if not _lower_follows(layout, i + 3):
                return "Mon", 3
        if rest.startswith("MST"):
            return "MST", 3
    if c == "0":
        if len(rest) >= 2 and "1" <= rest[1] <= "6":
            return rest[:2], 2
        if rest.startswith("002"):
            return "002", 3
    if c == "1":
        return ("15", 2) if rest.startswith("15") else ("1", 1)
    if c == "2":
        return ("2006", 4) if rest.startswith("2006") else ("2", 1)
    if c == "_":
        if rest.startswith("_2"):
            if rest.startswith("_2006"):
                return None  # "_" is text here, "2006" the year
            return "_2", 2
        if rest.startswith("__2"):
            return "__2", 3
    if c in "345":
        return c, 1
    if rest.startswith(("PM", "pm")):
        return rest[:2], 2
    if c in "-Z":
        for zone in ("070000", "07:00:00", "0700", "07:00", "07"):
            if rest[1:].startswith(zone):
                return c + zone, 1 + len(zone)
    if c in ".," and len(rest) > 1 and rest[1] in "09":
        j = 1
        while j < len(rest) and rest[j] == rest[1]:
            j += 1
        if not (j < len(rest) and rest[j].isdigit()):
            return rest[:j], j
    return None


def _element(moment: datetime, element: str) -> str:
    hour12 = moment.hour % 12 or 12
    fixed = {
        "January": _MONTHS[moment.month - 1],
        "Jan": _MONTHS[moment.month - 1][:3],
        "Monday": _DAYS[moment.weekday()],
        "Mon": _DAYS[moment.weekday()][:3],
        "MST": "UTC",
        "01": f"{moment.month:02d}",
        "02": f"{moment.day:02d}",
        "03": f"{hour12:02d}",
        "04": f"{moment.minute:02d}",
        "05": f"{moment.second:02d}",
        "06": f"{moment.year % 100:02d}",
        "002": f"{moment.timetuple().tm_yday:03d}",
        "15": f"{moment.hour:02d}",
        "1": str(moment.month),
        "2006": f"{moment.year:04d}",
        "2": str(moment.day),
        "_2": f"{moment.day:>2d}",
        "__2": f"{moment.timetuple().tm_yday:>3d}",
        "3": str(hour12),
        "4": str(moment.minute),
        "5": str(moment.second),
        "PM": "PM" if moment.hour >= 12 else "AM",
        "pm": "pm" if moment.hour >= 12 else "am",
    }
    if element in fixed:
        return fixed[element]
    if element[0] == "Z":  # ISO 8601 zones print Z for UTC
        return "Z"
    if element[0] == "-":  # numeric zones: +00, +0000, +00:00, ...
        return "+" + "".join("0" if ch.isdigit() else ch for ch in element[1:])
    digits = f"{moment.microsecond:06d}000"[: len(element) - 1]  # fractional seconds
    if element[1] == "9":
        digits = digits.rstrip("0")
        return element[0] + digits if digits else ""
    return element[0] + digits


def go_time(moment: datetime, layout: str) -> str:
    """`moment` (made UTC) formatted with a Go reference-time layout, as Go's Time.Format does."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    out: list[str] = []
    i = 0
    while i < len(layout):
        chunk = _chunk(layout, i)
        if chunk is None:
            out.append(layout[i])
            i += 1
            continue
        element, length = chunk
        out.append(_element(moment, element))
        i += length
    return "".join(out)


# -- Go's encoding/json ---------------------------------------------------------------------------

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _go_string(text: str) -> str:
    encoded = json.dumps(text, ensure_ascii=False)
    # Go (before 1.22, which Argo 3.x builds with) writes \b and \f as \u0008 and \u000c
    encoded = encoded.replace("\\b", "\\u0008").replace("\\f", "\\u000c")
    return re.sub("[<>&\u2028\u2029]", lambda m: _GO_ESCAPES[m.group(0)], encoded)


def _go_float(number: float) -> str:
    """strconv.AppendFloat(f, 'f' or 'e', -1, 64) as encoding/json chooses between them: the
    shortest digits that read back as the same float64, in 'e' form below 1e-6 or from 1e21 on
    (exponent `e-7`, `e+21`), else in plain decimal form."""
    if math.isnan(number) or math.isinf(number):
        raise ValueError("JSON has no NaN or infinity")
    if number == 0:
        return "-0" if math.copysign(1.0, number) < 0 else "0"
    sign, digits, exponent = Decimal(repr(float(number))).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    minus = "-" if sign else ""
    if abs(number) < 1e-6 or abs(number) >= 1e21:
        power = exponent + len(text) - 1
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{minus}{mantissa}e{'-' if power < 0 else '+'}{abs(power) if power < 0 else f'{power:02d}'}"
    if exponent >= 0:
        return minus + text + "0" * exponent
    point = len(text) + exponent
    if point > 0:
        return f"{minus}{text[:point]}.{text[point:]}"
    return f"{minus}0.{'0' * -point}{text}"


def go_json(value: Any) -> str:
    """`value` (parsed JSON) as Go's json.Marshal writes it, numbers read as float64."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _go_string(value)
    if isinstance(value, (int, float)):
        return _go_float(float(value))
    if isinstance(value, list):
        return "[" + ",".join(go_json(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_go_string(str(k))}:{go_json(v)}" for k, v in sorted(value.items())) + "}"
    raise TypeError(f"not a JSON value: {type(value).__name__}")
