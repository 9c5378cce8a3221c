"""Diagnostics: stable codes, one table, and the value every stage reports problems with.

A code never changes meaning once released. Ranges by stage:
  A2K1xx reading files          A2K2xx DAG structure        A2K3xx mapping operators
  A2K4xx emitting / compiling   A2K5xx verifying output     A2K6xx importing with Airflow
  A2K7xx the run as a whole (output folder, `check`, reading mode, ownership, images)
  A2K8xx the KFP v2 target (`--target v2`)
docs/codes.md is generated from CODES (`airflow2kfp codes --markdown`; a test), so the two cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


@dataclass(frozen=True)
class CodeInfo:
    code: str
    name: str
    severity: Severity
    summary: str  # what the code means, for the codes table
    help: str  # what to do about it, the default help line


def _table(*rows: CodeInfo) -> dict[str, CodeInfo]:
    return {row.code: row for row in rows}


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741 - the table's severity column

CODES: dict[str, CodeInfo] = _table(
    # -- reading files ---------------------------------------------------------------------
    CodeInfo(
        "A2K101",
        "syntax-error",
        E,
        "The file is not valid Python.",
        "Fix the syntax error; Airflow could not import this file either.",
    ),
    CodeInfo(
        "A2K102",
        "not-utf8",
        E,
        "The file is not valid text in its source encoding (UTF-8 unless a PEP 263 coding line names "
        "another).",
        "Re-encode the file as UTF-8 (Python 3's default source encoding), or fix its coding line.",
    ),
    CodeInfo(
        "A2K103",
        "empty-file",
        I,
        "The file is empty; nothing to convert.",
        "Nothing to do; exclude the file if it should not be scanned.",
    ),
    CodeInfo(
        "A2K104",
        "no-dag-found",
        I,
        "The file defines no DAG that could be found.",
        "If it does build DAGs dynamically, convert it with --mode airflow.",
    ),
    CodeInfo(
        "A2K105",
        "file-too-large",
        E,
        "The file exceeds the size limit for DAG files.",
        "Raise --max-file-size if this really is a DAG file.",
    ),
    CodeInfo(
        "A2K106",
        "unreadable-file",
        E,
        "The file could not be read.",
        "Check the file's permissions and that it is a regular file.",
    ),
    CodeInfo(
        "A2K107",
        "too-complex",
        E,
        "An expression is nested too deeply to read safely.",
        "Simplify the expression; Airflow's own parser would likely fail too.",
    ),
    CodeInfo(
        "A2K108",
        "reader-failed",
        E,
        "The static reader failed on this file (an internal error of the converter).",
        "Please report this with the DAG file; try --mode airflow meanwhile.",
    ),
    CodeInfo(
        "A2K109",
        "import-never-finishes",
        W,
        "A module-level statement stops the file's import (an endless loop, an exit call).",
        'Remove it or guard it with `if __name__ == "__main__":`; Airflow cannot load this file.',
    ),
    # budgets of static reading (airflow2kfp/parse/budget.py, docs/static-reading.md)
    CodeInfo(
        "A2K110",
        "too-many-steps",
        E,
        "Reading the file statically takes more evaluation steps than its budget (loops, comprehensions "
        "or calls that go on too long).",
        "Shorten the module-level loops, or convert with --mode airflow; Airflow parses DAG files often.",
    ),
    CodeInfo(
        "A2K111",
        "value-too-large",
        E,
        "An expression builds an integer, string or container larger (or nested deeper) than the static "
        "reader's budget.",
        "Build large values at run time, not when the file is imported.",
    ),
    CodeInfo(
        "A2K112",
        "too-many-tasks",
        E,
        "A DAG unrolls to more tasks than the static reader's budget.",
        "Split the DAG, or convert with --mode airflow if it really has that many tasks.",
    ),
    CodeInfo(
        "A2K113",
        "reading-limit",
        E,
        "Reading the file statically took longer or needed more memory than its limit.",
        "Simplify the module-level code; Airflow parses DAG files often and would be slow too.",
    ),
    CodeInfo(
        "A2K114",
        "unencodable-text",
        E,
        'A value holds text no UTF-8 output can hold (a lone surrogate, e.g. from a "\\ud800" escape).',
        "Remove the surrogate escape from the value; Airflow could not pass it to a process either.",
    ),
    CodeInfo(
        "A2K115",
        "data-file-not-read",
        W,
        "A data file or folder the DAG file reads at import (a YAML or JSON config, a listing) was "
        "not read statically: outside the folder being converted, too large, not a data file, "
        "not valid, or holding a tag PyYAML's safe loader refuses; what is built from it is unknown.",
        "Keep the DAG's data files inside the DAG folder as plain YAML or JSON, or convert with "
        "--mode airflow.",
    ),
    # -- DAG structure ---------------------------------------------------------------------
    CodeInfo(
        "A2K201",
        "duplicate-task-id",
        E,
        "Two tasks in one DAG share a task_id.",
        "Give every task in the DAG a unique task_id; Airflow rejects duplicates.",
    ),
    CodeInfo(
        "A2K202",
        "dependency-cycle",
        E,
        "The task dependencies form a cycle.",
        "Remove one of the edges in the cycle; a DAG must be acyclic.",
    ),
    CodeInfo(
        "A2K203",
        "unresolved-dependency",
        E,
        "A dependency expression refers to something the static reader cannot resolve; as a warning, "
        "code the static reader cannot follow may add dependencies it does not see, and the DAG's "
        "ordering is reported `unproven`, not `exact`.",
        "Use task variables, literal lists or loops over literals, or convert with --mode airflow.",
    ),
    CodeInfo(
        "A2K204",
        "unresolved-value",
        W,
        "An argument value could not be evaluated statically; it is kept as source text.",
        "Use a literal value, or convert with --mode airflow to read the value Airflow sees.",
    ),
    CodeInfo(
        "A2K205",
        "unresolved-task-id",
        E,
        "A task's task_id could not be evaluated statically; the task cannot be named.",
        "Use a literal or f-string over literal loop values, or convert with --mode airflow.",
    ),
    CodeInfo(
        "A2K206",
        "duplicate-dag-id",
        E,
        "Two DAGs share a dag_id.",
        "Give every DAG a unique dag_id; Airflow keeps only one of them.",
    ),
    CodeInfo(
        "A2K207",
        "unknown-dag",
        W,
        "An operator is not attached to any DAG the reader found.",
        "Create the operator inside `with DAG(...)` or pass dag=... explicitly.",
    ),
    CodeInfo(
        "A2K208",
        "invalid-id",
        E,
        "A dag_id or task_id is not valid in Airflow.",
        "Use only letters, digits, dashes, dots and underscores (at most 250 characters).",
    ),
    CodeInfo(
        "A2K209",
        "unresolved-dag-id",
        E,
        "A DAG's dag_id could not be evaluated statically; the DAG cannot be named.",
        "Use a literal or an f-string over literal values, or convert with --mode airflow.",
    ),
    # -- mapping operators -----------------------------------------------------------------
    CodeInfo(
        "A2K301",
        "placeholder-operator",
        W,
        "No mapping exists for this operator; the task is a placeholder that fails when run.",
        "Replace the placeholder component with a real one, or add a mapping for the operator family.",
    ),
    CodeInfo(
        "A2K302",
        "template-kept",
        W,
        "A Jinja template is kept verbatim; KFP does not render Airflow templates.",
        "Replace the template with a pipeline parameter or a value computed in the step.",
    ),
    CodeInfo(
        "A2K303",
        "setting-not-carried",
        I,
        "An Airflow task or DAG setting has no KFP equivalent and is not carried over.",
        "Review whether the pipeline needs an equivalent (e.g. cluster-level quotas for pools).",
    ),
    CodeInfo(
        "A2K304",
        "task-renamed",
        I,
        "An Airflow task_id is not a valid KFP task name and was renamed.",
        "Nothing to do; the report maps each Airflow task_id to its KFP name.",
    ),
    CodeInfo(
        "A2K305",
        "trigger-rule-approximated",
        W,
        "The task's trigger rule has no exact equivalent in the emitted pipeline.",
        "Check the task's behaviour on upstream failure or skip in the report.",
    ),
    CodeInfo(
        "A2K306",
        "unresolved-argument",
        W,
        "A task argument that the mapping needs could not be evaluated; the task may not run.",
        "Replace the value in the generated Python, or convert with --mode airflow.",
    ),
    CodeInfo(
        "A2K310",
        "callable-by-reference",
        W,
        "The task's Python callable is imported from another module; the component imports it by name.",
        "Build an image that provides the module (or list it in packages_to_install) and set base_image.",
    ),
    CodeInfo(
        "A2K311",
        "value-not-passable",
        W,
        "A value cannot be passed between KFP steps as it is between Airflow tasks.",
        "Pass JSON-serialisable values, or compute the value inside the step.",
    ),
    CodeInfo(
        "A2K312",
        "airflow-context",
        W,
        "The callable uses Airflow run-time context (task instance, XCom, Variables, ...) a KFP step lacks.",
        "Replace the context access with component inputs or pipeline parameters.",
    ),
    CodeInfo(
        "A2K313",
        "operator-fallback",
        W,
        "No native mapping: the step runs the original Airflow operator inside an Airflow image.",
        "Provide connections (AIRFLOW_CONN_* env vars) and providers in the image, or write a component.",
    ),
    CodeInfo(
        "A2K314",
        "schedule-approximated",
        W,
        "A DAG schedule setting cannot be expressed exactly as a KFP recurring run.",
        "Adjust the recurring-run definition written next to the pipeline.",
    ),
    CodeInfo(
        "A2K315",
        "packages-inferred",
        I,
        "Packages to install in a Python step were inferred from its imports.",
        "Check the package names and pin versions in the generated Python.",
    ),
    CodeInfo(
        "A2K320",
        "control-flow-differs",
        W,
        "A branch, short-circuit, mapped task or sensor runs in KFP with a difference from Airflow that "
        "the message names.",
        "Check the task's `semantics` in the report; adjust the generated Python if the case matters.",
    ),
    CodeInfo(
        "A2K321",
        "cross-dag-dependency",
        W,
        "The task waits for another DAG (ExternalTaskSensor); KFP has no dependencies between pipelines.",
        "Trigger this pipeline after the other one (e.g. from its last step) or poll its runs yourself.",
    ),
    # the run context and XComs inside steps (airflow2kfp/mapping/step_context.py, xcom.py)
    CodeInfo(
        "A2K331",
        "xcom-not-passed",
        W,
        "An XCom pull cannot be wired into the step: its task ids, key or DAG are not known before the "
        "run, or the task it names is not in the DAG.",
        "Pull with literal task_ids and key, or pass the upstream's `.output` / XComArg as an argument.",
    ),
    CodeInfo(
        "A2K332",
        "xcom-pull-not-upstream",
        W,
        "The task pulls the XCom of a task that is not upstream of it: in Airflow the value depends on "
        "which task finishes first (None when the producer has not run); the step gets None.",
        "Add the dependency (producer >> consumer) if the value is meant to be there.",
    ),
    CodeInfo(
        "A2K333",
        "airflow-variable",
        W,
        "The step reads Airflow Variables; KFP has none: the step reads `AIRFLOW_VAR_<KEY>` environment "
        "variables, as Airflow's environment-variable backend does.",
        "Set the variables on the step (add_env_variable, or from a Kubernetes secret), or pass the value "
        "as a pipeline parameter.",
    ),
    CodeInfo(
        "A2K334",
        "airflow-connection",
        W,
        "The step uses Airflow Connections or hooks, which need Airflow's database or secrets backend.",
        "Run the step in an image with Airflow and its providers and set `AIRFLOW_CONN_<ID>`, or use the "
        "service's own client with credentials from a Kubernetes secret.",
    ),
    CodeInfo(
        "A2K335",
        "context-not-served",
        W,
        "The task uses run-context values a KFP step cannot serve (previous runs, triggering events, the "
        "DAG and task objects, ...).",
        "Compute the value in the step or pass it as a pipeline parameter.",
    ),
    CodeInfo(
        "A2K336",
        "xcom-from-placeholder",
        W,
        "The task reads the XCom of a task that became a placeholder: the placeholder declares the output, "
        "and the step gets the value only once a real step that writes it replaces the placeholder.",
        "Replace the placeholder in the generated Python with a step that writes that output (or convert "
        "with --mode airflow, which may read what made it a placeholder).",
    ),
    CodeInfo(
        "A2K337",
        "template-file-refused",
        W,
        'A template file a task names (`bash_command="scripts/run.sh"`) is not read: Airflow would '
        "read it outside the folder being converted (an absolute or relative template_searchpath, a "
        "symbolic link), or its name holds '..', which Airflow's Jinja loader refuses. The field is kept "
        "as written.",
        "Keep template files inside the DAG folder (or convert the folder that holds them), and name them "
        "relative to the DAG's folder or a template_searchpath entry, without '..'.",
    ),
    CodeInfo(
        "A2K338",
        "dag-folder-path-in-value",
        W,
        "A task's argument names the folder being converted by its absolute path on the machine that "
        "converted it (a path built from `os.path.dirname(__file__)` or `Path(__file__).parent`): kept "
        "as Airflow computed it, so the step needs the DAG folder at that path in its image, and the "
        "generated pipeline changes with where the repository is checked out.",
        "Build the path inside the step (relative to the image's working folder) or take it from "
        "configuration (an Airflow Variable, a pipeline parameter).",
    ),
    # operator families (airflow2kfp/mapping/): python, kubernetes, docker, fallback, schedules
    # -- emitting / compiling --------------------------------------------------------------
    CodeInfo(
        "A2K401",
        "compile-failed",
        E,
        "The KFP compiler rejected the generated pipeline (an internal error of the converter).",
        "Please report this with the DAG file; the generated Python is kept for inspection.",
    ),
    CodeInfo(
        "A2K402",
        "emit-failed",
        E,
        "The converter failed while converting this DAG (an internal error).",
        "Please report this with the DAG file.",
    ),
    CodeInfo(
        "A2K403",
        "kfp-not-accelerated",
        W,
        "kfp, or a library its speed-ups lean on, is not the version they were checked against: "
        "plain kfp compiles (the same output, several times slower).",
        "Install the versions airflow2kfp pins (pip install airflow2kfp), or set "
        "AIRFLOW2KFP_PLAIN_KFP=1 to run plain kfp on purpose (docs/kfp-accel.md).",
    ),
    # -- verifying output ------------------------------------------------------------------
    CodeInfo(
        "A2K501",
        "ordering-mismatch",
        E,
        "The compiled workflow does not order tasks as the Airflow DAG does.",
        "Please report this with the DAG file; the report lists the differing pairs.",
    ),
    CodeInfo(
        "A2K502",
        "invalid-output",
        E,
        "The compiled workflow is not valid (unresolved placeholder, duplicate or invalid names).",
        "Please report this with the DAG file.",
    ),
    # -- importing with Airflow ------------------------------------------------------------
    CodeInfo(
        "A2K601",
        "airflow-import-error",
        E,
        "Airflow's DagBag could not import the file; the message is Airflow's own.",
        "Fix the error in the DAG file (or install what it imports in the Airflow environment).",
    ),
    CodeInfo(
        "A2K602",
        "airflow-import-timeout",
        E,
        "Importing the file with Airflow did not finish within the time limit.",
        "Remove slow or blocking top-level code, or raise --airflow-timeout.",
    ),
    CodeInfo(
        "A2K603",
        "airflow-worker-crashed",
        E,
        "The process importing the file with Airflow died (os._exit, a signal, or the memory limit).",
        "Remove top-level code that exits the interpreter or exhausts memory.",
    ),
    CodeInfo(
        "A2K604",
        "airflow-unavailable",
        E,
        "No working Airflow interpreter was available to import the file.",
        "Run scripts/setup_airflow_env.sh, or point AIRFLOW2KFP_AIRFLOW_PYTHON at an Airflow python.",
    ),
    CodeInfo(
        "A2K605",
        "readings-disagree",
        W,
        "The static reading and Airflow's import disagree on a DAG's tasks, edges or the values the static "
        "reading resolved; Airflow's is used.",
        "Check the DAG: code the static reader cannot follow, or side effects at import time, differ.",
    ),
    CodeInfo(
        "A2K606",
        "airflow-import-limit",
        E,
        "Importing the file with Airflow hit a sandbox limit (memory or number of processes).",
        "Remove top-level code that allocates much memory or starts processes; DAG files are parsed often.",
    ),
    CodeInfo(
        "A2K607",
        "import-time-clock",
        W,
        "The DAG file reads the clock while it is imported (datetime.now(), days_ago(), pendulum.today()): "
        "values computed from it are as at SOURCE_DATE_EPOCH (else 1970-01-01), a start_date so computed "
        "is dropped.",
        'Write a fixed start_date (e.g. pendulum.datetime(2024, 1, 1, tz="UTC")); Airflow discourages dynamic '
        "ones.",
    ),
    CodeInfo(
        "A2K608",
        "import-sandbox-path",
        W,
        "A value names a folder that exists only while the file is imported (the sandbox's working, "
        "temporary or Airflow home folder): mapped back where it can be, else kept and reported.",
        "Build paths from the DAG file's folder (os.path.dirname(__file__)) or from configuration.",
    ),
    CodeInfo(
        "A2K610",
        "sandbox-unavailable",
        W,
        "DAG files were imported with Airflow without the bubblewrap sandbox, which cannot run here.",
        "Install bubblewrap (Debian: apt-get install bubblewrap) on Linux with user namespaces; "
        "see docs/sandbox.md. --sandbox require makes this an error.",
    ),
    CodeInfo(
        "A2K611",
        "sandbox-required",
        E,
        "--sandbox require: bubblewrap cannot run here, so no DAG file was imported with Airflow.",
        "Install bubblewrap and allow user namespaces (docs/sandbox.md), or read with --mode static.",
    ),
    CodeInfo(
        "A2K612",
        "forged-import-answer",
        E,
        "The answer of the import of this file was malformed, came twice, or was not for this file.",
        "Something in the file (or what it started) wrote to the import's result channel; remove it.",
    ),
    CodeInfo(
        "A2K613",
        "sandbox-off",
        I,
        "--sandbox off: DAG files were imported with Airflow without the bubblewrap sandbox.",
        "Only for DAG files you trust as you trust your own shell; see docs/sandbox.md.",
    ),
    # -- the run as a whole ----------------------------------------------------------------
    CodeInfo(
        "A2K701",
        "output-conflict",
        E,
        "An output file exists that airflow2kfp did not write, or it was edited since; its DAG's files "
        "are left as they are (the other DAGs are written).",
        "To keep your edits, own the pipeline: add the line `# airflow2kfp: owned` to its .py file (or "
        "list the DAG in `owned`); else move the file away or pass --force to overwrite it.",
    ),
    CodeInfo(
        "A2K702",
        "stale-output",
        E,
        "A converted file is missing or differs from what the DAG files convert to now.",
        "Run `airflow2kfp convert` with the same options and commit the result.",
    ),
    CodeInfo(
        "A2K703",
        "orphaned-output",
        W,
        "Output files of a DAG that no longer exists are kept in the output folder.",
        "Pass --prune to remove the outputs of DAGs that disappeared.",
    ),
    # -- the KFP v2 target (--target v2) ---------------------------------------------------
    CodeInfo(
        "A2K801",
        "kfp2-unavailable",
        E,
        "No working kfp 2.x interpreter was available to compile the v2 pipeline.",
        "Run scripts/setup_kfp2_env.sh, or point --kfp2-python / AIRFLOW2KFP_KFP2_PYTHON at a python "
        "with kfp 2.x.",
    ),
    CodeInfo(
        "A2K802",
        "v2-unsupported",
        E,
        "The DAG has a shape KFP v2 cannot express (the message says which); no v2 pipeline is written.",
        "Convert it for --target v1, or restructure the DAG (e.g. pass data out of a branch through a join "
        "task that always runs).",
    ),
    CodeInfo(
        "A2K803",
        "v2-compile-failed",
        E,
        "kfp 2.x's compiler rejected the generated v2 pipeline (an internal error of the converter).",
        "Please report this with the DAG file; the generated Python is kept for inspection.",
    ),
    CodeInfo(
        "A2K804",
        "v2-ordering-mismatch",
        E,
        "The compiled v2 pipeline IR does not order tasks as the Airflow DAG does.",
        "The report lists the differing pairs; convert the DAG for --target v1, which orders it exactly.",
    ),
    CodeInfo(
        "A2K805",
        "v2-setting-dropped",
        W,
        "A task setting the v1 pipeline carries has no KFP v2 equivalent and is left out of the v2 pipeline.",
        "Set it on the v2 task yourself (kfp-kubernetes has most pod settings), or use --target v1.",
    ),
    CodeInfo(
        "A2K806",
        "v2-trigger-rule",
        W,
        "The task's trigger rule or condition runs differently in KFP v2 than in Airflow (the message says how).",
        "Check the difference in the report (docs/targets.md has every rule); --target v1 expresses it exactly.",
    ),
    # -- faults writing the output folder: the run stops, the previous outputs stay as they were --
    CodeInfo(
        "A2K710",
        "output-busy",
        E,
        "Another airflow2kfp run is writing to the same output folder.",
        "Wait for the other run to finish and run again; runs into one folder take turns.",
    ),
    CodeInfo(
        "A2K711",
        "output-not-writable",
        E,
        "The output folder cannot be written (a read-only file system or no permission).",
        "Make the folder writable or choose another --out; no output file is left half-written.",
    ),
    CodeInfo(
        "A2K712",
        "output-disk-full",
        E,
        "The disk (or quota) holding the output folder is full.",
        "Free some space and run again; no output file is left half-written.",
    ),
    CodeInfo(
        "A2K713",
        "output-write-failed",
        E,
        "Writing the output folder failed (an I/O error of the file system).",
        "Check the file system (the message names the error); no output file is left half-written.",
    ),
    # -- how the run read and wrote: CI and review ---------------------------------------------------
    CodeInfo(
        "A2K720",
        "read-statically",
        W,
        "No Airflow interpreter was found, so the default mode (auto) read the DAG files statically only: "
        "DAGs built dynamically (loops over configs, factories) may be missing or incomplete.",
        "Make Airflow available (scripts/setup_airflow_env.sh, $AIRFLOW2KFP_AIRFLOW_PYTHON or "
        '--airflow-python), or read statically on purpose with --mode static (mode = "static").',
    ),
    CodeInfo(
        "A2K721",
        "mode-differs",
        E,
        "The outputs were made reading the DAG files in another mode than this check reads them; "
        "their files cannot be compared.",
        "Run check as the outputs were made (the same mode, with Airflow if they were made with it), or "
        'make and check them both with --mode static (mode = "static" in [tool.airflow2kfp]).',
    ),
    CodeInfo(
        "A2K722",
        "owned-pipeline",
        I,
        "The pipeline is owned by you (an `# airflow2kfp: owned` line, or `owned`); its files are left "
        "alone and `check` skips them.",
        "Nothing to do; remove the marker (and the DAG from `owned`) to have it converted again.",
    ),
    CodeInfo(
        "A2K723",
        "tool-not-in-image",
        W,
        "The Bash command calls a program that no configured image has; the step's image may lack it.",
        "Map the program to an image that has it and bash: --tool-image TOOL=IMAGE "
        "(tool-images in [tool.airflow2kfp]).",
    ),
    CodeInfo(
        "A2K724",
        "command-not-parsed",
        W,
        "The Bash command could not be parsed, so which programs it calls (and which image has them) is "
        "unknown.",
        "Check the command (a shell syntax error fails in Airflow too), or set the step's image by hand.",
    ),
)


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    help: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    task_id: str | None = None
    dag_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        # field by field: dataclasses.asdict deep-copies recursively, slow over a big run's findings
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "help": self.help,
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "task_id": self.task_id,
            "dag_id": self.dag_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Diagnostic:
        return cls(**{**data, "severity": Severity(data["severity"])})

    def location(self) -> str:
        if self.file is None:
            return "<unknown>"
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{(self.col or 0) + 1}"

    def render(self) -> str:
        """Ruff-like text: `A2K201 [error] message --> file:line:col` then `help: ...`."""
        where = f" --> {self.location()}" if self.file else ""
        subject = f" (task {self.task_id})" if self.task_id else ""
        return f"{self.code} [{self.severity.value}] {self.message}{subject}{where}\n  help: {self.help}"


@dataclass(frozen=True)
class Suppression:
    """A diagnostic the user chose to silence; counted and reported as suppressed, never dropped."""

    diagnostic: Diagnostic
    by: str  # "inline" (an `# airflow2kfp: ignore[...]` comment) or "config" (the `ignore` setting)

    def to_json(self) -> dict[str, Any]:
        return {**self.diagnostic.to_json(), "suppressed_by": self.by}


# A2K203 as a warning: the static reading may have missed dependencies of the DAG it names
UNPROVEN_EDGES = "A2K203"


def diag(
    code: str,
    message: str | None = None,
    *,
    help: str | None = None,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    task_id: str | None = None,
    dag_id: str | None = None,
    severity: Severity | None = None,
) -> Diagnostic:
    """Build a diagnostic from the table; message and help default to the table's text."""
    info = CODES[code]  # KeyError here is a programming error: every code must be in the table
    return Diagnostic(
        code=code,
        severity=severity or info.severity,
        message=message or info.summary,
        help=help or info.help,
        file=file,
        line=line,
        col=col,
        task_id=task_id,
        dag_id=dag_id,
    )


def worst(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> Severity | None:
    return max((d.severity for d in diagnostics), key=lambda s: s.rank, default=None)


def codes_markdown() -> str:
    rows = ["| code | name | severity | meaning | help |", "|---|---|---|---|---|"]
    rows += [f"| {c.code} | {c.name} | {c.severity.value} | {c.summary} | {c.help} |" for c in CODES.values()]
    return "\n".join(rows)
