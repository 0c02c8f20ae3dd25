"""dlgrader grade gives exactly what sequential ``nbgrader autograde`` gives (chapter 01).

The same class (the reference, the untouched student version and two wrong-answer
fixtures of chapter 01) is graded twice from identical copies of a course: once with
``nbgrader autograde`` and once with ``dlgrader grade --workers 2``. The gradebooks and
the autograded notebooks must agree (execution timestamps aside). The dlcourse copy
then goes through ``nbgrader generate_feedback`` and ``dlgrader report``.
"""

import base64
import re
import shutil

import nbformat
import pytest
from grading_fixtures.tinycourse import dlcourse
from harness import (
    load_mistakes,
    make_course,
    nbgrader,
    reference_answers,
    submission,
    submit,
)

CHAPTER = "01_tensors"


@pytest.fixture(scope="module")
def courses(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("identity")
    plain = make_course(tmp, CHAPTER)
    reference = reference_answers(CHAPTER)
    students = {"reference": reference, "stub": {}}
    for name, mistake in list(load_mistakes(CHAPTER).items())[:2]:
        students[name] = {**reference, **mistake.cells}
    for student, answers in students.items():
        submit(plain, CHAPTER, student, submission(plain, CHAPTER, answers))
    ours = tmp / "ours"
    shutil.copytree(plain, ours)
    nbgrader(["autograde", CHAPTER], plain)
    done = dlcourse(ours, "grade", CHAPTER, "--workers", "2", "--no-progress")
    assert done.returncode == 0, done.stderr[-3000:]
    return plain, ours, sorted(students), done


def gradebook_state(course):
    from nbgrader.api import Gradebook

    state = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for sub in gb.find_assignment(CHAPTER).submissions:
            for nb in sub.notebooks:
                state[(sub.student.id, nb.name, "penalty")] = nb.late_submission_penalty
                for grade in nb.grades:
                    state[(sub.student.id, grade.name, "grade")] = (
                        grade.auto_score,
                        grade.manual_score,
                        grade.needs_manual_grade,
                    )
                for comment in nb.comments:
                    state[(sub.student.id, comment.name, "comment")] = comment.auto_comment
            state[(sub.student.id, "timestamp")] = sub.timestamp
    return state


def normalized(path):
    """The notebook without what differs between any two runs of nbgrader itself."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # execution timestamps
        # How the kernel cuts a print into stream messages depends on timing: print("a")
        # may arrive as "a\n" or as "a" then "\n". Joined, consecutive streams are equal.
        merged = []
        for out in cell.get("outputs", []):
            previous = merged[-1] if merged else None
            if (
                out.output_type == "stream"
                and previous is not None
                and previous.output_type == "stream"
                and previous.name == out.name
            ):
                previous.text += out.text
            else:
                merged.append(out)
        if "outputs" in cell:
            cell.outputs = merged
    # Saved ipywidgets state: a dict keyed by random model ids, in creation order.
    nb.metadata.pop("widgets", None)
    return re.sub(r"\b[0-9a-f]{32}\b", "<widget model id>", nbformat.writes(nb))


def test_same_gradebook_as_nbgrader(courses):
    plain, ours, students, _ = courses
    expected, actual = gradebook_state(plain), gradebook_state(ours)
    assert {key[0] for key in expected} == set(students)
    differences = {
        k: (expected.get(k), actual.get(k))
        for k in expected | actual
        if expected.get(k) != actual.get(k)
    }
    assert not differences, differences


def test_same_autograded_notebooks_as_nbgrader(courses):
    plain, ours, students, _ = courses
    for student in students:
        theirs = plain / "autograded" / student / CHAPTER
        mine = ours / "autograded" / student / CHAPTER
        assert sorted(p.name for p in mine.iterdir()) == sorted(p.name for p in theirs.iterdir())
        name = f"{CHAPTER}.ipynb"
        assert normalized(mine / name) == normalized(theirs / name), student


def test_summary_lists_no_problems_for_ordinary_submissions(courses):
    *_, done = courses
    assert re.search(r"問題のあった提出 \(failures\)\s+0", done.stdout), done.stdout


def test_feedback_shows_japanese_assert_messages(courses):
    _, ours, students, _ = courses
    nbgrader(["generate_feedback", CHAPTER, "--force"], ours)
    mistake = next(s for s in students if s not in ("reference", "stub"))
    html = (ours / "feedback" / mistake / CHAPTER / f"{CHAPTER}.html").read_text()
    assert "AssertionError" in html and re.search(r"[ぁ-ん]", html)


def test_report_has_histogram_and_failure_shares(courses):
    _, ours, _, _ = courses
    done = dlcourse(ours, "report", CHAPTER)
    assert done.returncode == 0, done.stderr
    html = (ours / "grading" / CHAPTER / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 2
    assert all(base64.b64decode(image).startswith(b"\x89PNG") for image in images)
    assert "linear_combination_example" in html and "得点分布" in html
    # the stub failed everything, the reference nothing: every test cell failed for >= 1/4
    shares = re.findall(r"<td>(\d+)%</td>", html)
    assert shares and all(int(share) >= 25 for share in shares)
    # per student: score, maximum, manual points still to grade, the grader's reasons
    assert "手動採点待ちの点" in html and re.search(r"未採点の手動採点: 計 \d", html)
