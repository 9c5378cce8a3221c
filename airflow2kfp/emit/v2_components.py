"""The v1 components a mapping made, as KFP v2 components: one source of truth, two targets.

A mapping describes each component once (`ComponentDef`): a v1 component spec (container, inputs,
outputs, `inputValue`/`outputPath` placeholders) or the Python source of a lightweight component
(`def <name>_step(...)` followed by `components.create_component_from_func(...)`, built by
mapping/python.py with the bundled callable and the run-context shim). For the v2 target:

- a spec becomes a `@dsl.container_component` function returning `dsl.ContainerSpec` with the same
  image, command and args; `inputValue` becomes the parameter, `outputPath` a `dsl.OutputPath`
  parameter, `concat` an f-string-free `dsl.ConcatPlaceholder`, `if`/`isPresent` a
  `dsl.IfPresentPlaceholder`;
- Python source keeps its function body byte for byte (the same bundling and shim run in both
  targets). Only the header changes: an `InputPath()` input `x_path` (a file in v1) becomes the
  parameter `x` and the body's first lines write it to a file named by `x_path`, so the body reads
  it as in v1; `OutputPath()` becomes `dsl.OutputPath(str)`; and the factory call becomes
  `dsl.component(<function>, base_image=..., packages_to_install=...)`.

What cannot be translated raises `Untranslatable` with the reason; the caller reports it.
"""

from __future__ import annotations

import ast
import json
import keyword
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow2kfp.names import python_identifier

if TYPE_CHECKING:
    from airflow2kfp.mapping.cross_product import ItemsFunction

V1_TYPES = {
    "String": "str",
    "Integer": "int",
    "Float": "float",
    "Boolean": "bool",
    "Bool": "bool",
    "JsonObject": "dict",
    "Dict": "dict",
    "JsonArray": "list",
    "List": "list",
}


# kfp 2 reserves the parameter name `Output` of a container component: v1's `Output` is this there
CONTAINER_OUTPUT = "output"


class Untranslatable(Exception):
    """A component the v2 target cannot express; the message says why."""


@dataclass(frozen=True)
class V2Component:
    key: str  # the module-level name, as in v1
    code: str  # Python source defining `key`
    inputs: Mapping[str, str]  # v1 input name -> the v2 component's parameter name
    outputs: Mapping[str, str]  # v1 output name -> the v2 output name
    imports: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()  # the spec's container env: set on each task
    # v1 output name -> the v2 output holding it as a list, for a `dsl.ParallelFor` over it
    items: Mapping[str, str] = field(default_factory=dict)
    input_types: Mapping[str, str] = field(default_factory=dict)  # v1 input name -> its annotation


def _annotation(v1_type: Any) -> str:
    return V1_TYPES.get(str(v1_type), "str") if v1_type is not None else "str"


