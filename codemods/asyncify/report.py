"""What asyncify tells the user: the run summary, and the migration plan
(`--plan --format text|json|dot|mermaid`)."""

from __future__ import annotations

import json
from typing import Iterable

from .edits import Item
from .plan import AsyncifyPlan

PLAN_FORMATS = ("text", "json", "dot", "mermaid")
# One color per layer (cycled): the graph reads bottom-up, seeds first.
_COLORS = ["#fde0dd", "#fcc5c0", "#fa9fb5", "#f768a1", "#dd3497", "#ae017e", "#7a0177"]


def summary(plan: AsyncifyPlan, items: Iterable[Item], files_changed: int, verb: str) -> str:
    items = sorted(set(items))
    lines = [
        f"{verb} {files_changed} file(s): {plan.converted} function(s) converted, "
        f"{plan.awaited_sites} call site(s) awaited, {len(plan.bridges)} bridge(s) inserted, "
        f"{len(items)} item(s) left for a human."
    ]
    if plan.requirements and files_changed:
        lines.append(f"The converted code needs: {', '.join(plan.requirements)}.")
    lines += [f"note: {note}" for note in plan.notes]
    if items:
        lines.append("Left for a human:")
        lines += [f"  {item.render()}" for item in items]
    return "\n".join(lines) + "\n"


def problems(found: Iterable) -> str:
    """The broken places asyncify's own check found in its result (`verify.py`)."""
    found = list(found)
    if not found:
        return ""
    lines = [f"The converted program would be broken in {len(found)} place(s):"]
    lines += [f"  {p.render()}" for p in found]
    return "\n".join(lines) + "\n"


def _layer_ms(plan: AsyncifyPlan, layer: list[str]) -> float:
    return sum(plan.functions[f].blocked_ms for f in layer)


def _ordered(plan: AsyncifyPlan, layer: list[str]) -> list[str]:
    if plan.profiled:  # most blocked time removed first
        return sorted(layer, key=lambda f: (-plan.functions[f].blocked_ms, f))
    return layer


def plan_data(plan: AsyncifyPlan) -> dict:
    layers = []
    for number, layer in enumerate(plan.layers):
        functions = []
        for fid in _ordered(plan, layer):
            fp = plan.functions[fid]
            entry = {"function": fid, "path": fp.path, "line": fp.line, "call_sites": fp.call_sites}
            if plan.profiled:
                entry["blocked_ms"] = round(fp.blocked_ms, 3)
            if fp.swaps:
                entry["swaps"] = sorted(fp.swaps)
            functions.append(entry)
        level = plan.functions[layer[0]].layer
        data = {
            "layer": level,
            "functions": functions,
            "bridges": [
                {"caller": c, "callee": f, "path": p, "line": n}
                for c, f, p, n in sorted(plan.layer_bridges.get(level, []))
            ],
            "temporary_bridges": [
                {"caller": c, "callee": f, "path": p, "line": n}
                for c, f, p, n in plan.temporary_bridges.get(level, [])
            ],
        }
        if plan.profiled:
            data["blocked_ms"] = round(_layer_ms(plan, layer), 3)
        layers.append(data)
    return {
        "layers": layers,
        "functions": plan.converted,
        "call_sites": plan.awaited_sites,
        "bridges": len(plan.bridges),
        "requirements": plan.requirements,
        "swaps": dict(sorted(plan.swaps.items())),
        "swaps_not_applied": dict(sorted(plan.dropped_swaps.items())),
        "left_for_human": [
            {"path": i.path, "line": i.line, "reason": i.reason} for i in sorted(set(plan.items))
        ],
    }


def render_plan(plan: AsyncifyPlan, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(plan_data(plan), indent=2) + "\n"
    if fmt == "dot":
        return _dot(plan)
    if fmt == "mermaid":
        return _mermaid(plan)
    return _text(plan)


def _text(plan: AsyncifyPlan) -> str:
    data = plan_data(plan)
    out = [
        f"Migration plan: {data['functions']} function(s) in {len(data['layers'])} layer(s), "
        f"{data['call_sites']} call site(s), {data['bridges']} bridge(s)."
    ]
    for layer in data["layers"]:
        head = f"Layer {layer['layer']}: {len(layer['functions'])} function(s)"
        if "blocked_ms" in layer:
            head += f", {layer['blocked_ms']:.1f} ms blocked time removed"
        out.append(head)
        for fn in layer["functions"]:
            extra = f", {fn['blocked_ms']:.1f} ms" if "blocked_ms" in fn else ""
            if "swaps" in fn:
                extra += f"; swaps {', '.join(fn['swaps'])}"
            out.append(
                f"  {fn['function']}  ({fn['path']}:{fn['line']}; {fn['call_sites']} call site(s){extra})"
            )
        for bridge in layer["bridges"]:
            out.append(
                f"  bridge: {bridge['path']}:{bridge['line']} {bridge['caller']} -> {bridge['callee']}"
            )
        for bridge in layer["temporary_bridges"]:
            out.append(
                f"  until the next layer lands, bridge: {bridge['path']}:{bridge['line']} {bridge['caller']} -> {bridge['callee']}"
            )
    if data["left_for_human"]:
        out.append("Left for a human:")
        out += [f"  {i['path']}:{i['line']}: {i['reason']}" for i in data["left_for_human"]]
    return "\n".join(out) + "\n"


def _dot(plan: AsyncifyPlan) -> str:
    out = ["digraph asyncify {", "  rankdir=BT;", "  node [shape=box, style=filled];"]
    for number, layer in enumerate(plan.layers):
        for fid in layer:
            color = _COLORS[number % len(_COLORS)]
            out.append(f'  "{fid}" [label="{fid}\\nlayer {number}", fillcolor="{color}"];')
    for caller, callee in plan.edges:
        out.append(f'  "{caller}" -> "{callee}";')
    out.append("}")
    return "\n".join(out) + "\n"


def _mermaid(plan: AsyncifyPlan) -> str:
    ids = {fid: f"f{i}" for i, fid in enumerate(sorted(plan.functions))}
    out = ["graph BT"]
    for number, layer in enumerate(plan.layers):
        for fid in layer:
            out.append(f'  {ids[fid]}["{fid}"]:::layer{number}')
    for caller, callee in plan.edges:
        out.append(f"  {ids[caller]} --> {ids[callee]}")
    for number in range(len(plan.layers)):
        out.append(f"  classDef layer{number} fill:{_COLORS[number % len(_COLORS)]}")
    return "\n".join(out) + "\n"
