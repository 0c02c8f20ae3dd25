"""nbgrader end to end for one chapter, in a temporary course with its own gradebook.

The checks of the per-chapter modules ``tests/test_roundtrip_NN_name.py``, which set
``CHAPTER`` and import everything from here (one module per chapter, so that pytest-xdist
spreads the chapters over its workers).

One ``nbgrader autograde`` run grades, as separate students: the untouched
student version (0 points, no crash), the reference (full points) and every
wrong-answer fixture of tests/wrong_answers/ (points lost on exactly the
cells the fixture names). Then ``nbgrader generate_feedback`` must leave out
hidden tests and solution code.
"""

import html
import re

import pytest
from harness import (
    cell_scores,
    failure_messages,
    load_mistakes,
    make_course,
    nbgrader,
    reference_answers,
    submission,
    submit,
)
from leakcheck import leaks, secret_lines


@pytest.fixture(scope="module")
def graded(request, tmp_path_factory):
    chapter = request.module.CHAPTER
    course = make_course(tmp_path_factory.mktemp(chapter), chapter)
    reference = reference_answers(chapter)
    mistakes = load_mistakes(chapter)
    submit(course, chapter, "stub", submission(course, chapter, {}))
    submit(course, chapter, "reference", submission(course, chapter, reference))
    for name, mistake in mistakes.items():
        unknown = set(mistake.cells) - set(reference)
        assert not unknown, f"{chapter}/{name}: no solution cell named {unknown}"
        submit(course, chapter, name, submission(course, chapter, {**reference, **mistake.cells}))
    nbgrader(["autograde", chapter, "--force"], course)
    return chapter, course, mistakes


def test_untouched_student_version_scores_zero(graded):
    chapter, course, _ = graded
    scores = cell_scores(course, chapter, "stub")
    assert scores, "no autograded cells found"
    earned = {cell: score for cell, (score, _) in scores.items() if score}
    assert not earned, f"the unanswered notebook earned points: {earned}"


def test_reference_gets_full_marks(graded):
    chapter, course, _ = graded
    scores = cell_scores(course, chapter, "reference")
    lost = {cell: (score, top) for cell, (score, top) in scores.items() if score != top}
    assert not lost, f"the reference solution lost points: {lost}"
    assert all(top > 0 for _, top in scores.values()), "every graded cell carries points"


def test_each_mistake_loses_points_on_the_right_cells(graded):
    chapter, course, mistakes = graded
    assert len(mistakes) >= 2, "at least two wrong-answer fixtures per chapter"
    problems = []
    for name, mistake in mistakes.items():
        scores = cell_scores(course, chapter, name)
        failed = {cell for cell, (score, top) in scores.items() if score < top}
        if failed != mistake.fails:
            problems.append(
                f"{name}: expected to fail {sorted(mistake.fails)}, failed {sorted(failed)}"
            )
    assert not problems, "\n".join(problems)


def test_each_mistake_is_named_by_its_feedback(graded):
    """The failing cells' messages contain the words each fixture declares (``says``)."""
    chapter, course, mistakes = graded
    problems = []
    for name, mistake in mistakes.items():
        messages = failure_messages(course, chapter, name)
        text = "\n".join(messages[cell] for cell in mistake.fails if cell in messages)
        missing = [word for word in mistake.says if word not in text]
        if missing:
            problems.append(f"{name}: feedback lacks {missing}; it said:\n{text[-1500:]}")
    assert not problems, "\n\n".join(problems)


def test_most_mistakes_declare_what_their_feedback_says(graded):
    """At least 90 % of the fixtures name their mistake (a non-empty ``says``)."""
    chapter, _, mistakes = graded
    silent = sorted(name for name, mistake in mistakes.items() if not mistake.says)
    assert len(silent) <= 0.1 * len(mistakes), f"fixtures without says=: {silent}"


def test_every_graded_function_has_three_mistakes(graded):
    chapter, _, mistakes = graded
    covered = {}
    for mistake in mistakes.values():
        for cell in mistake.cells:
            covered[cell] = covered.get(cell, 0) + 1
    thin = {
        cell: covered.get(cell, 0)
        for cell in reference_answers(chapter)
        if covered.get(cell, 0) < 3
    }
    assert not thin, f"solution cells with fewer than three wrong-answer fixtures: {thin}"


def feedback_text(course, chapter, student):
    path = course / "feedback" / student / chapter / f"{chapter}.html"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8"))).split())


def test_feedback_has_no_hidden_tests_or_solutions(graded):
    """Feedback never shows hidden tests; a student who did not solve sees no solution either."""
    chapter, course, _ = graded
    nbgrader(["generate_feedback", chapter, "--force"], course)
    hidden = secret_lines(chapter, solutions=False)
    solution = secret_lines(chapter, hidden=False)
    assert hidden and solution
    stub = feedback_text(course, chapter, "stub")
    reference = feedback_text(course, chapter, "reference")
    leaked = leaks(stub, hidden) + leaks(reference, hidden) + leaks(stub, solution)
    assert not leaked, f"feedback shows hidden tests or solution code: {leaked[:5]}"