def container_component(
    key: str,
    spec: Mapping[str, Any],
    description: str,
    item_outputs: Collection[str] = (),
    function: str | None = None,
    typed_inputs: Mapping[str, str] | None = None,
) -> V2Component:
    """A v1 component spec as a `@dsl.container_component` function bound to `key` (named `function`,
    default: the key in lower case). Each output in `item_outputs` is a list (`dsl.OutputPath(list)`):
    a `dsl.ParallelFor` loops over it, and KFP reads the file as JSON, as Argo's withParam does. Each
    input in `typed_inputs` has that type instead (`list`, `dict`: a `dsl.Collected` or a loop item of
    that type; KFP renders it into the command as JSON, as Argo renders v1's)."""
    implementation = spec.get("implementation") or {}
    container = implementation.get("container") if isinstance(implementation, Mapping) else None
    if not isinstance(container, Mapping) or "image" not in container:
        raise Untranslatable("the component is not a container")
    names: dict[str, str] = {}
    taken = {"dsl"}

    def claim(raw: str) -> str:
        # the v1 name itself where Python allows it: outputs are referred to by it (`outputs['Output']`)
        if raw == "Output":
            name = CONTAINER_OUTPUT
        else:
            name = raw if raw.isidentifier() and not keyword.iskeyword(raw) else python_identifier(raw)
        while name in taken:
            name += "_"
        taken.add(name)
        names[raw] = name
        return name

    parameters: list[str] = []
    inputs: dict[str, str] = {}
    types: dict[str, str] = {}
    for item in spec.get("inputs") or []:
        name = claim(str(item["name"]))
        inputs[str(item["name"])] = name
        kind = (typed_inputs or {}).get(str(item["name"])) or _annotation(item.get("type"))
        types[str(item["name"])] = kind
        text = f"{name}: {kind}"
        if "default" in item:
            text += f" = {_default(item['default'], item.get('type'))}"
        elif item.get("optional"):
            text += " = None"
        parameters.append(text)
    outputs: dict[str, str] = {}
    output_parameters: list[str] = []
    for item in spec.get("outputs") or []:
        name = claim(str(item["name"]))
        outputs[str(item["name"])] = name
        kind = "list" if item["name"] in item_outputs else _annotation(item.get("type"))
        output_parameters.append(f"{name}: dsl.OutputPath({kind})")
    # parameters with defaults last: Python requires it
    ordered = (
        [p for p in parameters if "=" not in p] + output_parameters + [p for p in parameters if "=" in p]
    )
    for unsupported in ("fileOutputs",):
        if container.get(unsupported):
            raise Untranslatable(f"the container's {unsupported} have no v2 equivalent")
    command = [_placeholder(part, inputs, outputs) for part in container.get("command") or []]
    args = [_placeholder(part, inputs, outputs) for part in container.get("args") or []]
    function = function or python_identifier(key.lower())  # unique per file, as the keys are
    spec_args = [f"image={container['image']!r}"]
    if command:
        spec_args.append(f"command=[{', '.join(command)}]")
    if args:
        spec_args.append(f"args=[{', '.join(args)}]")
    doc = str(spec.get("description") or description).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    signature = ", ".join(ordered)
    body = ",\n        ".join(spec_args)
    code = (
        f'@dsl.container_component\ndef {function}({signature}):\n    """{doc}"""\n'
        f"    return dsl.ContainerSpec(\n        {body},\n    )\n\n\n{key} = {function}"
    )
    env = tuple(
        (str(e["name"]), str(e.get("value", "")))
        for e in container.get("env") or []
        if isinstance(e, Mapping) and "name" in e
    )
    items = {name: outputs[name] for name in item_outputs if name in outputs}
    return V2Component(key, code, inputs, outputs, env=env, items=items, input_types=types)


def _default(value: Any, v1_type: Any) -> str:
    annotation = _annotation(v1_type)
    if annotation in ("int", "float", "bool") and isinstance(value, str):
        try:
            return (
                repr({"int": int, "float": float}[annotation](value))
                if annotation != "bool"
                else repr(value.lower() == "true")
            )
        except (KeyError, ValueError):
            return repr(value)
    return repr(value)


def _placeholder(part: Any, inputs: Mapping[str, str], outputs: Mapping[str, str]) -> str:
    """Python source for one command/args element of a v1 spec."""
    if isinstance(part, str):
        return _text(part)
    if isinstance(part, (int, float)) and not isinstance(part, bool):
        return repr(str(part))
    if isinstance(part, Mapping) and len(part) == 1:
        ((kind, value),) = part.items()
        if kind == "inputValue" and value in inputs:
            return inputs[value]
        if kind == "outputPath" and value in outputs:
            return outputs[value]
        if kind == "concat" and isinstance(value, Sequence):
            return f"dsl.ConcatPlaceholder([{', '.join(_placeholder(v, inputs, outputs) for v in value)}])"
        if kind == "if" and isinstance(value, Mapping):
            condition = value.get("cond")
            if (
                isinstance(condition, Mapping)
                and set(condition) == {"isPresent"}
                and condition["isPresent"] in inputs
            ):
                then = [_placeholder(v, inputs, outputs) for v in value.get("then") or []]
                otherwise = [_placeholder(v, inputs, outputs) for v in value.get("else") or []]
                return (
                    f"dsl.IfPresentPlaceholder(input_name={inputs[condition['isPresent']]!r}, "
                    f"then=[{', '.join(then)}], else_=[{', '.join(otherwise)}])"
                )
    raise Untranslatable(f"no v2 placeholder for {part!r}")


