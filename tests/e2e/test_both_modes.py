"""The default mode (Airflow's import merged with the static reading) never loses what static reading
emits: every fixture is converted in both modes, and every line of each pipeline `--mode static`
writes must be in the one the default mode writes, but for the differences listed in ALLOWED."""

from __future__ import annotations

import ast
import contextlib
import io
import re
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from airflow2kfp.cli import main

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"

# (pipeline file, pattern of a static line the default mode may lack, why the default mode's is right)
ALLOWED: tuple[tuple[str, str, str], ...] = (
    # the import names the class Airflow really has: DummyOperator is EmptyOperator since Airflow 2.4
    ("airflow1_imports.py", r"^- begin \(DummyOperator\) removed", "the class as Airflow has it"),
    # the import names the module the class comes from (Airflow 3 moved BashOperator to a provider);
    # the static reader names the canonical path of what the file imported
    (
        "bash_tools.py",
        r"operator=['\"]airflow\.operators\.bash\.BashOperator['\"]",
        "the operator's real module",
    ),
    (
        "valid_custom_branch_operator.py",
        r"operator=['\"]airflow\.operators\.bash\.BashOperator['\"]",
        "the operator's real module",
    ),
    # the import reads the pod's image (Variable.get at parse time); the static reading cannot, so its
    # placeholder and the approximated reader of the placeholder's XCom are what the default mode gains
    ("valid_pull_from_placeholder.py", r".", "a step where static has a placeholder (its whole component)"),
    # a class the DAG file defines, by its importable name (the file's module in the DAGs folder)
    ("unknown_operator.py", r"operator=['\"]GreetOperator['\"]", "the operator's real module"),
    # the import knows which Airflow reads the DAG (3.x here) and runs fallback steps in its image;
    # the static reader sees no Airflow 3 import in these files and assumes Airflow 2
    ("ops_containers.py", r"image: apache/airflow:2\.", "the image of the Airflow that imported the DAG"),
    (
        "verify_fallback_operators.py",
        r"image: apache/airflow:2\.",
        "the image of the Airflow that imported the DAG",
    ),
)


# each folder of fixtures is a DAGs folder of its own (its DAG files import its helper modules)
FOLDERS = sorted(folder for folder in FIXTURES.iterdir() if folder.is_dir() and any(folder.glob("*.py")))


def _convert(out: Path, *mode: str) -> None:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        main(
            [
                "convert",
                *(str(f.relative_to(REPO)) for f in FOLDERS),
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
                *mode,
            ]
        )
    assert "Traceback" not in printed.getvalue(), printed.getvalue()[-3000:]


TASK_BLOCK = re.compile(r"^    # (?P<task>\S+): .* \[(?P<fidelity>\w+)\]$")
COMPONENT = re.compile(r"^(?P<key>[A-Z][A-Z0-9_]*) = components\.load_component_from_text\($")
# the step's call, as ruff lays it out: `t = named(KEY, ...)`, or `named(KEY, ...)` inside `t = (`
STEP = re.compile(r"^\s+(?:\w+ = )?\(?named\((?P<key>\w+), ")
# the next statement at the pipeline function's level: a task's block (or a loop) ends before it
STATEMENT = re.compile(r"^ {0,4}[#\w]")
# steps that do not carry the task itself: a placeholder, the Airflow operator run as it is
STAND_INS = ("PLACEHOLDER", "AIRFLOW_OPERATOR")
# a pipeline parameter only the Airflow-operator step reads (its logical date)
STAND_IN_PARAMETER = re.compile(r"^    ts: str = ")


def _steps(text: str) -> dict[str, str]:
    """Task id -> the component its step calls."""
    found, task = {}, None
    for line in text.splitlines():
        if (block := TASK_BLOCK.match(line)) is not None:
            task = block["task"]
        elif task is not None and (step := STEP.match(line)) is not None:
            found[task], task = step["key"], None
    return found


def _without_stand_ins_replaced(static: str, default: str) -> list[str]:
    """Static's lines, less those of stand-in steps (placeholder, Airflow operator as it is) the
    default mode converted with a family of their own (a gain, not a loss), and less the stand-in
    components (and the operator step's parameter) no step of the default mode uses any more."""
    static_steps, default_steps = _steps(static), _steps(default)
    gained = {
        task
        for task, key in static_steps.items()
        if key in STAND_INS and default_steps.get(task, key) not in STAND_INS
    }
    dropped = {key for key in STAND_INS if f"{key} = components" not in default}
    kept: list[str] = []
    skipping: str | None = None
    after_component = False
    in_block = False  # a gained task's code has started: the block ends at the next statement
    for line in static.splitlines():
        if after_component and not line:  # the blank line that set the component apart
            after_component = False
            continue
        after_component = False
        if skipping == "block":
            if not (in_block and line and STATEMENT.match(line)):
                in_block = in_block or bool(line.strip() and not line.startswith("    #"))
                continue
            skipping = None
        if skipping is None:
            task = TASK_BLOCK.match(line)
            component = COMPONENT.match(line)
            if task and task["task"] in gained:
                skipping, in_block = "block", False
            elif "AIRFLOW_OPERATOR" in dropped and STAND_IN_PARAMETER.match(line) and " ts=" not in default:
                continue
            elif component and component["key"] in dropped:
                skipping = ")"
                if kept and kept[-1].startswith("# "):
                    kept.pop()  # the component's comment
            else:
                kept.append(line)
        elif line == skipping:
            after_component = skipping == ")"
            skipping = None
    return kept


