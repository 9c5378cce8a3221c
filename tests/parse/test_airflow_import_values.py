"""What the import knows, turned into the static reader's model values (pure, no Airflow needed):
Kubernetes objects and Secrets as their constructor calls, the import-time clock, the sandbox's
folders, operator classes and their hierarchy."""

from __future__ import annotations

from typing import Any

from airflow2kfp.mapping import family_for, map_task
from airflow2kfp.mapping.base import MappingContext, MappingOptions
from airflow2kfp.mapping.container import k8s_objects
from airflow2kfp.mapping.docker import FAMILY as DOCKER
from airflow2kfp.mapping.kubernetes import FAMILY as PODS
from airflow2kfp.model import Dag, SourceSpan, Task, TaskArgs, Unresolved
from airflow2kfp.parse.airflow_import import decode_value, parsed_file_from_probe

TOLERATION = {
    "__object__": "V1Toleration",
    "module": "kubernetes.client.models",
    "kwargs": {"effect": "NoSchedule", "key": "gpu", "operator": "Exists"},
}
VOLUME = {
    "__object__": "V1Volume",
    "module": "kubernetes.client.models",
    "kwargs": {
        "name": "data",
        "persistent_volume_claim": {
            "__object__": "V1PersistentVolumeClaimVolumeSource",
            "module": "kubernetes.client.models",
            "kwargs": {"claim_name": "data"},
        },
    },
}


def answer(task: dict[str, Any], **extra: Any) -> dict[str, Any]:
    dag = {
        "dag_id": "etl",
        "line": 5,
        "start_date": "2024-01-01T00:00:00+00:00",
        "default_args": {},
        "tasks": [
            {
                "task_id": "t",
                "operator": "KubernetesPodOperator",
                "line": 7,
                "args": {},
                "explicit": [],
                "operator_module": "airflow.providers.cncf.kubernetes.operators.pod",
                "is_mapped": False,
                "mapped_args": {},
                "is_setup": False,
                "is_teardown": False,
                **task,
            }
        ],
        "edges": [],
        "edge_labels": [],
        "task_groups": {},
    }
    return {
        "path": "/abs/dags/etl.py",
        "status": "ok",
        "skipped": False,
        "import_errors": [],
        "dags": [dag],
        **extra,
    }


def test_kubernetes_objects_decode_to_the_calls_static_reading_reads() -> None:
    assert decode_value(TOLERATION) == Unresolved(
        "k8s.V1Toleration(effect='NoSchedule', key='gpu', operator='Exists')"
    )
    (volume,) = k8s_objects([decode_value(VOLUME)])
    assert volume == (
        "k8s.V1Volume(name='data', persistent_volume_claim="
        "k8s.V1PersistentVolumeClaimVolumeSource(claim_name='data'))"
    )
    secret = {
        "__object__": "Secret",
        "module": "airflow.providers.cncf.kubernetes.secret",
        "kwargs": {"deploy_type": "env", "deploy_target": "SQL_CONN", "secret": "db", "key": "url"},
    }
    assert decode_value(secret) == Unresolved(
        "Secret(deploy_type='env', deploy_target='SQL_CONN', secret='db', key='url')"
    )


def test_a_class_name_that_is_no_identifier_is_not_written_as_a_call() -> None:
    forged = {"__object__": "V1X(); import os", "module": "kubernetes.client.models", "kwargs": {}}
    assert "import os" not in (k8s_objects([decode_value(forged)]) or [""])[0]


