"""conversion.json against its published JSON Schema (airflow2kfp/schemas/conversion.schema.json).

Every fixture folder is converted statically and in the default mode (Airflow's import and the
static reading merged), and each conversion.json must validate twice: against the schema as
published (open: later versions may add keys) and against a closed copy that allows no key the
schema does not name, so a key the converter starts writing fails here until the schema and
docs/conversion-json.md describe it.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from airflow2kfp.cli import main
from airflow2kfp.kfp2.client import find_kfp2_python

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "airflow2kfp/schemas/conversion.schema.json").read_text(encoding="utf-8"))
FOLDERS = ("airflow_dags", "verify_dags", "airflow_only", "invalid_dags", "import_hazards", "airflow2_dags")


def closed(schema: Any) -> Any:
    """The schema with `additionalProperties: false` wherever an object lists its properties."""
    schema = copy.deepcopy(schema)

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    return schema


VALIDATORS = {
    "published": jsonschema.Draft202012Validator(SCHEMA),
    "closed": jsonschema.Draft202012Validator(closed(SCHEMA)),
}


def problems(document: Any) -> list[str]:
    return [
        f"{name}: {'/'.join(map(str, error.absolute_path))}: {error.message[:200]}"
        for name, validator in VALIDATORS.items()
        for error in validator.iter_errors(document)
    ]


def converted(folder: str, out: Path, *options: str) -> Any:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        main(
            [
                "convert",
                f"fixtures/{folder}",
                "--out",
                str(out),
                "--no-cache",
                "-q",
                "--fail-on",
                "never",
                *options,
            ]
        )
    finally:
        os.chdir(cwd)
    return json.loads((out / "conversion.json").read_text(encoding="utf-8"))


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator.check_schema(closed(SCHEMA))


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "tests/goldens").glob("*/*/conversion.json")),
    ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}",
)
def test_every_golden_conversion_json_validates(path: Path) -> None:
    assert problems(json.loads(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("folder", FOLDERS)
def test_a_static_conversion_of_every_fixture_folder_validates(folder: str, tmp_path: Path) -> None:
    targets = ["--target", "v1,v2"] if folder == "airflow_dags" and find_kfp2_python() else []
    document = converted(folder, tmp_path, "--mode", "static", *targets)
    assert document["dags"] or document["files"]
    assert problems(document) == []


@pytest.mark.parametrize("folder", FOLDERS)
def test_a_default_mode_conversion_of_every_fixture_folder_validates(
    folder: str, tmp_path: Path, airflow_python: str
) -> None:
    document = converted(folder, tmp_path, "--airflow-python", airflow_python)
    assert document["reading"] == {"mode": "auto", "effective": "auto"}
    assert problems(document) == []


def test_the_closed_schema_names_every_key_and_type() -> None:
    """The check can fail: an unknown key, a wrong type and a missing key are each found."""
    document = json.loads(
        next((ROOT / "tests/goldens/dags").glob("*/conversion.json")).read_text(encoding="utf-8")
    )
    assert problems(document) == []
    unknown = copy.deepcopy(document)
    unknown["dags"][0]["tasks"][0]["new_key"] = 1
    assert problems(unknown) and all(p.startswith("closed") for p in problems(unknown))
    wrong = copy.deepcopy(document)
    wrong["dags"][0]["status"] = "done"
    assert any(p.startswith("published") for p in problems(wrong))
    missing = copy.deepcopy(document)
    del missing["dags"][0]["ordering"]
    assert any(p.startswith("published") for p in problems(missing))
