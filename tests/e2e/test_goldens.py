"""Golden tests: every fixture DAG file -> expected Python, YAML and conversion.json entries, read
statically (tests/goldens/dags/) and in the default mode, Airflow's import merged with the static
reading (tests/goldens/dags_auto/, with an Airflow interpreter).

Regenerate after an intended change with `make test PYTEST_ARGS=--update-goldens` (or
`pytest tests/e2e --update-goldens`), then review the diff of tests/goldens/ like code.

The default mode's pipelines are the static ones for most fixtures: a default-mode golden holds the
fixture's conversion.json (always: it says how the file was read, and Airflow's resolved settings)
and only the pipeline files that differ from the static golden; the others are asserted equal to it. DEFAULT_MODE_DIFFERS says which
fixtures differ and why; a fixture that starts or stops differing fails until it is listed or removed.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from airflow2kfp.pipeline import ConvertOptions
from airflow2kfp.report.summary import conversion_json
from airflow2kfp.run import STATIC, RunSettings, convert_all
from tests.helpers import strip_volatile

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "airflow_dags"
GOLDENS = ROOT / "tests" / "goldens" / "dags"
GOLDENS_AUTO = ROOT / "tests" / "goldens" / "dags_auto"
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


# Fixtures whose default-mode pipeline files differ from their static ones, and why. None of these is a
# disagreement of the readings (no A2K605 in any fixture's entries): the import knows what the static
# reading leaves to a default or cannot follow, and the recurring run's note says so.
DEFAULT_VALUE = (
    "recurring run's note: Airflow's resolved max_active_runs=16, where static reading saw it unset"
)
DEFAULT_MODE_DIFFERS: dict[str, str] = {
    "airflow1_imports": "the removed task's class as Airflow has it (DummyOperator is EmptyOperator); "
    + DEFAULT_VALUE,
    "airflow3_sdk": DEFAULT_VALUE,
    "assets_sdk": DEFAULT_VALUE,
    "bash_tools": "the placeholder names the operator's real module (Airflow 3's standard provider); "
    + DEFAULT_VALUE,
    "bitshift_lists": DEFAULT_VALUE,
    "chain_labels_lists": DEFAULT_VALUE,
    "dag_positional_id": DEFAULT_VALUE,
    "default_args_retries": DEFAULT_VALUE,
    "idioms_dag_kwarg": DEFAULT_VALUE,
    "idioms_get_task": DEFAULT_VALUE,
    "idioms_indexed_loops": DEFAULT_VALUE,
    "json_config_factory": DEFAULT_VALUE,
    "kpo_subclass_hierarchy": "the pod settings the operator subclasses add (resources, labels, node "
    "selector, tolerations), which the static reading cannot follow through the class hierarchy; "
    + DEFAULT_VALUE,
    "loops_fstrings": DEFAULT_VALUE,
    "multiple_dags": DEFAULT_VALUE,
    "ops_containers": "fallback steps run in the image of the Airflow that imported the DAG (3.x), where "
    "static reading sees no Airflow 3 import and assumes Airflow 2",
    "ops_python_bash": DEFAULT_VALUE,
    "unknown_operator": "the placeholder names the class the DAG file defines by its importable name",
    "yaml_config_factory": DEFAULT_VALUE,
}


def _goldens_of(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): path.read_text(encoding="utf-8")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def default_mode_run(fixtures: list[Path], python: str, out: Path) -> dict[str, dict[str, str]]:
    """One default-mode run over the fixtures (one Airflow start-up, imports in parallel), split into
    what a run over each fixture alone writes: its pipelines, and its conversion.json built by the
    converter's own `conversion_json` from that file's result (volatile stripped).

    Each fixture's folder is the DAGs folder Airflow reads, as in a run over the one file."""
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        settings = RunSettings(mode="auto", airflow_python=python, airflow_timeout=60.0, jobs=2)
        result = convert_all(
            [f.relative_to(ROOT) for f in fixtures], out, ConvertOptions(), settings=settings
        )
    finally:
        os.chdir(cwd)
    document = json.loads(result.summary_path.read_text(encoding="utf-8"))
    written = {
        (dag["source"], dag["dag_id"]): {key: dag[key] for key in ("python", "yaml", "recurring_run")}
        for dag in document["dags"]
    }
    by_path = {file.path: file for file in result.files}
    by_fixture: dict[str, dict[str, str]] = {}
    for fixture in fixtures:
        file = by_path[fixture.relative_to(ROOT).as_posix()]
        files = {"conversion.json": conversion_json([file], written, result.reading.to_json())}
        for dag in file.dags:
            for relative in written[(file.path, dag.dag_id)].values():
                if relative:
                    files[relative] = (out / relative).read_text(encoding="utf-8")
        by_fixture[fixture.stem] = {relative: strip_volatile(text) for relative, text in files.items()}
    return by_fixture


