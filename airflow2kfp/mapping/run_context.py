"""The run context Airflow gives a task, served inside a KFP step: the context shim.

Airflow hands a task its run context (`ds`, `logical_date`, `params`, `dag_run.conf`, `ti` with
`xcom_pull`/`xcom_push`, ...) and renders its templated fields with it before the task runs. A KFP
v1 lightweight component runs its own function's code and nothing else, so a step that uses the
context carries the definitions it needs, copied from the parts between the markers below, and
builds the context from its inputs: pipeline parameters (the logical date, the DAG params, the
run's conf) and the upstream outputs the converter wired in for each `xcom_pull`.

Each part is plain, standard-library Python (jinja2 for `render`, as Airflow renders templates),
tested here as it is copied (tests/mapping/test_run_context.py). `shim_lines(parts)` gives the
parts a step asked for, with the parts they need, in this file's order.

What is not served: Airflow's database (Connections, hooks, XComs of other runs, previous runs),
the DAG and task objects, asset events. Variables are read from `AIRFLOW_VAR_<KEY>` environment
variables, as Airflow's own environment-variable backend serves them.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

# the parts each part needs
REQUIRES: dict[str, tuple[str, ...]] = {
    "dates": (),
    "ti": (),
    "dag_run": (),
    "variables": (),
    "macros": (),
    "render": (),
    "bash": (),
}


# --- part: dates ---
def _logical_date(text):
    """Airflow's logical date, a datetime, from its pipeline parameter (ISO 8601 text)."""
    import datetime

    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(
            f"airflow2kfp: the logical date {text!r} is not an ISO 8601 date; "
            "KFP substitutes [[CurrentTime...]] when a run is created"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)  # noqa: UP017 - any Python 3


# --- end ---


# --- part: ti ---
class _TaskInstance:
    """Airflow's TaskInstance as a task uses it: xcom_pull answers from the values passed into the step."""

    def __init__(self, dag_id, task_id, run_id, pulled):
        self.dag_id, self.task_id, self.run_id = dag_id, task_id, run_id
        self.map_index, self.try_number = -1, 1
        self.pulled = pulled  # (task_id, key) -> value
        self.pushed = {}

    def xcom_pull(
        self,
        task_ids=None,
        dag_id=None,
        key="return_value",
        include_prior_dates=False,
        map_indexes=None,
        default=None,
        **kwargs,
    ):
        if isinstance(task_ids, (list, tuple)):
            return [self.xcom_pull(task_id, dag_id, key) for task_id in task_ids]
        if (task_ids, key) not in self.pulled:
            raise LookupError(
                f"airflow2kfp: the XCom {key!r} of task {task_ids!r} was not passed into this "
                "step; pass it as an input of the step (see the conversion's diagnostics)"
            )
        value = self.pulled[(task_ids, key)]
        return default if value is None else value

    def xcom_push(self, key, value, **kwargs):
        self.pushed[key] = value


# --- end ---


# --- part: dag_run ---
class _DagRun:
    """What a task uses of Airflow's DagRun: its conf, run id and dates."""

    def __init__(self, dag_id, run_id, conf, logical_date=None):
        self.dag_id, self.run_id, self.conf = dag_id, run_id, conf
        self.logical_date = self.data_interval_start = self.data_interval_end = logical_date
        self.run_type = "manual"


# --- end ---


# --- part: variables ---
class Variable:
    """Airflow Variables as Airflow's environment-variable backend serves them: AIRFLOW_VAR_<KEY>."""

    _missing = object()

    @staticmethod
    def get(key, default_var=_missing, deserialize_json=False, default=_missing):
        import json
        import os

        text = os.environ.get(f"AIRFLOW_VAR_{key.upper()}")
        if text is None:
            fallback = default if default is not Variable._missing else default_var
            if fallback is Variable._missing:
                raise KeyError(f"Variable {key} does not exist")
            return fallback
        return json.loads(text) if deserialize_json else text


class _Variables:
    """`var.value.<key>` and `var.json.<key>` in templates."""

    def __init__(self, deserialize_json):
        self._json = deserialize_json

    def __getattr__(self, key):
        return Variable.get(key, deserialize_json=self._json)

    def get(self, key, default_var=None):
        return Variable.get(key, default_var, deserialize_json=self._json)


# --- end ---


