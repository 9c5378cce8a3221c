"""The compiler's deferred write: compile_source gives what kfp's own write would have given."""

from __future__ import annotations

import builtins
import io
import re
from pathlib import Path
from typing import Any

import pytest
from kfp.components import _yaml_utils

from airflow2kfp.emit import compile as compile_module
from airflow2kfp.emit.compile import compile_source
from airflow2kfp.kfp_accel import accelerated
from airflow2kfp.kfp_accel.deferred_write import Unsure, deferred_write, load_workflow

GOLDEN_SOURCES = sorted((Path(__file__).resolve().parents[1] / "goldens" / "dags").glob("*/pipelines/*.py"))
WORKFLOW = {
    "metadata": {"annotations": {"a": "b"}},
    "spec": {
        "arguments": {"parameters": [{"name": "p"}]},
        "templates": [{"name": "t", "x": [1, True, None]}],
    },
}


def fresh_workflow() -> dict:
    import copy

    return copy.deepcopy(WORKFLOW)


@pytest.fixture
def write_workflow() -> Any:
    """Compiler._write_workflow as installed: deferred within deferred_write."""
    from kfp.compiler import Compiler

    with accelerated() as active:
        assert active
        yield Compiler._write_workflow


def test_kept_workflow_is_taken_once_by_the_re_read(tmp_path: Path, write_workflow: Any) -> None:
    path = str(tmp_path / "w.yaml")
    workflow = fresh_workflow()
    with deferred_write(armed=True) as written:
        write_workflow(workflow, path)
        placeholder = Path(path).read_text()
        assert written.pending() and placeholder.startswith("#")
        workflow["spec"]["arguments"]["parameters"][0]["value"] = ""  # as kfp's own validation does
        with open(path, encoding="utf-8") as stream:
            taken = load_workflow(stream)
        expected = _yaml_utils.load_yaml(_yaml_utils.dump_yaml(WORKFLOW))  # what kfp wrote, read back
        assert taken == expected and type(taken) is type(expected) and not written.pending()
        assert load_workflow(io.StringIO(placeholder)) is None  # once: then the text, parsed
        assert written.result("rewritten\n") == "rewritten\n"


def test_kept_workflow_nobody_rewrote_is_kfps_text(tmp_path: Path, write_workflow: Any) -> None:
    path = str(tmp_path / "w.yaml")
    with deferred_write(armed=True) as written:
        write_workflow(fresh_workflow(), path)
        assert written.result(Path(path).read_text()) == _yaml_utils.dump_yaml(WORKFLOW)


@pytest.mark.parametrize(
    ("armed", "workflow", "name"),
    [
        (False, WORKFLOW, "w.yaml"),  # outside compile_source's deferred_write
        (True, {"x": 1.5}, "w.yaml"),  # not plain data
        (True, WORKFLOW, "w.zip"),  # kfp archives it
    ],
)
def test_kfps_own_write_otherwise(
    tmp_path: Path, armed: bool, workflow: dict, name: str, write_workflow: Any
) -> None:
    path = str(tmp_path / name)
    with deferred_write(armed=armed) as written:
        write_workflow(workflow, path)
        assert not written.pending()
    if name.endswith(".yaml"):
        assert Path(path).read_text() == _yaml_utils.dump_yaml(workflow)


def test_placeholder_seen_elsewhere_is_unsure(tmp_path: Path, write_workflow: Any) -> None:
    path = str(tmp_path / "w.yaml")
    with deferred_write(armed=True) as written:
        write_workflow(fresh_workflow(), path)
        text = Path(path).read_text()  # read by something that is not load_workflow
        with pytest.raises(Unsure):
            written.result(text.upper())


def eager(source: str, tmp_path: Path) -> compile_module.CompileResult | None:
    with accelerated() as active:
        return compile_module._compile(source, "pipeline", tmp_path, active, defer_write=False)


@pytest.mark.parametrize("path", GOLDEN_SOURCES, ids=lambda p: p.stem)
def test_goldens_read_the_compiled_file_once_through_the_hand_off(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The generated compile_pipeline reads the compiled file once, with load_yaml: the placeholder
    is seen by the hand-off only, and the result is kfp's."""
    source = path.read_text(encoding="utf-8")
    reads: list[str] = []
    real_open = builtins.open

    def watching_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if str(file).endswith(".yaml") and "r" in mode:
            reads.append(str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", watching_open)
    with accelerated() as active:
        assert active
        result = compile_module._compile(source, "pipeline", tmp_path, active, defer_write=True)
    assert result is not None and len(reads) == 1  # the re-read; compile_source's own read is Path's
    monkeypatch.undo()
    assert result == eager(source, tmp_path) and result.yaml_text


POST_STEPS = {
    "none": "",
    "plain read": "    text = open(package_path).read()\n    open(package_path, 'w').write(text.upper())\n",
    "other loader": "    import yaml\n    data = yaml.safe_load(open(package_path))\n    data['kind'] += '!'\n"
    "    open(package_path, 'w').write(dump_yaml(data))\n",
    "fails after the hand-off": "    load_yaml(open(package_path))\n    raise ValueError('after')\n",
}


@pytest.mark.parametrize("step", POST_STEPS, ids=str)
def test_any_post_compile_step_gets_kfps_result(step: str, tmp_path: Path) -> None:
    source = GOLDEN_SOURCES[0].read_text(encoding="utf-8")
    head, tail = source.split("def compile_pipeline(package_path: str) -> None:\n", 1)
    body_end = tail.index("\n\n\n")
    compile_line = next(
        line for line in tail[:body_end].splitlines() if "compiler.Compiler().compile(" in line
    )
    changed = (
        f"{head}def compile_pipeline(package_path: str) -> None:\n{compile_line}\n{POST_STEPS[step]}"
        f"{tail[body_end:]}"
    )
    assert timeless(compile_source(changed, "pipeline", tmp_path)) == timeless(eager(changed, tmp_path))


def timeless(result: compile_module.CompileResult | None) -> tuple[str | None, str | None]:
    """Without the compilation time kfp stamps when the post-compile step does not pin it."""
    assert result is not None
    text = re.sub(r"(?i)(pipeline_compilation_time: )'[^']*'", r"\1<time>", result.yaml_text or "")
    return text, result.error
