"""Which image a Bash step needs: the programs its command calls, read with a real shell parser.

`bash:5.2` (the default `bash-image`) has bash, its builtins and BusyBox's coreutils, and nothing
else: a command that calls python, dbt or gcloud fails there. The command is parsed with bashlex
(pinned in pyproject.toml) into simple commands; the program of each (after assignments, redirects
and wrappers such as `env`, `sudo`, `timeout`) is what it needs. Functions the command defines,
bash builtins and the coreutils every image here has (BASE) need nothing. The rest is looked up in
the `tool-images` table (airflow2kfp.settings.TOOL_IMAGES, extended by `--tool-image TOOL=IMAGE`):
the step runs in the image that has the most of them (bash-image when none is needed).

A program no configured image has, a program known only at run time (`$CMD`, `$(which x)`), or a
script file the image would have to provide makes the step `approximated` (A2K723, naming it); a
command bashlex cannot parse is `approximated` too (A2K724), in bash-image.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.mapping.control_flow import LoopValue
from airflow2kfp.model import Task, XComRef

# bash's builtins and keywords, bash itself, and the programs both BusyBox (bash:5.2, Alpine) and
# the Debian images of the table (python:*-slim, dbt, google-cloud-cli) provide
BUILTINS = frozenset(
    {
        ":",
        ".",
        "[",
        "[[",
        "alias",
        "bg",
        "bind",
        "break",
        "builtin",
        "caller",
        "cd",
        "command",
        "compgen",
        "complete",
        "continue",
        "declare",
        "dirs",
        "disown",
        "echo",
        "enable",
        "eval",
        "exec",
        "exit",
        "export",
        "false",
        "fc",
        "fg",
        "getopts",
        "hash",
        "help",
        "history",
        "jobs",
        "kill",
        "let",
        "local",
        "logout",
        "mapfile",
        "popd",
        "printf",
        "pushd",
        "pwd",
        "read",
        "readarray",
        "readonly",
        "return",
        "set",
        "shift",
        "shopt",
        "source",
        "suspend",
        "test",
        "times",
        "trap",
        "true",
        "type",
        "typeset",
        "ulimit",
        "umask",
        "unalias",
        "unset",
        "wait",
    }
)
BASE = BUILTINS | frozenset(
    {
        "bash",
        "sh",
        "awk",
        "basename",
        "cat",
        "chmod",
        "chown",
        "cmp",
        "cp",
        "cut",
        "date",
        "dd",
        "df",
        "diff",
        "dirname",
        "du",
        "egrep",
        "env",
        "expr",
        "fgrep",
        "find",
        "grep",
        "gunzip",
        "gzip",
        "head",
        "hostname",
        "id",
        "ln",
        "ls",
        "md5sum",
        "mkdir",
        "mktemp",
        "mv",
        "nice",
        "nohup",
        "printenv",
        "readlink",
        "realpath",
        "rm",
        "rmdir",
        "sed",
        "seq",
        "sha1sum",
        "sha256sum",
        "sleep",
        "sort",
        "split",
        "stat",
        "tail",
        "tar",
        "tee",
        "timeout",
        "touch",
        "tr",
        "uname",
        "uniq",
        "wc",
        "which",
        "whoami",
        "xargs",
        "yes",
        "zcat",
    }
)
# programs that run the program named after their own options: the latter is what is needed
WRAPPERS = frozenset({"env", "exec", "command", "nohup", "nice", "time", "timeout", "xargs", "builtin"})
_OPTION_VALUES = {
    "nice": {"-n"},
    "timeout": {"-s", "-k", "--signal", "--kill-after"},
    "xargs": {"-n", "-I", "-P", "-L", "-s", "-d", "-E"},
    "env": {"-u", "-C", "--unset", "--chdir"},
}
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
# bash's `time` keyword before a pipeline, which bashlex does not parse: it needs no program
_TIME = re.compile(r"(^|[;&|(]|\n)([ \t]*)time[ \t]+(?:-p[ \t]+)?", re.MULTILINE)


@dataclass(frozen=True)
class Needs:
    """What a command calls beyond BASE: programs by name, and words it cannot name statically."""

    programs: tuple[str, ...]  # e.g. ("python", "gsutil"), in the order met
    unknown: tuple[str, ...] = ()  # `$CMD`, `./run.sh`: known only at run time, or a file of the image


@dataclass(frozen=True)
class ImageChoice:
    image: str
    needs: Needs | None  # None: the command could not be parsed
    missing: tuple[str, ...] = ()  # needed, and not in `image`

    @property
    def complete(self) -> bool:
        """The image has everything the command calls (as far as a parse can tell)."""
        return self.needs is not None and not self.missing and not self.needs.unknown


def needs(command: str) -> Needs | None:
    """The programs `command` calls, or None when bashlex cannot parse it. Jinja expressions (kept
    for the template translation) stand for a plain word here."""
    import bashlex  # imported on first use: only Bash steps need it

    text = _TIME.sub(r"\1\2", _JINJA.sub("x", command))
    try:
        trees = bashlex.parse(text)
    except Exception:  # noqa: BLE001 - bashlex raises its own errors and others (NotImplementedError) alike
        return None
    functions: set[str] = set()
    found: list[str] = []
    unknown: list[str] = []
    for tree in trees:
        for node in _walk(tree):
            if node.kind == "function":
                functions.add(node.name.word)
            elif node.kind == "command":
                word = _program(node.parts)
                if word is None:
                    continue
                name, dynamic = word
                if dynamic:
                    unknown.append(name)
                elif "/" in name and not name.startswith("/"):
                    unknown.append(name)  # ./run.sh, scripts/x: a file the image must provide
                else:
                    found.append(posixpath.basename(name))
    programs = tuple(dict.fromkeys(p for p in found if p not in BASE and p not in functions))
    return Needs(programs, tuple(dict.fromkeys(unknown)))


def _walk(node: Any) -> Iterator[Any]:
    yield node
    for attribute in ("parts", "list", "command", "body"):
        child = getattr(node, attribute, None)
        if isinstance(child, list):
            for item in child:
                yield from _walk(item)
        elif child is not None and hasattr(child, "kind"):
            yield from _walk(child)


def _program(parts: list[Any]) -> tuple[str, bool] | None:
    """The program a simple command runs, and whether it is only known at run time (an expansion);
    None for a command of assignments and redirects only."""
    words = [p for p in parts if p.kind == "word"]
    index = 0
    while index < len(words):
        word = words[index]
        dynamic = any(
            p.kind in ("parameter", "commandsubstitution", "processsubstitution", "tilde")
            for p in getattr(word, "parts", [])
        )
        name = word.word
        if dynamic:
            return name, True
        if posixpath.basename(name) not in WRAPPERS:
            return name, False
        # the wrapped program: after the wrapper's options (and env's VAR=value, timeout's duration)
        wrapper = posixpath.basename(name)
        index += 1
        while index < len(words):
            current = words[index].word
            if current in _OPTION_VALUES.get(wrapper, ()):
                index += 2
            elif (
                current.startswith("-")
                or (wrapper == "env" and "=" in current)
                or (wrapper == "timeout" and re.fullmatch(r"[\d.]+[smhd]?", current))
            ):
                index += 1
            else:
                break
    return None


def choose(command: str, bash_image: str, tool_images: Mapping[str, str]) -> ImageChoice:
    """The image for a Bash step running `command`: bash-image when it needs nothing beyond BASE,
    else the configured image that has most of what it needs (the first such in the table)."""
    needed = needs(command)
    if needed is None or not needed.programs:
        return ImageChoice(bash_image, needed)
    images = list(dict.fromkeys(tool_images[p] for p in needed.programs if p in tool_images))
    if not images:
        return ImageChoice(bash_image, needed, needed.programs)
    best = max(images, key=lambda image: sum(tool_images.get(p) == image for p in needed.programs))
    missing = tuple(p for p in needed.programs if tool_images.get(p) != best)
    return ImageChoice(best, needed, missing)


@dataclass(frozen=True)
class StepImage:
    """What bash.py needs to know: the image, and what to say about it."""

    image: str
    diagnostics: tuple[Diagnostic, ...]
    notes: tuple[str, ...]
    complete: bool  # False: the step is approximated (the image may lack what the command calls)


def mapped_commands(command: str, task: Task) -> list[str] | None:
    """A mapped task's commands (`.expand(bash_command=[...])`, `.expand_kwargs([...])` over
    literals), each item's; None when they come from another task at run time."""
    if not isinstance(command, LoopValue):
        return [command]
    for name, value in task.mapped_args.items():
        if name == "bash_command" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        if name == "*" and isinstance(value, list) and all(isinstance(v, dict) for v in value):
            items = [v.get("bash_command") for v in value]
            if all(isinstance(item, str) for item in items):
                return [str(item) for item in items]
    return None


