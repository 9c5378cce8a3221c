"""Code run by kfp 2's interpreter (`.venv-kfp2`), never by the converter's: the standard library,
kfp 2, PyYAML and each other only (tests/test_layers.py checks every file of this folder).

`worker.py` is copied with `ir_runner.py` into a folder of its own and run by path there
(airflow2kfp.kfp2.client): it compiles generated v2 pipelines and runs compiled ones with `kfp.local`.
This module is imported by the converter only, for the scripts' paths.
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
WORKER = FOLDER / "worker.py"
SCRIPTS = (WORKER, FOLDER / "ir_runner.py")
