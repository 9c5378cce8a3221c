"""A cache or memo planted by someone else (a pull request, a restored CI cache) runs no code and
changes no output: nothing read from disk is unpickled, and the cache is not in OUT."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from airflow2kfp.cache import default_cache_dir

ROOT = Path(__file__).resolve().parents[2]
DAGS = ("ops_python_bash.py", "cf_branch_join.py")


class _Marker:
    """Unpickling this runs `touch MARKER`: what a crafted cache entry does on a runner."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _convert(dags: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow2kfp.cli",
            *extra,
            str(dags),
            "--out",
            str(out),
            "--mode",
            "static",
            "-j",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
    )


def _outputs(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture
def dags(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    for name in DAGS:
        shutil.copy(ROOT / "fixtures" / "airflow_dags" / name, folder / name)
    return folder


def test_pickles_planted_in_every_cache_file_and_in_out_run_nothing(tmp_path: Path, dags: Path) -> None:
    out, marker = tmp_path / "out", tmp_path / "pwned"
    first = _convert(dags, out, "convert")
    assert first.returncode in (0, 1), first.stdout + first.stderr
    before = _outputs(out)
    cache = default_cache_dir(out)
    planted = [p for p in cache.rglob("*") if p.is_file() and p.name != "CACHEDIR.TAG"]
    assert any(p.suffix == ".json" for p in planted), "the run cached nothing to plant over"
    payload = pickle.dumps(_Marker(marker))
    for path in planted:  # every entry, the imports memo, rendered pages and layouts
        path.write_bytes(payload)
    # and where earlier versions kept the cache: inside the committed output folder
    old = out / ".airflow2kfp-cache" / "v1"
    (old / "ab").mkdir(parents=True)
    (old / "imports.pickle").write_bytes(payload)
    (old / "ab" / "abcd.pickle").write_bytes(payload)
    for command in (("convert",), ("check",)):
        again = _convert(dags, out, *command)
        assert again.returncode in (0, 1) and "Traceback" not in again.stdout + again.stderr, again.stdout
    assert not marker.exists()
    after = _outputs(out)
    assert {k: v for k, v in after.items() if not k.startswith(".airflow2kfp-cache")} == before


def test_check_writes_no_cache(tmp_path: Path, dags: Path) -> None:
    out = tmp_path / "out"
    assert _convert(dags, out, "convert", "--no-cache").returncode in (0, 1)
    before = _outputs(out)
    checked = _convert(dags, out, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert not default_cache_dir(out).exists() and _outputs(out) == before
