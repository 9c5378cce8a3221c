"""Golden tests: every fixture DAG file -> expected Python, YAML and conversion.json entries.

Regenerate after an intended change with `make test PYTEST_ARGS=--update-goldens` (or
`pytest tests/e2e --update-goldens`), then review the diff of tests/goldens/ like code.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import strip_volatile

from airflow2kfp.pipeline import ConvertOptions
from airflow2kfp.run import STATIC, convert_all

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "airflow_dags"
GOLDENS = ROOT / "tests" / "goldens" / "dags"
# Airflow 2 DAGs Airflow 3 cannot import (SubDagOperator), converted from their static reading
AIRFLOW2_FIXTURES = ROOT / "fixtures" / "airflow2_dags"
FIXTURE_FILES = sorted([*FIXTURES.glob("*.py"), *AIRFLOW2_FIXTURES.glob("*.py")])


def converted_files(fixture: Path, out: Path) -> dict[str, str]:
    """Relative path -> text of everything the converter writes for one fixture (volatile stripped)."""
    cwd = os.getcwd()
    os.chdir(ROOT)  # display paths relative to the repository, as users see them
    try:
        convert_all([fixture.relative_to(ROOT)], out, ConvertOptions(), settings=STATIC)
    finally:
        os.chdir(cwd)
    return {
        str(path.relative_to(out)): strip_volatile(path.read_text(encoding="utf-8"))
        for path in sorted(out.rglob("*"))
        # hidden files are the run's bookkeeping (the output manifest), not converted output
        if path.is_file()
        and path.suffix in {".py", ".yaml", ".json", ".md"}
        and not path.name.startswith(".")
    }


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda p: p.stem)
def test_fixture_matches_golden(fixture: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    actual = converted_files(fixture, tmp_path / "out")
    golden_dir = GOLDENS / fixture.stem
    if request.config.getoption("--update-goldens"):
        shutil.rmtree(golden_dir, ignore_errors=True)
        for relative, text in actual.items():
            (golden_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            (golden_dir / relative).write_text(text, encoding="utf-8")
        return
    assert golden_dir.is_dir(), f"no golden for {fixture.name}: run pytest with --update-goldens"
    expected = {
        str(path.relative_to(golden_dir)): path.read_text(encoding="utf-8")
        for path in sorted(golden_dir.rglob("*"))
        if path.is_file()
    }
    assert sorted(actual) == sorted(expected)
    for relative in expected:
        assert actual[relative] == expected[relative], f"{fixture.stem}/{relative} differs from its golden"


def test_every_fixture_converts_with_exact_ordering(tmp_path: Path) -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = convert_all([FIXTURES.relative_to(ROOT)], tmp_path, ConvertOptions(), settings=STATIC)
    finally:
        os.chdir(cwd)
    document = json.loads(result.summary_path.read_text())
    assert len(FIXTURE_FILES) >= 12
    assert document["dags"], "no DAG converted"
    for dag in document["dags"]:
        assert dag["status"] == "converted", (dag["dag_id"], dag["diagnostics"])
        assert dag["ordering"]["verdict"] == "exact", dag["dag_id"]
