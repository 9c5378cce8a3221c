"""`verify --target v2`: run the compiled KFP v2 pipeline (its IR) once on this machine.

The IR is run by the kfp 2 worker (airflow2kfp/kfp2_side/ir_runner.py: kfp.local's code for what a step gets
and gives, KFP's backend's rules for whether and when it runs). Each container the worker hands over
runs here, under the same rules as `verify`'s v1 run (host_step: the bash, alpine and python images,
the operator fallback with the verifying Airflow; anything else is not verifiable): Python steps with
the kfp 2 interpreter, which has the `kfp` their command installs. The steps come back as the v1
run's `NodeRun`s, so `compare` reads both targets the same way.

Pipeline parameters: KFP's API server formats run macros (`[[CurrentTime...]]`) in v1 workflow
parameters only (argo_template.go); a v2 run gets its parameters as written (v2_template.go's
RunWorkflow has no formatter), so none are formatted here either.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow2kfp.emit.v2_components import CONTAINER_OUTPUT
from airflow2kfp.kfp2.client import find_kfp2_python, run_v2
from airflow2kfp.verify import host_step
from airflow2kfp.verify.argo_local import NodeRun, Phase, WorkflowRun


@dataclass(frozen=True)
class V2LocalOptions:
    task_timeout: float = 60.0
    run_timeout: float = 600.0
    parameters: Mapping[str, Any] = field(default_factory=dict)  # pipeline arguments (--conf)
    run_at: datetime | None = None  # when the run is created; None: now
    run_uuid: str = "00000000-0000-0000-0000-000000000000"
    airflow: host_step.AirflowHost | None = None  # runs the operator-fallback steps
    kfp2_python: str | None = None


def run_ir(ir_text: str, options: V2LocalOptions) -> WorkflowRun:
    """Run the IR once; never raises for a bad step (a run that cannot start is phase Error)."""
    python = find_kfp2_python(options.kfp2_python)
    scratch = Path(tempfile.mkdtemp(prefix="airflow2kfp-v2steps-"))
    count = 0

    def on_step(step: dict[str, Any]) -> dict[str, Any]:
        nonlocal count
        count += 1
        command = [str(part) for part in step.get("command") or []]
        env: dict[Any, Any] = step["env"] if isinstance(step.get("env"), dict) else {}
        template = {
            "container": {
                "image": str(step.get("image", "")),
                "command": command,
                "env": [{"name": str(k), "value": str(v)} for k, v in env.items()],
            }
        }
        try:
            timeout = min(float(step.get("timeout", options.task_timeout)), options.task_timeout)
        except (TypeError, ValueError):
            timeout = options.task_timeout
        result = host_step.run_container(
            template, scratch / f"{count:04d}", timeout, python=python, airflow=options.airflow
        )
        return {
            "verifiable": result.verifiable,
            "succeeded": result.succeeded,
            "message": result.message,
            "exit_code": result.exit_code,
            "log_tail": result.log_tail,
        }

    run_at = (options.run_at or datetime.now().astimezone()).isoformat()
    try:
        answer = run_v2(
            ir_text,
            options.parameters,
            python,
            on_step,
            run_at,
            options.task_timeout,
            options.run_timeout,
            options.run_uuid,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return workflow_run(answer)


def workflow_run(answer: Mapping[str, Any]) -> WorkflowRun:
    """The worker's answer as a WorkflowRun (phases, outputs by v1's output names)."""
    nodes = []
    for step in answer.get("steps") or []:
        parameters = {str(k): str(v) for k, v in (step.get("parameters") or {}).items()}
        if CONTAINER_OUTPUT in parameters and "Output" not in parameters:
            parameters["Output"] = parameters.pop(CONTAINER_OUTPUT)  # kfp 2 reserves `Output` there
        nodes.append(
            NodeRun(
                node=str(step["node"]),
                task=str(step.get("task", "")),
                template=str(step.get("template", "")),
                display_name=str(step.get("display_name") or "") or None,
                phase=_phase(step.get("phase")),
                message=str(step.get("message") or ""),
                started=step.get("started"),
                finished=step.get("finished"),
                attempts=int(step.get("attempts") or 0),
                parameters=parameters,
                waited_for=tuple(str(w) for w in step.get("waited_for") or []),
                item=step.get("item"),
                log_tail=str(step.get("log_tail") or ""),
            )
        )
    return WorkflowRun(
        _phase(answer.get("phase")),
        tuple(nodes),
        str(answer.get("message") or ""),
        float(answer.get("seconds") or 0.0),
    )


def _phase(value: Any) -> Phase:
    try:
        return Phase(str(value))
    except ValueError:
        return Phase.ERROR
