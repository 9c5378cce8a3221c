"""Text a hostile DAG can hold - quotes, backslashes, line breaks at either end, NUL, CR, form feeds,
line separators, lone surrogates, identifiers Python normalises, source encodings - never makes the
generated Python invalid, never aborts the batch, and reads back as the value the DAG held.

Property tests drive the literal and identifier generators with arbitrary text (surrogates
included); the pipeline property converts DAGs with hostile descriptions, ids, params and commands
through the real emitter and KFP compiler; the rest run the CLI on DAG files.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow2kfp.emit.names import python_task_variables
from airflow2kfp.mapping.base import Interpolated, ParamRef
from airflow2kfp.mapping.literals import docstring_text, py_literal
from airflow2kfp.model import Dag
from airflow2kfp.names import UniqueNames, ascii_identifier, python_identifier
from airflow2kfp.pipeline import ConvertOptions, convert_dag
from airflow2kfp.results import Status
from tests.helpers import BASH, dag, task

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("A2K_EXAMPLES", "200"))
PIPELINE_EXAMPLES = max(5, EXAMPLES // 20)  # each one runs the KFP compiler
_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

any_text = st.text(alphabet=st.characters(exclude_categories=()))  # every code point, surrogates too
# strings built to hit the edges the old emitter got wrong: a quote or backslash at either end,
# triple quotes, line breaks of every kind
edgy_text = st.lists(
    st.sampled_from(
        [
            '"',
            "'",
            '"""',
            "\\",
            "\n",
            "\r",
            "\r\n",
            "\x00",
            "\x0c",
            "\u2028",
            "\u2029",
            "\x85",
            "\t",
            "\ud800",
            "\udfff",
            "{",
            "}",
            "a",
            " ",
            "é",
        ]
    ),
    max_size=12,
).map("".join)
texts = st.one_of(any_text, edgy_text)
scalars = st.one_of(
    texts, st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none()
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(texts, st.integers()), inner, max_size=4),
    ),
    max_leaves=12,
)


def _read_back(literal: str) -> Any:
    """A generated literal evaluated with nothing but `float` (which writes nan and inf)."""
    return eval(
        compile(literal, "<literal>", "eval", dont_inherit=True), {"__builtins__": {}, "float": float}
    )


