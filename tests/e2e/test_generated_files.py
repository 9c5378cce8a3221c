"""Every generated pipeline file of every fixture is Python that can run as written.

For each fixture folder (the demo DAGs, the verify DAGs, the DAGs only an import can read), read
statically and, when an Airflow interpreter is configured, with Airflow too:
- the file compiles, and pyflakes finds no undefined name in it;
- each step function handed to `create_component_from_func` has no undefined name on its own:
  KFP copies only that function into the container, so it may use nothing from the module;
- no converter-internal value is printed into it (an object's repr where a value should be);
- it uses kfp's public API only, and ruff (pinned; its default rules) finds nothing in it; the v2
  files too.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pyflakes.api
import pyflakes.messages
import pyflakes.reporter
import pytest

from airflow2kfp.cli import main
from airflow2kfp.kfp2.client import find_kfp2_python

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("airflow_dags", "verify_dags", "airflow_only")
# how a converter value looks when its repr is printed where the value's source should be
INTERNAL = re.compile(
    r"XComRef\(|Unresolved\(|MappedArgument\(|DictOfListsExpandInput|ListOfDictsExpandInput|<lambda>"
    r"|\bLoopValue\(|\bParamRef\(|\bRunIdRef\(|\bInterpolated\(|\bRendered\(|<[\w.]+ object at 0x"
)
# what KFP's create_component_from_func strips from a step's signature before it runs the function
STEP_PREAMBLE = "from typing import NamedTuple\nfrom kfp.components import InputPath, OutputPath\n"


@cache
def generated(folder: str, mode: str, airflow_python: str | None, out: Path) -> dict[str, str]:
    """The pipeline files `convert` writes for fixtures/<folder> (a failing file writes none)."""
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        python = ["--airflow-python", airflow_python] if airflow_python else []
        main(
            [
                "convert",
                f"fixtures/{folder}",
                "--out",
                str(out),
                "--mode",
                mode,
                *python,
                "--no-cache",
                "-q",
                "--fail-on",
                "never",
            ]
        )
    finally:
        os.chdir(cwd)
    return {path.name: path.read_text(encoding="utf-8") for path in sorted((out / "pipelines").glob("*.py"))}


def undefined_names(source: str, filename: str) -> list[str]:
    found: list[str] = []

    class Collect(pyflakes.reporter.Reporter):
        def __init__(self) -> None:
            super().__init__(None, None)

        def flake(self, message: pyflakes.messages.Message) -> None:
            if isinstance(
                message,
                (
                    pyflakes.messages.UndefinedName,
                    pyflakes.messages.UndefinedLocal,
                    pyflakes.messages.UndefinedExport,
                ),
            ):
                found.append(f"{filename}:{message.lineno}: {message.message % message.message_args}")

        def syntaxError(self, filename: str, msg: str, lineno: int, offset: int, text: str) -> None:
            found.append(f"{filename}:{lineno}: syntax error: {msg}")

        def unexpectedError(self, filename: str, msg: str) -> None:
            found.append(f"{filename}: {msg}")

    pyflakes.api.check(source, filename, Collect())
    return found


def step_functions(source: str) -> dict[str, str]:
    """Name -> source of each function the file turns into a component."""
    tree = ast.parse(source)
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    steps = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "create_component_from_func"
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in functions
        ):
            steps[node.args[0].id] = ast.get_source_segment(source, functions[node.args[0].id]) or ""
    return steps


def check(files: dict[str, str]) -> list[str]:
    problems: list[str] = []
    for name, source in files.items():
        try:
            compile(source, name, "exec")
        except SyntaxError as error:
            problems.append(f"{name}:{error.lineno}: does not compile: {error.msg}")
            continue
        problems += undefined_names(source, name)
        for step, text in step_functions(source).items():
            problems += undefined_names(STEP_PREAMBLE + text, f"{name}:{step}")
        problems += [
            f"{name}:{source.count(chr(10), 0, m.start()) + 1}: internal value {m.group(0)!r}"
            for m in INTERNAL.finditer(source)
        ]
    return problems


@pytest.mark.parametrize("folder", FOLDERS)
def test_static_reading_generates_runnable_python(
    folder: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    files = generated(folder, "static", None, tmp_path_factory.mktemp(f"static-{folder}"))
    if folder != "airflow_only":  # only an import reads those
        assert files, f"nothing generated from fixtures/{folder}"
    assert check(files) == []


@pytest.mark.parametrize("folder", FOLDERS)
def test_airflow_reading_generates_runnable_python(
    folder: str, airflow_python: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    files = generated(folder, "airflow", airflow_python, tmp_path_factory.mktemp(f"airflow-{folder}"))
    assert files, f"nothing generated from fixtures/{folder}"
    assert check(files) == []


def test_the_checks_find_what_they_look_for() -> None:
    bad = '''
from kfp import components


def t_step(x_path: InputPath()):
    """A step reading a module name it does not carry."""
    return helper(x_path, XComRef(task_id='a', key='return_value'))


def helper(*args):
    return args


T = components.create_component_from_func(t_step)
'''
    problems = check({"bad.py": bad})
    assert any("t_step" in p and "undefined name 'helper'" in p for p in problems)
    assert any("internal value 'XComRef('" in p for p in problems)
    assert not any(
        p.startswith("bad.py:") and "undefined name 'helper'" in p and "t_step" not in p for p in problems
    )  # the module defines it: only the step alone lacks it


# -- generated files a team is glad to own: kfp's public API only, and ruff-clean -----------------------

# Modules the generated files may import from kfp: public ones only (no `_name` part anywhere).
KFP_ROOTS = ("kfp",)


def private_kfp_uses(source: str, filename: str) -> list[str]:
    """Imports of private kfp modules or names, and attributes `_x` of what the file took from kfp."""
    found: list[str] = []
    kfp_names: set[str] = set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in KFP_ROOTS:
            parts = node.module.split(".") + [alias.name for alias in node.names]
            kfp_names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            parts = [
                part
                for alias in node.names
                if alias.name.split(".")[0] in KFP_ROOTS
                for part in alias.name.split(".")
            ]
            kfp_names |= {
                (alias.asname or alias.name).split(".")[0]
                for alias in node.names
                if alias.name.split(".")[0] in KFP_ROOTS
            }
        else:
            continue
        if any(part.startswith("_") for part in parts):
            found.append(f"{filename}:{node.lineno}: imports private kfp API {'.'.join(parts)}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in kfp_names:
                found.append(f"{filename}:{node.lineno}: uses private kfp API {ast.unparse(node)}")
    return found


def ruff_findings(files: dict[str, str], folder: Path) -> list[str]:
    """ruff's findings (its default rule set, none of this project's settings) in the files."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        (folder / name).write_text(source, encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--no-cache",
            "--output-format",
            "concise",
            "--quiet",
            ".",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.stdout.splitlines()


