"""Planning library swaps: calls into a swappable blocking client seed the conversion.

Every call the shared resolution types as a swappable API (`requests.get`, a method
of `self.session = requests.Session()`, a `for` over a `sqlite3.Cursor`) becomes an
edit, and the awaited ones make their caller async, which propagates like any other
seed. A family swaps as a whole (its instances are shared): a use that cannot be
mapped, or a use in code that must stay sync, keeps the whole family unswapped, the
reason is reported with file:line, and the plan is made again without it (the same
closing loop as a function whose caller cannot await it).

Keyword arguments and the statement around a per-call client are read from the
file's `ast` (`swapflow`; the index does not keep keyword names); only files with
swap sites are read, and nothing is imported or run.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict

from asyncmigrate.callgraph import MODULE_SCOPE, CallSite
from asyncmigrate.index import records
from asyncmigrate.index.values import join_id, split_id
from asyncmigrate.swaps import CallSwap, Family

from .edits import Edge, Item
from .swapflow import call_shape, escape, references

def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


class SwapPlanning:
    """The swap half of the planner (mixed into `Planner`)."""

    #: families a previous round found unsafe to swap -> why
    dropped_swaps: dict[str, str]
    #: this round's new reasons to drop a family
    swap_conflicts: dict[str, str]

    def _init_swaps(self, dropped: dict[str, str] | None) -> None:
        self.dropped_swaps = dict(dropped or {})
        self.swap_conflicts = {}
        #: factory edits that need no async caller (`requests.Session()` in `__init__`)
        self.swap_edges: list[Edge] = []
        #: edits per family, for the plan's summary
        self.swap_counts: Counter[str] = Counter()
        #: async functions that use a shared swapped client -> its families
        self.shared_swap_users: dict[str, set[str]] = defaultdict(set)
        #: (module, line, col) of a `with`/`for` edit -> its family
        self._swap_family_of: dict[tuple[str, int, int], str] = {}
        #: the modules under PATH (code outside them is analysed, never rewritten)
        self._path_modules = {m for m, rel in self.rel_of.items() if rel in self.targets}
        #: uses of families that only follow (`follow = true`): (family, edge, what)
        self._followed: list[tuple[str, Edge, str]] = []
        #: the first reason not to swap each following family: (module, line, why)
        self._follower_drops: dict[str, tuple[str, int, str]] = {}
        self._followers_checked = False
        #: callers of following families' calls that cannot swap (`wait(5)`)
        self._problem_callers: dict[str, set[str]] = {}

    @property
    def swaps(self):
        return self.project.catalogue.swaps

    def _drop_swap(self, family: str, module: str, line: int, reason: str) -> None:
        if family in self.swap_conflicts or family in self.dropped_swaps:
            return
        if self.swaps.family(family).follow and not self._followers_checked:
            # Said only if code that becomes async uses the family (`_check_followers`):
            # a lock in a project's sync code is no news.
            self._follower_drops.setdefault(family, (module, line, reason))
            return
        self._conflict(family, module, line, reason)

    def _conflict(self, family: str, module: str, line: int, reason: str) -> None:
        rel = self.rel_of.get(module, module)
        self.swap_conflicts[family] = f"{rel}:{line}: {reason}"

    def _python_problem(self, family: Family) -> str | None:
        target = self.project.config.target_version
        if not target or not family.python:
            return None
        project = (3, int(target[3:]))
        if project < _version(family.python):
            return (
                f"the project supports Python {project[0]}.{project[1]} (requires-python / target-version), "
                f"and {family.requirement or family.name} needs {family.python} or newer"
            )
        return None

    def _seed_swaps(self) -> None:
        skipped = set(self.options.no_swap)  # checked against the table by the runner
        if "all" in skipped:
            return
        self.dropped_swaps.update({family: "" for family in skipped})
        for site in list(self.graph.sites()):
            callee = site.callee
            if callee is None or callee.kind != "external" or site.awaited:
                continue
            swap = self.swaps.call(callee.name)
            if swap is not None and swap.family not in self.dropped_swaps:
                self._swap_call(site, swap, callee.name)
        self._passed_clients()
        self._swap_uses()
        self._swap_references()

    def _swap_call(self, site: CallSite, swap: CallSwap, origin: str) -> None:
        family = self.swaps.family(swap.family)
        if self.rel_of.get(site.module) not in self.targets:
            # Outside PATH nothing is rewritten: a client made and used there stays
            # as it is, but one that may come from PATH would be used unswapped.
            if swap.form != "method" or not self._from_path(site.caller, site.path[:-1]):
                return
            self._drop_swap(swap.family, site.module, site.line, f"`{origin}` is used outside PATH")
            return
        module_level = split_id(site.caller)[1] == MODULE_SCOPE
        shape = call_shape(self.project.root / self.rel_of[site.module], site.line, site.column)
        problem = swap.unmapped or self._python_problem(family)
        if not problem and shape is not None:
            if "**" in shape.keywords and (family.keywords or family.unmapped_keywords):
                problem = (
                    f"`{origin}(..., **...)`: keyword arguments passed with `**` cannot be checked "
                    "against the async API (its keywords differ)"
                )
            for keyword in () if problem else shape.keywords:
                if swap.form == "client" and keyword in family.client_keywords:
                    continue  # moves to the per-call client
                if keyword in family.unmapped_keywords:
                    problem = f"`{origin}(..., {keyword}=...)`: {family.unmapped_keywords[keyword]}"
                    break
        if not problem and swap.form == "client" and (shape is None or shape.wrappable):
            problem = f"`{origin}` makes its own client, and {shape.wrappable if shape else 'its call was not found'}, so no client can wrap it"
        if not problem:
            problem = self._escape_problem(site, swap, origin)
        if not problem and swap.awaited and module_level:
            problem = f"module-level code calls `{origin}`, and module-level code cannot await"
        if not problem and swap.unmapped_args and (shape is None or shape.positional or shape.keywords):
            problem = swap.unmapped_args
        if problem:
            # All or nothing, even for a call with its own client: a handler of
            # `requests.HTTPError` must not guard both libraries.
            if family.follow:
                self._problem_callers.setdefault(swap.family, set()).add(site.caller)
            self._drop_swap(swap.family, site.module, site.line, problem)
            return
        detail = json.dumps(
            {
                "form": swap.form,
                "target": swap.target,
                "await": swap.awaited,
                "client": swap.client,
                "keywords": family.keywords,
                "client_keywords": sorted(family.client_keywords) if swap.form == "client" else [],
                "family": swap.family,
            },
            sort_keys=True,
        )
        edge = self._edge(site, "", "swap", f"{detail}|{origin}")
        if family.follow and swap.form == "method":
            self._follow(swap.family, edge, f"`{origin}()`", swap.awaited)
        elif swap.awaited:
            self._require(site.caller, edge)
        else:
            self.swap_edges.append(edge)

    def _follow(self, family: str, edge: Edge, what: str, awaited: bool) -> None:
        """A use of a family that only follows (the threading primitives: a lock is
        not I/O, so its `acquire()` never makes code async): it is planned like any
        swap, but `_check_followers` drops the family unless every such use ends up
        in code that becomes async for other reasons."""
        (self.edges if awaited else self.swap_edges).append(edge)
        self._followed.append((family, edge, what))

    def _check_followers(self, async_after: set[str]) -> None:
        """Drop each following family that some use keeps sync: with the reason when
        code that becomes async uses it, silently when none does."""
        def runs_async(caller: str) -> bool:
            fn = self.fn(caller) if split_id(caller)[1] != MODULE_SCOPE else None
            return caller in async_after or (fn is not None and fn["is_async"])

        self._followers_checked = True  # later reasons (bridges) drop at once
        families = {family for family, _, _ in self._followed} | set(self._follower_drops)
        for family in sorted(families - set(self.dropped_swaps) - set(self.swap_conflicts)):
            uses = [(edge, what) for f, edge, what in self._followed if f == family]
            callers = {edge.caller for edge, _ in uses} | self._problem_callers.get(family, set())
            if not any(runs_async(caller) for caller in callers):
                self.swap_conflicts[family] = ""  # nothing async uses it: nothing to say
                continue
            if family in self._follower_drops:
                self._conflict(family, *self._follower_drops[family])
                continue
            for edge, what in uses:
                if not runs_async(edge.caller):
                    where = "module-level code" if split_id(edge.caller)[1] == MODULE_SCOPE else f"`{edge.caller}`"
                    self._conflict(
                        family, edge.module, edge.line,
                        f"{what} is used in {where}, which stays sync (a `{family}` swaps only when every "
                        "use of it is in code that becomes async)",
                    )
                    break

    def _from_path(self, caller: str, receiver) -> bool:
        """Whether code outside PATH reaches `receiver` through PATH: a name it
        imports from a PATH module, or an instance of a PATH class (a client made
        in PATH and used there would stay unswapped)."""
        if not receiver or self._made_here(caller, receiver[:1]):
            return False
        module, scope = split_id(caller)
        root = receiver[0]
        target = str((self.project.index.module(module) or {}).get("imports", {}).get(root, ""))
        if any(target == m or target.startswith((m + ".", m + ":")) for m in self._path_modules):
            return True
        value = self.resolver.value_of(module, scope if scope != MODULE_SCOPE else None, (root,))
        return value is not None and value.kind == "instance" and split_id(value.name)[0] in self._path_modules

    def _made_here(self, caller: str, receiver) -> bool:
        """Whether `receiver` is a local of `caller` that a call in it made (so the
        object cannot come from elsewhere)."""
        fn = self.fn(caller) if split_id(caller)[1] != MODULE_SCOPE else None
        if fn is None or len(receiver) != 1:
            return False
        origin = fn["locals"].get(receiver[0])
        return bool(origin) and origin[0] == "call"

    def _holds_client(self, class_name: str) -> str | None:
        """The family of `class_name` when it is a swapped class with awaited methods
        (a client, a cursor): its every use must be seen."""
        found = self.swaps.type_swap(class_name)
        if found is None or not (found[1].awaited or found[1].all_awaited):
            return None
        return found[0].name

    def _escape_problem(self, site: CallSite, swap: CallSwap, origin: str) -> str | None:
        if swap.form == "client":
            return None
        made = self.project.catalogue.return_type(origin) or origin
        if self._holds_client(made) is None:
            return None
        why = escape(self.project.root / self.rel_of[site.module], site.line, site.column)
        source = "made here" if made == origin else f"from `{origin}`"
        return f"the `{made}` {source} cannot be followed: {why}" if why else None

    def _passed_clients(self) -> None:
        """A swapped client passed to any call leaves the places the plan follows."""
        for site in self.graph.sites():
            for value in site.passed:
                if value.kind != "external_instance":
                    continue
                family = self._holds_client(value.name)
                outside = self.rel_of.get(site.module) not in self.targets
                if outside and not any(
                    self._from_path(site.caller, tuple(path)) for path in self._passed_paths(site)
                ):
                    continue
                if family is not None and family not in self.dropped_swaps:
                    where = self._qualified(site.callee) or ".".join(site.path)
                    self._drop_swap(
                        family, site.module, site.line,
                        f"a `{value.name}` is passed to `{where}`, where its uses are not followed",
                    )

    def _swap_uses(self) -> None:
        """`with`/`for` over a swapped instance, and `for` over a method whose result
        iterates asynchronously (`pubsub.listen()`)."""
        for summary in self.project.index.summaries():
            if "functions" not in summary:
                continue
            module = summary["name"]
            for qualname, fn in summary["functions"].items():
                caller = join_id(module, qualname)
                for use in records.uses(fn):
                    if use.kind not in ("with", "for", "compfor") or not use.path:
                        continue
                    self._swap_use(module, qualname, caller, use)

    def _passed_paths(self, site: CallSite) -> list:
        """The reference paths passed as arguments at `site`, as the index wrote them."""
        module, scope = split_id(site.caller)
        fn = self.fn(site.caller) if scope != MODULE_SCOPE else None
        calls = fn["calls"] if fn else (self.project.index.module(module) or {}).get("module_calls", [])
        for call in records.calls(calls):
            if call.line == site.line and call.column == site.column:
                return [tuple(p) for p in call.refs]
        return []

    def _swap_use(self, module: str, scope: str, caller: str, use: records.UseRecord) -> None:
        path = tuple(use.path)
        if self.rel_of.get(module) not in self.targets:
            value = self.resolver.value_of(module, scope, path) if self._from_path(caller, path[:1]) else None
            found = self.swaps.type_swap(value.name) if value is not None and value.kind == "external_instance" else None
            if found is not None:
                self._drop_swap(found[0].name, module, use.line, f"a `{value.name}` is used outside PATH")
            return
        statement = "with" if use.kind == "with" else "for"
        if statement == "for" and path[-1] == "()":
            callee = self.resolver.call_target(module, scope, path[:-1])
            if callee is not None and callee.kind == "external":
                owner, _, method = self.project.catalogue.normalize(callee.name).rpartition(".")
                found = self.swaps.type_swap(owner)
                if found and method in found[1].async_iter:
                    self._require_swap_use(found[0].name, module, caller, use)
                    return
        value = self.resolver.value_of(module, scope, path)
        if value is None or value.kind != "external_instance":
            return
        found = self.swaps.type_swap(value.name)
        if found is None or found[0].name in self.dropped_swaps:
            return
        family, swap = found
        form = swap.with_ if statement == "with" else swap.iterate
        if form != f"async {statement}":
            self._drop_swap(family.name, module, use.line, f"`{statement}` over a `{value.name}`: {form}")
            return
        self._require_swap_use(family.name, module, caller, use)

    def _require_swap_use(self, family: str, module: str, caller: str, use: records.UseRecord) -> None:
        if split_id(caller)[1] == MODULE_SCOPE:
            self._drop_swap(family, module, use.line, "module-level code cannot use `async with` or `async for`")
            return
        edge = Edge(caller, "", f"swap {use.kind}", module, use.line, use.column, None, use.kind)
        self._swap_family_of[(module, use.line, use.column)] = family
        if self.swaps.family(family).follow:
            self._follow(family, edge, f"`{'with' if use.kind == 'with' else 'for'}` over it", True)
        else:
            self._require(caller, edge)

    def _swap_references(self) -> None:
        """Names read, not called, that change with a swapped family (`except
        requests.HTTPError`, `-> requests.Response`), and attributes read on its
        instances (`response.ok` -> `response.is_success`)."""
        used = {self.swap_family(e) for e in (*self.edges, *self.swap_edges) if e.kind.startswith("swap")}
        used -= set(self.dropped_swaps)
        if not used:
            return
        families = [self.swaps.family(name) for name in sorted(used)]
        roots = {name.split(".")[0] for f in families for name in (*f.names, *f.calls, *f.types)}
        resolve = self.resolver.value_of
        for rel in sorted(self.targets):
            summary = self.project.index.by_path.get(rel)
            if not summary or "functions" not in summary:
                continue
            if not any(str(target).split(".")[0] in roots for target in summary.get("imports", {}).values()):
                continue
            module = summary["name"]
            for ref in references(self.project.root / rel):
                value = resolve(module, ref.scope, ref.path)
                name = self._qualified(value) if value is not None and value.kind == "external" else None
                for family in families:
                    if name is not None and self.project.catalogue.normalize(name) in family.names:
                        normal = self.project.catalogue.normalize(name)
                        self._swap_ref(family.name, module, ref, "swap name", f"{family.names[normal]}|{name}")
                        break
                if len(ref.path) < 2:
                    continue
                owner = resolve(module, ref.scope, ref.path[:-1])
                if owner is None or owner.kind != "external_instance":
                    continue
                found = self.swaps.type_swap(owner.name)
                if found is None or found[0].name not in used:
                    continue
                new, problem = found[1].attribute(ref.path[-1])
                if problem:
                    self._drop_swap(found[0].name, module, ref.line, problem)
                elif new != ref.path[-1]:
                    self._swap_ref(found[0].name, module, ref, "swap attr", new)

    def _swap_ref(self, family: str, module: str, ref, kind: str, new: str) -> None:
        edge = Edge(join_id(module, ref.scope or MODULE_SCOPE), "", kind, module, ref.line, ref.column, ref.path, new)
        self._swap_family_of[(module, ref.line, ref.column)] = family
        self.swap_edges.append(edge)

    def _swap_bridges(self, bridges: list[tuple[str, str, str, int]]) -> None:
        """A sync bridge runs its callee on an event loop of its own, per call: a
        shared async client (an httpx.AsyncClient made once, an aiosqlite
        connection) reached through one would be used on several loops, which
        those clients do not allow. (A per-call client is made inside the loop.)"""
        if not bridges or not self.shared_swap_users:
            return
        families: dict[str, set[str]] = {f: set(s) for f, s in self.shared_swap_users.items()}
        callers: dict[str, set[str]] = defaultdict(set)
        for edge in self.edges:
            if edge.callee and edge.callee in self.async_fns:
                callers[edge.callee].add(edge.caller)
        todo = list(families)
        while todo:  # whoever awaits a user uses the client too
            fid = todo.pop()
            for caller in callers.get(fid, ()):
                if caller in self.async_fns and not families.get(caller, set()) >= families[fid]:
                    families.setdefault(caller, set()).update(families[fid])
                    todo.append(caller)
        reaching: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
        for caller, callee, path, line in bridges:
            for family in families.get(callee, ()):
                reaching[family].append((caller, callee, line))
        for family, found in sorted(reaching.items()):
            # Module-level code runs once: a single bridge there (the `__main__`
            # guard's) is the one event loop the client ever sees.
            if len(found) == 1 and split_id(found[0][0])[1] == MODULE_SCOPE:
                continue
            caller, callee, line = sorted(found, key=lambda f: split_id(f[0])[1] == MODULE_SCOPE)[0]
            self._drop_swap(
                family, split_id(caller)[0], line,
                f"`{caller}` stays sync and bridges `{callee}`, which would run the shared async client "
                "on an event loop of its own per call: convert the callers too (no --max-layer, fewer --stop-at)",
            )

    def swap_family(self, edge: Edge) -> str:
        if edge.kind == "swap":
            return json.loads(edge.detail.partition("|")[0])["family"]
        return self._swap_family_of[(edge.module, edge.line, edge.col)]

    def swap_items(self) -> list[Item]:
        """Why each dropped family stays as it is (for the summary)."""
        items = []
        for family, reason in sorted(self.dropped_swaps.items()):
            if not reason:  # --no-swap
                continue
            where, _, why = reason.partition(": ")
            path, _, line = where.rpartition(":")
            items.append(Item(path, int(line) if line.isdigit() else 0, f"swap `{family}` not applied: {why}"))
        return items
