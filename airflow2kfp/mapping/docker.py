"""DockerOperator -> a container step running the same image, command and environment.

Docker's `command` is the container's CMD: it becomes the step's args, so the image's entrypoint
still runs first, as under Docker (a string is split as docker-py splits it, with shlex).
`entrypoint` overrides the entrypoint, as KFP's command does. Docker-host settings (volumes and
mounts from the host, network mode, the Docker daemon URL) have no meaning in a pod: reported.
"""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.mapping.base import (
    Fidelity,
    Interpolated,
    MappingContext,
    OperatorFamily,
    PipelineParameter,
    TaskMapping,
    task_location,
)
from airflow2kfp.mapping.container import (
    container_component,
    env_calls,
    k8s_imports,
    subclass_note,
    unreadable_image,
)
from airflow2kfp.mapping.templates import time_macro_note, translate_value
from airflow2kfp.model import Task
from airflow2kfp.names import python_identifier

HOST_SETTINGS = (
    "mounts",
    "volumes",
    "network_mode",
    "docker_url",
    "tls_ca_cert",
    "privileged",
    "devices",
    "extra_hosts",
    "dns",
    "shm_size",
    "ipc_mode",
    "cap_add",
    "host_tmp_dir",
    "device_requests",
)


def _split(value: Any) -> list[Any] | None:
    if isinstance(value, str):
        return shlex.split(value)
    if isinstance(value, Interpolated):  # split on the whitespace of its text, as docker-py would
        return _split_interpolated(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    return None


def _split_interpolated(value: Interpolated) -> list[Any]:
    """Words of a command with run-time parts; a word mixing text and parts stays one argument."""
    words: list[list[Any]] = [[]]
    for part in value.parts:
        if not isinstance(part, str):
            words[-1].append(part)
            continue
        pieces = part.split()
        if part[:1].isspace():
            words.append([])
        for index, piece in enumerate(pieces):
            if index:
                words.append([])
            words[-1].append(piece)
        if part[-1:].isspace():
            words.append([])
    return [w[0] if len(w) == 1 else Interpolated(tuple(w)) for w in words if w]


def map_docker(task: Task, context: MappingContext) -> TaskMapping:
    where = task_location(task)
    found: list[Diagnostic] = []
    parameters: dict[str, PipelineParameter] = {}
    subclass = subclass_note(task, FAMILY.base_of(task))
    unusable = unreadable_image(task, context)
    if unusable is not None:
        return dataclasses.replace(
            unusable, diagnostics=(*((subclass,) if subclass else ()), *unusable.diagnostics)
        )
    if subclass is not None:
        found.append(subclass)
    image = task.args.get("image")

    def templated(key: str) -> Any:
        return translate_value(task.args.get(key), task, context.dag, key, found, parameters)

    command, entrypoint = templated("command"), templated("entrypoint")
    args = _split(command) if command is not None else None
    entry = _split(entrypoint) if entrypoint is not None else None
    for key, raw, split in (("command", command, args), ("entrypoint", entrypoint, entry)):
        if raw is not None and split is None:
            found.append(diag("A2K306", f"{key} could not be read statically: {raw!r}", **where))
    ident = python_identifier(task.task_id)
    component, arguments = container_component(
        key=f"DOCKER_{ident.upper()}",
        name=f"docker-{ident}",
        description=f"Airflow task {task.task_id!r}: DockerOperator running {image}.",
        image=image,
        command=entry,
        args=args,
    )
    calls: list[str] = []
    for key in ("environment", "private_environment"):
        env = templated(key)
        if isinstance(env, dict):
            calls += env_calls(env)
        elif env is not None:
            found.append(diag("A2K306", f"{key} could not be read statically: {env!r}", **where))
    memory = task.args.get("mem_limit")
    if isinstance(memory, (str, int)):
        calls.append(f"set_memory_limit({str(memory)!r})")
    cpus = task.args.get("cpus")
    if isinstance(cpus, (int, float)) and cpus != 1.0:
        calls.append(f"set_cpu_limit({str(cpus)!r})")
    if isinstance(task.args.get("force_pull"), bool) and task.args.get("force_pull"):
        calls.append("set_image_pull_policy('Always')")
    for key in HOST_SETTINGS:
        if task.args.get(key) not in (None, [], (), "", False):
            found.append(diag("A2K303", f"{key}: a Docker host setting, not carried into the pod", **where))
    note = time_macro_note(parameters)
    approximated = bool(found)  # every finding here is a difference the step shows when run
    return TaskMapping(
        task_id=task.task_id,
        fidelity=Fidelity.APPROXIMATED if approximated else Fidelity.DIRECT,
        component=component,
        arguments=arguments,
        task_calls=tuple(calls),
        diagnostics=tuple(found),
        notes=(note,) if note else (),
        parameters=tuple(parameters.values()),
        imports=k8s_imports(calls),
    )


FAMILY = OperatorFamily(
    name="docker",
    description="DockerOperator: a step running the same image with the command and environment.",
    operators=frozenset({"DockerOperator"}),
    map_task=map_docker,
    subclasses=True,
)
