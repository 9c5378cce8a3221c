"""Outputs other steps read, declared on the steps that stand for their producers.

Each task is mapped on its own: a consumer wires in its producer's output (`producer.outputs['Output']`)
whatever the producer became. When the producer is a placeholder (a step that fails when run: the
KubernetesPodOperator whose image only Airflow's import knows), its component declares no output and
KFP's compiler fails on the missing one (KeyError). So the placeholder declares every output that
others read (the step that replaces it must write them), and each consumer says that the value it
reads comes from a placeholder (A2K336): it is approximated until the placeholder is replaced.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from airflow2kfp.diagnostics import diag
from airflow2kfp.mapping.base import Fidelity, Interpolated, TaskMapping, task_location
from airflow2kfp.mapping.xcom import XComText, output_name, text_output
from airflow2kfp.model import Dag, XComRef
from airflow2kfp.names import python_identifier


def _reads(value: Any) -> Iterator[tuple[str, str]]:
    """(producer task id, output name) for every upstream output in an argument value."""
    if isinstance(value, XComText):
        yield value.task_id, text_output(value.key)
    elif isinstance(value, XComRef):
        yield value.task_id, output_name(value.key)
    elif isinstance(value, Interpolated):
        for part in value.parts:
            yield from _reads(part)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _reads(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _reads(item)


def wire_outputs(dag: Dag, mappings: Mapping[str, TaskMapping]) -> dict[str, TaskMapping]:
    """The mappings, with each placeholder declaring the outputs other steps read from it, and each
    of those steps approximated with an A2K331 diagnostic that says so."""
    result = dict(mappings)
    for consumer in dag.tasks:
        mapping = result[consumer.task_id]
        found = []
        for producer, output in dict.fromkeys(
            r for value in mapping.arguments.values() for r in _reads(value)
        ):
            source = result.get(producer)
            if (
                source is None
                or source.fidelity is not Fidelity.PLACEHOLDER
                or source.component is None
                or source.component.spec is None
            ):
                continue
            spec = dict(source.component.spec)
            outputs = list(spec.get("outputs", []))
            if all(o.get("name") != output for o in outputs):
                spec["outputs"] = [*outputs, {"name": output}]
                # a component of its own: other placeholders declare other outputs
                suffix = "_" + python_identifier(producer).upper()
                key = (
                    source.component.key
                    if source.component.key.endswith(suffix)
                    else source.component.key + suffix
                )
                result[producer] = replace(source, component=replace(source.component, key=key, spec=spec))
            found.append(
                diag(
                    "A2K336",
                    f"reads the XCom of {producer!r} (output {output}), which is a placeholder: "
                    f"the step gets the value only once {producer!r} is replaced by a step that writes "
                    f"its output {output}",
                    **task_location(consumer),
                )
            )
        if found:
            mapping = result[consumer.task_id]
            result[consumer.task_id] = replace(
                mapping,
                diagnostics=mapping.diagnostics + tuple(found),
                fidelity=Fidelity.APPROXIMATED if mapping.fidelity is Fidelity.DIRECT else mapping.fidelity,
                notes=mapping.notes + ("reads the output of a placeholder",),
            )
    return result
