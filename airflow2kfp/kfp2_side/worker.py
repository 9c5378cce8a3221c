"""The kfp 2.x worker: runs under the KFP v2 interpreter (`.venv-kfp2`), never in the converter's.

It imports only the standard library and kfp 2.x (never the `airflow2kfp` package, whose kfp is 1.8).
Requests and answers are JSON lines: requests on stdin, answers on the file descriptor that was
stdout when it started; everything else written to stdout (kfp's logs, a step's output) goes to
stderr, so nothing can corrupt an answer.

    {"op": "hello"}                                  -> {"hello": true, "kfp_version": "2.17.3"}
    {"op": "compile", "source": TEXT}                -> {"yaml": TEXT} | {"error": TEXT}
    {"op": "run", "ir": TEXT, "arguments": {...}, "run_at": ISO, "task_timeout": S, "run_uuid": ID}
        -> {"step": {...}} for each container, answered with {"step_done": {...}} on stdin,
           then {"run": {"phase", "message", "steps": [...]}} (ir_runner.py)

`compile` runs the generated module's own `compile_pipeline(path)`, so `python <file>` and the
converter write the same IR. The source is the converter's own output, never user code.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import traceback
import types
from contextlib import redirect_stderr, redirect_stdout


def _answer(stream, value) -> None:
    stream.write(json.dumps(value) + "\n")
    stream.flush()


def compile_source(source: str) -> dict:
    captured = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="airflow2kfp-v2-") as folder:
        path = os.path.join(folder, "pipeline.py")
        target = os.path.join(folder, "pipeline.yaml")
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(source)  # kfp reads component functions' source through inspect
        module = types.ModuleType("pipeline")
        module.__file__ = path
        try:
            with redirect_stdout(captured), redirect_stderr(captured):
                code = compile(source, path, "exec", dont_inherit=True)
                exec(code, module.__dict__)  # noqa: S102 - the converter's own output
                module.compile_pipeline(target)
            with open(target, encoding="utf-8") as stream:
                return {"yaml": stream.read()}
        except Exception as error:  # noqa: BLE001 - the compiler's complaint is the answer
            last = traceback.format_exception_only(type(error), error)[-1].strip()
            return {"error": last}
        finally:
            sys.modules.pop("pipeline", None)


def run_ir(request: dict, answers) -> dict:
    """Run a compiled pipeline with ir_runner; each container goes to the converter (a "step" answer,
    replied to with "step_done") and runs there under its host-step rules."""
    from datetime import datetime

    import ir_runner

    def run_step(step: dict) -> dict:
        _answer(answers, {"step": step})
        line = sys.stdin.readline()
        try:
            reply = json.loads(line)
        except ValueError:
            reply = {}
        done = reply.get("step_done") if isinstance(reply, dict) else None
        return done if isinstance(done, dict) else {"verifiable": False, "message": "no answer for the step"}

    try:
        run_at = datetime.fromisoformat(str(request.get("run_at")))
        arguments = request.get("arguments") or {}
        with tempfile.TemporaryDirectory(prefix="airflow2kfp-v2run-") as folder:
            result = ir_runner.run_pipeline(
                str(request.get("ir", "")),
                arguments,
                run_step,
                folder,
                run_at,
                float(request.get("task_timeout", 60.0)),
                str(request.get("run_uuid", "")),
            )
    except Exception as error:  # noqa: BLE001 - the runner's failure is the answer
        last = traceback.format_exception_only(type(error), error)[-1].strip()
        return {"run": {"phase": "Error", "message": f"the local KFP v2 run failed: {last}", "steps": []}}
    return {"run": result}


def main() -> int:
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # print() and kfp's logs go to stderr from here on
    sys.stdout = sys.stderr
    import kfp

    _answer(answers, {"hello": True, "kfp_version": kfp.__version__})
    for line in sys.stdin:
        try:
            request = json.loads(line)
        except ValueError:
            _answer(answers, {"error": "the request is not JSON"})
            continue
        op = request.get("op")
        if op == "compile":
            _answer(answers, compile_source(str(request.get("source", ""))))
        elif op == "run":
            _answer(answers, run_ir(request, answers))
        elif op == "hello":
            _answer(answers, {"hello": True, "kfp_version": kfp.__version__})
        else:
            _answer(answers, {"error": f"unknown op {op!r}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
