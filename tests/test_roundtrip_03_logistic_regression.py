"""nbgrader round trip of chapter 03_logistic_regression (checks: tests/roundtrip.py).

Chapter 03 adds one check: correct solutions that avoid the forbidden built-ins by
another route (``ALTERNATIVES`` in tests/wrong_answers/03_logistic_regression.py:
torch.eye rows, scatter_, a comparison with arange, logsumexp, ...) keep full marks.
"""

import importlib.util

import pytest
from harness import ROOT, cell_scores, make_course, nbgrader, reference_answers, submission, submit
from roundtrip import *  # noqa: F403

CHAPTER = "03_logistic_regression"


def alternatives() -> dict[str, dict[str, str]]:
    """Student name -> replacement solution cells, for each correct alternative."""
    path = ROOT / "tests" / "wrong_answers" / f"{CHAPTER}.py"
    spec = importlib.util.spec_from_file_location(f"alternatives_{CHAPTER}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ALTERNATIVES


@pytest.fixture(scope="module")
def graded_alternatives(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp(f"{CHAPTER}_alternatives"), CHAPTER)
    reference = reference_answers(CHAPTER)
    for name, cells in alternatives().items():
        unknown = set(cells) - set(reference)
        assert not unknown, f"{name}: no solution cell named {unknown}"
        submit(course, CHAPTER, name, submission(course, CHAPTER, {**reference, **cells}))
    nbgrader(["autograde", CHAPTER, "--force"], course)
    return course


def test_alternatives_without_the_forbidden_built_ins_keep_full_marks(graded_alternatives):
    problems = []
    for name in alternatives():
        scores = cell_scores(graded_alternatives, CHAPTER, name)
        lost = {cell: score for cell, (score, top) in scores.items() if score != top}
        if lost:
            problems.append(f"{name} lost points: {lost}")
    assert not problems, "\n".join(problems)
