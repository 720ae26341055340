"""Django's ORM in async code (issue 15): a query raises SynchronousOnlyOperation.

`fixtures/django_shop` is a small app (models with a custom manager in another
module, async views that use the ORM both ways). AM205 reports exactly the sync
queries in its async views, AM250 the one behind a sync helper, AM101 the async
query that is never awaited; building a queryset (`filter`, `order_by`) is not a
query and is not reported. Models are known by resolution, never by name.

The knowledge is checked against the installed Django, and the fixture runs on a
real SQLite database: the reported query raises in async code, the async form works.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from asyncmigrate.catalogue import BlockingCatalogue, _load
from conftest import FIXTURES, lint_json

APP = FIXTURES / "django_shop"

django = pytest.importorskip("django", reason="the Django checks need Django (test extra)")


def test_sync_queries_in_async_views_are_reported_and_nothing_else(tmp_path):
    status, findings = lint_json("shop", "--no-cache", cwd=APP)
    assert status == 1
    got = [(f["path"], f["line"], f["code"], f["message"].split(":")[0]) for f in findings]
    assert got == [
        ("shop/views.py", 11, "AM205", "`django.db.models.Manager.get` runs a database query"),
        ("shop/views.py", 16, "AM205", "`django.db.models.QuerySet.first` runs a database query"),
        ("shop/views.py", 21, "AM205", "`django.db.models.Model.save` runs a database query"),
        ("shop/views.py", 33, "AM101", "coroutine `django.db.models.Manager.acount()` is never awaited"),
        ("shop/views.py", 34, "AM250", "blocking call via _product -> django.db.models.Manager.get"),
        ("shop/views.py", 38, "AM205", "`django.db.models.QuerySet.__iter__` runs a database query"),
    ]


def _real(qualified: str):
    from django.db import models

    owner, _, method = qualified.rpartition(".")
    cls = {"django.db.models.Manager": models.Manager, "django.db.models.QuerySet": models.QuerySet,
           "django.db.models.Model": models.Model}[owner]
    return cls, method


def test_every_django_name_in_the_knowledge_is_real():
    """Blocking names are sync methods of the real classes (a Manager has no
    `delete`: Django keeps it off managers on purpose); the coroutine names are
    async on the real QuerySet and Model (a Manager's method forwards to its
    queryset's, so its QuerySet twin is what is checked); queryset-returning
    methods return a QuerySet."""
    from django.db import models

    blocking = [n for e in BlockingCatalogue().entries if e.family == "django-orm" for n in e.patterns]
    assert len(blocking) > 30
    for name in blocking:
        cls, method = _real(name)
        assert callable(getattr(cls, method)), name
        assert not inspect.iscoroutinefunction(getattr(cls, method)), name
    apis = _load("async_apis.toml")
    coroutines = [n for n in apis["coroutines"]["names"] if n.startswith("django.")]
    assert len(coroutines) > 30
    for name in coroutines:
        cls, method = _real(name)
        twin = models.QuerySet if cls is models.Manager else cls
        assert inspect.iscoroutinefunction(getattr(twin, method)), name
        assert hasattr(cls, method), name
    returns = {k: v for k, v in apis["returns"].items() if k.startswith("django.")}
    assert len(returns) > 30
    for name, result in returns.items():
        cls, method = _real(name)
        assert result == "django.db.models.QuerySet" and hasattr(cls, method), name


RUN = textwrap.dedent("""
    import asyncio, sys
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["shop"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1]}},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()
    from django.core.exceptions import SynchronousOnlyOperation
    from django.db import connection
    from shop.models import Order, Product
    from shop import views

    with connection.schema_editor() as editor:
        editor.create_model(Product)
        editor.create_model(Order)
    pk = Product.objects.create(name="tea", stock=3).pk
    try:
        asyncio.run(views.product_detail(pk))
    except SynchronousOnlyOperation:
        print("product_detail: SynchronousOnlyOperation")
    print("place_order_async:", asyncio.run(views.place_order_async(pk, 2)))
    try:
        asyncio.run(views.names("t"))
    except SynchronousOnlyOperation:
        print("names: SynchronousOnlyOperation")
    print("names_async:", asyncio.run(views.names_async("t")))
    print("admin_total:", views.admin_total())
""")


def test_the_reported_query_raises_in_async_code_and_the_async_form_works(tmp_path):
    """On a real SQLite database: what AM205 reports (`product_detail`'s query, the
    plain `for` over a queryset in `names`) raises SynchronousOnlyOperation when it
    runs; what it does not report (`place_order_async`, `names_async`, the sync
    view) runs."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    env["PYTHONPATH"] = str(APP)
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(tmp_path / "shop.sqlite3")],
        capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "product_detail: SynchronousOnlyOperation\n"
        "place_order_async: 1\n"
        "names: SynchronousOnlyOperation\n"
        "names_async: ['tea']\n"
        "admin_total: 1\n"
    )
    assert Path(tmp_path / "shop.sqlite3").stat().st_size > 0
