"""No correct submission is flagged: every chapter's reference through the real dlgrader grade.

The test guard, the static scan and the sandbox (issue 14) must never mark a correct
student. Each chapter's reference solution is graded with ``dlgrader grade`` in its own
temporary course: full automatic marks and no reason at all (no 「要確認」, and nothing the
sandbox refused, such as a library reading /proc/self/maps). With ``DLCOURSE_ALL_FIXTURES=1``
every wrong-answer fixture of the chapter is graded too (by hand: it takes long), and
none may be flagged either: a wrong answer loses points, it does not tamper.
"""

import csv
import os

import pytest
from grading_fixtures.tinycourse import dlcourse
from harness import (
    CHAPTERS,
    cell_scores,
    load_mistakes,
    make_course,
    reference_answers,
    submission,
    submit,
)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_reference_gets_full_marks_and_no_flag(chapter, tmp_path):
    course = make_course(tmp_path, chapter)
    reference = reference_answers(chapter)
    submit(course, chapter, "reference", submission(course, chapter, reference))
    students = ["reference"]
    if os.environ.get("DLCOURSE_ALL_FIXTURES"):
        for name, mistake in load_mistakes(chapter).items():
            answers = {**reference, **mistake.cells}
            submit(course, chapter, name, submission(course, chapter, answers))
            students.append(name)
    done = dlcourse(course, "grade", chapter, "--no-progress", timeout=3600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = {
        row["student_id"]: row
        for row in csv.DictReader(open(course / "grading" / chapter / "grades.csv"))
    }
    assert rows["reference"]["reasons"] == "", rows["reference"]["reasons"]
    flagged = {s: rows[s]["reasons"] for s in students if "要確認" in rows[s]["reasons"]}
    assert not flagged, f"correct or merely wrong submissions flagged: {flagged}"
    lost = {
        cell: score
        for cell, score in cell_scores(course, chapter, "reference").items()
        if score[0] != score[1]
    }
    assert not lost, f"the reference lost points under dlgrader grade: {lost}"