def _same(a: Any, b: Any) -> bool:
    """Equality that holds nan equal to nan and keeps 1 and True apart."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return a == b


@_SETTINGS
@given(text=texts)
def test_a_string_literal_reads_back_as_the_string(text: str) -> None:
    literal = py_literal(text, {})
    literal.encode("utf-8")  # what a UTF-8 source file can hold: a surrogate is written as an escape
    assert ast.literal_eval(literal) == text


@_SETTINGS
@given(value=values)
def test_a_value_literal_reads_back_as_the_value(value: Any) -> None:
    literal = py_literal(value, {})
    literal.encode("utf-8")
    assert _same(_read_back(literal), value), literal


@_SETTINGS
@given(text=texts)
def test_docstring_text_reads_back_between_triple_quotes(text: str) -> None:
    escaped = docstring_text(text)
    escaped.encode("utf-8")
    assert ast.literal_eval(f'"""{escaped}"""') == text


@_SETTINGS
@given(
    parts=st.lists(
        st.one_of(texts, st.sampled_from(["ds", "run_date", "x"]).map(ParamRef)), min_size=1, max_size=5
    )
)
def test_an_interpolated_value_is_an_f_string_that_renders_it(parts: list[Any]) -> None:
    literal = py_literal(Interpolated(tuple(parts)), {})
    literal.encode("utf-8")
    names = {"ds": "2024-01-01", "run_date": "{{x}}", "x": "\\"}
    rendered = eval(compile(literal, "<f-string>", "eval", dont_inherit=True), {"__builtins__": {}}, names)
    assert rendered == "".join(names[p.name] if isinstance(p, ParamRef) else p for p in parts)


@_SETTINGS
@given(raw=any_text)
def test_an_identifier_is_valid_and_as_python_reads_it(raw: str) -> None:
    name = python_identifier(raw)
    assert name.isidentifier() and not __import__("keyword").iskeyword(name)
    assert unicodedata.normalize("NFKC", name) == name  # the name written is the name Python binds


@_SETTINGS
@given(
    raws=st.lists(
        st.one_of(
            any_text,
            st.sampled_from(
                [
                    "ﬁ",
                    "fi",
                    "a²",
                    "a2",
                    "A2",
                    "ℌ",  # noqa: RUF001 - look-alikes on purpose
                    "h",
                    "Ⅸ",
                    "ix",  # noqa: RUF001 - look-alikes on purpose
                    "class",
                    "class_",
                    "x\ud800",
                    "x",
                ]
            ),
        ),
        max_size=12,
    )
)
def test_identifiers_stay_unique_once_python_normalises_them(raws: list[str]) -> None:
    """What Python binds, not what is written, must be unique: each name is bound once in a real
    module and every value is read back under its own name."""
    names = python_task_variables(raws, reserved=["pipeline_fn"])
    source = "\n".join(f"{name} = {index}" for index, name in enumerate(names.values()))
    scope: dict[str, Any] = {}
    exec(compile(source, "<names>", "exec", dont_inherit=True), {"__builtins__": {}}, scope)  # noqa: S102 - our own assignments
    assert [scope[unicodedata.normalize("NFKC", n)] for n in names.values()] == list(range(len(names)))
    assert "pipeline_fn" not in names.values()


@_SETTINGS
@given(raw=any_text)
def test_a_pipeline_parameter_name_is_one_kfp_accepts(raw: str) -> None:
    name = ascii_identifier(raw)
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) and name.isidentifier(), name  # KFP's own rule


def test_unique_names_compare_the_normalised_forms() -> None:
    names = UniqueNames()
    assert [names.claim(python_identifier(raw), sep="_") for raw in ["ﬁ", "fi", "a²", "a2"]] == [
        "fi",
        "fi_2",
        "a2",
        "a2_2",
    ]


# -- the generated pipeline -------------------------------------------------------------------------

ids = st.text(
    alphabet=st.characters(categories=("L", "N"), include_characters="_.-"), min_size=1, max_size=30
).filter(lambda text: re.match(r"^[\w.-]+$", text) is not None)
encodable = st.text(
    alphabet=st.characters(exclude_categories=("Cs",))
)  # no lone surrogates: those fail (below)
hostile = st.one_of(encodable, edgy_text.filter(lambda t: "\ud800" not in t and "\udfff" not in t))


@st.composite
def hostile_dags(draw: st.DrawFn) -> Dag:
    task_ids = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    params = draw(
        st.dictionaries(
            st.one_of(hostile, st.sampled_from(["ﬁ", "fi", "a²", "a2", "ds", "class"])),
            st.one_of(st.integers(-5, 5), hostile),
            max_size=4,
        )
    )
    tasks = []
    for task_id in task_ids:
        command = draw(hostile)
        if params and draw(st.booleans()):  # a template naming a param, as `params['key']`
            key = draw(st.sampled_from(sorted(params)))
            if "'" not in key and "}" not in key:  # (text around it: a lone template is a typed parameter)
                command += " {{ params['" + key + "'] }}"
        tasks.append(task(task_id, BASH, doc_md=draw(hostile), bash_command=command))
    edges = list(itertools.pairwise(task_ids))
    return dag(
        draw(ids),
        tasks,
        edges,
        description=draw(hostile),
        settings={"params": params, "doc_md": draw(hostile), "tags": [draw(hostile)]},
    )


@settings(_SETTINGS, max_examples=PIPELINE_EXAMPLES)
@given(model=hostile_dags())
def test_a_dag_of_hostile_text_converts_to_python_that_compiles(model: Dag) -> None:
    result = convert_dag(model, (), ConvertOptions())
    errors = [d.render() for d in result.diagnostics if d.severity.value == "error"]
    assert result.status is Status.CONVERTED, errors
    assert result.python_text is not None and result.yaml_text is not None
    result.python_text.encode("utf-8")
    compile(result.python_text, "pipeline.py", "exec", dont_inherit=True)
    workflow = yaml.safe_load(result.yaml_text)
    commands = [t["container"]["command"][-1] for t in workflow["spec"]["templates"] if "container" in t]
    for original in model.tasks:
        command = original.args.get("bash_command")
        if "{{" not in command and "{%" not in command and "{#" not in command:  # kept as written
            assert command in commands


# -- DAG files through the CLI ----------------------------------------------------------------------

HEADER = "from datetime import datetime\nfrom airflow import DAG\nfrom airflow.operators.bash import BashOperator\n"
GOOD = (
    HEADER
    + 'with DAG("good", start_date=datetime(2024, 1, 1)):\n    BashOperator(task_id="a", bash_command="echo")\n'
)


def _convert(dags: Path, out: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow2kfp.cli",
            "convert",
            str(dags),
            "--out",
            str(out),
            "--mode",
            "static",
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done, json.loads((out / "conversion.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_lone_surrogate_fails_only_its_dag(tmp_path: Path, jobs: str) -> None:
    """It aborted the whole batch (nothing written for any DAG); now its DAG fails with A2K114 at
    the line of the value, and the cache (on here) and every other output go on."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "good.py").write_text(GOOD)
    (dags / "surrogate.py").write_text(
        HEADER + 'with DAG("surrogate", start_date=datetime(2024, 1, 1), description="bad \\ud800 text"):\n'
        '    BashOperator(task_id="a", bash_command="echo \\udfff")\n'
    )
    done, document = _convert(dags, tmp_path / "out", "-j", jobs)
    assert done.returncode == 1
    by_id = {d["dag_id"]: d for d in document["dags"]}
    assert by_id["good"]["status"] == "converted"
    assert by_id["surrogate"]["status"] == "failed"
    found = sorted((d["code"], d["line"], d["task_id"]) for d in by_id["surrogate"]["diagnostics"])
    assert found == [("A2K114", 4, None), ("A2K114", 5, "a")]
    assert by_id["surrogate"]["settings"]["description"] == {"unresolved": "'bad \\ud800 text'"}
    assert sorted(p.name for p in (tmp_path / "out" / "pipelines").iterdir()) == ["good.py", "good.yaml"]
    # the second run reads the cache the first wrote, and agrees
    again, second = _convert(dags, tmp_path / "out", "-j", jobs)
    assert again.returncode == 1 and second["dags"] == document["dags"]


def test_a_file_name_that_is_not_utf8_is_shown_escaped(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "good.py").write_text(GOOD)
    name = os.fsdecode(b"caf\xe9.py")  # latin-1 bytes in a file name: a lone surrogate in Python
    (dags / name).write_text(GOOD.replace('"good"', '"other"'))
    done, document = _convert(dags, tmp_path / "out")
    assert done.returncode == 0, done.stdout
    assert {Path(d["source"]).name for d in document["dags"]} == {"good.py", "caf\\xe9.py"}
    assert {d["status"] for d in document["dags"]} == {"converted"}


STRINGS = {  # each once broke the generated Python or changed in it
    "quote_at_end": 'set -e\necho "done"',
    "backslash_at_end": "echo a\\\n\\",
    "quote_at_start": '"\nquoted',
    "newlines_at_both_ends": "\nmiddle\n",
    "triple_quotes": 'a """ b\n',
    "nul": "a\x00b\n",
    "carriage_return": "a\r\nb",
    "form_feed": "a\x0cb\n",
    "line_separator": "a\u2028b\n",
}


def test_strings_that_broke_literals_convert_and_read_back(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    body = "".join(
        f"    BashOperator(task_id={name!r}, bash_command={text!r})\n" for name, text in STRINGS.items()
    )
    description = 'ends with a quote and a line break"\n'
    (dags / "strings.py").write_text(
        HEADER + f'with DAG("strings", start_date=datetime(2024, 1, 1), description={description!r},\n'
        f'         params={{"a²": 1, "ﬁ": 2, "fi": 3, "class": 4}}):\n'
        + body
        + "    BashOperator(task_id=\"uses_params\", bash_command=\"{{ params.fi }} {{ params['ﬁ'] }} {{ params['a²'] }}\")\n"
    )
    done, _ = _convert(dags, tmp_path / "out")
    assert done.returncode == 0, done.stdout
    python = (tmp_path / "out" / "pipelines" / "strings.py").read_text(encoding="utf-8")
    tree = ast.parse(python)
    literals = {}
    for node in ast.walk(tree):  # named(BASH, 'kfp-name')(command=<literal>)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Call) and node.keywords:
            literals[ast.literal_eval(node.func.args[1])] = node.keywords[0].value
    for name, text in STRINGS.items():
        kfp_name = name.replace("_", "-")
        assert ast.literal_eval(literals[kfp_name]) == text, name
    # the params: one pipeline parameter each, `ﬁ` and `fi` apart after Python's NFKC
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.endswith("_pipeline"))
    assert [a.arg for a in function.args.args] == ["a2", "fi", "fi_2", "class_"]
    assert ast.unparse(literals["uses-params"]) == "f'{fi_2} {fi} {a2}'"
    # and the compiled workflow holds every command exactly
    workflow = yaml.safe_load((tmp_path / "out" / "pipelines" / "strings.yaml").read_text(encoding="utf-8"))
    commands = {
        t["name"]: t["container"]["command"][-1] for t in workflow["spec"]["templates"] if "container" in t
    }
    assert {name: commands[name.replace("_", "-")] for name in STRINGS} == STRINGS


def test_a_latin1_dag_converts_as_airflow_loads_it(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "latin1.py").write_bytes(
        b"# -*- coding: latin-1 -*-\n"
        + HEADER.encode()
        + b'with DAG("latin", start_date=datetime(2024, 1, 1), description="caf\xe9"):\n'
        b'    BashOperator(task_id="a", bash_command="echo \xe9t\xe9")\n'
    )
    (dags / "unknown_codec.py").write_bytes(b"# -*- coding: no-such-codec -*-\n" + GOOD.encode())
    done, document = _convert(dags, tmp_path / "out")
    assert done.returncode == 1
    (latin,) = document["dags"]
    assert latin["status"] == "converted" and latin["settings"]["description"] == "caf\u00e9"
    yaml_text = (tmp_path / "out" / "pipelines" / "latin.yaml").read_text(encoding="utf-8")
    assert (
        "echo \u00e9t\u00e9" in yaml.safe_load(yaml_text)["spec"]["templates"][0]["container"]["command"][-1]
    )
    (unknown,) = [f for f in document["files"] if f["path"].endswith("unknown_codec.py")]
    assert [(d["code"], d["line"]) for d in unknown["diagnostics"]] == [("A2K101", 1)]
    assert "unknown encoding: no-such-codec" in unknown["diagnostics"][0]["message"]
