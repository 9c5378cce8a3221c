"""Fuzzing the static reader over raw bytes, bounded for CI (A2K_FUZZ_EXAMPLES for a longer run).

Any bytes give a ParsedFile and never the reader's own failure (A2K108): plain random bytes, and
DAG fixtures with bytes flipped, inserted or cut, which keep enough structure to reach the
interpreter rather than stop at the decoder or the parser.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow2kfp.parse.static import read_dag_file

EXAMPLES = int(os.environ.get("A2K_FUZZ_EXAMPLES", 500))
SEEDS = [
    p.read_bytes()
    for p in sorted((Path(__file__).resolve().parents[2] / "fixtures" / "airflow_dags").glob("*.py"))
]
_SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "insert", "cut"]))
        if action == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(
                st.binary(max_size=16) | st.sampled_from([b"(", b")", b">>", b"[", b"\n    ", b"\\"])
            )
        else:
            del data[at : at + draw(st.integers(1, 40))]
    return bytes(data)


def read_bytes(tmp_path: Path, blob: bytes) -> None:
    path = tmp_path / "fuzzed.py"
    path.write_bytes(blob)
    parsed = read_dag_file(path)
    assert [d.render() for d in parsed.diagnostics if d.code == "A2K108"] == []


@_SETTINGS
@given(blob=st.binary(max_size=4096))
def test_random_bytes(tmp_path: Path, blob: bytes) -> None:
    read_bytes(tmp_path, blob)


@_SETTINGS
@given(blob=mutated())
def test_mutated_dag_files(tmp_path: Path, blob: bytes) -> None:
    read_bytes(tmp_path, blob)
