"""Generated files as a team keeps its own code: formatted by ruff (pinned), clean under ruff's
classic rules, and carrying only the support code they use."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from airflow2kfp.cli import main

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("airflow_dags", "verify_dags")


@cache
def generated(folder: str, out: Path) -> Path:
    """The pipelines folder `convert` writes for fixtures/<folder>, read statically."""
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        main(
            [
                "convert",
                f"fixtures/{folder}",
                "--out",
                str(out),
                "--mode",
                "static",
                "--no-cache",
                "-q",
                "--fail-on",
                "never",
            ]
        )
    finally:
        os.chdir(cwd)
    return out / "pipelines"


def ruff(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *arguments, "--isolated", "--no-cache", "."],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_generated_file_is_formatted_and_passes_ruffs_classic_rules(folder, tmp_path_factory):
    pipelines = generated(folder, tmp_path_factory.mktemp(folder))
    files = sorted(pipelines.glob("*.py"))
    assert files
    formatted = ruff("format", "--check", cwd=pipelines)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    lint = ruff("check", "--select", "E4,E7,E9,F", "--output-format", "concise", cwd=pipelines)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def defined(source: str) -> set[str]:
    return {
        node.name if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else node.targets[0].id
        for node in ast.parse(source).body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef))
        or (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name))
    }


def test_support_code_is_written_only_where_it_is_used(tmp_path_factory):
    pipelines = generated("airflow_dags", tmp_path_factory.mktemp("support"))
    rules = {"TRIGGER_RULES", "trigger_rule", "apply_trigger_rules", "_ancestors", "_dag_paths"}
    helpers = {"all_of", "any_of", "none_of"}
    seen_without = seen_with = 0
    for path in sorted(pipelines.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        names = defined(source)
        calls = source.count("trigger_rule(") - ("def trigger_rule(" in source)
        if calls:
            seen_with += 1
            assert rules <= names, path.name
        else:
            seen_without += 1
            assert not (rules - {"_dag_paths"}) & names, path.name
        uses_helpers = any(f"{h}(" in source.split("@dsl.pipeline", 1)[1] for h in helpers)
        assert (helpers <= names) == uses_helpers, path.name
        assert {"named", "run_on_after_failures", "load_yaml", "dump_yaml", "compilation_time"} <= names
    assert seen_without and seen_with


def test_the_file_never_imports_private_kfp(tmp_path_factory):
    pipelines = generated("airflow_dags", tmp_path_factory.mktemp("private"))
    for path in sorted(pipelines.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kfp"):
                assert not any(part.startswith("_") for part in node.module.split(".")), path.name
