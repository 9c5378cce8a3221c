import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# tests import `helpers` and the package from a plain checkout, installed or not
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="Rewrite the expected outputs under tests/goldens/ from the current converter.")
