"""Functions handed to the project's own helpers (issue 11): `with_retry(self._load,
item)` where `with_retry` only calls its `func` parameter. Like a local alias, the
functions a parameter is given change together, the helper awaits its calls and
becomes async, and passing a function there is no refusal.

`fixtures/asyncify_helpers` is a stock client whose backend fails once: a retry
helper and a timing helper take its methods. asyncify with no seeds gives exactly
the expected tree, which compiles, is stable under a second run and prints what the
original printed. A helper that is also given a lambda, or that hands its parameter
on, keeps the old refusal.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import FIXTURES, assert_compiles, py_sources, run_asyncify, run_python, write_files

CASE = FIXTURES / "asyncify_helpers"


def _asyncify(root: Path, *args: str) -> subprocess.CompletedProcess:
    return run_asyncify(*args, "--no-cache", "--bridge", "asyncio", cwd=root)


def test_helpers_that_call_a_function_parameter_convert_with_it(project_copy):
    root = project_copy("asyncify_helpers/input")
    before = run_python("-m", "inventory.main", cwd=root)
    assert before.stdout == "(3, ('count', 0, True))\n", before.stderr
    done = _asyncify(root, "inventory")
    assert done.returncode == 0, done.out
    assert "6 function(s) converted, 8 call site(s) awaited, 1 bridge(s) inserted, 0 item(s) left for a human" in done.out
    assert py_sources(root) == py_sources(CASE / "expected")
    assert_compiles(root)
    after = run_python("-m", "inventory.main", cwd=root)
    assert after.returncode == 0, after.stderr
    assert after.stdout == before.stdout
    again = _asyncify(root, "inventory")
    assert again.returncode == 0 and "Changed 0 file(s)" in again.out, again.out


def test_a_helper_also_given_a_lambda_or_handing_the_function_on_is_still_refused(tmp_path):
    root = write_files(tmp_path / "p", {
        "jobs.py": """
            import time

            def twice(job, value):
                job(value)
                return job(value)

            def later(job):
                return schedule(job)

            def schedule(job):
                return [job]

            def send(value):
                time.sleep(0.01)
                return value

            def fetch(value):
                time.sleep(0.01)
                return value

            def main():
                return twice(send, 1), twice(lambda v: v, 2), later(fetch)
        """,
    })
    done = _asyncify(root, ".", "--diff")
    assert done.returncode == 0, done.out
    assert "jobs.py:14: left sync: `jobs:send` is passed as a value to jobs:twice at jobs.py:23, which may call it synchronously" in done.out
    assert "jobs.py:18: left sync: `jobs:fetch` is passed as a value to jobs:later at jobs.py:23, which may call it synchronously" in done.out
    assert "Would change 0 file(s)" in done.out
