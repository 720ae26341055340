"""Behaviour is preserved, shown by running it: the fixture service (sleeps and file
I/O on every request) gives the same results before and after asyncify, its entry
point runs under the sync bridge, and its converted pytest tests pass."""

from __future__ import annotations


import pytest

from conftest import run_cli, run_python

pytest.importorskip("asgiref")
pytest.importorskip("pytest_asyncio")



@pytest.mark.parametrize("bridge", ["asgiref", "asyncio"])
def test_service_behaves_the_same_after_conversion(project_copy, bridge):
    root = project_copy("asyncify_service")
    (root / "before").mkdir()
    (root / "after").mkdir()
    before = run_python("-m", "service.main", "before", cwd=root)
    assert before.returncode == 0, before.stderr

    result = run_cli(".", "--offload", "--bridge", bridge, cwd=root, module="codemods.asyncify")
    assert result.returncode == 0, result.stderr
    assert "0 item(s) left for a human" in result.stderr
    handlers = (root / "service" / "handlers.py").read_text()
    assert "async def handle_all" in handlers
    store = (root / "service" / "store.py").read_text()
    assert "await asyncio.to_thread(path.read_text)" in store
    main = (root / "service" / "main.py").read_text()
    assert (
        "async_to_sync(run)(sys.argv[1])"
        if bridge == "asgiref"
        else "asyncio.run(run(sys.argv[1]))"
    ) in main

    after = run_python("-m", "service.main", "after", cwd=root)
    assert after.returncode == 0, after.stderr
    assert after.stdout == before.stdout
    for name in ("apple.json", "pear.json"):
        assert (root / "after" / name).read_text() == (root / "before" / name).read_text()

    tests = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=root)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout

    again = run_cli(
        ".", "--offload", "--bridge", bridge, "--check", cwd=root, module="codemods.asyncify"
    )
    assert again.returncode == 0, again.stderr


def test_generator_expressions_handed_to_builtin_consumers_become_lists(tmp_path):
    """`", ".join(str(f(x)) for x in xs)` with `f` converted would hand `join` an
    async generator (a TypeError when it runs): it becomes a list comprehension, for
    every builtin that consumes the whole iterable, and the program prints the same."""
    from conftest import py_sources, write_files

    write_files(tmp_path, {
        "pyproject.toml": "[project]\nname = 'app'\n",
        "app/__init__.py": "",
        "app/io.py": """\
            import time


            def pause(value):
                time.sleep(0)
                return value
            """,
        "app/main.py": """\
            from app.io import pause


            def report(ids):
                names = ", ".join(str(pause(i)) for i in ids)
                total = sum(pause(i) for i in ids)
                order = sorted((pause(i) for i in ids), reverse=True)
                return f"{names} {total} {order} {set(pause(i) % 2 for i in ids)}"


            if __name__ == "__main__":
                print(report([3, 1, 2]))
            """,
    })
    before = run_python("-m", "app.main", cwd=tmp_path)
    assert before.stdout == "3, 1, 2 6 [3, 2, 1] {0, 1}\n", before.stderr
    result = run_cli("app", "--bridge", "asyncio", cwd=tmp_path, module="codemods.asyncify")
    assert result.returncode == 0, result.stderr
    assert "0 item(s) left for a human" in result.stderr
    assert py_sources(tmp_path)["app/main.py"] == (
        "from app.io import pause\n"
        "import asyncio\n\n\n"
        "async def report(ids):\n"
        '    names = ", ".join([str(await pause(i)) for i in ids])\n'
        "    total = sum([await pause(i) for i in ids])\n"
        "    order = sorted([await pause(i) for i in ids], reverse=True)\n"
        '    return f"{names} {total} {order} {set([await pause(i) % 2 for i in ids])}"\n\n\n'
        'if __name__ == "__main__":\n'
        "    print(asyncio.run(report([3, 1, 2])))\n"
    )
    after = run_python("-m", "app.main", cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    assert after.stdout == before.stdout


def test_a_function_awaited_inside_any_stays_sync_and_says_why(tmp_path):
    """`any(in_stock(i) for i in items)`: with `in_stock` async, `any()` would get an
    async generator (TypeError), and a list would give up its stopping early. The
    check of the result (AM104) keeps `in_stock` sync and names the line; `price`,
    read by `sum()`, is converted; the program prints what it printed before."""
    from conftest import py_sources, write_files

    write_files(tmp_path, {
        "pyproject.toml": "[project]\nname = 'app'\n",
        "app/__init__.py": "",
        "app/store.py": """\
            import time


            def in_stock(item):
                time.sleep(0)
                return item > 1


            def price(item):
                time.sleep(0)
                return item * 2


            def report(items):
                return f"{sum(price(i) for i in items)} {any(in_stock(i) for i in items)}"


            if __name__ == "__main__":
                print(report([1, 2]))
            """,
    })
    before = run_python("-m", "app.store", cwd=tmp_path)
    assert before.stdout == "6 True\n", before.stderr
    result = run_cli(
        "app", "--bridge", "asyncio", "--seed", "app.store:in_stock", "--seed", "app.store:price",
        cwd=tmp_path, module="codemods.asyncify",
    )
    assert result.returncode == 0, result.stderr
    assert (
        "app/store.py:4: left sync: `app.store:in_stock` would become async, but code that must "
        "stay as it is calls it: the converted program would have AM104 at app/store.py:15 "
        "(`any()` iterates this generator expression with plain `for`"
    ) in result.stderr
    assert py_sources(tmp_path)["app/store.py"] == (
        "import time\n"
        "import asyncio\n\n\n"
        "def in_stock(item):\n"
        "    time.sleep(0)\n"
        "    return item > 1\n\n\n"
        "async def price(item):\n"
        "    await asyncio.sleep(0)\n"
        "    return item * 2\n\n\n"
        "async def report(items):\n"
        '    return f"{sum([await price(i) for i in items])} {any(in_stock(i) for i in items)}"\n\n\n'
        'if __name__ == "__main__":\n'
        "    print(asyncio.run(report([1, 2])))\n"
    )
    after = run_python("-m", "app.store", cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    assert after.stdout == before.stdout
