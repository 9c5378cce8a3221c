import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# tests import `helpers` and the package from a plain checkout, installed or not
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="Rewrite the expected outputs under tests/goldens/ from the current converter.")


@pytest.fixture(autouse=True)
def private_cache_home(tmp_path_factory, monkeypatch):
    """Each test's runs cache under a folder of its own, never in the real user cache folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
