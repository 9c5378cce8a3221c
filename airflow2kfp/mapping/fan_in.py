"""A mapped task's results, collected for what comes after it (Airflow's fan-in after `.expand`).

Airflow hands a task downstream of a mapped task the list of every instance's result, in map-index
order. In the workflow a mapped task is a step inside a loop (`dsl.ParallelFor`, Argo `withItems` /
`withParam`), and Argo collects a loop's output parameters for a task outside it:
`{{tasks.<loop>.outputs.parameters.<name>}}` is a JSON list of each iteration's value (Argo's
variables reference, "When the previous task uses withItems or withParams, this contains a JSON
array of the output parameter values of each invocation"), sorted by iteration.

Each value is the text the step wrote: the JSON of its result. Argo puts the values into the list
as they are when every one of them is a JSON object or array, else as strings. So a value that is a
string in the list is JSON text to decode, and one that is not is already decoded; with several
loops around the producer, each one adds a level of lists, flattened in order (Airflow maps over
the cross product, last argument fastest).

kfp 1.8 writes `{{tasks.<loop>.outputs.parameters.<name>}}` itself for an argument taken from a step
inside a loop, but neither declares the output on the loop's inner steps nor lets a loop iterate
over it: the generated file's compile step does both (airflow2kfp/emit/postcompile.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow2kfp.model import XComRef


@dataclass(frozen=True)
class Collected(XComRef):
    """Every instance's value of `task_id`'s XCom `key`, as a list; `depth` is the number of loops
    around the producer that the consumer is not in."""

    depth: int = 1


def decoding(name: str, depth: int, text: bool = False) -> list[str]:
    """Statements turning the collected text in `name` into the list Airflow passes; `text`: the
    producer writes its values as text (a Bash task's last line), not JSON."""
    comment = "# every mapped instance's result, in map order: Argo collects the loop's outputs"
    # text values are the list's items as they are; JSON ones are read (a nested level is a list already)
    last = (
        f"{name} = list({{}})"
        if text
        else f"{name} = [_json.loads(_v) if isinstance(_v, str) else _v for _v in {{}}]"
    )
    if depth == 1:
        return [comment, last.format(f"_json.loads({name})")]
    return [
        comment + f", one list per loop ({depth}), flattened in order",
        f"{name} = [_json.loads({name})]",
        f"for _level in range({depth}):",
        f"    {name} = [_v for _l in {name} for _v in (_json.loads(_l) if isinstance(_l, str) else _l)]",
        last.format(name),
    ]
