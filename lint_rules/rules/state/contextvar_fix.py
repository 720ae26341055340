"""The unsafe fix shared by AM301 and AM303: the ContextVar conversion, when it
stays inside the file being linted."""

from __future__ import annotations

import libcst as cst

from asyncmigrate.index.values import join_id
from asyncmigrate.project import relpath


class ContextVarFix:
    """Mixin for `ProjectRule`s: report with the conversion of `module:name` as fix."""

    def report_with_conversion(self, node: cst.CSTNode, message: str, module: str, name: str) -> None:
        fixed = self._conversion(module, name)
        if isinstance(fixed, str):
            self.report(node, f"{message} ({fixed})")  # type: ignore[attr-defined]
        else:
            self.report_with_module_fix(node, message, fixed)  # type: ignore[attr-defined]

    def _conversion(self, module: str, name: str) -> cst.Module | str:
        """The converted module, or why there is no fix here."""
        # Imported here: the conversion needs libcst.codemod, which only runs to fix.
        from codemods.contextvars.conversion import ConversionRefused, convert

        project = self.project  # type: ignore[attr-defined]
        context = self.context  # type: ignore[attr-defined]
        try:
            rel = relpath(context.path, project.root)
        except ValueError:
            rel = context.path.name
        command = f"python -m codemods.contextvars . --name {module}:{name}"
        if module != context.module:
            return f"convert it with `{command}`"
        try:
            conversion = convert(
                project,
                join_id(module, name),
                sources={rel: self._module.bytes},  # type: ignore[attr-defined]
                writable=lambda other: other == rel,
            )
        except ConversionRefused as e:
            if "outside the paths" in str(e):
                return f"other modules use it: convert them all with `{command}`"
            return f"no automatic conversion: {e}"
        if conversion.already_done or rel not in conversion.changes:
            return f"convert it with `{command}`"
        return cst.parse_module(conversion.changes[rel])
