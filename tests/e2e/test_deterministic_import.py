"""Two default-mode runs over the same DAG folders write the same bytes: values a DAG file computes
from the clock while it is imported, and paths in the import's sandbox, do not reach the output."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from airflow2kfp.cli import main
from tests.helpers import strip_volatile

REPO = Path(__file__).resolve().parents[2]
# the clock-reading DAG and the one naming its working folder are in the last two
FOLDERS = ("fixtures/airflow_dags", "fixtures/airflow_only", "fixtures/import_hazards")


def _run(out: Path, folders: tuple[str, ...], *extra: str) -> dict[str, bytes]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        main(
            [
                "convert",
                *folders,
                "--out",
                str(out),
                "--no-cache",
                "--fail-on",
                "never",
                "-q",
                "-j",
                "2",
                "--airflow-timeout",
                "15",
                *extra,
            ]
        )
    assert "Traceback" not in printed.getvalue()
    return {
        str(path.relative_to(out)): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()
    }


@pytest.mark.parametrize(("sandbox", "folders"), [("auto", FOLDERS), ("off", FOLDERS[1:])])
def test_two_default_mode_runs_write_identical_bytes(
    airflow_python: str,
    tmp_path: Path,
    sandbox: str,
    folders: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without bubblewrap (`off`) the sandbox's folders have random names: they must not leak either."""
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("AIRFLOW2KFP_AIRFLOW_PYTHON", airflow_python)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = _run(tmp_path / "first", folders, "--sandbox", sandbox)
    second = _run(tmp_path / "second", folders, "--sandbox", sandbox)
    assert any(name.endswith("clock_import_time.py") for name in first)  # the clock-reading DAG was converted
    assert sorted(first) == sorted(second)
    differing = [
        name
        for name in first
        if strip_volatile(first[name].decode(errors="replace"))
        != strip_volatile(second[name].decode(errors="replace"))
    ]
    assert differing == []