def _text(value: str) -> str:
    """A literal: multi-line programs as triple-quoted strings, readable in the generated file."""
    if "\n" in value and '"""' not in value and not value.endswith(("\\", '"')):
        return '"""' + value.replace("\\", "\\\\") + '"""'
    return repr(value)


# -- Python lightweight components ---------------------------------------------------------------


# a list or dict input as the JSON text v1's step gets from Argo (Go's compact JSON, keys sorted)
JSON_TEXT = "__import__('json').dumps({0}, sort_keys=True, separators=(',', ':'))"

# the loop items of a mapped task, as Argo's {{item}} renders each for v1: text as it is, other values as JSON
ITEMS_HELPER = (
    "def _airflow2kfp_items(value):",
    '    """The list a mapped task loops over: text as it is, other values as JSON (Argo\'s {{item}})."""',
    "    import json",
    "    if not isinstance(value, (list, tuple)):",
    "        raise TypeError(f'a mapped task loops over a list; this step returned {type(value).__name__}')",
    "    return [v if isinstance(v, str) else json.dumps(v, sort_keys=True, separators=(',', ':')) for v in value]",
)


def python_component(
    key: str,
    code: str,
    item_outputs: Collection[str] = (),
    function_name: str | None = None,
    typed_inputs: Mapping[str, str] | None = None,
) -> V2Component:
    """The v1 lightweight component source `code` (mapping/python.py's `_code`) for kfp 2.x, its step
    function renamed `function_name` when given. Each output in `item_outputs` also gets a list output
    `<name>_items` that a `dsl.ParallelFor` loops over (v1 returns JSON text, which Argo's withParam
    parses; KFP v2 loops over a list): the step's last statement, the generated return, gets it. Each
    input in `typed_inputs` is declared with that type (`list`, `dict`: a `dsl.Collected` or a loop
    item of that type, which KFP v2 passes as such) and turned into the JSON text v1's step gets from
    Argo (compact, keys sorted) before the body runs."""
    try:
        module = ast.parse(code)
    except SyntaxError as error:
        raise Untranslatable(f"the component source does not parse: {error}") from None
    lines = code.splitlines()
    factory = next(
        (
            node
            for node in module.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and _called(node.value) == "create_component_from_func"
        ),
        None,
    )
    if factory is None or not factory.value.args or not isinstance(factory.value.args[0], ast.Name):  # type: ignore[attr-defined]
        raise Untranslatable("no create_component_from_func call found")
    call: ast.Call = factory.value  # type: ignore[assignment]
    v1_name = call.args[0].id  # type: ignore[attr-defined]
    function = next(
        (node for node in module.body if isinstance(node, ast.FunctionDef) and node.name == v1_name), None
    )
    if function is None:
        raise Untranslatable(f"function {v1_name} not found")
    function_name = function_name or v1_name
    if function.lineno != (function.decorator_list[0].lineno if function.decorator_list else function.lineno):
        raise Untranslatable("decorated step functions are not translated")
    header_end = function.body[0].lineno - 1  # the header's last line (1-based) is before the body
    if function.lineno != header_end:
        raise Untranslatable("the step function's header spans several lines")

    inputs: dict[str, str] = {}
    types: dict[str, str] = {}
    parameters: list[str] = []
    prologue: list[str] = []
    arguments = function.args
    if arguments.vararg or arguments.kwarg or arguments.kwonlyargs or arguments.posonlyargs:
        raise Untranslatable("the step function takes *args, **kwargs or keyword-only arguments")
    defaults = dict(
        zip(
            [a.arg for a in arguments.args][len(arguments.args) - len(arguments.defaults) :],
            arguments.defaults,
        )
    )
    for argument in arguments.args:
        annotation = ast.get_source_segment(code, argument.annotation) if argument.annotation else None
        default = (
            f" = {ast.get_source_segment(code, defaults[argument.arg])}" if argument.arg in defaults else ""
        )
        kind = _called(argument.annotation) if isinstance(argument.annotation, ast.Call) else None
        typed = (typed_inputs or {}).get(
            argument.arg.removesuffix("_path").removesuffix("_file") if kind == "InputPath" else argument.arg
        )
        if kind == "InputPath":
            name = argument.arg.removesuffix("_path").removesuffix("_file") or argument.arg
            inputs[name] = name
            types[name] = typed or "str"
            parameters.append(f"{name}: {typed or 'str'}{default}")
            if typed:
                prologue.append(f"{name} = {JSON_TEXT.format(name)}")
            # v1 hands the value over as a file: the body still reads it from one
            prologue += [
                "with open(_airflow2kfp_tempfile.mkstemp()[1], 'w') as _airflow2kfp_value:",
                f"    _airflow2kfp_value.write({name})",
                f"{argument.arg} = _airflow2kfp_value.name",
            ]
        elif kind == "OutputPath":
            parameters.append(f"{argument.arg}: dsl.OutputPath(str){default}")
        else:
            inputs[argument.arg] = argument.arg
            types[argument.arg] = typed or annotation or "str"
            if typed:
                parameters.append(f"{argument.arg}: {typed}{default}")
                prologue.append(f"{argument.arg} = {JSON_TEXT.format(argument.arg)}")
            else:
                parameters.append(f"{argument.arg}{': ' + annotation if annotation else ''}{default}")
    if any("_airflow2kfp_tempfile" in line for line in prologue):
        prologue.insert(0, "import tempfile as _airflow2kfp_tempfile")
    returns = f" -> {ast.get_source_segment(code, function.returns)}" if function.returns else ""
    outputs = {name: name for name in _output_names(function)}
    items: dict[str, str] = {}
    if item_outputs:
        returns, statement, items = _with_items(code, function, outputs, item_outputs)
        last = function.body[-1]
        lines = list(lines)
        lines[last.lineno - 1 : last.end_lineno] = [" " * last.col_offset + statement] + [""] * (
            (last.end_lineno or last.lineno) - last.lineno
        )
        prologue += list(ITEMS_HELPER)
        outputs.update({name: name for name in items.values()})
    header = f"def {function_name}({', '.join(parameters)}){returns}:"
    indent = " " * function.body[0].col_offset
    first = function.body[0]
    after_doc = (
        (first.end_lineno or first.lineno)
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        )
        else function.lineno
    )
    new_lines = lines[: function.lineno - 1] + [header] + lines[function.lineno : after_doc]
    new_lines += [indent + line for line in prologue] + lines[after_doc : factory.lineno - 1]
    options = ", ".join(ast.get_source_segment(code, k) or "" for k in call.keywords)
    new_lines.append(f"{key} = dsl.component({function_name}{', ' + options if options else ''})")
    new_lines += lines[(factory.end_lineno or factory.lineno) :]
    imports = ("from typing import NamedTuple",) if "NamedTuple(" in returns else ()
    return V2Component(
        key, "\n".join(new_lines).rstrip("\n"), inputs, outputs, imports, items=items, input_types=types
    )


