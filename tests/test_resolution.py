"""Call resolution: every lookup path Python semantics allow statically."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from asyncmigrate.analysis import Project
from asyncmigrate.config import Config
from asyncmigrate.index.store import CACHE_FILE, ProjectIndex, cache_dir
from asyncmigrate.index.values import Value
from conftest import write_files


def make_project(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    return write_files(root, files)


FILES = {
    "app/__init__.py": "from .db.repo import Repo\n",
    "app/db/__init__.py": "",
    "app/db/base.py": """
        class Base:
            async def load(self, key): ...
            def name(self): return "base"
            @classmethod
            def create(cls): return cls.build()
            @classmethod
            def build(cls): ...
        """,
    "app/db/repo.py": """
        from .base import Base as B

        class Repo(B):
            def name(self):
                return super().name()
            async def close(self): ...
        """,
    "app/exported.py": """
        __all__ = ["shown"]
        def shown(): ...
        def hidden(): ...
        """,
    "app/private.py": """
        def _internal(): ...
        def public(): ...
        """,
    "app/helpers.py": """
        from typing import Optional
        from .db import repo as repo_mod
        from . import Repo
        from .db.repo import *
        from .exported import *
        from .private import *

        def make() -> "Repo": ...

        class Service:
            def __init__(self, repo: Optional[Repo] = None):
                self.repo = repo
                self.other = repo_mod.Repo()

            @property
            def current(self) -> Repo: ...

            def run(self, backup: "Repo | None"):
                self.repo.load(1)
                self.other.close()
                backup.name()
                make().load(2)
                self.current.close()

        def shadow():
            Repo = None
            Repo.load()

        def closure():
            local = Repo()
            def inner():
                local.load(3)
            return inner

        def starred():
            return B()
    """,
    "app/ext.py": """
        import asyncio
        import requests
        import os.path as osp
        from contextlib import closing

        def calls():
            session = requests.Session()
            session.get("u")
            loop = asyncio.get_running_loop()
            loop.create_task(None)
            osp.join("a")
            with requests.Session() as s:
                s.post("u")

        def cyclic(node):
            node = node.parent
            node.walk()

        def uses_global():
            global session
            session.get()
    """,
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    root = make_project(tmp_path_factory.mktemp("resolution"), FILES)
    return Project.load(root, use_cache=False)


def value(project: Project, module: str, scope: str | None, expr: str):
    path = []
    for part in expr.split("."):
        if part.endswith("()"):
            path += [part[:-2], "()"]
        else:
            path.append(part)
    return project.resolver.value_of(module, scope, path)


@pytest.mark.parametrize(
    "scope, expr, expected",
    [
        # self.attr typed by an Optional[...] parameter annotation; method inherited
        # from a base class in another module, imported under an alias.
        ("Service.run", "self.repo.load", Value("function", "app.db.base:Base.load")),
        # self.attr typed by a constructor call through a module alias
        ("Service.run", "self.other.close", Value("function", "app.db.repo:Repo.close")),
        # string annotation with `| None`; override wins over the base method
        ("Service.run", "backup.name", Value("function", "app.db.repo:Repo.name")),
        # return annotation (a forward-reference string)
        ("Service.run", "make().load", Value("function", "app.db.base:Base.load")),
        # a property's return annotation types the attribute
        ("Service.run", "self.current.close", Value("function", "app.db.repo:Repo.close")),
        # a local without a known type shadows the module-level import
        ("shadow", "Repo.load", None),
        # closures see the enclosing function's locals
        ("closure.inner", "local.load", Value("function", "app.db.base:Base.load")),
        # star import re-exports what the module imported (`B` in app/db/repo.py)
        ("starred", "B", Value("class", "app.db.base:Base")),
        # package re-export (`from . import Repo` where app/__init__ re-exports it)
        (None, "Repo", Value("class", "app.db.repo:Repo")),
        (None, "repo_mod", Value("module", "app.db.repo")),
        # `import *` takes `__all__`, or else the names without a leading underscore
        (None, "shown", Value("function", "app.exported:shown")),
        (None, "hidden", None),
        (None, "public", Value("function", "app.private:public")),
        (None, "_internal", None),
    ],
)
def test_project_resolution(project, scope, expr, expected):
    assert value(project, "app.helpers", scope, expr) == expected


def test_super_and_cls(project):
    assert value(project, "app.db.repo", "Repo.name", "super().name") == Value(
        "function", "app.db.base:Base.name"
    )
    assert value(project, "app.db.base", "Base.create", "cls.build") == Value(
        "function", "app.db.base:Base.build"
    )


@pytest.mark.parametrize(
    "scope, expr, expected",
    [
        ("calls", "session.get", Value("external", "requests.Session.get")),
        ("calls", "loop.create_task", Value("external", "asyncio.AbstractEventLoop.create_task")),
        ("calls", "osp.join", Value("external", "os.path.join")),
        ("calls", "s.post", Value("external", "requests.Session.post")),
        ("cyclic", "node.walk", None),
        ("uses_global", "session.get", None),  # module has no `session`: unknown, not guessed
        ("calls", "print", Value("external", "builtins.print")),
    ],
)
def test_external_resolution(project, scope, expr, expected):
    assert value(project, "app.ext", scope, expr) == expected


def test_call_graph_sites(project):
    sites = project.call_graph.calls_from("app.helpers:Service.run")
    assert [(s.line, s.callee.name if s.callee else None) for s in sites] == [
        (20, "app.db.base:Base.load"),
        (21, "app.db.repo:Repo.close"),
        (22, "app.db.repo:Repo.name"),
        (23, "app.db.base:Base.load"),
        (23, "app.helpers:make"),
        (24, "app.db.repo:Repo.close"),
    ]
    family = project.call_graph.method_family("app.db.base:Base.name")
    assert family == {"app.db.base:Base.name", "app.db.repo:Repo.name"}


def test_index_cache_is_json_incremental_and_content_keyed(tmp_path):
    root = make_project(tmp_path, FILES)
    config = Config(root=root)
    first = ProjectIndex.build(config)
    assert first.stats.parsed == len(FILES)
    cache = cache_dir(root) / CACHE_FILE
    db = sqlite3.connect(cache)
    rows = db.execute("SELECT summary FROM modules").fetchall()
    db.close()
    assert rows and all(json.loads(text) for (text,) in rows)  # JSON text, never pickle
    second = ProjectIndex.build(config)
    assert (second.stats.parsed, second.stats.cached) == (0, len(FILES))
    # Touching a file without changing its content re-parses nothing.
    (root / "app/ext.py").write_text((root / "app/ext.py").read_text())
    assert ProjectIndex.build(config).stats.parsed == 0
    (root / "app/ext.py").write_text("def changed(): ...\n")
    third = ProjectIndex.build(config)
    assert third.stats.parsed == 1
    assert "changed" in third.module("app.ext")["functions"]


def test_corrupt_cache_is_rebuilt(tmp_path):
    root = make_project(tmp_path, FILES)
    ProjectIndex.build(Config(root=root))
    (cache_dir(root) / CACHE_FILE).write_text("{not json")
    index = ProjectIndex.build(Config(root=root))
    assert index.stats.parsed == len(FILES)


def test_analysis_never_runs_user_code(tmp_path):
    marker = tmp_path / "marker"
    root = make_project(
        tmp_path / "proj",
        {
            "evil.py": f"open({str(marker)!r}, 'w').write('ran')\nimport asyncio\n"
            "async def f():\n    asyncio.sleep(1)\n",
        },
    )
    from conftest import lint_json

    _, findings = lint_json("evil.py", cwd=root)
    assert [f["code"] for f in findings] == ["AM101"]
    assert not marker.exists()


def test_a_generic_base_binds_its_type_parameter_for_each_subclass(tmp_path):
    """`class Base(Generic[T])` with `def get(self) -> T`, subclassed as `Base[Conn]`
    (in another module): `self.get().ping` on the subclass is `Conn.ping`; on the
    generic base itself, or a subclass that does not say, it stays unknown."""
    root = make_project(tmp_path / "p", {
        "app/__init__.py": "",
        "app/base.py": """
            from typing import Generic, TypeVar

            T = TypeVar("T")


            class Base(Generic[T]):
                def get(self, key) -> T: ...
        """,
        "app/pool.py": """
            from app.base import Base


            class Conn:
                def ping(self): ...


            class Pool(Base[Conn]):
                def check(self, key):
                    return self.get(key).ping()


            class Loose(Base):
                def check(self, key):
                    return self.get(key).ping()
        """,
    })
    resolver = Project.load(root).resolver
    path = ["self", "get", "()", "ping"]
    assert resolver.call_target("app.pool", "Pool.check", path) == Value("function", "app.pool:Conn.ping")
    assert resolver.call_target("app.pool", "Loose.check", path) is None


def test_calls_through_subscripts_and_unnamed_receivers_are_recorded(tmp_path):
    """`self[name].ping()` goes through `__getitem__` (the resolver reads `[]` as
    its return type); `(self.a or self.b).close()` names no receiver, but asyncify
    must still see that a method called `close` is called there."""
    root = make_project(tmp_path / "p", {
        "m.py": """
            class Conn:
                def ping(self): ...


            class Registry:
                def __getitem__(self, name) -> Conn: ...

                def ping(self, name):
                    return self[name].ping(), (self.a or self.b).close()
        """,
    })
    project = Project.load(root)
    calls = project.index.module("m")["functions"]["Registry.ping"]["calls"]
    assert [call[0] for call in calls] == [["self", "[]", "ping"], ["?", "close"]]
    assert project.resolver.call_target("m", "Registry.ping", ["self", "[]", "ping"]) == Value("function", "m:Conn.ping")
