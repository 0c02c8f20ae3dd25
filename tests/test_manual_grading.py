"""Manual grading across regrades (issue 18): what the grader resolved stays resolved.

nbgrader's SaveAutoGrades flags every grade that has a manual score for review again on
each autograde, so after ``dlgrader grade --force`` the formgrader listed every written
answer as ungraded. ``dlgrader grade`` keeps a resolved grade resolved when the student's
answer is the text the grader saw, and flags it again only when that text changed. The
scores are set the way the formgrader's API sets them (nbgrader's Gradebook: a manual
score clears needs_manual_grade); the grading is the real ``dlgrader grade``, whose summary
counts the gradebook's scores as they are now. The tests run in file order on one course.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from grading_fixtures.tinycourse import ASSIGNMENT, answered, dlcourse, make_tiny_course
from grading_fixtures.tinycourse import submit_notebook as submit
from harness import grade_id

KIND = "よく書けています"
ANSWER = "足し算は交換法則を満たすので、a + b と b + a は同じ値になるからです。"


def with_answer(course: Path, text: str, **cells: str):
    nb = answered(course, **cells)
    for cell in nb.cells:
        if grade_id(cell) == "explain":
            cell.source = text
    return nb


def grades(course: Path, student: str) -> dict[str, dict]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        comments = {comment.name: comment.manual_comment for comment in notebook.comments}
        return {
            grade.name: {
                "manual": grade.manual_score,
                "auto": grade.auto_score,
                "flagged": grade.needs_manual_grade,
                "comment": comments.get(grade.name),
            }
            for grade in notebook.grades
        }


def mark(course: Path, student: str, cell: str, score: float, comment: str | None = None) -> None:
    """What the formgrader's GradeHandler.put and CommentHandler.put do."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade(cell, ASSIGNMENT, ASSIGNMENT, student)
        grade.manual_score = score
        grade.needs_manual_grade = False
        if comment is not None:
            gb.find_comment(cell, ASSIGNMENT, ASSIGNMENT, student).manual_comment = comment
        gb.db.commit()


def grade(course: Path, *args: str) -> str:
    done = dlcourse(course, "grade", ASSIGNMENT, "--workers", "2", "--no-progress", *args)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def pending(summary: str) -> int:
    line = next(line for line in summary.splitlines() if "手動採点待ち" in line)
    return int(line.split()[-1])


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    course = make_tiny_course(tmp_path_factory.mktemp("manual"))
    submit(course, "edited", with_answer(course, ANSWER))
    submit(course, "override", with_answer(course, ANSWER, square="def square(x):\n    return x\n"))
    assert pending(grade(course)) == 2
    for student in ("edited", "override"):
        mark(course, student, "explain", 1, KIND)
    mark(course, "override", "test_square", 1)  # partial credit given by hand
    return course


def test_summary_counts_what_the_formgrader_saved(course):
    summary = grade(course)  # nothing changed: no regrade, the gradebook's scores now
    assert "2 件は前回の採点結果を使います" in summary
    assert pending(summary) == 0, summary
    # 5 (edited) and 4 (override: square scored 1 of 2 by hand)
    assert re.search(r"平均点 \(mean\)\s+4\.50 / 5", summary), summary


def test_regrade_keeps_what_the_grader_resolved(course):
    summary = grade(course, "--force")
    assert pending(summary) == 0, summary
    for student in ("edited", "override"):
        explain = grades(course, student)["explain"]
        assert explain == {"manual": 1, "auto": None, "flagged": False, "comment": KIND}
    square = grades(course, "override")["test_square"]
    assert square == {"manual": 1, "auto": 0, "flagged": False, "comment": None}


def test_regrade_flags_again_only_what_the_student_changed(course):
    # both resubmit, regraded without --force: edited's written answer has new text,
    # override's code changed (its hand-scored test cell must be looked at again)
    submit(course, "edited", with_answer(course, ANSWER + "\n\n(追記) 掛け算も同じです。"))
    negated = "def square(x):\n    return -x\n"
    submit(course, "override", with_answer(course, ANSWER, square=negated))
    summary = grade(course)
    assert "前回の採点結果を使います" not in summary  # both were regraded
    assert pending(summary) == 2, summary
    explain = grades(course, "edited")["explain"]
    assert explain == {"manual": 1, "auto": None, "flagged": True, "comment": KIND}
    override = grades(course, "override")
    assert override["test_square"] == {"manual": 1, "auto": 0, "flagged": True, "comment": None}
    assert override["explain"]["flagged"] is False  # its text is the one the grader saw
