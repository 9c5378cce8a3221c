"""Every file the tool writes or deletes goes through the manifest, reports and indexes included; the
`--sarif/--junit/--markdown` files are written as a shell redirect would, never over a device."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from airflow2kfp.outputs import MANIFEST_FILE
from tests.security.output_fixtures import convert, leftovers, run, snapshot, write_dag


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_dag(tmp_path / "dags", "nightly_export")
    write_dag(tmp_path / "dags", "orders")
    return tmp_path


def edit_a_dag(repo: Path) -> None:
    """A change that rewrites outputs, so that the reports are rendered again."""
    write_dag(repo / "dags", "orders", description="orders, hourly")


@pytest.mark.parametrize("name", ["index.html", "index.md", "reports/orders.html", "reports/orders.md"])
def test_a_user_file_where_a_report_goes_is_a_conflict_and_survives(repo: Path, name: str) -> None:
    out = repo / "out"
    assert convert(repo / "dags", out)[0] == 0
    (out / name).write_text("<p>my own page</p>\n")
    before = snapshot(out)
    edit_a_dag(repo)
    code, printed = convert(repo / "dags", out)
    assert (
        code == 2
        and f"A2K701 [error] refusing to overwrite {name}: edited since airflow2kfp wrote it" in printed
    )
    assert snapshot(out) == before  # nothing written: not the pipelines either
    assert convert(repo / "dags", out, "--force")[0] == 0
    assert (out / name).read_text() != "<p>my own page</p>\n"
    assert convert(repo / "dags", out)[0] == 0  # the tool's own again


def test_a_user_file_in_reports_is_neither_overwritten_nor_deleted(repo: Path) -> None:
    out = repo / "out"
    (out / "reports").mkdir(parents=True)
    mine = {"reports/x.html": "<h1>notes</h1>\n", "reports/x.md": "# notes\n", "index.html.bak": "old\n"}
    for name, text in mine.items():
        (out / name).write_text(text)
    assert convert(repo / "dags", out)[0] == 0
    edit_a_dag(repo)
    (repo / "dags" / "nightly_export.py").unlink()  # its reports are stale now: the tool's are removed
    assert convert(repo / "dags", out, "--prune")[0] == 0
    assert not (out / "reports" / "nightly_export.html").exists()
    assert {name: (out / name).read_text() for name in mine} == mine
    assert run("report", out)[0] == 0
    assert {name: (out / name).read_text() for name in mine} == mine


def test_the_report_command_refuses_to_overwrite_a_user_file(repo: Path) -> None:
    out = repo / "out"
    assert convert(repo / "dags", out)[0] == 0
    (out / "index.html").write_text("mine\n")
    code, printed = run("report", out)
    assert code == 2 and "A2K701" in printed and "index.html: edited since airflow2kfp wrote it" in printed
    assert (out / "index.html").read_text() == "mine\n"
    assert run("report", out, "--force")[0] == 0 and "mine" not in (out / "index.html").read_text()


def test_a_link_fifo_or_device_where_a_report_goes_is_never_followed_or_opened(repo: Path) -> None:
    out = repo / "out"
    assert convert(repo / "dags", out)[0] == 0
    secret = repo / "secret.txt"
    secret.write_text("top secret\n")
    (out / "index.md").unlink()
    (out / "index.md").symlink_to(secret)
    (out / "reports" / "orders.md").unlink()
    os.mkfifo(out / "reports" / "orders.md")  # reading it would block the run for ever
    edit_a_dag(repo)
    code, printed = convert(repo / "dags", out)
    assert code == 2 and "refusing to overwrite index.md: not a regular file" in printed
    assert "refusing to overwrite reports/orders.md: not a regular file" in printed
    assert secret.read_text() == "top secret\n" and stat.S_ISFIFO(
        os.lstat(out / "reports" / "orders.md").st_mode
    )


def test_reports_of_an_output_folder_from_an_older_version_are_adopted_once(repo: Path) -> None:
    """Before reports were recorded the manifest had no `reports`: pages with the tool's generator
    tag (and the Markdown beside them) are its own; anything else in reports/ is the user's."""
    out = repo / "out"
    assert convert(repo / "dags", out)[0] == 0
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    del manifest["reports"], manifest["reports_pending"]
    (out / MANIFEST_FILE).write_text(json.dumps(manifest))
    (out / "reports" / "mine.html").write_text("<h1>not generated</h1>\n")
    edit_a_dag(repo)
    (repo / "dags" / "nightly_export.py").unlink()
    code, printed = convert(repo / "dags", out, "--prune")
    assert code == 0, printed
    assert not (out / "reports" / "nightly_export.html").exists()  # the old version's page: removed
    assert (out / "reports" / "mine.html").read_text() == "<h1>not generated</h1>\n"
    assert "reports/orders.html" in json.loads((out / MANIFEST_FILE).read_text())["reports"]