def test_a_pod_read_by_the_import_gets_its_settings() -> None:
    parsed = parsed_file_from_probe(
        answer(
            {
                "args": {
                    "image": "busybox",
                    "tolerations": [TOLERATION],
                    "volumes": [VOLUME],
                    "container_resources": {
                        "__object__": "V1ResourceRequirements",
                        "module": "kubernetes.client.models",
                        "kwargs": {"requests": {"cpu": "1"}, "limits": {"memory": "2Gi"}},
                    },
                }
            }
        ),
        "etl.py",
    )
    (dag,) = parsed.dags
    calls = map_task(dag.task("t"), MappingContext(dag, MappingOptions())).task_calls
    assert "set_cpu_request('1')" in calls and "set_memory_limit('2Gi')" in calls
    assert "add_toleration(k8s.V1Toleration(effect='NoSchedule', key='gpu', operator='Exists'))" in calls
    assert any(call.startswith("add_volume(k8s.V1Volume(name='data'") for call in calls)


def test_clock_reads_are_reported_and_dates_computed_from_them_dropped() -> None:
    read = answer(
        {"args": {"image": "busybox", "start_date": "2023-11-13T00:00:00+00:00"}},
        clock={"epoch": "2023-11-14T22:13:20+00:00", "reads": [3, 9]},
    )
    read["dags"][0].update(
        start_date="2023-11-14T22:13:20+00:00",
        end_date="2030-01-01T00:00:00+00:00",
        default_args={"start_date": "2023-11-13T00:00:00+00:00", "retries": 1},
    )
    parsed = parsed_file_from_probe(read, "etl.py")
    (dag,) = parsed.dags
    (note,) = parsed.diagnostics
    assert note.code == "A2K607" and note.line == 3 and "line 3, 9" in note.message
    assert isinstance(dag.settings["start_date"], Unresolved)
    assert dag.settings["end_date"] == "2030-01-01T00:00:00+00:00"  # written as a date: kept
    assert isinstance(dag.settings["default_args"]["start_date"], Unresolved)
    assert dag.settings["default_args"]["retries"] == 1
    assert isinstance(dag.task("t").args.get("start_date"), Unresolved)


def test_no_clock_read_no_change() -> None:
    parsed = parsed_file_from_probe(
        answer({}, clock={"epoch": "1970-01-01T00:00:00+00:00", "reads": []}), "etl.py"
    )
    assert parsed.diagnostics == () and parsed.dags[0].settings["start_date"] == "2024-01-01T00:00:00+00:00"


def test_values_under_the_sandbox_folders_are_mapped_back() -> None:
    root = "/tmp/airflow2kfp-x1y2"
    folders = {"cwd": f"{root}/cwd", "tmp": f"{root}/tmp", "home": f"{root}/airflow_home", "root": root}
    parsed = parsed_file_from_probe(
        answer(
            {
                "args": {
                    "image": "busybox",
                    "arguments": [
                        f"--sql={root}/cwd/sql/q.sql",
                        f"{root}/tmp/scratch",
                        f"{root}/airflow_home/data",
                        f"{root}/dags",
                        "/data/kept",
                        f"{root}/cwd-other",
                    ],
                }
            },
            sandbox_folders=folders,
        ),
        "etl.py",
    )
    (dag,) = parsed.dags
    assert dag.task("t").args.get("arguments") == [
        "--sql=sql/q.sql",
        "/tmp/scratch",
        "$AIRFLOW_HOME/data",
        "/airflow2kfp/dags",
        "/data/kept",
        "/airflow2kfp/cwd-other",
    ]
    assert [d.code for d in parsed.diagnostics] == ["A2K608"]
    assert "working folder" in parsed.diagnostics[0].message


def pod_task(
    operator: str, module: str, bases: tuple[str, ...] = (), mro: tuple[str, ...] = (), **args: Any
) -> Task:
    return Task(
        "t",
        operator,
        module,
        SourceSpan("dag.py", 3),
        TaskArgs(args, frozenset(args)),
        operator_bases=bases,
        operator_mro=mro,
    )


KPO = "airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator"


