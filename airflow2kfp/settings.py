"""The settings model: every option of `convert` and `check` defined once.

Each field of `Settings` is one option: its name (the flag `--bash-image` and the config key
`bash-image` come from the field name `bash_image`), its type, its default, its help text and how
it is checked. The command line (airflow2kfp.cli builds its click options from `OPTIONS`), the
settings file (airflow2kfp.config parses `[tool.airflow2kfp]` with `parse_value`) and the run
(`Settings()` is what a run gets when nothing is given) all read this one table, so `--help`,
the file and the behaviour cannot disagree. A test compares every default `--help` shows with it.

Adding an option is one entry here: a field with `option(default, help, kind=...)`. The kinds:

    text     a string (with `choices`, one of them)      image   a non-empty image reference
    flag     a boolean, `--x/--no-x` (or `negative=`)    int     an integer (`minimum`)
    seconds  a finite number of seconds                  path    a folder (relative to the config file)
    file     an existing file (relative to the config file)
    interpreter  an existing executable file            list    strings, the flag repeatable
    codes    diagnostic codes (repeatable)               globs   gitignore patterns (repeatable)
    table    NAME=VALUE pairs (the flag repeatable, a TOML table in the file)
    targets  KFP targets: `v1`, `v2` or `v1,v2` (a string, or a list in the file)

This module is at the bottom of the layers: it imports only the diagnostics table.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from airflow2kfp.diagnostics import CODES

FAIL_ON = ("error", "warning", "never")
MODES = ("static", "airflow", "auto")  # as airflow2kfp.parse.readers.Mode
SYNTAXES = ("regexp", "glob")
SARIF_LEVELS = ("error", "warning", "note")
SANDBOX_MODES = ("auto", "require", "off")  # bubblewrap around Airflow's imports (airflow2kfp.parse.sandbox)
MIN_TIMEOUT, MAX_TIMEOUT = 0.1, 86400.0  # seconds: a tenth of a second to a day
PYTHON_ENV_VAR = "AIRFLOW2KFP_AIRFLOW_PYTHON"  # as airflow2kfp.parse.airflow_import.PYTHON_ENV_VAR
KFP2_ENV_VAR = "AIRFLOW2KFP_KFP2_PYTHON"  # as airflow2kfp.kfp2.client
TARGETS = ("v1", "v2")  # as airflow2kfp.results.TARGETS: KFP v1 (kfp 1.8.22, Argo YAML) and KFP v2 (IR)

# The official Airflow image that runs operators without a mapping, by the DAG's Airflow major
# version (airflow2kfp.mapping.fallback), unless `airflow-image` names one image for all.
AIRFLOW_IMAGES: Mapping[int, str] = MappingProxyType(
    {2: "apache/airflow:2.10.5-python3.11", 3: "apache/airflow:3.3.2-python3.11"}
)

# What a Bash step's command calls -> an image that has it and bash (airflow2kfp.mapping.bash_images).
# A command that calls only bash builtins and the usual coreutils runs in `bash-image`. Pinned:
# a step's image must not change under a pipeline between two runs.
TOOL_IMAGES: Mapping[str, str] = MappingProxyType(
    {
        "python": "python:3.11-slim",
        "python3": "python:3.11-slim",
        "pip": "python:3.11-slim",
        "pip3": "python:3.11-slim",
        "dbt": "ghcr.io/dbt-labs/dbt-core:1.7.13",  # dbt-core alone: an adapter needs its image (docs/ci.md)
        "gcloud": "gcr.io/google.com/cloudsdktool/google-cloud-cli:489.0.0-stable",
        "gsutil": "gcr.io/google.com/cloudsdktool/google-cloud-cli:489.0.0-stable",
        "bq": "gcr.io/google.com/cloudsdktool/google-cloud-cli:489.0.0-stable",
    }
)


@dataclass(frozen=True)
class Option:
    """How one setting is given, shown and checked; its name, type and default are its field's."""

    help: str
    kind: str
    choices: tuple[str, ...] = ()
    shown: str | None = None  # the default as `--help` shows it, when it is computed (None: the value)
    short: str | None = None  # a one-letter flag, e.g. "-j"
    flag: str | None = None  # the long flag, when not --<name> (a repeatable one is singular)
    negative: str | None = None  # the flag that sets a `flag` option off (default: --no-<name>)
    metavar: str | None = None
    minimum: int | None = None  # `int`: the smallest value allowed

    @property
    def repeatable(self) -> bool:
        return self.kind in ("list", "codes", "globs", "table")


