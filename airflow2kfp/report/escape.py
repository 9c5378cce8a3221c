"""User text (DAG ids, paths, messages quoting DAG source) in GitHub-flavoured Markdown, inert.

A DAG file comes from whoever opened the pull request; its ids and the values diagnostics quote end
up in a PR comment, the job summary and the Markdown reports. GitHub renders raw HTML (a safe
subset), `<!--` comments that hide the rest of the comment, links, images, autolinks `<...>` and bare
`https://` / `www.` links. Each function here gives text that renders as exactly the characters it
was given, on one line, also inside a table cell. Tested against cmark-gfm, GitHub's own parser.

Not covered: GitHub links a bare e-mail address whatever is escaped (its autolink runs on the text
after escapes are resolved); the link then shows the address it opens.
"""

from __future__ import annotations

import re
from urllib.parse import quote

_MD_SPECIAL = set("\\`*_[]|#~")
_HTML_SPECIAL = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
# one str.translate pass instead of a Python step per character (reports are mostly these cells)
_MD_TABLE = str.maketrans({c: _HTML_SPECIAL.get(c) or "\\" + c for c in (*_MD_SPECIAL, *_HTML_SPECIAL)})
# what GitHub's autolink extension links in plain text: `scheme://` and `www.`; an escaped `:` or
# `.` (a backslash before punctuation renders as the character alone) stops it
_BARE_LINK = re.compile(r"(?<=[A-Za-z0-9])(:)(?=//)|(?i:(?<=www)(\.))")
_BACKTICKS = re.compile(r"`+")


def md_text(value: object) -> str:
    """Text for Markdown prose or a table cell: no markup, no HTML, no links, no line breaks."""
    text = " ".join(str(value).splitlines()).translate(_MD_TABLE)
    if ":" in text or "." in text:
        text = _BARE_LINK.sub(lambda m: "\\" + m.group(0), text)
    return text


def md_code(value: object) -> str:
    """An inline code span that survives any content, also inside a table cell: its fence is one
    backtick longer than the longest run of backticks in the text (CommonMark's rule)."""
    text = " ".join(str(value).splitlines()).replace("|", "\\|")
    if not text:
        return ""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    # a space inside each fence keeps a backtick at either end of the text from joining the fence
    # (one space is stripped from each side when both are there)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_url(value: object) -> str:
    """A link target: percent-encoded, so no character of it ends the link or starts markup."""
    return quote(str(value), safe="/.-_~#:")