def test_subclasses_of_pod_operators_map_through_their_family() -> None:
    gke = pod_task(
        "GKEStartPodOperator",
        "airflow.providers.google.cloud.operators.kubernetes_engine",
        mro=(KPO, "airflow.models.baseoperator.BaseOperator"),
        image="busybox",
        cmds=["true"],
        project_id="p",
        cluster_name="c",
    )
    wrapper = pod_task(
        "TeamPodOperator",
        "",
        ("airflow.providers.docker.operators.docker.DockerOperator",),
        image="busybox",
        command="true",
    )
    assert family_for(gke) is PODS and family_for(wrapper) is DOCKER
    dag = Dag("d", SourceSpan("dag.py", 1), (gke,), ())
    mapping = map_task(gke, MappingContext(dag, MappingOptions()))
    assert (
        mapping.component is not None
        and mapping.component.spec["implementation"]["container"]["image"] == "busybox"
    )
    (note,) = [d for d in mapping.diagnostics if "extends KubernetesPodOperator" in d.message]
    assert note.code == "A2K303"


def test_a_class_not_from_airflow_is_not_a_pod_by_its_name() -> None:
    own = pod_task("PodRunner", "team.operators", ("team.base.KubernetesPodOperator",), image="busybox")
    assert family_for(own) is None


def test_an_operator_defined_in_the_dag_file_has_its_real_module() -> None:
    parsed = parsed_file_from_probe(
        answer(
            {
                "operator": "GreetOperator",
                "operator_module": "my_dag",
                "operator_in_dag_file": True,
                "operator_mro": ["airflow.models.baseoperator.BaseOperator"],
            }
        ),
        "etl.py",
    )
    task = parsed.dags[0].task("t")
    assert task.qualified_operator == "my_dag.GreetOperator" and task.operator_in_dag_file
    mapping = map_task(task, MappingContext(parsed.dags[0], MappingOptions()))
    assert mapping.component is not None and mapping.diagnostics[0].code == "A2K301"
    assert "defined in the DAG file itself" in mapping.diagnostics[0].message


def test_airflow_secrets_become_the_pod_settings_airflow_makes_of_them() -> None:
    t = pod_task(
        "KubernetesPodOperator",
        "airflow.providers.cncf.kubernetes.operators.pod",
        image="busybox",
        secrets=[
            Unresolved('Secret("env", "db_url", "db", "url")'),
            Unresolved("secret.Secret(deploy_type='env', deploy_target=None, secret='all-of-it')"),
            Unresolved("Secret('volume', '/etc/sa', 'gcp-sa', items=[k8s.V1KeyToPath(key='k', path='p')])"),
        ],
    )
    mapping = map_task(t, MappingContext(Dag("d", SourceSpan("dag.py", 1), (t,), ()), MappingOptions()))
    assert mapping.task_calls == (
        (
            "add_env_variable(k8s.V1EnvVar(name='DB_URL', value_from=k8s.V1EnvVarSource("
            "secret_key_ref=k8s.V1SecretKeySelector(name='db', key='url'))))"
        ),
        "add_env_from(k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name='all-of-it')))",
        (
            "add_volume(k8s.V1Volume(name='secretvol-gcp-sa-2', secret=k8s.V1SecretVolumeSource(secret_name='gcp-sa', "
            "items=[k8s.V1KeyToPath(key='k', path='p')])))"
        ),
        "add_volume_mount(k8s.V1VolumeMount(mount_path='/etc/sa', name='secretvol-gcp-sa-2', read_only=True))",
    )
    assert all("secrets" not in d.message for d in mapping.diagnostics)


def test_a_secret_that_cannot_be_read_is_reported() -> None:
    t = pod_task(
        "KubernetesPodOperator",
        "airflow.providers.cncf.kubernetes.operators.pod",
        image="busybox",
        secrets=[Unresolved("make_secret()")],
    )
    mapping = map_task(t, MappingContext(Dag("d", SourceSpan("dag.py", 1), (t,), ()), MappingOptions()))
    assert mapping.task_calls == () and any(
        d.code == "A2K303" and "secrets" in d.message for d in mapping.diagnostics
    )
