import sys

import fake_reader
import pytest


@pytest.fixture(autouse=True)
def fake_static_reader(monkeypatch):
    """Batch tests run with the small fake reader in place of converter.parse.static (fork-inherited)."""
    monkeypatch.setitem(sys.modules, "converter.parse.static", fake_reader)
