"""The post-compile step: Argo `depends` and `failFast` written into the KFP compiler's workflow.

KFP v1 only emits `dependencies` (an upstream Succeeded, Skipped or Daemoned), so trigger rules are
recorded in the generated Python (`trigger_rule(task, rule, depends)`) and written into the
compiled workflow here; everything else the compiler wrote is kept as it was (the workflow is
read and written with kfp's own `load_yaml`/`dump_yaml`, which round-trip its output unchanged).

Why `dependencies` stays where no rule is recorded: `dependencies: [a]` means
`a.Succeeded || a.Skipped || a.Daemoned`. The converter emits no daemons, and it records a rule
for every task with an upstream that can end Skipped (a `when`) or Omitted in place of Airflow's
skipped; for the other tasks `a.Skipped` can never hold, so `dependencies` is exactly all_success
(an upstream that failed, or was Omitted for a failure, blocks both).

`failFast: false` on every DAG template: Argo's default stops scheduling new tasks after the first
failure, while Airflow goes on running every task whose trigger rule still holds.

The part between the markers is copied verbatim into every generated pipeline file, so that
`python <file>` applies the same rewrite; it may use only the standard library.
"""

from __future__ import annotations

# --- support: begin ---
_ARGO_RESULT = r"([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.(Succeeded|Failed|Errored|Skipped|Omitted|Daemoned)\b"


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


def apply_trigger_rules(workflow, rules):
    """Give each task in `rules` (KFP task name -> depends over KFP task names) its Argo `depends`.

    A task inside a condition or loop is represented in the DAG that holds its upstreams by the
    condition or loop node around it: the expression is written there, with every task it names
    replaced by the node that stands for it in that DAG.
    """
    import re

    templates = {template["name"]: template for template in workflow["spec"]["templates"]}
    for template in templates.values():
        if "dag" in template:
            template["dag"]["failFast"] = False  # Airflow runs on after a failure; so does Argo now
    paths = _dag_paths(templates, workflow["spec"]["entrypoint"])
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
        template_name, node_name = paths[name][level]
        stand_in = {other: paths[other][level][1] for other in named}
        rewritten = re.sub(_ARGO_RESULT, lambda m: f"{stand_in[m.group(1)]}.{m.group(3)}", expression)
        tasks = templates[template_name]["dag"]["tasks"]
        index, node = next((i, t) for i, t in enumerate(tasks) if t["name"] == node_name)
        # an input from a task further up orders it after that task too, which the rule already implies
        unexplained = set(node.get("dependencies", [])) - _ancestors(tasks, set(stand_in.values()))
        if unexplained:
            raise ValueError(f"{name}: the compiler orders it after {sorted(unexplained)}, the rule does not")
        # same key order as the compiler's, `depends` where `dependencies` was
        items = [(k, v) for k, v in node.items() if k != "dependencies"]
        position = list(node).index("dependencies") if "dependencies" in node else len(items)
        items.insert(position, ("depends", rewritten))
        tasks[index] = dict(items)
    return workflow


def _ancestors(tasks, names):
    """`names` and every task of one DAG template they wait for, through dependencies or depends."""
    import re

    waits = {task["name"]: set(task.get("dependencies", [])) | {m.group(1) for m in re.finditer(
        _ARGO_RESULT, task.get("depends", ""))} for task in tasks}
    found, pending = set(), list(names)
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending.extend(waits.get(name, ()))
    return found
# --- support: end ---


def support_source() -> str:
    """The code between the markers above, as the generated files carry it."""
    with open(__file__, encoding="utf-8") as stream:
        text = stream.read()
    return text.split("# --- support: begin ---\n", 1)[1].split("# --- support: end ---", 1)[0].rstrip() + "\n"
