"""A small KFP v1 API server (`/apis/v1beta1/...`) on localhost, enough of it for kfp.Client's calls
that `airflow2kfp upload` makes, so tests run the real client over real HTTP, not mocks of it.

It keeps what the real server keeps for these calls (pipelines, their versions, experiments,
jobs), answers in the API's JSON (int64 fields as strings, as grpc-gateway writes them), applies
name filters (filter.proto's EQUALS on `name`) and resource-reference keys, paginates, and refuses
what the real server refuses here (a pipeline or version name taken twice, unknown ids).
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

API = "/apis/v1beta1"
NOW = "2024-01-01T00:00:00Z"


@dataclass
class State:
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> version (with its package)
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of every call
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def new_id(self, kind: str) -> str:
        return f"{kind}-{next(self.ids)}"

    def changes(self) -> list[tuple[str, str]]:
        """The calls that changed something (everything but reads)."""
        return [(m, p) for m, p in self.requests if m != "GET"]


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _matches(item: dict[str, Any], query: dict[str, list[str]]) -> bool:
    raw = query.get("filter", [""])[0]
    if not raw:
        return True
    for predicate in json.loads(raw).get("predicates", []):
        if predicate.get("op") not in (1, "EQUALS"):
            raise ApiError(400, f"unsupported filter op {predicate.get('op')!r}")
        if item.get(predicate["key"]) != predicate.get("stringValue"):
            return False
    return True


def _page(items: list[dict[str, Any]], query: dict[str, list[str]], key: str) -> dict[str, Any]:
    size = int(query.get("page_size", ["10"])[0] or 10)
    start = int(query.get("page_token", ["0"])[0] or 0)
    chosen = items[start : start + size]
    answer: dict[str, Any] = {"total_size": len(items)}
    if chosen:
        answer[key] = chosen
    if start + size < len(items):
        answer["next_page_token"] = str(start + size)
    return answer


def _public(version: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in version.items() if k != "package"}


class Handler(BaseHTTPRequestHandler):
    state: State  # set on the subclass each server makes

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, method: str) -> None:
        url = urlparse(self.path)
        self.state.requests.append((method, url.path))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            answer = self._route(method, url.path, parse_qs(url.query), body)
        except ApiError as error:
            self._answer(error.status, {"error": str(error), "code": error.status, "message": str(error)})
            return
        self._answer(200, answer)

    do_GET = lambda self: self._dispatch("GET")  # noqa: E731
    do_POST = lambda self: self._dispatch("POST")  # noqa: E731
    do_DELETE = lambda self: self._dispatch("DELETE")  # noqa: E731

    def _upload(self, body: bytes) -> tuple[bytes, str]:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + body
        )
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "uploadfile":
                return part.get_payload(decode=True), part.get_filename() or ""
        raise ApiError(400, "no uploadfile in the request")

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> dict[str, Any]:
        state = self.state
        one = lambda name: query.get(name, [None])[0]  # noqa: E731
        if (method, path) == ("GET", f"{API}/healthz"):
            return {"multi_user": False, "commit_sha": "fake", "tag_name": "1.8.22"}
        if (method, path) == ("GET", f"{API}/pipelines"):
            items = [p for p in state.pipelines.values() if _matches(p, query)]
            return _page(items, query, "pipelines")
        if (method, path) == ("POST", f"{API}/pipelines/upload"):
            package, filename = self._upload(body)
            name = one("name") or filename
            if any(p["name"] == name for p in state.pipelines.values()):
                raise ApiError(409, f"Failed to upload pipeline: the name {name} already exists")
            pipeline_id, version_id = state.new_id("pipeline"), state.new_id("version")
            version = {
                "id": version_id,
                "name": name,
                "created_at": NOW,
                "package": package,
                "resource_references": [
                    {"key": {"type": "PIPELINE", "id": pipeline_id}, "relationship": "OWNER"}
                ],
            }
            state.versions[version_id] = version
            pipeline = {
                "id": pipeline_id,
                "name": name,
                "description": one("description") or "",
                "created_at": NOW,
                "default_version": _public(version),
            }
            state.pipelines[pipeline_id] = pipeline
            return pipeline
        if (method, path) == ("POST", f"{API}/pipelines/upload_version"):
            package, _ = self._upload(body)
            pipeline = state.pipelines.get(one("pipelineid") or "")
            if pipeline is None:
                raise ApiError(404, f"pipeline {one('pipelineid')} not found")
            name = one("name")
            if any(v["name"] == name and self._owner(v) == pipeline["id"] for v in state.versions.values()):
                raise ApiError(409, f"Failed to create a pipeline version: the name {name} already exists")
            version_id = state.new_id("version")
            version = {
                "id": version_id,
                "name": name,
                "created_at": NOW,
                "package": package,
                "resource_references": [
                    {"key": {"type": "PIPELINE", "id": pipeline["id"]}, "relationship": "OWNER"}
                ],
            }
            state.versions[version_id] = version
            pipeline["default_version"] = _public(version)  # v1 makes the newest version the default
            return _public(version)
        if (method, path) == ("GET", f"{API}/pipeline_versions"):
            owner = one("resource_key.id")
            if owner not in state.pipelines:
                raise ApiError(404, f"pipeline {owner} not found")
            items = [
                _public(v) for v in state.versions.values() if self._owner(v) == owner and _matches(v, query)
            ]
            return _page(items, query, "versions")
        if (method, path) == ("GET", f"{API}/experiments"):
            return _page([e for e in state.experiments.values() if _matches(e, query)], query, "experiments")
        if (method, path) == ("POST", f"{API}/experiments"):
            experiment = json.loads(body)
            if any(e["name"] == experiment["name"] for e in state.experiments.values()):
                raise ApiError(409, "experiment name taken")
            experiment.update(
                id=state.new_id("experiment"), created_at=NOW, storage_state="STORAGESTATE_AVAILABLE"
            )
            state.experiments[experiment["id"]] = experiment
            return experiment
        if (method, path) == ("GET", f"{API}/jobs"):
            owner = one("resource_reference_key.id")
            items = [
                j
                for j in state.jobs.values()
                if (owner is None or any(r["key"]["id"] == owner for r in j["resource_references"]))
                and _matches(j, query)
            ]
            return _page(items, query, "jobs")
        if (method, path) == ("POST", f"{API}/jobs"):
            job = json.loads(body)
            references = job.get("resource_references") or []
            for reference in references:
                kind, ident = reference["key"]["type"], reference["key"]["id"]
                known = {"EXPERIMENT": state.experiments, "PIPELINE_VERSION": state.versions}.get(kind)
                if known is not None and ident not in known:
                    raise ApiError(404, f"{kind} {ident} not found")
            job.update(
                id=state.new_id("job"),
                created_at=NOW,
                updated_at=NOW,
                status="Enabled",
                max_concurrency=str(job.get("max_concurrency", 10)),
            )
            for schedule in (job.get("trigger") or {}).values():
                if "interval_second" in schedule:
                    schedule["interval_second"] = str(schedule["interval_second"])
            state.jobs[job["id"]] = job
            return job
        if method == "DELETE" and path.startswith(f"{API}/jobs/"):
            if state.jobs.pop(path.rsplit("/", 1)[1], None) is None:
                raise ApiError(404, "job not found")
            return {}
        raise ApiError(404, f"the fake KFP API has no {method} {path}")

    @staticmethod
    def _owner(version: dict[str, Any]) -> str | None:
        return next(
            (r["key"]["id"] for r in version["resource_references"] if r["key"]["type"] == "PIPELINE"), None
        )


class FakeKfp:
    """The server, on a free localhost port, in a thread: `with FakeKfp() as kfp: kfp.url`."""

    def __init__(self) -> None:
        self.state = State()
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeKfp:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
