"""The feedback preprocessor of the course (``GenerateFeedback.preprocessors``).

``ClearHiddenTestsFromFeedback`` keeps hidden tests out of the students' feedback.
Removing the hidden regions from the cell sources (nbgrader's ClearHiddenTests) is not
enough: a failing test's traceback quotes the lines around the failure, hidden ones
included, and student code can print whatever it finds. So every output of every cell is
scrubbed of hidden lines; a test cell with hidden tests shows only its verdict (the error
and its message, or the ✔ line); the outputs of the student's own cells are left out (she
has them in her notebook); and the hidden-test markers are neutralised in the student's
cells, so that no text of hers can make ``generate_feedback`` fail. Paths of the grading
machine in tracebacks are made relative.
"""

import ast
import importlib.util
import io
import re
import tokenize
from pathlib import Path

from nbgrader.preprocessors import ClearHiddenTests
from nbgrader.preprocessors.base import NbGraderPreprocessor
from traitlets import List

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# A quoted source line in an IPython traceback: "----> 12 code" or "     13 code".
QUOTED_LINE = re.compile(r"^\s*(?:-*>)?\s*\d+\s(.*)$")


def _collapse(text: str) -> str:
    return " ".join(text.split())


# A hidden line shorter than this (``)``, ``else:``) is removed only where an output
# line is exactly that line; longer ones wherever an output line contains them.
SHORT_LINE = 12
MAX_MESSAGE = 600  # characters of an error message kept in a hidden test's verdict
PASS_MARK = "✔"
# Paths of the grading machine in tracebacks, shown relative: the package folder of
# the teaching package dlcourse, site-packages, the standard library, a job's temporary folder.
PACKAGE_PARENT = str(Path(importlib.util.find_spec("dlcourse").origin).parent.parent) + "/"
MACHINE_PATHS = (
    (re.compile(r"(?:/[^\s/'\":\x1b]+)+/(site-packages|dist-packages)/"), r"\1/"),
    # dlcourse from any checkout (the kernel may import another copy than this module's)
    (re.compile(r"(?:/[^\s/'\":\x1b]+)+/(dlcourse/)"), r"\1"),
    (re.compile(r"(?:/[^\s/'\":\x1b]+)+/lib/(python3\.\d+)/"), r"\1/"),
    (re.compile(r"/tmp/(?:ipykernel_\d+|dlg-[^\s/'\":\x1b]+)(?:/[^\s/'\":\x1b]+)*/"), ""),
)


def relative_paths(text: str) -> str:
    """``text`` with the grading machine's absolute paths made relative."""
    for pattern, replacement in MACHINE_PATHS:
        text = pattern.sub(replacement, text)
    return text.replace(PACKAGE_PARENT, "")


# Numbers of a hidden test this long or longer (expected values) are redacted wherever
# they appear: student code can read them from the running test (``co_consts``).
MIN_SECRET_NUMBER = 6


def _numbers(lines: set[str]) -> set[str]:
    """The numeric literals of ``lines`` as written and as Python prints them."""
    found = set()
    for line in lines:
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(line).readline))
        except (tokenize.TokenError, IndentationError, SyntaxError):
            continue
        for token in tokens:
            if token.type == tokenize.NUMBER:
                found.add(token.string)
                try:
                    found.add(repr(ast.literal_eval(token.string)))
                except (ValueError, SyntaxError):
                    pass
    return {number for number in found if len(number) >= MIN_SECRET_NUMBER}


class ClearHiddenTestsFromFeedback(ClearHiddenTests):
    """ClearHiddenTests that keeps every trace of hidden tests out of the feedback."""

    # nbconvert's HTML exporter configures NbConvertBase.display_data_priority for every
    # preprocessor; nbgrader redeclares the trait without config=True, so traitlets
    # warned "not recognized" on every generate_feedback. Same default, configurable.
    display_data_priority = List(list(NbGraderPreprocessor.display_data_priority.default()))
    display_data_priority.tag(config=True)

    def preprocess(self, nb, resources):
        self._all_hidden: set[str] = set()
        for cell in nb.cells:
            if cell.cell_type == "code" and self._is_test(cell):
                self._all_hidden |= self._hidden_lines(cell.source)
        markers = (self.begin_test_delimeter, self.end_test_delimeter)
        self._all_hidden -= {_collapse(marker) for marker in markers}
        numbers = sorted(_numbers(self._all_hidden), key=len, reverse=True)
        self._secret_numbers = (
            re.compile("|".join(rf"(?<![\d.]){re.escape(n)}(?![\d])" for n in numbers))
            if numbers
            else None
        )
        return super().preprocess(nb, resources)

    @staticmethod
    def _is_test(cell) -> bool:
        meta = cell.metadata.get("nbgrader", {})
        return bool(meta.get("grade")) and not meta.get("solution")

    def _neutralise(self, text: str) -> str:
        for marker in (self.begin_test_delimeter, self.end_test_delimeter):
            text = text.replace(marker, marker.replace(" ", "\u2009"))
        return text

    def _leaks(self, line: str) -> bool:
        flat = _collapse(ANSI.sub("", line))
        if not flat:
            return False
        for hidden in self._all_hidden:
            if len(hidden) >= SHORT_LINE and hidden in flat:
                return True
            if flat == hidden or flat.lstrip("-> 0123456789") == hidden:
                return True
        return "HIDDEN TESTS" in flat

    def _clean(self, text: str) -> str:
        kept = "\n".join(line for line in text.split("\n") if not self._leaks(line))
        kept = relative_paths(kept)
        if self._secret_numbers is not None:
            kept = self._secret_numbers.sub("…", kept)
        return kept

    def _verdict_only(self, outputs: list) -> list:
        kept = []
        for output in outputs:
            if output.output_type == "error":
                output.evalue = self._clean(str(output.get("evalue", "")))[:MAX_MESSAGE]
                output.traceback = [self._clean(entry) for entry in output.get("traceback", [])]
                kept.append(output)
            elif output.output_type == "stream":
                lines = [
                    line
                    for line in output.get("text", "").split("\n")
                    if line.startswith(PASS_MARK) and not self._leaks(line)
                ]
                if lines:
                    output.text = "\n".join(lines) + "\n"
                    kept.append(output)
        return kept

    def _scrub_outputs(self, outputs: list) -> list:
        for output in outputs:
            if output.output_type == "stream":
                output.text = self._clean(output.get("text", ""))
            elif output.output_type == "error":
                output.evalue = self._clean(str(output.get("evalue", "")))
                output.traceback = [self._clean(entry) for entry in output.get("traceback", [])]
            else:
                for key, value in list(output.get("data", {}).items()):
                    if isinstance(value, str):
                        output.data[key] = self._clean(value)
                    elif isinstance(value, list):
                        output.data[key] = [self._clean(str(v)) for v in value]
        return outputs

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
        if not self._is_test(cell):
            cell.source = self._neutralise(cell.source)
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
        elif cell.cell_type == "code":
            hidden = self._hidden_lines(cell.source)
            if hidden:
                for output in cell.get("outputs", []):
                    if output.output_type == "error":
                        output.traceback = [
                            self._scrub(entry, hidden) for entry in output.traceback
                        ]
                cell.outputs = self._verdict_only(cell.get("outputs", []))
            else:
                cell.outputs = self._scrub_outputs(cell.get("outputs", []))
        return super().preprocess_cell(cell, resources, cell_index)
