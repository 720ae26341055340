"""asyncify: turn sync call chains into async ones, bottom-up through the call graph.

`plan.build_plan` analyses the whole project once and returns an `AsyncifyPlan`;
`transform.AsyncifyCommand` applies one file's part of it; `runner` ties them
together for the command line (`cli`).
"""

from .plan import AsyncifyPlan, PlanOptions, build_plan
from .transform import AsyncifyCommand

__all__ = ["AsyncifyCommand", "AsyncifyPlan", "PlanOptions", "build_plan"]
