"""`airflow2kfp upload` against a KFP v1 API server run locally (tests/fake_kfp.py), through
the real kfp.Client: idempotent re-uploads, replaced recurring runs, refused failed DAGs."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from airflow2kfp.cli import main
from tests.fake_kfp import FakeKfp

ROOT = Path(__file__).resolve().parents[1]
DAGS = ("airflow1_imports.py", "ops_python_bash.py", "cf_branch_join.py")


def run_cli(*args: str) -> tuple[int, str]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = main([str(a) for a in args])
    return code, printed.getvalue()


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dags = tmp_path_factory.mktemp("dags")
    for name in DAGS:
        shutil.copy(ROOT / "fixtures" / "airflow_dags" / name, dags / name)
    out = tmp_path_factory.mktemp("converted")
    code, printed = run_cli(
        "convert", str(dags), "--out", str(out), "--mode", "static", "--no-cache", "-j", "1"
    )
    assert code in (0, 1), printed
    return out


@pytest.fixture
def out(converted: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "out"
    shutil.copytree(converted, copy)
    return copy


def _scheduled(out: Path) -> list[str]:
    document = json.loads((out / "conversion.json").read_text())
    return [d["dag_id"] for d in document["dags"] if d["recurring_run"]]


def test_uploading_twice_changes_nothing_the_second_time(out: Path) -> None:
    scheduled = _scheduled(out)
    assert scheduled, "the fixtures must include scheduled DAGs"
    with FakeKfp() as kfp:
        code, printed = run_cli("upload", out, "--host", kfp.url)
        assert code == 0, printed
        state = kfp.state
        converted = json.loads((out / "conversion.json").read_text())["dags"]
        assert sorted(p["name"] for p in state.pipelines.values()) == sorted(d["dag_id"] for d in converted)
        assert sorted(j["name"] for j in state.jobs.values()) == sorted(scheduled)
        jobs, versions, changes = dict(state.jobs), dict(state.versions), len(state.changes())
        code, printed = run_cli("upload", out, "--host", kfp.url)
        assert code == 0, printed
        assert state.jobs == jobs and state.versions.keys() == versions.keys()
        assert len(state.changes()) == changes  # the second upload only read
        assert "is there already" in printed and "is up to date" in printed


def test_a_changed_pipeline_gets_a_new_version_and_its_recurring_run_is_replaced(out: Path) -> None:
    dag_id = _scheduled(out)[0]
    with FakeKfp() as kfp:
        assert run_cli("upload", out, "--host", kfp.url)[0] == 0
        (old_job,) = [j for j in kfp.state.jobs.values() if j["name"] == dag_id]
        entry = next(
            d for d in json.loads((out / "conversion.json").read_text())["dags"] if d["dag_id"] == dag_id
        )
        package = out / entry["yaml"]
        package.write_text(package.read_text() + "# edited\n")
        code, printed = run_cli("upload", out, "--host", kfp.url)
        assert code == 0, printed
        (new_job,) = [j for j in kfp.state.jobs.values() if j["name"] == dag_id]
        assert new_job["id"] != old_job["id"] and f"recurring run {dag_id} replaced" in printed
        version_ids = {
            r["key"]["id"] for r in new_job["resource_references"] if r["key"]["type"] == "PIPELINE_VERSION"
        }
        (version_id,) = version_ids
        assert kfp.state.versions[version_id]["package"] == package.read_bytes()


def test_duplicate_recurring_runs_left_by_older_uploads_become_one(out: Path) -> None:
    dag_id = _scheduled(out)[0]
    with FakeKfp() as kfp:
        assert run_cli("upload", out, "--host", kfp.url)[0] == 0
        (job,) = [j for j in kfp.state.jobs.values() if j["name"] == dag_id]
        kfp.state.jobs["job-duplicate"] = {**job, "id": "job-duplicate"}
        assert run_cli("upload", out, "--host", kfp.url)[0] == 0
        assert len([j for j in kfp.state.jobs.values() if j["name"] == dag_id]) == 1


def test_a_failed_dag_is_refused_in_a_folder_and_given_directly(out: Path) -> None:
    document = json.loads((out / "conversion.json").read_text())
    failed = document["dags"][0]
    failed["status"] = "failed"
    (out / "conversion.json").write_text(json.dumps(document))
    with FakeKfp() as kfp:
        code, printed = run_cli("upload", out, "--host", kfp.url)
        assert code == 1 and f"{failed['dag_id']}: not uploaded: its conversion failed" in printed
        assert failed["dag_id"] not in {p["name"] for p in kfp.state.pipelines.values()}
        assert len(kfp.state.pipelines) == len(document["dags"]) - 1
        code, printed = run_cli("upload", out / failed["yaml"], "--host", kfp.url)
        assert code == 1 and "its conversion failed" in printed
        assert failed["dag_id"] not in {p["name"] for p in kfp.state.pipelines.values()}


def test_one_yaml_given_directly_is_uploaded_with_its_recurring_run(out: Path) -> None:
    dag_id = _scheduled(out)[0]
    entry = next(
        d for d in json.loads((out / "conversion.json").read_text())["dags"] if d["dag_id"] == dag_id
    )
    with FakeKfp() as kfp:
        code, printed = run_cli("upload", out / entry["yaml"], "--host", kfp.url)
        assert code == 0, printed
        assert [p["name"] for p in kfp.state.pipelines.values()] == [dag_id]
        assert [j["name"] for j in kfp.state.jobs.values()] == [dag_id]


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "--host (or $KF_PIPELINES_ENDPOINT) is required"),
    ],
)
def test_usage_errors_exit_2_without_a_traceback(
    out: Path, args: tuple[str, ...], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KF_PIPELINES_ENDPOINT", raising=False)
    code, printed = run_cli("upload", out, *args)
    assert code == 2 and message in printed and "Traceback" not in printed


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["dags"][0].update(yaml="../../../../etc/passwd"),
        lambda d: d["dags"][0].update(yaml="/etc/passwd"),
        lambda d: d.update(dags="nope"),
    ],
)
def test_a_crafted_conversion_json_uploads_nothing(out: Path, tamper) -> None:
    document = json.loads((out / "conversion.json").read_text())
    tamper(document)
    (out / "conversion.json").write_text(json.dumps(document))
    with FakeKfp() as kfp:
        code, printed = run_cli("upload", out, "--host", kfp.url)
        assert code == 2 and "Traceback" not in printed
        assert kfp.state.changes() == []


def test_a_recurring_run_file_of_another_shape_is_refused(out: Path) -> None:
    entry = next(d for d in json.loads((out / "conversion.json").read_text())["dags"] if d["recurring_run"])
    (out / entry["recurring_run"]).write_text(json.dumps({"name": "x", "trigger": {"cron_schedule": {}}}))
    with FakeKfp() as kfp:
        code, printed = run_cli("upload", out, "--host", kfp.url)
        assert code == 2 and "cron" in printed and kfp.state.changes() == []


def test_an_unreachable_server_is_one_line_and_exit_1(out: Path) -> None:
    with FakeKfp() as kfp:
        url = kfp.url  # closed once the block ends: nothing listens there
    code, printed = run_cli("upload", out, "--host", url)
    assert code == 1 and printed.count("error:") == 1 and "Traceback" not in printed


def test_dry_run_prints_the_changing_calls_and_contacts_nothing(out: Path) -> None:
    code, printed = run_cli("upload", out, "--dry-run")
    assert code == 0, printed
    assert "would call upload_pipeline(" in printed and "would call create_recurring_run(" in printed
