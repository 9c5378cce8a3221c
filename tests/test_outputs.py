"""Output safety: owned files only (--force), --prune; a failed or killed run keeps the old outputs."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow2kfp.outputs import MANIFEST_FILE
from tests.fake_reader import dag_file

# a run reads DAG files with the small fake reader (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("fake_static_reader")

ROOT = Path(__file__).resolve().parents[1]
# runs the CLI with the fake reader in a child process; the hooks let a test stop it mid-way
CHILD = f"""
import os, sys, time
sys.path[:0] = [{str(ROOT)!r}]
from tests import fake_reader
import airflow2kfp.outputs as outputs
sys.modules["airflow2kfp.parse.static"] = fake_reader
read = fake_reader.read_dag_file
def slow(path, **kw):
    if "slow" in str(path):
        open("started", "w").close()
        time.sleep(60)
    return read(path, **kw)
fake_reader.read_dag_file = slow
replace = os.replace
def dying_replace(src, dst):
    replace(src, dst)
    if os.environ.get("DIE_AFTER_RENAME") and str(dst).endswith(".yaml"):
        os._exit(9)  # as abrupt as SIGKILL: no cleanup, no rollback
outputs.os.replace = dying_replace
from airflow2kfp.cli import main
sys.exit(main(sys.argv[1:]))
"""


def snapshot(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): p.read_text()
        for p in sorted(out.rglob("*"))
        if p.is_file() and ".airflow2kfp-cache" not in p.parts
    }


def child(tmp: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    script = tmp / "child.py"
    script.write_text(CHILD)
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        cwd=tmp,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_file_not_written_by_the_tool_is_never_overwritten_without_force(repo, run):
    mine = repo.parent / "out" / "pipelines" / "alpha.py"
    mine.parent.mkdir(parents=True)
    mine.write_text("# my own file\n")
    code, out, _ = run("convert", "dags", "--out", "out", "-j", "1")
    # only the DAG whose file is someone else's fails; the others are written
    assert code == 1 and "A2K701" in out and "pipelines/alpha.py is not written by airflow2kfp" in out
    assert (
        mine.read_text() == "# my own file\n" and (repo.parent / "out" / "pipelines" / "beta.yaml").exists()
    )
    alpha = next(
        d
        for d in json.loads((repo.parent / "out" / "conversion.json").read_text())["dags"]
        if d["dag_id"] == "alpha"
    )
    assert [d["code"] for d in alpha["diagnostics"]] == ["A2K701"]
    assert run("convert", "dags", "--out", "out", "-j", "1", "--force")[0] == 0
    assert mine.read_text().startswith('"""')


def test_an_output_edited_by_hand_fails_only_its_dag(repo, run):
    assert run("convert", "dags", "--out", "out", "-j", "1")[0] == 0
    (repo / "beta.py").write_text(dag_file("beta", "x", "y"))
    (repo / "alpha.py").write_text(dag_file("alpha", "a", "b", "c"))
    (repo.parent / "out" / "pipelines" / "beta.py").write_text("# edited\n")
    code, out, _ = run("convert", "dags", "--out", "out", "-j", "1")
    assert code == 1 and "pipelines/beta.py is edited since airflow2kfp wrote it" in out
    assert "nothing was written" not in out and "not written: 1 DAG(s)" in out
    assert "echo c" in (repo.parent / "out" / "pipelines" / "alpha.yaml").read_text()  # the others go on
    assert (repo.parent / "out" / "pipelines" / "beta.py").read_text() == "# edited\n"


def test_outputs_of_vanished_dags_are_kept_unless_prune(repo, run):
    out = repo.parent / "out"
    run("convert", "dags", "--out", "out", "-j", "1")
    (repo / "beta.py").unlink()
    code, text, _ = run("convert", "dags", "--out", "out", "-j", "1")
    assert code == 0 and "2 of vanished DAGs kept" in text and (out / "pipelines" / "beta.yaml").exists()
    assert "pipelines/beta.yaml" in json.loads((out / MANIFEST_FILE).read_text())["files"]
    code, text, _ = run("convert", "dags", "--out", "out", "-j", "1", "--prune")
    assert code == 0 and "2 pruned" in text and not (out / "pipelines" / "beta.yaml").exists()
    assert sorted(json.loads((out / MANIFEST_FILE).read_text())["files"]) == [
        "conversion.json",
        "pipelines/alpha.py",
        "pipelines/alpha.yaml",
    ]


def test_a_failing_rename_puts_every_replaced_file_back(repo, run, monkeypatch):
    out = repo.parent / "out"
    run("convert", "dags", "--out", "out", "-j", "1")
    before = snapshot(out)
    for name in ("alpha", "beta"):
        (repo / f"{name}.py").write_text(dag_file(name, "a", "b", "c"))
    real_replace, calls = os.replace, []

    def failing_replace(src, dst):
        calls.append(dst)
        if len(calls) == 4:  # manifest, then three outputs in: fail half way
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr("airflow2kfp.outputs.os.replace", failing_replace)
    code, text, _ = run("convert", "dags", "--out", "out", "-j", "1")
    assert code == 2 and "No space left on device" in text
    monkeypatch.undo()
    after = snapshot(out)
    assert {k: v for k, v in after.items() if k != MANIFEST_FILE} == {
        k: v for k, v in before.items() if k != MANIFEST_FILE
    }
    assert not list(out.glob(".airflow2kfp-staging-*"))


def test_a_run_killed_while_converting_leaves_the_previous_outputs(repo, run):
    out = repo.parent / "out"
    run("convert", "dags", "--out", "out", "-j", "1")
    before = snapshot(out)
    (repo / "beta.py").write_text(dag_file("beta", "x"))
    (repo / "slow.py").write_text(dag_file("slow", "s"))
    process = child(repo.parent, "convert", "dags", "--out", "out", "-j", "1")
    deadline = time.monotonic() + 60
    while not (repo.parent / "started").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.stdout.read()
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert snapshot(out) == before


def test_a_run_killed_between_two_renames_leaves_whole_files_and_the_next_run_recovers(repo, run):
    out = repo.parent / "out"
    run("convert", "dags", "--out", "out", "-j", "1")
    before = snapshot(out)
    for name in ("alpha", "beta"):
        (repo / f"{name}.py").write_text(dag_file(name, "a", "b", "c"))
    process = child(repo.parent, "convert", "dags", "--out", "out", "-j", "1", env={"DIE_AFTER_RENAME": "1"})
    assert process.wait(timeout=120) == 9
    half = snapshot(out)
    assert half["pipelines/alpha.yaml"] != before["pipelines/alpha.yaml"]  # replaced, then killed
    assert half["pipelines/beta.yaml"] == before["pipelines/beta.yaml"]  # not reached
    code, text, _ = run("convert", "dags", "--out", "out", "-j", "1")  # no conflict: the manifest knew
    assert code == 0, text
    assert not list(out.glob(".airflow2kfp-staging-*"))
    assert "c" in json.loads((out / "conversion.json").read_text())["dags"][1]["airflow_edges"][-1]
