"""The post-compile step: Argo `depends` and `failFast` written into the KFP compiler's workflow.

KFP v1 only emits `dependencies` (an upstream Succeeded, Skipped or Daemoned), so trigger rules are
recorded in the generated Python (`trigger_rule(task, rule, depends)`) and written into the
compiled workflow here; everything else the compiler wrote is kept as it was (the workflow is
read with PyYAML's safe loader and written in kfp's own YAML style, `dump_yaml` below, so the file's
bytes are what kfp's compiler writes: the generated file uses kfp's public API only).

Why `dependencies` stays where no rule is recorded: `dependencies: [a]` means
`a.Succeeded || a.Skipped || a.Daemoned`. The converter emits no daemons, and it records a rule
for every task with an upstream that can end Skipped (a `when`) or Omitted in place of Airflow's
skipped; for the other tasks `a.Skipped` can never hold, so `dependencies` is exactly all_success
(an upstream that failed, or was Omitted for a failure, blocks both).

`failFast: false` on every DAG template: Argo's default stops scheduling new tasks after the first
failure, while Airflow goes on running every task whose trigger rule still holds.

The parts between the markers are copied verbatim into the generated pipeline files that use them
(`support_source`), so that `python <file>` applies the same rewrite: the YAML reading and writing
and `failFast` in every file, the trigger rules only where a task has one, the loop outputs only
where a mapped task's results are passed on. They may use only the standard library and PyYAML (a
dependency of kfp), which the generated file imports as `yaml` (`re` is imported where it is used).
"""

from __future__ import annotations

import yaml


# --- io: begin ---
def load_yaml(stream):
    """The compiled workflow, as kfp reads YAML (PyYAML's safe loader; mappings keep their order)."""
    return yaml.safe_load(stream)


class _KfpStyle(yaml.SafeDumper):
    """kfp's YAML style (kfp.compiler writes workflows so): mappings in their order, text over several
    lines as a `|` block, text YAML 1.1 would read as a boolean (yes, off...) in double quotes."""

    def represent_text(self, text):
        style = "|" if "\n" in text else None
        if text.lower() in ("y", "n", "yes", "no", "true", "false", "on", "off"):
            style = '"'
        return self.represent_scalar("tag:yaml.org,2002:str", text, style)


_KfpStyle.add_representer(str, _KfpStyle.represent_text)
_KfpStyle.add_multi_representer(dict, yaml.SafeDumper.represent_dict)  # OrderedDict as a plain mapping


def dump_yaml(workflow):
    """The workflow's YAML text, byte for byte as kfp's compiler writes it."""
    return yaml.dump(workflow, Dumper=_KfpStyle, default_flow_style=None, sort_keys=False)


def run_on_after_failures(workflow):
    """`failFast: false` on every DAG template: Argo's default stops starting tasks after the first
    failure, while Airflow goes on running every task whose trigger rule still holds."""
    for template in workflow["spec"]["templates"]:
        if "dag" in template:
            template["dag"]["failFast"] = False
    return workflow


# --- io: end ---


# --- dag paths: begin ---
def _dag_paths(templates, entrypoint):
    """Leaf task name -> [(DAG template, task there), ...] from the entrypoint down to the leaf."""
    paths, pending = {}, [(entrypoint, [])]
    while pending:
        template_name, prefix = pending.pop()
        for task in templates[template_name]["dag"]["tasks"]:
            path = prefix + [(template_name, task["name"])]
            if "dag" in templates[task["template"]]:
                pending.append((task["template"], path))
            else:
                paths[task["name"]] = path
    return paths


# --- dag paths: end ---


# --- trigger rules: begin ---
_ARGO_RESULT = r"([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.(Succeeded|Failed|Errored|Skipped|Omitted|Daemoned)\b"


def apply_trigger_rules(workflow, rules):
    """Give each task in `rules` (KFP task name -> depends over KFP task names) its Argo `depends`.

    A task inside a condition or loop is represented in the DAG that holds its upstreams by the
    condition or loop node around it: the expression is written there, with every task it names
    replaced by the node that stands for it in that DAG. A node standing for several tasks (the loop
    of a mapped task group) gets all their expressions, and its other dependencies, joined by &&.
    """
    import re

    templates = {template["name"]: template for template in workflow["spec"]["templates"]}
    paths = _dag_paths(templates, workflow["spec"]["entrypoint"])
    found = {}  # (DAG template, node) -> [(task name, rewritten expression, the nodes it names)]
    for name, expression in sorted(rules.items()):
        named = {match.group(1) for match in re.finditer(_ARGO_RESULT, expression)}
        levels = set()
        for other in named:
            common = 0
            while paths[other][common] == paths[name][common]:
                common += 1
            levels.add(common)
        if len(levels) != 1:
            raise ValueError(f"{name}: its upstreams are not all in one DAG template ({expression})")
        (level,) = levels
        stand_in = {other: paths[other][level][1] for other in named}
        rewritten = re.sub(
            _ARGO_RESULT, lambda m, nodes=stand_in: f"{nodes[m.group(1)]}.{m.group(3)}", expression
        )
        found.setdefault(paths[name][level], []).append((name, rewritten, set(stand_in.values())))
    for (template_name, node_name), entries in sorted(found.items()):
        tasks = templates[template_name]["dag"]["tasks"]
        index, node = next((i, t) for i, t in enumerate(tasks) if t["name"] == node_name)
        shared = sum(1 for path in paths.values() if (template_name, node_name) in path) > 1
        # an input from a task further up orders it after that task too, which the rule already implies
        named_nodes = set().union(*(names for _, _, names in entries))
        unexplained = set(node.get("dependencies", [])) - _ancestors(tasks, named_nodes)
        if unexplained and not shared:
            raise ValueError(
                f"{entries[0][0]}: the compiler orders it after {sorted(unexplained)}, the rule does not"
            )
        # in a shared node, what a task inside without a rule waits for: `x` is what `dependencies` means
        parts = [expression for _, expression, _ in entries] + sorted(unexplained)
        depends = parts[0] if len(parts) == 1 else " && ".join(f"({part})" for part in parts)
        # same key order as the compiler's, `depends` where `dependencies` was
        items = [(k, v) for k, v in node.items() if k != "dependencies"]
        position = list(node).index("dependencies") if "dependencies" in node else len(items)
        items.insert(position, ("depends", depends))
        tasks[index] = dict(items)
    return workflow


