"""nbgrader preprocessors of the course (configured in nbgrader_config.py).

- ``NumberedClearSolutions`` writes stubs that name the exercise and the
  function: ``raise NotImplementedError("演習 1.2: affine を実装してください")``.
- ``ClearHiddenTestsFromFeedback`` keeps hidden tests out of the students'
  feedback. Removing the hidden regions from the cell sources (nbgrader's
  ClearHiddenTests) is not enough: a failing test's traceback quotes the
  lines around the failure, hidden ones included.
"""

import re

from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# A quoted source line in an IPython traceback: "----> 12 code" or "     13 code".
QUOTED_LINE = re.compile(r"^\s*(?:-*>)?\s*\d+\s(.*)$")


def _collapse(text: str) -> str:
    return " ".join(text.split())


class ClearHiddenTestsFromFeedback(ClearHiddenTests):
    """ClearHiddenTests that also scrubs hidden lines quoted by tracebacks."""

    def _hidden_lines(self, source: str) -> set[str]:
        lines, inside = set(), False
        for line in source.splitlines():
            if self.begin_test_delimeter in line:
                inside = True
            if inside and line.strip():
                lines.add(_collapse(line))
            if self.end_test_delimeter in line:
                inside = False
        return lines

    def _scrub(self, text: str, hidden: set[str]) -> str:
        kept = []
        for line in text.split("\n"):
            match = QUOTED_LINE.match(ANSI.sub("", line))
            if match and _collapse(match.group(1)) in hidden:
                continue
            kept.append(line)
        return "\n".join(kept)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code":
            hidden = self._hidden_lines(cell.source)
            if hidden:
                for output in cell.get("outputs", []):
                    if output.output_type == "error":
                        output.traceback = [
                            self._scrub(entry, hidden) for entry in output.traceback
                        ]
        return super().preprocess_cell(cell, resources, cell_index)


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
        return super().preprocess_cell(cell, resources, cell_index)

    def _replace_solution_region(self, cell, language):
        name = self.definition.search(cell.source)
        parts = [self._exercise, f"{name.group(1)} を実装してください" if name else None]
        message = ": ".join(part for part in parts if part)
        original = self.code_stub
        if cell.cell_type == "code" and message:
            stub = original[language].replace(self.placeholder, message)
            self.code_stub = {**original, language: stub}
        try:
            return super()._replace_solution_region(cell, language)
        finally:
            self.code_stub = original