def option(default: Any, help: str, kind: str, *, secret: bool = False, **details: Any) -> Any:
    """A `Settings` field: `default`, and the Option that says how it is given and checked. A
    `secret` one (values handed to the Airflow imports) is left out of the settings' repr."""
    spec = Option(help, kind, **details)
    if isinstance(default, (dict, MappingProxyType)):
        frozen = MappingProxyType(dict(default))
        return field(default_factory=lambda: frozen, metadata={"option": spec}, repr=not secret)
    return field(default=default, metadata={"option": spec}, repr=not secret)


@dataclass(frozen=True)
class Settings:
    """A run's settings: defaults, then the settings file, then flags (`override`)."""

    bash_image: str = option(
        "bash:5.2",
        "Image for Bash steps whose command calls only bash builtins and "
        "coreutils (other tools: --tool-image).",
        "image",
    )
    tool_images: Mapping[str, str] = option(
        TOOL_IMAGES,
        "Image for Bash steps whose command calls TOOL (repeatable; adds to the table).",
        "table",
        metavar="TOOL=IMAGE",
        flag="--tool-image",
    )
    utility_image: str = option("alpine:3.20", "Fallback image: no-op and placeholder steps.", "image")
    python_image: str = option("python:3.11", "Base image of Python steps.", "image")
    airflow_image: str | None = option(
        None,
        "Image that runs operators without a mapping.",
        "image",
        shown="by the DAG's Airflow major version: " + " or ".join(AIRFLOW_IMAGES.values()),
    )
    operator_fallback: bool = option(
        True, "Run operators without a mapping in the Airflow image, or emit placeholders.", "flag"
    )
    keep_empty: bool = option(
        False, "Keep EmptyOperator tasks as no-op steps.", "flag", negative="--drop-empty"
    )
    mode: str = option(
        "auto",
        "Read DAG files statically, by importing them with Airflow, or both (auto: "
        "static alone, with a warning, when no Airflow interpreter is found).",
        "text",
        choices=MODES,
    )
    airflow_python: str | None = option(
        None,
        "Airflow interpreter for --mode airflow/auto.",
        "interpreter",
        metavar="PATH",
        shown=f"${PYTHON_ENV_VAR}, else .venv-airflow",
    )
    airflow_timeout: float = option(
        5.0, "Time Airflow may spend importing one file.", "seconds", metavar="SECONDS"
    )
    sandbox: str = option(
        "auto",
        "Import DAG files under bubblewrap (docs/sandbox.md): auto (a warning when it "
        "cannot run here), require (an error then), off.",
        "text",
        choices=SANDBOX_MODES,
    )
    airflow_vars: Mapping[str, str] = option(
        {},
        "A Variable DAG files read while they are imported, as AIRFLOW_VAR_NAME (repeatable).",
        "table",
        metavar="NAME=VALUE",
        flag="--airflow-var",
        secret=True,
    )
    airflow_conns: Mapping[str, str] = option(
        {},
        "A Connection DAG files read while they are imported, as AIRFLOW_CONN_NAME (repeatable).",
        "table",
        metavar="NAME=URI",
        flag="--airflow-conn",
        secret=True,
    )
    airflow_env_file: Path | None = option(
        None, "A file of AIRFLOW_VAR_*/AIRFLOW_CONN_* lines (NAME=VALUE) handed to the imports.", "file"
    )
    fail_on: str = option("error", "Lowest severity that makes the exit code 1.", "text", choices=FAIL_ON)
    sarif_level: str = option(
        "warning",
        "Lowest severity written to --sarif (note: info findings too).",
        "text",
        choices=SARIF_LEVELS,
    )
    ignore: tuple[str, ...] = option((), "Suppress a diagnostic code (repeatable).", "codes", metavar="CODE")
    owned: tuple[str, ...] = option(
        (),
        "A DAG whose pipeline files you own: left alone by convert, skipped by check (repeatable).",
        "list",
        metavar="DAG_ID",
    )
    include: tuple[str, ...] = option(
        (), "Only files matching (gitignore syntax, repeatable).", "globs", metavar="GLOB"
    )
    exclude: tuple[str, ...] = option(
        (), "Skip files matching (gitignore syntax, repeatable).", "globs", metavar="GLOB"
    )
    all_files: bool = option(
        False,
        "Read every .py file, not only those mentioning both 'dag' and 'airflow'.",
        "flag",
        negative="--dag-files",
    )
    ignore_syntax: str = option(
        "regexp", ".airflowignore syntax, as [core] DAG_IGNORE_FILE_SYNTAX.", "text", choices=SYNTAXES
    )
    jobs: int = option(0, "Worker processes; 0 = one per core.", "int", short="-j", minimum=0)
    cache: bool = option(True, "Reuse results of unchanged DAGs.", "flag")
    cache_dir: Path | None = option(
        None,
        "Cache folder; safe to delete.",
        "path",  # noqa: RUF009
        shown="the user cache folder, e.g. ~/.cache/airflow2kfp/<hash of OUT>",
    )
    max_file_size: int = option(5_000_000, "Largest DAG file read, in bytes.", "int", minimum=1)
    target: tuple[str, ...] = option(
        ("v1",),
        "KFP target(s): v1 (kfp 1.8.22, Argo YAML in pipelines/), v2 (kfp 2.x, pipeline IR in "
        "pipelines/v2/), or both.",
        "targets",
        metavar="v1|v2|v1,v2",
        shown="v1",
    )
    kfp2_python: str | None = option(
        None,
        "kfp 2.x interpreter for --target v2.",
        "interpreter",
        metavar="PATH",
        shown=f"${KFP2_ENV_VAR}, else .venv-kfp2",
    )
    source: Path | None = field(default=None, compare=False)  # the file the settings came from


