from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow2kfp.parse.airflow_import import AirflowReader

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
# tests import the package and each other (`tests.helpers`, ...) from a plain checkout, installed or not
sys.path[:0] = [str(ROOT)]


def pytest_addoption(parser):
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="Rewrite the expected outputs under tests/goldens/ from the current converter.",
    )


@pytest.fixture(autouse=True)
def private_cache_home(tmp_path_factory, monkeypatch):
    """Each test's runs cache under a folder of its own, never in the real user cache folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


# Markers by where a test lives (a folder ending in "/" or a file, relative to tests/), declared in
# pyproject.toml; `make test-fast` leaves out `airflow`, `browser` and `slow`. A test that asks for an
# Airflow interpreter (a fixture in AIRFLOW_FIXTURES, directly, through another fixture, or by a
# parameter naming it for `request.getfixturevalue`) is marked `airflow` wherever it lives; a file
# listed here as `airflow` asks for one in a way collection cannot see (a parameter naming `reader`,
# a helper that finds the interpreter itself). An entry naming no file fails the run.
MARKED: dict[str, tuple[str, ...]] = {
    # the Airflow import, the sandbox and `verify`, run under Airflow 3 and 2
    "airflow_side/test_probe_preload.py": ("airflow",),
    "parse/test_airflow_only.py": ("airflow",),
    "parse/test_airflow_examples.py": ("airflow",),
    "parse/test_airflow_import_callables.py": ("airflow",),
    "parse/test_airflow_python.py": ("airflow",),
    "parse/test_import_hazards.py": ("airflow",),
    "parse/test_sandboxed_import.py": ("airflow",),
    "e2e/test_airflow_conversion.py": ("airflow",),
    "e2e/test_both_modes.py": ("airflow",),
    "e2e/test_deterministic_import.py": ("airflow",),
    "e2e/test_import_findings.py": ("airflow",),
    "e2e/test_valid_dags.py": ("airflow",),
    "verify/test_verify_fixtures.py": ("airflow", "slow"),
    "verify/test_verify_v2.py": ("airflow", "slow"),
    "report/test_browser.py": ("browser", "slow"),
    # whole fixture folders converted, compiled or run; random inputs by the hundred
    "e2e/test_generated_files.py": ("slow",),
    "emit/test_generated_format.py": ("slow",),
    "test_target_v2.py": ("slow",),
    "emit/test_v2_cross_product.py": ("slow",),  # converts a DAG to v2 and runs ~40 steps
    "security/test_text.py": ("slow",),  # hostile text through whole conversions, by the hundred
    "e2e/test_properties.py": ("slow",),
    "e2e/test_regressions.py": ("slow",),
    "parse/test_fuzz.py": ("slow",),
    "report/test_conversion_schema.py": ("slow",),
    "security/test_bad_input_catalogue.py": ("slow",),
    "security/test_output_safety.py": ("slow",),
    "bench/": ("slow",),
    # each compiles every golden, or kills and restarts runs, or fills a disk: tens of seconds
    "kfp_accel/test_plain_kfp.py": ("slow",),
    "kfp_accel/test_strip.py": ("slow",),
    "kfp_accel/test_getsource.py": ("slow",),
    "test_outputs.py": ("slow",),
    "security/test_static_budgets.py": ("slow",),
    "security/test_output_faults.py": ("slow",),
    "security/test_hostile_cache.py": ("slow",),
}
AIRFLOW_FIXTURES = frozenset({"airflow_python", "airflow2_python"})


def pytest_collection_modifyitems(config, items):
    missing = [place for place in MARKED if not (TESTS / place).exists()]
    if missing:
        raise pytest.UsageError(f"tests/conftest.py MARKED names no test file or folder: {missing}")
    for item in items:
        relative = Path(str(item.path)).resolve().relative_to(TESTS).as_posix()
        for place, markers in MARKED.items():
            if relative == place or (place.endswith("/") and relative.startswith(place)):
                for marker in markers:
                    item.add_marker(marker)
        # ... or is parametrized by one's name, for request.getfixturevalue
        params = getattr(getattr(item, "callspec", None), "params", {})
        named = {value for value in params.values() if isinstance(value, str)}
        if AIRFLOW_FIXTURES & (set(getattr(item, "fixturenames", ())) | named):
            item.add_marker("airflow")


@pytest.fixture(scope="session")
def airflow_python() -> str:
    """The Airflow interpreter the converter finds (the test is skipped without one)."""
    from airflow2kfp.parse.airflow_import import find_airflow_python

    python = find_airflow_python()
    if python is None:
        pytest.skip(
            "no Airflow interpreter: set AIRFLOW2KFP_AIRFLOW_PYTHON or run scripts/setup_airflow_env.sh"
        )
    return python


@pytest.fixture(scope="session")
def airflow2_python() -> str:
    """An Airflow 2 interpreter ($AIRFLOW2KFP_AIRFLOW2_PYTHON; CI sets it), else the test is skipped."""
    python = os.environ.get("AIRFLOW2KFP_AIRFLOW2_PYTHON")
    if not python or not os.path.isfile(python):
        pytest.skip(
            "no Airflow 2 interpreter: set AIRFLOW2KFP_AIRFLOW2_PYTHON (scripts/setup_airflow2_env.sh)"
        )
    return python


AIRFLOW_READ_TIMEOUT = 3.0  # seconds per file: short, so a test of a hanging file stays cheap


@pytest.fixture(scope="session")
def reader(airflow_python: str) -> Iterator[AirflowReader]:
    """One Airflow 3 import worker pool shared by the session's tests."""
    from airflow2kfp.parse.airflow_import import AirflowReader, ReaderOptions

    with AirflowReader(airflow_python, ReaderOptions(timeout=AIRFLOW_READ_TIMEOUT)) as shared:
        yield shared


@pytest.fixture(scope="session")
def reader2(airflow2_python: str) -> Iterator[AirflowReader]:
    """The same under Airflow 2."""
    from airflow2kfp.parse.airflow_import import AirflowReader, ReaderOptions

    with AirflowReader(airflow2_python, ReaderOptions(timeout=AIRFLOW_READ_TIMEOUT)) as shared:
        yield shared


# Runs of the command line with a small fake reader (tests/fake_reader.py) in place of the static
# one: the tests of a run's machinery (cache, outputs, settings, exit codes) ask for
# `fake_static_reader` with `pytestmark = pytest.mark.usefixtures("fake_static_reader")`.


@pytest.fixture
def fake_static_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake reader in place of airflow2kfp.parse.static (fork-inherited by the workers)."""
    from tests import fake_reader

    monkeypatch.setitem(sys.modules, "airflow2kfp.parse.static", fake_reader)
    monkeypatch.delenv("NO_COLOR", raising=False)
    # the default mode is auto: only an interpreter a test names explicitly may import DAGs with Airflow
    monkeypatch.setattr("airflow2kfp.parse.readers.find_airflow_python", lambda explicit=None: explicit)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAG folder: two clean DAGs (one imports a helper module) and a not-a-DAG module; cwd = tmp_path."""
    from tests.fake_reader import dag_file

    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "alpha.py").write_text(dag_file("alpha", "a", "b", imports="from common import tools\n"))
    (dags / "beta.py").write_text(dag_file("beta", "x", "y", "z"))
    (dags / "common").mkdir()
    (dags / "common" / "__init__.py").write_text("")
    (dags / "common" / "tools.py").write_text("VALUE = 1\n")
    monkeypatch.chdir(tmp_path)
    return dags


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    from airflow2kfp.cli import main

    def invoke(*args: object) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke
