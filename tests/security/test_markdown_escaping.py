"""User text in the `--markdown` PR summary and the Markdown reports renders as exactly that text on
GitHub: no HTML, no `<!--` hiding the rest of a comment, no links or images, no code span a backtick
in the text can end. Checked with cmark-gfm, GitHub's own Markdown parser, raw HTML allowed (so
anything left unescaped would show up as a tag)."""

from __future__ import annotations

import html.parser
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from airflow2kfp.ci.markdown import markdown_summary
from airflow2kfp.diagnostics import diag
from airflow2kfp.report.escape import md_code, md_text
from airflow2kfp.results import DagResult, FileResult, Status
from tests.security.output_fixtures import convert

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "<!-- the rest of this comment is hidden",
    "[click here](https://evil.example/login)",
    "![pixel](https://evil.example/track.png)",
    "<https://evil.example>",
    "see https://evil.example/x and HTTP://EVIL.EXAMPLE",
    "www.evil.example and WWW.Evil.Example",
    "a ` b `` c ``` d",
    "```",
    "`starts and ends`",
    "pipe | in a cell | and \\| escaped",
    "line one\nline two\r\nline three",
    "&lt;already escaped&gt; &amp; &#60;script&#62;",
    "*bold* _em_ ~~gone~~ # not a heading",
    "<script>alert(1)</script>",
    "[ref]: https://evil.example",
    "\\",
]


def gfm(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


class _Parts(html.parser.HTMLParser):
    """The tags and the text of rendered HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)

    def handle_comment(self, data: str) -> None:
        self.tags.append("!--")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parts(markdown: str) -> _Parts:
    parsed = _Parts()
    parsed.feed(gfm(markdown))
    parsed.close()
    return parsed


def one_line(text: str) -> str:
    return " ".join(text.splitlines())


@pytest.mark.parametrize("text", HOSTILE)
def test_md_text_renders_as_the_text_itself_with_no_markup(text: str) -> None:
    rendered = parts(f"before {md_text(text)} after")
    assert rendered.tags == ["p"]
    assert "".join(rendered.text).strip() == f"before {one_line(text)} after"


@pytest.mark.parametrize("text", HOSTILE)
def test_md_code_is_one_code_span_holding_the_text(text: str) -> None:
    rendered = parts(f"x {md_code(text)} y")
    assert rendered.tags == ["p", "code"]
    # a pipe keeps its backslash outside a table (the spans are made for table cells)
    assert "".join(rendered.text).strip() == f"x {one_line(text).replace('|', chr(92) + '|')} y"


@pytest.mark.parametrize("text", HOSTILE)
def test_both_survive_a_table_cell(text: str) -> None:
    rendered = parts(f"| a | b |\n|---|---|\n| {md_text(text)} | {md_code(text)} |\n")
    assert [t for t in rendered.tags if t not in ("table", "thead", "tbody", "tr", "th", "td")] == ["code"]
    assert rendered.text.count(one_line(text)) == 2


def test_the_pr_summary_escapes_dag_ids_paths_and_messages() -> None:
    files = []
    for number, text in enumerate(HOSTILE):
        message = diag("A2K301", f"operator {text} has no mapping", file=f"dags/{text}.py", line=3)
        dag = DagResult(
            dag_id=f"{text}-{number}",
            source=f"dags/{text}.py",
            line=3,
            status=Status.CONVERTED,
            pipeline_function="p",
            tasks=(),
            airflow_edges=(),
            kfp_edges=(),
            diagnostics=(message,),
            selfcheck=None,
        )
        files.append(FileResult(f"dags/{text}.py", Status.CONVERTED, (), (dag,)))
    files.append(FileResult("dags/<b>broken</b>.py", Status.FAILED, (diag("A2K101", "bad `` <!-- syntax"),)))
    summary = markdown_summary(files, ["1 file: <i>x</i> [a](https://e.example)"])
    rendered = parts(summary)
    assert set(rendered.tags) <= {
        "h2",
        "ul",
        "li",
        "p",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "code",
        "br",
    }
    text = "".join(rendered.text)
    for hostile in HOSTILE:
        assert f"operator {one_line(hostile)} has no mapping" in text
        assert f"{one_line(hostile)}-" in text  # the DAG id, whole
    assert "bad `` <!-- syntax" in text and "dags/<b>broken</b>.py" in text


def test_a_dag_file_with_a_hostile_name_in_the_pr_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dags").mkdir()
    name = "<img src=x onerror=alert(1)> ``` <!-- [x](javascript:alert(1)) www.evil.example.py"
    (tmp_path / "dags" / name).write_text("from airflow import DAG\n\nwith DAG('x'\n")  # a syntax error
    code, _ = convert(tmp_path / "dags", tmp_path / "out", "--markdown", "summary.md")
    assert code == 1
    rendered = parts((tmp_path / "summary.md").read_text())
    assert not {"img", "a", "!--", "script"} & set(rendered.tags)
    assert f"dags/{name}" in "".join(rendered.text)