def _options() -> dict[str, Option]:
    return {f.name: f.metadata["option"] for f in fields(Settings) if "option" in f.metadata}


OPTIONS: Mapping[str, Option] = MappingProxyType(_options())  # field name -> Option, in --help order
DEFAULTS = Settings()


def key_of(name: str) -> str:
    """The config key of a field: `bash_image` -> `bash-image` (its flag too, unless `Option.flag`)."""
    return name.replace("_", "-")


def flag_of(name: str) -> str:
    return OPTIONS[name].flag or f"--{key_of(name)}"


def field_of(name: str) -> Field[Any]:
    return next(f for f in fields(Settings) if f.name == name)


def shown_default(name: str) -> str | None:
    """The default as `--help` shows it in brackets; None for a repeatable option without one."""
    spec = OPTIONS[name]
    if spec.shown is not None:
        return spec.shown
    value = getattr(DEFAULTS, name)
    if spec.kind == "flag":
        return "on" if value else "off"
    if spec.kind == "table":
        tools: dict[str, list[str]] = {}
        for tool, image in value.items():
            tools.setdefault(image, []).append(tool)
        return "; ".join(f"{', '.join(names)}: {image}" for image, names in tools.items()) or None
    if value is None or (spec.repeatable and not value):  # no default: none is shown
        return None
    return f"{value:g}" if isinstance(value, float) else str(value)


# -- checks ----------------------------------------------------------------------------------------


def check_seconds(value: float) -> str | None:
    """Why `value` is not a usable timeout in seconds, or None (nan, inf and 1e309 are not)."""
    if not math.isfinite(value) or not MIN_TIMEOUT <= value <= MAX_TIMEOUT:
        return f"expected a number of seconds from {MIN_TIMEOUT} to {MAX_TIMEOUT:g}"
    return None


def check_glob(pattern: str) -> str | None:
    """Why `pattern` is not a usable gitignore-style glob (as --include/--exclude use), or None."""
    from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

    try:
        compiled = GitIgnoreSpecPattern(pattern)
    except (ValueError, re.error) as error:
        return f"not a valid gitignore pattern ({error})"
    if compiled.include is None:
        return "matches nothing as a gitignore pattern (blank, a # comment, or not a pattern)"
    return None


def check_interpreter(path: str) -> str | None:
    """Why `path` cannot be the Airflow interpreter, or None: an existing executable file."""
    if not os.path.exists(path):
        return "no such file"
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        return "not an executable file"
    return None


