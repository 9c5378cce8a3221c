"""Names for the outputs: KFP task names, Python identifiers and file names, valid and unique.

At the bottom of the layers (standard library only): the mappings, the emitters, the reports and
the batch all name things with these, so each agrees with the others.

Airflow ids allow `Extract`, `load.data`, `task_a` next to `task-a`, and up to 250 characters; KFP v1
task names become Argo template names and pod name parts, so they must be lowercase RFC 1123 labels
of at most 63 characters. Collisions are resolved deterministically: the first claimant (in DAG
order) keeps the plain name, later ones get `-2`, `-3`, ..., and every change is reported.
"""

from __future__ import annotations

import hashlib
import keyword
import re
import unicodedata
from collections.abc import Iterable

MAX_K8S_NAME = 63
# KFP's own group templates are named like this; a task with such a name would clash with them.
_KFP_GROUP_NAME = re.compile(r"^(condition|for-loop|exit-handler|graph)-\d+$")


def k8s_name(raw: str, max_length: int = MAX_K8S_NAME) -> str:
    """Lowercase, [a-z0-9-], starting with a letter, at most `max_length` characters."""
    name = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")
    if not name or not name[0].isalpha():
        name = f"task-{name}".rstrip("-")
    if len(name) > max_length:
        # keep it recognisable and unique: a prefix plus a short stable hash of the full id
        digest = hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()[:6]
        name = f"{name[: max_length - 7].rstrip('-')}-{digest}"
    return name


def python_identifier(raw: str) -> str:
    """A valid Python identifier for `raw`, lowercase, in the form Python itself reads it.

    Python NFKC-normalises identifiers as it parses them (PEP 3131), so `ﬁ` is the name `fi` and
    `a²` is `a2`: the identifier is normalised first, then runs of what no identifier may hold
    become `_` (for ASCII, what `\\W` matches; `a\u00b7b`'s middle dot stays, `x\ud800`'s surrogate
    does not). Two raw names can
    give the same identifier: callers make them unique (UniqueNames) from these normalised forms.
    """
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", raw).lower())
    text = "".join(ch if ("_" + ch).isidentifier() else " " for ch in text)  # XID_Continue, as Python
    name = re.sub(" +", "_", text).strip("_") or "task"
    if not name[0].isidentifier():  # a digit, a combining mark: not a first character
        name = f"t_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name = f"{name}_"
    if not name.isidentifier() or unicodedata.normalize("NFKC", name) != name:  # not expected; never emitted
        name = f"t_{hashlib.sha1(raw.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"
    return name


def ascii_identifier(raw: str) -> str:
    """python_identifier(raw) in ASCII, for names KFP sees (pipeline parameters must match
    `[A-Za-z][A-Za-z0-9_ -]*`): accents dropped (`à` -> `a`), other letters as their code point
    (`日` -> `u65e5`). Callers make the results unique, as for python_identifier."""
    name = python_identifier(raw)
    if name.isascii():
        return name
    folded = "".join(
        ch if ch.isascii() else "" if unicodedata.combining(ch) else f"_u{ord(ch):04x}_"
        for ch in unicodedata.normalize("NFKD", name)
    )
    return python_identifier(folded)


# File names: room for a "_NN" suffix and ".yaml" within the 255 bytes most file systems allow
MAX_STEM_BYTES = 200
# Windows device names, reserved with any extension ("con.py" cannot be created there)
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$", re.IGNORECASE)


def file_stem(raw: str) -> str:
    """A file name stem for a DAG id: one path component (identifier characters only, so never
    `..`, `/` or `\\`), NFC-normalised, at most MAX_STEM_BYTES in UTF-8, never a Windows device name."""
    return bounded_stem(python_identifier(raw), raw)


def bounded_stem(name: str, raw: str) -> str:
    """`name` (already one path component) NFC-normalised, cut to MAX_STEM_BYTES with a hash of `raw`,
    and never a Windows device name."""
    name = unicodedata.normalize("NFC", name)
    if len(name.encode()) > MAX_STEM_BYTES:
        digest = hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        cut = name.encode()[: MAX_STEM_BYTES - len(digest) - 1].decode(errors="ignore")
        name = f"{cut.rstrip('_')}_{digest}"
    return f"{name}_" if _WINDOWS_RESERVED.match(name) else name


class UniqueNames:
    """Hands out unique names in request order; `reserved` names are never handed out."""

    def __init__(self, reserved: Iterable[str] = (), *, casefold: bool = False) -> None:
        self._casefold = casefold
        self._taken: set[str] = {self._key(name) for name in reserved}

    def _key(self, name: str) -> str:
        # casefold mode is for file names: NFKC also folds the forms that case- and
        # normalisation-insensitive file systems (macOS, Windows) treat as the same name
        return unicodedata.normalize("NFKC", name.casefold()) if self._casefold else name

    def claim(self, wanted: str, *, max_length: int | None = None, sep: str = "-") -> str:
        candidate, index = wanted, 1
        while self._key(candidate) in self._taken or (sep == "-" and _KFP_GROUP_NAME.match(candidate)):
            index += 1
            suffix = f"{sep}{index}"
            base = wanted if max_length is None else wanted[: max_length - len(suffix)].rstrip(sep)
            candidate = f"{base}{suffix}"
        self._taken.add(self._key(candidate))
        return candidate


def kfp_task_names(task_ids: Iterable[str], pipeline_name: str) -> dict[str, str]:
    """Airflow task_id -> unique KFP task name; the pipeline's own template name is reserved."""
    names = UniqueNames(reserved=[pipeline_name])
    return {task_id: names.claim(k8s_name(task_id), max_length=MAX_K8S_NAME) for task_id in task_ids}
