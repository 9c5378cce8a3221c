"""Output folder safety: nothing derived from a DAG id, a manifest or a link in OUT writes outside OUT.

Airflow itself rejects ids with `/` (A2K208), so hostile ids are also fed to `plan` directly, as a
reader that let them through would; the file names must stay one safe component regardless.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import unicodedata
from pathlib import Path

import pytest

from airflow2kfp.cli import main
from airflow2kfp.outputs import MANIFEST_FILE, is_safe_relative, write_tree
from airflow2kfp.parse.static import read_dag_file
from airflow2kfp.pipeline import ConvertOptions, convert_parsed
from airflow2kfp.results import FileResult
from airflow2kfp.run import plan

HOSTILE_IDS = [
    "../../etc/x",
    "/abs",
    "/etc/passwd",
    "a/b",
    "a\\b",
    "C:\\x",
    "..",
    ".",
    "",
    "CON",
    "con",
    "nul",
    "Com1",
    "LPT9",
    "ETL",
    "etl",
    "Etl",
    "ß",
    "ss",
    "SS",
    "ﬁle",
    "file",
    "données",
    "DONNÉES",
    unicodedata.normalize("NFD", "données"),
    "한국",
    unicodedata.normalize("NFD", "한국"),
    "日" * 250,
    "x" * 250,
    "a" * 249 + "b",
    "\n",
    "-",
    "_",
    "pipelines",
    "conversion",
    ".airflow2kfp-manifest",
]
DAG = """\
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator
with DAG({dag_id!r}, schedule=None, start_date=datetime(2024, 1, 1)):
    BashOperator(task_id="a", bash_command="echo") >> BashOperator(task_id="b", bash_command="echo")
"""


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` with its bytes (links as their target), for before/after checks."""
    found: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            found[str(path)] = os.readlink(path).encode()
        elif path.is_file():
            found[str(path)] = path.read_bytes()
    return found


def run_cli(*args: str) -> tuple[int, str]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = main(list(args))
    return code, printed.getvalue()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> FileResult:
    path = tmp_path_factory.mktemp("dag") / "dag.py"
    path.write_text(DAG.format(dag_id="template"))
    result = convert_parsed(read_dag_file(path), ConvertOptions())
    assert result.dags[0].yaml_text
    return result


def assert_names_safe(out: Path, relatives: list[str]) -> None:
    keys = [unicodedata.normalize("NFKC", r.casefold()) for r in relatives]
    assert len(set(keys)) == len(keys), "two outputs differ only by case or normalisation"
    for relative in relatives:
        assert is_safe_relative(relative), relative
        assert (out / relative).resolve().is_relative_to(out.resolve()), relative
        assert all(len(part.encode()) <= 255 for part in relative.split("/")), relative
        assert Path(relative).stem.split(".")[0].lower() not in {"con", "nul", "com1", "lpt9"}, relative


def test_hostile_dag_ids_give_safe_unique_file_names(tmp_path: Path, template: FileResult) -> None:
    dags = tuple(dataclasses.replace(template.dags[0], dag_id=dag_id) for dag_id in HOSTILE_IDS)
    files = [dataclasses.replace(template, dags=dags)]
    contents = plan(files).contents
    out = tmp_path / "parent" / "out"
    out.mkdir(parents=True)
    before = tree(tmp_path)
    assert len(contents) == 2 * len(HOSTILE_IDS) + 1  # nothing merged or dropped
    assert_names_safe(out, list(contents))
    write_tree(out, contents)
    after = tree(tmp_path)
    assert {k for k in after if k not in before} == {str(out / r) for r in [*contents, MANIFEST_FILE]}


def test_real_dag_files_with_awkward_ids_convert_inside_out(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    ids = ["ETL", "etl", "CON", "données", "DONNÉES", "日" * 250, "x" * 250, "../../etc/x", "/abs", "a/b"]
    for number, dag_id in enumerate(ids):
        (dags / f"dag_{number}.py").write_text(DAG.format(dag_id=dag_id), encoding="utf-8")
    out = tmp_path / "out"
    before = tree(tmp_path)
    code, printed = run_cli(
        "convert", str(dags), "--out", str(out), "--no-cache", "-j", "1", "--mode", "static"
    )
    assert code == 1 and "Traceback" not in printed  # the ids with "/" are A2K208
    document = json.loads((out / "conversion.json").read_text())
    status = {d["dag_id"]: d["status"] for d in document["dags"]}
    assert status == dict.fromkeys(ids[:7], "converted")
    rejected = {
        Path(f["path"]).name
        for f in document["files"]
        if any(d["code"] == "A2K208" for d in f["diagnostics"])
    }
    assert rejected == {"dag_7.py", "dag_8.py", "dag_9.py"}
    written = [str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()]
    assert_names_safe(out, written)
    assert {k for k in tree(tmp_path) if k not in before and not k.startswith(str(out) + "/")} == set()
    assert all(Path(k).resolve().is_relative_to(dags.resolve()) for k in before)


def test_a_tampered_manifest_cannot_prune_outside_out(tmp_path: Path, template: FileResult) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "out"
    write_tree(out, plan([template]).contents)
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    digest = __import__("hashlib").sha256(b"keep me").hexdigest()
    manifest["files"].update({"../victim.txt": digest, str(victim): digest})
    (out / MANIFEST_FILE).write_text(json.dumps(manifest))
    write_tree(out, plan([template]).contents, prune=True)
    assert victim.read_text() == "keep me"


@pytest.mark.parametrize("folder", ["pipelines", "reports"])
def test_a_link_in_out_leading_outside_is_refused_even_with_force(tmp_path: Path, folder: str) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "dag.py").write_text(DAG.format(dag_id="linked"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / folder).symlink_to(elsewhere, target_is_directory=True)
    code, printed = run_cli("convert", str(dags), "--out", str(out), "--force", "--mode", "static")
    assert code == 2 and "A2K701" in printed and "outside the output folder" in printed
    assert list(elsewhere.iterdir()) == []
