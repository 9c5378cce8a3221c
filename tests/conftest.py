import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
# tests import `helpers` and the package from a plain checkout, installed or not
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]


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
# Airflow interpreter (a fixture in AIRFLOW_FIXTURES) is marked `airflow` wherever it lives.
MARKED: dict[str, tuple[str, ...]] = {
    "airflow/": ("airflow",),
    "verify/test_verify_fixtures.py": ("airflow", "slow"),
    "kfp2/test_verify_v2.py": ("airflow", "slow"),
    "report/test_browser.py": ("browser", "slow"),
    "e2e/test_generated_files.py": ("slow",),
    "report/test_conversion_schema.py": ("slow",),
    "robustness/": ("slow",),
    "bench/": ("slow",),
    # each compiles every golden, or kills and restarts runs, or fills a disk: tens of seconds
    "kfp_accel/test_plain_kfp.py": ("slow",),
    "kfp_accel/test_strip.py": ("slow",),
    "kfp_accel/test_getsource.py": ("slow",),
    "batch/test_outputs.py": ("slow",),
    "security/test_static_budgets.py": ("slow",),
    "security/test_output_faults.py": ("slow",),
    "security/test_hostile_cache.py": ("slow",),
}
AIRFLOW_FIXTURES = frozenset({"airflow_python", "airflow2_python"})


def pytest_collection_modifyitems(config, items):
    for item in items:
        relative = Path(str(item.path)).resolve().relative_to(TESTS).as_posix()
        for place, markers in MARKED.items():
            if relative == place or (place.endswith("/") and relative.startswith(place)):
                for marker in markers:
                    item.add_marker(marker)
        if AIRFLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
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