def _with_items(
    code: str, function: ast.FunctionDef, outputs: Mapping[str, str], item_outputs: Collection[str]
) -> tuple[str, str, dict[str, str]]:
    """(the return annotation, the return statement, v1 output -> its list output) of a step whose
    outputs in `item_outputs` are looped over. The generated return is `return _json.dumps(X)` (one
    output) or `return (_json.dumps(X), ...)` (a NamedTuple of outputs); each looped output X also
    returns `_airflow2kfp_items(X)` as `<name>_items`."""
    last = function.body[-1]
    if not isinstance(last, ast.Return) or last.value is None:
        raise Untranslatable("the step's last statement is not its return")
    values = list(last.value.elts) if isinstance(last.value, ast.Tuple) else [last.value]
    names = list(outputs)
    if len(values) != len(names):
        raise Untranslatable("the step's return does not match its outputs")
    fields = [(name, "str") for name in names]
    texts = [ast.get_source_segment(code, value) or "" for value in values]
    items: dict[str, str] = {}
    for name in names:
        if name not in item_outputs:
            continue
        value = values[names.index(name)]
        if not (isinstance(value, ast.Call) and _called(value) == "dumps" and len(value.args) == 1):
            raise Untranslatable(f"output {name} is not returned as JSON text")
        items[name] = f"{name}_items"
        fields.append((items[name], "list"))
        texts.append(f"_airflow2kfp_items({ast.get_source_segment(code, value.args[0])})")
    missing = set(item_outputs) - set(items)
    if missing:
        raise Untranslatable(f"no output {', '.join(sorted(missing))} to loop over")
    annotation = "NamedTuple('Outputs', [" + ", ".join(f"({f!r}, {t})" for f, t in fields) + "])"
    return f" -> {annotation}", "return (" + "".join(f"{t}, " for t in texts) + ")", items


