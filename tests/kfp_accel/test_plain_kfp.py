"""Every golden pipeline file compiles, with plain kfp as a user runs it, to the bytes of its golden
YAML; and the converter's accelerated compile of the same source gives the same bytes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from airflow2kfp.emit.compile import compile_source
from airflow2kfp.kfp_accel import accelerated, guard
from tests.helpers import strip_volatile
from tests.kfp_accel.accel_data import GOLDEN_SOURCES


def _plain_compile(source: Path, folder: Path) -> tuple[str | None, str]:
    """`python <file>.py` in a folder of its own, as a user runs it: (the YAML it wrote, its stderr)."""
    folder.mkdir()
    copied = folder / source.name
    shutil.copyfile(source, copied)
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "SOURCE_DATE_EPOCH", guard.PLAIN_KFP_SWITCH)
    }
    # its output as bytes: only the file it writes is compared, and whatever reaches the pipes is shown
    done = subprocess.run(
        [sys.executable, copied.name], cwd=folder, env=environment, capture_output=True, check=False
    )
    written = copied.with_suffix(".yaml")
    errors = done.stderr.decode("utf-8", errors="replace")
    return (
        written.read_text(encoding="utf-8") if done.returncode == 0 and written.exists() else None
    ), errors


@pytest.fixture(scope="module")
def plain_yaml() -> Iterator[dict[Path, tuple[str | None, str]]]:
    """Every golden's `.py` compiled by plain kfp, a process each (a few at a time)."""
    with (
        tempfile.TemporaryDirectory() as root,
        ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool,
    ):
        futures = {
            source: pool.submit(_plain_compile, source, Path(root) / f"{index}")
            for index, source in enumerate(GOLDEN_SOURCES)
        }
        yield {source: future.result() for source, future in futures.items()}


def test_every_golden_has_its_pipeline_file() -> None:
    assert len(GOLDEN_SOURCES) >= 30
    assert all(source.with_suffix(".yaml").is_file() for source in GOLDEN_SOURCES)


@pytest.mark.parametrize("source", GOLDEN_SOURCES, ids=lambda p: p.stem)
def test_golden_compiles_to_its_yaml_with_plain_kfp(
    source: Path, plain_yaml: dict[Path, tuple[str | None, str]]
) -> None:
    text, errors = plain_yaml[source]
    assert text is not None, errors
    assert strip_volatile(text) == source.with_suffix(".yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("source", GOLDEN_SOURCES, ids=lambda p: p.stem)
def test_golden_compiles_to_the_same_bytes_accelerated(
    source: Path, tmp_path: Path, plain_yaml: dict[Path, tuple[str | None, str]]
) -> None:
    with accelerated() as active:
        assert active
        result = compile_source(source.read_text(encoding="utf-8"), source.stem, tmp_path)
    assert result.error is None and result.yaml_text is not None
    text, errors = plain_yaml[source]
    assert text is not None, errors
    assert strip_volatile(result.yaml_text) == strip_volatile(text)