def _statements(text: str) -> list[str]:
    """Every statement of `text` as one string without whitespace or wrapping parentheses: a task's
    call chain however ruff lays it out (on one line when it fits, one call a line when not)."""
    text = textwrap.dedent(text)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.Expr)):
            found.append(_flat(ast.get_source_segment(text, node) or ""))
    return found


def _flat(code: str) -> str:
    flat = re.sub(r"\s+", "", code)
    target, equals, value = flat.partition("=(")
    if equals and value.endswith(")") and target.isidentifier():  # `x = (chain)` -> `x=chain`
        flat = f"{target}={value[:-1]}"
    return flat[1:-1] if flat.startswith("(") and flat.endswith(")") else flat


def _extended(line: str, statements: list[str]) -> bool:
    """`line` is a whole statement that `statements` holds with more calls chained to it: the default
    mode adds settings the static reading missed to a task's chain, and ruff then breaks it up."""
    try:
        ast.parse(line.strip())
    except SyntaxError:
        return False
    flat = _flat(line.strip())
    return any(s.startswith(flat[:-1] if flat.endswith(")") else flat) for s in statements if s != flat)


def lost_lines(static: str, default: str) -> list[str]:
    """Lines of `static` that `default` does not have (as many times as static has them)."""
    lost = Counter(_without_stand_ins_replaced(static, default)) - Counter(default.splitlines())
    statements = _statements(default)
    return sorted(line for line in lost.elements() if not _extended(line, statements))


def allowed(pipeline: str, line: str) -> bool:
    return any(name == pipeline and re.search(pattern, line) for name, pattern, _ in ALLOWED)


def test_lost_lines_counts_lines_and_repeats() -> None:
    assert lost_lines("a\nb\nb\nc", "b\na\nd") == ["b", "c"]


def test_a_chain_the_default_mode_extends_is_no_loss_but_a_changed_one_is() -> None:
    static = '    t = named(POD, "t")().set_display_name("t")\n    (named(P, "u")(a=ds).after(t))\n'
    default = (
        '    t = (\n        named(POD, "t")()\n        .set_display_name("t")\n        .set_cpu_request("1")\n    )\n'
        '    (\n        named(P, "u")(a=ds)\n        .after(t)\n        .set_memory_request("1Gi")\n    )\n'
    )
    assert lost_lines(static, default) == []
    changed = default.replace('set_display_name("t")', 'set_display_name("x")')
    assert lost_lines(static, changed) == ['    t = named(POD, "t")().set_display_name("t")']


def test_a_stand_in_the_default_mode_converted_is_no_loss() -> None:
    static = (
        "# Stands in\nPLACEHOLDER = components.load_component_from_text(\n  spec\n)\n\n"
        "AIRFLOW_OPERATOR = components.load_component_from_text(\n  runner\n)\n\n"
        "    ts: str = 'now',\n"
        "    # t: BashOperator at f.py:3 [placeholder]\n    t = (\n        named(PLACEHOLDER, 't')()\n    )\n"
        "    # p: TeamPod at f.py:4 [approximated]\n    p = (\n        named(AIRFLOW_OPERATOR, 'p')(ts=ts)\n    )\n"
        "    # u: BashOperator at f.py:5 [direct]\n    u = (\n        named(BASH, 'u')()\n    )"
    )
    default = (
        "BASH = components.load_component_from_text(\n  spec\n)\n    # t: BashOperator at f.py:3 [direct]\n"
        "    t = (\n        named(BASH, 't')()\n    )\n    # p: TeamPod at f.py:4 [direct]\n"
        "    p = (\n        named(POD_P, 'p')()\n    )\n"
    )
    assert lost_lines(static, default) == sorted(
        ["    # u: BashOperator at f.py:5 [direct]", "    u = (", "        named(BASH, 'u')()"]
    )


def test_the_default_mode_emits_everything_static_reading_emits(
    airflow_python: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)  # display paths relative to the repository in both runs
    monkeypatch.setenv("AIRFLOW2KFP_AIRFLOW_PYTHON", airflow_python)
    _convert(tmp_path / "static", "--mode", "static")
    _convert(tmp_path / "default")
    static_files = sorted((tmp_path / "static" / "pipelines").rglob("*.py"))
    assert len(static_files) >= 40  # every fixture folder was read
    failures = []
    used = set()
    for static_file in static_files:
        relative = static_file.relative_to(tmp_path / "static")
        default_file = tmp_path / "default" / relative
        if not default_file.is_file():
            failures.append(f"{relative}: the default mode did not write it")
            continue
        for line in lost_lines(static_file.read_text(), default_file.read_text()):
            if allowed(static_file.name, line):
                used.add(static_file.name)
            else:
                failures.append(f"{relative}: lost {line.strip()[:200]!r}")
    assert not failures, "\n".join(failures)
    # an entry no fixture needs any more must go: the list stays the differences that exist
    assert {name for name, _, _ in ALLOWED} <= used, {name for name, _, _ in ALLOWED} - used