def _called(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Call):
        target = node.func
        if isinstance(target, ast.Attribute):
            return target.attr
        if isinstance(target, ast.Name):
            return target.id
    return None


def _output_names(function: ast.FunctionDef) -> list[str]:
    """What the function returns, as output names: NamedTuple fields, else `Output`."""
    returns = function.returns
    if returns is None:
        return []
    if isinstance(returns, ast.Call) and _called(returns) == "NamedTuple" and len(returns.args) == 2:
        fields = returns.args[1]
        if isinstance(fields, (ast.List, ast.Tuple)):
            return [
                str(item.elts[0].value)
                for item in fields.elts
                if isinstance(item, ast.Tuple) and isinstance(item.elts[0], ast.Constant)
            ]
    if isinstance(returns, ast.Constant) and returns.value is None:
        return []
    return ["Output"]


V1_ONLY_IMPORTS = ("from kfp.components import", "from kfp import components", "import kfp.components")


def v2_imports(imports: Sequence[str]) -> tuple[str, ...]:
    """A component's import lines for the v2 file: kfp 1's own are not needed (dsl has them)."""
    return tuple(line for line in imports if not line.startswith(V1_ONLY_IMPORTS))


# -- the logical date of a v2 run ---------------------------------------------------------------

# (no KFP placeholder may appear in it: the launcher substitutes them in the command)
RUN_TIME_PROGRAM = '''\
import datetime, os, sys

def moment(text):
    """A time KFP resolved (RFC 3339), else None (a placeholder this backend left as written)."""
    if not text or text.startswith("{{"):
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(datetime.timezone.utc)

when = moment(sys.argv[2]) or moment(sys.argv[1])
rest = sys.argv[3:]
for form, given, path in zip(rest[0::3], rest[1::3], rest[2::3]):
    if given and not given.startswith("[["):
        value = given
    elif when is None:
        sys.exit("this KFP backend resolves neither the run's schedule-time nor its create-time placeholder "
                 "(KFP 2.16+ does): pass the logical-date parameters")
    else:
        value = when.strftime(form)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as stream:
        stream.write(value)
'''
# Go layout elements the converter writes (mapping/templates.py) -> strftime; KFP's times are UTC
GO_TO_STRFTIME = {
    "2006": "%Y",
    "01": "%m",
    "02": "%d",
    "15": "%H",
    "04": "%M",
    "05": "%S",
    "Z07:00": "Z",
    "-07:00": "+00:00",
    "Z0700": "Z",
    "-0700": "+0000",
}


def strftime_of(layout: str) -> str:
    """The strftime format of a Go time layout made of GO_TO_STRFTIME's elements (UTC)."""
    out, index = [], 0
    elements = sorted(GO_TO_STRFTIME, key=len, reverse=True)
    while index < len(layout):
        element = next((e for e in elements if layout.startswith(e, index)), None)
        if element is None:
            out.append(layout[index].replace("%", "%%"))
            index += 1
        else:
            out.append(GO_TO_STRFTIME[element])
            index += len(element)
    return "".join(out)


