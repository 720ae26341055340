"""A small sample of the fuzz campaign (`bench/fuzz_campaign.py`): generated
programs, linted and fixed with every rule, never crash, never get an internal
error, and every fix compiles and is stable."""

from __future__ import annotations

import sys
import warnings

import pytest

from conftest import REPO

hypothesmith = pytest.importorskip("hypothesmith")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
from fuzz_campaign import check  # noqa: E402

sys.path.pop(0)


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(hypothesmith.from_grammar(), hypothesmith.from_node()))
def test_generated_programs_lint_and_fix_cleanly(source):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert check(source) is None


@pytest.mark.parametrize(
    "source",
    [
        # the repro: a form feed in an indentation, in a file with an AM201 fix
        "class C:\n\f\tpass\nimport time\nasync def f():\n    time.sleep(0)\n",
        "import time\nasync def f():\n    time.sleep(0)\n    time.sleep(1)\n",
        "async def f():\n    for x in y:\n        await g(x)\n",
    ],
)
def test_known_hard_programs(source):
    assert check(source) is None
