"""`python -m asyncmigrate.profiler ...` is `asyncmigrate profile ...`."""

from .cli import profile_group

profile_group(prog_name="asyncmigrate profile")
