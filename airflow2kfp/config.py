"""A team's migration policy, committed with the DAGs: `[tool.airflow2kfp]` or `airflow2kfp.toml`.

Found like ruff finds its settings: the nearest folder at or above the working directory that has
an `airflow2kfp.toml` (top-level keys) or a `pyproject.toml` with a `[tool.airflow2kfp]` table.
Command-line flags override the file. Unknown keys are an error, so a typo never passes silently.

    [tool.airflow2kfp]
    bash-image = "bash:5.2"
    tool-images = { dbt = "registry.example.com/dbt:1.9" }
    mode = "static"
    fail-on = "error"
    owned = ["orders_daily"]
    exclude = ["tests/**"]

Every key, its type, default and check come from the settings model (airflow2kfp.settings); this
module finds the file, reads it, and layers the flags on top.
"""

from __future__ import annotations

import os
import sys
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from airflow2kfp.settings import (
    FAIL_ON,
    MODES,
    OPTIONS,
    PYTHON_ENV_VAR,
    SYNTAXES,
    SettingError,
    Settings,
    check_all,
    check_glob,
    check_interpreter,
    check_seconds,
    flag_value,
    key_of,
    parse_value,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

__all__ = [
    "CONFIG_FILE",
    "FAIL_ON",
    "MODES",
    "PYTHON_ENV_VAR",
    "SYNTAXES",
    "ConfigError",
    "Settings",
    "check_airflow_python",
    "check_glob",
    "check_interpreter",
    "check_kfp2_python",
    "check_seconds",
    "find_config",
    "load_settings",
    "override",
    "parse",
    "validate",
]

CONFIG_FILE = "airflow2kfp.toml"


class ConfigError(Exception):
    """The configuration cannot be used; the CLI exits 2 with this message."""


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


def validate(settings: Settings, where: Path | str | None = None) -> Settings:
    """`settings` if every value is usable (airflow2kfp.settings checks them), else ConfigError
    naming the first problem as the user wrote it: a flag, or a key of the file `where`."""
    problems = check_all(settings, str(where) if where is not None else None)
    if problems:
        raise ConfigError(problems[0])
    return settings


def check_airflow_python(settings: Settings) -> None:
    """The Airflow interpreter a run in airflow/auto mode was told to use exists and can run: a
    missing one is an error, never a quiet fall back to another interpreter. Checked on the final
    settings (a config file's interpreter does not matter to `--mode static`)."""
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


def check_kfp2_python(settings: Settings) -> None:
    """The kfp 2.x interpreter named for a run with the v2 target exists and can run."""
    if "v2" not in settings.target or settings.kfp2_python is None:
        return
    problem = check_interpreter(settings.kfp2_python)
    if problem:
        where = f"{settings.source}: " if settings.source else ""
        raise ConfigError(f"{where}kfp2-python {settings.kfp2_python!r}: {problem}")


def parse(table: dict[str, Any], path: Path) -> Settings:
    """Settings from a `[tool.airflow2kfp]` table (or an airflow2kfp.toml); every key is an option
    of airflow2kfp.settings, spelled with dashes."""
    values: dict[str, Any] = {}
    for raw_key, value in table.items():
        name = raw_key.replace("-", "_")
        if name not in OPTIONS:
            known = ", ".join(sorted(key_of(k) for k in OPTIONS))
            raise ConfigError(f"{path}: unknown key {raw_key!r} (known: {known})")
        try:
            values[name] = parse_value(name, value, path)
        except SettingError as error:
            raise ConfigError(f"{path}: {error}") from None
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
    """Command-line values win; a flag left at None keeps the file's value; repeatable flags add
    to the file's lists and tables."""
    names = {f.name for f in fields(Settings)}
    changes = {}
    for name, given in flags.items():
        if name not in names:
            continue
        value = flag_value(name, given, getattr(settings, name)) if name in OPTIONS else given
        if value is not None:
            changes[name] = value
    return validate(replace(settings, **changes))
