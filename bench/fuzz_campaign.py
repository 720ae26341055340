"""Fuzz the lint engine and its fixes, the way LibCST and Ruff probe theirs.

    python bench/fuzz_campaign.py [--programs 10000] [--corpus DIR] [--seed 0]

Programs come from hypothesmith (`from_grammar`: any text the grammar accepts;
`from_node`: LibCST trees rendered to code) and, with `--corpus`, from real async
code with random token-level mutations (tokens deleted, duplicated or swapped).
Each program is linted with every rule and fixed with `--unsafe-fixes`, in
process, as `asyncmigrate lint --fix` does it. A program fails the campaign when
the run raises, reports an internal error (AM003), writes a fix that does not
compile, or a second fix changes the fixed text. CI runs a small sample of the same
check (tests/test_fuzz_sample.py); this script is the campaign.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tokenize
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from asyncmigrate.analysis import Project  # noqa: E402
from lint_rules import ALL_RULES  # noqa: E402
from lint_rules.diagnostics import INTERNAL_ERROR  # noqa: E402
from lint_rules.engine import FileLinter  # noqa: E402

PATH = Path("/fuzz/case.py")


def check(source: str) -> str | None:
    """Why `source` fails the campaign, or None when it passes."""
    data = source.encode("utf-8", "surrogatepass")
    try:
        linter = FileLinter(Project.for_snippet(PATH, data), ALL_RULES, unsafe_fixes=True)
        first = linter.fix(PATH, "case.py", data)
    except Exception as e:  # noqa: BLE001 - a crash is what we look for
        return f"crash: {type(e).__name__}: {e}"
    if any(d.code == INTERNAL_ERROR for d in first.diagnostics):
        return "internal error: " + next(d.message for d in first.diagnostics if d.code == INTERNAL_ERROR)
    if first.fixed is None:
        return None
    try:
        compile(first.fixed, "case.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:
        return f"fix does not compile: {e}"
    again = FileLinter(Project.for_snippet(PATH, first.fixed), ALL_RULES, unsafe_fixes=True)
    second = again.fix(PATH, "case.py", first.fixed)
    if second.fixed is not None and second.fixed != first.fixed:
        return "a second fix changed the fixed text"
    return None


def hypothesmith_programs(count: int, seed: int):
    """`count` programs, half from the grammar and half from LibCST nodes."""
    import hypothesmith
    from hypothesis import HealthCheck, given, seed as hseed, settings, strategies as st

    found: list[str] = []
    strategy = st.one_of(hypothesmith.from_grammar(), hypothesmith.from_node())

    @hseed(seed)
    @settings(max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(source: str) -> None:
        found.append(source)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        collect()
    return found


def mutated_programs(corpus: Path, count: int, seed: int):
    """Real async code with random token-level mutations."""
    rng = random.Random(seed)
    files = [p for p in sorted(corpus.rglob("*.py")) if "async def" in p.read_text(errors="replace")]
    for _ in range(count):
        text = rng.choice(files).read_text(errors="replace")
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
        except (tokenize.TokenError, SyntaxError, IndentationError):
            continue
        words = [t.string for t in tokens]
        for _ in range(rng.randint(1, 4)):
            i, j = rng.randrange(len(words)), rng.randrange(len(words))
            action = rng.choice(("delete", "duplicate", "swap"))
            if action == "delete":
                words[i] = ""
            elif action == "duplicate":
                words[i] = words[i] + " " + words[i]
            else:
                words[i], words[j] = words[j], words[i]
        yield _untokenize(tokens, words)


def _untokenize(tokens, words) -> str:
    """Tokens back to text, each at its original position (mutated words in place)."""
    lines: dict[int, list[tuple[int, str]]] = {}
    for token, word in zip(tokens, words):
        lines.setdefault(token.start[0], []).append((token.start[1], word))
    out = []
    for number in range(1, max(lines, default=0) + 1):
        line = ""
        for column, word in lines.get(number, []):
            line = line.ljust(column) + word if not word.endswith("\n") else line + word
        out.append(line if line.endswith("\n") else line + "\n")
    return "".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=10_000)
    parser.add_argument("--corpus", type=Path, help="a directory of real async code to mutate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    generated = args.programs // 2 if args.corpus else args.programs
    programs = hypothesmith_programs(generated, args.seed)
    if args.corpus:
        programs += list(mutated_programs(args.corpus, args.programs - generated, args.seed))
    failures = []
    for number, source in enumerate(programs, 1):
        problem = check(source)
        if problem:
            failures.append((problem, source))
        if number % 500 == 0:
            print(f"{number} programs, {len(failures)} failing", file=sys.stderr)
    print(f"programs: {len(programs)}")
    print(f"failing:  {len(failures)}")
    for problem, source in failures[:10]:
        print(f"\n--- {problem}\n{source[:400]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
