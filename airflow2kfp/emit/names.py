"""Names of the generated v1 module: task variables that shadow none of the module's own names.

The naming rules themselves (KFP task names, identifiers, file names) are `airflow2kfp.names`, below
both the mapping and the emitter.
"""

from __future__ import annotations

from collections.abc import Iterable

from airflow2kfp.names import UniqueNames, python_identifier

__all__ = ["GENERATED_MODULE_NAMES", "python_task_variables"]

# Names the generated module itself binds; task variables must not shadow them.
GENERATED_MODULE_NAMES = frozenset(
    {
        "compiler",
        "components",
        "dsl",
        "json",
        "os",
        "re",
        "sys",
        "k8s",
        "named",
        "compile_pipeline",
        "COMPILATION_TIME",
        "PIPELINE_FILE",
        "datetime",
        "kfp",
        "yaml",
        "pathlib",
        "timezone",
        "time",
        "compilation_time",
        "trigger_rule",
        "TRIGGER_RULES",
        "apply_trigger_rules",
        "load_yaml",
        "dump_yaml",
        "run_on_after_failures",
        "all_of",
        "any_of",
        "none_of",
        "results_of",
        "collect_loop_outputs",
        "RESULTS_OF",
    }
)


def python_task_variables(task_ids: Iterable[str], reserved: Iterable[str]) -> dict[str, str]:
    names = UniqueNames(reserved=[*GENERATED_MODULE_NAMES, *reserved])
    return {task_id: names.claim(python_identifier(task_id), sep="_") for task_id in task_ids}