# --- part: macros ---
def _macros():
    """Airflow's `macros` namespace: its date helpers and the modules it exposes."""
    import datetime
    import json
    import random
    import time
    import types
    import uuid

    def ds_add(ds, days):
        if not days:
            return str(ds)
        day = datetime.datetime.strptime(str(ds), "%Y-%m-%d") + datetime.timedelta(days=days)
        return day.strftime("%Y-%m-%d")

    def ds_format(ds, input_format, output_format):
        return datetime.datetime.strptime(str(ds), input_format).strftime(output_format)

    return types.SimpleNamespace(
        ds_add=ds_add,
        ds_format=ds_format,
        datetime=datetime.datetime,
        timedelta=datetime.timedelta,
        time=time,
        uuid=uuid,
        random=random,
        json=json,
    )


# --- end ---


# --- part: render ---
def _render(value, context, native=False):
    """A templated field rendered as Airflow renders it (strings in lists and dicts too)."""
    # jinja2's sandbox, undefined names an error, Airflow's date filters
    import jinja2
    import jinja2.nativetypes
    import jinja2.sandbox

    if isinstance(value, (list, tuple)):
        return type(value)(_render(item, context, native) for item in value)
    if isinstance(value, dict):
        return {key: _render(item, context, native) for key, item in value.items()}
    if not isinstance(value, str):
        return value
    options = {"undefined": jinja2.StrictUndefined, "extensions": ["jinja2.ext.do"], "cache_size": 0}
    environment = (
        jinja2.nativetypes.NativeEnvironment(**options)
        if native
        else jinja2.sandbox.SandboxedEnvironment(**options)
    )
    environment.filters.update(
        {
            "ds": lambda when: when.strftime("%Y-%m-%d"),
            "ds_nodash": lambda when: when.strftime("%Y%m%d"),
            "ts": lambda when: when.isoformat(),
            "ts_nodash": lambda when: when.strftime("%Y%m%dT%H%M%S"),
            "ts_nodash_with_tz": lambda when: when.isoformat().replace("-", "").replace(":", ""),
        }
    )
    return environment.from_string(value).render(**context)


# --- end ---


# --- part: bash ---
def _run_bash(command, env=None, append_env=False, cwd=None):
    """`command` run as Airflow's BashOperator runs it; returns the last line of output (its XCom)."""
    # bash -c in a temporary folder, stderr into stdout, only `env` as the environment unless append_env
    import os
    import subprocess
    import sys
    import tempfile

    environment = dict(os.environ)
    if env is not None:
        environment = {**environment, **env} if append_env else dict(env)
    with tempfile.TemporaryDirectory(prefix="airflowtmp") as scratch:
        process = subprocess.Popen(
            ["bash", "-c", command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd or scratch,
            env=environment,
        )
        last = ""
        for raw in iter(process.stdout.readline, b""):
            last = raw.decode("utf-8", errors="backslashreplace").rstrip()
            print(last, flush=True)
        code = process.wait()
    if code != 0:
        print(f"Bash command failed. The command returned a non-zero exit code {code}.", file=sys.stderr)
        sys.exit(code)
    return last


# --- end ---


_PART = re.compile(r"^# --- part: (\w+) ---\n(.*?)^# --- end ---$", re.DOTALL | re.MULTILINE)


@cache
def _parts() -> dict[str, str]:
    text = Path(__file__).read_text(encoding="utf-8")
    return {match.group(1): match.group(2).rstrip("\n") for match in _PART.finditer(text)}


def with_requirements(parts: frozenset[str] | set[str]) -> list[str]:
    """The parts with every part they need, in this file's order."""
    wanted = set(parts)
    todo = list(parts)
    while todo:
        for needed in REQUIRES[todo.pop()]:
            if needed not in wanted:
                wanted.add(needed)
                todo.append(needed)
    return [name for name in _parts() if name in wanted]


def shim_lines(parts: frozenset[str] | set[str]) -> list[str]:
    """The source of the parts (and what they need), as lines for a step's body."""
    lines: list[str] = []
    for name in with_requirements(parts):
        if lines:
            lines.append("")
        lines += _parts()[name].splitlines()
    return lines


# names the parts bind in a step: the converter keeps its own names clear of them
SHIM_NAMES = frozenset(
    {
        "_logical_date",
        "_TaskInstance",
        "_DagRun",
        "Variable",
        "_Variables",
        "_macros",
        "_render",
        "_run_bash",
        "_context",
        "_ti",
    }
)
