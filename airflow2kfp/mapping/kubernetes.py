"""KubernetesPodOperator (1.10 contrib to cncf-kubernetes 10.x) -> a container step with the same pod.

A KFP v1 step is a pod, so the operator's pod settings map onto the task: `cmds` / `arguments` are
the container's command and args, env vars, resources, labels, annotations, node selector,
tolerations, affinity, image pull policy, volumes and mounts become `kfp.dsl.ContainerOp` calls.
What KFP v1 sets per run rather than per step (service account, image pull secrets) or does not
have (namespace, pod templates, Airflow secrets) is reported.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.mapping import xcom
from airflow2kfp.mapping.base import (
    Fidelity,
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
    k8s_objects,
    k8s_source,
    literal,
    subclass_note,
    unreadable_image,
    value_source,
)
from airflow2kfp.mapping.templates import PullResolver, time_macro_note, translate_value
from airflow2kfp.model import Task, Unresolved, XComRef
from airflow2kfp.names import python_identifier

# old `resources={...}` keys (Airflow 1.10 / cncf-kubernetes < 4) -> KFP ContainerOp setters
OLD_RESOURCES = {
    "request_memory": "set_memory_request",
    "limit_memory": "set_memory_limit",
    "request_cpu": "set_cpu_request",
    "limit_cpu": "set_cpu_limit",
    "limit_gpu": "set_gpu_limit",
    "request_ephemeral_storage": "set_ephemeral_storage_request",
    "limit_ephemeral_storage": "set_ephemeral_storage_limit",
}
XCOM_FOLDER = "/airflow/xcom"  # an emptyDir the KubernetesPodOperator's sidecar reads return.json from
XCOM_FILE = f"{XCOM_FOLDER}/return.json"
PER_RUN = {
    "service_account_name": "the service account is set per run in KFP v1 "
    "(kfp.Client().create_run_from_pipeline_package(..., service_account=...))",
    "image_pull_secrets": "image pull secrets are set per pipeline in KFP v1 "
    "(dsl.get_pipeline_conf().set_image_pull_secrets([...]))",
    "namespace": "steps run in the pipeline's namespace",
    "pod_template_file": "pod templates are not read; the step's pod is built from the arguments",
    "full_pod_spec": "full pod specs are not read; the step's pod is built from the arguments",
    "secrets": "these Airflow Secret objects could not be read; mount the secret with a volume or env var",
    "init_containers": "init containers are not carried",
    "host_network": "host networking is not carried",
    "dns_policy": "the DNS policy is not carried",
    "priority_class_name": "the priority class is not carried",
    "schedulername": "the scheduler name is not carried",
    "hostnetwork": "host networking is not carried",
}


def map_kubernetes(task: Task, context: MappingContext) -> TaskMapping:
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

    def templated(key: str, pulls: PullResolver | None = None) -> Any:
        return translate_value(task.args.get(key), task, context.dag, key, found, parameters, pulls)

    # an upstream's XCom pulled alone in a template block is passed as its text (KFP substitutes it)
    pulls = xcom.text_pulls(context.dag, task, found)
    command, args = (
        _xcom_texts(templated(key, pulls), task, context, found) for key in ("cmds", "arguments")
    )
    for key, value in (("cmds", command), ("arguments", args)):
        if value is not None and not isinstance(value, (list, tuple)):
            found.append(diag("A2K306", f"{key} could not be read statically: {_shown(value)}", **where))
    ident = python_identifier(task.task_id)
    component, arguments = container_component(
        key=f"POD_{ident.upper()}",
        name=f"pod-{ident}",
        description=f"Airflow task {task.task_id!r}: KubernetesPodOperator running {image}.",
        image=image,
        command=list(command) if isinstance(command, (list, tuple)) else None,
        args=list(args) if isinstance(args, (list, tuple)) else None,
    )
    calls = _pod_calls(task, templated, found, where)
    if task.args.get("do_xcom_push") is True:  # the container writes its XCom where the sidecar reads it
        container = component.spec["implementation"]["container"]  # type: ignore[index]
        container["fileOutputs"] = {"Output": XCOM_FILE}
        component.spec["outputs"] = [{"name": "Output", "type": "String"}]  # type: ignore[index]
        calls += [
            "add_volume(k8s.V1Volume(name='airflow-xcom', empty_dir=k8s.V1EmptyDirVolumeSource()))",
            f"add_volume_mount(k8s.V1VolumeMount(name='airflow-xcom', mount_path={XCOM_FOLDER!r}))",
        ]
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


def _xcom_texts(value: Any, task: Task, context: MappingContext, found: list[Diagnostic]) -> Any:
    """An XComArg among the arguments as its value's text: Airflow passes the value, a pod takes text."""
    if not isinstance(value, (list, tuple)):
        return value
    items = []
    for item in value:
        if isinstance(item, XComRef):
            text = xcom.text_of(context.dag, task, item.task_id, item.key, found)
            if text is None:
                found.append(
                    diag(
                        "A2K311",
                        f"the XCom of {item.task_id} is passed as its JSON text, where Airflow "
                        "passes the value",
                        **task_location(task),
                    )
                )
                text = item
            item = text
        items.append(item)
    return items