@pytest.mark.parametrize("folder", FOLDERS)
def test_static_reading_generates_files_on_kfps_public_api_that_ruff_passes(
    folder: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    files = generated(folder, "static", None, tmp_path_factory.mktemp(f"static-{folder}"))
    assert [p for name, source in files.items() for p in private_kfp_uses(source, name)] == []
    assert ruff_findings(files, tmp_path_factory.mktemp(f"lint-static-{folder}")) == []


@pytest.mark.parametrize("folder", FOLDERS)
def test_airflow_reading_generates_files_on_kfps_public_api_that_ruff_passes(
    folder: str, airflow_python: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    files = generated(folder, "airflow", airflow_python, tmp_path_factory.mktemp(f"airflow-{folder}"))
    assert [p for name, source in files.items() for p in private_kfp_uses(source, name)] == []
    assert ruff_findings(files, tmp_path_factory.mktemp(f"lint-airflow-{folder}")) == []


def test_v2_files_use_kfps_public_api_and_ruff_passes(tmp_path: Path) -> None:
    if find_kfp2_python() is None:
        pytest.skip("no kfp 2.x interpreter: run scripts/setup_kfp2_env.sh")
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        main(
            [
                "convert",
                "fixtures/airflow_dags",
                "--out",
                str(tmp_path / "out"),
                "--mode",
                "static",
                "--target",
                "v2",
                "--no-cache",
                "-q",
                "--fail-on",
                "never",
            ]
        )
    finally:
        os.chdir(cwd)
    files = {
        p.name: p.read_text(encoding="utf-8") for p in sorted((tmp_path / "out/pipelines/v2").glob("*.py"))
    }
    assert files
    assert [p for name, source in files.items() for p in private_kfp_uses(source, name)] == []
    assert ruff_findings(files, tmp_path / "lint") == []


def test_the_lint_checks_find_what_they_look_for(tmp_path: Path) -> None:
    bad = (
        "import os\nfrom kfp import dsl\nfrom kfp.components._yaml_utils import dump_yaml\n\n\n"
        "def f():\n    unused = dsl._component\n    return dump_yaml\n"
    )
    assert len(private_kfp_uses(bad, "bad.py")) == 2
    findings = ruff_findings({"bad.py": bad}, tmp_path)
    assert any("F401" in f for f in findings) and any("F841" in f for f in findings)
