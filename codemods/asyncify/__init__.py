"""asyncify: turn sync call chains into async ones, bottom-up through the call graph.

`plan.build_plan` analyses the whole project once and returns an `AsyncifyPlan`;
`transform.AsyncifyCommand` applies one file's part of it; `runner` ties them
together for the command line (`cli`).
"""

__all__ = ["AsyncifyCommand", "AsyncifyPlan", "PlanOptions", "build_plan"]


def __getattr__(name: str):
    # Lazy: `python -m codemods.asyncify` imports this package before its
    # `__main__`, and a Ctrl-C during LibCST's import must reach the command's
    # handler (exit 130), not print a traceback.
    if name == "AsyncifyCommand":
        from .transform import AsyncifyCommand

        return AsyncifyCommand
    if name in ("AsyncifyPlan", "PlanOptions", "build_plan"):
        from . import plan

        return getattr(plan, name)
    raise AttributeError(name)
