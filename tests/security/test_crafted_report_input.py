"""`airflow2kfp report` and `check` on an output folder someone else committed: only the files the
folder's own run wrote are read; nothing a crafted conversion.json or a planted link names is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow2kfp.outputs import MANIFEST_FILE, sha256
from tests.security.output_fixtures import convert, run, snapshot, write_dag

SECRET = "AWS_SECRET_ACCESS_KEY=do-not-leak-me"


@pytest.fixture
def out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_dag(tmp_path / "dags", "orders")
    (tmp_path / "secret.env").write_text(SECRET + "\n")
    assert convert(tmp_path / "dags", tmp_path / "out")[0] == 0
    return tmp_path / "out"


def rewrite(out: Path, change, *, manifest_too: bool) -> None:
    """Edit conversion.json; with `manifest_too`, record its new hash as a forger would."""
    document = json.loads((out / "conversion.json").read_text())
    change(document["dags"][0])
    text = json.dumps(document)
    (out / "conversion.json").write_text(text)
    if manifest_too:
        manifest = json.loads((out / MANIFEST_FILE).read_text())
        manifest["files"]["conversion.json"] = sha256(text)
        (out / MANIFEST_FILE).write_text(json.dumps(manifest))


def rendered(out: Path) -> str:
    return (
        "".join(p.read_text() for p in sorted((out / "reports").iterdir())) + (out / "index.html").read_text()
    )


@pytest.mark.parametrize(
    "named", ["../secret.env", "{secret}", "pipelines/../../secret.env", "secret-link.py"]
)
@pytest.mark.parametrize("manifest_too", [False, True])
def test_a_crafted_conversion_json_cannot_embed_a_file_outside_out(
    out: Path, named: str, manifest_too: bool
) -> None:
    secret = out.parent / "secret.env"
    (out / "secret-link.py").symlink_to(secret)  # a link inside OUT, committed with it
    path = named.format(secret=secret)

    def craft(dag: dict) -> None:
        dag["python"] = dag["yaml"] = path

    rewrite(out, craft, manifest_too=manifest_too)
    code, printed = run("report", out)
    assert code == 0, printed
    assert SECRET not in rendered(out)
    # and it says what it did not read
    if manifest_too:
        assert f"warning: conversion.json names {path!r} as the python of DAG 'orders'" in printed
        assert "a file its run did not write in this folder: not read" in printed
    else:
        assert "warning: conversion.json is not the one airflow2kfp recorded" in printed


def test_a_manifest_that_lists_a_link_still_reads_nothing_through_it(out: Path) -> None:
    (out / "pipelines" / "stolen.py").symlink_to(out.parent / "secret.env")
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    manifest["files"]["pipelines/stolen.py"] = sha256(SECRET + "\n")  # the forger knows the content's hash
    (out / MANIFEST_FILE).write_text(json.dumps(manifest))

    def craft(dag: dict) -> None:
        dag["python"] = "pipelines/stolen.py"

    rewrite(out, craft, manifest_too=True)
    assert run("report", out)[0] == 0
    assert SECRET not in rendered(out)


def test_a_conversion_json_the_manifest_does_not_know_shows_no_file(out: Path) -> None:
    rewrite(out, lambda dag: dag.update(description="edited by hand"), manifest_too=False)
    code, printed = run("report", out)
    assert code == 0 and "is not the one airflow2kfp recorded" in printed
    assert "def orders" not in (out / "reports" / "orders.md").read_text()  # the pipeline source is not shown


def test_the_dag_source_is_linked_never_read_and_a_link_cannot_be_a_script(out: Path) -> None:
    (out / "reports" / "javascript:alert(1)").write_text("")

    def craft(dag: dict) -> None:
        dag["source"] = str(out / "reports" / "javascript:alert(1)")

    rewrite(out, craft, manifest_too=True)
    assert run("report", out)[0] == 0
    page = (out / "reports" / "orders.html").read_text()
    assert 'href="javascript:' not in page and 'href="./javascript:alert(1)"' in page


@pytest.mark.parametrize("text", ["[1, 2]", "{not json", '{"dags": {"x": 1}}', '{"dags": [{"no": "id"}]}'])
def test_a_malformed_conversion_json_is_one_line_and_exit_2(out: Path, text: str) -> None:
    (out / "conversion.json").write_text(text)
    before = snapshot(out)
    code, printed = run("report", out)
    assert code == 2 and printed.startswith("error: ") and "Traceback" not in printed
    assert len(printed.strip().splitlines()) == 1 and snapshot(out) == before


def test_a_conversion_json_that_is_a_link_is_not_followed(out: Path) -> None:
    (out / "conversion.json").unlink()
    (out / "conversion.json").symlink_to(out.parent / "secret.env")
    code, printed = run("report", out)
    assert code == 2 and "is not a regular file" in printed and SECRET not in printed


def test_check_diff_never_prints_a_file_a_committed_link_points_to(out: Path) -> None:
    """In CI `check --diff` runs on a pull request's OUT: a link there must not print a secret."""
    target = out / "pipelines" / "orders.py"
    target.unlink()
    target.symlink_to(out.parent / "secret.env")
    code, printed = run("check", out.parent / "dags", "--out", out, "--mode", "static", "--diff")
    assert code == 1 and "pipelines/orders.py is not a regular file" in printed
    assert SECRET not in printed
