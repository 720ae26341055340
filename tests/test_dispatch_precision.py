"""Calls dispatch on the receiver's most specific known class: an override in a
subclass wins over the base method it overrides, and reachability chains follow
the override, with the arguments it passes (issue: `self.executor.shutdown()`
resolved to the base `ThreadPoolExecutor.shutdown` although the receiver's class,
known from its constructor, overrides it and calls the base with `wait=False`)."""

from __future__ import annotations

from conftest import lint_json

from asyncmigrate.analysis import Project


def test_the_constructor_class_wins_over_the_declared_base(project_copy):
    root = project_copy("dispatch")
    _, found = lint_json(".", cwd=root)
    assert sorted((d["path"].removeprefix("./"), d["line"], d["code"]) for d in found) == [
        # the override calls the base with wait=True: it waits, through the override
        ("dispatch/service.py", 19, "AM250"),
        # the declared class itself
        ("dispatch/service.py", 20, "AM207"),
    ]
    chain = next(d for d in found if d["code"] == "AM250")["message"]
    assert "self.draining.shutdown -> concurrent.futures.ThreadPoolExecutor.shutdown" in chain


def test_resolution_takes_the_subclass_only_when_it_is_one(project_copy):
    root = project_copy("dispatch")
    project = Project.load(root, use_cache=False)
    value = project.resolver.value_of("dispatch.service", "Service.stop", ["self", "executor", "shutdown"])
    assert value is not None and value.name == "dispatch.pools:InterruptibleExecutor.shutdown"
    plain = project.resolver.value_of("dispatch.service", "Service.stop", ["self", "plain", "shutdown"])
    assert plain is not None and plain.name == "concurrent.futures.ThreadPoolExecutor.shutdown"


def test_a_literal_wait_false_ends_no_chain(project_copy):
    root = project_copy("dispatch")
    project = Project.load(root, use_cache=False)
    assert "dispatch.pools:InterruptibleExecutor.shutdown" not in project.blocking_reachability
    assert project.blocking_reachability.chain("dispatch.pools:DrainingExecutor.shutdown") == [
        "concurrent.futures.ThreadPoolExecutor.shutdown"
    ]
