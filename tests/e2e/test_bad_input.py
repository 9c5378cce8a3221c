"""Bad input: each invalid fixture gets its code with file:line, the batch goes on, no traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import tomllib

from airflow2kfp.cli import main

ROOT = Path(__file__).resolve().parents[2]
INVALID = ROOT / "fixtures" / "invalid_dags"
EXPECTED: dict[str, str] = tomllib.loads((INVALID / "EXPECTED.toml").read_text())
# codes about a whole file, where no line applies
NO_LINE = {"A2K102", "A2K103", "A2K104", "A2K105", "A2K106"}
GOOD = ROOT / "fixtures" / "airflow_dags" / "seed_seven_tasks.py"


def codes_by_file(document: dict) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for entry in document["files"]:
        found.setdefault(Path(entry["path"]).name, set()).update(d["code"] for d in entry["diagnostics"])
    for dag in document["dags"]:
        found.setdefault(Path(dag["source"]).name, set()).update(d["code"] for d in dag["diagnostics"])
    return found


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict, str]:
    folder = tmp_path_factory.mktemp("batch")
    for path in INVALID.iterdir():
        shutil.copy(path, folder / path.name)
    shutil.copy(GOOD, folder / GOOD.name)
    out = tmp_path_factory.mktemp("out")
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        # --all-files: some bad inputs (empty, not UTF-8) do not mention "dag" and "airflow"
        code = main(
            ["convert", str(folder), "--out", str(out), "--mode", "static", "--all-files", "--no-cache"]
        )
    return code, json.loads((out / "conversion.json").read_text()), printed.getvalue()


@pytest.mark.parametrize(("name", "code"), sorted(EXPECTED.items()))
def test_each_bad_file_gets_its_code(batch, name: str, code: str) -> None:
    _, document, _ = batch
    found = codes_by_file(document).get(name, set())
    if code:
        assert code in found, (name, found)
    else:  # a valid file among the bad ones: it must convert cleanly
        assert not {c for c in found if c.startswith(("A2K1", "A2K2"))}, (name, found)


def test_diagnostics_carry_file_and_line(batch) -> None:
    _, document, _ = batch
    for entry in document["files"]:
        for diagnostic in entry["diagnostics"]:
            assert diagnostic["file"] and diagnostic["help"], diagnostic
            assert diagnostic["line"] is not None or diagnostic["code"] in NO_LINE, diagnostic


def test_batch_goes_on_and_exits_1_without_traceback(batch) -> None:
    exit_code, document, printed = batch
    assert exit_code == 1
    assert "Traceback" not in printed
    good = [d for d in document["dags"] if Path(d["source"]).name == GOOD.name]
    assert good and good[0]["status"] == "converted"


def test_no_partial_files_are_left(batch, tmp_path: Path) -> None:
    _, document, _ = batch
    for dag in document["dags"]:
        if dag["status"] == "failed":
            assert dag["yaml"] is None