# -- --sarif, --junit, --markdown ---------------------------------------------------------------


@pytest.mark.parametrize("option", ["--sarif", "--junit", "--markdown"])
def test_a_device_target_is_a_usage_error_before_any_work(repo: Path, option: str) -> None:
    before = os.lstat("/dev/null")
    code, printed = convert(repo / "dags", repo / "out", option, "/dev/null")
    assert code == 2
    assert (
        printed.strip()
        == f"error: {option} /dev/null: a character device is there; it must be a regular file or not exist"
    )
    assert not (repo / "out").exists()  # refused before anything was converted or written
    after = os.lstat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_a_fifo_and_a_link_to_a_device_are_refused(repo: Path) -> None:
    os.mkfifo(repo / "pipe")
    (repo / "to-null").symlink_to("/dev/null")
    code, printed = convert(repo / "dags", repo / "out", "--junit", "pipe")
    assert code == 2 and "--junit pipe: a FIFO is there" in printed
    code, printed = convert(repo / "dags", repo / "out", "--sarif", "to-null")
    assert code == 2 and "--sarif to-null: a character device is there (/dev/null)" in printed
    assert stat.S_ISFIFO(os.lstat(repo / "pipe").st_mode) and (repo / "to-null").is_symlink()
    assert not (repo / "out").exists()


def test_a_link_to_a_regular_file_is_written_through_as_a_redirect_would(repo: Path) -> None:
    (repo / "ci").mkdir()
    real = repo / "ci" / "results.sarif"
    real.write_text("old\n")
    real.chmod(0o640)
    (repo / "results.sarif").symlink_to(real)
    assert convert(repo / "dags", repo / "out", "--sarif", "results.sarif")[0] == 0
    assert (repo / "results.sarif").is_symlink()  # the link stays a link
    assert json.loads(real.read_text())["version"] == "2.1.0"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # the file keeps its permissions
    assert [p.name for p in (repo / "ci").iterdir()] == ["results.sarif"]


def test_a_missing_folder_is_a_usage_error_before_any_work(repo: Path) -> None:
    code, printed = convert(repo / "dags", repo / "out", "--markdown", "nope/summary.md")
    assert code == 2 and f"--markdown nope/summary.md: the folder {repo / 'nope'} does not exist" in printed
    assert not (repo / "out").exists()
    code, printed = run(
        "check", repo / "dags", "--out", repo / "out", "--mode", "static", "--sarif", "nope/x.sarif"
    )
    assert code == 2 and "does not exist" in printed


def test_part_files_left_by_a_killed_run_next_to_a_target_are_removed(repo: Path) -> None:
    (repo / ".summary.md.0a1b2c3d.part").write_text("half")
    (repo / ".other.md.0a1b2c3d.part").write_text("not ours to remove: another target")
    assert convert(repo / "dags", repo / "out", "--markdown", "summary.md")[0] == 0
    assert sorted(p.name for p in repo.iterdir() if p.name.endswith(".part")) == [".other.md.0a1b2c3d.part"]
    assert leftovers(repo / "out") == []
