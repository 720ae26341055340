"""`python -m lint_rules PATH...`"""

import os

from asyncmigrate._mainguard import drop_working_directory, hold_interrupts, run

_release = hold_interrupts()

# As in codemods/asyncify/__main__.py: the project's own packages are never imported.
drop_working_directory(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

if __name__ == "__main__":
    run("lint_rules.cli:main", _release)
else:
    _release()