def _shown(value: Any) -> str:
    return value.source if isinstance(value, Unresolved) else repr(value)


def _pod_calls(task: Task, templated: Any, found: list[Diagnostic], where: dict[str, Any]) -> list[str]:
    calls: list[str] = []

    def objects(key: str, method: str) -> None:
        value = task.args.get(key)
        if value in (None, [], ()):
            return
        sources = k8s_objects(value)
        if sources is None:
            found.append(diag("A2K306", f"{key} could not be read statically: {_shown(value)}", **where))
            return
        calls.extend(f"{method}({source})" for source in sources)

    env = templated("env_vars")
    if isinstance(env, dict):
        calls += env_calls(env)
    else:
        objects("env_vars", "add_env_variable")
    for config_map in literal(task.args.get("configmaps")) or []:
        calls.append(
            f"add_env_from(k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name={config_map!r})))"
        )
    calls += _resources(task, found, where)
    for key, method in (
        ("labels", "add_pod_label"),
        ("annotations", "add_pod_annotation"),
        ("node_selector", "add_node_selector_constraint"),
        ("node_selectors", "add_node_selector_constraint"),
    ):
        value = templated(key)
        if isinstance(value, dict):
            calls += [f"{method}({str(k)!r}, {value_source(v)})" for k, v in value.items()]
        elif value is not None:
            found.append(diag("A2K306", f"{key} could not be read statically: {_shown(value)}", **where))
    objects("tolerations", "add_toleration")
    affinity = task.args.get("affinity")
    if isinstance(affinity, Unresolved):
        objects("affinity", "add_affinity")
    elif affinity:  # the dict form: not rebuilt as client objects
        found.append(
            diag(
                "A2K306", "affinity given as a dict is not carried; write it as k8s.V1Affinity(...)", **where
            )
        )
    policy = task.args.get("image_pull_policy")
    if isinstance(policy, str):
        calls.append(f"set_image_pull_policy({policy!r})")
    objects("volumes", "add_volume")
    objects("volume_mounts", "add_volume_mount")
    security = task.args.get("container_security_context")
    if isinstance(security, Unresolved):
        objects("container_security_context", "set_security_context")
    secrets = _secret_calls(task.args.get("secrets"))
    calls += secrets or []
    for key in sorted(PER_RUN):
        if key == "secrets" and secrets is not None:
            continue
        if task.args.get(key) not in (None, "", [], (), "default"):
            found.append(diag("A2K303", f"{key}: {PER_RUN[key]}", **where))
    return calls


_SECRET_FIELDS = ("deploy_type", "deploy_target", "secret", "key", "items")


def _secret_calls(value: Any) -> list[str] | None:
    """Airflow `Secret(...)` objects as the pod settings Airflow makes of them (Secret.attach_to_pod):
    a key as an env var from the secret, a whole secret as env vars, or a volume mounted read-only.
    None when one of them cannot be read."""
    items = value if isinstance(value, (list, tuple)) else [value]
    calls: list[str] = []
    for index, item in enumerate(items):
        fields = _secret_fields(item)
        if fields is None:
            return None
        kind, target, secret, key = (fields.get(name) for name in _SECRET_FIELDS[:4])
        if not isinstance(secret, str) or not all(v is None or isinstance(v, str) for v in (target, key)):
            return None
        if kind == "env" and key is not None and target:
            calls.append(
                f"add_env_variable(k8s.V1EnvVar(name={target.upper()!r}, value_from=k8s.V1EnvVarSource("
                f"secret_key_ref=k8s.V1SecretKeySelector(name={secret!r}, key={key!r}))))"
            )
        elif kind == "env" and key is None:
            calls.append(
                f"add_env_from(k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name={secret!r})))"
            )
        elif kind == "volume" and target:
            # Airflow names the volume secretvol<uuid4>: a stable name here, one per secret
            name = f"secretvol-{re.sub(r'[^a-z0-9-]+', '-', secret.lower()).strip('-')[:40]}-{index}"
            extra = f", items={fields['items']}" if fields.get("items") else ""
            calls.append(
                f"add_volume(k8s.V1Volume(name={name!r}, secret=k8s.V1SecretVolumeSource("
                f"secret_name={secret!r}{extra})))"
            )
            calls.append(
                f"add_volume_mount(k8s.V1VolumeMount(mount_path={target!r}, name={name!r}, read_only=True))"
            )
        else:
            return None
    return calls


