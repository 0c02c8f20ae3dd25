"""The release preprocessor of the course (``GenerateAssignment.preprocessors``).

``NumberedClearSolutions`` is nbgrader's ClearSolutions whose stub names the exercise and
the function: ``raise NotImplementedError("演習 1.2: affine を実装してください")``. It only
sets the public ``code_stub`` trait for the cell at hand and lets ClearSolutions do the rest.
"""

import re

from nbgrader.preprocessors import ClearSolutions


class NumberedClearSolutions(ClearSolutions):
    """ClearSolutions whose stub names the exercise (last 演習 heading) and the function."""

    heading = re.compile(r"^#+\s*(演習\s*\d+(?:\.\d+)*)", re.MULTILINE)
    definition = re.compile(r"^(?:def|class)\s+(\w+)", re.MULTILINE)
    placeholder = "未実装です"

    def preprocess(self, nb, resources):
        self._exercise = None
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "markdown":
            match = self.heading.search(cell.source)
            if match:
                self._exercise = " ".join(match.group(1).split())
        name = self.definition.search(cell.source) if cell.cell_type == "code" else None
        parts = [self._exercise, f"{name.group(1)} を実装してください" if name else None]
        message = ": ".join(part for part in parts if part)
        original = self.code_stub
        if cell.cell_type == "code" and message:
            self.code_stub = {
                language: stub.replace(self.placeholder, message)
                for language, stub in original.items()
            }
        try:
            return super().preprocess_cell(cell, resources, cell_index)
        finally:
            self.code_stub = original