@pytest.fixture(scope="module")
def default_mode_airflow3(airflow_python: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    files = sorted(FIXTURES.glob("*.py"))
    return default_mode_run(files, airflow_python, tmp_path_factory.mktemp("auto3"))


@pytest.fixture(scope="module")
def default_mode_airflow2(airflow2_python: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    # Airflow 3 cannot import these (SubDagOperator): Airflow 2 reads them in the default mode
    files = sorted(AIRFLOW2_FIXTURES.glob("*.py"))
    return default_mode_run(files, airflow2_python, tmp_path_factory.mktemp("auto2"))


def check_default_mode_golden(stem: str, actual: dict[str, str], update: bool) -> None:
    static = _goldens_of(GOLDENS / stem)
    golden_dir = GOLDENS_AUTO / stem
    differing = sorted(r for r in actual if r != "conversion.json" and actual[r] != static.get(r))
    if update:
        shutil.rmtree(golden_dir, ignore_errors=True)
        for relative in ["conversion.json", *differing]:
            (golden_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            (golden_dir / relative).write_text(actual[relative], encoding="utf-8")
        return
    assert golden_dir.is_dir(), f"no default-mode golden for {stem}: run pytest with --update-goldens"
    expected = _goldens_of(golden_dir)
    # a pipeline file without its own default-mode golden is the static golden's
    expected.update({r: text for r, text in static.items() if r != "conversion.json" and r not in expected})
    assert sorted(actual) == sorted(expected)
    for relative in expected:
        assert actual[relative] == expected[relative], (
            f"{stem}/{relative} differs from its default-mode golden"
        )
    stored = sorted(r for r in expected if r != "conversion.json" and (golden_dir / r).is_file())
    assert bool(stored) == (stem in DEFAULT_MODE_DIFFERS), (
        f"{stem}: default-mode pipelines {'differ' if stored else 'equal'} static's; "
        "list it in DEFAULT_MODE_DIFFERS with why, or remove it"
    )


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.py")), ids=lambda p: p.stem)
def test_fixture_matches_default_mode_golden(
    fixture: Path, default_mode_airflow3: dict, request: pytest.FixtureRequest
) -> None:
    update = request.config.getoption("--update-goldens")
    check_default_mode_golden(fixture.stem, default_mode_airflow3[fixture.stem], update)


@pytest.mark.parametrize("fixture", sorted(AIRFLOW2_FIXTURES.glob("*.py")), ids=lambda p: p.stem)
def test_airflow2_fixture_matches_default_mode_golden(
    fixture: Path, default_mode_airflow2: dict, request: pytest.FixtureRequest
) -> None:
    update = request.config.getoption("--update-goldens")
    check_default_mode_golden(fixture.stem, default_mode_airflow2[fixture.stem], update)


def test_default_mode_differences_are_fixtures() -> None:
    assert set(DEFAULT_MODE_DIFFERS) <= {f.stem for f in FIXTURE_FILES}
