"""`airflow2kfp upload`: put converted pipelines on a KFP cluster, as often as you like.

Uploading is idempotent, so CI can run it on every merge:
- each pipeline is named after its DAG id; each version after the DAG id and the first 12 hex
  digits of the compiled YAML's SHA-256 (`etl-3f2a9c0d1b7e`). A version of that name is never
  uploaded twice. A new pipeline is uploaded, then its content is added as such a version, so the
  second upload of unchanged YAML finds it;
- each recurring run (the `.recurring.json` next to the YAML) lives in the experiment under its
  name. One that already asks for exactly this version, trigger and settings is left alone; any
  other of that name is deleted and created again (KFP v1 cannot update a recurring run), so there
  is never more than one;
- only DAGs whose conversion succeeded are uploaded: an output folder is read through its
  conversion.json, and a YAML file given directly must be listed there as converted.

Everything read from the output folder is checked before use (the folder may come from a pull
request): paths stay inside it, the recurring-run files have the shape `convert` writes.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow2kfp.outputs import PIPELINES_DIR, SUMMARY_FILE

VERSION_HASH_DIGITS = 12
PAGE_SIZE = 100
_NAME_EQUALS = 1  # filter.proto's Predicate.Op.EQUALS, as kfp.Client's own filters send it


class UploadError(Exception):
    """The output folder cannot be uploaded as it is (a usage error: nothing was sent)."""


@dataclass(frozen=True)
class Upload:
    """One converted DAG to upload, and its recurring run (None: the DAG has no schedule)."""

    name: str  # the DAG id: the pipeline's name
    package: Path
    digest: str  # SHA-256 of the compiled YAML
    recurring: Mapping[str, Any] | None = None
    description: str | None = None

    @property
    def version_name(self) -> str:
        return f"{self.name}-{self.digest[:VERSION_HASH_DIGITS]}"


@dataclass(frozen=True)
class Call:
    method: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.method}({', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())})"


# -- reading the output folder -------------------------------------------------------------------


def _inside(out_dir: Path, relative: object, what: str) -> Path:
    if not isinstance(relative, str) or not relative:
        raise UploadError(f"{SUMMARY_FILE}: {what} is not a path")
    path = (out_dir / relative).resolve()
    if not path.is_relative_to(out_dir.resolve()) or not path.is_file():
        raise UploadError(f"{SUMMARY_FILE}: {what} {relative!r} is not a file inside {out_dir}")
    return path


def _summary(out_dir: Path) -> list[Mapping[str, Any]]:
    try:
        document = json.loads((out_dir / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise UploadError(f"cannot read {out_dir / SUMMARY_FILE}: {error}") from None
    dags = document.get("dags") if isinstance(document, dict) else None
    if not isinstance(dags, list) or not all(isinstance(d, dict) for d in dags):
        raise UploadError(f"{out_dir / SUMMARY_FILE} is not a conversion.json written by airflow2kfp")
    return dags


def _recurring(path: Path) -> Mapping[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise UploadError(f"cannot read {path}: {error}") from None
    problem = _recurring_problem(value)
    if problem:
        raise UploadError(f"{path}: {problem}")
    return value


def _recurring_problem(value: Any) -> str | None:
    """Why `value` is not a recurring-run file as `convert` writes it (None: it is one)."""
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not value["name"]:
        return "not a recurring-run definition (no name)"
    trigger = value.get("trigger")
    if not isinstance(trigger, dict) or len(trigger) != 1:
        return "the trigger must be one cron_schedule or periodic_schedule"
    ((kind, schedule),) = trigger.items()
    if kind not in ("cron_schedule", "periodic_schedule") or not isinstance(schedule, dict):
        return "the trigger must be one cron_schedule or periodic_schedule"
    if kind == "cron_schedule" and not isinstance(schedule.get("cron"), str):
        return "a cron schedule needs a cron string"
    interval = schedule.get("interval_second")
    if kind == "periodic_schedule" and (
        not isinstance(interval, int) or isinstance(interval, bool) or interval <= 0
    ):
        return "a periodic schedule needs a positive interval_second"
    for key in ("start_time", "end_time"):
        if schedule.get(key) is not None and not isinstance(schedule[key], str):
            return f"{key} must be an RFC 3339 string"
    concurrency = value.get("max_concurrency")
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or not 1 <= concurrency <= 10:
        return "max_concurrency must be an integer from 1 to 10"
    if not isinstance(value.get("no_catchup"), bool) or not isinstance(value.get("enabled", True), bool):
        return "no_catchup and enabled must be booleans"
    parameters = value.get("parameters") or {}
    if not isinstance(parameters, dict) or not all(isinstance(v, str) for v in parameters.values()):
        return "parameters must map names to strings"
    if value.get("description") is not None and not isinstance(value["description"], str):
        return "description must be a string"
    return None


def _upload_of(out_dir: Path, dag: Mapping[str, Any]) -> Upload:
    package = _inside(out_dir, dag.get("yaml"), f"the YAML of {dag.get('dag_id')!r}")
    recurring = (
        _recurring(_inside(out_dir, dag["recurring_run"], "a recurring run"))
        if dag.get("recurring_run")
        else None
    )
    description = recurring.get("description") if recurring else None
    return Upload(
        str(dag["dag_id"]), package, hashlib.sha256(package.read_bytes()).hexdigest(), recurring, description
    )


def find_uploads(path: Path) -> tuple[list[Upload], list[str]]:
    """The converted DAGs under PATH (an output folder, or one compiled `pipelines/<stem>.yaml` in
    one), and the DAG ids left out because their conversion failed."""
    if path.is_file():
        out_dir = path.parent.parent if path.parent.name == PIPELINES_DIR else path.parent
        if not (out_dir / SUMMARY_FILE).is_file():
            raise UploadError(
                f"{path} is not in an output folder of airflow2kfp (no {SUMMARY_FILE} next to "
                f"{PIPELINES_DIR}/): cannot tell whether its conversion succeeded"
            )
        wanted = path.resolve()
        entries = [
            d
            for d in _summary(out_dir)
            if isinstance(d.get("yaml"), str) and (out_dir / d["yaml"]).resolve() == wanted
        ]
        if not entries:
            raise UploadError(f"{path} is not listed in {out_dir / SUMMARY_FILE}")
    else:
        out_dir, entries = path, _summary(path)
    uploads, refused = [], []
    for dag in entries:
        if dag.get("status") == "converted" and dag.get("yaml"):
            uploads.append(_upload_of(out_dir, dag))
        else:
            refused.append(str(dag.get("dag_id")))
    return uploads, refused


# -- talking to KFP ------------------------------------------------------------------------------


def _name_filter(name: str) -> str:
    return json.dumps({"predicates": [{"op": _NAME_EQUALS, "key": "name", "stringValue": name}]})


def _pages(list_page: Callable[[str], Any], items: str) -> Iterator[Any]:
    token = ""
    while True:
        response = list_page(token)
        yield from getattr(response, items, None) or ()
        token = getattr(response, "next_page_token", None) or ""
        if not token:
            return


def recurring_kwargs(
    recurring: Mapping[str, Any], experiment_id: str, pipeline_id: str, version_id: str
) -> dict[str, Any]:
    """The recurring-run file as `kfp.Client.create_recurring_run` arguments."""
    ((kind, schedule),) = recurring["trigger"].items()
    return {
        "experiment_id": experiment_id,
        "job_name": recurring["name"],
        "description": recurring.get("description"),
        "start_time": schedule.get("start_time"),
        "end_time": schedule.get("end_time"),
        "interval_second": schedule.get("interval_second") if kind == "periodic_schedule" else None,
        "cron_expression": schedule.get("cron") if kind == "cron_schedule" else None,
        "max_concurrency": recurring["max_concurrency"],
        "no_catchup": recurring["no_catchup"],
        "params": dict(recurring.get("parameters") or {}),
        "pipeline_id": pipeline_id,
        "version_id": version_id,
        "enabled": recurring.get("enabled", True),
    }


def _same_job(job: Any, wanted: Mapping[str, Any]) -> bool:
    """Whether an existing recurring run already asks for what `wanted` (create_recurring_run's
    arguments) would create."""
    references = {
        (getattr(r.key, "type", None), getattr(r.key, "id", None)) for r in job.resource_references or ()
    }
    trigger = job.trigger
    schedule = (
        (trigger.cron_schedule if wanted["cron_expression"] is not None else trigger.periodic_schedule)
        if trigger
        else None
    )
    if schedule is None:
        return False
    moment = (
        getattr(schedule, "cron", None)
        if wanted["cron_expression"] is not None
        else getattr(schedule, "interval_second", None)
    )
    parameters = {p.name: p.value for p in (job.pipeline_spec.parameters or ())} if job.pipeline_spec else {}
    return (
        ("PIPELINE_VERSION", wanted["version_id"]) in references
        and moment == (wanted["cron_expression"] or _int(wanted["interval_second"]))
        and _rfc3339(getattr(schedule, "start_time", None)) == _rfc3339(wanted["start_time"])
        and _rfc3339(getattr(schedule, "end_time", None)) == _rfc3339(wanted["end_time"])
        and _int(job.max_concurrency) == wanted["max_concurrency"]
        and bool(job.no_catchup) == wanted["no_catchup"]
        and bool(job.enabled) == wanted["enabled"]
        and (job.description or None) == (wanted["description"] or None)
        and parameters == {k: str(v) for k, v in wanted["params"].items()}
    )


def _int(value: Any) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) else None


def _rfc3339(value: Any) -> str | None:
    """A time as the API may echo it (a datetime or a string), as comparable text."""
    if value is None:
        return None
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text.replace("+00:00", "Z")


@dataclass
class Uploader:
    """Uploads with `client` (a kfp.Client, or DryRun) and says what it did through `log`."""

    client: Any
    experiment: str
    namespace: str | None
    log: Callable[[str], None]
    _experiment_id: str | None = None

    def upload(self, upload: Upload) -> None:
        pipeline_id = self.client.get_pipeline_id(upload.name)
        if pipeline_id is None:
            pipeline = self.client.upload_pipeline(
                pipeline_package_path=str(upload.package),
                pipeline_name=upload.name,
                description=upload.description,
            )
            pipeline_id = pipeline.id
            self.log(f"{upload.name}: pipeline created ({pipeline_id})")
        version_id = self._version(upload, pipeline_id)
        if upload.recurring is not None:
            self._recurring(upload, pipeline_id, version_id)

    def _version(self, upload: Upload, pipeline_id: str) -> str:
        versions = _pages(
            lambda token: self.client.list_pipeline_versions(
                pipeline_id, page_token=token, page_size=PAGE_SIZE
            ),
            "versions",
        )
        found = next((v.id for v in versions if v.name == upload.version_name), None)
        if found is not None:
            self.log(f"{upload.name}: version {upload.version_name} is there already")
            return str(found)
        version = self.client.upload_pipeline_version(
            pipeline_package_path=str(upload.package),
            pipeline_version_name=upload.version_name,
            pipeline_id=pipeline_id,
        )
        self.log(f"{upload.name}: version {upload.version_name} uploaded ({version.id})")
        return str(version.id)

    def _recurring(self, upload: Upload, pipeline_id: str, version_id: str) -> None:
        assert upload.recurring is not None
        experiment_id = self._experiment()
        wanted = recurring_kwargs(upload.recurring, experiment_id, pipeline_id, version_id)
        existing = list(
            _pages(
                lambda token: self.client.list_recurring_runs(
                    page_token=token,
                    page_size=PAGE_SIZE,
                    experiment_id=experiment_id,
                    filter=_name_filter(wanted["job_name"]),
                ),
                "jobs",
            )
        )
        existing = [job for job in existing if job.name == wanted["job_name"]]  # whatever the server filtered
        if len(existing) == 1 and _same_job(existing[0], wanted):
            self.log(f"{upload.name}: recurring run {wanted['job_name']} is up to date")
            return
        for job in existing:  # KFP v1 cannot update a recurring run: replace it
            self.client.delete_job(job.id)
        job = self.client.create_recurring_run(**wanted)
        verb = "replaced" if existing else "created"
        self.log(f"{upload.name}: recurring run {wanted['job_name']} {verb} ({job.id})")

    def _experiment(self) -> str:
        if self._experiment_id is None:
            self._experiment_id = str(
                self.client.create_experiment(name=self.experiment, namespace=self.namespace).id
            )
        return self._experiment_id


@dataclass(frozen=True)
class _Answer:
    id: str
    name: str = ""


@dataclass(frozen=True)
class _Listing:
    versions: tuple[Any, ...] = ()
    jobs: tuple[Any, ...] = ()
    next_page_token: str = ""


class DryRun:
    """Stands in for kfp.Client: prints each call it would make, answers as an empty cluster would."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.calls: list[Call] = []
        self._log = log

    def _record(self, method: str, kwargs: Mapping[str, Any], answer: Any = None) -> Any:
        call = Call(method, dict(kwargs))
        self.calls.append(call)
        self._log(f"would call {call}")
        return answer

    def get_pipeline_id(self, name: str) -> None:
        return self._record("get_pipeline_id", {"name": name})

    def upload_pipeline(self, **kwargs: Any) -> _Answer:
        return self._record("upload_pipeline", kwargs, _Answer(f"<pipeline {kwargs['pipeline_name']}>"))

    def list_pipeline_versions(self, pipeline_id: str, **kwargs: Any) -> _Listing:
        return _Listing()  # a read: not printed

    def upload_pipeline_version(self, **kwargs: Any) -> _Answer:
        return self._record(
            "upload_pipeline_version", kwargs, _Answer(f"<version {kwargs['pipeline_version_name']}>")
        )

    def create_experiment(self, **kwargs: Any) -> _Answer:
        return self._record("create_experiment", kwargs, _Answer(f"<experiment {kwargs['name']}>"))

    def list_recurring_runs(self, **kwargs: Any) -> _Listing:
        return _Listing()

    def delete_job(self, job_id: str) -> None:
        self._record("delete_job", {"job_id": job_id})

    def create_recurring_run(self, **kwargs: Any) -> _Answer:
        return self._record("create_recurring_run", kwargs, _Answer(f"<recurring run {kwargs['job_name']}>"))


def kfp_client(host: str, namespace: str | None) -> Any:
    import kfp  # only for real uploads

    return kfp.Client(host=host, namespace=namespace or "kubeflow")
