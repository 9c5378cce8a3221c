"""One settings model (airflow2kfp.settings): `--help`, the settings file and the run's defaults all
come from it, so they cannot disagree."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path

import click
import pytest

from airflow2kfp import cli
from airflow2kfp.batch import convert_options, run_settings
from airflow2kfp.config import load_settings, override
from airflow2kfp.discover import DiscoveryOptions
from airflow2kfp.mapping.base import MappingOptions
from airflow2kfp.mapping.fallback import AIRFLOW_IMAGES
from airflow2kfp.pipeline import ConvertOptions
from airflow2kfp.run import RunSettings
from airflow2kfp.settings import DEFAULTS, OPTIONS, TOOL_IMAGES, Settings, flag_of, key_of

# a run reads DAG files with the small fake reader (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("fake_static_reader")


def _help_records(command: click.Command) -> dict[str, str]:
    """Each option's help as `--help` prints it (unwrapped), by its long flag."""
    context = click.Context(command)
    records = {}
    for param in command.params:
        record = param.get_help_record(context) if isinstance(param, click.Option) else None
        if record:
            long = next(o for o in [*param.opts, *param.secondary_opts] if o.startswith("--"))
            records[long] = record[1]
    return records


def _shown(value: object) -> str:
    """How a default reads in `--help`, worked out here independently of the model's formatter."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):  # the targets: as they are written, v1,v2
        return ",".join(value)
    return str(value)


@pytest.mark.parametrize("command", ["convert", "check"])
def test_every_default_shown_in_help_is_the_default_a_run_gets(command: str) -> None:
    records = _help_records(cli.cli.commands[command])
    run_defaults = override(Settings())  # what a run gets with no settings file and no flag
    for name, spec in OPTIONS.items():
        text = records[flag_of(name)]
        value = getattr(run_defaults, name)
        shown = re.search(r"\[([^\]]*)\]$", text)
        if value is None or (isinstance(value, (tuple, Mapping)) and not value):
            # computed at run time, or empty: said in words, or not at all
            assert spec.shown is not None or shown is None, (name, text)
            continue
        assert shown is not None, f"{flag_of(name)} shows no default: {text!r}"
        if name == "tool_images":
            for tool, image in TOOL_IMAGES.items():
                assert tool in shown.group(1) and image in shown.group(1)
        else:
            assert shown.group(1) == _shown(value), (name, text)


def test_the_computed_defaults_name_what_is_used() -> None:
    records = _help_records(cli.cli.commands["convert"])
    assert all(image in records["--airflow-image"] for image in AIRFLOW_IMAGES.values())
    assert "$AIRFLOW2KFP_AIRFLOW_PYTHON" in records["--airflow-python"]
    assert records["--mode"].endswith("[auto]") and DEFAULTS.mode == "auto"


def test_the_layers_below_take_their_defaults_from_the_model(tmp_path: Path) -> None:
    """MappingOptions, ConvertOptions, DiscoveryOptions and RunSettings built from the default
    settings equal their own defaults: a run and a library call read the same way."""
    converted = convert_options(DEFAULTS)
    assert converted == ConvertOptions(mapping=MappingOptions())
    built = run_settings(DEFAULTS, tmp_path)
    plain = RunSettings()
    for name in ("mode", "airflow_python", "airflow_timeout", "ignore", "owned"):
        assert getattr(built, name) == getattr(plain, name), name
    assert built.discovery == DiscoveryOptions()


def test_every_option_is_a_key_of_the_settings_file(tmp_path: Path) -> None:
    values = {
        "text": lambda name: f'"{next(c for c in OPTIONS[name].choices if c != getattr(DEFAULTS, name))}"',
        "image": lambda _: '"registry.local/x:1"',
        "flag": lambda name: str(not getattr(DEFAULTS, name)).lower(),
        "int": lambda _: "3",
        "seconds": lambda _: "2.5",
        "path": lambda _: '"cache"',
        "file": lambda _: '"airflow2kfp.toml"',
        "interpreter": lambda _: '"/bin/sh"',
        "list": lambda _: '["a"]',
        "codes": lambda _: '["A2K303"]',
        "globs": lambda _: '["x/**"]',
        "table": lambda _: '{ spark-submit = "registry.local/spark:3" }',
        "targets": lambda _: '"v1,v2"',
    }
    (tmp_path / "airflow2kfp.toml").write_text(
        "".join(f"{key_of(name)} = {values[spec.kind](name)}\n" for name, spec in OPTIONS.items())
    )
    settings = load_settings(start=tmp_path)
    for name in OPTIONS:
        assert getattr(settings, name) != getattr(DEFAULTS, name), name
    assert settings.cache_dir == tmp_path / "cache"  # relative to the file that says it
    assert settings.tool_images["spark-submit"] == "registry.local/spark:3"
    assert settings.tool_images["python"] == TOOL_IMAGES["python"]  # the table adds to the defaults


def test_every_option_is_a_flag_that_sets_its_field(tmp_path: Path) -> None:
    flags = {
        "text": lambda name: [next(c for c in OPTIONS[name].choices if c != getattr(DEFAULTS, name))],
        "image": lambda _: ["registry.local/x:1"],
        "int": lambda _: ["3"],
        "seconds": lambda _: ["2.5"],
        "path": lambda _: [str(tmp_path)],
        "file": lambda _: [str(tmp_path / "dags" / "x.env")],
        "interpreter": lambda _: ["/bin/sh"],
        "list": lambda _: ["a"],
        "codes": lambda _: ["A2K303"],
        "globs": lambda _: ["x/**"],
        "table": lambda _: ["spark-submit=registry.local/spark:3"],
        "targets": lambda _: ["v2"],
    }
    seen: dict[str, Settings] = {}

    @click.command()
    @cli._run_options
    def probe(**kwargs: object) -> None:
        seen["settings"] = cli._prepare(dict(kwargs))[0]

    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "x.env").write_text("")
    for name, spec in OPTIONS.items():
        args = [str(tmp_path / "dags"), "--out", str(tmp_path / "out")]
        if spec.kind == "flag":
            default = getattr(DEFAULTS, name)
            args.append(flag_of(name) if not default else (spec.negative or f"--no-{key_of(name)}"))
        else:
            args += [flag_of(name), *flags[spec.kind](name)]
        probe.main(args, standalone_mode=False)
        assert getattr(seen["settings"], name) != getattr(DEFAULTS, name), (name, args)
    assert {f.name for f in fields(Settings)} - set(OPTIONS) == {"source"}


def test_docs_list_every_option_as_the_model_does(request: pytest.FixtureRequest) -> None:
    """docs/ci.md's settings table is generated from the model; `--update-goldens` rewrites it."""
    from airflow2kfp.settings import settings_markdown

    docs = Path(__file__).parents[1] / "docs" / "ci.md"
    block = re.compile(r"<!-- settings:start -->\n(.*?)<!-- settings:end -->", re.DOTALL)
    text = docs.read_text()
    if request.config.getoption("--update-goldens"):
        docs.write_text(
            block.sub(
                lambda _: f"<!-- settings:start -->\n{settings_markdown()}\n<!-- settings:end -->", text
            )
        )
        return
    assert block.search(text).group(1).strip() == settings_markdown().strip(), "run pytest --update-goldens"
