"""exercises/ is exactly what nbgrader generates from solutions/ (no outputs, stable metadata)."""

import nbformat
import pytest
from harness import CHAPTERS, EXERCISES, SOLUTIONS, make_course


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_exercise_regenerates_byte_for_byte(chapter, tmp_path):
    course = make_course(tmp_path, chapter)
    generated = (course / "exercises" / chapter / f"{chapter}.ipynb").read_text(encoding="utf-8")
    committed = EXERCISES / chapter / f"{chapter}.ipynb"
    assert committed.exists(), f"{committed} is missing: run `make exercises`"
    assert committed.read_text(encoding="utf-8") == generated, (
        f"{committed} is out of date with {SOLUTIONS / chapter}: run `make exercises`"
    )


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_exercise_has_no_outputs_and_stubs_every_solution(chapter):
    nb = nbformat.read(EXERCISES / chapter / f"{chapter}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, cell.source[:80]
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            assert "ここに解答を書いてください" in cell.source, meta["grade_id"]
            if cell.cell_type == "code":
                assert "演習" in cell.source and "を実装してください" in cell.source, (
                    f"{meta['grade_id']}: stub must name its exercise (`## 演習 N.k` heading)"
                )
        assert "BEGIN HIDDEN TESTS" not in cell.source, meta.get("grade_id")


def test_every_chapter_has_fixtures_and_a_book_page():
    for chapter in CHAPTERS:
        assert (SOLUTIONS.parent / "book" / f"{chapter}.ipynb").exists(), chapter
        assert (SOLUTIONS.parent / "tests" / "wrong_answers" / f"{chapter}.py").exists(), chapter
