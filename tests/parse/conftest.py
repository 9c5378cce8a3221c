from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from airflow2kfp.model import ParsedFile
from tests.parse.helpers import read_source


@pytest.fixture
def read(tmp_path: Path) -> Callable[..., ParsedFile]:
    """`read(source, header=True)`: the ParsedFile of DAG source written in the test."""
    return lambda source, **kw: read_source(tmp_path, source, **kw)
