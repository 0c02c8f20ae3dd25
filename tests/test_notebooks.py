"""Every committed notebook follows the course's conventions (structure, hygiene, determinism)."""

import sys
from pathlib import Path

import nbformat
import pytest
from harness import BOOK, CHAPTERS, ROOT, SOLUTIONS

sys.path.insert(0, str(ROOT / "tools"))
from notebooks import normalized  # noqa: E402

NOTEBOOKS = sorted(BOOK.glob("*.ipynb")) + sorted(SOLUTIONS.glob("*/*.ipynb"))
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_normalized(path: Path):
    text = path.read_text(encoding="utf-8")
    assert text == nbformat.writes(normalized(nbformat.read(path, as_version=4))) + "\n", (
        f"run: python tools/notebooks.py normalize {path.relative_to(ROOT)}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_outputs_are_clean(path: Path):
    """No errors, no warnings (e.g. missing glyphs), and every code cell was executed."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None, f"not executed: {cell.source[:60]!r}"
        for output in cell.outputs:
            assert output.output_type != "error", f"error output in {cell.source[:60]!r}"
            if output.output_type == "stream" and output.name == "stderr":
                assert "Warning" not in output.text, (
                    f"warning in {cell.source[:60]!r}: {output.text}"
                )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_first_code_cell_installs_dlcourse_where_missing(path: Path):
    nb = nbformat.read(path, as_version=4)
    first = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert "import dlcourse" in first.source and "%pip install" in first.source


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_graded_notebook_structure(chapter: str):
    """Points on every graded cell, a written question, a widget, tests after each solution."""
    nb = nbformat.read(SOLUTIONS / chapter / f"{chapter}.ipynb", as_version=4)
    grades = [c.metadata.nbgrader for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert grades and all(g.get("points", 0) > 0 for g in grades), "a graded cell without points"
    manual = [
        c
        for c in nb.cells
        if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")
    ]
    assert manual, "no manually graded written answer (考えてみよう)"
    assert any("widget" in c.source for c in nb.cells if c.cell_type == "code"), "no widget"
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    assert len([i for i in ids if i]) == len({i for i in ids if i}), "duplicate grade_id"
    hidden_by_function: dict[str, bool] = {}
    current = None
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            current = meta["grade_id"]
            hidden_by_function[current] = False
        elif meta.get("grade") and cell.cell_type == "code":
            first_line = cell.source.splitlines()[0]
            assert first_line.startswith('"""'), (
                f"{meta['grade_id']}: open with a one-line docstring"
            )
            assert current, f"{meta['grade_id']}: a test cell before any solution cell"
            if "### BEGIN HIDDEN TESTS" in cell.source:
                hidden_by_function[current] = True
    missing = [name for name, hidden in hidden_by_function.items() if not hidden]
    assert not missing, f"graded functions without hidden tests: {missing}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_book_page_has_a_widget_and_an_exercise_section(chapter: str):
    nb = nbformat.read(BOOK / f"{chapter}.ipynb", as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "widget" in code, "no widget on the book page"
    assert "## 演習" in markdown and "{download}" in markdown, "no exercise section with a download"
    tagged = [c for c in nb.cells if "nbval-ignore-output" in c.metadata.get("tags", [])]
    assert all(
        "widget" in c.source or "time" in c.source or "progress" in c.source for c in tagged
    ), "nbval-ignore-output is for widgets, timings and progress bars only"
