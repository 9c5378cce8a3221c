"""Import statements as name bindings, and what an imported Airflow name is.

Operators are recognised by where a name was imported from, never by its spelling alone: a local
class called BashOperator is not Airflow's. Airflow moved names between 1.10, 2.x and 3.x
(`airflow.operators.bash_operator`, `airflow.providers.standard...`, `airflow.sdk`), so kinds are
decided by the last path segment under an `airflow` package rather than by a list of exact paths.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import libcst as cst

from airflow2kfp.parse.values import Ref

# the kind of an airflow name, by its last segment
_AIRFLOW_KINDS = {
    "DAG": "dag_class",
    "dag": "dag_decorator",
    "TaskGroup": "task_group_class",
    "task_group": "task_group_decorator",
    "Label": "label",
    "XComArg": "xcom_arg",
    "chain": "chain",
    "cross_downstream": "cross_downstream",
    "chain_linear": "chain_linear",
    "asset": "asset_decorator",
    "setup": "setup_decorator",
    "teardown": "teardown_decorator",
}
# the calls of the standard library and PyYAML the static reading answers from the repository's data
# files (parse/data_calls.py): on paths and folders, loading data, parsing times
DATA_PATH_CALLS = (
    "os.path.abspath",
    "os.path.realpath",
    "os.path.exists",
    "os.path.isfile",
    "os.path.isdir",
    "os.listdir",
    "os.walk",
    "glob.glob",
    "glob.iglob",
)
DATA_LOAD_CALLS = (
    "json.load",
    "json.loads",
    "yaml.safe_load",
    "yaml.safe_load_all",
    "yaml.load",
    "yaml.load_all",
)
DATA_TIME_CALLS = (
    "datetime.datetime.strptime",
    "datetime.datetime.fromisoformat",
    "datetime.date.fromisoformat",
)
_STDLIB_KINDS = {
    "datetime.timedelta": "timedelta",
    "pendulum.duration": "timedelta",
    "datetime.datetime": "datetime",
    "pendulum.datetime": "datetime",
    "pendulum.DateTime": "datetime",
    "datetime.date": "date",
    # pure path arithmetic, for `Path(__file__).stem` and `os.path.basename(__file__)` style ids
    "pathlib.Path": "path",
    "pathlib.PurePath": "path",
    "pathlib.PurePosixPath": "path",
    "os.path.basename": "os_path",
    "os.path.dirname": "os_path",
    "os.path.splitext": "os_path",
    "os.path.join": "os_path",
    "os.path.normpath": "os_path",
    # the repository's data files and folders, read as data only (parse/data_calls.py)
    **dict.fromkeys(DATA_PATH_CALLS + DATA_LOAD_CALLS + DATA_TIME_CALLS, "data"),
}
# where Airflow keeps operators and sensors, in every version
_OPERATOR_PACKAGES = (".operators.", ".sensors.", ".transfers.")


def dotted(node: cst.BaseExpression) -> str | None:
    """`a.b.c` as a string, or None for anything that is not a plain dotted name."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def bindings(statement: cst.Import | cst.ImportFrom) -> Iterator[tuple[str, Ref]]:
    """The names an import statement binds, each to the Ref it stands for."""
    if isinstance(statement, cst.Import):
        for alias in statement.names:
            name = dotted(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                yield alias.asname.name.value, Ref(name)
            else:  # `import a.b.c` binds `a`; `a.b.c.X` then resolves through attributes
                head = name.split(".")[0]
                yield head, Ref(head)
        return
    module = dotted(statement.module) if statement.module is not None else ""
    if statement.relative:  # relative imports stay relative to the DAG folder's package
        module = "." * len(statement.relative) + (module or "")
    if isinstance(statement.names, cst.ImportStar):
        return
    for alias in statement.names:
        name = dotted(alias.name) or ""
        local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
        yield local, Ref(f"{module}.{name}" if module else name)


def is_airflow(ref: Ref) -> bool:
    return ref.qualname == "airflow" or ref.qualname.startswith("airflow.")


def kind(ref: Ref) -> str | None:
    """What an imported name is to the reader: a DAG class, a decorator, a time helper, ..."""
    if ref.qualname in _STDLIB_KINDS:
        return _STDLIB_KINDS[ref.qualname]
    if not is_airflow(ref):
        return None
    if ref.name in _AIRFLOW_KINDS:
        return _AIRFLOW_KINDS[ref.name]
    if taskflow_parts(ref) is not None:
        return "task_decorator"
    return None


def taskflow_parts(ref: Ref) -> tuple[str, str] | None:
    """(operator, module) for `airflow.decorators.task.bash` -> ("task.bash", "airflow.decorators")."""
    if not is_airflow(ref):
        return None
    parts = ref.qualname.split(".")
    if "task" not in parts[1:]:
        return None
    at = parts.index("task", 1)
    if len(parts) - at > 2:  # `task.x.y` is no decorator Airflow has
        return None
    return ".".join(parts[at:]), ".".join(parts[:at])


def is_known_operator(ref: Ref) -> bool:
    """An Airflow class in an operators/sensors package: a task even when its task_id is missing."""
    return (
        is_airflow(ref) and ref.name[:1].isupper() and any(p in f"{ref.module}." for p in _OPERATOR_PACKAGES)
    )


def is_operator_base(ref: Ref) -> bool:
    """An Airflow base class that makes a subclass an operator (BaseOperator, a sensor, an operator)."""
    return is_airflow(ref) and (is_known_operator(ref) or ref.name.endswith(("Operator", "Sensor")))


def is_class_like(ref: Ref) -> bool:
    """Classes are CapWords by convention; calling a lowercase name is a function call."""
    return ref.name[:1].isupper()


# libraries a DAG file calls for values (times, config, clients) that never build Airflow tasks
VALUE_LIBRARIES = frozenset(
    {
        "pendulum",
        "dateutil",
        "pytz",
        "croniter",
        "cron_descriptor",
        "yaml",
        "json5",
        "toml",
        "tomli",
        "dotenv",
        "jinja2",
        "requests",
        "boto3",
        "botocore",
        "google",
        "kubernetes",
        "pandas",
        "numpy",
        "pydantic",
        "attr",
        "attrs",
        "sqlalchemy",
        "slack_sdk",
        "docker",
        "tenacity",
        "six",
        "jsonschema",
        "humanize",
        "click",
    }
)


def may_build_tasks(ref: Ref) -> bool:
    """A function from another module of the repo (not the standard library, Airflow or a library that
    computes values): called inside `with DAG`, it may create tasks there, which the static reader
    does not follow into other files."""
    head = ref.qualname.lstrip(".").split(".")[0]
    if ref.qualname.startswith("."):  # a relative import: the DAG folder's own package
        return True
    return not (head in sys.stdlib_module_names or head == "airflow" or head in VALUE_LIBRARIES)
