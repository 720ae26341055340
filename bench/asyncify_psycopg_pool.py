"""asyncify against a library's own async version: psycopg_pool ships pool.py (sync,
generated) and pool_async.py (the original). We seed the leaf I/O (psycopg
connection methods, the threading primitives and the pool's own thread helpers),
asyncify pool.py, and count how many `async def`, `await`, `async with` and
`async for` of pool_async.py we reproduce, function by function.

    python bench/asyncify_psycopg_pool.py [VERSION]

Downloads the wheel with `pip download --no-deps` into a temporary directory.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEEDS = [
    "psycopg_pool._acompat:gather",
    "psycopg_pool._acompat:Queue.get",
    "psycopg_pool.sched:Scheduler.enter",
    "threading:Event.wait",
    "threading:Condition.wait",
    "threading:RLock.__enter__",
    "threading:Condition.__enter__",
    "psycopg:Connection.connect",
    "psycopg:Connection.execute",
    "psycopg:Connection.close",
    "psycopg:Connection.rollback",
    "psycopg:Connection.set_autocommit",
    "psycopg:Connection.__enter__",
]
_RENAMES = {"__enter__": "__aenter__", "__exit__": "__aexit__"}


def metrics(path: Path) -> dict[str, dict]:
    out: dict[str, dict] = {}

    def walk(node: ast.AST, prefix: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                walk(child, prefix + [child.name])
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = _RENAMES.get(child.name, child.name)
                # the async twins' classes are the sync names with an Async prefix
                qualname = ".".join([p.removeprefix("Async") for p in prefix] + [name])
                m = {
                    "async def": isinstance(child, ast.AsyncFunctionDef),
                    "await": 0,
                    "async with": 0,
                    "async for": 0,
                }
                for n in ast.walk(child):
                    if isinstance(n, ast.Await):
                        m["await"] += 1
                    elif isinstance(n, ast.AsyncWith):
                        m["async with"] += 1
                    elif isinstance(n, ast.AsyncFor) or (
                        isinstance(n, ast.comprehension) and n.is_async
                    ):
                        m["async for"] += 1
                out.setdefault(qualname, m)  # @overload stubs come first
                walk(child, prefix + [child.name])

    walk(ast.parse(path.read_text(encoding="utf-8")), [])
    return out


#: sync module -> the library's own async twin (psycopg_pool generates the former)
PAIRS = [("pool.py", "pool_async.py"), ("null_pool.py", "null_pool_async.py"), ("sched.py", "sched_async.py")]


def report(name: str, before: dict, ours: dict, theirs: dict) -> None:
    """Per-marker recall and precision of the markers asyncify added (a marker the
    sync file already had is neither)."""
    common = sorted(set(ours) & set(theirs))
    print(f"== {name}")
    for kind in ("async def", "await", "async with", "async for"):
        def count(side: dict, q: str) -> int:
            return int(side[q][kind]) - int(before.get(q, {}).get(kind, 0))
        want = sum(max(0, count(theirs, q)) for q in common)
        added = sum(max(0, count(ours, q)) for q in common)
        got = sum(min(max(0, count(ours, q)), max(0, count(theirs, q))) for q in common)
        recall = got / want if want else 1.0
        precision = got / added if added else 1.0
        print(f"  {kind}: matched {got} of {want} (recall {recall:.2f}); added {added} (precision {precision:.2f})")
        if kind == "async def":
            missed = [q for q in common if count(theirs, q) > 0 and count(ours, q) <= 0]
            print(f"    missed: {', '.join(missed) or '-'}")


def main() -> None:
    spec = f"psycopg-pool=={sys.argv[1]}" if len(sys.argv) > 1 else "psycopg-pool"
    tmp = Path(tempfile.mkdtemp(prefix="asyncify-psycopg-pool-"))
    try:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", spec, "-d", str(tmp)],
            check=True,
        )
        wheel = next(tmp.glob("*.whl"))
        work = tmp / "work"
        zipfile.ZipFile(wheel).extractall(work)
        shutil.rmtree(next(work.glob("*.dist-info")))
        (work / "pyproject.toml").write_text('[project]\nname = "pp"\n')
        args = [sys.executable, "-m", "codemods.asyncify", *(f"psycopg_pool/{sync}" for sync, _ in PAIRS), "--no-cache"]
        for seed in SEEDS:
            args += ["--seed", seed]
        before = {sync: metrics(work / "psycopg_pool" / sync) for sync, _ in PAIRS}
        run = subprocess.run(
            args, cwd=work, capture_output=True, text=True, env={"PYTHONPATH": str(REPO)}
        )
        print(run.stderr)
        for sync, twin in PAIRS:
            report(sync, before[sync], metrics(work / "psycopg_pool" / sync), metrics(work / "psycopg_pool" / twin))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
