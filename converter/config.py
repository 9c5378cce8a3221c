"""A team's migration policy, committed with the DAGs: `[tool.airflow2kfp]` or `airflow2kfp.toml`.

Found like ruff finds its settings: the nearest folder at or above the working directory that has
an `airflow2kfp.toml` (top-level keys) or a `pyproject.toml` with a `[tool.airflow2kfp]` table.
Command-line flags override the file. Unknown keys are an error, so a typo never passes silently.

    [tool.airflow2kfp]
    bash-image = "bash:5.2"          # image of BashOperator steps
    utility-image = "alpine:3.20"    # no-op and placeholder steps
    python-image = "python:3.11"     # base image of Python (PythonOperator, @task) steps
    airflow-image = "apache/airflow:3.3.2-python3.11"  # runs operators that have no mapping (default:
                                     # the official image of the DAG's Airflow major version)
    operator-fallback = true         # false: operators without a mapping become placeholders
    mode = "auto"                    # static | airflow (import with Airflow) | auto (both, merged;
                                     # static alone, said once, when no Airflow interpreter is found)
    fail-on = "error"                # error | warning | never
    target = "v1"                    # v1 | v2 | "v1,v2": KFP v1 (Argo YAML) and/or KFP v2 (pipeline IR)
    kfp2-python = ".venv-kfp2/bin/python"  # kfp 2.x for the v2 target (default: $AIRFLOW2KFP_KFP2_PYTHON,
                                     # else the project's .venv-kfp2)
    ignore = ["A2K303"]              # codes suppressed everywhere
    exclude = ["tests/**"]
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

from converter.diagnostics import CODES

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

CONFIG_FILE = "airflow2kfp.toml"
FAIL_ON = ("error", "warning", "never")
MODES = ("static", "airflow", "auto")  # as converter.parse.readers.Mode
SYNTAXES = ("regexp", "glob")
MIN_TIMEOUT, MAX_TIMEOUT = 0.1, 86400.0  # seconds: a tenth of a second to a day
PYTHON_ENV_VAR = "AIRFLOW2KFP_AIRFLOW_PYTHON"  # as converter.parse.airflow_import.PYTHON_ENV_VAR


class ConfigError(Exception):
    """The configuration cannot be used; the CLI exits 2 with this message."""


@dataclass(frozen=True)
class Settings:
    bash_image: str = "bash:5.2"
    utility_image: str = "alpine:3.20"
    keep_empty: bool = False
    python_image: str = "python:3.11"
    airflow_image: str | None = None  # None: by the DAG's Airflow major version (mapping/fallback.py)
    operator_fallback: bool = True
    mode: str = "auto"
    fail_on: str = "error"
    ignore: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    all_files: bool = False
    ignore_syntax: str = "regexp"
    jobs: int = 0  # 0: one worker per core
    cache: bool = True
    cache_dir: Path | None = None
    max_file_size: int = 5_000_000
    airflow_python: str | None = None  # the interpreter that imports DAGs in airflow/auto mode
    airflow_timeout: float = 5.0  # seconds Airflow may spend importing one file
    target: tuple[str, ...] = ("v1",)  # KFP targets: v1 (kfp 1.8.22, Argo YAML), v2 (kfp 2.x, IR), or both
    kfp2_python: str | None = None  # the kfp 2.x interpreter for --target v2
    source: Path | None = field(default=None, compare=False)  # the file the settings came from


_TYPES: dict[str, type | tuple[type, ...]] = {
    "bash_image": str,
    "utility_image": str,
    "keep_empty": bool,
    "python_image": str,
    "airflow_image": str,
    "operator_fallback": bool,
    "mode": str,
    "fail_on": str,
    "ignore": list,
    "include": list,
    "exclude": list,
    "all_files": bool,
    "ignore_syntax": str,
    "jobs": int,
    "cache": bool,
    "cache_dir": str,
    "max_file_size": int,
    "airflow_python": str,
    "airflow_timeout": (int, float),
    "target": (str, list),
    "kfp2_python": str,
}


def parse_targets(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """`v1`, `v2`, `v1,v2` (or a list of them) as a tuple in the order TARGETS lists them."""
    from converter.results import TARGETS

    parts = [p.strip() for p in (value.split(",") if isinstance(value, str) else value)]
    unknown = [p for p in parts if p not in TARGETS]
    if unknown or not parts:
        raise ConfigError(f"target {value!r}: expected v1, v2 or v1,v2")
    return tuple(t for t in TARGETS if t in parts)


def find_config(start: Path) -> Path | None:
    for folder in (start.resolve(), *start.resolve().parents):
        own = folder / CONFIG_FILE
        if own.is_file():
            return own
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "airflow2kfp" in _load(pyproject).get("tool", {}):
            return pyproject
    return None


def _load(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read configuration: {error}") from error


def _check_choice(path: Path, key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{path}: {key} = {value!r}: expected one of {', '.join(choices)}")


def check_seconds(value: float) -> str | None:
    """Why `value` is not a usable timeout in seconds, or None (nan, inf and 1e309 are not)."""
    if not math.isfinite(value) or not MIN_TIMEOUT <= value <= MAX_TIMEOUT:
        return f"expected a number of seconds from {MIN_TIMEOUT} to {MAX_TIMEOUT:g}"
    return None


def check_glob(pattern: str) -> str | None:
    """Why `pattern` is not a usable gitignore-style glob (as --include/--exclude use), or None."""
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


def validate(settings: Settings, where: Path | str = "command line") -> Settings:
    path = Path(str(where))
    _check_choice(path, "fail-on", settings.fail_on, FAIL_ON)
    _check_choice(path, "mode", settings.mode, MODES)
    _check_choice(path, "ignore-syntax", settings.ignore_syntax, SYNTAXES)
    unknown = [code for code in settings.ignore if code not in CODES]
    if unknown:
        raise ConfigError(f"{path}: ignore: unknown diagnostic code(s): {', '.join(unknown)}")
    if settings.jobs < 0:
        raise ConfigError(f"{path}: jobs must be 0 (all cores) or more")
    def setting(key: str) -> str:  # how the user wrote it: a flag, or a key of the file
        return f"--{key}" if str(where) == "command line" else f"{path}: {key}"

    if settings.max_file_size <= 0:
        raise ConfigError(f"{setting('max-file-size')}: must be a positive number of bytes")
    problem = check_seconds(settings.airflow_timeout)
    if problem:
        raise ConfigError(f"{setting('airflow-timeout')} {settings.airflow_timeout!r}: {problem}")
    for key in ("include", "exclude"):
        for pattern in getattr(settings, key):
            problem = check_glob(pattern)
            if problem:
                raise ConfigError(f"{setting(key)} {pattern!r}: {problem}")
    if not settings.target or any(t not in ("v1", "v2") for t in settings.target):
        raise ConfigError(f"{setting('target')}: expected v1, v2 or v1,v2")
    for key in ("bash_image", "utility_image", "python_image", "airflow_image", "airflow_python", "kfp2_python"):
        if getattr(settings, key) == "":
            raise ConfigError(f"{setting(key.replace('_', '-'))}: must not be empty")
    return settings


def check_airflow_python(settings: Settings) -> None:
    """The Airflow interpreter a run in airflow/auto mode was told to use exists and can run: a
    missing one is an error, never a quiet fall back to another interpreter. Checked on the final
    settings (a config file's interpreter does not matter to `--mode static`)."""
    if settings.kfp2_python is not None and "v2" in settings.target:
        problem = check_interpreter(settings.kfp2_python)
        if problem:
            where = f"{settings.source}: " if settings.source else ""
            raise ConfigError(f"{where}kfp2-python {settings.kfp2_python!r}: {problem}")
    if settings.mode == "static":
        return
    if settings.airflow_python is not None:
        problem = check_interpreter(settings.airflow_python)
        if problem:
            where = f"{settings.source}: " if settings.source else ""
            raise ConfigError(f"{where}airflow-python {settings.airflow_python!r}: {problem}")
        return
    from_env = os.environ.get(PYTHON_ENV_VAR)
    if from_env:
        problem = check_interpreter(from_env)
        if problem:
            raise ConfigError(f"${PYTHON_ENV_VAR} = {from_env!r}: {problem}")


def parse(table: dict[str, Any], path: Path) -> Settings:
    values: dict[str, Any] = {}
    for raw_key, value in table.items():
        key = raw_key.replace("-", "_")
        if key not in _TYPES:
            known = ", ".join(sorted(k.replace("_", "-") for k in _TYPES))
            raise ConfigError(f"{path}: unknown key {raw_key!r} (known: {known})")
        expected = _TYPES[key]
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            raise ConfigError(f"{path}: {raw_key} has the wrong type ({type(value).__name__})")
        if expected is list:
            if not all(isinstance(item, str) for item in value):
                raise ConfigError(f"{path}: {raw_key} must be a list of strings")
            value = tuple(value)
        if key == "target":
            value = parse_targets(value)
        if key == "cache_dir":
            if not value:
                raise ConfigError(f"{path}: cache-dir must not be empty")
            value = path.parent / value
        values[key] = value
    return validate(Settings(**values, source=path), path)


def load_settings(config: Path | None = None, start: Path | None = None) -> Settings:
    """Settings from `config`, or from the nearest config file above `start`; defaults if none."""
    path = config or find_config(start or Path.cwd())
    if path is None:
        return Settings()
    document = _load(path)
    table = document.get("tool", {}).get("airflow2kfp", {}) if path.name == "pyproject.toml" else document
    return parse(table, path)


def override(settings: Settings, **flags: Any) -> Settings:
    """Command-line values win; a flag left at None keeps the file's value."""
    names = {f.name for f in fields(Settings)}
    changes = {k: v for k, v in flags.items() if v is not None and k in names}
    return validate(replace(settings, **changes))
