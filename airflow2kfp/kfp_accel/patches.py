"""The table: every kfp (and kubernetes) attribute the converter's process replaces, with what, why.

`install.py` applies and restores these; tests/kfp_accel/test_patches.py checks each against kfp's
own on representative inputs; docs/kfp-accel.md lists them (generated from this table). Each `why`
says what kfp does there and why ours gives the same result; the replacement's docstring says more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from airflow2kfp.kfp_accel import (
    copies,
    deferred_write,
    introspection,
    names,
    ops,
    params,
    specs,
    strip,
    yaml_io,
)
from airflow2kfp.kfp_accel.patch import Kind, Patch


def _use(replacement: Any) -> Callable[[Any], Any]:
    """For a replacement that does not call kfp's value it stands for."""

    def replace(kfp_value: Any) -> Any:
        return replacement

    replace.stands_for = replacement  # type: ignore[attr-defined]  # what the docs name
    return replace


_COMPILER = "kfp.compiler.compiler"
_K8S_HELPER = "kfp.compiler._k8s_helper"
_COMPONENTS = "kfp.components._components"
_PYTHON_OP = "kfp.components._python_op"
_MODELBASE = "kfp.components.modelbase"
_PARAM = "kfp.dsl._pipeline_param"

PATCHES: Final[tuple[Patch, ...]] = (
    # -- YAML (yaml_io.py, deferred_write.py) ------------------------------------------------------
    Patch(
        _COMPILER,
        "dump_yaml",
        _use(yaml_io.dump_yaml),
        Kind.REWRITE,
        "kfp writes each workflow with PyYAML's pure-Python emitter; libyaml writes the same bytes for "
        "plain data (printable ASCII, short keys: yaml_io.plain_text), kfp's dumper writes the rest.",
    ),
    Patch(
        _COMPILER,
        "_validate_workflow",
        yaml_io.validating,
        Kind.REWRITE,
        "kfp dumps the workflow a second time only to find `{{pipelineparam` in the text; its strings "
        "hold the marker where the text does. With `argo` on PATH (kfp lints): kfp's own.",
    ),
    Patch(
        _COMPILER,
        "Compiler._write_workflow",
        deferred_write.writer,
        Kind.DEFERRED_WRITE,
        "Within compile_source's deferred_write, the workflow is kept in memory for the generated "
        "file's re-read, which gets what parsing kfp's text would give; kfp's own write elsewhere.",
    ),
    Patch(
        _COMPONENTS,
        "load_yaml",
        _use(yaml_io.load_yaml),
        Kind.REWRITE,
        "kfp parses each component text with PyYAML's pure-Python parser; libyaml's gives the same "
        "for ASCII text, kfp's loader reads the rest (and any text libyaml rejects).",
    ),
    # -- component specs (specs.py) -----------------------------------------------------------------
    Patch(
        _COMPONENTS,
        "_load_component_spec_from_component_text",
        _use(specs.load_component_spec),
        Kind.MEMO,
        "kfp builds a spec per task from its text (`named(...)`); ComponentSpec.from_dict is a pure "
        "function of the dict, so a text seen before (the name aside) gives a copy of that spec, "
        "with kfp's own name, digest and warning.",
    ),
    Patch(
        "kfp.components._structures",
        "ComponentSpec.to_dict",
        specs.recording_to_dict,
        Kind.MEMO,
        "kfp's to_dict, the spec remembered by its content: `named(...)` loads that content back "
        "under a task's name, and gets a copy of the spec instead of an equal one rebuilt.",
    ),
    Patch(
        _MODELBASE,
        "parse_object_from_struct_based_on_type",
        specs.remembering_parse,
        Kind.PATCHED_SOURCE,
        "kfp's own source with one line changed (a map of caught exceptions emptied once read, "
        "not left in a cycle), the (string, Union) pairs kfp parsed as the string itself "
        "remembered: a pure function of the two.",
    ),
    Patch(
        _COMPONENTS,
        "_resolve_command_line_and_paths",
        copies.resolve_without_cycles,
        Kind.PATCHED_SOURCE,
        "kfp's own source with one line changed: its two closures, which call each other, dropped "
        "after their last use instead of left in a cycle for the cyclic GC.",
    ),
    # -- introspection (introspection.py, strip.py) --------------------------------------------------
    Patch(
        _MODELBASE,
        "inspect",
        introspection.MemoInspect,
        Kind.PROXY,
        "modelbase asks inspect.signature(obj.__init__) for every object it serialises; a bound "
        "method's signature depends only on its function, so it is remembered per function.",
    ),
    Patch(
        _MODELBASE,
        "get_type_hints",
        _use(introspection.get_type_hints),
        Kind.MEMO,
        "modelbase asks get_type_hints(cls.__init__) for every object it builds; kfp defines its "
        "classes once, so the hints are remembered per function (each caller gets its own dict).",
    ),
    Patch(
        _MODELBASE,
        "convert_object_to_struct",
        _use(copies.convert_object_to_struct),
        Kind.COPY,
        "kfp's function line for line, with the remembered signature and no hasattr(value, "
        "'to_dict') lookup for builtin values (which have none).",
        copied_from="d9c17bb32bcb82c50835fffc1c08dabd342962b1cfc7faf5b01bb0cc6c227d3e",
    ),
    Patch(
        _PYTHON_OP,
        "inspect",
        strip.SourceInspect,
        Kind.PROXY,
        "kfp reads each Python component's source with inspect.getsource (a pure-Python tokenizer); "
        "for an undecorated top-level def, `ast` finds the same lines (strip.getsource).",
    ),
    Patch(
        _PYTHON_OP,
        "strip_type_hints",
        strip.stripping,
        Kind.REWRITE,
        "kfp strips a component's annotations with lib2to3; `ast` positions cut the same spans where "
        "strip.py can tell (~99% of sources), kfp's lib2to3 pass does the rest.",
    ),
    Patch(
        _PYTHON_OP,
        "docstring_parser",
        introspection.FastDocstringParser,
        Kind.PROXY,
        "kfp runs docstring_parser's four parsers on each component's docstring; a one-line "
        "docstring none of them finds an entry in gets the reST parser's result at once, as they would.",
    ),
    Patch(
        _PYTHON_OP,
        "_module_is_builtin_or_standard",
        copies.module_is_builtin_or_standard,
        Kind.COPY,
        "kfp's function line for line, remembered by name, computing the standard library's folder "
        "as distutils does instead of importing distutils.sysconfig (which imports setuptools).",
        copied_from="2eb373100e84d73fb9d6209105e775a31bf0aa76e4f901cf1ef13758f94b7e84",
    ),
    # -- Kubernetes objects and PipelineParams (copies.py, params.py) ----------------------------------
    *(
        Patch(
            module,
            "convert_k8s_obj_to_json",
            copies.k8s_obj_to_json,
            Kind.COPY,
            "kfp's function line for line, its per-call `from six import ...` and `from datetime "
            "import ...` done once: the same constants.",
            copied_from="8e0461b423b38f5f6df8f2db5772302f48b3a70e3c44a94da1f64720b910fdb9",
        )
        for module in (_K8S_HELPER, "kfp.compiler._op_to_template", _COMPILER)
    ),
    *(
        Patch(
            module,
            "extract_pipelineparams_from_any",
            copies.pipelineparams_from_any,
            Kind.COPY,
            "kfp's function line for line, not calling itself for a None item or attribute (whose "
            "answer, [], adds nothing).",
            copied_from="aaa3af64aa255c9104aa9d8a3b02c7d1f0a462e6d26c0316bad81e35231a2410",
        )
        for module in (_PARAM, _COMPILER)
    ),
    *(
        Patch(
            module,
            "match_serialized_pipelineparam",
            params.without_params_first,
            Kind.REWRITE,
            "kfp runs a regex over every string of every op; a string without the pattern's literal "
            "start `{{pipelineparam:op=` has no match: [] at once.",
        )
        for module in (_PARAM, "kfp.dsl")
    ),
    Patch(
        _PARAM,
        "_extract_pipelineparams",
        params.without_params_first,
        Kind.REWRITE,
        "As match_serialized_pipelineparam: a string without `{{pipelineparam:op=` gives [].",
    ),
    # -- names (names.py) -------------------------------------------------------------------------
    *(
        Patch(
            module,
            "sanitize_k8s_name",
            names.memoised,
            Kind.MEMO,
            "A few regex substitutions, asked ~60k times for 2,000 tasks, mostly for the same names: a "
            "pure function, remembered for a str name and a bool flag (kfp's call otherwise).",
        )
        for module in (_K8S_HELPER, _COMPILER, _PARAM)
    ),
    Patch(
        "kfp.components._naming",
        "_normalize_identifier_name",
        names.memoised,
        Kind.MEMO,
        "As sanitize_k8s_name: a pure function of its text, remembered.",
    ),
    Patch(
        "kfp.dsl.dsl_utils",
        "_sanitize_name",
        names.memoised,
        Kind.MEMO,
        "As sanitize_k8s_name: a pure function of its text, remembered.",
    ),
    # -- ops (ops.py, copies.py) -------------------------------------------------------------------
    Patch(
        "kfp.compiler._data_passing_rewriter",
        "copy",
        copies.FastCopy,
        Kind.PROXY,
        "The data-passing rewrite deep-copies the workflow; exact dicts, lists and immutable "
        "scalars are copied as copy.deepcopy does, by a walk of its own; the rest by copy.deepcopy.",
    ),
    Patch(
        "kfp.dsl._container_op",
        "dir",
        _use(ops.public_dir),
        Kind.REWRITE,
        "ContainerOp proxies its container's public callables, calling getattr on every name dir() "
        "lists and skipping those starting with `_`; they are left out beforehand.",
    ),
    Patch(
        "kubernetes.client.models.v1_container",
        "Configuration",
        _use(ops.shared_configuration),
        Kind.MEMO,
        "Each V1Container makes a kubernetes Configuration() (logger set-up, a CPU count) only to read "
        "its client_side_validation; kfp never changes it, so they share one.",
    ),
    Patch(
        "kfp.dsl._pipeline",
        "Pipeline.add_op",
        _use(ops.add_op),
        Kind.COPY,
        "kfp's method line for line, the unique name asked of the ops' keys instead of a new list "
        "of them searched for every op (quadratic): the same names.",
        copied_from="ff9d0a4e7b777ecd549e52a6b5231bdf1a66d8147e4258a9e47bf061a87404ef",
    ),
    Patch(
        "kfp.dsl._pipeline",
        "Pipeline.__enter__",
        ops.noting_enter,
        Kind.RELEASE,
        "kfp's method, the pipeline noted first within compile_source's released_ops, which empties "
        "its ops once the workflow is made (their reference cycles would wait for the cyclic GC).",
    ),
)


def patches_markdown() -> str:
    """The table as docs/kfp-accel.md shows it (a test keeps the two the same)."""
    rows = ["| kfp attribute | replaced by | kind | why the result is kfp's |", "|---|---|---|---|"]
    for patch in PATCHES:
        why = patch.why.replace("|", "\\|")
        rows.append(f"| `{patch.target}` | `{patch.where}` | {patch.kind.value} | {why} |")
    return "\n".join(rows) + "\n"
