"""`python -m codemods.asyncify PATH...`"""

import os

from asyncmigrate._mainguard import drop_working_directory, hold_interrupts, run

_release = hold_interrupts()

# `python -m` puts the working directory first on sys.path, so a project that has
# a package named like one of our dependencies (`click`, `rich`, `libcst`) would be
# imported, and run, instead of it. Analysis is static: drop that entry unless it
# is where this package lives (asyncmigrate/_mainguard.py guards the import of
# `codemods` itself).
_HOME = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
drop_working_directory(_HOME)

if __name__ == "__main__":
    run("codemods.asyncify.cli:main", _release)
else:
    _release()