def _secret_fields(value: Any) -> dict[str, Any] | None:
    """The arguments of `Secret(...)` source text (literals; `items` as k8s calls), else None."""
    import ast

    if not isinstance(value, Unresolved):
        return None
    try:
        call = ast.parse(value.source.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    if not isinstance(call, ast.Call):
        return None
    func = call.func
    if (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")) != "Secret":
        return None
    pairs = list(zip(_SECRET_FIELDS, call.args))
    if len(call.args) > len(_SECRET_FIELDS) or any(isinstance(a, ast.Starred) for a in call.args):
        return None
    pairs += [(k.arg, k.value) for k in call.keywords if k.arg is not None]
    if len(pairs) != len(call.args) + len(call.keywords):
        return None
    fields: dict[str, Any] = {}
    for name, node in pairs:
        if name == "items":  # a list of k8s.V1KeyToPath(...)
            if not isinstance(node, (ast.List, ast.Tuple)):
                return None
            sources = [k8s_source(ast.get_source_segment(value.source.strip(), e) or "") for e in node.elts]
            if None in sources:
                return None
            fields[name] = f"[{', '.join(str(source) for source in sources)}]" if sources else None
            continue
        try:
            fields[name] = ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return None
    return fields


def _resources(task: Task, found: list[Diagnostic], where: dict[str, Any]) -> list[str]:
    """`container_resources=k8s.V1ResourceRequirements(...)` or the old `resources={...}` dict."""
    calls: list[str] = []
    old = literal(task.args.get("resources"))
    if isinstance(old, dict):
        for key, value in old.items():
            if key in OLD_RESOURCES and value is not None:
                calls.append(f"{OLD_RESOURCES[key]}({str(value)!r})")
    requirements = task.args.get("container_resources") or (
        task.args.get("resources")
        if isinstance(task.args.get("resources"), Unresolved) and old is None
        else None
    )
    if requirements is None:
        return calls
    parsed = _requirements(requirements)
    if parsed is None:
        found.append(
            diag(
                "A2K306", f"container_resources could not be read statically: {_shown(requirements)}", **where
            )
        )
        return calls
    for kind, amounts in parsed.items():
        for resource, amount in amounts.items():
            if resource in ("cpu", "memory", "ephemeral-storage"):
                setter = f"set_{resource.replace('-', '_')}_{'limit' if kind == 'limits' else 'request'}"
                calls.append(f"{setter}({str(amount)!r})")
            else:  # GPUs and other extended resources, e.g. nvidia.com/gpu
                method = "add_resource_limit" if kind == "limits" else "add_resource_request"
                calls.append(f"{method}({resource!r}, {str(amount)!r})")
    return calls


def _requirements(value: Any) -> dict[str, dict[str, Any]] | None:
    """`V1ResourceRequirements(limits={...}, requests={...})` read from its source."""
    import libcst as cst

    if not isinstance(value, Unresolved):
        return None
    try:
        call = cst.parse_expression(value.source)
    except cst.ParserSyntaxError:
        return None
    if not isinstance(call, cst.Call):
        return None
    found: dict[str, dict[str, Any]] = {}
    for arg in call.args:
        if arg.keyword is None or arg.keyword.value not in ("limits", "requests"):
            continue
        amounts = literal(Unresolved(cst.Module([]).code_for_node(arg.value)))
        if not isinstance(amounts, dict):
            return None
        found[arg.keyword.value] = amounts
    return found


FAMILY = OperatorFamily(
    name="kubernetes",
    description="KubernetesPodOperator (all import paths): a step running the same image, command and "
    "pod settings.",
    operators=frozenset({"KubernetesPodOperator"}),
    map_task=map_kubernetes,
    subclasses=True,
)
