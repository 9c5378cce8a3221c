"""The ready-made integrations run the commands they say: the pre-commit hooks and the GitHub workflow."""

import os
import re
import shlex
from pathlib import Path

import pytest
import yaml
from pre_commit.clientlib import load_manifest

from tests.fake_reader import dag_file

# a run reads DAG files with the small fake reader (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("fake_static_reader")

ROOT = Path(__file__).parents[2]
WORKFLOW = ROOT / "docs" / "ci" / "airflow2kfp.yml"


def argv(command: str) -> list[str]:
    words = shlex.split(command)
    assert words[0] == "airflow2kfp"
    return words[1:]


def test_pre_commit_manifest_is_valid_and_its_hooks_work(repo, run):
    hooks = {hook["id"]: hook for hook in load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))}
    assert set(hooks) == {"airflow2kfp-check", "airflow2kfp-convert", "airflow2kfp-check-system"}
    for hook in hooks.values():
        # `system` (pre-commit 4.x reads it as `unsupported`): the user's own installation
        system = hook["language"] in ("system", "unsupported")
        assert system == hook["id"].endswith("-system") and (system or hook["language"] == "python")
        assert hook["pass_filenames"] is False
        # pre-commit's own environment has no Airflow: its hooks pin the static reading, never silently
        assert ("--mode static" in hook["entry"]) == (not system)
        assert all(
            re.search(hook["files"], name) for name in ("dags/a.py", "dags/.airflowignore", "pyproject.toml")
        )
    user_args = ["dags", "--out", "pipelines", "-j", "1"]  # what a user puts under `args:`
    check, convert = (
        argv(hooks[h]["entry"]) + user_args for h in ("airflow2kfp-check", "airflow2kfp-convert")
    )
    assert run(*check)[0] == 1  # nothing converted yet
    assert run(*convert) == (0, "", "")  # quiet when all is well
    assert run(*check) == (0, "", "")
    assert run(*argv(hooks["airflow2kfp-check-system"]["entry"]), *user_args, "--mode", "static") == (
        0,
        "",
        "",
    )
    (repo / "beta.py").write_text(dag_file("beta", "x"))
    code, out, _ = run(*check)
    assert code == 1 and "pipelines/beta.py is out of date" in out


def test_github_workflow_commands_run_and_its_steps_agree(repo, run, monkeypatch):
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["airflow2kfp"]["steps"]
    commands = [
        " ".join(s["run"].split()) for s in steps if "run" in s and s["run"].startswith("airflow2kfp ")
    ]
    assert [c.split()[1] for c in commands] == ["convert", "check"]
    assert all('--mode "$MODE"' in c for c in commands) and workflow["env"]["MODE"] == "auto"
    # the default mode needs Airflow: the workflow installs it, unless MODE is static
    install = next(s for s in steps if s.get("name", "").startswith("Install Airflow"))
    assert install["if"] == "env.MODE != 'static'" and "AIRFLOW2KFP_AIRFLOW_PYTHON=" in install["run"]
    for key, value in workflow["env"].items():
        monkeypatch.setenv(key, value)
    assert run("convert", "dags", "--out", "pipelines", "-j", "1")[0] == 0  # the committed pipelines
    convert, check = (argv(os.path.expandvars(c)) + ["-j", "1"] for c in commands)
    assert run(*convert)[0] == 0 and run(*check)[0] == 0
    uploaded = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif"))
    posted = next(s for s in steps if s.get("uses", "").startswith("marocchino/sticky-pull-request-comment"))
    assert Path(uploaded["with"]["sarif_file"]).is_file() and Path(posted["with"]["path"]).is_file()
    assert Path("airflow2kfp-junit.xml").is_file() and Path("build/airflow2kfp/conversion.json").is_file()
    (repo / "beta.py").write_text(dag_file("beta", "x"))
    assert run(*check)[0] == 1
