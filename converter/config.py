"""A team's migration policy, committed with the DAGs: `[tool.airflow2kfp]` or `airflow2kfp.toml`.

Found like ruff finds its settings: the nearest folder at or above the working directory that has
an `airflow2kfp.toml` (top-level keys) or a `pyproject.toml` with a `[tool.airflow2kfp]` table.
Command-line flags override the file. Unknown keys are an error, so a typo never passes silently.

    [tool.airflow2kfp]
    bash-image = "bash:5.2"          # image of BashOperator steps
    utility-image = "alpine:3.20"    # no-op and placeholder steps
    python-image = "python:3.11"     # base image of Python (PythonOperator, @task) steps
    airflow-image = "apache/airflow:2.10.5-python3.11"  # runs operators that have no mapping
    operator-fallback = true         # false: operators without a mapping become placeholders
    mode = "auto"                    # static | airflow (import with Airflow) | auto (both, merged;
                                     # static alone, said once, when no Airflow interpreter is found)
    sandbox = "require"              # auto | require | off: bubblewrap around imports (docs/sandbox.md)
    airflow-vars = { env = "prod" }  # AIRFLOW_VAR_ENV=prod for the imports (also airflow-conns)
    airflow-env-file = ".airflow.env"  # AIRFLOW_VAR_*/AIRFLOW_CONN_* lines, relative to this file
    fail-on = "error"                # error | warning | never
    ignore = ["A2K303"]              # codes suppressed everywhere
    exclude = ["tests/**"]
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from converter.diagnostics import CODES
from converter.parse.sandbox import SANDBOX_MODES

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

CONFIG_FILE = "airflow2kfp.toml"
FAIL_ON = ("error", "warning", "never")
MODES = ("static", "airflow", "auto")  # as converter.parse.readers.Mode
SYNTAXES = ("regexp", "glob")


class ConfigError(Exception):
    """The configuration cannot be used; the CLI exits 2 with this message."""


@dataclass(frozen=True)
class Settings:
    bash_image: str = "bash:5.2"
    utility_image: str = "alpine:3.20"
    keep_empty: bool = False
    python_image: str = "python:3.11"
    airflow_image: str = "apache/airflow:2.10.5-python3.11"
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
    sandbox: str = "auto"  # bubblewrap around Airflow's imports: auto | require | off
    # what the imports may read at parse time; values may be secrets, so never in a repr
    airflow_vars: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # NAME -> AIRFLOW_VAR_NAME
    airflow_conns: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # NAME -> AIRFLOW_CONN_NAME
    airflow_env_file: Path | None = None  # AIRFLOW_VAR_*/AIRFLOW_CONN_* lines
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
    "sandbox": str,
    "airflow_vars": dict,
    "airflow_conns": dict,
    "airflow_env_file": str,
}


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


def validate(settings: Settings, where: Path | str = "command line") -> Settings:
    path = Path(str(where))
    _check_choice(path, "fail-on", settings.fail_on, FAIL_ON)
    _check_choice(path, "mode", settings.mode, MODES)
    _check_choice(path, "ignore-syntax", settings.ignore_syntax, SYNTAXES)
    _check_choice(path, "sandbox", settings.sandbox, SANDBOX_MODES)
    unknown = [code for code in settings.ignore if code not in CODES]
    if unknown:
        raise ConfigError(f"{path}: ignore: unknown diagnostic code(s): {', '.join(unknown)}")
    if settings.jobs < 0:
        raise ConfigError(f"{path}: jobs must be 0 (all cores) or more")
    return settings


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
        if expected is dict:
            if not all(isinstance(item, str) for item in value.values()):
                raise ConfigError(f"{path}: {raw_key} must map names to strings")
            value = tuple(sorted(value.items()))
        if key in ("cache_dir", "airflow_env_file"):
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
