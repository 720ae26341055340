"""Migration layers: strongly connected components of the affected call graph,
numbered bottom-up (a layer only calls layers below it, so each can land alone)."""

from __future__ import annotations

from typing import Iterable


def layer_numbers(nodes: Iterable[str], succ: dict[str, set[str]]) -> dict[str, int]:
    """0 for components that call no other converted function, else 1 + the highest
    layer they call."""
    components = strongly_connected(sorted(nodes), succ)
    comp_of = {f: i for i, comp in enumerate(components) for f in comp}
    layer_of_comp: dict[int, int] = {}
    # Tarjan emits components callees-first, so one pass suffices.
    for i, comp in enumerate(components):
        below = [
            layer_of_comp[comp_of[c]] for f in comp for c in succ.get(f, ()) if comp_of[c] != i
        ]
        layer_of_comp[i] = 1 + max(below) if below else 0
    return {f: layer_of_comp[comp_of[f]] for comp in components for f in comp}


def strongly_connected(nodes: Iterable[str], succ: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components come out callees first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(succ.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(succ.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(sorted(component))
    return result
