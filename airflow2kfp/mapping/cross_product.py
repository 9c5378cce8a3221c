"""The step computing the items of a task mapped over a cross product (control_flow.Product).

Airflow maps `.expand(a=x(), b=y())` over every combination of the lists, the last argument fastest
(map index 0 is a[0], b[0]; 1 is a[0], b[1]; ...). KFP 1.8 cannot compile a loop over an upstream's
output nested in another loop, so this step, run before the task's loop, reads every list (an
upstream's output, a mapped task's collected results, a literal, a pipeline parameter) and returns
the combinations as one JSON list of objects, one field per mapped argument: the loop runs over
it, and each argument is the item's field (Argo's `{{item.<name>}}`), as Airflow passes it.

The same step computes the items of an argument mapped over a zip, map or concat of XComs (a
`bare` Product: the items as they are, not objects), as Airflow's lazy sequences do
(derived_items.py); a cross product may have such an argument too.

The inputs carry no type: an upstream's output may be declared a JsonArray (a placeholder's) or a
String, and both are passed as text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow2kfp.mapping import derived_items
from airflow2kfp.mapping.base import ComponentDef
from airflow2kfp.mapping.control_flow import Product
from airflow2kfp.mapping.fan_in import Collected, decoding
from airflow2kfp.model import DERIVED_XCOMS, XComRef, derived_inputs, derived_text
from airflow2kfp.names import python_identifier

PRODUCT_SUFFIX = " items"  # the product step's id: the task's id and this (no Airflow id has a space)


def product_id(task_id: str) -> str:
    return task_id + PRODUCT_SUFFIX


def derived_product(product: Product) -> bool:
    """Whether an argument of the product is a zip, map or concat of XComs (the step computes its items)."""
    return any(isinstance(loop.over, DERIVED_XCOMS) for _, loop in product.fields)


def product_comment(product: Product) -> str:
    """What the items step computes, for the comment above it in the generated pipeline."""
    if product.bare:
        return f"the items of {product.task_id}: {derived_text(product.fields[0][1].over)}, as Airflow computes them"
    return (
        f"the items of {product.task_id}: the cross product of {', '.join(n for n, _ in product.fields)}, "
        "as Airflow maps it"
    )


@dataclass(frozen=True)
class ItemsFunction:
    """The items step's function: plain Python, each input JSON text, returning the items as JSON."""

    name: str
    source: str
    # input name -> what it is given: an upstream's output (XComRef), a mapped task's results
    # (Collected), a literal list, or a pipeline parameter holding the list (ParamRef)
    inputs: Mapping[str, Any]


def product_component(product: Product, image: str) -> tuple[ComponentDef, dict[str, Any]]:
    """The step's component and its arguments (input name -> value: an upstream's output, a
    pipeline parameter, or a literal list as JSON text)."""
    function = items_function(product)
    prefix = "MAPPED_ITEMS" if product.bare else "CROSS_PRODUCT"
    key = f"{prefix}_{python_identifier(product.task_id).upper()}"  # no mapping's component key starts so
    code = "\n".join(
        [
            function.source,
            "",
            "",
            f"{key} = components.create_component_from_func({function.name}, base_image={image!r})",
        ]
    )
    what = "the items it is mapped over" if product.bare else "the cross product of its mapped arguments"
    component = ComponentDef(
        key=key,
        description=f"The items of Airflow task {product.task_id!r}: {what}.",
        code=code,
    )
    arguments = {
        name: json.dumps(list(value)) if isinstance(value, (list, tuple)) else value
        for name, value in function.inputs.items()
    }
    return component, arguments


def items_function(product: Product) -> ItemsFunction:
    """The function computing a product's items (for v1's lightweight component and v2's program)."""
    ident = python_identifier(product.task_id)
    # no mapping's step function ends so: theirs end in `_step`
    step = f"{ident}_items" if product.bare else f"{ident}_cross_product"
    reserved = {step, "_json", "_itertools", "_lists", "_combination", "_item"}
    derived = [loop.over for _, loop in product.fields if isinstance(loop.over, DERIVED_XCOMS)]
    definitions = derived_items.code(derived, reserved) if derived else None
    names: list[str] = []  # the step's parameters
    arguments: dict[str, Any] = {}
    decode: list[str] = []
    read: dict[XComRef, str] = {}  # an upstream's output a derived value reads -> its input

    def claim(base: str) -> str:
        name = python_identifier(base)
        while name in reserved:
            name = f"{name}_input"
        reserved.add(name)
        names.append(name)
        return name

    def input_of(ref: XComRef) -> str:
        if ref not in read:
            name = read[ref] = claim(ref.task_id if ref.key == "return_value" else f"{ref.task_id}_{ref.key}")
            decode.extend(
                decoding(name, ref.depth) if isinstance(ref, Collected) else [f"{name} = _json.loads({name})"]
            )
            arguments[name] = ref
        return read[ref]

    lists: list[str] = []  # each field's list
    for field, loop in product.fields:
        over = loop.over
        if isinstance(over, DERIVED_XCOMS):
            assert definitions is not None
            for ref in derived_inputs(over):
                input_of(ref)
            lists.append(f"_items({derived_items.expression(over, definitions.functions, input_of)})")
            continue
        name = claim(field)
        lists.append(name)
        if isinstance(over, Collected):
            decode += decoding(name, over.depth)
            arguments[name] = over
        else:  # an upstream's output, a literal list or a pipeline parameter holding one: JSON text
            decode.append(f"{name} = _json.loads({name})")
            arguments[name] = over
    fields = tuple(field for field, _ in product.fields)
    if product.bare:
        doc = (
            f'"""The items Airflow task {product.task_id!r} is mapped over: '
            f'{derived_text(product.fields[0][1].over)}, computed as Airflow does."""'
        )
        result = [
            "# an item a map function skipped (AirflowSkipException) is a skipped instance in Airflow: left out",
            f"return _json.dumps([_item for _item in {lists[0]} if _item is not _SKIP])",
        ]
    else:
        doc = (
            f'"""The items Airflow task {product.task_id!r} is mapped over: the cross product of '
            f'{", ".join(fields)}, in Airflow\'s map-index order (the last argument fastest)."""'
        )
        combinations = "_itertools.product(*_lists)"
        if definitions is not None:
            combinations += " if _SKIP not in _combination"
        result = [
            f"_lists = [{', '.join(lists)}]",
            f"return _json.dumps([dict(zip({fields!r}, _combination)) for _combination in {combinations}])",
        ]
    body = [
        doc,
        *(["import itertools as _itertools"] if not product.bare else []),
        "import json as _json",
        "",
        # each definition (a function, a class) apart, as in a file
        *(
            part
            for chunk in (definitions.definitions if definitions else ())
            for part in (chunk.rstrip("\n"), "")
        ),
        *decode,
        *result,
    ]
    source = "\n".join(
        [
            f"def {step}({', '.join(names)}) -> str:",
            *("\n".join(f"    {line}" if line else "" for line in chunk.split("\n")) for chunk in body),
        ]
    )
    return ItemsFunction(step, source, arguments)
