"""Upload converted pipelines to a KFP cluster and create their recurring runs (kfp 1.8.22's kfp.Client).

    python scripts/upload_to_kfp.py converted/ --host http://localhost:8080 --experiment airflow
    python scripts/upload_to_kfp.py converted/pipelines/etl.yaml --host ... --dry-run

PATH is the converter's output folder (every converted DAG listed in its conversion.json) or one
compiled `pipelines/<stem>.yaml`. Each pipeline is uploaded under its DAG id (a new version when a
pipeline of that name exists, named after the YAML's content hash, so uploading twice is
harmless); when `<stem>.recurring.json` is next to it, a recurring run is created in the
experiment from it, its keys passed to `create_recurring_run` as they are. `--dry-run` prints the
calls without contacting a cluster. Exit codes: 0 done, 1 a call failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Upload:
    """One pipeline to upload, and the recurring run to create for it (None: the DAG has no schedule)."""

    name: str
    package: Path
    recurring: dict[str, Any] | None = None
    description: str | None = None


@dataclass(frozen=True)
class Call:
    method: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.method}({', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())})"


def _recurring(package: Path) -> dict[str, Any] | None:
    path = package.with_name(package.name.removesuffix(".yaml") + ".recurring.json")
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def find_uploads(path: Path) -> list[Upload]:
    """The pipelines under PATH: an output folder (via conversion.json) or one compiled YAML."""
    if path.is_file():
        recurring = _recurring(path)
        return [Upload((recurring or {}).get("name") or path.stem, path, recurring)]
    document = json.loads((path / "conversion.json").read_text(encoding="utf-8"))
    uploads = []
    for dag in document["dags"]:
        if dag.get("status") != "converted" or not dag.get("yaml"):
            continue
        package = path / dag["yaml"]
        recurring = json.loads((path / dag["recurring_run"]).read_text(encoding="utf-8")) \
            if dag.get("recurring_run") else None
        uploads.append(Upload(dag["dag_id"], package, recurring, (recurring or {}).get("description")))
    return uploads


def version_name(upload: Upload) -> str:
    return f"{upload.name}-{hashlib.sha256(upload.package.read_bytes()).hexdigest()[:12]}"


def recurring_kwargs(recurring: dict[str, Any], experiment_id: str, pipeline_id: str,
                     version_id: str | None) -> dict[str, Any]:
    """The recurring-run JSON as `create_recurring_run` arguments."""
    trigger = recurring["trigger"]
    schedule = trigger.get("cron_schedule") or trigger["periodic_schedule"]
    return {
        "experiment_id": experiment_id,
        "job_name": recurring["name"],
        "description": recurring.get("description"),
        "start_time": schedule.get("start_time"),
        "end_time": schedule.get("end_time"),
        "interval_second": schedule.get("interval_second"),
        "cron_expression": schedule.get("cron"),
        "max_concurrency": recurring["max_concurrency"],
        "no_catchup": recurring["no_catchup"],
        "params": recurring.get("parameters") or {},
        "pipeline_id": pipeline_id,
        "version_id": version_id,
        "enabled": recurring.get("enabled", True),
    }


def run(uploads: Sequence[Upload], client: Any, experiment: str, namespace: str | None,
        log: Callable[[str], None]) -> None:
    """Upload each pipeline and create its recurring run with `client` (a kfp.Client, or a recorder)."""
    experiment_id: str | None = None
    for upload in uploads:
        existing = client.get_pipeline_id(upload.name)
        if existing:
            version = client.upload_pipeline_version(
                pipeline_package_path=str(upload.package), pipeline_version_name=version_name(upload),
                pipeline_id=existing)
            pipeline_id, version_id = existing, version.id
        else:
            pipeline = client.upload_pipeline(pipeline_package_path=str(upload.package),
                                              pipeline_name=upload.name, description=upload.description)
            pipeline_id, version_id = pipeline.id, None  # a new pipeline's default version
        log(f"{upload.name}: pipeline {pipeline_id}" + (f", version {version_id}" if version_id else ""))
        if upload.recurring is None:
            continue
        if experiment_id is None:
            experiment_id = client.create_experiment(name=experiment, namespace=namespace).id
        kwargs = recurring_kwargs(upload.recurring, experiment_id, pipeline_id, version_id)
        job = client.create_recurring_run(**kwargs)
        log(f"{upload.name}: recurring run {job.id}")


class DryRun:
    """Stands in for kfp.Client: records and prints each call, answers with placeholder ids."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.calls: list[Call] = []
        self._log = log

    def _record(self, method: str, kwargs: dict[str, Any], answer: Any = None) -> Any:
        self.calls.append(Call(method, kwargs))
        self._log(f"would call {Call(method, kwargs)}")
        return answer

    def get_pipeline_id(self, name: str) -> None:
        return self._record("get_pipeline_id", {"name": name})  # as if the cluster had none yet

    def upload_pipeline(self, **kwargs: Any) -> Any:
        return self._record("upload_pipeline", kwargs, _Ids(f"<pipeline {kwargs['pipeline_name']}>"))

    def upload_pipeline_version(self, **kwargs: Any) -> Any:
        answer = _Ids(f"<version {kwargs['pipeline_version_name']}>")
        return self._record("upload_pipeline_version", kwargs, answer)

    def create_experiment(self, **kwargs: Any) -> Any:
        return self._record("create_experiment", kwargs, _Ids(f"<experiment {kwargs['name']}>"))

    def create_recurring_run(self, **kwargs: Any) -> Any:
        return self._record("create_recurring_run", kwargs, _Ids(f"<recurring run {kwargs['job_name']}>"))


@dataclass(frozen=True)
class _Ids:
    id: str


def kfp_client(host: str | None, namespace: str | None) -> Any:
    import kfp  # only for real uploads: --dry-run needs no kfp

    return kfp.Client(host=host, namespace=namespace or "kubeflow")


def main(argv: Sequence[str] | None = None, client_factory: Callable[..., Any] = kfp_client) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="the converter's output folder, or one pipelines/<stem>.yaml")
    parser.add_argument("--host", help="the KFP API endpoint, e.g. http://localhost:8080 (kfp.Client's host)")
    parser.add_argument("--experiment", default="airflow2kfp", help="experiment of the recurring runs")
    parser.add_argument("--namespace", help="Kubernetes namespace (multi-user KFP)")
    parser.add_argument("--dry-run", action="store_true", help="print the calls, contact no cluster")
    args = parser.parse_args(argv)
    try:
        uploads = find_uploads(args.path)
    except (OSError, ValueError, KeyError) as error:
        print(f"error: cannot read {args.path}: {error}", file=sys.stderr)
        return 2
    client = DryRun(print) if args.dry_run else client_factory(args.host, args.namespace)
    try:
        run(uploads, client, args.experiment, args.namespace, print)
    except Exception as error:  # the API's errors (kfp_server_api.ApiException, ...): say which and stop
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
