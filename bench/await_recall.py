"""Recall of AM101/AM102 on real code: delete `await`s at random, count what is caught.

    python bench/await_recall.py PACKAGE_DIR [--sample 60] [--seed 1] [--subdir asyncio]

PACKAGE_DIR is an unpacked package (e.g. `pip download --no-deps redis` and unzip
the wheel). The script copies it to a temp dir, lints it once unmodified (every
AM101 there is a false positive unless checked by hand), then removes `await` from
a random sample of `await <call>` expressions, lints again, and reports how many of
the mutated lines got an AM101/AM102 finding, and whether anything else appeared.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def lint(root: Path, target: str) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-m", "lint_rules", target, "--select", "AM101,AM102", "--format", "json"],
        cwd=root, capture_output=True, text=True,
    )
    if result.returncode not in (0, 1):
        raise SystemExit(result.stderr)
    return json.loads(result.stdout)


def awaited_calls(path: Path) -> list[tuple[int, int]]:
    """(line, column) of every `await <call>` whose line holds just that one `await`."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    lines = source.splitlines()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Await) and isinstance(node.value, ast.Call):
            line = lines[node.lineno - 1]
            if line.count("await ") == 1 and line.isascii():
                found.append((node.lineno, node.col_offset))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path)
    parser.add_argument("--sample", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--subdir", default="", help="only mutate files below this subdirectory")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        shutil.copytree(args.package, root)
        (root / "pyproject.toml").write_text("[project]\nname = 'recall'\n")
        target = "."
        baseline = {(f["path"], f["line"]) for f in lint(root, target)}

        candidates = []
        scope = root / args.subdir if args.subdir else root
        for path in sorted(scope.rglob("*.py")):
            for line, col in awaited_calls(path):
                candidates.append((path, line, col))
        rng = random.Random(args.seed)
        sample = rng.sample(candidates, min(args.sample, len(candidates)))
        by_file: dict[Path, list[tuple[int, int]]] = {}
        for path, line, col in sample:
            by_file.setdefault(path, []).append((line, col))
        for path, spots in by_file.items():
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            for line, col in spots:
                text = lines[line - 1]
                assert text[col:col + 6] == "await ", (path, line, text)
                lines[line - 1] = text[:col] + text[col + 6:]
            path.write_text("".join(lines), encoding="utf-8")

        after = lint(root, target)
        hits = {("./" + str(p.relative_to(root)), line) for p, line, _ in sample}
        found = {(f["path"], f["line"]) for f in after} & hits
        extra = {(f["path"], f["line"]) for f in after} - hits - baseline
        print(f"package:            {args.package}")
        print(f"await <call> sites: {len(candidates)}")
        print(f"unmodified AM101/AM102 findings: {len(baseline)}")
        for path, line in sorted(baseline):
            print(f"  {path}:{line}")
        print(f"awaits removed:     {len(sample)}")
        print(f"caught:             {len(found)}  (recall {len(found) / max(len(sample), 1):.0%})")
        print(f"other new findings: {len(extra)}")
        for path, line in sorted(extra):
            print(f"  {path}:{line}")
        missed = sorted(hits - found)
        print("missed (first 15):")
        for path, line in missed[:15]:
            text = (root / path).read_text(encoding="utf-8").splitlines()[line - 1].strip()
            print(f"  {path}:{line}: {text}")


if __name__ == "__main__":
    main()
