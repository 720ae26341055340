"""How lint and `lint --fix` time grows with the size of one module.

    python bench/module_size.py                 # 0.25, 1, 4 and 9 MB, and 20 MB
    python bench/module_size.py --sizes 1 20

Each module is one file of ordinary async code (classes, `async def`s that await,
sync helpers) with a single AM201 (`time.sleep` in an `async def`) at its end: the
case of issue 17, where a 290 KB module with one AM201 took 95 s because the fix's
import editing ran over the whole module even without `--fix`. A module above the
10 MiB source limit (`MAX_SOURCE_BYTES`) is not read at all: it is one AM001 line,
and its row shows how long saying so takes. Runs are `--no-cache`, one child each.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lint_speed import run  # noqa: E402

BLOCK = '''

class Service{n}:
    """One service of many."""

    def __init__(self, client, retries={n}):
        self.client = client
        self.retries = retries

    async def fetch(self, key: str) -> dict:
        for attempt in range(self.retries):
            value = await self.client.get(f"{{key}}:{{attempt}}")
            if value is not None:
                return {{"key": key, "value": value, "attempt": attempt}}
        return {{}}

    def describe(self) -> str:
        return ", ".join(sorted(str(x) for x in (self.retries, {n})))


async def handler_{n}(service: Service{n}, keys: list[str]) -> list[dict]:
    results = []
    for key in keys:
        results.append(await service.fetch(key))
    return results
'''

TAIL = '''

async def the_one_finding():
    time.sleep(0.1)
'''


def module_of(megabytes: float) -> str:
    """`import time`, service blocks up to `megabytes`, and the one AM201."""
    parts = ["import time\n"]
    size, n = 0, 0
    while size < megabytes * 1_000_000:
        block = BLOCK.format(n=n)
        parts.append(block)
        size += len(block)
        n += 1
    parts.append(TAIL)
    return "".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=float, default=[0.25, 1, 4, 9, 20], metavar="MB")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="module-size-"))
    try:
        (work / "pyproject.toml").write_text("[project]\nname = 'big'\n")
        print("| module | lines | lint s | s per MB | `--fix` s | result |")
        print("|---|---|---|---|---|---|")
        for megabytes in args.sizes:
            text = module_of(megabytes)
            path = work / "big.py"
            path.write_text(text)
            base = [sys.executable, "-m", "lint_rules", "big.py", "--no-cache"]
            lint = run(f"{megabytes} MB", base, work)
            fix = run(f"{megabytes} MB --fix", [*base, "--fix"], work)
            fixed = path.read_text()
            if "AM001" in lint.stdout:
                result = "refused: larger than the 10 MiB limit (AM001)"
            elif "AM201" in lint.stdout and "await asyncio.sleep(0.1)" in fixed:
                result = "one AM201, fixed"
            else:
                result = f"unexpected: exit {lint.status}, {lint.stdout.strip()[-120:]!r}"
            size = len(text.encode()) / 1_000_000
            print(
                f"| {size:.2f} MB | {text.count(chr(10)):,} | {lint.wall:.1f} | {lint.wall / size:.1f} "
                f"| {fix.wall:.1f} | {result} |",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