def parse_targets(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """`v1`, `v2`, `v1,v2` (or a list of them) as a tuple in TARGETS' order; SettingError if not."""
    parts = [p.strip() for p in (value.split(",") if isinstance(value, str) else value)]
    if not parts or any(p not in TARGETS for p in parts):
        raise SettingError(f"target {value!r}: expected v1, v2 or v1,v2")
    return tuple(t for t in TARGETS if t in parts)


def split_pair(text: str) -> tuple[str, str] | None:
    """`NAME=VALUE` as (name, value); None when it is not one (no `=`, or an empty side)."""
    name, sep, value = text.partition("=")
    return (name.strip(), value.strip()) if sep and name.strip() and value.strip() else None


def problem(name: str, value: Any) -> tuple[Any, str] | None:
    """Why `value` cannot be the setting `name`, as (the offending value, why), or None. Types are
    already right here (click and `parse_value` see to them)."""
    spec = OPTIONS[name]
    if value is None:
        return None
    if spec.choices and value not in spec.choices:
        return value, f"expected one of {', '.join(spec.choices)}"
    if spec.kind in ("image", "interpreter", "path", "file") and str(value) == "":
        return value, "must not be empty"
    if spec.kind == "int" and spec.minimum is not None and value < spec.minimum:
        return value, f"must be {spec.minimum} or more"
    if spec.kind == "seconds":
        why = check_seconds(value)
        return (value, why) if why else None
    if spec.kind == "codes":
        unknown = [code for code in value if code not in CODES]
        return (", ".join(unknown), "unknown diagnostic code(s)") if unknown else None
    if spec.kind == "globs":
        return next(((pattern, why) for pattern in value if (why := check_glob(pattern))), None)
    if spec.kind == "list" and any(not item for item in value):
        return "", "must not hold an empty string"
    if spec.kind == "targets" and (not value or any(v not in TARGETS for v in value)):
        return ",".join(value), "expected v1, v2 or v1,v2"
    if spec.kind == "table":
        bad = [f"{k}={v}" for k, v in value.items() if not k or not v or "=" in k]
        return (", ".join(bad), "not NAME=VALUE with both sides set") if bad else None
    return None


def check_all(settings: Settings, where: str | None = None) -> list[str]:
    """Every problem of `settings`, one line each: `--key 'value': why` for the command line, or
    `FILE: key = 'value': why` for a settings file (`where`)."""
    found = []
    for name in OPTIONS:
        bad = problem(name, getattr(settings, name))
        if bad is None:
            continue
        value, why = bad
        if OPTIONS[name].kind == "codes":  # the codes are named in the message
            found.append(f"{f'{where}: {key_of(name)}' if where else flag_of(name)}: {why}: {value}")
        elif where:
            sep = " =" if not OPTIONS[name].repeatable else ""
            found.append(f"{where}: {key_of(name)}{sep} {value!r}: {why}")
        else:
            found.append(f"{flag_of(name)} {value!r}: {why}")
    return found


# -- values from a settings file -------------------------------------------------------------------


_FILE_TYPES: Mapping[str, tuple[type, ...]] = {
    "text": (str,),
    "image": (str,),
    "interpreter": (str,),
    "path": (str,),
    "file": (str,),
    "flag": (bool,),
    "int": (int,),
    "seconds": (int, float),
    "list": (list,),
    "codes": (list,),
    "globs": (list,),
    "table": (dict,),
    "targets": (str, list),
}


class SettingError(ValueError):
    """A value of the settings file that cannot be used; the message says which and why."""


def parse_value(name: str, raw: Any, config_path: Path) -> Any:
    """A settings file's TOML value for field `name`, as the field holds it; SettingError if not usable."""
    spec = OPTIONS[name]
    key = key_of(name)
    expected = _FILE_TYPES[spec.kind]
    if not any(isinstance(raw, kind) for kind in expected) or (spec.kind != "flag" and isinstance(raw, bool)):
        raise SettingError(f"{key} has the wrong type ({type(raw).__name__})")
    value: Any = raw
    if spec.kind in ("list", "codes", "globs"):
        if not all(isinstance(item, str) for item in raw):
            raise SettingError(f"{key} must be a list of strings")
        value = tuple(raw)
    elif spec.kind == "table":
        if not all(isinstance(v, str) for v in raw.values()):
            raise SettingError(f"{key} must be a table of strings")
        value = MappingProxyType({**getattr(DEFAULTS, name), **raw})  # adds to (or replaces in) the defaults
    elif spec.kind in ("path", "file"):
        if not raw:
            raise SettingError(f"{key} must not be empty")
        value = config_path.parent / raw  # relative to the file that says it
    elif spec.kind == "seconds":
        value = float(raw)
    elif spec.kind == "targets":
        if isinstance(raw, list) and not all(isinstance(item, str) for item in raw):
            raise SettingError(f"{key} must be a string or a list of strings")
        value = parse_targets(raw)
    return value


def flag_value(name: str, given: Any, base: Any) -> Any:
    """A flag's value on top of the file's (`base`): repeatable flags add to lists and tables."""
    spec = OPTIONS[name]
    if spec.kind in ("list", "codes", "globs"):
        return tuple(base) + tuple(given) if given else None
    if spec.kind == "table":
        return MappingProxyType({**base, **dict(given)}) if given else None
    return given


def settings_markdown() -> str:
    """Every option as a Markdown table (docs/ci.md holds it; a test keeps the two equal)."""
    rows = ["| key | flag | default | what |", "|---|---|---|---|"]
    for name, spec in OPTIONS.items():
        flag = f"`{flag_of(name)}`" + (
            f" / `{spec.negative or '--no-' + key_of(name)}`" if spec.kind == "flag" else ""
        )
        shown = shown_default(name)
        kind = f" One of: {', '.join(spec.choices)}." if spec.choices else ""
        default = (shown or "—").replace("|", "\\|")
        rows.append(f"| `{key_of(name)}` | {flag} | {default} | {spec.help}{kind} |")
    return "\n".join(rows)