def _ancestors(tasks, names):
    """`names` and every task of one DAG template they wait for, through dependencies or depends."""
    import re

    waits = {
        task["name"]: set(task.get("dependencies", []))
        | {m.group(1) for m in re.finditer(_ARGO_RESULT, task.get("depends", ""))}
        for task in tasks
    }
    found, pending = set(), list(names)
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending.extend(waits.get(name, ()))
    return found


# --- trigger rules: end ---


# --- loop outputs: begin ---
RESULTS_OF = "airflow2kfp:results-of:"  # marks a loop over a mapped task's results (see results_of)
_OUTPUT_REF = r"\{\{tasks\.([^.}]+)\.outputs\.parameters\.([^.}]+)\}\}"


def _provide(templates, template_name, output):
    """Make the template declare the output parameter `output`; False when no step inside has it.

    A container step declares it from the file of its artifact of that name; a DAG (a loop, a
    condition) from the task inside that provides it, which Argo collects into a JSON list when the
    DAG runs in a loop."""
    template = templates[template_name]
    outputs = template.get("outputs") or {}
    if any(parameter["name"] == output for parameter in outputs.get("parameters", [])):
        return True
    if "container" in template:
        artifact = next((a for a in outputs.get("artifacts", []) if a["name"] == output), None)
        if artifact is None:
            return False
        declared = {"name": output, "valueFrom": {"path": artifact["path"]}}
    elif "dag" in template:
        task = next((t for t in template["dag"]["tasks"] if _provide(templates, t["template"], output)), None)
        if task is None:
            return False
        declared = {"name": output, "valueFrom": {"parameter": _parameter_of(task["name"], output)}}
    else:
        return False
    rest = {key: value for key, value in outputs.items() if key != "parameters"}
    template["outputs"] = {
        "parameters": list(outputs.get("parameters", [])) + [declared],
        **rest,
    }  # kfp's order
    return True


def collect_loop_outputs(workflow):
    """Pass a mapped task's results out of its loop: a list, as Airflow passes them downstream.

    kfp 1.8 gives a loop's DAG template the output a task outside reads, but declares it on the step
    inside only as an artifact, which Argo cannot collect: the step declares it as a parameter too.
    A loop over those results (`results_of`) iterates over the list Argo collects."""
    import re

    templates = {template["name"]: template for template in workflow["spec"]["templates"]}
    for template in list(templates.values()):
        if "dag" not in template:
            continue
        tasks = {task["name"]: task for task in template["dag"]["tasks"]}
        for parameter in (template.get("outputs") or {}).get("parameters", []):
            match = re.fullmatch(_OUTPUT_REF, (parameter.get("valueFrom") or {}).get("parameter", ""))
            if match and match.group(1) in tasks:
                _provide(templates, tasks[match.group(1)]["template"], match.group(2))
    paths = _dag_paths(templates, workflow["spec"]["entrypoint"])
    for template in list(templates.values()):
        for task in (template.get("dag") or {}).get("tasks", []):
            items = task.get("withItems")
            if not (isinstance(items, list) and len(items) == 1 and str(items[0]).startswith(RESULTS_OF)):
                continue
            producer, output = str(items[0])[len(RESULTS_OF) :].rsplit("/", 1)
            stand_in = next(node for name, node in paths[producer] if name == template["name"])
            parameter = f"{_template_of(templates, paths[producer])}-{output}"  # kfp's output name
            if not _provide(
                templates,
                next(t["template"] for t in template["dag"]["tasks"] if t["name"] == stand_in),
                parameter,
            ):
                raise ValueError(f"{task['name']}: {producer} has no output {output} to loop over")
            del task["withItems"]
            task["withParam"] = _parameter_of(stand_in, parameter)
    return workflow


def _parameter_of(task_name, output):
    """Argo's reference to a task's output parameter."""
    return "{{tasks." + task_name + ".outputs.parameters." + output + "}}"


def _template_of(templates, path):
    """The template a task at the end of a path runs."""
    template_name, node = path[-1]
    return next(t["template"] for t in templates[template_name]["dag"]["tasks"] if t["name"] == node)


# --- loop outputs: end ---


def support_source(trigger_rules: bool = False, loop_outputs: bool = False) -> str:
    """The code between the markers above, as a generated file carries it: the YAML reading and
    writing always, the trigger rules only in the files that record one, the loop outputs only in
    the files that pass a mapped task's results on."""
    with open(__file__, encoding="utf-8") as stream:
        text = stream.read()
    parts = ["io"]
    parts += ["dag paths"] if trigger_rules or loop_outputs else []
    parts += ["trigger rules"] if trigger_rules else []
    parts += ["loop outputs"] if loop_outputs else []
    return (
        "\n\n\n".join(
            text.split(f"# --- {part}: begin ---\n", 1)[1].split(f"# --- {part}: end ---", 1)[0].rstrip()
            for part in parts
        )
        + "\n"
    )