def run_time_component(key: str, image: str, layouts: Mapping[str, str]) -> V2Component:
    """A step giving each logical-date parameter (name -> Go layout) its value: the one the run was
    given, else the run's scheduled or creation time in that layout. KFP v2's API server does not
    substitute `[[CurrentTime...]]` in a v2 run's parameters as it does for v1 (v2_template.go), so v2
    has no run macro for a default: the step reads KFP's time placeholders instead."""
    inputs = {name: f"given_{name}" for name in layouts}
    parameters = ["created: str", "scheduled: str"] + [f"given_{name}: str" for name in layouts]
    parameters += [f"{name}: dsl.OutputPath(str)" for name in layouts]
    args = ["created", "scheduled"]
    for name, layout in layouts.items():
        args += [repr(strftime_of(layout)), f"given_{name}", name]
    function = python_identifier(key.lower())
    code = (
        f"@dsl.container_component\ndef {function}({', '.join(parameters)}):\n"
        '    """The logical date of the run, as each parameter needs it: given, else the scheduled or '
        'creation time."""\n'
        f"    return dsl.ContainerSpec(\n        image={image!r},\n"
        f"        command=['python3', '-c', {_text(RUN_TIME_PROGRAM)}],\n"
        f"        args=[{', '.join(args)}],\n    )\n\n\n{key} = {function}"
    )
    return V2Component(key, code, inputs, {name: name for name in layouts})


# the list a loop over a mapped task's results runs over (KFP v2 loops over no dsl.Collected)
GATHER_PROGRAM = """\
import json, os, sys
os.makedirs(os.path.dirname(sys.argv[2]), exist_ok=True)
with open(sys.argv[2], "w") as stream:
    json.dump(json.loads(sys.argv[1]), stream)
"""


def gather_component(key: str, image: str) -> V2Component:
    """A step turning a `dsl.Collected` (a mapped task's results) into a list output a `dsl.ParallelFor`
    can loop over: the same items, in the same order, as v1's Argo loop over the aggregated outputs."""
    function = python_identifier(key.lower())
    code = (
        f"@dsl.container_component\ndef {function}(values: list, output: dsl.OutputPath(list)):\n"
        '    """A mapped task\'s results as one list, for the loop over them (KFP v2 loops over no '
        'dsl.Collected)."""\n'
        f"    return dsl.ContainerSpec(\n        image={image!r},\n"
        f"        command=['python3', '-c', {_text(GATHER_PROGRAM)}, values, output],\n    )\n\n\n"
        f"{key} = {function}"
    )
    return V2Component(
        key, code, {"values": "values"}, {"Output": CONTAINER_OUTPUT}, input_types={"values": "list"}
    )


# the items of a task mapped over a cross product (control_flow.Product): argv[1] the argument names,
# argv[2] the output file, then each argument's list as JSON; the last argument varies fastest. Each
# field is text, as Argo's {{item.<name>}} renders it for v1 (text as it is, other values as compact
# JSON): the steps declare a loop value a string input and decode it; kfp 2 selects a field as its
# JSON value (a number from a literal list), which KFP's backend turns into text but kfp.local passes
# on as it is (a float where the step reads text)
PRODUCT_PROGRAM = """\
import itertools, json, os, sys
names, output = json.loads(sys.argv[1]), sys.argv[2]
lists = [json.loads(value) for value in sys.argv[3:]]
def text(value):
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
os.makedirs(os.path.dirname(output), exist_ok=True)
with open(output, "w") as stream:
    json.dump([{name: text(value) for name, value in zip(names, combination)}
               for combination in itertools.product(*lists)], stream)
"""


