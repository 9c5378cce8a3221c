"""The reader returns a result for any input, and reads large DAG folders quickly."""

from __future__ import annotations

import os
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow2kfp.model import ParsedFile
from airflow2kfp.parse.static import read_dag_file

FIXTURES = sorted((Path(__file__).resolve().parents[2] / "fixtures" / "airflow_dags").glob("*.py"))
SOURCES = [p.read_text() for p in FIXTURES]


EXAMPLES = int(os.environ.get("A2K_EXAMPLES", 60))  # raise it for a longer hunt


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_never_raises_on_mangled_dag_files(tmp_path: Path, data: st.DataObject) -> None:
    source = data.draw(st.sampled_from(SOURCES))
    lines = source.splitlines()
    cut = data.draw(st.integers(0, len(lines)))
    dropped = data.draw(st.integers(0, 3))
    noise = data.draw(st.text(alphabet=" ()[]{}>><<:=,.'\"\\fx_0\n", max_size=12))
    mangled = "\n".join(lines[:cut] + [noise] + lines[cut + dropped :])
    path = tmp_path / "mangled.py"
    path.write_text(mangled)
    parsed = read_dag_file(path)
    # A2K108 is the reader's own failure: broken input must still get a proper diagnosis
    assert [d.render() for d in parsed.diagnostics if d.code == "A2K108"] == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=200))
def test_never_raises_on_arbitrary_bytes(tmp_path: Path, blob: bytes) -> None:
    path = tmp_path / "blob.py"
    path.write_bytes(blob)
    assert isinstance(read_dag_file(path), ParsedFile)


def test_a_thousand_task_dag_reads_fast(tmp_path: Path) -> None:
    body = "\n".join(
        f"    t{i} = BashOperator(task_id='t{i}', bash_command='echo {i}', retries={i % 3})\n"
        + (f"    t{i - 1} >> t{i}" if i else "")
        for i in range(1000)
    )
    path = tmp_path / "big.py"
    path.write_text(
        "from airflow import DAG\nfrom airflow.operators.bash import BashOperator\n"
        "with DAG('big'):\n" + body + "\n"
    )
    started = time.perf_counter()
    parsed = read_dag_file(path)
    elapsed = time.perf_counter() - started
    assert len(parsed.dags[0].tasks) == 1000 and len(parsed.dags[0].edges) == 999
    assert elapsed < 5, elapsed


def test_results_do_not_depend_on_hash_seed() -> None:
    """Set iteration order changes with PYTHONHASHSEED; the reader's output must not."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    # frozenset reprs list members in hash order, so those are printed sorted
    script = (
        "from pathlib import Path; from airflow2kfp.parse.static import read_dag_file\n"
        "def show(v):\n"
        "    if isinstance(v, frozenset): return repr(sorted(v))\n"
        "    if hasattr(v, '__dataclass_fields__'): return [show(getattr(v, f)) for f in v.__dataclass_fields__]\n"
        "    if isinstance(v, dict): return [(show(k), show(x)) for k, x in v.items()]\n"
        "    if isinstance(v, (list, tuple)): return [show(x) for x in v]\n"
        "    return repr(v)\n"
        "for p in sorted(Path('fixtures').rglob('*.py')): print(show(read_dag_file(p)))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1
