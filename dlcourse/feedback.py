"""An nbgrader preprocessor that keeps hidden tests out of the students' feedback.

nbgrader's feedback shows the autograded notebook. Removing the hidden-test
regions from the cell sources (nbgrader's ClearHiddenTests) is not enough:
a failing test's traceback quotes the lines around the failure, hidden ones
included. This preprocessor drops those quoted lines from error outputs and
then removes the hidden regions themselves. Configured in nbgrader_config.py.
"""

import re

from nbgrader.preprocessors import ClearHiddenTests

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
