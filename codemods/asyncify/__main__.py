"""`python -m codemods.asyncify PATH...`"""

import os
import sys

# `python -m` puts the working directory first on sys.path, so a project that has
# a package named like one of our dependencies (`click`, `rich`, `libcst`) would be
# imported, and run, instead of it. Analysis is static: drop that entry unless it
# is where this package lives.
_HOME = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if sys.path and os.path.abspath(sys.path[0] or os.curdir) != _HOME:
    del sys.path[0]

if __name__ == "__main__":
    from codemods.asyncify.cli import main

    main()
