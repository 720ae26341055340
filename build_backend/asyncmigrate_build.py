"""The PEP 517 build backend: setuptools, plus the one file setuptools cannot put in
a wheel: `asyncmigrate_guard.pth`, at the top of site-packages.

That start-up hook keeps `python -m lint_rules` and `python -m codemods.asyncify`
from importing a project's own `lint_rules/` or `codemods/` package instead of ours
(see `asyncmigrate/_mainguard.py`). It is added to the regular and to the editable
wheel alike, with its RECORD line, after setuptools has built them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import zipfile

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F401,F403 (the hooks we do not change)

PTH_NAME = "asyncmigrate_guard.pth"
#: `site` runs lines that start with `import`; this one loads the guard only for a
#: command line that names one of our packages (cheap for every other interpreter).
PTH_LINE = (
    "import sys; any(a.lstrip('-m').partition('.')[0] in ('lint_rules', 'codemods', "
    "'asyncmigrate') for a in getattr(sys, 'orig_argv', ())[1:]) and "
    "__import__('asyncmigrate._mainguard')._mainguard.install()\n"
)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)
    add_pth(os.path.join(wheel_directory, name))
    return name


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    name = _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
    add_pth(os.path.join(wheel_directory, name))
    return name


def add_pth(wheel: str) -> None:
    """Rewrite `wheel` with PTH_NAME at its top and listed in its RECORD."""
    data = PTH_LINE.encode()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record_line = f"{PTH_NAME},sha256={digest},{len(data)}\n"
    tmp = wheel + ".tmp"
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        record = next(i for i in source.infolist() if i.filename.endswith(".dist-info/RECORD"))
        for info in source.infolist():
            if info.filename in (record.filename, PTH_NAME):
                continue
            out.writestr(info, source.read(info))
        pth = zipfile.ZipInfo(PTH_NAME, date_time=record.date_time)
        pth.external_attr = 0o644 << 16
        out.writestr(pth, data, zipfile.ZIP_DEFLATED)
        lines = [
            line for line in source.read(record).decode().splitlines(keepends=True)
            if not line.startswith(f"{PTH_NAME},")
        ]
        # RECORD lists itself last, without a hash.
        lines.insert(len(lines) - 1 if lines and lines[-1].startswith(record.filename + ",") else len(lines), record_line)
        out.writestr(record, "".join(lines))
    os.replace(tmp, wheel)