def product_component(key: str, image: str, names: Sequence[str]) -> V2Component:
    """The step computing the items of a task mapped over several lists: their cross product, in
    Airflow's map-index order, as one list of objects (one field per mapped argument)."""
    function = python_identifier(key.lower())
    parameters = [f"values_{index}: list" for index in range(len(names))]
    code = (
        f"@dsl.container_component\ndef {function}({', '.join(parameters)}, output: dsl.OutputPath(list)):\n"
        f'    """The cross product of {", ".join(names)}, as Airflow maps over it."""\n'
        f"    return dsl.ContainerSpec(\n        image={image!r},\n"
        f"        command=['python3', '-c', {_text(PRODUCT_PROGRAM)}, {json.dumps(list(names))!r}, output, "
        f"{', '.join(f'values_{index}' for index in range(len(names)))}],\n    )\n\n\n"
        f"{key} = {function}"
    )
    inputs = {f"values_{index}": f"values_{index}" for index in range(len(names))}
    return V2Component(
        key, code, inputs, {"Output": CONTAINER_OUTPUT}, input_types=dict.fromkeys(inputs, "list")
    )


def items_component(key: str, image: str, function: ItemsFunction, texts: bool) -> V2Component:
    """The step computing the items of a task mapped over a zip, map or concat of XComs (control_flow
    Product with such a field): v1's function (cross_product.items_function), run as a program on
    each input's JSON text (an upstream's output as its step writes it); argv[1] the output file.
    `texts`: the loop passes each item on as it is (one argument), as Argo's {{item}} renders it for
    v1: text as it is, other values as JSON; else each item is a cross product's object, each field
    rendered so (Argo's {{item.<name>}}, see PRODUCT_PROGRAM)."""
    text = "v if isinstance(v, str) else json.dumps(v, sort_keys=True, separators=(',', ':'))"
    finish = "items = json.loads(found)\n"
    if texts:
        finish += f"items = [{text} for v in items]\n"
    else:
        finish += f"items = [{{k: {text} for k, v in item.items()}} for item in items]\n"
    program = (
        "import json, os, sys\n\n\n"
        + function.source
        + f"\n\n\nfound = {function.name}(*sys.argv[2:])\n"
        + finish
        + "os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)\n"
        + 'with open(sys.argv[1], "w") as stream:\n    json.dump(items, stream)\n'
    )
    names = [f"values_{index}" for index in range(len(function.inputs))]
    types = {
        # a literal, a pipeline parameter, a mapped task's results (dsl.Collected): lists; an output: text
        name: "list"
        if isinstance(value, (list, tuple)) or type(value).__name__ in ("ParamRef", "Collected")
        else "str"
        for name, value in zip(names, function.inputs.values())
    }
    function_name = python_identifier(key.lower())
    code = (
        f"@dsl.container_component\ndef {function_name}("
        f"{''.join(f'{name}: {types[name]}, ' for name in names)}output: dsl.OutputPath(list)):\n"
        '    """The items Airflow maps the task over, as Airflow computes them."""\n'
        f"    return dsl.ContainerSpec(\n        image={image!r},\n"
        f"        command=['python3', '-c', {_text(program)}, output{''.join(f', {name}' for name in names)}],\n"
        f"    )\n\n\n{key} = {function_name}"
    )
    return V2Component(key, code, dict(zip(names, names)), {"Output": CONTAINER_OUTPUT}, input_types=types)


def empty_list_component(key: str, image: str) -> V2Component:
    """The `dsl.Else` branch of a sub-pipeline that passes a mapped task's results out of its `dsl.If`
    (`dsl.OneOf` needs a value from each branch): no results, an empty list."""
    function = python_identifier(key.lower())
    code = (
        f"@dsl.container_component\ndef {function}(output: dsl.OutputPath(list)):\n"
        '    """No results (the tasks under the condition did not run): an empty list."""\n'
        f"    return dsl.ContainerSpec(\n        image={image!r},\n"
        f"        command=['sh', '-c', 'printf \"[]\" > \"$0\"', output],\n    )\n\n\n{key} = {function}"
    )
    return V2Component(key, code, {}, {"Output": CONTAINER_OUTPUT})