def step_image(
    command: str,
    bash_image: str,
    tool_images: Mapping[str, str],
    where: Mapping[str, Any],
    task: Task | None = None,
) -> StepImage:
    """The image of a Bash step running `command` (for a mapped task, every item's), with A2K723 or
    A2K724 when it may lack something."""
    commands = mapped_commands(command, task) if task is not None else [command]
    if commands is None:
        source = next(iter(task.mapped_args.values())) if task is not None and task.mapped_args else None
        shown = (
            f"the output of task {source.task_id}"
            if isinstance(source, XComRef)
            else "a value known at run time"
        )
        return StepImage(
            bash_image,
            (
                diag(
                    "A2K723",
                    f"the command is {shown}: which programs it calls is known "
                    f"only when it runs; it runs in {bash_image}",
                    **where,
                ),
            ),
            (),
            False,
        )
    choice = choose("\n".join(commands), bash_image, tool_images)
    found: list[Diagnostic] = []
    notes: list[str] = []
    if choice.needs is None:
        found.append(
            diag(
                "A2K724",
                f"the command could not be parsed as bash; it runs in {choice.image}, "
                "which may lack the programs it calls",
                **where,
            )
        )
    else:
        if choice.image != bash_image:
            notes.append(f"runs in {choice.image} (calls {', '.join(choice.needs.programs)})")
        if choice.missing:
            found.append(
                diag(
                    "A2K723",
                    f"the command calls {', '.join(choice.missing)}, which no configured "
                    f"image has; it runs in {choice.image}",
                    **where,
                )
            )
        if choice.needs.unknown:
            found.append(
                diag(
                    "A2K723",
                    f"the command runs {', '.join(choice.needs.unknown)}, known only when it "
                    f"runs (an expansion, or a file the image must provide); it runs in {choice.image}",
                    **where,
                )
            )
    return StepImage(choice.image, tuple(found), tuple(notes), choice.complete)


def component_key(image: str, bash_image: str) -> tuple[str, str]:
    """The component's Python name and KFP name for Bash steps in `image`: one component per image
    in a pipeline file ("BASH"/"bash" for bash-image, as before)."""
    if image == bash_image:
        return "BASH", "bash"
    slug = re.sub(r"[^A-Za-z0-9]+", "_", image.rsplit("/", 1)[-1]).strip("_").upper()
    return f"BASH_{slug}", f"bash in {image.rsplit('/', 1)[-1]}"
